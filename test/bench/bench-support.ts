// Shared by test/bench/agent-vs-prometheus.bench.ts and test/bench/soak.ts
// (not a benchmark itself): reading a process' CPU time and RSS from /proc,
// the machine's description, a fake scrape target, Prometheus in agent mode,
// and stopping everything that was started on any way out (error, SIGINT,
// SIGTERM, a watchdog).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeServer } from '../helpers/close-server';
import { unusedPort } from '../helpers/ports';

// ---------------------------------------------------------------- /proc

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (`getconf CLK_TCK`, 100 on Linux). */
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
if (!Number.isInteger(CLK_TCK) || CLK_TCK <= 0) throw new Error(`getconf CLK_TCK gave ${CLK_TCK}`);

/**
 * CPU seconds the process has used so far in user space and in the kernel
 * (all threads), from /proc/<pid>/stat fields 14 (utime) and 15 (stime). The
 * command name (field 2) may hold spaces and parentheses, so the fields are
 * counted after its last ')'.
 */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read utime/stime of ${pid}: ${stat}`);
  return { user: utime / CLK_TCK, system: stime / CLK_TCK };
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

// ---------------------------------------------------------------- numbers

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const MiB = 1024 * 1024;

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A plain text table: the first `leftColumns` columns left-aligned, the rest right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: readonly string[]) => c.map((x, i) => (i < leftColumns ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- the machine

export function machineDescription(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux: os.cpus() it is
  }
  let prometheus = 'prometheus not found';
  try {
    prometheus = execFileSync('prometheus', ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().split('\n')[0]!;
  } catch {
    // reported as not found
  }
  let revision = 'unknown';
  try {
    revision = (JSON.parse(readFileSync(join(__dirname, '../../dist/build-info.json'), 'utf8')) as { revision?: string }).revision ?? revision;
  } catch {
    // no build info
  }
  const memGiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024 / 1024;
  return [
    `date:    ${new Date().toISOString()}`,
    `machine: ${model}, ${cpus().length} cores, ${memGiB.toFixed(1)} GiB RAM, CLK_TCK ${CLK_TCK}`,
    `node:    ${process.version}; agent: dist/cli.js (build-info revision ${revision}); ${prometheus}`,
  ].join('\n');
}

// ---------------------------------------------------------------- cleanup

type CleanupFn = () => Promise<void> | void;
const cleanups: CleanupFn[] = [];
let cleaning: Promise<void> | undefined;

/** Registers something to undo at the end (run newest first); returns a function that unregisters it. */
export function onCleanup(fn: CleanupFn): () => void {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Runs every registered cleanup once (newest first); errors are logged, never thrown. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      try {
        await fn();
      } catch (error) {
        console.error('cleanup failed:', error);
      }
    }
  })();
  return cleaning;
}

/**
 * Runs `main` with every started process and temporary folder stopped and
 * removed at the end, whichever way it ends: return, throw, SIGINT, SIGTERM,
 * or `limitMs` passing (the watchdog). Sets the exit code: main's, or 1 on an
 * error or the watchdog, 130/143 on a signal.
 */
export function runBounded(name: string, limitMs: number, main: () => Promise<number>): void {
  let finished = false;
  const finish = async (code: number, why?: string) => {
    if (finished) return;
    finished = true;
    if (why) console.error(`${name}: ${why}; stopping everything it started`);
    clearTimeout(watchdog);
    await cleanupAll();
    process.exit(code);
  };
  const watchdog = setTimeout(() => void finish(1, `still running after ${Math.round(limitMs / 1000)} s (the watchdog)`), limitMs);
  process.once('SIGINT', () => void finish(130, 'SIGINT'));
  process.once('SIGTERM', () => void finish(143, 'SIGTERM'));
  main().then(
    (code) => finish(code),
    (error: unknown) => {
      console.error(error);
      void finish(1, 'failed');
    },
  );
}

/** A temporary folder, removed at cleanup. */
export function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------- fake target

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

// ---------------------------------------------------------------- processes

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Prometheus in agent mode (`--enable-feature=agent`): scrapes one target
 * every `interval` and remote-writes everything to `remoteWriteUrl` with the
 * default queue settings. (test/helpers/prometheus-server.ts always passes
 * --storage.tsdb.path, which agent mode refuses, hence this.)
 */
export class PrometheusAgent {
  readonly output: string[] = [];
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stdout!.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(opts: { job: string; target: string; interval: string; remoteWriteUrl: string }): Promise<PrometheusAgent> {
    const dir = temporaryDir('jvb-bench-prom-agent-');
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:
  scrape_interval: ${opts.interval}
  scrape_timeout: ${opts.interval}
scrape_configs:
  - job_name: ${JSON.stringify(opts.job)}
    static_configs:
      - targets: [${JSON.stringify(opts.target)}]
remote_write:
  - url: ${JSON.stringify(opts.remoteWriteUrl)}
`,
    );
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await unusedPort();
      const child = spawn(
        'prometheus',
        [
          '--enable-feature=agent',
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.agent.path=${join(dir, `data-${attempt}`)}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const agent = new PrometheusAgent(child, `http://127.0.0.1:${port}`);
      const unregister = onCleanup(() => stopChild(child, 10_000));
      if (await agent.waitReady()) {
        return agent;
      }
      await stopChild(child, 10_000);
      unregister();
      if (!agent.output.join('').includes('address already in use')) {
        throw new Error(`prometheus (agent mode) did not start:\n${agent.output.join('').slice(-3000)}`);
      }
    }
    throw new Error('prometheus (agent mode) could not find a free port');
  }

  private async waitReady(): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && this.child.exitCode === null) {
      try {
        const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return true;
      } catch {
        // not yet
      }
      await sleep(200);
    }
    return false;
  }

  stop(): Promise<void> {
    return stopChild(this.child, 10_000);
  }
}

/**
 * Samples with timestamps in the range selector's range, counted here from
 * the raw samples of `selector[range]` evaluated at `timeSec` (seconds since
 * the epoch): in total, and of the series whose name matches `names`. (Not
 * `sum(count_over_time(...))`: count_over_time drops the metric name, and
 * series that differ only by name then make the query fail with "vector
 * cannot contain metrics with the same labelset".) Stale markers are not
 * samples and are not returned.
 */
export async function countSamples(
  receiverUrl: string,
  selector: string,
  range: string,
  timeSec: number,
  names: RegExp,
): Promise<{ matching: number; all: number; series: number }> {
  const promql = `${selector}[${range}]`;
  const url = `${receiverUrl}/api/v1/query?query=${encodeURIComponent(promql)}&time=${timeSec.toFixed(3)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const body = (await res.json()) as { status: string; data?: { result: { metric: Record<string, string>; values: unknown[] }[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
  let matching = 0;
  let all = 0;
  for (const series of body.data!.result) {
    all += series.values.length;
    if (names.test(series.metric['__name__'] ?? '')) matching += series.values.length;
  }
  return { matching, all, series: body.data!.result.length };
}

