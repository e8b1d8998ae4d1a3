import { hostname } from 'node:os';

/**
 * Settings of a push destination. Each is a flag `--<kind>.<key>` (one
 * destination per kind from flags/environment), an environment variable,
 * and a key of an entry in the YAML file's `remote_write:` / `pushgateway:`
 * lists (any number of destinations). `envOnly` settings hold secrets: they
 * are no flags, so they never show in `ps`.
 */
export interface DestinationSettingSpec {
  readonly key: string;
  readonly help: string;
  readonly default?: string;
  readonly isSwitch?: boolean;
  readonly repeatable?: boolean;
  readonly envOnly?: boolean;
  /** Older environment variable names still honoured, after the canonical one. */
  readonly envAliases?: readonly string[];
}

/** How to reach a server: shared by the bridges (polled) and the destinations (pushed to). */
const CONNECTION_KEYS: readonly DestinationSettingSpec[] = [
  { key: 'username', help: 'Basic-auth user name (Grafana Cloud: the numeric instance id).' },
  { key: 'password-file', help: 'File holding the basic-auth password (Grafana Cloud: an access-policy token); read at each request.' },
  { key: 'password', help: 'The basic-auth password itself; environment only, prefer the file.', envOnly: true },
  { key: 'bearer-token-file', help: 'File holding a bearer token; read at each request.' },
  { key: 'bearer-token', help: 'The bearer token itself; environment only, prefer the file.', envOnly: true },
  { key: 'header', help: 'A custom header NAME=VALUE; repeatable. Reserved headers (Content-Type, Authorization, ...) are refused.', repeatable: true },
  { key: 'tls.ca-file', help: 'CA certificates (PEM) to verify the server with, instead of the system ones.' },
  { key: 'tls.cert-file', help: 'Client certificate (PEM) for mutual TLS; needs tls.key-file.' },
  { key: 'tls.key-file', help: 'Private key (PEM) of the client certificate.' },
  { key: 'tls.server-name', help: 'Name to verify the server certificate against (and send as SNI).' },
  { key: 'tls.insecure-skip-verify', help: 'Do not verify the server certificate (testing only).', isSwitch: true, default: 'false' },
  { key: 'proxy-url', help: 'HTTP(S) proxy; otherwise HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply.' },
];

const HTTP_KEYS: readonly DestinationSettingSpec[] = [
  { key: 'url', help: 'Where to push; setting it enables this destination.' },
  { key: 'timeout', help: 'A request that takes longer fails (and is retried as a network error).', default: '30s' },
  ...CONNECTION_KEYS,
];

/**
 * A bridge to poll. From flags and environment, `--jvb.url` may be repeated
 * (each URL a bridge, the other settings shared); the config file's
 * `bridges:` list gives each its own, and inherits the rest from flags,
 * environment and the file's `jvb:` section.
 */
export const BRIDGE_KEYS: readonly DestinationSettingSpec[] = [
  {
    key: 'url',
    help: "The bridge's base URL (its private HTTP port), or the full URL of /metrics or /colibri/stats; repeatable, one bridge each.",
    default: 'http://localhost:8080',
    repeatable: true,
    envAliases: ['JVB_STATS_URL'],
  },
  { key: 'source', help: 'auto (ask /metrics, then /colibri/stats), native (/metrics) or colibri (/colibri/stats).', default: 'auto' },
  { key: 'name', help: "The bridge's instance label (default: the URL's host:port; this host's name for a local bridge)." },
  { key: 'job', help: "The bridge's job label (jicofo for a Jicofo's /metrics).", default: 'jvb' },
  { key: 'label', help: "A label NAME=VALUE for this bridge's series; repeatable (file: labels: {NAME: VALUE})." , repeatable: true },
  { key: 'interval', help: 'How often to poll this bridge (default: --poll.interval).' },
  { key: 'timeout', help: 'A poll that takes longer fails (default: the smaller of 5s and the interval; at most the interval).' },
  { key: 'max-body-size', help: 'A body larger than this fails the poll (body_too_large).', default: '16MiB' },
  { key: 'max-series', help: 'A poll yielding more series than this fails whole (too_many_series): one runaway bridge cannot exhaust memory.', default: '20000' },
  ...CONNECTION_KEYS,
];

export const REMOTE_WRITE_KEYS: readonly DestinationSettingSpec[] = [
  ...HTTP_KEYS,
  { key: 'name', help: 'Name of the destination in logs and in the remote_name label (default: its host).' },
  { key: 'job', help: "The job label of every pushed series, for a single bridge (default: the bridge's job, jvb)." },
  { key: 'instance', help: "The instance label of every pushed series, for a single bridge (default: the bridge's name)." },
  { key: 'tenant-id', help: 'Tenant to write as, sent in --remote-write.tenant-header.' },
  { key: 'tenant-header', help: 'Header carrying the tenant: X-Scope-OrgID (Mimir, Cortex) or THANOS-TENANT (Thanos Receive).', default: 'X-Scope-OrgID' },
  { key: 'max-samples-per-request', help: 'Requests are split above this many samples.', default: '2000' },
  { key: 'retry-on-429', help: 'Retry requests answered 429 Too Many Requests (as Grafana Alloy does).', default: 'true' },
  { key: 'min-backoff', help: 'First wait before a retry; doubles up to --remote-write.max-backoff.', default: '250ms' },
  { key: 'max-backoff', help: 'Longest wait between retries.', default: '30s' },
];

export const PUSHGATEWAY_KEYS: readonly DestinationSettingSpec[] = [
  ...HTTP_KEYS,
  { key: 'job', help: "The job label of the group, for a single bridge (default: the bridge's job, jvb)." },
  { key: 'instance', help: "The instance label of the group, for a single bridge (default: the bridge's name); each bridge has a group of its own." },
  { key: 'grouping', help: 'A further grouping-key label NAME=VALUE; repeatable.', repeatable: true },
  { key: 'delete-on-shutdown', help: "Delete the group on SIGTERM (off: a restart would blank the dashboards until the next push).", isSwitch: true, default: 'false' },
];

export const DESTINATION_KINDS = {
  jvb: { fileKey: 'bridges', keys: BRIDGE_KEYS },
  'remote-write': { fileKey: 'remote_write', keys: REMOTE_WRITE_KEYS },
  pushgateway: { fileKey: 'pushgateway', keys: PUSHGATEWAY_KEYS },
} as const;

export type DestinationKind = keyof typeof DESTINATION_KINDS;

/** The default name (instance label) of a bridge: host:port, or this machine's name for a local bridge (with the port when several local bridges are polled). */
export function defaultBridgeName(url: string, severalLocal: boolean): string {
  const parsed = new URL(url);
  if (!isLocalHost(parsed.hostname)) return parsed.host;
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  return severalLocal ? `${hostname()}:${port}` : hostname();
}

export function isLocalHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1';
}
