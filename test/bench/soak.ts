// Soak run (not a test): does the agent's memory stay flat while it polls
// and pushes for a long time?
//
//   npm run build && npx tsx test/bench/soak.ts           (or: npm run soak)
//   SOAK_MINUTES=3 npx tsx test/bench/soak.ts               (or --minutes=3; at least 3)
//
// The agent's demo bridge (`dist/cli.js --demo --poll.interval=1s`, the
// simulated JVB whose counters advance and whose conferences change) pushing
// to a real Prometheus receiver (--web.enable-remote-write-receiver) through
// the durable disk queue. Every 10 s: the agent's RSS (VmRSS of
// /proc/<pid>/status) and its V8 heap (`nodejs_heap_size_used_bytes` and
// `nodejs_heap_size_total_bytes` from the agent's own /metrics), plus what it
// says it delivered (`jvb_remote_write_samples_total`) and has pending. A
// table at the end, and the verdict:
//
// FAIL (exit 1) when RSS grows by more than 10% from minute 2 to the last
// minute: the median of the samples taken in minute 2 (60 s < t <= 120 s)
// against the median of those taken in the last minute. Why these two:
// - not minute 1: it holds the start-up (module loading, JIT compilation, the
//   first polls filling the label caches, V8 growing its heap to the size the
//   workload needs, the queue's first segment file), growth that happens once
//   and is not a leak;
// - medians, not single readings or the maximum: RSS of a Node process moves
//   in steps with V8's garbage collections (new-space resizing, old-space
//   compaction returning pages) by a few MiB either way; the median of the six
//   readings of a minute ignores a reading caught just before or after one;
// - the last minute against minute 2, not a fitted slope: a leak of one poll's
//   worth of objects grows RSS steadily and shows as the difference; a slope
//   over ten-second readings would be dominated by the GC steps on short runs.
// The heap is printed the same way but only informs (V8 lets the used heap
// swing with its collection schedule); it does not decide.
// It also fails when the receiver got no samples from the agent in the last
// minute (the agent must have been pushing the whole time).

import { AgentProcess, productionNodeFlags } from '../helpers/agent-process';
import { PrometheusServer } from '../helpers/prometheus-server';
import { countSamples, fmt, machineDescription, median, MiB, onCleanup, rssBytes, runBounded, setting, sleep, table, temporaryDir } from './bench-support';

const SAMPLE_EVERY_MS = 10_000;
const GROWTH_LIMIT = 0.1;
const JOB = 'soak';

const MINUTES = Number(setting('SOAK_MINUTES', 'minutes') ?? '10');
if (!Number.isFinite(MINUTES) || MINUTES < 3) {
  console.error(`SOAK_MINUTES must be a number >= 3 (minute 2 and the last minute must not overlap), got ${JSON.stringify(setting('SOAK_MINUTES', 'minutes'))}`);
  process.exit(2);
}

interface Reading {
  readonly t: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly delivered: number;
  readonly pending: number;
}

/** Sum of the values of every series of `name` in an exposition text (NaN when absent). */
function metricValue(text: string, name: string): number {
  let sum = NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    sum = Number.isNaN(sum) ? value : sum + value;
  }
  return sum;
}

async function main(): Promise<number> {
  console.log(`soak: the demo bridge polled every 1 s and pushed by remote_write, for ${MINUTES} minutes`);
  console.log(machineDescription());

  const receiver = await PrometheusServer.start({ remoteWriteReceiver: true });
  onCleanup(() => receiver.stop());
  const agent = AgentProcess.spawn([
    '--demo',
    '--poll.interval=1s',
    `--remote-write.url=${receiver.url}/api/v1/write`,
    `--remote-write.job=${JOB}`,
    `--storage.path=${temporaryDir('jvb-soak-storage-')}`,
    '--web.listen-address=127.0.0.1:0',
  ], {}, productionNodeFlags());
  onCleanup(() => agent.stop().then(() => undefined));
  const port = await agent.metricsPort();
  const began = Date.now();
  console.log(`agent pid ${agent.pid}, /metrics on 127.0.0.1:${port}, receiver ${receiver.url}\n`);

  const readings: Reading[] = [];
  const header = ['t (s)', 'RSS MiB', 'heap used MiB', 'heap total MiB', 'delivered', 'pending'];
  const cells = (r: Reading) => [
    String(r.t),
    fmt(r.rss / MiB, 1),
    fmt(r.heapUsed / MiB, 1),
    fmt(r.heapTotal / MiB, 1),
    fmt(r.delivered),
    fmt(r.pending),
  ];
  const endAt = began + MINUTES * 60_000;
  for (let next = began + SAMPLE_EVERY_MS; next <= endAt; next += SAMPLE_EVERY_MS) {
    await sleep(Math.max(0, next - Date.now()));
    if (agent.exitCode !== null) throw new Error(`the agent exited (${agent.exitCode}):\n${agent.lines.slice(-30).join('\n')}`);
    const rss = rssBytes(agent.pid);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const r: Reading = {
      t: Math.round((next - began) / 1000),
      rss,
      heapUsed: metricValue(text, 'nodejs_heap_size_used_bytes'),
      heapTotal: metricValue(text, 'nodejs_heap_size_total_bytes'),
      delivered: metricValue(text, 'jvb_remote_write_samples_total'),
      pending: metricValue(text, 'jvb_remote_write_samples_pending'),
    };
    readings.push(r);
    console.log(`  ${header.map((h, i) => `${h}=${cells(r)[i]}`).join(' ')}`);
  }

  const lastMinute = await countSamples(receiver.url, `{job="${JOB}"}`, '60s', Date.now() / 1000, /^jitsi_participants$/);
  await agent.stop();

  console.log('');
  console.log(table(header, readings.map(cells), 0));

  const minute2 = readings.filter((r) => r.t > 60 && r.t <= 120);
  const last = readings.filter((r) => r.t > MINUTES * 60 - 60);
  const rss2 = median(minute2.map((r) => r.rss));
  const rssLast = median(last.map((r) => r.rss));
  const heap2 = median(minute2.map((r) => r.heapUsed));
  const heapLast = median(last.map((r) => r.heapUsed));
  const growth = rssLast / rss2 - 1;
  console.log(
    `\nRSS median minute 2: ${fmt(rss2 / MiB, 1)} MiB (${minute2.length} readings); last minute: ${fmt(rssLast / MiB, 1)} MiB (${last.length} readings); ` +
      `growth ${(growth * 100).toFixed(1)}% (limit ${GROWTH_LIMIT * 100}%); max ${fmt(Math.max(...readings.map((r) => r.rss)) / MiB, 1)} MiB`,
  );
  console.log(`heap used median minute 2: ${fmt(heap2 / MiB, 1)} MiB; last minute: ${fmt(heapLast / MiB, 1)} MiB (${((heapLast / heap2 - 1) * 100).toFixed(1)}%, informative)`);
  console.log(
    `receiver, last minute: ${fmt(lastMinute.all)} samples of job ${JOB} in ${fmt(lastMinute.series)} series, ${fmt(lastMinute.matching)} of jitsi_participants (one per poll)`,
  );
  const failures: string[] = [];
  if (!(growth <= GROWTH_LIMIT)) failures.push(`RSS grew ${(growth * 100).toFixed(1)}% from minute 2 to the last minute (limit ${GROWTH_LIMIT * 100}%)`);
  if (lastMinute.matching === 0) failures.push('the receiver got no jitsi_participants sample in the last minute');
  console.log(failures.length === 0 ? '\nPASS' : `\nFAIL: ${failures.join('; ')}`);
  return failures.length === 0 ? 0 : 1;
}

runBounded('soak', (MINUTES + 3) * 60_000, main);
