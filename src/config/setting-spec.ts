/**
 * The one way a setting is described. Every setting of every scope is one
 * row of a table (agent-settings.ts, connection-settings.ts, ...); the
 * command line, the environment, the YAML file, `--help` and
 * docs/configuration.md are all read from those rows.
 */

/** How one setting's text becomes a typed value; `allowed` words the error. */
export interface ValueParser<T> {
  readonly allowed: string;
  parse(raw: string): T | undefined;
}

/**
 * switch: a flag without a value (`--demo`), true/false elsewhere;
 * value: one value; list: repeatable (`--label a=b --label c=d`, a
 * comma-separated variable, a YAML list or mapping).
 */
export type SettingKind = 'switch' | 'value' | 'list';

export interface SettingSpec<T = unknown> {
  readonly help: string;
  readonly kind: SettingKind;
  readonly parse: ValueParser<T>;
  /** The default as a user would write it; absent: none. */
  readonly default?: string;
  /** Older environment variable names, honoured after the canonical one. */
  readonly envAliases?: readonly string[];
  /**
   * no-file: flag and environment only (the file's own path);
   * no-flag: environment and file only (a secret would show in `ps`).
   */
  readonly reach?: 'no-file' | 'no-flag';
  /** The YAML key when it differs from the flag (`labels:` for `--label`, `protobuf_message:` as Prometheus spells it); the flag's own name is accepted in the file too. */
  readonly fileKey?: string;
  /** A list whose NAME=VALUE entries merge by name across sources (a higher source wins per name) instead of replacing each other. */
  readonly mergeByName?: boolean;
}

export type SettingTable = Readonly<Record<string, SettingSpec>>;

/** The typed value a setting's parser gives. */
export type ValueOf<S> = S extends SettingSpec<infer T> ? T : never;

/**
 * A group of settings read together: the agent's own (flags without a
 * prefix), a bridge (`--jvb.*`), a remote-write destination, a Pushgateway.
 */
export interface Scope<T extends SettingTable = SettingTable> {
  /** The flag prefix (`remote-write` for `--remote-write.url`); '' for the agent's own settings. */
  readonly prefix: string;
  /** One line for --help and the reference. */
  readonly title: string;
  readonly settings: T;
  /** Where its entries sit in the YAML file: a list of entries and/or a section every entry inherits. */
  readonly file: { readonly list?: string; readonly section?: string };
}

export function flagName(scope: Scope, key: string): string {
  return scope.prefix === '' ? key : `${scope.prefix}.${key}`;
}

/** `web.listen-address` -> `JVB_ADAPTER_WEB_LISTEN_ADDRESS`. */
export function envVarName(flag: string): string {
  return `JVB_ADAPTER_${flag.replace(/[.-]/g, '_').toUpperCase()}`;
}

export const ENV_PREFIX = 'JVB_ADAPTER_';

/** Every environment variable name of a setting, canonical first. */
export function envNames(scope: Scope, key: string): string[] {
  return [envVarName(flagName(scope, key)), ...(scope.settings[key]!.envAliases ?? [])];
}
