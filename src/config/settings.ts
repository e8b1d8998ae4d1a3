/**
 * Every setting the agent takes, written down once. Each is a flag
 * (`--poll.interval`), an environment variable (`JVB_ADAPTER_POLL_INTERVAL`)
 * and a key of the YAML config file (`poll: {interval: ...}`); the help
 * text and README's table are made from this list.
 */
export interface SettingSpec {
  readonly flag: string;
  readonly help: string;
  /** The default as the user would write it; undefined: no default. */
  readonly default?: string;
  /** A flag without a value (`--demo`); the env var and file take true/false. */
  readonly isSwitch?: boolean;
  /** May be given many times (`--label a=b --label c=d`); the env var takes a comma-separated list. */
  readonly repeatable?: boolean;
  /** Older environment variable names still honoured, after the canonical one. */
  readonly envAliases?: readonly string[];
  /** Not accepted in the config file (the file's own path). */
  readonly flagAndEnvOnly?: boolean;
}

export const SETTINGS = [
  { flag: 'config.file', help: 'Path of an optional YAML file with the same settings as nested keys.', flagAndEnvOnly: true },
  { flag: 'poll.interval', help: 'How often to poll each bridge (and push, where pushing is configured), unless a bridge sets its own interval.', default: '15s' },
  { flag: 'web.listen-address', help: 'Address on which to serve /metrics, /-/healthy and /-/ready.', default: ':9001' },
  { flag: 'web.telemetry-path', help: 'Path under which to serve the metrics.', default: '/metrics' },
  { flag: 'label', help: 'A constant label NAME=VALUE added to every series; repeatable (env: comma-separated).', repeatable: true },
  { flag: 'log.level', help: 'Only log messages of this level or above: debug, info, warn, error.', default: 'info' },
  { flag: 'log.format', help: 'Log line format: logfmt or json.', default: 'logfmt' },
  { flag: 'storage.path', help: 'Directory of the durable remote-write queues (one folder per destination); created if missing.', default: './data' },
  { flag: 'storage.max-bytes', help: 'Most bytes each remote-write queue holds; past it the oldest data is dropped.', default: '512MiB' },
  { flag: 'storage.max-age', help: 'Queued data older than this is dropped (match the receiver: Mimir refuses samples 1h older than its newest by default).', default: '2h' },
  { flag: 'storage.flush-deadline', help: 'On SIGTERM, keep delivering queued remote-write data for at most this long; the rest stays queued on disk.', default: '30s' },
  { flag: 'storage.in-memory', help: 'Queue in memory instead of on disk (a read-only container); a restart then loses undelivered data.', isSwitch: true, default: 'false' },
  { flag: 'demo', help: 'Start an embedded simulated JVB (a real capture, with moving counters) and poll it instead of --jvb.url.', isSwitch: true, default: 'false' },
] as const satisfies readonly SettingSpec[];

export type SettingFlag = (typeof SETTINGS)[number]['flag'];

/** `web.listen-address` -> `JVB_ADAPTER_WEB_LISTEN_ADDRESS`. */
export function envVarName(flag: string): string {
  return `JVB_ADAPTER_${flag.replace(/[.-]/g, '_').toUpperCase()}`;
}

export function findSetting(flag: string): SettingSpec | undefined {
  return (SETTINGS as readonly SettingSpec[]).find((s) => s.flag === flag);
}
