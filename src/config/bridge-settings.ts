import { CONNECTION_SETTINGS } from './connection-settings';
import type { Scope, SettingSpec } from './setting-spec';
import * as parsers from './value-parsers';

/**
 * A bridge to poll. `--jvb.url` may be repeated (each URL a bridge, the
 * other settings shared); the file's `bridges:` list gives each its own and
 * inherits the rest from flags, environment and the file's `jvb:` section.
 */
export const BRIDGE_SETTINGS = {
  url: {
    kind: 'list',
    parse: parsers.httpUrl,
    default: 'http://localhost:8080',
    envAliases: ['JVB_STATS_URL'],
    help: "The bridge's base URL (its private HTTP port), or the full URL of /metrics or /colibri/stats; repeatable, one bridge each.",
  },
  source: { kind: 'value', parse: parsers.oneOf('auto', 'native', 'colibri'), default: 'auto', help: 'auto (ask /metrics, then /colibri/stats), native (/metrics) or colibri (/colibri/stats).' },
  name: { kind: 'value', parse: parsers.nonEmptyString, help: "The bridge's instance label (default: the URL's host:port; this host's name for a local bridge)." },
  job: { kind: 'value', parse: parsers.nonEmptyString, default: 'jvb', help: "The bridge's job label (jicofo for a Jicofo's /metrics)." },
  label: { kind: 'list', parse: parsers.ownLabelPair('set those with job and name'), fileKey: 'labels', help: "A label NAME=VALUE for this bridge's series; repeatable (file: labels: {NAME: VALUE})." },
  interval: { kind: 'value', parse: parsers.pollInterval, help: 'How often to poll this bridge (default: --poll.interval).' },
  timeout: {
    kind: 'value',
    parse: parsers.durationMs,
    help:
      'How long a whole poll may take, as a scrape_timeout: the requests, the body, and parsing or mapping it (not storing nor pushing the result); ' +
      'a poll not done by then fails (timeout), a large body being parsed is given up (default: the smaller of 5s and the interval; at most the interval).',
  },
  'max-body-size': { kind: 'value', parse: parsers.byteSize, default: '16MiB', help: 'A body larger than this fails the poll (body_too_large).' },
  'max-series': { kind: 'value', parse: parsers.positiveInt, default: '20000', help: 'A poll yielding more series than this fails whole (too_many_series): one runaway bridge cannot exhaust memory.' },
  ...CONNECTION_SETTINGS,
} satisfies Record<string, SettingSpec>;

export const BRIDGE_SCOPE: Scope<typeof BRIDGE_SETTINGS> = {
  prefix: 'jvb',
  title: "Bridges to poll (one per --jvb.url; any number in the config file's bridges: list, which inherits the --jvb.* settings and the file's jvb: section):",
  settings: BRIDGE_SETTINGS,
  file: { list: 'bridges', section: 'jvb' },
};
