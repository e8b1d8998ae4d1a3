import type { SettingSpec } from './setting-spec';
import * as parsers from './value-parsers';

/** How to reach a server: shared by the bridges (polled) and the destinations (pushed to). */
export const CONNECTION_SETTINGS = {
  username: { kind: 'value', parse: parsers.nonEmptyString, help: 'Basic-auth user name.' },
  'password-file': { kind: 'value', parse: parsers.nonEmptyString, help: 'File holding the basic-auth password; read at each request.' },
  password: { kind: 'value', parse: parsers.password, reach: 'no-flag', help: 'The basic-auth password itself; environment only, prefer the file.' },
  'bearer-token-file': { kind: 'value', parse: parsers.nonEmptyString, help: 'File holding a bearer token; read at each request.' },
  'bearer-token': { kind: 'value', parse: parsers.token, reach: 'no-flag', help: 'The bearer token itself; environment only, prefer the file.' },
  header: { kind: 'list', parse: parsers.namedValue, help: 'A custom header NAME=VALUE; repeatable. Reserved headers (Content-Type, Authorization, ...) are refused.' },
  'tls.ca-file': { kind: 'value', parse: parsers.nonEmptyString, help: 'CA certificates (PEM) to verify the server with, instead of the system ones.' },
  'tls.cert-file': { kind: 'value', parse: parsers.nonEmptyString, help: 'Client certificate (PEM) for mutual TLS; needs tls.key-file.' },
  'tls.key-file': { kind: 'value', parse: parsers.nonEmptyString, help: 'Private key (PEM) of the client certificate.' },
  'tls.server-name': { kind: 'value', parse: parsers.nonEmptyString, help: 'Name to verify the server certificate against (and send as SNI).' },
  'tls.insecure-skip-verify': { kind: 'switch', parse: parsers.bool, default: 'false', help: 'Do not verify the server certificate (testing only).' },
  'proxy-url': { kind: 'value', parse: parsers.nonEmptyString, help: 'HTTP(S) proxy; otherwise HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply.' },
} satisfies Record<string, SettingSpec>;

/** Where a push destination is and how long a request to it may take: the first rows of both destination scopes. */
export const PUSH_TARGET_SETTINGS = {
  url: { kind: 'value', parse: parsers.httpUrl, help: 'Where to push; setting it enables this destination.' },
  timeout: { kind: 'value', parse: parsers.durationMs, default: '30s', help: 'A request that takes longer fails (and is retried as a network error).' },
} satisfies Record<string, SettingSpec>;

/** The credentials as a push destination's help words them: Grafana Cloud's names, where they apply. */
export const PUSH_CONNECTION_SETTINGS = {
  ...CONNECTION_SETTINGS,
  username: { ...CONNECTION_SETTINGS.username, help: 'Basic-auth user name (Grafana Cloud: the numeric instance id).' },
  'password-file': { ...CONNECTION_SETTINGS['password-file'], help: 'File holding the basic-auth password (Grafana Cloud: an access-policy token); read at each request.' },
} satisfies Record<string, SettingSpec>;
