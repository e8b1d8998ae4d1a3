import { resolve } from 'node:path';
import { isUserLabelName } from '../registry/label-name';
import { parseDuration } from './duration';

import type { ValueParser } from './setting-spec';
import type { ListenAddress } from '../server/listen-address';

export type { ValueParser };

export const durationMs: ValueParser<number> = {
  allowed: 'a positive duration such as 500ms, 15s or 1m',
  parse(raw) {
    const ms = parseDuration(raw.trim());
    return ms !== undefined && ms > 0 ? ms : undefined;
  },
};

/** The shortest poll interval taken: shorter ones would only load the bridge (JVB refreshes its stats every 5s). */
export const MIN_POLL_INTERVAL_MS = 100;

export const pollInterval: ValueParser<number> = {
  allowed: `a positive duration of at least ${MIN_POLL_INTERVAL_MS}ms, such as 500ms, 15s or 1m`,
  parse(raw) {
    const ms = durationMs.parse(raw);
    return ms !== undefined && ms >= MIN_POLL_INTERVAL_MS ? ms : undefined;
  },
};

export const httpUrl: ValueParser<string> = {
  allowed: 'an absolute http:// or https:// URL',
  parse(raw) {
    try {
      const url = new URL(raw.trim());
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
    } catch {
      return undefined;
    }
  },
};

export const listenAddress: ValueParser<ListenAddress> = {
  allowed: 'host:port or :port, e.g. :9001, 127.0.0.1:9001 or [::1]:9001 (port 0-65535)',
  parse(raw) {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(raw.trim());
    if (match === null) return undefined;
    const port = Number(match[3]);
    if (port > 65535) return undefined;
    const host = match[1] ?? match[2];
    return { host: host === '' ? undefined : host, port };
  },
};

export const urlPath: ValueParser<string> = {
  allowed: 'a path that starts with "/" and is not "/" itself, e.g. /metrics',
  parse(raw) {
    const path = raw.trim();
    return /^\/[^\s?#]+$/.test(path) ? path : undefined;
  },
};

/** The paths the server answers itself; a telemetry path equal to one would hide it. */
export const RESERVED_PATHS: readonly string[] = ['/', '/-/healthy', '/-/ready'];

export const telemetryPath: ValueParser<string> = {
  allowed: `${urlPath.allowed}, other than ${RESERVED_PATHS.slice(1).join(' and ')} (served by the agent itself)`,
  parse(raw) {
    const path = urlPath.parse(raw);
    return path !== undefined && !RESERVED_PATHS.includes(path) ? path : undefined;
  },
};

export function oneOf<const T extends string>(...choices: T[]): ValueParser<T> {
  return {
    allowed: `one of ${choices.join(', ')}`,
    parse: (raw) => choices.find((choice) => choice === raw.trim().toLowerCase()),
  };
}

/** One of `choices` as spelt there (compared without case: `prometheus.writerequest` is `prometheus.WriteRequest`). */
export function oneOfNames<const T extends string>(...choices: T[]): ValueParser<T> {
  return {
    allowed: `one of ${choices.join(', ')}`,
    parse: (raw) => choices.find((choice) => choice.toLowerCase() === raw.trim().toLowerCase()),
  };
}

export const bool: ValueParser<boolean> = {
  allowed: 'true or false',
  parse(raw) {
    const value = raw.trim().toLowerCase();
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return undefined;
  },
};


/** One `NAME=VALUE` constant label; names follow Prometheus' rules, `__` is reserved. */
export const labelPair: ValueParser<readonly [string, string]> = {
  allowed: 'NAME=VALUE with NAME matching [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", and a non-empty VALUE',
  parse(raw) {
    const eq = raw.indexOf('=');
    if (eq <= 0) return undefined;
    const name = raw.slice(0, eq).trim();
    const value = raw.slice(eq + 1);
    if (!isUserLabelName(name) || value === '') return undefined;
    return [name, value];
  },
};

export const nonEmptyString: ValueParser<string> = {
  allowed: 'a non-empty string',
  parse: (raw) => (raw.trim() === '' ? undefined : raw.trim()),
};

/** A password is taken as it is (spaces may belong to it); only an empty one is refused. */
export const password: ValueParser<string> = {
  allowed: 'a password',
  parse: (raw) => (raw === '' ? undefined : raw),
};

/** Tokens are trimmed here, once: a trailing newline from `echo` or a file is never part of one. */
export const token: ValueParser<string> = {
  allowed: 'a token',
  parse: (raw) => (raw.trim() === '' ? undefined : raw.trim()),
};

export const positiveInt: ValueParser<number> = {
  allowed: 'a whole number greater than zero',
  parse: (raw) => (/^\d+$/.test(raw.trim()) && Number(raw) > 0 ? Number(raw) : undefined),
};

/** RFC 9110 token characters: what a header name may be made of. */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export const headerName: ValueParser<string> = {
  allowed: "a header name (letters, digits and !#$%&'*+-.^_`|~), such as X-Scope-OrgID or THANOS-TENANT",
  parse: (raw) => {
    const value = raw.trim();
    return HEADER_NAME.test(value) ? value : undefined;
  },
};

/** A tenant goes in a header: printable ASCII only (no line breaks, control or non-ASCII characters). */
export const tenantId: ValueParser<string> = {
  allowed: 'a tenant of printable ASCII characters (it is sent in an HTTP header: no line breaks, control or non-ASCII characters)',
  parse: (raw) => {
    const value = raw.trim();
    return /^[\x20-\x7e]+$/.test(value) ? value : undefined;
  },
};

/** One entry of a NAME=VALUE list, taken apart; names are checked by the setting that uses them. */
export const namedValue: ValueParser<readonly [string, string]> = {
  allowed: 'a header as NAME=VALUE',
  parse(raw) {
    const eq = raw.indexOf('=');
    return eq <= 0 ? undefined : [raw.slice(0, eq).trim(), raw.slice(eq + 1)];
  },
};

/** A label of one bridge or one Pushgateway group: job and instance have settings of their own. */
export const ownLabelPair = (what: string): ValueParser<readonly [string, string]> => ({
  allowed: `NAME=VALUE with a valid label name other than job and instance (${what})`,
  parse(raw) {
    const pair = namedValue.parse(raw);
    return pair !== undefined && isUserLabelName(pair[0]) && pair[0] !== 'job' && pair[0] !== 'instance' ? pair : undefined;
  },
});

/**
 * A folder for the durable queue: not under the kernel's pseudo file systems
 * (/proc, /sys, /dev), where a mkdir can hang or write into the kernel.
 */
export const storageFolder: ValueParser<string> = {
  allowed: 'a folder on a real file system (not under /proc, /sys or /dev)',
  parse: (raw) => {
    const path = raw.trim();
    if (path === '') return undefined;
    const absolute = resolve(path);
    return ['/proc', '/sys', '/dev'].some((root) => absolute === root || absolute.startsWith(`${root}/`)) ? undefined : path;
  },
};

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** A size in bytes: `536870912`, `512MiB`, `1GiB`, `500MB` (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024). */
export const byteSize: ValueParser<number> = {
  allowed: 'a size such as 512MiB, 1GiB or 100MB (or a number of bytes), greater than zero',
  parse(raw) {
    const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(raw.trim());
    if (match === null) return undefined;
    const unit = SIZE_UNITS[(match[2] || 'b').toLowerCase()];
    if (unit === undefined) return undefined;
    const bytes = Math.floor(Number(match[1]) * unit);
    return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
  },
};
