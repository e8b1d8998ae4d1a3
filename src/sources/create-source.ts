import type { HttpDestinationOptions } from '../http/http-destination-options';
import { createHttpTransport } from '../http/http-transport';
import type { Logger } from '../log/logger';
import { redactUrl } from '../log/redact-url';
import { USER_AGENT } from '../version';
import { AutoSource } from './auto-source';
import { COLIBRI_MAX_BODY_BYTES, createColibriReader } from './colibri/colibri-reader';
import { EndpointSource } from './endpoint-source';
import { DeadlineSource } from './deadline-source';
import { ENDPOINT_PATHS, resolveEndpoints, type SourceKind } from './endpoint-urls';
import { createNativeReader } from './native/native-reader';
import type { Source } from './source';

export interface SourceSettings {
  readonly source: SourceKind;
  /** Base URL, or the full URL of one endpoint. */
  readonly url: string;
  /** How to reach the bridge (TLS, auth, headers, proxy); its url is replaced by each endpoint's. */
  readonly http: HttpDestinationOptions;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxSeries: number;
}

/** The source of one bridge; settings were checked at start (resolveEndpoints), so this does not fail on them. */
export function createSource(settings: SourceSettings, log: Logger): Source {
  const resolved = resolveEndpoints(settings.url, settings.source);
  if (!resolved.ok) throw new Error(resolved.message);
  const candidates = resolved.endpoints.map(({ kind, url }) => {
    // The deadline below ends the poll; the transport's own timeout only backs it up.
    const transport = createHttpTransport({ ...settings.http, url, timeoutMs: settings.timeoutMs + 1000 }, USER_AGENT, { settingPrefix: '--jvb' });
    const source =
      kind === 'native'
        ? new EndpointSource({ url, transport, maxBodyBytes: settings.maxBodyBytes }, createNativeReader(), settings.maxSeries)
        : new EndpointSource({ url, transport, maxBodyBytes: Math.min(settings.maxBodyBytes, COLIBRI_MAX_BODY_BYTES) }, createColibriReader(), settings.maxSeries);
    return { endpoint: ENDPOINT_PATHS[kind], source };
  });
  const inner = candidates.length === 1 ? candidates[0]!.source : new AutoSource(candidates, log);
  return new DeadlineSource(inner, settings.timeoutMs, redactUrl(settings.url));
}
