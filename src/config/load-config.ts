import { parseArgs } from 'node:util';
import { ConfigError, invalidSetting } from './config-error';
import { readConfigFile, type FileSettings } from './config-file';
import { closestName } from './closest-name';
import { DESTINATION_KINDS, type DestinationSettingSpec } from './destination-settings';
import { envVarName, findSetting, SETTINGS, type SettingFlag, type SettingSpec } from './settings';
import { redactUrlsInText } from '../log/redact-url';
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
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

interface RawValue {
  readonly text: string;
  /** The flag, env var or file the value came from; '' for a default. */
  readonly origin: string;
}

type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

function flagOptions(): Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    ...destinationFlagOptions(),
  };
  for (const spec of SETTINGS) {
    options[spec.flag] = {
      type: 'isSwitch' in spec && spec.isSwitch ? 'boolean' : 'string',
      ...('repeatable' in spec && spec.repeatable ? { multiple: true } : {}),
    };
  }
  return options;
}

/** Every environment variable the agent reads: one per setting, the aliases, the environment-only secrets. */
export function knownEnvVarNames(): string[] {
  const names = (SETTINGS as readonly SettingSpec[]).flatMap((spec) => [envVarName(spec.flag), ...(spec.envAliases ?? [])]);
  for (const [kind, { keys }] of Object.entries(DESTINATION_KINDS)) {
    for (const spec of keys as readonly DestinationSettingSpec[]) names.push(envVarName(`${kind}.${spec.key}`), ...(spec.envAliases ?? []));
  }
  return names;
}

const ENV_PREFIX = 'JVB_ADAPTER_';

/** Warnings about the environment: unknown JVB_ADAPTER_* variables (with the closest known name), aliases that are overridden. */
function environmentWarnings(env: ConfigSources['env']): string[] {
  const known = knownEnvVarNames();
  const knownSet = new Set(known);
  const suffixes = known.filter((k) => k.startsWith(ENV_PREFIX)).map((k) => k.slice(ENV_PREFIX.length));
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || knownSet.has(name) || env[name] === undefined) continue;
    const guess = closestName(name.slice(ENV_PREFIX.length), suffixes);
    warnings.push(
      `unknown environment variable ${name} is ignored${guess !== undefined ? `; did you mean ${ENV_PREFIX}${guess}?` : ' (see --help for the known ones)'}`,
    );
  }
  const aliased: Array<{ readonly canonical: string; readonly aliases: readonly string[] }> = [
    ...(SETTINGS as readonly SettingSpec[]).map((spec) => ({ canonical: envVarName(spec.flag), aliases: spec.envAliases ?? [] })),
    ...Object.entries(DESTINATION_KINDS).flatMap(([kind, { keys }]) =>
      (keys as readonly DestinationSettingSpec[]).map((spec) => ({ canonical: envVarName(`${kind}.${spec.key}`), aliases: spec.envAliases ?? [] })),
    ),
  ];
  for (const { canonical, aliases } of aliased) {
    if (!env[canonical]) continue;
    for (const alias of aliases) if (env[alias]) warnings.push(`${alias} is ignored: ${canonical} is set too, and wins`);
  }
  return warnings;
}

function parseFlags(argv: readonly string[]): FlagValues {
  const options = flagOptions();
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    const unknown = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(--?[^'=]+)/.exec(message)?.[1] : undefined;
    if (unknown !== undefined && unknown.startsWith('--')) {
      const name = unknown.slice(2);
      const envOnly = Object.entries(DESTINATION_KINDS).flatMap(([kind, { keys }]) =>
        (keys as readonly DestinationSettingSpec[]).filter((spec) => spec.envOnly).map((spec) => `${kind}.${spec.key}`),
      );
      if (envOnly.includes(name)) {
        throw new ConfigError(`--${name} is no flag (a secret on the command line shows in ps): set ${envVarName(name)} in the environment, or use --${name}-file`);
      }
      const guess = closestName(name, Object.keys(options));
      throw new ConfigError(`unknown flag ${unknown}${guess !== undefined ? `; did you mean --${guess}?` : ''} (see --help)`);
    }
    // Node's messages name the flag ("Option '--jvb.url <value>' argument missing"); keep them, drop its hints.
    throw new ConfigError(`${redactUrlsInText(message.split('. To specify')[0]!)} (see --help)`);
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
  const warnings = environmentWarnings(sources.env);

  const configPath = typeof flags['config.file'] === 'string' ? flags['config.file'] : sources.env[envVarName('config.file')] || undefined;
  const file = configPath === undefined ? undefined : readConfigFile(configPath, sources.readFile);
  const settings = new SettingResolver(flags, sources.env, file);

  const intervalMs = settings.get('poll.interval', parsers.pollInterval);
  const bridges = loadBridges(flags, sources.env, file && { path: file.path, list: file.lists.jvb, defaults: file.bridgeDefaults, locate: file.locate }, intervalMs);

  const destinations = loadDestinations(flags, sources.env, file && { path: file.path, lists: file.lists, locate: file.locate });
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
        telemetryPath: settings.get('web.telemetry-path', parsers.telemetryPath),
      },
      labels: settings.labels(),
      log: {
        level: settings.get('log.level', parsers.oneOf('debug', 'info', 'warn', 'error')),
        format: settings.get('log.format', parsers.oneOf('logfmt', 'json')),
      },
      demo: settings.get('demo', parsers.bool),
      storage: {
        path: settings.get('storage.in-memory', parsers.bool) ? undefined : settings.get('storage.path', parsers.storageFolder),
        maxBytes: settings.get('storage.max-bytes', parsers.byteSize),
        maxAgeMs: settings.get('storage.max-age', parsers.durationMs),
        flushDeadlineMs: settings.get('storage.flush-deadline', parsers.durationMs),
      },
      destinations,
      configFile: configPath,
    },
    warnings,
  };
}
