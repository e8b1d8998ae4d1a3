import http from 'node:http';
import { closeServer, listenOnLoopback } from './close-server';

/** What the proxy does with the next request. */
export type FaultMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'answer'; readonly status: number; readonly headers?: Record<string, string>; readonly body?: string };

/**
 * An HTTP proxy on loopback in front of a real receiver, to make it fail on
 * demand: `down()` stops listening (connection refused), `up()` listens
 * again on the same port, `mode` answers requests with a status instead of
 * passing them on, and `script` can pick the answer per request.
 */
export class FaultProxy {
  mode: FaultMode = { kind: 'pass' };
  /** When set, decides each request's fate (overrides `mode`). */
  script: ((requestNumber: number) => FaultMode) | undefined;
  readonly answered: number[] = [];
  requests = 0;
  private server: http.Server | undefined;
  private port = 0;

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<this> {
    if (this.server) return this;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const n = ++this.requests;
        const mode = this.script ? this.script(n) : this.mode;
        if (mode.kind === 'answer') {
          this.answered.push(mode.status);
          res.writeHead(mode.status, mode.headers ?? {}).end(mode.body ?? '');
          return;
        }
        const upstream = http.request(
          new URL(req.url ?? '/', this.target),
          { method: req.method, headers: { ...req.headers, host: new URL(this.target).host } },
          (answer) => {
            this.answered.push(answer.statusCode ?? 0);
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => {
          this.answered.push(502);
          if (!res.headersSent) res.writeHead(502).end('upstream error');
        });
        upstream.end(Buffer.concat(chunks));
      });
    });
    this.port = await listenOnLoopback(server, this.port);
    this.server = server;
    return this;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await closeServer(server);
  }
}
