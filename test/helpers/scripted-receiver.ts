import http from 'node:http';
import { closeServer, listenOnLoopback } from './close-server';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly body: Buffer;
  readonly headers: http.IncomingHttpHeaders;
}

export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** A receiver on loopback that answers each request as `answer` says (200 by default) and records what it got. */
export class ScriptedReceiver {
  answer: (req: ReceivedRequest, index: number) => ScriptedAnswer = () => ({ status: 200 });
  readonly received: ReceivedRequest[] = [];
  private server: http.Server | undefined;
  private port = 0;

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const got: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks), headers: req.headers };
        const index = this.received.length;
        this.received.push(got);
        const reply = this.answer(got, index);
        res.writeHead(reply.status, reply.headers ?? {}).end(reply.body ?? '');
      });
    });
    this.port = await listenOnLoopback(server, this.port);
    this.server = server;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeServer(server);
  }
}

/** Polls `check` until it holds; throws `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
