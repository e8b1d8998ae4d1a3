// The fake bridges of the benchmarks and soak runs (not counted in any
// measurement): one FakeTarget is one bridge on a loopback port; a FakeFleet
// is many of them in this one process, one port each, so that every peer
// sees a plain list of targets (`instance` = 127.0.0.1:<port>) and no
// per-path relabelling is needed.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../helpers/close-server';
import { onCleanup } from './bench-support';

/**
 * A stand-in bridge on a loopback port serving N series whose values change
 * on every request:
 *   /metrics        Prometheus text 0.0.4: N gauges `jitsi_jvb_bench_<i>`, each with HELP and TYPE;
 *   /colibri/stats  a JVB-shaped JSON object: `total_bytes_received`, `bit_rate_download` (so it is
 *                   recognised as a JVB) and N numeric fields `bench_<i>` (mapped to gauges `jitsi_bench_<i>`).
 * Half the series carry integer values, half fractional ones (as a JVB's do).
 * Every answered request's arrival time (Date.now()) is recorded.
 */
export class FakeTarget {
  /** Arrival times (ms since the epoch) of the answered requests, per path, since the last reset(). */
  readonly served = new Map<string, number[]>();
  private server: http.Server | undefined;
  private port = 0;
  private requestNo = 0;
  private readonly nativeHead: string[];

  constructor(readonly series: number) {
    this.nativeHead = Array.from(
      { length: series },
      (_, i) => `# HELP jitsi_jvb_bench_${i} Benchmark gauge number ${i}.\n# TYPE jitsi_jvb_bench_${i} gauge\njitsi_jvb_bench_${i} `,
    );
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  reset(): void {
    this.served.clear();
  }

  times(path: string): number[] {
    return this.served.get(path) ?? [];
  }

  private value(i: number): number {
    const r = this.requestNo;
    return i % 2 === 0 ? (r * 7919 + i * 104_729) % 1_000_003 : Math.round(((r * 31 + i) % 9973) * 1.37 * 1000) / 1000 + Math.random();
  }

  private nativeBody(): string {
    const parts: string[] = new Array(this.series);
    for (let i = 0; i < this.series; i++) parts[i] = this.nativeHead[i]! + this.value(i) + '\n';
    return parts.join('');
  }

  private colibriBody(): string {
    const r = this.requestNo;
    const parts: string[] = [`"total_bytes_received":${1_000_000 + r * 12_345}`, `"bit_rate_download":${(r * 37) % 5000}`];
    for (let i = 0; i < this.series; i++) parts.push(`"bench_${i}":${this.value(i)}`);
    return `{${parts.join(',')}}`;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      this.requestNo++;
      let body: string;
      let type: string;
      if (path === '/metrics') {
        body = this.nativeBody();
        type = 'text/plain; version=0.0.4; charset=utf-8';
      } else if (path === '/colibri/stats') {
        body = this.colibriBody();
        type = 'application/json';
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      let list = this.served.get(path);
      if (!list) this.served.set(path, (list = []));
      list.push(Date.now());
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }).end(body);
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    onCleanup(() => this.stop());
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeServer(server);
  }
}

/**
 * `bridges` FakeTargets of `series` series each, on ports of their own, in
 * this process. A /metrics request costs the fake about 2 µs a series (one
 * string per line, joined; 3.7 ms for 2 000 series on the 2-core build
 * machine), so 50 bridges of 2 000 series polled every 5 s take it about
 * 40 ms of CPU a second.
 */
export class FakeFleet {
  readonly targets: FakeTarget[];

  constructor(
    readonly bridges: number,
    readonly series: number,
  ) {
    this.targets = Array.from({ length: bridges }, () => new FakeTarget(series));
  }

  async start(): Promise<this> {
    for (const target of this.targets) await target.start();
    return this;
  }

  reset(): void {
    for (const target of this.targets) target.reset();
  }

  async stop(): Promise<void> {
    await Promise.all(this.targets.map((target) => target.stop()));
  }
}
