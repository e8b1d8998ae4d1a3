import { createHttpTransport } from '../http/http-transport';
import type { Logger } from '../log/logger';
import { redactUrl } from '../log/redact-url';
import { USER_AGENT } from '../version';
import { AutoSource } from './auto-source';
import { COLIBRI_MAX_BODY_BYTES, createColibriReader } from './colibri/colibri-reader';
import { EndpointSource } from './endpoint-source';
import { DeadlineSource } from './deadline-source';
import { ENDPOINT_PATHS } from './endpoint-urls';
import { createNativeReader } from './native/native-reader';
import type { Source } from './source';
import type { SourceOptions } from './source-options';

/** The source of one bridge, asking its endpoints (resolved and checked by the configuration). */
export function createSource(settings: SourceOptions, log: Logger): Source {
  const candidates = settings.endpoints.map(({ kind, url }) => {
    // The deadline below ends the poll; the transport's own timeout only backs it up.
    const transport = createHttpTransport({ ...settings.connection, url, timeoutMs: settings.timeoutMs + 1000 }, USER_AGENT);
    const source =
      kind === 'native'
        ? new EndpointSource({ url, transport, maxBodyBytes: settings.maxBodyBytes }, createNativeReader(), settings.maxSeries)
        : new EndpointSource({ url, transport, maxBodyBytes: Math.min(settings.maxBodyBytes, COLIBRI_MAX_BODY_BYTES) }, createColibriReader(), settings.maxSeries);
    return { endpoint: ENDPOINT_PATHS[kind], source };
  });
  const inner = candidates.length === 1 ? candidates[0]!.source : new AutoSource(candidates, log);
  return new DeadlineSource(inner, settings.timeoutMs, redactUrl(settings.url));
}
