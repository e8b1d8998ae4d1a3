import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger';
import { formatListenAddress, type ListenAddress } from './listen-address';
import type { PageRoutes } from './status-routes';
import { guardConnections } from './connection-guard';
import type { SlotCounts } from './connection-slots';

/** A new connection's time to send its request head, and a written answer's to be taken, before a newcomer at the cap may push it out. */
const SLOT_GRACE_MS = 1000;
/** A request head must be complete this long after the connection opened (kept alive: after its first byte); a slower one is answered 408 and closed. */
const HEADERS_TIMEOUT_MS = 5000;
/** How often Node looks for requests over their time (its default, 30 s, let a slow head hold its slot for 40 s). */
const TIMEOUT_CHECK_MS = 1000;
/** A connection kept alive with no request for this long is closed. */
const KEEP_ALIVE_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Connections the kernel queues for the server to accept (Node's default), and hands over at once in a burst. */
const LISTEN_BACKLOG = 511;
/**
 * Room over the cap for connections too new to be pushed out: a flood
 * hands over bursts of up to a backlog's worth of new connections, a couple
 * of them before the server has read the first, and a health probe may be
 * in any of them.
 */
const BRAND_NEW_ROOM = 3 * LISTEN_BACKLOG;

export interface MetricsServerOptions {
  readonly listenAddress: ListenAddress;
  readonly telemetryPath: string;
  /** The exposition to serve; asked once for all the scrapes that arrive while it renders. */
  readonly render: () => Promise<string>;
  readonly contentType: string;
  /** Ready once the first poll succeeded. */
  readonly isReady: () => boolean;
  /**
   * Connections held. A new one is never refused at accept while another
   * holds a slot without an answer in progress: it pushes out the one idle
   * the longest, else the oldest still sending its request head or not
   * reading its answer (connection-slots.ts). Only while every one is busy
   * or new are more let in, up to three listen backlogs more (1 533); beyond, refused.
   */
  readonly maxConnections: number;
  /** Most metrics requests waiting for their text; more get 503 at once, as promhttp's MaxRequestsInFlight does. Health, readiness and the status page are not counted. */
  readonly maxRequestsInFlight: number;
  readonly version: string;
  /** The status page (`/`) and `/api/v1/status` (status-routes.ts). */
  readonly pages?: PageRoutes;
  readonly log: Logger;
}

export interface MetricsServer {
  /** The bound address (the port chosen, for port 0). */
  readonly address: AddressInfo;
  /** The connections held now, by state (`head`, `busy`, `draining`, `idle`). */
  connections(): SlotCounts;
  close(): Promise<void>;
}

/** /metrics, /-/healthy, /-/ready and the status page, as Prometheus exporters serve them. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer, head: boolean) => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(head ? undefined : body);
  };
  const metrics = sharedRender(opts.render);

  let inFlight = 0;
  const server = http.createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_MS, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // First, so that it sees every answer from its start.
  const guard = guardConnections(server, { cap: opts.maxConnections, ceiling: opts.maxConnections + BRAND_NEW_ROOM, graceMs: SLOT_GRACE_MS, log: opts.log });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n', false);
      return;
    }
    switch (path) {
      // Health and readiness first, answered at once: they never wait for a render nor count against its limit.
      case '/-/healthy':
        send(res, 200, 'text/plain; charset=utf-8', 'Healthy.\n', head);
        return;
      case '/-/ready':
        if (opts.isReady()) send(res, 200, 'text/plain; charset=utf-8', 'Ready.\n', head);
        else send(res, 503, 'text/plain; charset=utf-8', 'Not ready: no successful poll of the JVB yet.\n', head);
        return;
      case opts.telemetryPath:
        if (inFlight >= opts.maxRequestsInFlight) {
          send(res, 503, 'text/plain; charset=utf-8', `Too many concurrent scrapes (limit ${opts.maxRequestsInFlight}).\n`, head);
          return;
        }
        inFlight++;
        metrics()
          .then((body) => send(res, 200, opts.contentType, body, head))
          .catch((error: unknown) => {
            opts.log.error('rendering metrics failed', { err: error instanceof Error ? error.message : String(error) });
            send(res, 500, 'text/plain; charset=utf-8', 'error rendering metrics\n', head);
          })
          .finally(() => inFlight--);
        return;
      default:
        if (opts.pages?.(req.url ?? '/', res, head)) return;
        send(res, 404, 'text/plain; charset=utf-8', 'Not Found\n', head);
    }
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, opts.listenAddress));
    server.once('error', onError);
    server.listen({ port: opts.listenAddress.port, host: opts.listenAddress.host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      resolve();
    });
  });

  return {
    address: server.address() as AddressInfo,
    connections: () => guard.counts(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still in flight get a moment to finish, then are cut (within the second a stop may add to the flush deadline).
        setTimeout(() => server.closeAllConnections(), 500).unref();
      }),
  };
}

/**
 * A listen address that cannot be used: the caller names the setting and
 * treats it as one the agent cannot run with (exit 2, no restart loop); the
 * usual case is the old Go adapter still holding :9001 during a migration.
 */
export class ListenError extends Error {
  constructor(
    /** The address as the user wrote it. */
    readonly address: string,
    readonly code: string,
    problem: string,
  ) {
    super(problem);
    this.name = 'ListenError';
  }
}

/**
 * `render`, asked once for all the callers that arrive while it runs; its
 * text encoded once for every scrape that gets it (the same text is served
 * until the next poll).
 */
export function sharedRender(render: () => Promise<string>): () => Promise<Buffer> {
  let running: Promise<Buffer> | undefined;
  let lastText: string | undefined;
  let lastBody = Buffer.alloc(0);
  return () =>
    (running ??= render()
      .then((text) => {
        if (text !== lastText) {
          lastBody = Buffer.from(text, 'utf8');
          lastText = text;
        }
        return lastBody;
      })
      .finally(() => {
        running = undefined;
      }));
}

function listenError(error: NodeJS.ErrnoException, address: ListenAddress): Error {
  const where = formatListenAddress(address);
  switch (error.code) {
    case 'EADDRINUSE':
      return new ListenError(where, error.code, 'the port is already in use (is the old jitsi-jvb-prometheus-adapter, or another exporter, still running?); stop it or choose another address');
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ListenError(where, error.code, `no such local address (${error.code}); use an address of this host, or leave the host out to listen on all`);
    case 'EACCES':
      return new ListenError(where, error.code, 'not allowed to listen there (ports below 1024 need privileges)');
    default:
      return error;
  }
}
