import { isUserLabelName } from '../registry/label-name';
import { redactUrl } from '../log/redact-url';
import type { SourceSettings } from '../sources/create-source';
import { resolveEndpoints } from '../sources/endpoint-urls';
import type { KeyLocator } from './config-file';
import { ConfigError, invalidSetting } from './config-error';
import { defaultBridgeName, isLocalHost } from './destination-settings';
import { formatDuration } from './duration';
import { DestinationReader, fromFileList, fromFlagsAndEnv, httpOptions, positiveInt, type FlagValues, type RawDestination } from './load-destinations';
import * as parsers from './value-parsers';

/** One bridge to poll, as the scheduler, the source and the registry need it. */
export interface BridgeSettings extends SourceSettings {
  /** The instance label of its series on the push paths (and on /metrics with several bridges). */
  readonly name: string;
  readonly job: string;
  /** Labels of this bridge's series only. */
  readonly labels: Readonly<Record<string, string>>;
  readonly intervalMs: number;
}

/** As Prometheus' scrape_timeout: 5s unless the interval is shorter. */
export const DEFAULT_POLL_TIMEOUT_MS = 5000;

export interface BridgeFileSettings {
  readonly path: string;
  /** The file's `bridges:` list. */
  readonly list: unknown;
  /** The file's `jvb:` section: settings every bridge inherits. */
  readonly defaults: unknown;
  /** Where a key of the file is, for messages. */
  readonly locate?: KeyLocator;
}

/** Settings a bridge of the `bridges:` list never inherits from the shared ones. */
const OWN_KEYS = new Set(['url', 'name']);

/**
 * The bridges: one per `--jvb.url` (flag > environment > the file's `jvb:`
 * section), plus one per entry of the file's `bridges:` list; with none of
 * them, the default http://localhost:8080. Shared settings (flags,
 * environment, `jvb:`) apply to every bridge that does not set its own.
 */
export function loadBridges(
  flags: FlagValues,
  env: Readonly<Record<string, string | undefined>>,
  file: BridgeFileSettings | undefined,
  pollIntervalMs: number,
): BridgeSettings[] {
  const shared: RawDestination = new Map();
  const locateOption = file?.locate !== undefined ? { locate: file.locate } : {};
  if (file?.defaults !== undefined && file.defaults !== null) {
    for (const [key, value] of fromFileList('jvb', [file.defaults], file.path, { urlRequired: false, at: 'jvb', ...locateOption })[0]!) shared.set(key, value);
  }
  for (const [key, value] of fromFlagsAndEnv('jvb', flags, env) ?? []) shared.set(key, value);

  const raws: RawDestination[] = [];
  const urls = shared.get('url');
  if (urls !== undefined) {
    if (urls.values.length > 1 && shared.has('name')) {
      throw new ConfigError(`${shared.get('name')!.origin} names one bridge, but ${urls.origin} gives ${urls.values.length} URLs: name each bridge in the config file's bridges: list`);
    }
    for (const url of urls.values) raws.push(new Map([...shared, ['url', { values: [url], origin: urls.origin }]]));
  }
  if (file?.list !== undefined && file.list !== null) {
    for (const own of fromFileList('jvb', file.list, file.path, locateOption)) {
      const merged: RawDestination = new Map([...shared].filter(([key]) => !OWN_KEYS.has(key)));
      for (const [key, value] of own) merged.set(key, value);
      raws.push(merged);
    }
  }
  if (raws.length === 0) raws.push(new Map(shared)); // the default URL

  const readers = raws.map((raw) => new DestinationReader('jvb', raw));
  const localCount = readers.filter((reader) => isLocalHost(new URL(reader.get('url', parsers.httpUrl)!).hostname)).length;
  const bridges = readers.map((reader) => bridgeSettings(reader, pollIntervalMs, localCount > 1));

  const names = new Set<string>();
  for (const { name } of bridges) {
    if (names.has(name)) throw new ConfigError(`two bridges are named ${JSON.stringify(name)}: give each its own name (--jvb.name, or name: in the bridges: list)`);
    names.add(name);
  }
  return bridges;
}

function bridgeSettings(reader: DestinationReader, pollIntervalMs: number, severalLocal: boolean): BridgeSettings {
  const url = reader.get('url', parsers.httpUrl)!;
  const source = reader.get('source', parsers.oneOf('auto', 'native', 'colibri'))!;
  const resolved = resolveEndpoints(url, source);
  if (!resolved.ok) throw new ConfigError(`--jvb.url ${JSON.stringify(redactUrl(url))} (${reader.origin('url')}) and --jvb.source (${reader.origin('source')}): ${resolved.message}`);

  const intervalMs = reader.get('interval', parsers.pollInterval) ?? pollIntervalMs;
  const explicitTimeout = reader.get('timeout', parsers.durationMs);
  if (explicitTimeout !== undefined && explicitTimeout > intervalMs) {
    // As Prometheus refuses scrape_timeout > scrape_interval: polls would pile up.
    throw new ConfigError(
      `--jvb.timeout (${formatDuration(explicitTimeout)}, ${reader.origin('timeout')}) must not be longer than the poll interval (${formatDuration(intervalMs)})`,
    );
  }
  const timeoutMs = explicitTimeout ?? Math.min(DEFAULT_POLL_TIMEOUT_MS, intervalMs);

  const labels: Record<string, string> = {};
  for (const [name, value] of reader.pairs('label', 'a label')) {
    if (!isUserLabelName(name) || name === 'job' || name === 'instance') {
      throw invalidSetting('--jvb.label', reader.origin('label'), `${name}=${value}`, 'NAME=VALUE with a valid label name other than job and instance (set those with job and name)');
    }
    labels[name] = value;
  }
  return {
    name: reader.get('name', parsers.nonEmptyString) ?? defaultBridgeName(url, severalLocal),
    job: reader.get('job', parsers.nonEmptyString)!,
    labels,
    intervalMs,
    source,
    url,
    http: { ...httpOptions('jvb', reader, []), url, timeoutMs },
    timeoutMs,
    maxBodyBytes: reader.get('max-body-size', parsers.byteSize)!,
    maxSeries: reader.get('max-series', positiveInt)!,
  };
}
