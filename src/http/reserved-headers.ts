/**
 * Request headers a user may not set through the custom-header setting.
 *
 * The list is Prometheus's `reservedHeaders` (config/config.go): the agent
 * sets these itself, and the remote-write spec says users MUST NOT be able to
 * override them. `authorization` is refused too, so that credentials only
 * ever come from the basic-auth or bearer-token settings (which read them
 * from files and keep them out of logs).
 */
export const RESERVED_HEADERS: readonly string[] = [
  'host',
  'content-encoding',
  'content-length',
  'content-type',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'www-authenticate',
  'accept-encoding',
  'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version',
  'authorization',
];

const RESERVED = new Set(RESERVED_HEADERS);

/** True when `name` (any letter case) is a header the agent owns. */
export function isReservedHeader(name: string): boolean {
  return RESERVED.has(name.trim().toLowerCase());
}
