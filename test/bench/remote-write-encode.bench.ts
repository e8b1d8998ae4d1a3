// Benchmark (not a test): prom-client registry -> compressed remote-write
// request bodies, for our RemoteWrite1Encoder (1.0), our RemoteWrite2Encoder
// (2.0: symbols, label refs, metadata in every series) and for the npm package
// `prometheus-remote-write` (huksley, 1.0) on the same series. Bytes per
// sample are given compressed (on the wire) and uncompressed.
//
//   node -r tsx/cjs test/bench/remote-write-encode.bench.ts     (or: npm run bench)
//
// What is timed, for both: registry.getMetricsAsJSON() plus everything up to
// snappy-compressed bodies in memory (no network); for ours that includes
// turning the JSON into the family model the encoder reads (as the agent does
// with its own metrics; a bridge's families reach the encoder without it). Requests hold at most 2000
// samples each for both (the peer is called once per 2000-series chunk, with a
// `fetch` stub that captures the body instead of sending it).
// Gauge values change between repetitions (outside the timed region), and
// every poll's timestamp is 5 s after the previous one. Both encoders are
// JIT-warmed on a separate registry first. Medians are printed.
//
// Goals: >= 5x the peer's throughput at 10 000 series; >= 1 million
// samples/s at 100 000 series; bytes/sample within 10% of the peer's.
//
// Ours compresses with the native `snappy` package when it is installed (an
// optional dependency), else with snappyjs; BENCH_SNAPPYJS=1 forces snappyjs.

import { Gauge, Registry } from 'prom-client';
import { pushTimeseries } from 'prometheus-remote-write';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { uncompress } from 'snappyjs';

// Measure the compiled build (what runs in production; `npm run bench` builds
// it first) when it exists, else the TypeScript sources through tsx (whose
// CommonJS interop reads every import through a getter, a few % slower).
type EncoderModule = typeof import('../../src/sinks/remote-write/remote-write-encoder');
type Encoder2Module = typeof import('../../src/sinks/remote-write/remote-write-2-encoder');
type SnappyModule = typeof import('../../src/sinks/remote-write/snappy-block');
type RegistryFamiliesModule = typeof import('../../src/registry/registry-families');
const DIST_DIR = path.resolve(__dirname, '../../dist/sinks/remote-write');
const SOURCE_DIR = existsSync(path.join(DIST_DIR, 'remote-write-encoder.js')) ? DIST_DIR : path.resolve(__dirname, '../../src/sinks/remote-write');
const ENCODER_SOURCE = path.join(SOURCE_DIR, 'remote-write-encoder');
/* eslint-disable @typescript-eslint/no-require-imports */
const { RemoteWrite1Encoder } = require(ENCODER_SOURCE) as EncoderModule;
const { RemoteWrite2Encoder } = require(path.join(SOURCE_DIR, 'remote-write-2-encoder')) as Encoder2Module;
const makeEncoder = (version: 1 | 2) =>
  version === 1 ? new RemoteWrite1Encoder({ maxSamplesPerRequest: MAX_SAMPLES_PER_REQUEST }) : new RemoteWrite2Encoder({ maxSamplesPerRequest: MAX_SAMPLES_PER_REQUEST });
const { snappyBlock, snappyCompressor, forceSnappyjs } = require(path.join(SOURCE_DIR, 'snappy-block')) as SnappyModule;
const { familiesFromRegistry } = require(path.join(SOURCE_DIR, '../../registry/registry-families')) as RegistryFamiliesModule;
/* eslint-enable @typescript-eslint/no-require-imports */
if (process.env.BENCH_SNAPPYJS === '1') forceSnappyjs(true);

const MAX_SAMPLES_PER_REQUEST = 2000;
const FAMILIES = 10;
const POLL_INTERVAL_MS = 5000;

interface Plan {
  series: number;
  cold: number;
  steady: number;
  peer: number;
}
const PLANS: Plan[] = [
  { series: 150, cold: 30, steady: 300, peer: 100 },
  { series: 10_000, cold: 7, steady: 41, peer: 9 },
  { series: 100_000, cold: 3, steady: 15, peer: 5 },
];

interface Fixture {
  registry: Registry;
  update(): void;
}

/** N series over FAMILIES gauge families with two labels each; values change on update(). */
function makeFixture(series: number): Fixture {
  const registry = new Registry();
  const gauges: Gauge<'conference' | 'endpoint'>[] = [];
  for (let f = 0; f < FAMILIES; f++) {
    gauges.push(
      new Gauge({
        name: `jvb_bench_metric_${f}`,
        help: `Benchmark gauge number ${f}`,
        labelNames: ['conference', 'endpoint'],
        registers: [registry],
      }),
    );
  }
  const labels = Array.from({ length: series }, (_, i) => ({
    conference: `conf-${Math.floor(i / 100)}`,
    endpoint: `ep-${i.toString(36)}`,
  }));
  const update = () => {
    for (let i = 0; i < series; i++) {
      // half the families carry integer-valued counts, half fractional values
      const f = i % FAMILIES;
      const value = f % 2 === 0 ? Math.floor(Math.random() * 100_000) : Math.random() * 1000;
      gauges[f]!.set(labels[i]!, value);
    }
  };
  update();
  return { registry, update };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

interface Result {
  series: number;
  /** Median of the getMetricsAsJSON() and familiesFromRegistry() part alone (ours only). */
  readMs?: number;
  /** Median time our compressor takes to compress the same uncompressed bodies (ours only). */
  compressMs?: number;
  encoder: string;
  phase: string;
  reps: number;
  ms: number;
  samplesPerSec: number;
  bytesPerSample: number;
  /** Uncompressed request bytes per sample (ours only; the last poll's sample requests). */
  rawBytesPerSample?: number;
  requests: number;
}

async function runOurs(fx: Fixture, series: number, reps: number, cold: boolean, t0: number, version: 1 | 2 = 1): Promise<Result> {
  const times: number[] = [];
  const readTimes: number[] = [];
  const compressTimes: number[] = [];
  let bytes = 0;
  let samples = 0;
  let requests = 0;
  let lastBodies: Buffer[] = [];
  let ts = t0;
  let enc = makeEncoder(version);
  const read = async () => [{ families: familiesFromRegistry(await fx.registry.getMetricsAsJSON()), labels: {} }];
  if (!cold) enc.encodePoll(await read(), (ts += POLL_INTERVAL_MS)); // warm the label cache
  for (let r = 0; r < reps; r++) {
    fx.update();
    if (cold) enc = makeEncoder(version);
    ts += POLL_INTERVAL_MS;
    const start = nowMs();
    const families = await read();
    const readEnd = nowMs();
    const reqs = enc.encodePoll(families, ts);
    times.push(nowMs() - start);
    readTimes.push(readEnd - start);
    requests = reqs.length;
    lastBodies = reqs.filter((q) => q.kind === 'samples').map((q) => q.body);
    for (const q of reqs) {
      if (q.kind !== 'samples') continue;
      bytes += q.body.length;
      samples += q.samples;
    }
  }
  if (samples !== series * reps) throw new Error(`ours: ${samples} samples, expected ${series * reps}`);
  // Afterwards (so its garbage does not land in the timed polls): what the
  // compressor alone costs on the last poll's bodies, work both encoders must do.
  const raw = lastBodies.map((b) => uncompress(new Uint8Array(b)));
  for (let r = 0; r < Math.min(reps, 9); r++) {
    const c0 = nowMs();
    for (const u of raw) snappyBlock(u);
    compressTimes.push(nowMs() - c0);
  }
  const ms = median(times);
  return {
    series,
    encoder: `ours ${version}.0`,
    phase: cold ? 'cold (1st poll)' : 'steady',
    rawBytesPerSample: raw.reduce((n, u) => n + u.length, 0) / series,
    reps,
    ms,
    readMs: median(readTimes),
    compressMs: median(compressTimes),
    samplesPerSec: (series / ms) * 1000,
    bytesPerSample: bytes / samples,
    requests,
  };
}

async function runPeer(fx: Fixture, series: number, reps: number, t0: number): Promise<Result> {
  const times: number[] = [];
  let bytes = 0;
  let samples = 0;
  let requests = 0;
  let captured = 0;
  const fetch = async (_url: string, init?: { body: ArrayBufferLike }) => {
    captured += (init!.body as unknown as Uint8Array).byteLength;
    return { status: 200, statusText: 'OK', text: async () => '' };
  };
  let ts = t0;
  for (let r = 0; r < reps; r++) {
    fx.update();
    ts += POLL_INTERVAL_MS;
    captured = 0;
    let reqCount = 0;
    const start = nowMs();
    const families = await fx.registry.getMetricsAsJSON();
    const all: { labels: { __name__: string; [k: string]: string }; samples: { value: number; timestamp: number }[] }[] = [];
    for (const family of families) {
      for (const v of family.values) {
        const labels: { __name__: string; [k: string]: string } = { __name__: family.name };
        for (const k in v.labels) labels[k] = String(v.labels[k]);
        all.push({ labels, samples: [{ value: v.value, timestamp: ts }] });
      }
    }
    for (let i = 0; i < all.length; i += MAX_SAMPLES_PER_REQUEST) {
      const res = await pushTimeseries(all.slice(i, i + MAX_SAMPLES_PER_REQUEST), { url: 'http://stub.invalid/api/v1/write', fetch });
      if (res.status !== 200) throw new Error(`peer stub returned ${res.status}`);
      reqCount++;
    }
    times.push(nowMs() - start);
    bytes += captured;
    samples += all.length;
    requests = reqCount;
  }
  if (samples !== series * reps) throw new Error(`peer: ${samples} samples, expected ${series * reps}`);
  const ms = median(times);
  return {
    series,
    encoder: 'prometheus-remote-write 0.5.1',
    phase: 'every poll',
    reps,
    ms,
    samplesPerSec: (series / ms) * 1000,
    bytesPerSample: bytes / samples,
    requests,
  };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printTable(rows: Result[]): void {
  const header = ['series', 'encoder', 'phase', 'reps', 'median ms', 'samples/s', 'bytes/sample', 'raw bytes/sample', 'requests'];
  const cells = rows.map((r) => [
    fmt(r.series),
    r.encoder,
    r.phase,
    String(r.reps),
    fmt(r.ms, 2),
    fmt(r.samplesPerSec),
    fmt(r.bytesPerSample, 2),
    r.rawBytesPerSample === undefined ? '' : fmt(r.rawBytesPerSample, 2),
    String(r.requests),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i <= 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

async function main(): Promise<void> {
  const began = nowMs();
  console.log(
    `remote-write encode benchmark: node ${process.version}, ${FAMILIES} gauge families x 2 labels, ` +
      `<= ${MAX_SAMPLES_PER_REQUEST} samples/request, getMetricsAsJSON() included, median of reps\n` +
      `our encoder loaded from ${path.relative(process.cwd(), require.resolve(ENCODER_SOURCE))}, compressing with ${snappyCompressor()}\n`,
  );
  const t0 = Date.now();
  // Warm the JIT for both encoders on a separate small registry first, so
  // "cold" below means a cold label cache, not unoptimised code.
  const warm = makeFixture(2000);
  await runOurs(warm, 2000, 20, true, t0 - 4e7);
  await runOurs(warm, 2000, 40, false, t0 - 3e7);
  await runOurs(warm, 2000, 20, true, t0 - 4e7, 2);
  await runOurs(warm, 2000, 40, false, t0 - 3e7, 2);
  await runPeer(warm, 2000, 20, t0 - 2e7);

  const rows: Result[] = [];
  const verdicts: string[] = [];
  for (const plan of PLANS) {
    const fx = makeFixture(plan.series);
    const cold = await runOurs(fx, plan.series, plan.cold, true, t0);
    const steady = await runOurs(fx, plan.series, plan.steady, false, t0 + 1e7);
    const cold2 = await runOurs(fx, plan.series, plan.cold, true, t0 + 3e7, 2);
    const steady2 = await runOurs(fx, plan.series, plan.steady, false, t0 + 4e7, 2);
    const peer = await runPeer(fx, plan.series, plan.peer, t0 + 2e7);
    rows.push(cold, steady, cold2, steady2, peer);
    verdicts.push(
      `${fmt(plan.series)} series, 2.0 against 1.0 (steady): ${((steady2.bytesPerSample / steady.bytesPerSample - 1) * 100).toFixed(1)}% bytes/sample on the wire, ` +
        `${((steady2.rawBytesPerSample! / steady.rawBytesPerSample! - 1) * 100).toFixed(1)}% uncompressed, ${(steady2.ms / steady.ms).toFixed(2)}x the encode time; ` +
        `first poll ${(cold2.ms / cold.ms).toFixed(2)}x`,
    );
    const speedup = steady.samplesPerSec / peer.samplesPerSec;
    const sizeRatio = steady.bytesPerSample / peer.bytesPerSample;
    verdicts.push(
      `${fmt(plan.series)} series: ${speedup.toFixed(1)}x the peer's throughput (steady), ` +
        `bytes/sample ${((sizeRatio - 1) * 100).toFixed(1)}% vs the peer; ` +
        `of our ${steady.ms.toFixed(2)} ms, reading the registry ${steady.readMs!.toFixed(2)} ms + ` +
        `compression (${snappyCompressor()}) ${steady.compressMs!.toFixed(2)} ms are work the peer does too`,
    );
  }
  printTable(rows);
  console.log('');
  for (const v of verdicts) console.log(v);

  const at = (series: number, encoder: string, phase?: string) =>
    rows.find((r) => r.series === series && r.encoder.startsWith(encoder) && (phase === undefined || r.phase === phase))!;
  const goals = [
    {
      goal: '>= 5x peer throughput at 10 000 series',
      ok: at(10_000, 'ours', 'steady').samplesPerSec >= 5 * at(10_000, 'prometheus').samplesPerSec,
    },
    { goal: '>= 1 000 000 samples/s at 100 000 series', ok: at(100_000, 'ours', 'steady').samplesPerSec >= 1e6 },
    {
      goal: 'bytes/sample within 10% of the peer (all sizes)',
      ok: PLANS.every(
        (p) => Math.abs(at(p.series, 'ours', 'steady').bytesPerSample / at(p.series, 'prometheus').bytesPerSample - 1) <= 0.1,
      ),
    },
  ];
  console.log('');
  for (const g of goals) console.log(`${g.ok ? 'MET   ' : 'MISSED'}  ${g.goal}`);
  console.log(`\ntotal runtime ${(nowMs() - began) / 1000} s`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
