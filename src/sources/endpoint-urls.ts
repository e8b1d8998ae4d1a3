/**
 * Which endpoints of a bridge a `--jvb.url` and `--jvb.source` mean. A full
 * URL of either endpoint (the seed's JVB_STATS_URL included) keeps meaning
 * that endpoint; a base URL (`http://localhost:8080`, or a reverse proxy's
 * prefix `https://proxy/jvb1`) gets the endpoint paths appended.
 */

export type SourceKind = 'auto' | 'native' | 'colibri';
export type EndpointKind = 'native' | 'colibri';

export const ENDPOINT_PATHS: Readonly<Record<EndpointKind, string>> = { native: '/metrics', colibri: '/colibri/stats' };

export type ResolvedEndpoints =
  | { readonly ok: true; readonly endpoints: ReadonlyArray<{ readonly kind: EndpointKind; readonly url: string }> }
  | { readonly ok: false; readonly message: string };

function endpointOf(url: URL): EndpointKind | undefined {
  const path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith(ENDPOINT_PATHS.colibri)) return 'colibri';
  if (path.endsWith(ENDPOINT_PATHS.native)) return 'native';
  return undefined;
}

function join(base: URL, kind: EndpointKind): string {
  const url = new URL(base.toString());
  url.pathname = url.pathname.replace(/\/+$/, '') + ENDPOINT_PATHS[kind];
  return url.toString();
}

export function resolveEndpoints(rawUrl: string, source: SourceKind): ResolvedEndpoints {
  const url = new URL(rawUrl);
  const named = endpointOf(url);
  if (named !== undefined) {
    if (source !== 'auto' && source !== named) {
      return { ok: false, message: `the URL is the ${ENDPOINT_PATHS[named]} endpoint, but the source is "${source}" (${ENDPOINT_PATHS[source]}): give the base URL or the matching source` };
    }
    return { ok: true, endpoints: [{ kind: named, url: url.toString() }] };
  }
  const kinds: EndpointKind[] = source === 'auto' ? ['native', 'colibri'] : [source];
  return { ok: true, endpoints: kinds.map((kind) => ({ kind, url: join(url, kind) })) };
}
