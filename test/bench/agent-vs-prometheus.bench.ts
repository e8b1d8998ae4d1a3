// Benchmark (not a test): our agent against Prometheus' agent mode (2.42 and
// 3.5) and vmagent, side by side on one machine, pushing the same series to
// the same receiver.
//
//   npm run bench:agent                          (builds, then runs this file)
//   BENCH_N=150 BENCH_FLEET=5x2000 BENCH_WARMUP=5 BENCH_WINDOW=10 npm run bench:agent
//   npx tsx test/bench/agent-vs-prometheus.bench.ts --n=10000 --warmup=10 --window=20 --who=ours-native --fleet=0
//
// Settings (environment variable or flag; defaults in brackets):
//   BENCH_N        --n=        series of the single-bridge sizes, comma-separated; 0: none [150,10000]
//   BENCH_FLEET    --fleet=    the fleet: bridges x series per bridge; 0: no fleet          [50x2000]
//   BENCH_FLEET_INTERVAL --fleet-interval=  seconds between two polls of a fleet's bridge [5]
//   BENCH_WARMUP   --warmup=   seconds each contestant runs before the window                [20]
//   BENCH_WINDOW   --window=   seconds of the measured window (the fleet's: rounded up to a
//                              whole number of fleet intervals)                              [40]
//   BENCH_WHO      --who=      contestants, comma-separated (prom-agent = prom2-agent); the
//                              fleet runs them all but ours-colibri
//                                   [ours-native,ours-colibri,ours-sea,prom2-agent,prom3-agent,vmagent]
//   BENCH_SEA      --sea=      the single executable ours-sea runs [built by `npm run release` into a
//                              temporary folder at the start (about 80 s), from this checkout]
//   BENCH_CPU_PROF --cpu-prof= a folder: run our agent under `node --cpu-prof` writing its profiles there
//   BENCH_MESSAGE  --message=  our agent's --remote-write.protobuf-message: 1.0 (prometheus.WriteRequest)
//                              or 2.0 (io.prometheus.write.v2.Request; the receiver is then Prometheus 3.5
//                              from Debian sid, and prom3-agent writes 2.0 too)                 [1.0]
//   BENCH_NODE_FLAGS --node-flags= node flags for our agent, space-separated [those of dist/cli.js' #! line]
//                              (profiling slows it down; use for where the time goes, not for the numbers)
//
// On loopback, in this process: fake bridges (fake-targets.ts) serving N
// series whose values change on every request, as Prometheus text 0.0.4 at
// /metrics (N gauges jitsi_jvb_bench_<i> with HELP and TYPE) and as a
// JVB-shaped JSON object at /colibri/stats (N fields bench_<i>, which the
// agent maps to gauges jitsi_bench_<i>); one bridge at each single size,
// polled every 1 s, and a fleet of bridges on ports of their own, polled every
// BENCH_FLEET_INTERVAL. One real Prometheus as the remote-write receiver
// (--web.enable-remote-write-receiver), the same for every contestant. Then,
// one after the other, each contestant (contestants.ts) at each size:
// measure.ts says what is measured and how, report.ts prints it. The fake,
// the receiver and this script run on the same machine and are not counted;
// on a 2-core machine they compete with the contestant for CPU, the same for
// every contestant.

import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { productionNodeFlags } from '../helpers/agent-process';
import { PrometheusServer } from '../helpers/prometheus-server';
import { sidComponents, versionOf } from '../helpers/sid-components';
import { badSetting, fmt, loadAverage, machineDescription, onCleanup, runBounded, setting, temporaryDir } from './bench-support';
import { ALL_WHO, OURS, startContestant, WHO_ALIASES, type OurSettings, type Scenario, type Who } from './contestants';
import { FakeFleet } from './fake-targets';
import { measure, type Result } from './measure';
import { peerVersion, type PeerKind } from './peers';
import { memoryPerSeries, progressLine, resultsTable } from './report';

const SINGLE_INTERVAL_MS = 1000;

function numbers(text: string, what: string, allowZero = false): number[] {
  const values = text.split(',').map((s) => Number(s.trim().replace(/_/g, '').replace(/s$/, '')));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0 || (v === 0 && !allowZero))) badSetting(`${what}: expected positive numbers, got ${JSON.stringify(text)}`);
  return values;
}

const SERIES = numbers(setting('BENCH_N', 'n') ?? '150,10000', 'BENCH_N', true)
  .map(Math.round)
  .filter((n) => n > 0);
const FLEET_SETTING = (setting('BENCH_FLEET', 'fleet') ?? '50x2000').trim().replace(/_/g, '');
const FLEET = ((): { bridges: number; series: number } | undefined => {
  if (FLEET_SETTING === '0' || FLEET_SETTING === '') return undefined;
  const match = /^(\d+)\s*[x×]\s*(\d+)$/.exec(FLEET_SETTING);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) badSetting(`BENCH_FLEET: <bridges>x<series per bridge> (e.g. 50x2000) or 0, got ${JSON.stringify(FLEET_SETTING)}`);
  return { bridges: Number(match[1]), series: Number(match[2]) };
})();
const FLEET_INTERVAL_MS = Math.round(numbers(setting('BENCH_FLEET_INTERVAL', 'fleet-interval') ?? '5', 'BENCH_FLEET_INTERVAL')[0]! * 1000);
const WARMUP_S = numbers(setting('BENCH_WARMUP', 'warmup') ?? '20', 'BENCH_WARMUP')[0]!;
const WINDOW_S = Math.round(numbers(setting('BENCH_WINDOW', 'window') ?? '40', 'BENCH_WINDOW')[0]!);
const FLEET_WINDOW_S = (Math.ceil((WINDOW_S * 1000) / FLEET_INTERVAL_MS) * FLEET_INTERVAL_MS) / 1000;
const WHO = [
  ...new Set(
    (setting('BENCH_WHO', 'who') ?? ALL_WHO.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => WHO_ALIASES[s] ?? s),
  ),
] as Who[];
for (const w of WHO) if (!ALL_WHO.includes(w)) badSetting(`BENCH_WHO: unknown contestant ${JSON.stringify(w)} (known: ${ALL_WHO.join(', ')}; prom-agent = prom2-agent)`);
const FLEET_WHO = WHO.filter((w) => w !== 'ours-colibri');
const CPU_PROF = setting('BENCH_CPU_PROF', 'cpu-prof');
const MESSAGE_SETTING = setting('BENCH_MESSAGE', 'message') ?? '1.0';
const MESSAGE =
  (
    {
      '1.0': 'prometheus.WriteRequest',
      '2.0': 'io.prometheus.write.v2.Request',
      'prometheus.WriteRequest': 'prometheus.WriteRequest',
      'io.prometheus.write.v2.Request': 'io.prometheus.write.v2.Request',
    } as Record<string, string>
  )[MESSAGE_SETTING] ?? badSetting(`BENCH_MESSAGE: 1.0 or 2.0, got ${JSON.stringify(MESSAGE_SETTING)}`);
/** Extra node flags for our agent, e.g. BENCH_NODE_FLAGS="--max-semi-space-size=2" to try V8 heap settings. */
const NODE_FLAGS = (setting('BENCH_NODE_FLAGS', 'node-flags') ?? productionNodeFlags().join(' ')).split(' ').filter((flag) => flag !== '');

const SCENARIOS: Scenario[] = [
  ...SERIES.map((series) => ({ label: fmt(series).replace(/,/g, ' '), bridges: 1, series, intervalMs: SINGLE_INTERVAL_MS, fleet: false })),
  ...(FLEET && FLEET_WHO.length > 0
    ? [{ label: `fleet ${FLEET.bridges}x${fmt(FLEET.series).replace(/,/g, ' ')}`, bridges: FLEET.bridges, series: FLEET.series, intervalMs: FLEET_INTERVAL_MS, fleet: true }]
    : []),
];
const runsOf = (s: Scenario): Who[] => (s.fleet ? FLEET_WHO : WHO);

async function main(): Promise<number> {
  const began = Date.now();
  console.log('our agent vs Prometheus agent mode (2.42, 3.5) and vmagent: CPU and memory per sample pushed, same series, same receiver');
  console.log(machineDescription());
  if (SCENARIOS.length === 0) badSetting('nothing to run: BENCH_N=0 and BENCH_FLEET=0');
  // The sid binaries (Prometheus 3.5, vmagent) are fetched and unpacked on first use.
  const needsSid = MESSAGE !== 'prometheus.WriteRequest' || SCENARIOS.some((s) => runsOf(s).some((w) => w === 'prom3-agent' || w === 'vmagent'));
  if (needsSid) sidComponents();
  const receiverBinary = MESSAGE === 'prometheus.WriteRequest' ? undefined : sidComponents().prometheus;
  const peers = ([...new Set(SCENARIOS.flatMap(runsOf))].filter((w) => !OURS.includes(w)) as PeerKind[]).map((w) => `${w}: ${peerVersion(w)}`);
  console.log(`peers:   ${peers.length > 0 ? peers.join('; ') : 'none'}`);
  console.log(`ours:    node ${NODE_FLAGS.join(' ')} dist/cli.js, writes ${MESSAGE}${CPU_PROF !== undefined ? `, under --cpu-prof (numbers inflated) -> ${CPU_PROF}` : ''}`);
  console.log(
    `settings: single bridge N=${SERIES.length > 0 ? SERIES.join(',') : 'none'} every ${SINGLE_INTERVAL_MS / 1000} s, window ${WINDOW_S} s; ` +
      `fleet ${FLEET ? `${FLEET.bridges}x${FLEET.series} every ${FLEET_INTERVAL_MS / 1000} s, window ${FLEET_WINDOW_S} s` : 'none'}; ` +
      `warm-up ${WARMUP_S} s; contestants ${WHO.join(', ')}`,
  );

  const receiver = await PrometheusServer.start({ remoteWriteReceiver: true, ...(receiverBinary === undefined ? {} : { binary: receiverBinary }) });
  onCleanup(() => receiver.stop());
  console.log(`receiver: ${versionOf(receiverBinary ?? 'prometheus')} (--web.enable-remote-write-receiver)\n`);

  const executable = SCENARIOS.some((s) => runsOf(s).includes('ours-sea')) ? singleExecutable() : undefined;
  if (executable !== undefined) console.log(`ours-sea: ${executable} (${execFileSync(executable, ['--version']).toString().trim()})`);
  const ours: OurSettings = { nodeFlags: NODE_FLAGS, message: MESSAGE, cpuProfDir: CPU_PROF, ...(executable !== undefined ? { executable } : {}) };
  const results: Result[] = [];
  for (const s of SCENARIOS) {
    const fleet = await new FakeFleet(s.bridges, s.series).start();
    // Body sizes, for context (one request each; the counts restart with reset() in measure()).
    const first = fleet.targets[0]!;
    const sizes = await Promise.all(['/metrics', '/colibri/stats'].map(async (p) => (await (await fetch(first.baseUrl + p)).arrayBuffer()).byteLength));
    console.log(
      `${s.label}: ${s.bridges} bridge(s) of ${fmt(s.series)} series every ${s.intervalMs / 1000} s; a bridge's /metrics ${fmt(sizes[0]! / 1024, 1)} KiB` +
        `${s.fleet ? '' : `, /colibri/stats ${fmt(sizes[1]! / 1024, 1)} KiB`}`,
    );
    for (const who of runsOf(s)) {
      const r = await measure(who, s, fleet, receiver.url, { warmupS: WARMUP_S, windowS: s.fleet ? FLEET_WINDOW_S : WINDOW_S }, () =>
        startContestant(who, s, fleet, receiver.url, ours),
      );
      results.push(r);
      console.log(progressLine(r, results));
    }
    await fleet.stop();
  }

  console.log('\nall runs (CPU in ms over the window, memory in MiB; ratios: against the cheapest peer at that size):\n');
  console.log(resultsTable(results));
  const perSeries = memoryPerSeries(results, SCENARIOS);
  if (perSeries !== undefined) {
    console.log('\nmemory per series: the growth of RssAnon (median over the window) from the smallest size, per added series (KiB = /proc kB):\n');
    console.log(perSeries);
  }
  if (CPU_PROF !== undefined) {
    const dir = resolve(CPU_PROF);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.cpuprofile'));
    console.log(`\nCPU profiles of our agent in ${dir}: ${files.map((f) => `${f} (${fmt(statSync(join(dir, f)).size / 1024)} KiB)`).join(', ')}`);
  }
  const missing = results.filter((r) => r.received !== r.expected);
  const close = results.filter((r) => r.marginMs < 100);
  console.log(
    `\n${missing.length === 0 ? 'every run: received == expected' : `MISSING or EXTRA samples in ${missing.length} run(s): ${missing.map((r) => `${r.scenario.label} ${r.who}`).join(', ')}`}` +
      `${close.length > 0 ? `; ${close.length} run(s) with a poll within 100 ms of a window boundary` : ''}; total runtime ${fmt((Date.now() - began) / 1000)} s; at the end ${loadAverage()}`,
  );
  return missing.length === 0 && close.length === 0 ? 0 : 1;
}

// Bounded: each run takes warm-up + window + at most ~2 min (start, the first polls, delivery, stop);
// plus 10 min for fetching the sid binaries on a first run.
const RUNS_S = SCENARIOS.reduce((total, s) => total + runsOf(s).length * (WARMUP_S + (s.fleet ? FLEET_WINDOW_S + 10 * FLEET_INTERVAL_MS / 1000 : WINDOW_S) + 120), 0);
runBounded('agent-vs-prometheus bench', (RUNS_S + 600 + 120) * 1000, main);

/** BENCH_SEA, or the single executable of this checkout, built by `npm run release` into a temporary folder. */
function singleExecutable(): string {
  const given = setting('BENCH_SEA', 'sea');
  if (given !== undefined) return resolve(given);
  const out = temporaryDir('jvb-bench-release-');
  console.log(`ours-sea: building the single executable (npm run release) into ${out} ...`);
  execFileSync('bash', [join(__dirname, '..', '..', 'scripts', 'release.sh')], { env: { ...process.env, JVB_ADAPTER_RELEASE_DIR: out }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, timeout: 600_000 });
  const name = readdirSync(out).find((f) => f.endsWith('-linux-x64'));
  if (name === undefined) throw new Error(`npm run release wrote no single executable into ${out}`);
  return join(out, name);
}
