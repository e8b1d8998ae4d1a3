// Benchmark (not a test): our agent against Prometheus' own agent mode, side
// by side on one machine, pushing the same series to the same receiver.
//
//   npm run build && npx tsx test/bench/agent-vs-prometheus.bench.ts   (or: npm run bench:agent)
//   BENCH_N=150,10000 BENCH_WARMUP=20 BENCH_WINDOW=40 npx tsx test/bench/agent-vs-prometheus.bench.ts
//   npx tsx test/bench/agent-vs-prometheus.bench.ts --n=10000 --warmup=10 --window=20 --who=ours-native
//
// Settings (environment variable or flag; defaults in brackets):
//   BENCH_N        --n=        series counts, comma-separated              [150,10000]
//   BENCH_WARMUP   --warmup=   seconds each contestant runs before the window [20]
//   BENCH_WINDOW   --window=   seconds of the measured window               [40]
//   BENCH_WHO      --who=      contestants, comma-separated                [ours-native,ours-colibri,prom-agent]
//   BENCH_CPU_PROF --cpu-prof= a folder: run our agent under `node --cpu-prof` writing its profiles there
//   BENCH_MESSAGE  --message=  our agent's --remote-write.protobuf-message: 1.0 (prometheus.WriteRequest)
//                              or 2.0 (io.prometheus.write.v2.Request; the receiver is then Prometheus 3.5
//                              from Debian sid, fetched by test/helpers/sid-components.ts)          [1.0]
//   BENCH_NODE_FLAGS --node-flags= node flags for our agent, space-separated [those of dist/cli.js' #! line]
//                              (profiling slows it down; use for where the time goes, not for the numbers)
//
// On loopback: a fake bridge (bench-support.ts' FakeTarget) serving N series
// whose values change on every request, as Prometheus text 0.0.4 at /metrics
// (N gauges jitsi_jvb_bench_<i> with HELP and TYPE) and as a JVB-shaped JSON
// object at /colibri/stats (N fields bench_<i>, which the agent maps to
// gauges jitsi_bench_<i>, plus total_bytes_received and bit_rate_download so
// that it is recognised as a JVB); a real Prometheus as the remote-write
// receiver (--web.enable-remote-write-receiver). Then, one after the other:
//   ours-native   node dist/cli.js --jvb.url=<fake>/metrics        --poll.interval=1s, durable queue on disk, job bench-native
//   ours-colibri  node dist/cli.js --jvb.url=<fake>/colibri/stats  --poll.interval=1s, durable queue on disk, job bench-colibri
//   prom-agent    prometheus --enable-feature=agent scraping <fake>/metrics every 1s, default remote_write
//                 queue settings, job bench-prom-agent
//
// Each contestant: a warm-up, then a window of fixed length whose boundaries
// are put half-way between two polls (the window starts half an interval
// after the first request the fake answers once the warm-up is over), so that
// no poll's sample timestamp (taken when the poll starts, a few ms before the
// fake sees the request) can fall on the other side of a boundary; the
// smallest distance between a request and a boundary is printed as "margin".
// Measured over the window:
//   polls     requests the fake answered with arrival time in (start, end]
//   expected  N x polls
//   received  samples of the N bench series with timestamps in (start, end] at the receiver: the raw
//             samples of {job="J"}[<window - 1ms>] evaluated at `end`, counted per series name here
//             (Prometheus 2.x range selectors include both ends, so window - 1 ms is (start, end] for
//             millisecond timestamps; sum(count_over_time(...)) cannot be used: it drops the names,
//             and series differing only by name then collide); queried after the window until it
//             equals `expected` or 30 s pass (Prometheus' queue waits up to 5 s to fill a batch)
//   all       the same for every series of the job (the agent's own metrics, Prometheus' up/scrape_*)
//   CPU-ms    utime + stime of the process (all threads) from /proc/<pid>/stat, read at start and end
//   sys-ms    the stime part of CPU-ms (time in the kernel: sockets, files, page faults)
//   CPU/1k    CPU-ms per 1000 received bench samples
//   RSS       VmRSS from /proc/<pid>/status, read every second in the window: median and max
// The fake, the receiver and this script run on the same machine and are not
// counted; on a 2-core machine they compete with the contestant for CPU, the
// same for every contestant.

import { sidComponents, versionOf } from '../helpers/sid-components';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PrometheusServer } from '../helpers/prometheus-server';
import { AgentProcess, productionNodeFlags } from '../helpers/agent-process';
import {
  countSamples,
  cpuTimes,
  FakeTarget,
  fmt,
  machineDescription,
  median,
  MiB,
  onCleanup,
  PrometheusAgent,
  rssBytes,
  runBounded,
  sleep,
  table,
  temporaryDir,
} from './bench-support';

type Who = 'ours-native' | 'ours-colibri' | 'prom-agent';
const ALL_WHO: readonly Who[] = ['ours-native', 'ours-colibri', 'prom-agent'];

const INTERVAL_MS = 1000;

function setting(env: string, flag: string): string | undefined {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${flag}=`));
  return arg !== undefined ? arg.slice(flag.length + 3) : process.env[env];
}

function badSetting(message: string): never {
  console.error(message);
  process.exit(2);
}

function numbers(text: string, what: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v <= 0)) badSetting(`${what}: expected positive numbers, got ${JSON.stringify(text)}`);
  return values;
}

const SERIES = numbers(setting('BENCH_N', 'n') ?? '150,10000', 'BENCH_N').map(Math.round);
const WARMUP_S = numbers(setting('BENCH_WARMUP', 'warmup') ?? '20', 'BENCH_WARMUP')[0]!;
const WINDOW_S = Math.round(numbers(setting('BENCH_WINDOW', 'window') ?? '40', 'BENCH_WINDOW')[0]!);
const WHO = (setting('BENCH_WHO', 'who') ?? ALL_WHO.join(',')).split(',').map((s) => s.trim()) as Who[];
for (const w of WHO) if (!ALL_WHO.includes(w)) badSetting(`BENCH_WHO: unknown contestant ${JSON.stringify(w)} (known: ${ALL_WHO.join(', ')})`);
const CPU_PROF = setting('BENCH_CPU_PROF', 'cpu-prof');
const MESSAGE_SETTING = setting('BENCH_MESSAGE', 'message') ?? '1.0';
const MESSAGE = ({ '1.0': 'prometheus.WriteRequest', '2.0': 'io.prometheus.write.v2.Request', 'prometheus.WriteRequest': 'prometheus.WriteRequest', 'io.prometheus.write.v2.Request': 'io.prometheus.write.v2.Request' } as Record<string, string>)[MESSAGE_SETTING] ?? badSetting(`BENCH_MESSAGE: 1.0 or 2.0, got ${JSON.stringify(MESSAGE_SETTING)}`);
/** Prometheus 2.42 does not read 2.0 (the agent would fall back): a 2.0 run writes to Prometheus 3.5. */
const RECEIVER_BINARY = MESSAGE === 'prometheus.WriteRequest' ? undefined : sidComponents().prometheus;
/** Extra node flags for our agent, e.g. BENCH_NODE_FLAGS="--max-semi-space-size=2" to try V8 heap settings. */
const NODE_FLAGS = (setting('BENCH_NODE_FLAGS', 'node-flags') ?? productionNodeFlags().join(' ')).split(' ').filter((flag) => flag !== '');

interface Contestant {
  readonly who: Who;
  readonly job: string;
  /** The fake's path it polls. */
  readonly path: '/metrics' | '/colibri/stats';
  /** __name__ regex of the N bench series as they arrive at the receiver. */
  readonly nameRegex: string;
}

const CONTESTANTS: Record<Who, Contestant> = {
  'ours-native': { who: 'ours-native', job: 'bench-native', path: '/metrics', nameRegex: 'jitsi_jvb_bench_[0-9]+' },
  'ours-colibri': { who: 'ours-colibri', job: 'bench-colibri', path: '/colibri/stats', nameRegex: 'jitsi_bench_[0-9]+' },
  'prom-agent': { who: 'prom-agent', job: 'bench-prom-agent', path: '/metrics', nameRegex: 'jitsi_jvb_bench_[0-9]+' },
};

interface Running {
  readonly pid: number;
  alive(): boolean;
  stop(): Promise<void>;
  log(): string;
}

interface Result {
  readonly series: number;
  readonly who: Who;
  readonly polls: number;
  readonly expected: number;
  readonly received: number;
  readonly all: number;
  readonly cpuMs: number;
  /** The kernel's part of cpuMs (stime). */
  readonly sysMs: number;
  readonly windowMs: number;
  readonly rssMedian: number;
  readonly rssMax: number;
  readonly marginMs: number;
}

async function startContestant(c: Contestant, fake: FakeTarget, receiver: PrometheusServer): Promise<Running> {
  if (c.who === 'prom-agent') {
    const agent = await PrometheusAgent.start({
      job: c.job,
      target: fake.hostPort,
      interval: `${INTERVAL_MS / 1000}s`,
      remoteWriteUrl: `${receiver.url}/api/v1/write`,
    });
    return { pid: agent.pid, alive: () => agent.child.exitCode === null, stop: () => agent.stop(), log: () => agent.output.join('').slice(-3000) };
  }
  const storage = temporaryDir('jvb-bench-storage-');
  const nodeFlags = [
    ...NODE_FLAGS,
    ...(CPU_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(CPU_PROF), `${c.who}-${fake.series}`)}`] : []),
  ];
  const agent = AgentProcess.spawn(
    [
      `--jvb.url=${fake.baseUrl}${c.path}`,
      `--poll.interval=${INTERVAL_MS / 1000}s`,
      `--remote-write.url=${receiver.url}/api/v1/write`,
      `--remote-write.job=${c.job}`,
      `--remote-write.protobuf-message=${MESSAGE}`,
      `--storage.path=${storage}`,
      '--web.listen-address=127.0.0.1:0',
    ],
    {},
    nodeFlags,
  );
  onCleanup(() => agent.stop().then(() => undefined));
  await agent.waitForLine(/JVB poll succeeded|level=error/, 30_000);
  return { pid: agent.pid, alive: () => agent.exitCode === null, stop: () => agent.stop().then(() => undefined), log: () => agent.lines.slice(-30).join('\n') };
}

async function waitUntil(at: number): Promise<void> {
  const wait = at - Date.now();
  if (wait > 0) await sleep(wait);
}

async function runOne(series: number, c: Contestant, fake: FakeTarget, receiver: PrometheusServer): Promise<Result> {
  fake.reset();
  const proc = await startContestant(c, fake, receiver);
  const assertAlive = (when: string) => {
    if (!proc.alive()) throw new Error(`${c.who} exited ${when}:\n${proc.log()}`);
  };
  try {
    await sleep(WARMUP_S * 1000);
    assertAlive('during the warm-up');

    // The window starts half an interval after the first request answered after the warm-up.
    const warmEnd = Date.now();
    const firstDeadline = warmEnd + 10 * INTERVAL_MS;
    let next: number | undefined;
    while (next === undefined) {
      next = fake.times(c.path).find((t) => t > warmEnd);
      if (next === undefined) {
        if (Date.now() > firstDeadline) throw new Error(`${c.who}: no poll within ${10 * INTERVAL_MS} ms after the warm-up\n${proc.log()}`);
        await sleep(20);
      }
    }
    const start = next + INTERVAL_MS / 2;
    const end = start + WINDOW_S * 1000;

    await waitUntil(start);
    const cpu0 = cpuTimes(proc.pid);
    const t0 = performance.now();
    const rss: number[] = [rssBytes(proc.pid)];
    const sampler = setInterval(() => {
      if (proc.alive()) rss.push(rssBytes(proc.pid));
    }, 1000);
    try {
      await waitUntil(end);
    } finally {
      clearInterval(sampler);
    }
    assertAlive('during the window');
    const cpu1 = cpuTimes(proc.pid);
    const windowMs = performance.now() - t0;
    rss.push(rssBytes(proc.pid));

    // Let the request just after `end` arrive too, for the margin.
    await sleep(INTERVAL_MS);
    const times = fake.times(c.path);
    const polls = times.filter((t) => t > start && t <= end).length;
    const marginMs = Math.min(...times.filter((t) => t > start - INTERVAL_MS && t <= end + INTERVAL_MS).map((t) => Math.min(Math.abs(t - start), Math.abs(t - end))));
    const expected = series * polls;

    const range = `${WINDOW_S * 1000 - 1}ms`;
    const names = new RegExp(`^${c.nameRegex}$`);
    let counted = { matching: 0, all: 0, series: 0 };
    const deadline = Date.now() + 30_000;
    for (;;) {
      counted = await countSamples(receiver.url, `{job="${c.job}"}`, range, end / 1000, names);
      if (counted.matching >= expected || Date.now() > deadline) break;
      await sleep(1000);
    }
    const received = counted.matching;
    const all = counted.all;
    return {
      series,
      who: c.who,
      polls,
      expected,
      received,
      all,
      cpuMs: (cpu1.user + cpu1.system - cpu0.user - cpu0.system) * 1000,
      sysMs: (cpu1.system - cpu0.system) * 1000,
      windowMs,
      rssMedian: median(rss),
      rssMax: Math.max(...rss),
      marginMs,
    };
  } finally {
    await proc.stop();
  }
}

const cpuPer1k = (r: Result) => (r.received > 0 ? r.cpuMs / (r.received / 1000) : NaN);

function row(r: Result): string[] {
  return [
    fmt(r.series),
    r.who,
    String(r.polls),
    fmt(r.expected),
    fmt(r.received),
    fmt(r.all),
    fmt(r.cpuMs),
    fmt(r.sysMs),
    fmt((r.cpuMs / r.windowMs) * 100, 1),
    fmt(cpuPer1k(r), 2),
    fmt(r.rssMedian / MiB, 1),
    fmt(r.rssMax / MiB, 1),
    fmt(r.marginMs),
  ];
}

const HEADER = ['N', 'who', 'polls', 'expected', 'received', 'all', 'CPU-ms', 'sys-ms', 'CPU %', 'CPU-ms/1k', 'RSS med MiB', 'RSS max MiB', 'margin ms'];

async function main(): Promise<number> {
  const began = Date.now();
  console.log('agent vs Prometheus agent mode: CPU and memory per sample pushed, same series, same receiver');
  console.log(machineDescription());
  console.log(
    `settings: N=${SERIES.join(',')} warm-up ${WARMUP_S} s, window ${WINDOW_S} s, poll/scrape interval ${INTERVAL_MS / 1000} s, ` +
      `contestants ${WHO.join(', ')}${CPU_PROF !== undefined ? `, our agent under --cpu-prof (numbers inflated) -> ${CPU_PROF}` : ''}\n`,
  );

  const receiver = await PrometheusServer.start({ remoteWriteReceiver: true, ...(RECEIVER_BINARY === undefined ? {} : { binary: RECEIVER_BINARY }) });
  console.log(`our agent writes ${MESSAGE}; receiver: ${versionOf(RECEIVER_BINARY ?? 'prometheus')}`);
  onCleanup(() => receiver.stop());

  const results: Result[] = [];
  let problems = 0;
  for (const series of SERIES) {
    const fake = await new FakeTarget(series).start();
    // Body sizes, for context (one request each; the counts restart with reset() in runOne).
    const sizes = await Promise.all(['/metrics', '/colibri/stats'].map(async (p) => (await (await fetch(fake.baseUrl + p)).arrayBuffer()).byteLength));
    console.log(`N=${fmt(series)}: fake bodies /metrics ${fmt(sizes[0]! / 1024, 1)} KiB, /colibri/stats ${fmt(sizes[1]! / 1024, 1)} KiB`);
    for (const who of WHO) {
      const r = await runOne(series, CONTESTANTS[who], fake, receiver);
      results.push(r);
      const flags: string[] = [];
      if (r.received !== r.expected) flags.push(`received != expected (${fmt(r.received - r.expected)})`);
      if (r.marginMs < 100) flags.push(`a poll within ${fmt(r.marginMs)} ms of a window boundary`);
      if (flags.length > 0) problems++;
      const cells = row(r);
      console.log(`  ${HEADER.map((h, i) => `${h}=${cells[i]}`).join(' ')}${flags.length ? `   <- ${flags.join('; ')}` : ''}`);
    }
    await fake.stop();
  }

  console.log('\nall runs:\n');
  console.log(table(HEADER, results.map(row), 2));
  console.log('\nratios ours / Prometheus agent mode (same N; < 1 means ours is cheaper):');
  for (const series of SERIES) {
    const prom = results.find((r) => r.series === series && r.who === 'prom-agent');
    if (!prom) continue;
    for (const who of ['ours-native', 'ours-colibri'] as const) {
      const ours = results.find((r) => r.series === series && r.who === who);
      if (!ours) continue;
      console.log(
        `  N=${fmt(series)} ${who.padEnd(12)}  CPU-ms/1k samples ${(cpuPer1k(ours) / cpuPer1k(prom)).toFixed(2)}` +
          `  (${fmt(cpuPer1k(ours), 2)} vs ${fmt(cpuPer1k(prom), 2)})` +
          `   RSS median ${(ours.rssMedian / prom.rssMedian).toFixed(2)} (${fmt(ours.rssMedian / MiB, 1)} vs ${fmt(prom.rssMedian / MiB, 1)} MiB)` +
          `   RSS max ${(ours.rssMax / prom.rssMax).toFixed(2)}`,
      );
    }
  }
  if (CPU_PROF !== undefined) {
    const dir = resolve(CPU_PROF);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.cpuprofile'));
    console.log(`\nCPU profiles of our agent in ${dir}: ${files.map((f) => `${f} (${fmt(statSync(join(dir, f)).size / 1024)} KiB)`).join(', ')}`);
  }
  console.log(`\n${problems === 0 ? 'every run: received == expected' : `${problems} run(s) flagged above`}; total runtime ${fmt((Date.now() - began) / 1000)} s`);
  return problems === 0 ? 0 : 1;
}

// Bounded: each run takes warm-up + window + at most ~75 s (start, the first poll, delivery, stop).
const LIMIT_MS = (SERIES.length * WHO.length * (WARMUP_S + WINDOW_S + 120) + 120) * 1000;
runBounded('agent-vs-prometheus bench', LIMIT_MS, main);
