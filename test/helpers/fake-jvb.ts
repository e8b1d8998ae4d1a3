import http from 'node:http';
import { closeServer, listenOnLoopback } from './close-server';

export interface FakeResponse {
  readonly status?: number;
  readonly body: string;
  readonly contentType?: string;
  /** Wait this long before answering. */
  readonly delayMs?: number;
}

/**
 * A stand-in JVB on a loopback port: serves whatever `respond` returns for
 * /colibri/stats, counts the requests it answered with 200, and can be
 * stopped and started again on the same port (a bridge that goes down).
 */
export class FakeJvb {
  respond: () => FakeResponse = () => ({ body: '{}' });
  requests = 0;
  answered200 = 0;
  private server: http.Server | undefined;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/colibri/stats`;
  }

  async start(): Promise<this> {
    const server = http.createServer((_req, res) => {
      this.requests++;
      const reply = this.respond();
      const send = () => {
        if (res.destroyed) return;
        const status = reply.status ?? 200;
        if (status === 200) this.answered200++;
        res.writeHead(status, { 'Content-Type': reply.contentType ?? 'application/json' }).end(reply.body);
      };
      if (reply.delayMs) {
        const timer = setTimeout(send, reply.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else send();
    });
    this.port = await listenOnLoopback(server, this.port);
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await closeServer(server);
  }
}

/** A loopback port with nothing listening on it. */
export async function unusedPort(): Promise<number> {
  const server = http.createServer();
  const port = await listenOnLoopback(server, 0);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
