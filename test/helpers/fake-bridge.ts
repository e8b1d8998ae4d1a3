import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { closeServer, listenOnLoopback } from './close-server';

/** The shared, read-only fixtures beside the project (../shared/fixtures). */
const SHARED_FIXTURES = resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
export const NATIVE_FIXTURE_DIR = join(SHARED_FIXTURES, 'jvb-native');
export const COLIBRI_FIXTURE_DIR = join(SHARED_FIXTURES, 'jvb');

/** Which exposition format JVB's /metrics answers with. */
export type NativeFormat = 'openmetrics' | 'text';

export const NATIVE_FIXTURE_FILES: Readonly<Record<NativeFormat, string>> = {
  openmetrics: 'jvb-metrics-simpleclient-0.16-generated.openmetrics.txt',
  text: 'jvb-metrics-simpleclient-0.16-generated.txt',
};

/** The Content-Type JVB (simpleclient 0.16 TextFormat) answers with, per format. */
export const NATIVE_CONTENT_TYPES: Readonly<Record<NativeFormat, string>> = {
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  text: 'text/plain; version=0.0.4; charset=utf-8',
};

export function nativeFixtureText(format: NativeFormat): string {
  return readFileSync(join(NATIVE_FIXTURE_DIR, NATIVE_FIXTURE_FILES[format]), 'utf8');
}

export function colibriFixtureText(name: string): string {
  return readFileSync(join(COLIBRI_FIXTURE_DIR, name), 'utf8');
}

export const COLIBRI_2026 = 'colibri-stats-2026-03-v2.3.63.json';

/**
 * Picks the format JVB's /metrics would answer `accept` with: the highest
 * q-value wins between OpenMetrics (`application/openmetrics-text`,
 * `application/*` or `*\/*`) and the 0.0.4 text (`text/plain`, `text/*`);
 * a tie goes to OpenMetrics (what JVB prefers for `*\/*`). `undefined` when
 * the header names neither (JVB would answer JSON or 406; the fake says 406).
 */
export function negotiateNativeFormat(accept: string): NativeFormat | undefined {
  let openmetrics = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [mediaType = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    let q = 1;
    for (const param of params) {
      const match = /^q\s*=\s*([0-9.]+)$/.exec(param);
      if (match) q = Number(match[1]);
    }
    if (!Number.isFinite(q)) continue;
    if (mediaType === 'application/openmetrics-text' || mediaType === 'application/*' || mediaType === '*/*') openmetrics = Math.max(openmetrics, q);
    if (mediaType === 'text/plain' || mediaType === 'text/*') text = Math.max(text, q);
  }
  if (openmetrics === 0 && text === 0) return undefined;
  return openmetrics >= text ? 'openmetrics' : 'text';
}

export interface FakeBridgeOptions {
  /** Serve JVB's native Prometheus endpoint at /metrics (else 404). Default true. */
  metrics?: boolean;
  /** How /metrics picks its format: forced, or from the Accept header as JVB does. Default 'negotiate'. */
  format?: NativeFormat | 'negotiate';
  /** Serve this JSON fixture (a file name in shared/fixtures/jvb) at /colibri/stats; `false` (default): 404. */
  colibri?: string | false;
  /** Never answer any request (the connection stays open until the client gives up). Default false. */
  hang?: boolean;
}

/** A scripted answer. */
export interface FakeResponse {
  /** Default 200. */
  readonly status?: number;
  readonly body: string;
  /** Default `application/json`. */
  readonly contentType?: string;
  /** Wait this long before answering (nothing is sent if the client goes away meanwhile). */
  readonly delayMs?: number;
}

/**
 * Picks the answer to one request: a {@link FakeResponse}, or `undefined` to
 * answer as the options say (native /metrics, colibri fixture, 404).
 */
export type Responder = (request: ReceivedRequest) => FakeResponse | undefined;

/** One request the fake received. `open` turns false when it was answered or the client went away. */
export interface ReceivedRequest {
  readonly path: string;
  /** The Accept header as received; `undefined` when the request had none. */
  readonly accept: string | undefined;
  /** The User-Agent header (a scraping Prometheus says `Prometheus/<version>`). */
  readonly userAgent: string | undefined;
  /** The status answered; `undefined` while hanging or when never answered. */
  status: number | undefined;
  /** The native format served, for a 200 on /metrics. */
  format: NativeFormat | undefined;
  open: boolean;
}

/**
 * A stand-in Jitsi Videobridge on 127.0.0.1 (a random port, kept across
 * stop/start so a restarted bridge is the same bridge):
 *
 * - `/metrics`, JVB's native Prometheus endpoint, with JVB's content
 *   negotiation: no Accept header -> 500 (JVB dereferences the header
 *   without a null check); OpenMetrics 1.0.0 for `application/openmetrics-text`
 *   or `*\/*`, text 0.0.4 for `text/plain`, the higher q-value winning;
 *   `format` forces one of the two (a request without Accept still gets 500).
 * - `/colibri/stats`: a JSON fixture when `colibri` names one, else 404.
 * - `respond`, when set, scripts the answers (status, body, content type,
 *   delay) on any path, ahead of the above: a bridge that answers 503, slowly,
 *   with a broken body, or with a generated one.
 * - `hang`: every request is left unanswered.
 *
 * It records every request (path, Accept header, status, still open or not)
 * and counts them (`count()`, `answered200`). The options and `respond` can
 * be changed while it runs.
 */
export class FakeBridge {
  readonly options: Required<FakeBridgeOptions>;
  /**
   * Scripted answers: called for every request (unless `hang`); what it
   * returns is sent on whatever path was asked, `undefined` falls back to the
   * native/colibri behaviour of the options. Unset: no script.
   */
  respond: Responder | undefined = undefined;
  readonly requests: ReceivedRequest[] = [];
  private server: http.Server | undefined;
  private port = 0;

  constructor(options: FakeBridgeOptions = {}) {
    this.options = { metrics: true, format: 'negotiate', colibri: false, hang: false, ...options };
  }

  /** `http://127.0.0.1:PORT`, what `--jvb.url` takes for auto-detection. */
  get baseUrl(): string {
    if (this.port === 0) throw new Error('the fake bridge has not been started');
    return `http://127.0.0.1:${this.port}`;
  }

  get metricsUrl(): string {
    return `${this.baseUrl}/metrics`;
  }

  get colibriUrl(): string {
    return `${this.baseUrl}/colibri/stats`;
  }

  /** `127.0.0.1:PORT`: a Prometheus scrape target. (Not the agent's default bridge name: a loopback bridge is named after the machine, `<hostname>` or `<hostname>:PORT`.) */
  get hostPort(): string {
    return this.baseUrl.slice('http://'.length);
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Requests received for `path` (all paths when omitted). */
  count(path?: string): number {
    return this.requestsTo(path).length;
  }

  /** Requests (any path) answered with a 200. */
  get answered200(): number {
    return this.requests.filter((r) => r.status === 200).length;
  }

  /** The Accept headers of the requests for `path`, in order (`undefined` for none). */
  acceptHeaders(path: string): (string | undefined)[] {
    return this.requestsTo(path).map((r) => r.accept);
  }

  /** Requests for `path` (all paths when omitted) not yet answered nor abandoned. */
  openRequests(path?: string): ReceivedRequest[] {
    return this.requestsTo(path).filter((r) => r.open);
  }

  requestsTo(path?: string): ReceivedRequest[] {
    return path === undefined ? [...this.requests] : this.requests.filter((r) => r.path === path);
  }

  /** Starts listening; on the port of the previous start when there was one. */
  async start(): Promise<this> {
    if (this.server) return this;
    const server = http.createServer((req, res) => this.handle(req, res));
    this.port = await listenOnLoopback(server, this.port);
    this.server = server;
    return this;
  }

  /** Stops listening and drops every connection, hanging ones included (a bridge going down). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await closeServer(server);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const record: ReceivedRequest = { path, accept: req.headers['accept'], userAgent: req.headers['user-agent'], status: undefined, format: undefined, open: true };
    this.requests.push(record);
    res.on('close', () => {
      record.open = false;
    });
    // Drain any body so the connection can be reused.
    req.resume();
    if (this.options.hang) return;

    const send = (status: number, contentType: string, body: string) => {
      record.status = status;
      res.writeHead(status, { 'Content-Type': contentType }).end(body);
    };

    const scripted = this.respond?.(record);
    if (scripted !== undefined) {
      const answer = () => {
        if (res.destroyed) return;
        send(scripted.status ?? 200, scripted.contentType ?? 'application/json', scripted.body);
      };
      if (scripted.delayMs) {
        const timer = setTimeout(answer, scripted.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else answer();
      return;
    }

    if (path === '/metrics' && this.options.metrics) {
      if (record.accept === undefined) {
        // What Jetty answers when the resource throws a NullPointerException.
        send(500, 'text/html;charset=iso-8859-1', '<html><body><h2>HTTP ERROR 500 java.lang.NullPointerException</h2></body></html>');
        return;
      }
      const format = this.options.format === 'negotiate' ? negotiateNativeFormat(record.accept) : this.options.format;
      if (format === undefined) {
        send(406, 'text/plain', 'Not Acceptable');
        return;
      }
      record.format = format;
      send(200, NATIVE_CONTENT_TYPES[format], nativeFixtureText(format));
      return;
    }
    if (path === '/colibri/stats' && this.options.colibri !== false) {
      send(200, 'application/json', colibriFixtureText(this.options.colibri));
      return;
    }
    send(404, 'text/html;charset=iso-8859-1', '<html><body><h2>HTTP ERROR 404 Not Found</h2></body></html>');
  }
}
