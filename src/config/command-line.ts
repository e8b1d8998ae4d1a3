import { parseArgs } from 'node:util';
import { redactUrlsInText } from '../log/redact-url';
import { closestName } from './closest-name';
import { ConfigError } from './config-error';
import { allSettings } from './scopes';
import type { Environment, FlagValues } from './setting-reader';
import { ENV_PREFIX } from './setting-spec';

type FlagOptions = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

function flagOptions(): FlagOptions {
  const options: FlagOptions = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } };
  for (const { flag, spec } of allSettings()) {
    if (spec.reach === 'no-flag') continue;
    options[flag] = { type: spec.kind === 'switch' ? 'boolean' : 'string', ...(spec.kind === 'list' ? { multiple: true } : {}) };
  }
  return options;
}

/** The flags given; an unknown one is refused with the closest known name. */
export function parseFlags(argv: readonly string[]): FlagValues {
  const options = flagOptions();
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    const unknown = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(--?[^'=]+)/.exec(message)?.[1] : undefined;
    if (unknown !== undefined && unknown.startsWith('--')) {
      const name = unknown.slice(2);
      const secret = allSettings().find((entry) => entry.flag === name && entry.spec.reach === 'no-flag');
      if (secret !== undefined) {
        throw new ConfigError(`--${name} is no flag (a secret on the command line shows in ps): set ${secret.env[0]} in the environment, or use --${name}-file`);
      }
      const guess = closestName(name, Object.keys(options));
      throw new ConfigError(`unknown flag ${unknown}${guess !== undefined ? `; did you mean --${guess}?` : ''} (see --help)`);
    }
    // Node's messages name the flag ("Option '--jvb.url <value>' argument missing"); keep them, drop its hints.
    throw new ConfigError(`${redactUrlsInText(message.split('. To specify')[0]!)} (see --help)`);
  }
}

/** Every environment variable the agent reads: one per setting, and the older aliases. */
export function knownEnvVarNames(): string[] {
  return allSettings().flatMap((entry) => entry.env);
}

/** Mistakes in the environment that do not stop the agent: unknown JVB_ADAPTER_* variables (with the closest name), aliases overridden. */
export function environmentWarnings(env: Environment): string[] {
  const known = knownEnvVarNames();
  const knownSet = new Set(known);
  const suffixes = known.filter((name) => name.startsWith(ENV_PREFIX)).map((name) => name.slice(ENV_PREFIX.length));
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || knownSet.has(name) || env[name] === undefined) continue;
    const guess = closestName(name.slice(ENV_PREFIX.length), suffixes);
    warnings.push(`unknown environment variable ${name} is ignored${guess !== undefined ? `; did you mean ${ENV_PREFIX}${guess}?` : ' (see --help for the known ones)'}`);
  }
  for (const { env: [canonical, ...aliases] } of allSettings()) {
    if (!env[canonical!]) continue;
    for (const alias of aliases) if (env[alias]) warnings.push(`${alias} is ignored: ${canonical} is set too, and wins`);
  }
  return warnings;
}

/** Query parameters whose name says they hold a secret (api_key, token, X-Amz-Signature, ...). */
const SECRET_PARAMETER = /token|key|pass|secret|auth|sig/i;

/**
 * Warnings for URLs given as flags that carry credentials (user:password@ or
 * a secret-looking query parameter): a flag shows in `ps` to every user of
 * the host, as `--remote-write.password` would, which is refused for that
 * reason. The same URL from the environment or the file is not visible there.
 */
export function credentialFlagWarnings(flags: FlagValues): string[] {
  const warnings: string[] = [];
  for (const { flag, env, scope } of allSettings()) {
    if (!flag.endsWith('.url')) continue;
    const given = flags[flag];
    for (const value of Array.isArray(given) ? given : given === undefined ? [] : [given]) {
      let url: URL;
      try {
        url = new URL(String(value));
      } catch {
        continue; // the setting's own parser refuses it, with its message
      }
      const what = [
        ...(url.username !== '' || url.password !== '' ? ['user:password@'] : []),
        ...[...url.searchParams.keys()].filter((name) => SECRET_PARAMETER.test(name)).map((name) => `the query parameter ${JSON.stringify(name)}`),
      ];
      if (what.length === 0) continue;
      const files = scope.prefix === '' ? '' : ` or --${scope.prefix}.password-file / --${scope.prefix}.bearer-token-file`;
      warnings.push(`--${flag} carries credentials (${what.join(', ')}) on the command line, where every user of this host sees them (ps): set ${env[0]} in the environment instead${files}`);
    }
  }
  return warnings;
}
