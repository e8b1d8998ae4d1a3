import { PUSH_CONNECTION_SETTINGS, PUSH_TARGET_SETTINGS } from './connection-settings';
import type { Scope, SettingSpec } from './setting-spec';
import * as parsers from './value-parsers';
import { AUTH_ERROR_ACTIONS, PROTOBUF_MESSAGES } from '../sinks/remote-write/remote-write-options';

export const REMOTE_WRITE_SETTINGS = {
  ...PUSH_TARGET_SETTINGS,
  ...PUSH_CONNECTION_SETTINGS,
  name: { kind: 'value', parse: parsers.nonEmptyString, help: 'Name of the destination in logs and in the remote_name label (default: its host).' },
  job: { kind: 'value', parse: parsers.nonEmptyString, help: "The job label of every pushed series, for a single bridge (default: the bridge's job, jvb)." },
  instance: { kind: 'value', parse: parsers.nonEmptyString, help: "The instance label of every pushed series, for a single bridge (default: the bridge's name)." },
  'tenant-id': { kind: 'value', parse: parsers.tenantId, help: 'Tenant to write as, sent in --remote-write.tenant-header.' },
  'tenant-header': { kind: 'value', parse: parsers.headerName, default: 'X-Scope-OrgID', help: 'Header carrying the tenant: X-Scope-OrgID (Mimir, Cortex) or THANOS-TENANT (Thanos Receive).' },
  'max-samples-per-request': { kind: 'value', parse: parsers.positiveInt, default: '2000', help: 'Requests are split above this many samples.' },
  'retry-on-429': { kind: 'value', parse: parsers.bool, default: 'true', help: 'Retry requests answered 429 Too Many Requests (as Grafana Alloy does).' },
  'min-backoff': { kind: 'value', parse: parsers.durationMs, default: '250ms', help: 'First wait before a retry; doubles up to --remote-write.max-backoff.' },
  'max-backoff': { kind: 'value', parse: parsers.durationMs, default: '30s', help: 'Longest wait between retries.' },
  'on-auth-error': {
    kind: 'value',
    parse: parsers.oneOfNames(...AUTH_ERROR_ACTIONS),
    default: 'hold',
    help:
      'What a 401 or 403 does: hold (stop sending and keep the queue, within --storage.max-bytes and --storage.max-age; the request is tried again when a credentials file changes, on SIGHUP, and every 1 to 10 minutes) ' +
      'or drop (drop the refused request and go on, as Prometheus does).',
  },
  'protobuf-message': {
    kind: 'value',
    parse: parsers.oneOfNames(...PROTOBUF_MESSAGES),
    default: 'prometheus.WriteRequest',
    fileKey: 'protobuf_message',
    help:
      'The message to write: prometheus.WriteRequest (remote-write 1.0) or io.prometheus.write.v2.Request (2.0: Prometheus 3). ' +
      'A receiver that does not read 2.0 (a 2xx without X-Prometheus-Remote-Write-Samples-Written, or 415) gets the same data again as 1.0, and the destination stays on 1.0 until a restart.',
  },
} satisfies Record<string, SettingSpec>;

export const REMOTE_WRITE_SCOPE: Scope<typeof REMOTE_WRITE_SETTINGS> = {
  prefix: 'remote-write',
  title: "remote-write destination (one from flags/environment; any number in the config file's remote_write: list):",
  settings: REMOTE_WRITE_SETTINGS,
  file: { list: 'remote_write' },
};
