import type { ConnectionOptions } from '../http/http-destination-options';
import type { EndpointKind, SourceKind } from './endpoint-urls';

export interface Endpoint {
  readonly kind: EndpointKind;
  readonly url: string;
}

/** How to poll one bridge: its endpoints, resolved once from its URL and source kind by the configuration. */
export interface SourceOptions {
  /** The URL as configured (base or endpoint), for logs. */
  readonly url: string;
  readonly source: SourceKind;
  /** The endpoints to ask, in order (two for auto with a base URL). */
  readonly endpoints: readonly Endpoint[];
  /** TLS, auth, headers, proxy; the URL is each endpoint's. */
  readonly connection: ConnectionOptions;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxSeries: number;
}
