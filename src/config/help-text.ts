import { SCOPES } from './scopes';
import { envNames, flagName, type Scope, type SettingSpec } from './setting-spec';

/** How a setting is written on the command line, or where it goes when it is no flag. */
export function flagUsage(scope: Scope, key: string, spec: SettingSpec): string {
  const flag = flagName(scope, key);
  if (spec.reach === 'no-flag') return `(environment only) ${envNames(scope, key)[0]}`;
  if (spec.kind === 'switch') return `--${flag}`;
  // A repeated URL is one bridge each, not a NAME=VALUE pair.
  return `--${flag}=${spec.kind === 'list' && key !== 'url' ? 'NAME=VALUE' : 'VALUE'}`;
}

export function helpText(command: string, version: string): string {
  const lines = [
    `usage: ${command} [flags]`,
    '',
    `${command} ${version}: polls Jitsi Videobridges (their /metrics or /colibri/stats), serves their metrics as Prometheus metrics and pushes them.`,
    'Every flag is also an environment variable (shown below) and a key of the --config.file YAML.',
    'Precedence: flag > environment > config file > default.',
    '',
    'Flags:',
    '  -h, --help             Show this help and exit.',
    '  --version              Print the version and exit.',
  ];
  for (const scope of SCOPES) {
    if (scope.prefix !== '') lines.push('', scope.title);
    for (const [key, spec] of Object.entries(scope.settings)) {
      lines.push(`  ${flagUsage(scope, key, spec)}`, `      ${spec.help}`);
      if (spec.reach !== 'no-flag') lines.push(`      env: ${envNames(scope, key).join(', ')}${spec.default !== undefined ? `; default: ${spec.default}` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
