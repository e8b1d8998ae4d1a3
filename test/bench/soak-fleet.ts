// Soak run of a fleet (not a test): does the agent's memory stay flat while
// it polls many bridges and pushes them for a long time, and does every
// sample arrive?
//
//   npm run soak:fleet                       (builds, then runs this file)
//   SOAK_MINUTES=3 SOAK_FLEET=10x2000 npm run soak:fleet
//
// Settings (environment variable or flag; defaults in brackets):
//   SOAK_MINUTES   --minutes=   how long the agent runs; at least 3            [10]
//   SOAK_FLEET     --fleet=     bridges x series per bridge                      [50x2000]
//   SOAK_FLEET_INTERVAL --fleet-interval=  seconds between two polls of a bridge [5]
//
// One agent (dist/cli.js with the node flags of its #! line, as installed)
// given the fleet as a config file with a `bridges:` list, each a fake bridge
// of this process on a port of its own (fake-targets.ts: N gauges whose values
// change on every request), pushing by remote_write through its durable disk
// queue to a real Prometheus (bookworm's 2.42, --web.enable-remote-write-
// receiver). Every 10 s the agent's VmRSS and RssAnon (/proc/<pid>/status);
// its V8 heap (nodejs_heap_size_used_bytes, _total_bytes) and what it says it
// delivered and has pending are read at the receiver, from the self metrics
// the agent pushes there (job="jvb-prometheus-adapter"), so that nothing
// scrapes the agent's /metrics (with 50 bridges it would render 100 000
// series and disturb what is measured). One line a minute: the medians of
// that minute's readings.
//
// The verdict: a least-squares line through the per-minute medians of
// RssAnon from minute 2 to the last (minute 1 holds the start-up: module
// loading, the first polls filling the caches, V8 growing its heap to what
// the workload needs, the queue's first segment), its slope in MiB per hour
// with its standard error, and the growth the line makes over those minutes
// against the median of minute 2: "flat" up to GROWTH_LIMIT (10%, soak.ts'
// limit), else "growing" (exit 1). Fewer than three minutes on the line
// (SOAK_MINUTES under 4) cannot tell: the verdict is then "too short to
// tell", and only the delivery decides the exit code. RssAnon rather than
// RSS: it is the memory the process allocated, without the pages of the node
// executable and libraries that the kernel may map in or drop. The slopes of
// RSS and of the heap are printed too.
//
// The delivery check, at the end, while the agent still runs: per bridge, the
// requests the fake answered from the first to the last (a window from half
// an interval before the first to half an interval after the last, so no poll
// falls on a boundary), and the samples of the bridge's series with
// timestamps in that window at the receiver (one query per bridge, repeated
// for up to 60 s until they are all there). Every poll's samples must have
// arrived (exit 1 otherwise, with MISSING and the count).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentProcess, productionNodeFlags } from '../helpers/agent-process';
import { PrometheusServer } from '../helpers/prometheus-server';
import { badSetting, countSamples, fmt, machineDescription, median, memoryOf, MiB, onCleanup, runBounded, setting, sleep, table, temporaryDir } from './bench-support';
import { fleetConfig, instanceOf } from './contestants';
import { FakeFleet } from './fake-targets';

const SAMPLE_EVERY_MS = 10_000;
const GROWTH_LIMIT = 0.1;
const JOB = 'soak-fleet';
const AGENT_JOB = 'jvb-prometheus-adapter';

const MINUTES = Number(setting('SOAK_MINUTES', 'minutes') ?? '10');
if (!Number.isFinite(MINUTES) || MINUTES < 3) badSetting(`SOAK_MINUTES must be a number >= 3 (minute 2 to the last must be a line), got ${JSON.stringify(setting('SOAK_MINUTES', 'minutes'))}`);
const FLEET_SETTING = (setting('SOAK_FLEET', 'fleet') ?? '50x2000').trim().replace(/_/g, '');
const FLEET_MATCH = /^(\d+)\s*[x×]\s*(\d+)$/.exec(FLEET_SETTING);
if (!FLEET_MATCH || Number(FLEET_MATCH[1]) < 1 || Number(FLEET_MATCH[2]) < 1) badSetting(`SOAK_FLEET: <bridges>x<series per bridge>, e.g. 50x2000; got ${JSON.stringify(FLEET_SETTING)}`);
const BRIDGES = Number(FLEET_MATCH[1]);
const SERIES = Number(FLEET_MATCH[2]);
const INTERVAL_MS = Math.round(Number((setting('SOAK_FLEET_INTERVAL', 'fleet-interval') ?? '5').replace(/s$/, '')) * 1000);
if (!Number.isFinite(INTERVAL_MS) || INTERVAL_MS < 1000) badSetting('SOAK_FLEET_INTERVAL: seconds, at least 1');

interface Reading {
  /** Seconds since the agent started. */
  readonly t: number;
  readonly rss: number;
  readonly rssAnon: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly delivered: number;
  readonly pending: number;
}

/** The sum of an instant query's values (NaN when it returns nothing, or the query fails: a reading is not worth the run). */
async function instant(receiver: PrometheusServer, promql: string): Promise<number> {
  try {
    const result = await receiver.query(promql);
    return result.length === 0 ? NaN : result.reduce((sum, s) => sum + Number(s.value[1]), 0);
  } catch {
    return NaN;
  }
}

/** Least-squares slope of y over x, and its standard error (NaN with fewer than three points). */
function fitLine(points: readonly { x: number; y: number }[]): { slope: number; stdError: number } {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  if (sxx === 0) return { slope: NaN, stdError: NaN };
  const slope = sxy / sxx;
  const residuals = points.reduce((s, p) => s + (p.y - my - slope * (p.x - mx)) ** 2, 0);
  return { slope, stdError: n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : NaN };
}

/**
 * For bridges whose samples did not all arrive: which of the fake's requests
 * have no sample of the bridge's first series (jitsi_jvb_bench_0) with a
 * timestamp from half an interval before the request to 100 ms after it (the
 * poll's timestamp is taken when it starts, before the request arrives).
 */
async function diagnose(
  receiver: PrometheusServer,
  short: readonly { instance: string; from: number; to: number }[],
  fleet: FakeFleet,
  began: number,
): Promise<string[]> {
  const lines: string[] = [];
  for (const b of short) {
    const target = fleet.targets.find((t) => instanceOf(t) === b.instance)!;
    const promql = `jitsi_jvb_bench_0{job="${JOB}",instance="${b.instance}"}[${b.to - b.from - 1}ms]`;
    const res = await fetch(`${receiver.url}/api/v1/query?query=${encodeURIComponent(promql)}&time=${(b.to / 1000).toFixed(3)}`);
    const body = (await res.json()) as { data?: { result: { values: [number, string][] }[] } };
    const stamps = (body.data?.result[0]?.values ?? []).map(([t]) => Math.round(t * 1000));
    const requests = target.times('/metrics').filter((at) => at > b.from && at <= b.to);
    const unmatched = requests.filter((at) => !stamps.some((ts) => ts > at - INTERVAL_MS / 2 && ts <= at + 100));
    const describe = (at: number) => `${new Date(at).toISOString()} (${fmt((at - began) / 1000, 1)} s after the agent's start)`;
    lines.push(
      `${b.instance}: ${requests.length} requests, ${stamps.length} samples of jitsi_jvb_bench_0; requests without a sample: ` +
        (unmatched.length === 0 ? 'none (the missing samples are of other series)' : unmatched.slice(0, 5).map(describe).join(', ')),
    );
  }
  return lines;
}

async function main(): Promise<number> {
  console.log(`soak, fleet: one agent polling ${BRIDGES} bridges x ${fmt(SERIES)} series every ${INTERVAL_MS / 1000} s and pushing by remote_write, for ${MINUTES} minutes`);
  console.log(machineDescription());

  const receiver = await PrometheusServer.start({ remoteWriteReceiver: true });
  onCleanup(() => receiver.stop());
  const fleet = await new FakeFleet(BRIDGES, SERIES).start();
  const config = join(temporaryDir('jvb-soak-fleet-config-'), 'fleet.yml');
  writeFileSync(config, fleetConfig(fleet, JOB));
  const nodeFlags = productionNodeFlags();
  const agent = AgentProcess.spawn(
    [
      `--config.file=${config}`,
      `--poll.interval=${INTERVAL_MS / 1000}s`,
      `--remote-write.url=${receiver.url}/api/v1/write`,
      `--storage.path=${temporaryDir('jvb-soak-fleet-storage-')}`,
      '--web.listen-address=127.0.0.1:0',
    ],
    {},
    nodeFlags,
  );
  onCleanup(() => agent.stop().then(() => undefined));
  await agent.metricsPort();
  const began = Date.now();
  console.log(`agent pid ${agent.pid} (node ${nodeFlags.join(' ')} dist/cli.js), receiver ${receiver.url}\n`);

  const readings: Reading[] = [];
  const minuteHeader = ['minute', 'RSS med MiB', 'RSS max MiB', 'RssAnon med MiB', 'RssAnon max MiB', 'heap used MiB', 'heap total MiB', 'delivered', 'pending'];
  const minutes: string[][] = [];
  const perMinute: { minute: number; rss: number; rssAnon: number; heapUsed: number }[] = [];
  const endAt = began + MINUTES * 60_000;
  for (let next = began + SAMPLE_EVERY_MS; next <= endAt; next += SAMPLE_EVERY_MS) {
    await sleep(Math.max(0, next - Date.now()));
    if (agent.exitCode !== null) throw new Error(`the agent exited (${agent.exitCode}):\n${agent.lines.slice(-30).join('\n')}`);
    const memory = memoryOf(agent.pid);
    const self = `{job="${AGENT_JOB}"}`;
    const [heapUsed, heapTotal, delivered, pending] = await Promise.all(
      ['nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'jvb_remote_write_samples_total', 'jvb_remote_write_samples_pending'].map((name) => instant(receiver, `${name}${self}`)),
    );
    const t = Math.round((next - began) / 1000);
    readings.push({ t, rss: memory.rss, rssAnon: memory.rssAnon, heapUsed: heapUsed!, heapTotal: heapTotal!, delivered: delivered!, pending: pending! });
    if (t % 60 === 0) {
      const minute = t / 60;
      const inMinute = readings.filter((r) => r.t > t - 60 && r.t <= t);
      const m = (f: (r: Reading) => number) => median(inMinute.map(f));
      const last = inMinute[inMinute.length - 1]!;
      perMinute.push({ minute, rss: m((r) => r.rss), rssAnon: m((r) => r.rssAnon), heapUsed: m((r) => r.heapUsed) });
      const cells = [
        String(minute),
        fmt(m((r) => r.rss) / MiB, 1),
        fmt(Math.max(...inMinute.map((r) => r.rss)) / MiB, 1),
        fmt(m((r) => r.rssAnon) / MiB, 1),
        fmt(Math.max(...inMinute.map((r) => r.rssAnon)) / MiB, 1),
        fmt(m((r) => r.heapUsed) / MiB, 1),
        fmt(m((r) => r.heapTotal) / MiB, 1),
        fmt(last.delivered),
        fmt(last.pending),
      ];
      minutes.push(cells);
      console.log(`  ${minuteHeader.map((h, i) => `${h.replace(/ /g, '_')}=${cells[i]}`).join(' ')}`);
    }
  }

  // Delivery: every poll of every bridge, from its first to its last, while the agent still runs.
  const checkAt = Date.now();
  const names = /^jitsi_jvb_bench_[0-9]+$/;
  const bridges = fleet.targets.map((target) => {
    const times = target.times('/metrics').filter((at) => at <= checkAt);
    const from = times[0]! - INTERVAL_MS / 2;
    const to = times[times.length - 1]! + INTERVAL_MS / 2;
    return { instance: instanceOf(target), from, to, polls: times.length, expected: times.length * SERIES, received: 0 };
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const b of bridges.filter((x) => x.received < x.expected)) {
      b.received = (await countSamples(receiver.url, `{job="${JOB}",instance="${b.instance}"}`, `${b.to - b.from - 1}ms`, b.to / 1000, names)).matching;
    }
    if (bridges.every((b) => b.received >= b.expected) || Date.now() > deadline) break;
    await sleep(2000);
  }
  const diagnosis = await diagnose(receiver, bridges.filter((b) => b.received < b.expected).slice(0, 3), fleet, began);
  const agentWarnings = agent.lines.filter((line) => /level=(warn|error)/.test(line)).slice(-10);
  await agent.stop();

  console.log('');
  console.log(table(minuteHeader, minutes, 0));

  const fitted = perMinute.filter((p) => p.minute >= 2);
  const fit = (f: (p: (typeof fitted)[number]) => number) => fitLine(fitted.map((p) => ({ x: p.minute, y: f(p) })));
  const perHour = (n: number) => `${n >= 0 ? '+' : ''}${fmt((n * 60) / MiB, 1)}`; // bytes per minute -> "+1.2" MiB per hour
  const anon = fit((p) => p.rssAnon);
  const first = fitted[0]!;
  const lastMinute = fitted[fitted.length - 1]!;
  const spanMinutes = lastMinute.minute - first.minute;
  const growth = (anon.slope * spanMinutes) / first.rssAnon;
  console.log(
    `\nslopes over minutes ${first.minute}-${lastMinute.minute} (least squares through the per-minute medians, MiB per hour): ` +
      `RssAnon ${perHour(anon.slope)}${Number.isFinite(anon.stdError) ? ` ± ${fmt((anon.stdError * 60) / MiB, 1)}` : ''}, ` +
      `RSS ${perHour(fit((p) => p.rss).slope)}, heap used ${perHour(fit((p) => p.heapUsed).slope)}`,
  );
  console.log(
    `RssAnon: ${fmt(first.rssAnon / MiB, 1)} MiB in minute ${first.minute}, ${fmt(lastMinute.rssAnon / MiB, 1)} MiB in minute ${lastMinute.minute}; ` +
      `the line grows ${(growth * 100).toFixed(1)}% over ${spanMinutes} minute(s) (limit ${GROWTH_LIMIT * 100}%); max RSS ${fmt(Math.max(...readings.map((r) => r.rss)) / MiB, 1)} MiB`,
  );
  const polls = bridges.reduce((s, b) => s + b.polls, 0);
  const expected = bridges.reduce((s, b) => s + b.expected, 0);
  const received = bridges.reduce((s, b) => s + b.received, 0);
  const short = bridges.filter((b) => b.received < b.expected);
  console.log(
    `delivery: ${fmt(polls)} polls of ${BRIDGES} bridges, ${fmt(expected)} samples expected, ${fmt(received)} received` +
      (short.length === 0 ? ' (all)' : `: MISSING ${fmt(expected - received)} samples of ${short.length} bridge(s): ${short.slice(0, 5).map((b) => `${b.instance} ${fmt(b.expected - b.received)}`).join(', ')}${short.length > 5 ? ', ...' : ''}`),
  );
  for (const line of diagnosis) console.log(`  ${line}`);
  if (short.length > 0) {
    console.log(agentWarnings.length === 0 ? '  the agent logged no warning or error' : `  the agent's last warnings and errors:\n${agentWarnings.map((line) => `    ${line}`).join('\n')}`);
  }
  const verdict = fitted.length < 3 ? `too short to tell (${fitted.length} minute(s) on the line; SOAK_MINUTES=4 or more for a verdict)` : growth <= GROWTH_LIMIT ? 'flat' : 'growing';
  console.log(`\nmemory: ${verdict} (RssAnon ${perHour(anon.slope)} MiB/h); samples: ${short.length === 0 ? 'all arrived' : 'MISSING'}`);
  const ok = verdict !== 'growing' && short.length === 0;
  console.log(ok ? 'PASS' : 'FAIL');
  return ok ? 0 : 1;
}

runBounded('soak:fleet', (MINUTES + 5) * 60_000, main);
