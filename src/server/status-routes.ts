import type http from 'node:http';
import type { Logger } from '../log/logger';
import { renderStatusPage } from '../status/status-page';
import type { StatusSnapshot } from '../status/status-model';

/** The paths of the status page and of the same data as JSON. */
export const STATUS_PAGE_PATH = '/';
export const STATUS_API_PATH = '/api/v1/status';

/** Bounds of ?refresh=N on the status page, in seconds. */
const MIN_REFRESH_SECONDS = 1;
const MAX_REFRESH_SECONDS = 3600;

/** Pages besides /metrics and the health paths; answers a request and returns true, or returns false for a path it does not serve. */
export type PageRoutes = (url: string, res: http.ServerResponse, head: boolean) => boolean;

/** `?refresh=N` (whole seconds, 1 to 3600): the page reloads itself every N seconds; anything else: no refresh. */
export function refreshSeconds(query: URLSearchParams): number | undefined {
  const raw = query.get('refresh');
  if (raw === null || !/^\d{1,4}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= MIN_REFRESH_SECONDS && n <= MAX_REFRESH_SECONDS ? n : undefined;
}

/** The body of /api/v1/status: the snapshot, wrapped as Prometheus' HTTP API wraps its answers. */
export function statusJson(snapshot: StatusSnapshot): string {
  return `${JSON.stringify({ status: 'success', data: snapshot })}\n`;
}

/**
 * `/` (the status page, HTML without script) and `/api/v1/status` (the same
 * snapshot as JSON), each taken afresh per request.
 */
export function statusRoutes(snapshot: () => Promise<StatusSnapshot>, log: Logger): PageRoutes {
  return (url, res, head) => {
    const parsed = new URL(url, 'http://agent');
    const path = parsed.pathname;
    if (path !== STATUS_PAGE_PATH && path !== STATUS_API_PATH) return false;
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(head ? undefined : body);
    };
    snapshot()
      .then((s) => {
        if (path === STATUS_API_PATH) send(200, 'application/json; charset=utf-8', statusJson(s));
        else send(200, 'text/html; charset=utf-8', renderStatusPage(s, { refreshSeconds: refreshSeconds(parsed.searchParams) }));
      })
      .catch((error: unknown) => {
        log.error('rendering the status page failed', { err: error instanceof Error ? error.message : String(error) });
        send(500, 'text/plain; charset=utf-8', 'error rendering the status\n');
      });
    return true;
  };
}
