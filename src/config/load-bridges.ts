import type { BridgeOptions } from '../scheduler/bridge-options';
import { resolveEndpoints } from '../sources/endpoint-urls';
import { formatDuration } from '../log/format-duration';
import { redactUrl } from '../log/redact-url';
import { defaultBridgeName, isLocalHost } from './bridge-names';
import { BRIDGE_SCOPE, BRIDGE_SETTINGS } from './bridge-settings';
import type { ConfigDocument } from './config-file';
import { ConfigError } from './config-error';
import { connectionOptions } from './connection-options';
import { fileLayer, fileListLayers } from './file-layers';
import { envLayer, flagLayer, SettingReader, type Environment, type FlagValues, type Layer, type RawValue } from './setting-reader';

/** As Prometheus' scrape_timeout: 5s unless the interval is shorter. */
export const DEFAULT_POLL_TIMEOUT_MS = 5000;

/** Settings an entry of the `bridges:` list never inherits from the shared ones. */
const OWN_KEYS: ReadonlySet<string> = new Set(['url', 'name']);

type BridgeReader = SettingReader<typeof BRIDGE_SETTINGS>;

/**
 * The bridges: one per `--jvb.url` (flag > environment > the file's `jvb:`
 * section), plus one per entry of the file's `bridges:` list; with none of
 * them, the default http://localhost:8080. The shared settings (flags >
 * environment > `jvb:` section) apply to every bridge that does not set its
 * own: a list entry is its own highest layer.
 */
export function loadBridges(flags: FlagValues, env: Environment, file: ConfigDocument | undefined, pollIntervalMs: number): BridgeOptions[] {
  const section = file?.content['jvb'];
  const shared: Layer[] = [
    flagLayer(BRIDGE_SCOPE, flags),
    envLayer(BRIDGE_SCOPE, env),
    ...(file !== undefined && section !== undefined && section !== null ? [fileLayer(BRIDGE_SCOPE, file, section, { at: 'jvb', path: ['jvb'] })] : []),
  ];
  const sharedReader = new SettingReader(BRIDGE_SCOPE, shared);

  const readers: BridgeReader[] = [];
  const urls = sharedReader.raw('url');
  if (urls !== undefined) {
    if (urls.values.length > 1 && sharedReader.has('name')) {
      throw new ConfigError(`${sharedReader.origin('name')} names one bridge, but ${urls.origin} gives ${urls.values.length} URLs: name each bridge in the config file's bridges: list`);
    }
    for (const url of urls.values) readers.push(new SettingReader(BRIDGE_SCOPE, [new Map<string, RawValue>([['url', { values: [url], origin: urls.origin }]]), ...shared]));
  }
  const list = file?.content['bridges'];
  if (file !== undefined && list !== undefined && list !== null) {
    const inherited = shared.map((layer) => new Map([...layer].filter(([key]) => !OWN_KEYS.has(key))));
    for (const own of fileListLayers(BRIDGE_SCOPE, file, list)) {
      readers.push(new SettingReader(BRIDGE_SCOPE, [own, ...inherited]));
    }
  }
  if (readers.length === 0) readers.push(sharedReader); // the default URL

  const localCount = readers.filter((reader) => isLocalHost(new URL(reader.list('url')[0]!).hostname)).length;
  const bridges = readers.map((reader) => bridgeOptions(reader, pollIntervalMs, localCount > 1));
  const names = new Set<string>();
  for (const { name } of bridges) {
    if (names.has(name)) throw new ConfigError(`two bridges are named ${JSON.stringify(name)}: give each its own name (--jvb.name, or name: in the bridges: list)`);
    names.add(name);
  }
  return bridges;
}

function bridgeOptions(reader: BridgeReader, pollIntervalMs: number, severalLocal: boolean): BridgeOptions {
  const url = reader.list('url')[0]!;
  const source = reader.require('source');
  const resolved = resolveEndpoints(url, source);
  if (!resolved.ok) throw new ConfigError(`--jvb.url ${JSON.stringify(redactUrl(url))} (${reader.origin('url')}) and --jvb.source (${reader.origin('source')}): ${resolved.message}`);

  const intervalMs = reader.get('interval') ?? pollIntervalMs;
  const explicitTimeout = reader.get('timeout');
  if (explicitTimeout !== undefined && explicitTimeout > intervalMs) {
    // As Prometheus refuses scrape_timeout > scrape_interval: polls would pile up.
    throw new ConfigError(`--jvb.timeout (${formatDuration(explicitTimeout)}, ${reader.origin('timeout')}) must not be longer than the poll interval (${formatDuration(intervalMs)})`);
  }
  return {
    name: reader.get('name') ?? defaultBridgeName(url, severalLocal),
    job: reader.require('job'),
    labels: Object.fromEntries(reader.list('label')),
    intervalMs,
    url,
    source,
    endpoints: resolved.endpoints,
    connection: connectionOptions(reader),
    timeoutMs: explicitTimeout ?? Math.min(DEFAULT_POLL_TIMEOUT_MS, intervalMs),
    maxBodyBytes: reader.require('max-body-size'),
    maxSeries: reader.require('max-series'),
  };
}
