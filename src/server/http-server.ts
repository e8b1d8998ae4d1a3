import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger';
import { formatListenAddress, type ListenAddress } from './listen-address';
import type { PageRoutes } from './status-routes';

export interface MetricsServerOptions {
  readonly listenAddress: ListenAddress;
  readonly telemetryPath: string;
  /** The exposition to serve, rendered per scrape. */
  readonly render: () => Promise<string>;
  readonly contentType: string;
  /** Ready once the first poll succeeded. */
  readonly isReady: () => boolean;
  /** Most open connections; more are refused at once (a flood must not starve polls and health checks). */
  readonly maxConnections: number;
  /** Most metrics requests in flight; more get 503 at once, as promhttp's MaxRequestsInFlight does. */
  readonly maxRequestsInFlight: number;
  readonly version: string;
  /** The status page (`/`) and `/api/v1/status` (status-routes.ts). */
  readonly pages?: PageRoutes;
  readonly log: Logger;
}

export interface MetricsServer {
  /** The bound address (the port chosen, for port 0). */
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** /metrics, /-/healthy, /-/ready and the status page, as Prometheus exporters serve them. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const send = (res: http.ServerResponse, status: number, type: string, body: string, head: boolean) => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(head ? undefined : body);
  };

  let inFlight = 0;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n', false);
      return;
    }
    switch (path) {
      case opts.telemetryPath:
        if (inFlight >= opts.maxRequestsInFlight) {
          send(res, 503, 'text/plain; charset=utf-8', `Too many concurrent scrapes (--web.max-requests=${opts.maxRequestsInFlight}).\n`, head);
          return;
        }
        inFlight++;
        opts
          .render()
          .then((body) => send(res, 200, opts.contentType, body, head))
          .catch((error: unknown) => {
            opts.log.error('rendering metrics failed', { err: error instanceof Error ? error.message : String(error) });
            send(res, 500, 'text/plain; charset=utf-8', 'error rendering metrics\n', head);
          })
          .finally(() => inFlight--);
        return;
      case '/-/healthy':
        send(res, 200, 'text/plain; charset=utf-8', 'Healthy.\n', head);
        return;
      case '/-/ready':
        if (opts.isReady()) send(res, 200, 'text/plain; charset=utf-8', 'Ready.\n', head);
        else send(res, 503, 'text/plain; charset=utf-8', 'Not ready: no successful poll of the JVB yet.\n', head);
        return;
      default:
        if (opts.pages?.(req.url ?? '/', res, head)) return;
        send(res, 404, 'text/plain; charset=utf-8', 'Not Found\n', head);
    }
  });
  // Slow or idle clients must not hold the process open at shutdown, nor a connection slot for long.
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxConnections = opts.maxConnections;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, opts.listenAddress));
    server.once('error', onError);
    server.listen({ port: opts.listenAddress.port, host: opts.listenAddress.host }, () => {
      server.off('error', onError);
      resolve();
    });
  });

  return {
    address: server.address() as AddressInfo,
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
