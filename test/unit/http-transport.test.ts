import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HttpDestinationOptions } from '../../src/http/http-destination-options';
import { createHttpTransport, type HttpOutcome, type HttpTransport } from '../../src/http/http-transport';
import { isBypassedByNoProxy, selectProxy } from '../../src/http/proxy-selection';
import { TestCertificates } from '../helpers/test-certificates';
import { classifyResponse } from '../../src/http/retry-policy';

// ---------------------------------------------------------------- helpers

const USER_AGENT = 'jitsi-jvb-prometheus-adapter/0.0.0-test';
const PASSWORD = 'S3cret-Pa55word-do-not-leak';
const TOKEN = 'tok-AbCdEf0123456789-bearer';

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  clientCertCN?: string;
}

interface TestServer {
  url: string;
  port: number;
  requests: Recorded[];
  connections: number;
  close(): Promise<void>;
}

type Respond = (req: Recorded, res: http.ServerResponse) => void;

const ok: Respond = (_req, res) => {
  res.writeHead(204);
  res.end();
};

/** An HTTP(S) server on 127.0.0.1, port 0, that records every request. */
async function startServer(respond: Respond, tlsOptions?: https.ServerOptions): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const state = { requests: [] as Recorded[], connections: 0 };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      const socket = req.socket as TLSSocket;
      if (typeof socket.getPeerCertificate === 'function') {
        const cert = socket.getPeerCertificate();
        if (cert && cert.subject) rec.clientCertCN = String(cert.subject.CN);
      }
      state.requests.push(rec);
      respond(rec, res);
    });
  };
  const server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  const onSocket = (s: net.Socket): void => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  server.on(tlsOptions ? 'secureConnection' : 'connection', onSocket);
  if (tlsOptions) server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${tlsOptions ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

interface TestProxy {
  url: string;
  connects: { target: string; headers: http.IncomingHttpHeaders }[];
  forwards: { url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A tiny forward proxy (absolute-URL requests) and CONNECT tunnel, to 127.0.0.1 only. */
async function startProxy(): Promise<TestProxy> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const connects: TestProxy['connects'] = [];
  const forwards: TestProxy['forwards'] = [];
  const server = http.createServer((req, res) => {
    forwards.push({ url: req.url ?? '', headers: req.headers });
    const target = new URL(req.url ?? '');
    if (target.hostname !== '127.0.0.1') {
      res.writeHead(403);
      res.end('loopback only');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = http.request(
      { host: '127.0.0.1', port: Number(target.port), path: target.pathname + target.search, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.on('connection', track);
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    connects.push({ target: req.url ?? '', headers: req.headers });
    const [host, port] = (req.url ?? '').split(':');
    if (host !== '127.0.0.1') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = net.connect(Number(port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    forwards,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const certs = new TestCertificates();
const file = (name: string): string => certs.file(name);

function options(url: string, extra: Partial<HttpDestinationOptions> = {}): HttpDestinationOptions {
  return { url, timeoutMs: 5000, headers: {}, tls: { insecureSkipVerify: false }, ...extra };
}

const POST = { method: 'POST' as const, body: Buffer.from('payload'), headers: { 'Content-Type': 'application/x-protobuf' } };

function expectResponse(outcome: HttpOutcome, status: number): Extract<HttpOutcome, { kind: 'response' }> {
  if (outcome.kind !== 'response') {
    assert.unreachable(`expected a response, got ${JSON.stringify(outcome)}`);
    throw new Error('unreachable');
  }
  assert.is(outcome.status, status);
  return outcome;
}

function expectNetworkError(outcome: HttpOutcome): Extract<HttpOutcome, { kind: 'network-error' }> {
  if (outcome.kind !== 'network-error') {
    assert.unreachable(`expected a network error, got ${JSON.stringify(outcome)}`);
    throw new Error('unreachable');
  }
  return outcome;
}

/** Runs `body` with a transport that is always closed afterwards. */
async function withTransport<T>(opts: HttpDestinationOptions, body: (t: HttpTransport) => Promise<T>, env: Record<string, string> = {}): Promise<T> {
  const transport = createHttpTransport(opts, USER_AGENT, { env });
  try {
    return await body(transport);
  } finally {
    transport.close();
  }
}

writeFileSync(file('password'), `${PASSWORD}\n`);
writeFileSync(file('token'), `${TOKEN}\n`);

// ---------------------------------------------------------------- proxy selection (pure)

const proxies = suite('http transport: proxy selection');

proxies('explicit proxy wins; env is read per scheme, lower case first', () => {
  const env = { http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:2', HTTPS_PROXY: 'proxy.example:3' };
  assert.is(selectProxy(new URL('http://t/'), { value: 'http://explicit:9', setting: 's' }, env)?.url.host, 'explicit:9');
  assert.is(selectProxy(new URL('http://t/'), { value: undefined, setting: 's' }, env)?.url.host, 'lower:1');
  assert.is(selectProxy(new URL('http://t/'), { value: undefined, setting: 's' }, { HTTP_PROXY: 'http://upper:2' })?.source, 'HTTP_PROXY');
  const https = selectProxy(new URL('https://t/'), { value: undefined, setting: 's' }, env);
  assert.is(https?.url.href, 'http://proxy.example:3/');
  assert.is(selectProxy(new URL('https://t/'), { value: undefined, setting: 's' }, { http_proxy: 'http://p:1' }), undefined);
});

proxies('NO_PROXY entries: *, domains and subdomains, IPs, CIDR, ports', () => {
  const u = (s: string): URL => new URL(s);
  assert.ok(isBypassedByNoProxy(u('http://anything/'), '*'));
  assert.ok(isBypassedByNoProxy(u('http://example.com/'), 'other.org, example.com'));
  assert.ok(isBypassedByNoProxy(u('http://a.b.example.com/'), 'example.com'));
  assert.ok(isBypassedByNoProxy(u('http://a.example.com/'), '.example.com'));
  assert.ok(isBypassedByNoProxy(u('http://a.example.com/'), '*.example.com'));
  assert.not.ok(isBypassedByNoProxy(u('http://notexample.com/'), 'example.com'));
  assert.ok(isBypassedByNoProxy(u('http://127.0.0.1:9090/'), '127.0.0.1'));
  assert.ok(isBypassedByNoProxy(u('http://10.1.2.3/'), '10.0.0.0/8'));
  assert.not.ok(isBypassedByNoProxy(u('http://11.1.2.3/'), '10.0.0.0/8'));
  assert.ok(isBypassedByNoProxy(u('http://[::1]:9/'), '::1'));
  assert.ok(isBypassedByNoProxy(u('http://[fd00::5]/'), 'fd00::/8'));
  assert.ok(isBypassedByNoProxy(u('http://example.com:8080/'), 'example.com:8080'));
  assert.not.ok(isBypassedByNoProxy(u('http://example.com:9090/'), 'example.com:8080'));
  assert.ok(isBypassedByNoProxy(u('https://example.com/'), 'example.com:443'));
  assert.not.ok(isBypassedByNoProxy(u('http://example.com/'), ''));
});

proxies('NO_PROXY (either case) exempts env proxies but not an explicit proxy', () => {
  const target = new URL('http://127.0.0.1:9/');
  assert.is(selectProxy(target, { value: undefined, setting: 's' }, { HTTP_PROXY: 'http://p:1', NO_PROXY: '127.0.0.1' }), undefined);
  assert.is(selectProxy(target, { value: undefined, setting: 's' }, { HTTP_PROXY: 'http://p:1', no_proxy: 'localhost,127.0.0.0/8' }), undefined);
  assert.ok(selectProxy(target, { value: 'http://p:1', setting: 's' }, { NO_PROXY: '*' }));
});

// ---------------------------------------------------------------- transport over loopback

const transport = suite('http transport: requests over loopback');

transport('POST sends the body as-is with the sender headers, custom headers and User-Agent; keep-alive reuses the connection', async () => {
  const server = await startServer(ok);
  try {
    const body = Buffer.from([0xff, 0x06, 0x00, 0x01, 0x7b, 0x22]);
    await withTransport(options(`${server.url}/api/v1/write`, { headers: { 'X-Scope-OrgID': 'tenant-a', 'THANOS-TENANT': 'jvb' } }), async (t) => {
      const first = expectResponse(
        await t.send({ method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' } }),
        204,
      );
      assert.ok(first.durationMs >= 0);
      expectResponse(await t.send({ method: 'PUT', body: Buffer.from('a 1\n'), headers: { 'Content-Type': 'text/plain; version=0.0.4' } }), 204);
      expectResponse(await t.send({ method: 'DELETE', headers: {} }), 204);
      expectResponse(await t.send({ method: 'POST', body: Buffer.from('raw'), headers: {} }), 204);
    });
    assert.is(server.requests.length, 4);
    const [post, put, del, bare] = server.requests as [Recorded, Recorded, Recorded, Recorded];
    assert.is(post.method, 'POST');
    assert.is(post.url, '/api/v1/write');
    assert.equal([...post.body], [...body]);
    assert.is(post.headers['content-type'], 'application/x-protobuf');
    assert.is(post.headers['content-encoding'], 'snappy');
    assert.is(post.headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.is(post.headers['user-agent'], USER_AGENT);
    assert.is(post.headers['x-scope-orgid'], 'tenant-a');
    assert.is(post.headers['thanos-tenant'], 'jvb');
    assert.is(post.headers['content-length'], String(body.length));
    assert.is(post.headers.authorization, undefined);
    assert.is(put.method, 'PUT');
    assert.is(put.body.toString(), 'a 1\n');
    assert.is(del.method, 'DELETE');
    assert.is(bare.body.toString(), 'raw');
    assert.is(bare.headers['content-type'], undefined, 'no invented Content-Type');
    assert.is(server.connections, 1, 'one keep-alive connection for all requests');
  } finally {
    await server.close();
  }
});

transport('basic auth uses the password from its file, and a rotated file is used on the next request', async () => {
  const server = await startServer(ok);
  const passwordFile = file('rotating-password');
  writeFileSync(passwordFile, 'first-password\n');
  try {
    await withTransport(options(server.url, { basicAuth: { username: 'jvb-01', passwordFile } }), async (t) => {
      expectResponse(await t.send(POST), 204);
      writeFileSync(passwordFile, 'second-password-longer\r\n');
      expectResponse(await t.send(POST), 204);
    });
    const decode = (r: Recorded): string => Buffer.from(String(r.headers.authorization).replace(/^Basic /, ''), 'base64').toString();
    assert.match(String(server.requests[0]?.headers.authorization), /^Basic /);
    assert.is(decode(server.requests[0] as Recorded), 'jvb-01:first-password');
    assert.is(decode(server.requests[1] as Recorded), 'jvb-01:second-password-longer');
  } finally {
    await server.close();
  }
});

transport('bearer token from its file, rotated between requests', async () => {
  const server = await startServer(ok);
  const tokenFile = file('rotating-token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  try {
    await withTransport(options(server.url, { bearerTokenFile: tokenFile }), async (t) => {
      expectResponse(await t.send(POST), 204);
      writeFileSync(tokenFile, 'rotated-token-2\n');
      expectResponse(await t.send(POST), 204);
    });
    assert.is(server.requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
    assert.is(server.requests[1]?.headers.authorization, 'Bearer rotated-token-2');
  } finally {
    await server.close();
  }
});

transport('an inline password and an inline bearer token are sent as given', async () => {
  const server = await startServer(ok);
  try {
    await withTransport(options(server.url, { basicAuth: { username: 'jvb', password: PASSWORD } }), async (t) => {
      expectResponse(await t.send(POST), 204);
    });
    await withTransport(options(server.url, { bearerToken: ` ${TOKEN}\n` }), async (t) => {
      expectResponse(await t.send(POST), 204);
    });
    assert.is(server.requests[0]?.headers.authorization, `Basic ${Buffer.from(`jvb:${PASSWORD}`).toString('base64')}`);
    assert.is(server.requests[1]?.headers.authorization, `Bearer ${TOKEN}`);
  } finally {
    await server.close();
  }
});

transport('credentials in the URL become basic auth and are not sent in the request line', async () => {
  const server = await startServer(ok);
  try {
    await withTransport(options(server.url.replace('http://', `http://jvb:${encodeURIComponent(PASSWORD)}@`) + '/push'), async (t) => {
      expectResponse(await t.send(POST), 204);
    });
    const rec = server.requests[0] as Recorded;
    assert.is(rec.url, '/push');
    assert.is(Buffer.from(String(rec.headers.authorization).slice(6), 'base64').toString(), `jvb:${PASSWORD}`);
  } finally {
    await server.close();
  }
});

transport('every status comes back as a response; the body preview is cut at 1 KiB; headers are lower-cased', async () => {
  const big = 'E'.repeat(1024) + 'TAIL-NOT-KEPT' + 'x'.repeat(300_000);
  const server = await startServer((req, res) => {
    const status = Number(req.url.slice(1));
    res.writeHead(status, { 'Retry-After': '3', 'X-Extra': 'v' });
    res.end(status === 400 ? big : `status ${status}`);
  });
  try {
    await withTransport(options(`${server.url}/400`), async (t) => {
      const r = expectResponse(await t.send(POST), 400);
      assert.is(r.bodyPreview.length, 1024);
      assert.is(r.bodyPreview, 'E'.repeat(1024));
      assert.ok(!r.bodyPreview.includes('TAIL'));
      assert.is(r.headers['retry-after'], '3');
      assert.is(r.headers['x-extra'], 'v');
      // A second request still works after the long body was cut off.
      expectResponse(await t.send(POST), 400);
    });
    for (const status of [301, 401, 429, 503]) {
      await withTransport(options(`${server.url}/${status}`), async (t) => {
        const r = expectResponse(await t.send(POST), status);
        assert.is(r.bodyPreview, `status ${status}`);
      });
    }
  } finally {
    await server.close();
  }
});

transport('an endless error body does not hold the request until the timeout', async () => {
  const server = await startServer((_req, res) => {
    res.writeHead(500);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    // A trickle that would outlast the timeout: 64 KiB every 10 ms, at most 1000 times,
    // stopped as soon as the client hangs up.
    let ticks = 0;
    const timer = setInterval(() => {
      if (res.destroyed || ++ticks > 1000) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(chunk);
    }, 10);
    res.on('close', () => clearInterval(timer));
  });
  try {
    const outcome = await withTransport(options(server.url, { timeoutMs: 4000 }), (t) => t.send(POST));
    const r = expectResponse(outcome, 500);
    assert.is(r.bodyPreview, 'a'.repeat(1024));
    assert.ok(r.durationMs < 3000, `durationMs ${r.durationMs}`);
  } finally {
    await server.close();
  }
});

transport('a secret cut in half at the 1 KiB boundary of the body preview is still hidden', async () => {
  const server = await startServer((_req, res) => {
    res.writeHead(400);
    res.end('p'.repeat(1024 - 10) + PASSWORD + ' trailing');
  });
  try {
    const outcome = await withTransport(options(server.url, { basicAuth: { username: 'jvb', passwordFile: file('password') } }), (t) => t.send(POST));
    const r = expectResponse(outcome, 400);
    assert.ok(r.bodyPreview.startsWith('p'.repeat(1014)));
    assert.ok(r.bodyPreview.endsWith('<redacted>'), r.bodyPreview.slice(-30));
    assert.ok(!r.bodyPreview.includes(PASSWORD.slice(0, 10)));
  } finally {
    await server.close();
  }
});

transport('a server that never answers is cut off at the timeout as a network error', async () => {
  const server = await startServer(() => undefined);
  try {
    const outcome = await withTransport(options(server.url, { timeoutMs: 300 }), (t) => t.send(POST));
    const err = expectNetworkError(outcome);
    assert.is(err.code, 'ETIMEDOUT');
    assert.match(err.message, /300 ms/);
    assert.ok(err.durationMs >= 250 && err.durationMs < 3000, `durationMs ${err.durationMs}`);
    assert.is(classifyResponse(outcome).kind, 'retry');
  } finally {
    await server.close();
  }
});

transport('a body that stalls after the status still returns the status at the timeout', async () => {
  const server = await startServer((_req, res) => {
    res.writeHead(500, { 'Content-Length': '100' });
    res.write('partial');
  });
  try {
    const outcome = await withTransport(options(server.url, { timeoutMs: 300 }), (t) => t.send(POST));
    const r = expectResponse(outcome, 500);
    assert.is(r.bodyPreview, 'partial');
  } finally {
    await server.close();
  }
});

transport('connection refused is a network error', async () => {
  const port = await closedPort();
  const outcome = await withTransport(options(`http://127.0.0.1:${port}/`), (t) => t.send(POST));
  const err = expectNetworkError(outcome);
  assert.is(err.code, 'ECONNREFUSED');
  assert.equal(classifyResponse(outcome), { kind: 'retry', reason: 'network_refused' });
});

transport('the caller signal aborts a request; close() aborts in-flight requests and refuses later ones', async () => {
  const server = await startServer(() => undefined);
  try {
    const t = createHttpTransport(options(server.url, { timeoutMs: 10_000 }), USER_AGENT, { env: {} });
    const controller = new AbortController();
    const pending = t.send(POST, controller.signal);
    setTimeout(() => controller.abort(), 50);
    assert.is(expectNetworkError(await pending).code, 'ABORTED');
    const inFlight = t.send(POST);
    await new Promise((r) => setTimeout(r, 50));
    t.close();
    assert.is(expectNetworkError(await inFlight).code, 'ABORTED');
    assert.is(expectNetworkError(await t.send(POST)).code, 'ECLOSED');
  } finally {
    await server.close();
  }
});

transport('no outcome or error message contains the password or token', async () => {
  // A receiver that echoes the credentials it got back in its error body.
  const server = await startServer((req, res) => {
    const auth = String(req.headers.authorization ?? '');
    const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : auth;
    res.writeHead(401);
    res.end(`bad credentials: ${auth} ${decoded}`);
  });
  const port = await closedPort();
  try {
    const outcomes: HttpOutcome[] = [];
    await withTransport(options(server.url, { basicAuth: { username: 'jvb', passwordFile: file('password') } }), async (t) => {
      outcomes.push(await t.send(POST));
    });
    await withTransport(options(server.url, { bearerTokenFile: file('token') }), async (t) => {
      outcomes.push(await t.send(POST));
    });
    await withTransport(options(`http://jvb:${PASSWORD}@127.0.0.1:${port}/`), async (t) => {
      outcomes.push(await t.send(POST));
    });
    await withTransport(options(`http://127.0.0.1:${port}/`, { basicAuth: { username: 'jvb', passwordFile: file('password') } }), async (t) => {
      outcomes.push(await t.send(POST));
    });
    await withTransport(options(server.url, { basicAuth: { username: 'jvb', password: PASSWORD } }), async (t) => {
      outcomes.push(await t.send(POST));
    });
    await withTransport(options(server.url, { bearerToken: TOKEN }), async (t) => {
      outcomes.push(await t.send(POST));
    });
    const gone = file('password-gone');
    writeFileSync(gone, PASSWORD);
    await withTransport(options(server.url, { basicAuth: { username: 'jvb', passwordFile: gone } }), async (t) => {
      unlinkSync(gone);
      outcomes.push(await t.send(POST));
    });
    assert.is(outcomes.length, 7);
    const r = expectResponse(outcomes[0] as HttpOutcome, 401);
    assert.match(r.bodyPreview, /bad credentials: Basic <redacted> jvb:<redacted>/);
    assert.match(expectResponse(outcomes[1] as HttpOutcome, 401).bodyPreview, /Bearer <redacted>/);
    assert.is(expectNetworkError(outcomes[2] as HttpOutcome).code, 'ECONNREFUSED');
    assert.match(expectResponse(outcomes[4] as HttpOutcome, 401).bodyPreview, /jvb:<redacted>/);
    assert.match(expectResponse(outcomes[5] as HttpOutcome, 401).bodyPreview, /Bearer <redacted>/);
    assert.is(expectNetworkError(outcomes[6] as HttpOutcome).code, 'ECREDENTIALS');
    const text = JSON.stringify(outcomes);
    assert.ok(!text.includes(PASSWORD), text);
    assert.ok(!text.includes(TOKEN), text);
    assert.ok(!text.includes(Buffer.from(`jvb:${PASSWORD}`).toString('base64')), text);
  } finally {
    await server.close();
  }
});

// ---------------------------------------------------------------- TLS

const tlsSuite = suite('http transport: TLS');

const serverTls = (): https.ServerOptions => ({ cert: readFileSync(file('server.crt')), key: readFileSync(file('server.key')) });

tlsSuite('HTTPS with the CA that signed the server certificate succeeds', async () => {
  const server = await startServer(ok, serverTls());
  try {
    const outcome = await withTransport(options(server.url, { tls: { caFile: file('ca.crt'), insecureSkipVerify: false } }), (t) => t.send(POST));
    expectResponse(outcome, 204);
    assert.is(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

tlsSuite('without the CA, with the wrong CA, or with a wrong server name, TLS fails as a network error', async () => {
  const server = await startServer(ok, serverTls());
  try {
    const cases: HttpDestinationOptions['tls'][] = [
      { insecureSkipVerify: false },
      { caFile: file('other-ca.crt'), insecureSkipVerify: false },
      { caFile: file('ca.crt'), serverName: 'wrong.test', insecureSkipVerify: false },
    ];
    for (const tls of cases) {
      const outcome = await withTransport(options(server.url, { tls }), (t) => t.send(POST));
      const err = expectNetworkError(outcome);
      assert.equal(classifyResponse(outcome), { kind: 'retry', reason: 'network_tls' }, `${JSON.stringify(tls)} -> ${err.code}`);
    }
    assert.is(server.requests.length, 0);
  } finally {
    await server.close();
  }
});

tlsSuite('the server name setting is used for SNI and verification', async () => {
  let sni: string | undefined;
  const server = await startServer(ok, {
    ...serverTls(),
    SNICallback: (name, cb) => {
      sni = name;
      cb(null, undefined);
    },
  });
  try {
    const outcome = await withTransport(options(server.url, { tls: { caFile: file('ca.crt'), serverName: 'push.test', insecureSkipVerify: false } }), (t) => t.send(POST));
    expectResponse(outcome, 204);
    assert.is(sni, 'push.test');
  } finally {
    await server.close();
  }
});

tlsSuite('insecureSkipVerify accepts a certificate that cannot be verified', async () => {
  const server = await startServer(ok, serverTls());
  try {
    const outcome = await withTransport(options(server.url, { tls: { caFile: file('other-ca.crt'), insecureSkipVerify: true } }), (t) => t.send(POST));
    expectResponse(outcome, 204);
  } finally {
    await server.close();
  }
});

tlsSuite('client certificate: accepted when given, the handshake fails without it', async () => {
  const server = await startServer(ok, { ...serverTls(), ca: readFileSync(file('ca.crt')), requestCert: true, rejectUnauthorized: true });
  try {
    const withCert = await withTransport(
      options(server.url, { tls: { caFile: file('ca.crt'), certFile: file('client.crt'), keyFile: file('client.key'), insecureSkipVerify: false } }),
      (t) => t.send(POST),
    );
    expectResponse(withCert, 204);
    assert.is(server.requests[0]?.clientCertCN, 'jvb-agent');
    const without = await withTransport(options(server.url, { tls: { caFile: file('ca.crt'), insecureSkipVerify: false } }), (t) => t.send(POST));
    expectNetworkError(without);
    assert.is(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

// ---------------------------------------------------------------- proxies over loopback

const proxied = suite('http transport: through a proxy');

proxied('an https target goes through a CONNECT tunnel, with proxy auth on the CONNECT only, and TLS to the receiver', async () => {
  const server = await startServer(ok, serverTls());
  const proxy = await startProxy();
  try {
    const proxyUrl = proxy.url.replace('http://', 'http://puser:proxy-pass-1234@');
    const outcome = await withTransport(
      options(`${server.url}/api/v1/push`, {
        proxyUrl,
        bearerTokenFile: file('token'),
        headers: { 'X-Scope-OrgID': 't1' },
        tls: { caFile: file('ca.crt'), insecureSkipVerify: false },
      }),
      async (t) => {
        const first = await t.send(POST);
        await t.send(POST);
        return first;
      },
    );
    expectResponse(outcome, 204);
    assert.ok(proxy.connects.length >= 1);
    assert.is(proxy.connects[0]?.target, `127.0.0.1:${server.port}`);
    assert.is(proxy.connects[0]?.headers['proxy-authorization'], `Basic ${Buffer.from('puser:proxy-pass-1234').toString('base64')}`);
    assert.is(proxy.forwards.length, 0);
    assert.is(server.requests.length, 2);
    assert.is(server.requests[0]?.url, '/api/v1/push');
    assert.is(server.requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
    assert.is(server.requests[0]?.headers['x-scope-orgid'], 't1');
    assert.is(server.requests[0]?.headers['proxy-authorization'], undefined);
    assert.ok(!JSON.stringify(outcome).includes('proxy-pass-1234'));
  } finally {
    await proxy.close();
    await server.close();
  }
});

proxied('a tunnelled https target still has its certificate checked (wrong CA fails)', async () => {
  const server = await startServer(ok, serverTls());
  const proxy = await startProxy();
  try {
    const outcome = await withTransport(options(server.url, { proxyUrl: proxy.url, tls: { caFile: file('other-ca.crt'), insecureSkipVerify: false } }), (t) => t.send(POST));
    assert.is(classifyResponse(outcome).kind, 'retry');
    assert.is(expectNetworkError(outcome).code.length > 0, true);
    assert.is(proxy.connects.length, 1);
    assert.is(server.requests.length, 0);
  } finally {
    await proxy.close();
    await server.close();
  }
});

proxied('an http target goes to the proxy as an absolute-URL request', async () => {
  const server = await startServer(ok);
  const proxy = await startProxy();
  try {
    const proxyUrl = proxy.url.replace('http://', 'http://fwd:fwd-pass-5678@');
    const outcome = await withTransport(options(`${server.url}/metrics/job/jvb`, { proxyUrl, basicAuth: { username: 'u', passwordFile: file('password') } }), (t) =>
      t.send({ method: 'PUT', body: Buffer.from('a 1\n'), headers: { 'Content-Type': 'text/plain; version=0.0.4' } }),
    );
    expectResponse(outcome, 204);
    assert.is(proxy.forwards.length, 1);
    assert.is(proxy.forwards[0]?.url, `${server.url}/metrics/job/jvb`);
    assert.is(proxy.forwards[0]?.headers['proxy-authorization'], `Basic ${Buffer.from('fwd:fwd-pass-5678').toString('base64')}`);
    assert.is(proxy.connects.length, 0);
    assert.is(server.requests[0]?.method, 'PUT');
    assert.is(server.requests[0]?.body.toString(), 'a 1\n');
    assert.match(String(server.requests[0]?.headers.authorization), /^Basic /);
  } finally {
    await proxy.close();
    await server.close();
  }
});

proxied('HTTP_PROXY / https_proxy from the environment are used; NO_PROXY bypasses them', async () => {
  const plain = await startServer(ok);
  const secure = await startServer(ok, serverTls());
  const proxy = await startProxy();
  try {
    const tls = { caFile: file('ca.crt'), insecureSkipVerify: false };
    expectResponse(await withTransport(options(plain.url), (t) => t.send(POST), { HTTP_PROXY: proxy.url }), 204);
    assert.is(proxy.forwards.length, 1);
    expectResponse(await withTransport(options(secure.url, { tls }), (t) => t.send(POST), { https_proxy: proxy.url }), 204);
    assert.is(proxy.connects.length, 1);

    expectResponse(await withTransport(options(plain.url), (t) => t.send(POST), { HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' }), 204);
    expectResponse(await withTransport(options(secure.url, { tls }), (t) => t.send(POST), { HTTPS_PROXY: proxy.url, no_proxy: '127.0.0.0/8' }), 204);
    assert.is(proxy.forwards.length, 1, 'NO_PROXY bypassed the forward proxy');
    assert.is(proxy.connects.length, 1, 'NO_PROXY bypassed the tunnel');
    assert.is(plain.requests.length, 2);
    assert.is(secure.requests.length, 2);
  } finally {
    await proxy.close();
    await plain.close();
    await secure.close();
  }
});

proxied('a proxy that refuses the tunnel gives its status as the response', async () => {
  const proxy = await startProxy();
  try {
    // The test proxy only tunnels to 127.0.0.1 and answers 403 otherwise.
    const outcome = await withTransport(options('https://push.test:443/', { proxyUrl: proxy.url }), (t) => t.send(POST));
    expectResponse(outcome, 403);
    assert.is(proxy.connects[0]?.target, 'push.test:443');
  } finally {
    await proxy.close();
  }
});

proxies.run();
transport.run();
tlsSuite.run();
proxied.run();

process.on('exit', () => certs.remove());
