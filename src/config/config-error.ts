/**
 * A setting with a value the agent cannot run with. The message always names
 * the setting, the value and what is allowed; the CLI prints it and exits 2.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Uniform wording: `invalid value "x" for --poll.interval (from JVB_ADAPTER_POLL_INTERVAL): a duration such as 15s`. */
export function invalidSetting(setting: string, origin: string, value: string, allowed: string): ConfigError {
  return new ConfigError(`invalid value ${JSON.stringify(value)} for ${setting}${origin ? ` (from ${origin})` : ''}: expected ${allowed}`);
}
