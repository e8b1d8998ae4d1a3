import { flagUsage } from './help-text';
import { SCOPES } from './scopes';
import { envNames, type Scope, type SettingSpec } from './setting-spec';

/** The YAML place of a setting, for the reference: `poll: {interval: ...}`, `remote_write: [{tls: {ca-file: ...}}]`. */
function fileKey(scope: Scope, key: string, spec: SettingSpec): string {
  if (spec.reach === 'no-file') return '(not in the file)';
  const name = spec.fileKey ?? key;
  if (scope.prefix === '') return `\`${name}\``;
  const places = [scope.file.section, scope.file.list && `${scope.file.list}[]`].filter(Boolean).join(' / ');
  return `\`${name}\` in ${places}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/**
 * docs/configuration.md, made from the settings tables: `npm run docs:config`
 * writes it, and a test fails when the committed file differs.
 */
export function configurationReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/*-settings.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Every setting is a flag, an environment variable and a key of the YAML file given with `--config.file`.',
    'Precedence: flag > environment > config file > default. In the file, an entry of `bridges:` wins over the',
    'shared bridge settings (flags, environment, the `jvb:` section), and does not inherit `url` or `name`.',
    'Durations are Prometheus durations (`500ms`, `15s`, `1m30s`); sizes take `KiB`/`MiB`/`GiB` (powers of 1024) or `KB`/`MB`/`GB`.',
    'A list setting is repeated on the command line, comma-separated in the environment, and a YAML list or `NAME: VALUE` mapping in the file.',
    '',
  ];
  for (const scope of SCOPES) {
    lines.push(`## ${scope.prefix === '' ? 'Agent' : `\`--${scope.prefix}.*\``}`, '', scope.title, '');
    lines.push('| flag | environment | file | default | meaning |', '|---|---|---|---|---|');
    for (const [key, spec] of Object.entries(scope.settings)) {
      const env = envNames(scope, key).map((name) => `\`${name}\``).join(', ');
      const flag = spec.reach === 'no-flag' ? '(no flag: a secret would show in `ps`)' : `\`${flagUsage(scope, key, spec)}\``;
      lines.push(`| ${flag} | ${env} | ${fileKey(scope, key, spec)} | ${spec.default !== undefined ? `\`${spec.default}\`` : ''} | ${cell(spec.help)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
