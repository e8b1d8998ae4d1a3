import { DESTINATION_KINDS } from './destination-settings';
import { envVarName, SETTINGS, type SettingSpec } from './settings';

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
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const flag = spec.isSwitch ? `--${spec.flag}` : `--${spec.flag}=${spec.repeatable ? 'NAME=VALUE' : 'VALUE'}`;
    lines.push(`  ${flag}`);
    lines.push(`      ${spec.help}`);
    const env = [envVarName(spec.flag), ...(spec.envAliases ?? [])].join(', ');
    lines.push(`      env: ${env}${spec.default !== undefined ? `; default: ${spec.default}` : ''}`);
  }
  for (const [kind, { fileKey, keys }] of Object.entries(DESTINATION_KINDS)) {
    lines.push(
      '',
      kind === 'jvb'
        ? `Bridges to poll (one per --jvb.url; any number in the config file's ${fileKey}: list, which inherits the --jvb.* settings and the file's jvb: section):`
        : `${kind} destination (one from flags/environment; any number in the config file's ${fileKey}: list):`,
    );
    for (const spec of keys) {
      const flag = `${kind}.${spec.key}`;
      lines.push(spec.envOnly ? `  (environment only) ${envVarName(flag)}` : `  --${flag}${spec.isSwitch ? '' : spec.repeatable && spec.key !== 'url' ? '=NAME=VALUE' : '=VALUE'}`);
      lines.push(`      ${spec.help}`);
      const env = [envVarName(flag), ...(spec.envAliases ?? [])].join(', ');
      if (!spec.envOnly) lines.push(`      env: ${env}${spec.default !== undefined ? `; default: ${spec.default}` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
