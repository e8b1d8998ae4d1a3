import { ConfigError, invalidSetting } from './config-error';
import { envNames, flagName, type Scope, type SettingTable, type ValueOf } from './setting-spec';

/** A setting's text as one source gave it, with where it came from (for messages). */
export interface RawValue {
  readonly values: readonly string[];
  /** The flag, environment variable or file place it came from. */
  readonly origin: string;
}

/** One source's values for one scope, by setting key. */
export type Layer = ReadonlyMap<string, RawValue>;

export type FlagValues = Readonly<Record<string, string | boolean | Array<string | boolean> | undefined>>;
export type Environment = Readonly<Record<string, string | undefined>>;

/** The scope's settings given as flags. */
export function flagLayer(scope: Scope, flags: FlagValues): Map<string, RawValue> {
  const layer = new Map<string, RawValue>();
  for (const [key, spec] of Object.entries(scope.settings)) {
    const flag = flagName(scope, key);
    const given = spec.reach === 'no-flag' ? undefined : flags[flag];
    if (given === undefined || given === false) continue;
    layer.set(key, { values: (Array.isArray(given) ? given : [given]).map(String), origin: `--${flag}` });
  }
  return layer;
}

/** The scope's settings given as environment variables (canonical name first, then aliases; empty counts as unset). */
export function envLayer(scope: Scope, env: Environment): Map<string, RawValue> {
  const layer = new Map<string, RawValue>();
  for (const [key, spec] of Object.entries(scope.settings)) {
    for (const name of envNames(scope, key)) {
      const text = env[name];
      if (text === undefined || text === '') continue;
      const values = spec.kind === 'list' ? text.split(',').filter((entry) => entry.trim() !== '') : [text];
      layer.set(key, { values, origin: name });
      break;
    }
  }
  return layer;
}

/**
 * Typed reading of one scope through its layers, highest first: the first
 * layer holding a setting gives its value, else the setting's default.
 * Every refusal names the setting, where the value came from, the value and
 * what is allowed.
 */
export class SettingReader<T extends SettingTable> {
  constructor(
    readonly scope: Scope<T>,
    private readonly layers: readonly Layer[],
  ) {}

  /** `--remote-write.tenant-header`: the setting as messages name it. */
  name(key: keyof T & string): string {
    return `--${flagName(this.scope, key)}`;
  }

  raw(key: keyof T & string): RawValue | undefined {
    for (const layer of this.layers) {
      const value = layer.get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  has(key: keyof T & string): boolean {
    return this.raw(key) !== undefined;
  }

  /** Where the value in force came from; the setting itself when it is the default. */
  origin(key: keyof T & string): string {
    return this.raw(key)?.origin ?? this.name(key);
  }

  /** ` (from JVB_ADAPTER_...)` when the value came from elsewhere than the flag. */
  from(key: keyof T & string): string {
    const origin = this.origin(key);
    return origin === this.name(key) ? '' : ` (from ${origin})`;
  }

  /** The value in force, or undefined when neither given nor defaulted. */
  get<K extends keyof T & string>(key: K): ValueOf<T[K]> | undefined {
    const spec = this.scope.settings[key]!;
    const raw = this.raw(key);
    const text = raw?.values[0] ?? spec.default;
    if (text === undefined) return undefined;
    return this.parse(key, text, raw?.origin ?? '');
  }

  /** Like get, for a setting with a default or one that must be given. */
  require<K extends keyof T & string>(key: K): ValueOf<T[K]> {
    const value = this.get(key);
    if (value === undefined) throw new ConfigError(`${this.name(key)} is required`);
    return value;
  }

  /** Every value of a list setting. NAME=VALUE lists that merge by name do so across layers, lowest first. */
  list<K extends keyof T & string>(key: K): Array<ValueOf<T[K]>> {
    const spec = this.scope.settings[key]!;
    if (!spec.mergeByName) {
      const raw = this.raw(key);
      const texts = raw?.values ?? (spec.default !== undefined ? [spec.default] : []);
      return texts.map((text) => this.parse(key, text, raw?.origin ?? ''));
    }
    const merged = new Map<string, ValueOf<T[K]>>();
    for (const layer of [...this.layers].reverse()) {
      const raw = layer.get(key);
      if (raw === undefined) continue;
      const seen = new Set<string>();
      for (const text of raw.values) {
        const pair = this.parse(key, text, raw.origin) as unknown as readonly [string, string];
        if (seen.has(pair[0])) throw new ConfigError(`${this.name(key).replace(/^--/, '')} ${JSON.stringify(pair[0])} is given twice in ${raw.origin}`);
        seen.add(pair[0]);
        merged.set(pair[0], pair as unknown as ValueOf<T[K]>);
      }
    }
    return [...merged.values()];
  }

  private parse<K extends keyof T & string>(key: K, text: string, origin: string): ValueOf<T[K]> {
    const { parse } = this.scope.settings[key]!;
    const value = parse.parse(text);
    if (value === undefined) throw invalidSetting(this.name(key), origin, text, parse.allowed);
    return value as ValueOf<T[K]>;
  }
}
