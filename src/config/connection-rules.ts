/**
 * The rules a connection's settings must follow, checked once at start:
 * every credentials and TLS file is read now, so that a typo is reported
 * when the agent starts rather than as a failing push later. Messages name
 * the setting (`<prefix>.<name>`), the offending value and what is allowed;
 * they never contain a password or token (a URL is shown without its
 * `user:password@` part).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { HttpDestinationOptions, HttpTlsOptions } from '../http/http-destination-options';
import { ProxyUrlError, selectProxy, type ProxyEnvironment } from '../http/proxy-selection';
import { RESERVED_HEADERS, isReservedHeader } from '../http/reserved-headers';
import { readSecretFileSync } from '../http/secret-file';
import { countPemCertificates } from '../http/tls-material';
import { redactUrl } from '../log/redact-url';
import { ConfigError } from './config-error';
import { HEADER_NAME } from './value-parsers';

/** The setting names of a connection, after the scope's prefix (`--remote-write` + `.header`). */
const SETTING = {
  url: 'url',
  timeoutMs: 'timeout',
  basicAuthUsername: 'username',
  basicAuthPasswordFile: 'password-file',
  basicAuthPassword: 'password',
  bearerTokenFile: 'bearer-token-file',
  bearerToken: 'bearer-token',
  headers: 'header',
  caFile: 'tls.ca-file',
  certFile: 'tls.cert-file',
  keyFile: 'tls.key-file',
  serverName: 'tls.server-name',
  proxyUrl: 'proxy-url',
} as const;

/** Field-value characters: no control characters except tab (so no CR/LF injection). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** What a bearer token may contain once trimmed (visible ASCII). */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

export function checkConnection(
  opts: HttpDestinationOptions,
  settingPrefix: string,
  env: ProxyEnvironment = process.env,
): void {
  const setting = (name: keyof typeof SETTING): string =>
    `${settingPrefix}.${SETTING[name]}`;
  const fail = (message: string): never => {
    throw new ConfigError(message);
  };

  const target = checkUrl(opts.url, setting('url'), fail);

  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) {
    fail(`invalid value ${JSON.stringify(String(opts.timeoutMs))} for ${setting('timeoutMs')}: expected a duration greater than zero`);
  }

  const urlHasCredentials = target.username !== '' || target.password !== '';
  const authSettings = [
    ...(opts.basicAuth !== undefined ? [setting('basicAuthUsername')] : []),
    ...(opts.bearerTokenFile !== undefined ? [setting('bearerTokenFile')] : []),
    ...(opts.bearerToken !== undefined ? [setting('bearerToken')] : []),
  ];
  if (authSettings.length > 1) {
    fail(`${authSettings.join(' and ')} are ${authSettings.length === 2 ? 'both' : 'all'} set: use basic auth or one bearer token setting, not several`);
  }
  if (urlHasCredentials && authSettings.length > 0) {
    fail(
      `${setting('url')} ${JSON.stringify(redactUrl(opts.url))} carries credentials (user:password@) and ` +
        `${authSettings[0]} is set too: use only one of them`,
    );
  }

  if (opts.basicAuth !== undefined) {
    const { username } = opts.basicAuth;
    if (username === '' || username.includes(':') || !HEADER_VALUE.test(username)) {
      fail(`invalid value ${JSON.stringify(username)} for ${setting('basicAuthUsername')}: expected a non-empty user name without ":" or control characters`);
    }
    if ('passwordFile' in opts.basicAuth) {
      checkReadable(opts.basicAuth.passwordFile, setting('basicAuthPasswordFile'), fail, readSecretFileSync);
    }
  }

  if (opts.bearerTokenFile !== undefined) {
    const token = checkReadable(opts.bearerTokenFile, setting('bearerTokenFile'), fail, readSecretFileSync).trim();
    const where = `${setting('bearerTokenFile')} ${JSON.stringify(opts.bearerTokenFile)}`;
    if (token === '') fail(`${where} is empty: expected a file holding the token`);
    if (!TOKEN_CHARS.test(token)) fail(`${where} holds characters not allowed in a token (spaces, line breaks or control characters inside it)`);
  }
  if (opts.bearerToken !== undefined) {
    const token = opts.bearerToken.trim();
    if (token === '') fail(`${setting('bearerToken')} is empty: expected the token`);
    if (!TOKEN_CHARS.test(token)) fail(`${setting('bearerToken')} holds characters not allowed in a token (spaces, line breaks or control characters inside it)`);
  }

  checkHeaders(Object.entries(opts.headers), setting('headers'), settingPrefix);
  checkTls(opts.tls, setting, fail);

  try {
    selectProxy(target, { value: opts.proxyUrl, setting: setting('proxyUrl') }, env);
  } catch (err) {
    if (!(err instanceof ProxyUrlError)) throw err;
    const value = err.source === setting('proxyUrl') ? opts.proxyUrl ?? '' : env[err.source] ?? '';
    const origin = err.source === setting('proxyUrl') ? err.source : `${err.source} (environment variable)`;
    fail(`invalid value ${JSON.stringify(redactUrl(value))} for ${origin}: ${err.message}`);
  }
}

function checkUrl(url: string, name: string, fail: (m: string) => never): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(`invalid value ${JSON.stringify(redactUrl(url))} for ${name}: expected an http:// or https:// URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    fail(`invalid value ${JSON.stringify(redactUrl(url))} for ${name}: expected an http:// or https:// URL, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') fail(`invalid value ${JSON.stringify(redactUrl(url))} for ${name}: expected a URL with a host`);
  return parsed;
}

function checkReadable<T>(path: string, name: string, fail: (m: string) => never, read: (path: string) => T): T {
  if (path === '') return fail(`${name} is empty: expected the path of a readable file`);
  try {
    return read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return fail(`cannot read ${name} ${JSON.stringify(path)}: ${code}; expected a readable file`);
  }
}

/** The rules of custom headers, for a list as given and for the headers of built options alike. */
export function checkHeaders(headers: ReadonlyArray<readonly [string, string]>, name: string, settingPrefix: string): void {
  const fail = (message: string): never => {
    throw new ConfigError(message);
  };
  const seen = new Map<string, string>();
  for (const [header, value] of headers) {
    if (!HEADER_NAME.test(header)) {
      fail(`invalid header name ${JSON.stringify(header)} in ${name}: expected letters, digits and !#$%&'*+-.^_\`|~ only`);
    }
    const lower = header.toLowerCase();
    if (lower === 'authorization') {
      fail(
        `header ${JSON.stringify(header)} is not allowed in ${name}: set credentials with ` +
          `${settingPrefix}.${SETTING.basicAuthUsername} and ${settingPrefix}.${SETTING.basicAuthPasswordFile}, ` +
          `or ${settingPrefix}.${SETTING.bearerTokenFile} instead`,
      );
    }
    if (isReservedHeader(header)) {
      fail(
        `header ${JSON.stringify(header)} is not allowed in ${name}: the agent sets it itself; ` +
          `reserved (any letter case): ${RESERVED_HEADERS.join(', ')}`,
      );
    }
    const earlier = seen.get(lower);
    if (earlier !== undefined) fail(`header ${JSON.stringify(header)} is given twice in ${name} (also as ${JSON.stringify(earlier)}); header names ignore letter case`);
    seen.set(lower, header);
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      fail(`invalid value for header ${JSON.stringify(header)} in ${name}: line breaks and control characters are not allowed`);
    }
  }
}

function checkTls(
  tls: HttpTlsOptions,
  setting: (name: keyof typeof SETTING) => string,
  fail: (m: string) => never,
): void {
  if (tls.certFile !== undefined && tls.keyFile === undefined) {
    fail(`${setting('certFile')} is set without ${setting('keyFile')}: a client certificate needs its private key`);
  }
  if (tls.keyFile !== undefined && tls.certFile === undefined) {
    fail(`${setting('keyFile')} is set without ${setting('certFile')}: a client key needs its certificate`);
  }
  const read = (path: string): Buffer => readFileSync(path);
  if (tls.caFile !== undefined) {
    const ca = checkReadable(tls.caFile, setting('caFile'), fail, read);
    try {
      countPemCertificates(ca);
    } catch (err) {
      fail(`${setting('caFile')} ${JSON.stringify(tls.caFile)} is not a usable CA bundle: ${(err as Error).message}; expected PEM certificates`);
    }
  }
  if (tls.certFile !== undefined && tls.keyFile !== undefined) {
    const cert = checkReadable(tls.certFile, setting('certFile'), fail, read);
    const key = checkReadable(tls.keyFile, setting('keyFile'), fail, read);
    try {
      createSecureContext({ cert, key });
    } catch (err) {
      fail(
        `${setting('certFile')} ${JSON.stringify(tls.certFile)} and ${setting('keyFile')} ${JSON.stringify(tls.keyFile)} ` +
          `are not a usable certificate and key: ${(err as Error).message}; expected a PEM certificate and its unencrypted PEM private key`,
      );
    }
  }
  if (tls.serverName !== undefined && (!/^[A-Za-z0-9.-]+$/.test(tls.serverName) || isIP(tls.serverName) !== 0)) {
    fail(`invalid value ${JSON.stringify(tls.serverName)} for ${setting('serverName')}: expected a DNS host name (not an IP address) that the server certificate is issued for`);
  }
}
