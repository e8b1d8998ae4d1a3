import type { HttpDestinationOptions } from '../http/http-destination-options';
import { isUserLabelName } from '../registry/label-name';
import { isReservedHeader } from '../http/reserved-headers';
import { redactUrl } from '../log/redact-url';
import { closestName } from './closest-name';
import { describeFileKey, type KeyLocator } from './config-file';
import { ConfigError, invalidSetting } from './config-error';
import { DESTINATION_KINDS, type DestinationKind, type DestinationSettingSpec } from './destination-settings';
import { envVarName } from './settings';
import * as parsers from './value-parsers';
import type { ValueParser } from './value-parsers';

export interface RemoteWriteDestination {
  readonly name: string;
  /**
   * job and instance for this destination, when set (one bridge only);
   * otherwise each bridge's. Added to every series that has no label of that
   * name, like Prometheus' external_labels.
   */
  readonly job?: string;
  readonly instance?: string;
  readonly http: HttpDestinationOptions;
  readonly maxSamplesPerRequest: number;
  readonly retryOn429: boolean;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
}

export interface PushgatewayDestination {
  readonly http: HttpDestinationOptions;
  /** The group's job and instance when set (one bridge only); otherwise each bridge's. */
  readonly job?: string;
  readonly instance?: string;
  /** The --pushgateway.grouping labels, in order, after instance. */
  readonly grouping: ReadonlyArray<readonly [string, string]>;
  readonly deleteOnShutdown: boolean;
}

/** One destination's settings as text, each with where it came from (for messages). */
export type RawDestination = Map<string, { readonly values: readonly string[]; readonly origin: string }>;

export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** The destination flags for node:util parseArgs. */
export function destinationFlagOptions(): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [kind, { keys }] of Object.entries(DESTINATION_KINDS)) {
    for (const spec of keys) {
      if (spec.envOnly) continue;
      options[`${kind}.${spec.key}`] = { type: spec.isSwitch ? 'boolean' : 'string', ...(spec.repeatable ? { multiple: true } : {}) };
    }
  }
  return options;
}

/** The destination defined by flags and environment variables (flag first), if any of its settings is given. */
export function fromFlagsAndEnv(kind: DestinationKind, flags: FlagValues, env: Readonly<Record<string, string | undefined>>): RawDestination | undefined {
  const raw: RawDestination = new Map();
  for (const spec of DESTINATION_KINDS[kind].keys) {
    const flag = `${kind}.${spec.key}`;
    const fromFlag = spec.envOnly ? undefined : flags[flag];
    if (fromFlag !== undefined) {
      const values = (Array.isArray(fromFlag) ? fromFlag : [fromFlag]).map(String);
      raw.set(spec.key, { values, origin: `--${flag}` });
      continue;
    }
    for (const name of [envVarName(flag), ...(spec.envAliases ?? [])]) {
      const fromEnv = env[name];
      if (fromEnv === undefined || fromEnv === '') continue;
      const values = spec.repeatable ? fromEnv.split(',').filter((v) => v.trim() !== '') : [fromEnv];
      raw.set(spec.key, { values, origin: name });
      break;
    }
  }
  if (raw.size === 0) return undefined;
  // A bridge's URL has a default; a destination is switched on by its URL.
  if (kind !== 'jvb' && !raw.has('url')) {
    const [, first] = [...raw.entries()][0]!;
    throw new ConfigError(`${first.origin} is set but --${kind}.url is not: set the URL to push to`);
  }
  return raw;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The destinations of the YAML file's list for `kind`, e.g. `remote_write: [{url: ..., tls: {ca-file: ...}}]`. */
export function fromFileList(
  kind: DestinationKind,
  list: unknown,
  filePath: string,
  opts: { urlRequired?: boolean; at?: string; locate?: KeyLocator } = {},
): RawDestination[] {
  const { fileKey, keys } = DESTINATION_KINDS[kind];
  const where = `--config.file ${JSON.stringify(filePath)}`;
  const locate = opts.locate ?? (() => '');
  const items = Array.isArray(list) ? list : [list];
  return items.map((item, index) => {
    const at = opts.at ?? `${fileKey}[${index}]`;
    // Where this item is in the document, to locate its keys: jvb, bridges[i], or a list given as a single mapping.
    const itemPath: Array<string | number> = opts.at !== undefined ? [opts.at] : Array.isArray(list) ? [fileKey, index] : [fileKey];
    if (!isMapping(item)) throw new ConfigError(`${where}: ${at} must be a mapping of settings`);
    const raw: RawDestination = new Map();
    const visit = (prefix: string, node: Record<string, unknown>, nodePath: ReadonlyArray<string | number>) => {
      for (const [name, value] of Object.entries(node)) {
        const key = prefix + name;
        const spec = keys.find((s) => s.key === key);
        if (spec?.repeatable) {
          // header: {X-Scope-OrgID: t1} or header: ["X-Scope-OrgID=t1"]
          const values = isMapping(value)
            ? Object.entries(value).map(([k, v]) => `${k}=${String(v)}`)
            : (Array.isArray(value) ? value : [value]).map(String);
          raw.set(key, { values, origin: `${filePath} ${at}.${key}` });
        } else if (spec && !isMapping(value) && !Array.isArray(value) && value !== null) {
          raw.set(key, { values: [String(value)], origin: `${filePath} ${at}.${key}` });
        } else if (!spec && isMapping(value) && keys.some((s) => s.key.startsWith(`${key}.`))) {
          visit(`${key}.`, value, [...nodePath, name]);
        } else if (spec) {
          throw new ConfigError(`${where}: ${at}.${key} must be a scalar`);
        } else {
          const shown = describeFileKey(`${at}.${prefix}`, name, locate([...nodePath, name]));
          const known = keys.filter((s) => !s.envOnly).map((s) => s.key);
          const guess = /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key) ? closestName(key, kind === 'jvb' ? [...known, 'labels'] : known) : undefined;
          throw new ConfigError(`${where}: unknown setting ${shown}${guess !== undefined ? `; did you mean "${at}.${guess}"?` : ''}`);
        }
      }
    };
    // A bridge's labels are a mapping, as the file's top-level labels are.
    const { labels, ...rest } = item;
    visit('', kind === 'jvb' && labels !== undefined ? { ...rest, label: labels } : item, itemPath);
    if ((opts.urlRequired ?? true) && !raw.has('url')) throw new ConfigError(`${where}: ${at} has no url`);
    return raw;
  });
}

/** Typed access to one raw destination, with defaults and messages naming the setting. */
export class DestinationReader {
  constructor(
    private readonly kind: DestinationKind,
    private readonly raw: RawDestination,
  ) {}

  private spec(key: string): DestinationSettingSpec {
    return DESTINATION_KINDS[this.kind].keys.find((s) => s.key === key)!;
  }

  get<T>(key: string, parser: ValueParser<T>): T | undefined {
    const entry = this.raw.get(key);
    const text = entry?.values[0] ?? this.spec(key).default;
    if (text === undefined) return undefined;
    const value = parser.parse(text);
    if (value === undefined) throw invalidSetting(`--${this.kind}.${key}`, entry?.origin ?? '', text, parser.allowed);
    return value;
  }

  pairs(key: string, what: string): Array<readonly [string, string]> {
    const entry = this.raw.get(key);
    if (!entry) return [];
    return entry.values.map((text) => {
      const eq = text.indexOf('=');
      if (eq <= 0) throw invalidSetting(`--${this.kind}.${key}`, entry.origin, text, `${what} as NAME=VALUE`);
      return [text.slice(0, eq).trim(), text.slice(eq + 1)] as const;
    });
  }

  origin(key: string): string {
    return this.raw.get(key)?.origin ?? `--${this.kind}.${key}`;
  }
}

/** ` (from JVB_ADAPTER_...)` when a setting came from elsewhere than its flag. */
function fromOrigin(reader: DestinationReader, key: string): string {
  const origin = reader.origin(key);
  return origin === `--remote-write.${key}` ? '' : ` (from ${origin})`;
}

/** A tenant goes in a header: printable ASCII only (no line breaks, control or non-ASCII characters). */
const tenantId: ValueParser<string> = {
  allowed: 'a tenant of printable ASCII characters (it is sent in an HTTP header: no line breaks, control or non-ASCII characters)',
  parse: (raw) => {
    const value = raw.trim();
    return /^[\x20-\x7e]+$/.test(value) ? value : undefined;
  },
};

/** RFC 9110 token characters: what a header name may be made of. */
const headerName: ValueParser<string> = {
  allowed: "a header name (letters, digits and !#$%&'*+-.^_`|~), such as X-Scope-OrgID or THANOS-TENANT",
  parse: (raw) => {
    const value = raw.trim();
    return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value) ? value : undefined;
  },
};

export const positiveInt: ValueParser<number> = {
  allowed: 'a whole number greater than zero',
  parse: (raw) => (/^\d+$/.test(raw.trim()) && Number(raw) > 0 ? Number(raw) : undefined),
};

export function httpOptions(kind: DestinationKind, reader: DestinationReader, extraHeaders: Array<readonly [string, string]>): HttpDestinationOptions {
  const headers: Record<string, string> = {};
  for (const [name, value] of [...reader.pairs('header', 'a header'), ...extraHeaders]) {
    if (Object.keys(headers).some((h) => h.toLowerCase() === name.toLowerCase())) {
      throw new ConfigError(`header ${JSON.stringify(name)} is given twice for --${kind} (${reader.origin('header')})`);
    }
    headers[name] = value;
  }
  const username = reader.get('username', parsers.nonEmptyString);
  const passwordFile = reader.get('password-file', parsers.nonEmptyString);
  const password = reader.get('password', { allowed: 'a password', parse: (raw) => (raw === '' ? undefined : raw) });
  const bearerTokenFile = reader.get('bearer-token-file', parsers.nonEmptyString);
  const bearerToken = reader.get('bearer-token', { allowed: 'a token', parse: (raw) => (raw.trim() === '' ? undefined : raw.trim()) });
  if ((passwordFile !== undefined || password !== undefined) && username === undefined) {
    throw new ConfigError(`--${kind}.password-file (or ${envVarName(`${kind}.password`)}) is set without --${kind}.username`);
  }
  if (username !== undefined && passwordFile === undefined && password === undefined) {
    throw new ConfigError(`--${kind}.username is set without a password: set --${kind}.password-file (or ${envVarName(`${kind}.password`)})`);
  }
  if (passwordFile !== undefined && password !== undefined) {
    throw new ConfigError(`both --${kind}.password-file and ${envVarName(`${kind}.password`)} are set: use one`);
  }
  if (bearerTokenFile !== undefined && bearerToken !== undefined) {
    throw new ConfigError(`both --${kind}.bearer-token-file and ${envVarName(`${kind}.bearer-token`)} are set: use one`);
  }
  const caFile = reader.get('tls.ca-file', parsers.nonEmptyString);
  const certFile = reader.get('tls.cert-file', parsers.nonEmptyString);
  const keyFile = reader.get('tls.key-file', parsers.nonEmptyString);
  const serverName = reader.get('tls.server-name', parsers.nonEmptyString);
  const proxyUrl = reader.get('proxy-url', parsers.nonEmptyString);
  return {
    url: reader.get('url', parsers.httpUrl)!,
    timeoutMs: reader.get('timeout', parsers.durationMs) ?? 0,
    ...(username !== undefined ? { basicAuth: { username, ...(passwordFile !== undefined ? { passwordFile } : { password: password! }) } } : {}),
    ...(bearerTokenFile !== undefined ? { bearerTokenFile } : {}),
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    headers,
    tls: {
      ...(caFile !== undefined ? { caFile } : {}),
      ...(certFile !== undefined ? { certFile } : {}),
      ...(keyFile !== undefined ? { keyFile } : {}),
      ...(serverName !== undefined ? { serverName } : {}),
      insecureSkipVerify: reader.get('tls.insecure-skip-verify', parsers.bool)!,
    },
    ...(proxyUrl !== undefined ? { proxyUrl } : {}),
  };
}

function remoteWriteDestination(raw: RawDestination): RemoteWriteDestination {
  const reader = new DestinationReader('remote-write', raw);
  const tenant = reader.get('tenant-id', tenantId);
  const tenantHeader = reader.get('tenant-header', headerName)!;
  if (tenant === undefined && raw.has('tenant-header')) {
    throw new ConfigError(`--remote-write.tenant-header${fromOrigin(reader, 'tenant-header')} is set but --remote-write.tenant-id is not: set the tenant to send in it`);
  }
  if (tenant !== undefined) {
    if (isReservedHeader(tenantHeader)) {
      throw invalidSetting('--remote-write.tenant-header', reader.origin('tenant-header'), tenantHeader, 'a header the agent does not set itself, such as X-Scope-OrgID or THANOS-TENANT');
    }
    const clash = reader.pairs('header', 'a header').find(([name]) => name.toLowerCase() === tenantHeader.toLowerCase());
    if (clash !== undefined) {
      throw new ConfigError(
        `--remote-write.header${fromOrigin(reader, 'header')} sets ${JSON.stringify(clash[0])}, the header that carries --remote-write.tenant-id${fromOrigin(reader, 'tenant-id')}: set the tenant with --remote-write.tenant-id only`,
      );
    }
  }
  const http = httpOptions('remote-write', reader, tenant !== undefined ? [[tenantHeader, tenant]] : []);
  const minBackoffMs = reader.get('min-backoff', parsers.durationMs)!;
  const maxBackoffMs = reader.get('max-backoff', parsers.durationMs)!;
  if (minBackoffMs > maxBackoffMs) throw new ConfigError(`--remote-write.min-backoff must not be longer than --remote-write.max-backoff`);
  return {
    name: reader.get('name', parsers.nonEmptyString) ?? new URL(http.url).host,
    ...optional('job', reader.get('job', parsers.nonEmptyString)),
    ...optional('instance', reader.get('instance', parsers.nonEmptyString)),
    http,
    maxSamplesPerRequest: reader.get('max-samples-per-request', positiveInt)!,
    retryOn429: reader.get('retry-on-429', parsers.bool)!,
    minBackoffMs,
    maxBackoffMs,
  };
}

function pushgatewayDestination(raw: RawDestination): PushgatewayDestination {
  const reader = new DestinationReader('pushgateway', raw);
  const grouping: Array<readonly [string, string]> = [];
  for (const [name, value] of reader.pairs('grouping', 'a grouping label')) {
    if (!isUserLabelName(name) || name === 'job' || name === 'instance') {
      throw invalidSetting('--pushgateway.grouping', reader.origin('grouping'), `${name}=${value}`, 'NAME=VALUE with a valid label name other than job and instance (they have settings of their own)');
    }
    if (grouping.some(([n]) => n === name)) throw new ConfigError(`grouping label ${JSON.stringify(name)} is given twice (${reader.origin('grouping')})`);
    grouping.push([name, value]);
  }
  return {
    http: httpOptions('pushgateway', reader, []),
    ...optional('job', reader.get('job', parsers.nonEmptyString)),
    ...optional('instance', reader.get('instance', parsers.nonEmptyString)),
    grouping,
    deleteOnShutdown: reader.get('delete-on-shutdown', parsers.bool)!,
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

export interface Destinations {
  readonly remoteWrite: readonly RemoteWriteDestination[];
  readonly pushgateway: readonly PushgatewayDestination[];
}

/** File destinations first, then the one from flags/environment; duplicates (same URL) are refused. */
export function loadDestinations(
  flags: FlagValues,
  env: Readonly<Record<string, string | undefined>>,
  fileLists: { readonly path: string; readonly lists: Partial<Record<DestinationKind, unknown>>; readonly locate?: KeyLocator } | undefined,
): Destinations {
  const raws = (kind: DestinationKind): RawDestination[] => {
    const list = fileLists?.lists[kind];
    const fromFile = list === undefined ? [] : fromFileList(kind, list, fileLists!.path, { ...(fileLists!.locate ? { locate: fileLists!.locate } : {}) });
    const fromFlags = fromFlagsAndEnv(kind, flags, env);
    return fromFlags ? [...fromFile, fromFlags] : fromFile;
  };
  const remoteWrite = raws('remote-write').map(remoteWriteDestination);
  const pushgateway = raws('pushgateway').map(pushgatewayDestination);
  const seen = new Set<string>();
  for (const url of [...remoteWrite, ...pushgateway].map((d) => d.http.url)) {
    if (seen.has(url)) throw new ConfigError(`the destination ${JSON.stringify(redactUrl(url))} is configured twice`);
    seen.add(url);
  }
  const names = new Set<string>();
  for (const { name } of remoteWrite) {
    if (names.has(name)) throw new ConfigError(`two remote-write destinations are named ${JSON.stringify(name)}: give each a --remote-write.name`);
    names.add(name);
  }
  return { remoteWrite, pushgateway };
}
