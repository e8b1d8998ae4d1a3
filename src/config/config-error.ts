import { redactUrl, redactUrlsInText } from '../log/redact-url';

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

/**
 * Uniform wording: `--poll.interval (from JVB_ADAPTER_POLL_INTERVAL): invalid value "x", expected a positive duration ...`.
 * The value of a URL setting is shown without its credentials and query
 * values (a token may sit there); any URL inside another value likewise.
 */
export function invalidSetting(setting: string, origin: string, value: string, allowed: string): ConfigError {
  const from = origin && origin !== setting ? ` (from ${origin})` : '';
  const shown = /(^|[.-])url$/.test(setting) ? redactUrl(value) : redactUrlsInText(value);
  return new ConfigError(`${setting}${from}: invalid value ${JSON.stringify(shown)}, expected ${allowed}`);
}
