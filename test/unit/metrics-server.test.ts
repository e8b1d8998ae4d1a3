import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { sharedRender, startMetricsServer, type MetricsServer } from '../../src/server/http-server';

const lines: string[] = [];
const log = createLogger({ level: 'info', format: 'logfmt', write: (line) => lines.push(line) });

/** A connection to the server; `send` writes, `answer()` resolves with the next whole answer (status and body). */
class Client {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  private buffer = '';
  private waiting: (() => void) | undefined;

  constructor(port: number) {
    this.socket = net.connect({ port, host: '127.0.0.1' });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.waiting?.();
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.once('close', () => this.waiting?.());
  }

  get(path: string, close = false): this {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${close ? 'Connection: close\r\n' : ''}\r\n`);
    return this;
  }

  async answer(): Promise<{ status: number; body: string }> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        const length = Number(/content-length: (\d+)/i.exec(this.buffer.slice(0, end))?.[1] ?? 0);
        if (this.buffer.length >= end + 4 + length) {
          const status = Number(this.buffer.slice(9, 12));
          const body = this.buffer.slice(end + 4, end + 4 + length);
          this.buffer = this.buffer.slice(end + 4 + length);
          return { status, body };
        }
      }
      if (this.socket.destroyed) throw new Error(`closed without an answer (${JSON.stringify(this.buffer)})`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}

async function start(render: () => Promise<string>, maxConnections = 4, maxRequestsInFlight = 40): Promise<MetricsServer> {
  return startMetricsServer({
    listenAddress: { host: '127.0.0.1', port: 0 },
    telemetryPath: '/metrics',
    render,
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    isReady: () => true,
    maxConnections,
    maxRequestsInFlight,
    version: 'test',
    log,
  });
}

/** Resolves once the server holds connections as `check` wants (it is looked at as the connections change). */
async function until(server: MetricsServer, check: (c: ReturnType<MetricsServer['connections']>) => boolean): Promise<void> {
  while (!check(server.connections())) await new Promise((r) => setImmediate(r));
}

const test = suite('the metrics server: connections at the cap, shared renders');

test('idle keep-alive connections at the cap: a new connection pushes out the one idle the longest and is answered', async () => {
  const server = await start(async () => 'up 1\n');
  const clients: Client[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      const client = new Client(server.address.port).get('/metrics');
      assert.is((await client.answer()).status, 200);
      clients.push(client);
    }
    await until(server, (c) => c.idle === 4);
    const probe = new Client(server.address.port).get('/-/healthy', true);
    assert.equal(await probe.answer(), { status: 200, body: 'Healthy.\n' });
    await clients[0]!.closed; // the first answered, idle the longest
    assert.not.ok(clients[1]!.socket.destroyed || clients[3]!.socket.destroyed, 'only one pushed out');
    assert.ok(lines.some((l) => l.includes('connections at the cap') && l.includes('evicted_idle=1')), lines.join('\n'));
  } finally {
    clients.forEach((c) => c.socket.destroy());
    await server.close();
  }
});

test('slow clients sending half a head fill the cap: a health probe is still let in and answered', async () => {
  const server = await start(async () => 'up 1\n');
  const slow: Client[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      const client = new Client(server.address.port);
      client.socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      slow.push(client);
    }
    await until(server, (c) => c.head === 4);
    const healthy = new Client(server.address.port).get('/-/healthy', true);
    const ready = new Client(server.address.port).get('/-/ready', true);
    assert.is((await healthy.answer()).status, 200);
    assert.is((await ready.answer()).status, 200);
  } finally {
    slow.forEach((c) => c.socket.destroy());
    await server.close();
  }
});

test('concurrent scrapes share one render; over the in-flight limit 503; health answered while a render is pending', async () => {
  let renders = 0;
  let finish: (text: string) => void = () => {};
  const server = await start(
    () => {
      renders++;
      return new Promise<string>((resolve) => (finish = resolve));
    },
    100,
    5,
  );
  try {
    const scrapes = Array.from({ length: 8 }, () => new Client(server.address.port).get('/metrics', true));
    let answered = 0;
    const answers = scrapes.map((c) => c.answer().finally(() => answered++));
    // Five wait for the render; the other three are answered 503 at once.
    while (answered < 3) await new Promise((r) => setImmediate(r));
    const healthy = new Client(server.address.port).get('/-/healthy', true);
    assert.is((await healthy.answer()).status, 200, 'health does not wait for the render');
    assert.is(answered, 3, 'the five others still wait');
    assert.is(renders, 1, 'one render for every waiting scrape');
    finish('jvb_up 1\n');
    const all = await Promise.all(answers);
    assert.equal(all.map((a) => a.status).sort(), [200, 200, 200, 200, 200, 503, 503, 503]);
    for (const a of all) if (a.status === 200) assert.is(a.body, 'jvb_up 1\n');
    // Once it is done, the next scrape asks for a new render.
    const next = new Client(server.address.port).get('/metrics', true);
    await until(server, () => renders === 2);
    finish('jvb_up 2\n');
    assert.equal(await next.answer(), { status: 200, body: 'jvb_up 2\n' });
  } finally {
    await server.close();
  }
});

test('sharedRender: one render for callers that overlap, the same bytes for the same text, a failure for all waiting and a retry after', async () => {
  const texts = ['a\n', 'a\n', 'b\n'];
  let calls = 0;
  let fail = false;
  const render = sharedRender(async () => {
    calls++;
    if (fail) throw new Error('boom');
    return texts.shift()!;
  });
  const [one, two] = await Promise.all([render(), render()]);
  assert.is(calls, 1);
  assert.ok(one === two);
  const three = await render();
  assert.is(calls, 2);
  assert.ok(three === one, 'same text, same buffer');
  assert.is((await render()).toString(), 'b\n');
  fail = true;
  const failures = await Promise.allSettled([render(), render()]);
  assert.equal(failures.map((f) => f.status), ['rejected', 'rejected']);
  assert.is(calls, 4);
  fail = false;
  texts.push('c\n');
  assert.is((await render()).toString(), 'c\n');
});

test.run();
