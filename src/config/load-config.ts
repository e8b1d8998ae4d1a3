import type { LogFormat, LogLevel } from '../log/logger';
import type { BridgeOptions } from '../scheduler/bridge-options';
import type { ListenAddress } from '../server/listen-address';
import type { StorageOptions } from '../sinks/queue/storage-options';
import { AGENT_SCOPE } from './agent-settings';
import { credentialFlagWarnings, environmentWarnings, parseFlags } from './command-line';
import { readConfigFile } from './config-file';
import { ConfigError } from './config-error';
import { checkConnection } from './connection-rules';
import { fileLayer } from './file-layers';
import { loadBridges } from './load-bridges';
import { loadDestinations, type Destinations } from './load-destinations';
import { SCOPES } from './scopes';
import { envLayer, flagLayer, SettingReader, type Environment } from './setting-reader';

export interface AgentConfig {
  /** At least one. */
  readonly bridges: readonly BridgeOptions[];
  readonly poll: { readonly intervalMs: number };
  readonly web: { readonly listenAddress: ListenAddress; readonly telemetryPath: string };
  /** Constant labels for every series, by name. */
  readonly labels: Readonly<Record<string, string>>;
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  readonly demo: boolean;
  readonly storage: StorageOptions;
  readonly destinations: Destinations;
  /** Where the config file came from, for the start-up log line. */
  readonly configFile: string | undefined;
}

export type CliRequest =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run';
      readonly config: AgentConfig;
      /**
       * Mistakes that do not stop the agent (an unknown JVB_ADAPTER_*
       * environment variable, ...), one sentence each; the CLI logs each as
       * a warning once the logger exists.
       */
      readonly warnings: readonly string[];
    };

export interface ConfigSources {
  readonly argv: readonly string[];
  readonly env: Environment;
  readonly readFile?: (path: string) => string;
}

/** The file's top-level keys that belong to the bridge and destination scopes, not to the agent's own settings. */
const SCOPE_FILE_KEYS: ReadonlySet<string> = new Set(SCOPES.flatMap((scope) => [scope.file.list, scope.file.section].filter((key): key is string => key !== undefined)));

/** Precedence: flag > environment > config file (entry > section) > default. */
export function loadConfig(sources: ConfigSources): CliRequest {
  const flags = parseFlags(sources.argv);
  if (flags['help'] === true) return { kind: 'help' };
  if (flags['version'] === true) return { kind: 'version' };
  const warnings = [...environmentWarnings(sources.env), ...credentialFlagWarnings(flags)];

  const early = new SettingReader(AGENT_SCOPE, [flagLayer(AGENT_SCOPE, flags), envLayer(AGENT_SCOPE, sources.env)]);
  const configPath = early.get('config.file');
  const file = configPath === undefined ? undefined : readConfigFile(configPath, sources.readFile);
  const agent = new SettingReader(AGENT_SCOPE, [
    flagLayer(AGENT_SCOPE, flags),
    envLayer(AGENT_SCOPE, sources.env),
    ...(file !== undefined ? [fileLayer(AGENT_SCOPE, file, file.content, { at: '', path: [] }, SCOPE_FILE_KEYS)] : []),
  ]);

  const intervalMs = agent.require('poll.interval');
  const bridges = loadBridges(flags, sources.env, file, intervalMs);
  const destinations = loadDestinations(flags, sources.env, file);
  if (bridges.length > 1) {
    // With several bridges each brings its own job and instance; one value for all would merge their series.
    for (const [kind, list] of [['remote-write', destinations.remoteWrite], ['pushgateway', destinations.pushgateway]] as const) {
      for (const d of list) {
        const set = (['job', 'instance'] as const).filter((key) => d[key] !== undefined);
        if (set.length > 0) {
          throw new ConfigError(`--${kind}.${set[0]} sets one ${set[0]} for all ${bridges.length} bridges, which would write them into the same series: leave it unset and give each bridge its own job and name`);
        }
      }
    }
  }
  // Credential, CA and key files are read now, so a typo stops the agent at start, not at the first push.
  for (const b of bridges) checkConnection({ ...b.connection, url: b.url, timeoutMs: b.timeoutMs }, '--jvb', sources.env);
  for (const d of destinations.remoteWrite) checkConnection(d.http, '--remote-write', sources.env);
  for (const d of destinations.pushgateway) checkConnection(d.http, '--pushgateway', sources.env);

  return {
    kind: 'run',
    config: {
      bridges,
      poll: { intervalMs },
      web: { listenAddress: agent.require('web.listen-address'), telemetryPath: agent.require('web.telemetry-path') },
      labels: Object.fromEntries(agent.list('label')),
      log: { level: agent.require('log.level'), format: agent.require('log.format') },
      demo: agent.require('demo'),
      storage: {
        path: agent.require('storage.in-memory') ? undefined : agent.require('storage.path'),
        maxBytes: agent.require('storage.max-bytes'),
        maxAgeMs: agent.require('storage.max-age'),
        flushDeadlineMs: agent.require('storage.flush-deadline'),
      },
      destinations,
      configFile: configPath,
    },
    warnings,
  };
}
