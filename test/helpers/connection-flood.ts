import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';

/**
 * What each flooding client does on its connection:
 * - `scrape`: sends `GET <path>` (keep-alive), reads the answer, then holds
 *   the connection open and idle;
 * - `slow`: sends half a request head, then one more header line every
 *   `trickleMs`, never finishing it (slowloris).
 * Either way a client whose connection is closed (refused, evicted, timed
 * out) opens a new one at once while the flood is on: the slots stay taken.
 */
export type FloodKind = 'scrape' | 'slow';

export interface FloodOptions {
  readonly port: number;
  readonly kind: FloodKind;
  /** Clients, each holding one connection at a time. */
  readonly clients: number;
  readonly path?: string;
  /** Between two header lines of a slow client. */
  readonly trickleMs?: number;
  /** The flood stops by itself after this long, whatever the test does. */
  readonly maxMs: number;
}

export interface FloodCounts {
  /** Connections that completed the TCP handshake. */
  connects: number;
  /** Clients that have connected at least once. */
  clientsConnected: number;
  /** Answers read by scrape clients, by status (`408`, `200`, `503`...). */
  answers: Record<string, number>;
  /** Connections closed by the server (or reset) while the flood was on. */
  closedByServer: number;
  /** Header lines trickled by slow clients. */
  trickled: number;
  /** Connections open now. */
  open: number;
}

/**
 * A bounded flood of loopback connections against one port; stops by itself
 * after `maxMs`, and `stop()` closes every socket it opened.
 */
export class ConnectionFlood {
  readonly counts: FloodCounts = { connects: 0, clientsConnected: 0, answers: {}, closedByServer: 0, trickled: 0, open: 0 };
  private running = true;
  private readonly sockets = new Set<net.Socket>();
  private readonly waiters: { check: () => boolean; resolve: () => void }[] = [];
  private readonly trickle: NodeJS.Timeout | undefined;
  private readonly selfStop: NodeJS.Timeout;
  private readonly ever = new Set<number>();
  private stoppedNow: () => void = () => {};
  /** Resolves when the flood has stopped (by itself after `maxMs`, or by `stop()`). */
  readonly stopped = new Promise<void>((resolve) => (this.stoppedNow = resolve));

  constructor(private readonly opts: FloodOptions) {
    for (let i = 0; i < opts.clients; i++) this.open(i);
    if (opts.kind === 'slow') {
      let line = 0;
      this.trickle = setInterval(() => {
        line++;
        for (const socket of this.sockets) {
          if (socket.readyState !== 'open') continue;
          socket.write(`X-Trickle-${line}: 1\r\n`);
          this.counts.trickled++;
        }
        this.changed();
      }, opts.trickleMs ?? 1000);
    }
    this.selfStop = setTimeout(() => void this.stop(), opts.maxMs);
  }

  /** Resolves once `check` holds (looked at after every event of the flood); rejects after `timeoutMs`. */
  until(what: string, check: (counts: FloodCounts) => boolean, timeoutMs: number): Promise<void> {
    if (check(this.counts)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`flood: ${what} not within ${timeoutMs} ms: ${JSON.stringify(this.counts)}`)), timeoutMs);
      this.waiters.push({
        check: () => check(this.counts),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Stops reconnecting and closes every connection; resolves once all are closed. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.selfStop);
    if (this.trickle) clearInterval(this.trickle);
    const closing = [...this.sockets].map((socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve()))));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closing);
    this.stoppedNow();
  }

  private changed(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.check()) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private open(client: number): void {
    const socket = net.connect({ port: this.opts.port, host: '127.0.0.1' });
    this.sockets.add(socket);
    let head = '';
    socket.on('connect', () => {
      this.counts.connects++;
      this.counts.open++;
      if (!this.ever.has(client)) {
        this.ever.add(client);
        this.counts.clientsConnected++;
      }
      if (this.opts.kind === 'scrape') socket.write(`GET ${this.opts.path ?? '/metrics'} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      else socket.write(`GET ${this.opts.path ?? '/metrics'} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
      this.changed();
    });
    socket.on('data', (chunk: Buffer) => {
      if (head.length >= 12) return;
      head += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      if (status !== undefined) {
        this.counts.answers[status] = (this.counts.answers[status] ?? 0) + 1;
        this.changed();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.running) {
        this.counts.closedByServer++;
        setImmediate(() => {
          if (this.running) this.open(client);
        });
      }
      this.changed();
    });
    socket.on('end', () => socket.end());
    // `open` counts handshakes not yet closed.
    socket.once('connect', () => socket.once('close', () => this.counts.open--));
  }
}

/** When a flood holds: every threshold given reached. */
export interface HoldWhen {
  readonly clientsConnected?: number;
  /** Answers of any status read by scrape clients. */
  readonly answers?: number;
  readonly trickled?: number;
}

function holds(counts: FloodCounts, when: HoldWhen): boolean {
  const answers = Object.values(counts.answers).reduce((a, b) => a + b, 0);
  return counts.clientsConnected >= (when.clientsConnected ?? 0) && answers >= (when.answers ?? 0) && counts.trickled >= (when.trickled ?? 0);
}

/**
 * A ConnectionFlood in a process of its own (this file run with tsx), so
 * that its thousands of sockets do not slow the test's own probes: what the
 * probes measure is the agent. Stops by itself after `maxMs`, or when the
 * test process goes away.
 */
export class FloodProcess {
  private readonly child: ChildProcess;
  private readonly events = new Map<string, FloodCounts>();
  private readonly waiters = new Map<string, () => void>();
  private readonly exited: Promise<void>;
  private stderr = '';

  constructor(opts: FloodOptions & { readonly holdWhen: HoldWhen }) {
    this.child = spawn(process.execPath, ['-r', 'tsx/cjs', __filename, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const { event, counts } = JSON.parse(line) as { event: string; counts: FloodCounts };
      this.events.set(event, counts);
      this.waiters.get(event)?.();
    });
  }

  /** Resolves with the counts once the flood holds (the `holdWhen` thresholds are reached); rejects after `timeoutMs` or if the flood process ends first. */
  holding(timeoutMs: number): Promise<FloodCounts> {
    return this.event('holding', timeoutMs);
  }

  /** Stops the flood (every socket closed) and resolves with its final counts. */
  async stop(): Promise<FloodCounts> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin!.end('stop\n');
    const counts = this.events.get('stopped') ?? (await this.event('stopped', 30_000).catch(() => undefined));
    await this.exited;
    return counts ?? this.events.get('holding') ?? ({} as FloodCounts);
  }

  private event(name: string, timeoutMs: number): Promise<FloodCounts> {
    const seen = this.events.get(name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`flood: no ${name} within ${timeoutMs} ms; ${this.stderr}`)), timeoutMs);
      const fail = () => reject(new Error(`flood process ended before ${name}: ${this.stderr}`));
      void this.exited.then(() => setImmediate(fail));
      this.waiters.set(name, () => {
        clearTimeout(timer);
        resolve(this.events.get(name)!);
      });
    });
  }
}

// Run as a process: `node -r tsx/cjs connection-flood.ts '<FloodOptions & {holdWhen}>'`; "stop" on stdin (or its end) stops it.
if (require.main === module) {
  const opts = JSON.parse(process.argv[2]!) as FloodOptions & { holdWhen: HoldWhen };
  const flood = new ConnectionFlood(opts);
  const say = (event: string) => process.stdout.write(`${JSON.stringify({ event, counts: flood.counts })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void flood.stop().then(() => {
      say('stopped');
      process.exit(0);
    });
  };
  void flood.until('holding', (c) => holds(c, opts.holdWhen), opts.maxMs).then(() => say('holding'), stop);
  flood.stopped.then(stop, stop);
  process.stdin.on('data', stop);
  process.stdin.on('end', stop);
}

export interface ProbeResult {
  /** The status, or 0 without an answer. */
  readonly status: number;
  readonly ms: number;
  /** Why there was no answer (reset, timeout). */
  readonly error?: string;
}

/** One GET on a fresh connection closed after it, as kubelet and `healthcheck` probe: the status, or why there is none within `timeoutMs`. */
export function probe(port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number, error?: string) => {
      clearTimeout(timer);
      resolve({ status, ms: Math.round(performance.now() - started), ...(error === undefined ? {} : { error }) });
    };
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { Connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
      res.on('error', (error) => done(0, error.message));
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => done(0, error.message));
  });
}

/** This process' limit on open files (`ulimit -n`), or 1024 when it cannot be read. */
export function openFileLimit(): number {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? 1 << 20 : Number(out) || 1024;
  } catch {
    return 1024;
  }
}
