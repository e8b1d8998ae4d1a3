import { spawn, type ChildProcess } from 'node:child_process';
import { unusedPort } from './ports';

const BINARY = '/usr/bin/prometheus-pushgateway';

/** One metric family of a group, as the gateway's `/api/v1/metrics` shows it (values are strings). */
export interface GatewayFamily {
  readonly type: string;
  readonly help?: string;
  readonly metrics: ReadonlyArray<{
    readonly labels: Record<string, string>;
    readonly value?: string;
    readonly buckets?: Record<string, string>;
    readonly count?: string;
    readonly sum?: string;
  }>;
}

/** One group: its grouping labels, and its families by name (`labels` excluded). */
export interface GatewayGroup {
  readonly labels: Record<string, string>;
  readonly families: ReadonlyMap<string, GatewayFamily>;
}

/** Live gateways, killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Debian's `prometheus-pushgateway` on a loopback port of its own, in memory
 * only (no persistence file), with the admin API on so a test can wipe it.
 * `stop()` then `start()` brings it back on the same port (empty): a gateway
 * that was down.
 */
export class PushgatewayServer {
  readonly output: string[] = [];
  private child: ChildProcess | undefined;

  private constructor(
    private port: number,
    private readonly binary: string = BINARY,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** host:port, for a scrape target. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts a gateway on a free port (or on `port`); `binary` default: Debian's. */
  static async start(port?: number, binary?: string): Promise<PushgatewayServer> {
    const server = new PushgatewayServer(port ?? 0, binary);
    await server.start();
    return server;
  }

  /** (Re)starts the process; on the same port when it already had one. */
  async start(): Promise<void> {
    if (this.child) throw new Error('the pushgateway is already running');
    const fixed = this.port !== 0;
    // A port can be taken between probing and binding; try a few (only when we chose it).
    for (let attempt = 0; attempt < (fixed ? 10 : 5); attempt++) {
      const port = fixed ? this.port : await unusedPort();
      const child = spawn(
        this.binary,
        [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--web.enable-admin-api', '--log.level=warn'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      live.add(child);
      child.once('exit', () => live.delete(child));
      const output: string[] = [];
      child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
      child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
      child.once('error', (err) => output.push(`spawn error: ${err.message}`));
      this.child = child;
      this.port = port;
      if (await this.waitReady(child)) {
        this.output.push(...output);
        child.stdout!.on('data', (d: Buffer) => this.output.push(d.toString()));
        child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
        return;
      }
      await this.stop();
      const text = output.join('');
      if (!text.includes('address already in use')) throw new Error(`prometheus-pushgateway did not start:\n${text.slice(-3000)}`);
      if (fixed) await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`prometheus-pushgateway could not listen on ${fixed ? `port ${this.port}` : 'a free port'}`);
  }

  private async waitReady(child: ChildProcess): Promise<boolean> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      try {
        const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return true;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  /** Stops the process (SIGTERM, SIGKILL after 5 s); the port is kept for start(). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** Every group the gateway holds (`GET /api/v1/metrics`). */
  async groups(): Promise<GatewayGroup[]> {
    const res = await fetch(`${this.url}/api/v1/metrics`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data: Array<Record<string, unknown>> };
    if (body.status !== 'success') throw new Error(`/api/v1/metrics answered ${JSON.stringify(body).slice(0, 500)}`);
    return body.data.map((entry) => {
      const { labels, ...families } = entry;
      return { labels: labels as Record<string, string>, families: new Map(Object.entries(families as Record<string, GatewayFamily>)) };
    });
  }

  /** The group whose grouping labels are exactly `labels`, if any. */
  async group(labels: Record<string, string>): Promise<GatewayGroup | undefined> {
    return (await this.groups()).find((group) => sameLabels(group.labels, labels));
  }

  /** Polls group(labels) until `accept` likes it (it may be undefined) or `timeoutMs` passes; returns the last one seen. */
  async waitForGroup(
    labels: Record<string, string>,
    accept: (group: GatewayGroup | undefined) => boolean,
    timeoutMs = 10_000,
  ): Promise<GatewayGroup | undefined> {
    const deadline = Date.now() + timeoutMs;
    let group = await this.group(labels);
    while (!accept(group) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      group = await this.group(labels);
    }
    return group;
  }

  /** A request of the test's own to the gateway (e.g. a PUT of a group); returns status and body. */
  async request(method: 'PUT' | 'POST' | 'DELETE', path: string, body?: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      ...(body !== undefined ? { body, headers: { 'Content-Type': 'text/plain; version=0.0.4' } } : {}),
      signal: AbortSignal.timeout(5000),
    });
    return { status: res.status, body: await res.text() };
  }

  /** Removes every group (admin API). */
  async wipe(): Promise<void> {
    const { status } = await this.request('PUT', '/api/v1/admin/wipe');
    if (status !== 202 && status !== 200) throw new Error(`wipe answered ${status}`);
    const emptied = await this.waitUntil(async () => (await this.groups()).length === 0, 5000);
    if (!emptied) throw new Error('the gateway still holds groups after a wipe');
  }

  private async waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }
}

export function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** The value of the family's one sample (a gauge, counter or untyped), as a number; undefined when absent. */
export function familyValue(group: GatewayGroup | undefined, name: string): number | undefined {
  const family = group?.families.get(name);
  if (!family || family.metrics.length !== 1 || family.metrics[0]!.value === undefined) return undefined;
  return Number(family.metrics[0]!.value);
}
