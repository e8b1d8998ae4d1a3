/**
 * Which proxy, if any, a destination is reached through.
 *
 * Rules (the same as Go's net/http, which Prometheus uses):
 * - An explicit proxy setting wins, and is used for every request: NO_PROXY
 *   does not apply to it (the user asked for it by name).
 * - Otherwise the environment: `https_proxy`/`HTTPS_PROXY` for https
 *   targets, `http_proxy`/`HTTP_PROXY` for http targets (lower case first,
 *   empty values count as unset; ALL_PROXY is not read). A value without a
 *   scheme means `http://`.
 * - `no_proxy`/`NO_PROXY` (comma- or space-separated) lists targets reached
 *   directly: `*` for all; a host name, which also covers its subdomains
 *   (`example.com`, `.example.com` and `*.example.com` all match
 *   `example.com` and `a.example.com`); an IP address; a CIDR block
 *   (`10.0.0.0/8`, `fd00::/8`); each optionally with `:port` (IPv6 as
 *   `[::1]:port`), which then has to match too.
 * Only http:// and https:// proxies are supported (no SOCKS).
 */
import { BlockList, isIP } from 'node:net';

export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

export interface SelectedProxy {
  url: URL;
  /** Where it came from, for messages: the setting name or the env var name. */
  source: string;
}

/** A proxy URL that cannot be used; `detail` says what is allowed (never the password). */
export class ProxyUrlError extends Error {
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'ProxyUrlError';
  }
}

/**
 * Parses a proxy URL. Throws a plain Error whose message is the reason
 * (safe to show: it never repeats the value).
 */
export function parseProxyUrl(value: string, allowMissingScheme: boolean): URL {
  let text = value.trim();
  if (text === '') throw new Error('expected an http:// or https:// proxy URL, got an empty value');
  if (allowMissingScheme && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `http://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('expected an http:// or https:// proxy URL such as http://proxy.example:3128');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`proxy scheme "${url.protocol.replace(/:$/, '')}" is not supported; expected http:// or https://`);
  }
  if (url.hostname === '') throw new Error('expected an http:// or https:// proxy URL with a host');
  return url;
}

function firstSet(env: ProxyEnvironment, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value };
  }
  return undefined;
}

/**
 * The proxy for `target`: the explicit one if given, else from the
 * environment unless NO_PROXY exempts the target. Throws ProxyUrlError for
 * an unusable proxy URL.
 */
export function selectProxy(
  target: URL,
  explicit: { value: string | undefined; setting: string },
  env: ProxyEnvironment,
): SelectedProxy | undefined {
  if (explicit.value !== undefined && explicit.value.trim() !== '') {
    return { url: parseOrThrow(explicit.value, explicit.setting, false), source: explicit.setting };
  }
  const names = target.protocol === 'https:' ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy', 'HTTP_PROXY'];
  const fromEnv = firstSet(env, names);
  if (fromEnv === undefined) return undefined;
  const noProxy = firstSet(env, ['no_proxy', 'NO_PROXY']);
  if (noProxy !== undefined && isBypassedByNoProxy(target, noProxy.value)) return undefined;
  return { url: parseOrThrow(fromEnv.value, fromEnv.name, true), source: fromEnv.name };
}

function parseOrThrow(value: string, source: string, allowMissingScheme: boolean): URL {
  try {
    return parseProxyUrl(value, allowMissingScheme);
  } catch (err) {
    throw new ProxyUrlError(source, (err as Error).message);
  }
}

function defaultPort(url: URL): number {
  return url.protocol === 'https:' ? 443 : 80;
}

/** True when a NO_PROXY value says `target` is to be reached directly. */
export function isBypassedByNoProxy(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port === '' ? defaultPort(target) : Number(target.port);
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    if (entryMatches(entry, host, port)) return true;
  }
  return false;
}

function splitHostPort(entry: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1] as string, ...(bracketed[2] ? { port: Number(bracketed[2]) } : {}) };
  if (isIP(entry) === 6 || entry.includes('/')) return { host: entry };
  const withPort = /^(.*):(\d+)$/.exec(entry);
  if (withPort) return { host: withPort[1] as string, port: Number(withPort[2]) };
  return { host: entry };
}

function entryMatches(entry: string, host: string, port: number): boolean {
  const parsed = splitHostPort(entry);
  if (parsed.port !== undefined && parsed.port !== port) return false;
  const pattern = parsed.host;
  if (pattern.includes('/')) return cidrContains(pattern, host);
  if (isIP(pattern) !== 0) return isIP(host) !== 0 && sameIp(pattern, host);
  const domain = pattern.replace(/^\*?\.+/, '');
  if (domain === '') return false;
  return host === domain || host.endsWith(`.${domain}`);
}

function sameIp(a: string, b: string): boolean {
  if (a === b) return true;
  const list = new BlockList();
  const type = isIP(a) === 6 ? 'ipv6' : 'ipv4';
  list.addAddress(a, type);
  return list.check(b, isIP(b) === 6 ? 'ipv6' : 'ipv4');
}

function cidrContains(cidr: string, host: string): boolean {
  const [network, prefixText] = cidr.split('/');
  if (network === undefined || prefixText === undefined || !/^\d+$/.test(prefixText)) return false;
  const family = isIP(network);
  if (family === 0 || isIP(host) === 0) return false;
  const prefix = Number(prefixText);
  if (prefix > (family === 6 ? 128 : 32)) return false;
  const list = new BlockList();
  list.addSubnet(network, prefix, family === 6 ? 'ipv6' : 'ipv4');
  return list.check(host, isIP(host) === 6 ? 'ipv6' : 'ipv4');
}
