import { parseArgs } from 'node:util';
import { ConfigError, invalidSetting } from './config-error';
import { readConfigFile, type FileSettings } from './config-file';
import { envVarName, findSetting, SETTINGS, type SettingFlag } from './settings';
import * as parsers from './value-parsers';
import type { ListenAddress, ValueParser } from './value-parsers';
import { loadBridges, type BridgeSettings } from './load-bridges';
import { destinationFlagOptions, loadDestinations, type Destinations } from './load-destinations';
import { validateHttpDestinationOptions } from '../http/http-destination-options';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'logfmt' | 'json';

export interface AgentConfig {
  /** At least one. */
  readonly bridges: readonly BridgeSettings[];
  readonly poll: { readonly intervalMs: number };
  readonly web: { readonly listenAddress: ListenAddress; readonly telemetryPath: string };
  /** Constant labels for every series, by name. */
  readonly labels: Readonly<Record<string, string>>;
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  readonly demo: boolean;
  readonly storage: {
    /** undefined: --storage.in-memory. */
    readonly path: string | undefined;
    readonly maxBytes: number;
    readonly maxAgeMs: number;
    readonly flushDeadlineMs: number;
  };
  readonly destinations: Destinations;
  /** Where the config file came from, for the start-up log line. */
  readonly configFile: string | undefined;
}

export type CliRequest =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly config: AgentConfig };

export interface ConfigSources {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

interface RawValue {
  readonly text: string;
  /** The flag, env var or file the value came from; '' for a default. */
  readonly origin: string;
}

type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

function parseFlags(argv: readonly string[]): FlagValues {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    help: { type: 'boolean' },
    version: { type: 'boolean' },
    ...destinationFlagOptions(),
  };
  for (const spec of SETTINGS) {
    options[spec.flag] = {
      type: 'isSwitch' in spec && spec.isSwitch ? 'boolean' : 'string',
      ...('repeatable' in spec && spec.repeatable ? { multiple: true } : {}),
    };
  }
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (error) {
    // Node's messages name the flag ("Unknown option '--foo'"); keep them, drop its hints.
    throw new ConfigError(`${(error as Error).message.split('. To specify')[0]} (see --help)`);
  }
}

/** Resolves settings by precedence: flag > environment > config file > default. */
class SettingResolver {
  constructor(
    private readonly flags: FlagValues,
    private readonly env: ConfigSources['env'],
    private readonly file: FileSettings | undefined,
  ) {}

  raw(flag: SettingFlag): RawValue | undefined {
    const spec = findSetting(flag)!;
    const fromFlag = this.flags[flag];
    if (typeof fromFlag === 'string') return { text: fromFlag, origin: `--${flag}` };
    if (fromFlag === true) return { text: 'true', origin: `--${flag}` };
    for (const name of [envVarName(flag), ...(spec.envAliases ?? [])]) {
      const fromEnv = this.env[name];
      if (fromEnv !== undefined && fromEnv !== '') return { text: fromEnv, origin: name };
    }
    const fromFile = this.file?.values.get(flag);
    if (fromFile !== undefined) return { text: fromFile, origin: this.file!.path };
    return spec.default === undefined ? undefined : { text: spec.default, origin: '' };
  }

  get<T>(flag: SettingFlag, parser: ValueParser<T>): T {
    const raw = this.raw(flag);
    if (raw === undefined) throw new ConfigError(`--${flag} is required`);
    const value = parser.parse(raw.text);
    if (value === undefined) throw invalidSetting(`--${flag}`, raw.origin, raw.text, parser.allowed);
    return value;
  }

  /** Constant labels merge by name across sources; a higher source wins for a name it sets. */
  labels(): Record<string, string> {
    const merged: Record<string, string> = {};
    const add = (entries: ReadonlyArray<string>, origin: string) => {
      const seen = new Set<string>();
      for (const entry of entries) {
        const pair = parsers.labelPair.parse(entry);
        if (pair === undefined) throw invalidSetting('--label', origin, entry, parsers.labelPair.allowed);
        if (seen.has(pair[0])) throw new ConfigError(`label ${JSON.stringify(pair[0])} is given twice in ${origin}`);
        seen.add(pair[0]);
        merged[pair[0]] = pair[1];
      }
    };
    if (this.file) add(this.file.labels.map(([name, value]) => `${name}=${value}`), this.file.path);
    const fromEnv = this.env[envVarName('label')];
    if (fromEnv) add(fromEnv.split(',').filter((entry) => entry.trim() !== ''), envVarName('label'));
    const fromFlags = this.flags['label'];
    if (Array.isArray(fromFlags)) add(fromFlags.map(String), '--label');
    return merged;
  }
}

export function loadConfig(sources: ConfigSources): CliRequest {
  const flags = parseFlags(sources.argv);
  if (flags['help'] === true) return { kind: 'help' };
  if (flags['version'] === true) return { kind: 'version' };

  const configPath = typeof flags['config.file'] === 'string' ? flags['config.file'] : sources.env[envVarName('config.file')] || undefined;
  const file = configPath === undefined ? undefined : readConfigFile(configPath, sources.readFile);
  const settings = new SettingResolver(flags, sources.env, file);

  const intervalMs = settings.get('poll.interval', parsers.durationMs);
  const bridges = loadBridges(flags, sources.env, file && { path: file.path, list: file.lists.jvb, defaults: file.bridgeDefaults }, intervalMs);

  const destinations = loadDestinations(flags, sources.env, file && { path: file.path, lists: file.lists });
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
  for (const b of bridges) validateHttpDestinationOptions(b.http, '--jvb', sources.env);
  for (const d of destinations.remoteWrite) validateHttpDestinationOptions(d.http, '--remote-write', sources.env);
  for (const d of destinations.pushgateway) validateHttpDestinationOptions(d.http, '--pushgateway', sources.env);

  return {
    kind: 'run',
    config: {
      bridges,
      poll: { intervalMs },
      web: {
        listenAddress: settings.get('web.listen-address', parsers.listenAddress),
        telemetryPath: settings.get('web.telemetry-path', parsers.urlPath),
      },
      labels: settings.labels(),
      log: {
        level: settings.get('log.level', parsers.oneOf('debug', 'info', 'warn', 'error')),
        format: settings.get('log.format', parsers.oneOf('logfmt', 'json')),
      },
      demo: settings.get('demo', parsers.bool),
      storage: {
        path: settings.get('storage.in-memory', parsers.bool) ? undefined : settings.get('storage.path', parsers.nonEmptyString),
        maxBytes: settings.get('storage.max-bytes', parsers.byteSize),
        maxAgeMs: settings.get('storage.max-age', parsers.durationMs),
        flushDeadlineMs: settings.get('storage.flush-deadline', parsers.durationMs),
      },
      destinations,
      configFile: configPath,
    },
  };
}
