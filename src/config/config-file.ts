import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error';
import { DESTINATION_KINDS, type DestinationKind } from './destination-settings';
import { findSetting } from './settings';

/**
 * The YAML file's settings, flattened to flag names: `{poll: {interval: 15s}}`
 * becomes `poll.interval = "15s"`; `labels` is a map of constant labels.
 * Unknown keys are refused, as Prometheus refuses them, so a typo never
 * silently falls back to a default.
 */
export interface FileSettings {
  readonly path: string;
  readonly values: ReadonlyMap<string, string>;
  readonly labels: ReadonlyArray<readonly [string, string]>;
  /** The `bridges:`, `remote_write:` and `pushgateway:` lists, read by load-bridges.ts and load-destinations.ts. */
  readonly lists: Partial<Record<DestinationKind, unknown>>;
  /** The `jvb:` section: settings every bridge inherits, read by load-bridges.ts. */
  readonly bridgeDefaults: unknown;
}

type Yaml = unknown;

function isMapping(value: Yaml): value is Record<string, Yaml> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalarText(value: Yaml): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function readConfigFile(path: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): FileSettings {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read --config.file ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
  let doc: Yaml;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`--config.file ${JSON.stringify(path)} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return flattenConfigDocument(path, doc ?? {});
}

export function flattenConfigDocument(path: string, doc: Yaml): FileSettings {
  const where = `--config.file ${JSON.stringify(path)}`;
  if (!isMapping(doc)) throw new ConfigError(`${where}: expected a mapping of settings at the top level`);
  const values = new Map<string, string>();
  const labels: Array<readonly [string, string]> = [];
  const lists: Partial<Record<DestinationKind, unknown>> = {};
  let bridgeDefaults: unknown;

  for (const [section, body] of Object.entries(doc)) {
    const kind = (Object.keys(DESTINATION_KINDS) as DestinationKind[]).find((k) => DESTINATION_KINDS[k].fileKey === section);
    if (kind !== undefined) {
      lists[kind] = body;
      continue;
    }
    if (section === 'jvb') {
      if (!isMapping(body)) throw new ConfigError(`${where}: "jvb" must be a mapping of bridge settings (url, timeout, source, ...)`);
      bridgeDefaults = body;
      continue;
    }
    if (section === 'labels') {
      if (!isMapping(body)) throw new ConfigError(`${where}: "labels" must be a mapping of NAME: VALUE`);
      for (const [name, value] of Object.entries(body)) {
        const text = scalarText(value);
        if (text === undefined) throw new ConfigError(`${where}: label ${JSON.stringify(name)} must have a scalar value`);
        labels.push([name, text]);
      }
      continue;
    }
    const entries: Array<[string, Yaml]> = isMapping(body)
      ? Object.entries(body).map(([key, value]) => [`${section}.${key}`, value])
      : [[section, body]];
    for (const [flag, value] of entries) {
      const spec = findSetting(flag);
      if (spec === undefined || spec.flagAndEnvOnly === true || spec.repeatable === true) {
        throw new ConfigError(`${where}: unknown setting ${JSON.stringify(flag)}`);
      }
      const text = scalarText(value);
      if (text === undefined) throw new ConfigError(`${where}: setting ${JSON.stringify(flag)} must be a scalar (string, number or boolean)`);
      values.set(flag, text);
    }
  }
  return { path, values, labels, lists, bridgeDefaults };
}
