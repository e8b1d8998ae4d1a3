import { closestName } from './closest-name';
import { ConfigError } from './config-error';
import { describeFileKey, isMapping, SHOWABLE_KEY, type ConfigDocument } from './config-file';
import type { Layer, RawValue } from './setting-reader';
import type { Scope, SettingSpec } from './setting-spec';

/** Where a mapping of settings sits in the file: `''` for the top level, `jvb`, `bridges[1]`, `remote_write[0]`. */
interface Place {
  readonly at: string;
  readonly path: ReadonlyArray<string | number>;
}

/**
 * The one walker of the YAML file: reads a mapping of settings of `scope`,
 * nested (`tls: {ca-file: ...}`) or dotted (`tls.ca-file: ...`), into a layer.
 * Unknown keys are refused with the closest known name, as Prometheus refuses
 * them: a typo never silently falls back to a default. `skip`: keys of the
 * same mapping that belong to other scopes.
 */
export function fileLayer(scope: Scope, file: ConfigDocument, node: unknown, place: Place, skip: ReadonlySet<string> = new Set()): Map<string, RawValue> {
  const where = `--config.file ${JSON.stringify(file.path)}`;
  if (!isMapping(node)) throw new ConfigError(`${where}: ${place.at} must be a mapping of settings`);
  const byFileKey = new Map<string, [string, SettingSpec]>();
  for (const [key, spec] of Object.entries(scope.settings)) {
    if (spec.reach === 'no-file') continue;
    byFileKey.set(key, [key, spec]);
    if (spec.fileKey !== undefined) byFileKey.set(spec.fileKey, [key, spec]);
  }
  const layer = new Map<string, RawValue>();
  const shownAt = place.at === '' ? '' : `${place.at}.`;
  const origin = (key: string): string => (place.at === '' ? file.path : `${file.path} ${place.at}.${key}`);

  const visit = (prefix: string, mapping: Record<string, unknown>, path: ReadonlyArray<string | number>): void => {
    for (const [name, value] of Object.entries(mapping)) {
      const fileKey = prefix + name;
      if (prefix === '' && skip.has(fileKey)) continue;
      const found = byFileKey.get(fileKey);
      if (found !== undefined) {
        const [key, spec] = found;
        layer.set(key, { values: fileValues(spec, value, () => `${where}: ${describeFileKey(shownAt, fileKey, file.locate([...path, name]))}`), origin: origin(key) });
      } else if (isMapping(value) && [...byFileKey.keys()].some((known) => known.startsWith(`${fileKey}.`))) {
        visit(`${fileKey}.`, value, [...path, name]);
      } else {
        const shown = describeFileKey(`${shownAt}${prefix}`, name, file.locate([...path, name]));
        const candidates = [...byFileKey.entries()].filter(([, [, spec]]) => spec.reach !== 'no-flag').map(([known]) => known);
        const guess = SHOWABLE_KEY.test(fileKey) ? closestName(fileKey, prefix === '' ? [...candidates, ...skip] : candidates) : undefined;
        throw new ConfigError(`${where}: unknown setting ${shown}${guess !== undefined ? `; did you mean "${shownAt}${guess}"?` : ''}`);
      }
    }
  };
  visit('', node, place.path);
  return layer;
}

/** A setting's value(s) as text: a list takes a YAML list, a NAME: VALUE mapping or one scalar; the others one scalar. */
function fileValues(spec: SettingSpec, value: unknown, describe: () => string): string[] {
  if (spec.kind === 'list') {
    if (isMapping(value)) {
      return Object.entries(value).map(([name, entry]) => {
        if (!isScalar(entry)) throw new ConfigError(`${describe()}: ${JSON.stringify(name)} must have a scalar value`);
        return `${name}=${String(entry)}`;
      });
    }
    const items = Array.isArray(value) ? value : [value];
    if (!items.every(isScalar)) throw new ConfigError(`${describe()} must be a list of scalars`);
    return items.map(String);
  }
  if (!isScalar(value)) throw new ConfigError(`${describe()} must be a scalar (string, number or boolean)`);
  return [String(value)];
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * The entries of a list of the file (`remote_write:`, `bridges:`), each a
 * layer; a single mapping counts as a list of one.
 */
export function fileListLayers(scope: Scope, file: ConfigDocument, list: unknown): Layer[] {
  const key = scope.file.list!;
  const items = Array.isArray(list) ? list : [list];
  return items.map((item, index) => {
    const at = `${key}[${index}]`;
    const layer = fileLayer(scope, file, item, { at, path: Array.isArray(list) ? [key, index] : [key] });
    // Every entry of a list is one server: without its URL it is nothing.
    if (!layer.has('url')) throw new ConfigError(`--config.file ${JSON.stringify(file.path)}: ${at} has no url`);
    return layer;
  });
}
