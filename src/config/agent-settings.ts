import { flagName, type Scope, type SettingSpec } from './setting-spec';
import * as parsers from './value-parsers';

/** The agent's own settings: flags without a prefix, the top level of the YAML file. */
export const AGENT_SETTINGS = {
  'config.file': { kind: 'value', parse: parsers.nonEmptyString, reach: 'no-file', help: 'Path of an optional YAML file with the same settings as nested keys.' },
  'poll.interval': { kind: 'value', parse: parsers.pollInterval, default: '15s', help: 'How often to poll each bridge (and push, where pushing is configured), unless a bridge sets its own interval.' },
  'web.listen-address': { kind: 'value', parse: parsers.listenAddress, default: ':9001', help: 'Address on which to serve /metrics, /-/healthy and /-/ready.' },
  'web.telemetry-path': { kind: 'value', parse: parsers.telemetryPath, default: '/metrics', help: 'Path under which to serve the metrics.' },
  label: { kind: 'list', parse: parsers.labelPair, fileKey: 'labels', mergeByName: true, help: 'A constant label NAME=VALUE added to every series; repeatable (env: comma-separated; file: labels: {NAME: VALUE}).' },
  'log.level': { kind: 'value', parse: parsers.oneOf('debug', 'info', 'warn', 'error'), default: 'info', help: 'Only log messages of this level or above: debug, info, warn, error.' },
  'log.format': { kind: 'value', parse: parsers.oneOf('logfmt', 'json'), default: 'logfmt', help: 'Log line format: logfmt or json.' },
  'storage.path': { kind: 'value', parse: parsers.storageFolder, default: './data', help: 'Directory of the durable remote-write queues (one folder per destination); created if missing.' },
  'storage.max-bytes': { kind: 'value', parse: parsers.byteSize, default: '512MiB', help: 'Most bytes each remote-write queue holds; past it the oldest data is dropped.' },
  'storage.max-age': { kind: 'value', parse: parsers.durationMs, default: '2h', help: 'Queued data older than this is dropped (match the receiver: Mimir refuses samples 1h older than its newest by default).' },
  'storage.flush-deadline': { kind: 'value', parse: parsers.durationMs, default: '30s', help: 'On SIGTERM, keep delivering queued remote-write data for at most this long; the rest stays queued on disk.' },
  'storage.in-memory': { kind: 'switch', parse: parsers.bool, default: 'false', help: 'Queue in memory instead of on disk (a read-only container); a restart then loses undelivered data.' },
  demo: { kind: 'switch', parse: parsers.bool, default: 'false', help: 'Start an embedded simulated JVB (a real capture, with moving counters) and poll it instead of --jvb.url.' },
} satisfies Record<string, SettingSpec>;

export const AGENT_SCOPE: Scope<typeof AGENT_SETTINGS> = {
  prefix: '',
  title: 'Agent settings (top level of the config file):',
  settings: AGENT_SETTINGS,
  file: {},
};

/** The storage settings as messages name them, for the queues' log lines. */
export const STORAGE_SETTING_NAMES = {
  path: `--${flagName(AGENT_SCOPE, 'storage.path')}`,
  maxBytes: `--${flagName(AGENT_SCOPE, 'storage.max-bytes')}`,
  inMemory: `--${flagName(AGENT_SCOPE, 'storage.in-memory')}`,
} as const;
