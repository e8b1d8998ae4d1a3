import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { eventually } from '../helpers/eventually';
import { FakeBridge, NATIVE_CONTENT_TYPES, type NativeFormat } from '../helpers/fake-bridge';
import type { DecodedTimeSeries } from '../helpers/independent-remote-write-decoder';
import { unusedPort } from '../helpers/ports';
import { PrometheusServer } from '../helpers/prometheus-server';
import { remoteRead, STALE_NAN_HEX } from '../helpers/remote-read';
import { setUpBefore } from '../helpers/set-up-before';

/**
 * The oracle for sample timestamps (issue 17, 5.6). A fake bridge serves a
 * body whose sample lines carry their own timestamps (recent, 60 s old, 2 h
 * old, 1970, 5 min and 1 h ahead, unchanged from poll to poll, changed to an
 * older one, to the same one with another value, gained, lost and regained),
 * in three phases the test moves through once both readers have read the
 * current one. A real Prometheus 2.42 scrapes it (default settings:
 * honor_timestamps); the agent polls it and pushes by remote write into a
 * second real Prometheus. Both stores are then read raw (remote-read API:
 * every sample with its timestamp, stale markers included) and must hold the
 * same: per series, the same samples at the body's own timestamps, the same
 * number of stale markers, the same values at the readers' own times. The
 * first Prometheus also scrapes the agent's /metrics, which serves each
 * sample with its own timestamp: that scrape must store the same again. What
 * is kept and what is refused is never written here: the scrape decides.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Reads of each phase by each reader before the test moves on. */
const READS_PER_PHASE = 3;

type Reader = 'prometheus' | 'agent';
type Line = readonly [name: string, value: number, timestampMs?: number];

/**
 * The body of a phase: T is the test's start, T2 when phase 2 began. The
 * first line has no timestamp, so that the first sample each empty store
 * receives is at the reader's own time (an empty TSDB head takes its window
 * from its first sample).
 */
function lines(phase: 1 | 2 | 3, T: number, T2: number): Line[] {
  const later = phase > 1;
  const out: Line[] = [
    ['plain', 1],
    ['recent', 1, T - SECOND],
    ['old60', 2, T - MINUTE],
    ['old2h', 3, T - 2 * HOUR],
    ['epoch', 4, 1000],
    ['ahead1h', 5, T + HOUR],
    ['ahead5m', 6, T + 5 * MINUTE],
    ['dupval', later ? 8 : 7, T - 30 * SECOND],
    ['backwards', later ? 10 : 9, later ? T - 40 * SECOND : T - 20 * SECOND],
    ['forward', later ? 12 : 11, later ? T - 10 * SECOND : T - 20 * SECOND],
    later ? ['switch_old', 14, T2 - 50 * SECOND] : ['switch_old', 13],
    later ? ['switch_new', 14, T2 + 2 * MINUTE] : ['switch_new', 13],
  ];
  if (phase !== 2) out.push(['vanish', phase === 1 ? 15 : 16, T - 10 * SECOND], ['vanish_plain', 16]);
  return out;
}

function body(format: NativeFormat, phase: 1 | 2 | 3, T: number, T2: number): string {
  const om = format === 'openmetrics';
  // OpenMetrics timestamps are seconds: 3 decimals carry the ms; `subms` has a fraction of a ms.
  const ts = (ms: number | undefined) => (ms === undefined ? '' : ` ${om ? (ms / 1000).toFixed(3) : String(ms)}`);
  const out: string[] = [];
  for (const [name, value, ms] of lines(phase, T, T2)) out.push(`# TYPE ${name} gauge`, `${name} ${value}${ts(ms)}`);
  if (om) out.push('# TYPE subms gauge', `subms 1${ts(T - 5 * SECOND)}9`);
  out.push(
    '# TYPE h histogram',
    `h_bucket{le="1"} 1${ts(T - MINUTE)}`,
    `h_bucket{le="+Inf"} 2${ts(T - 2 * HOUR)}`,
    'h_sum 3',
    `h_count 2${ts(T - SECOND)}`,
    '# TYPE s summary',
    `s{quantile="0.5"} 1${ts(T - MINUTE)}`,
    `s_sum 2${ts(T - 3 * HOUR)}`,
    's_count 3',
  );
  return om ? `${out.join('\n')}\n# EOF\n` : `${out.join('\n')}\n`;
}

/** Series that only one side has: each Prometheus' own, the agent's own. */
function comparable(name: string): boolean {
  return !(name === 'up' || name.startsWith('scrape_') || name.startsWith('jvb_') || name.startsWith('nodejs_') || name.startsWith('process_'));
}

/**
 * What a store holds of each series (job and instance left out): the samples
 * at the body's own timestamps, and of those at a reader's own time (on or
 * after the test's start, up to now) the stale markers and the other values.
 */
function stored(series: readonly DecodedTimeSeries[], T: number, now: number): Map<string, { own: string[]; staleMarkers: number; readerValues: string[] }> {
  const out = new Map<string, { own: string[]; staleMarkers: number; readerValues: string[] }>();
  for (const s of series) {
    const name = s.labels.find((l) => l.name === '__name__')?.value ?? '';
    if (!comparable(name)) continue;
    const labels = s.labels
      .filter((l) => l.name !== '__name__' && l.name !== 'job' && l.name !== 'instance')
      .map((l) => `${l.name}=${JSON.stringify(l.value)}`)
      .sort();
    const key = `${name}{${labels.join(',')}}`;
    const entry = { own: [] as string[], staleMarkers: 0, readerValues: [] as string[] };
    for (const sample of s.samples) {
      const atReaderTime = sample.timestamp >= T && sample.timestamp <= now;
      if (!atReaderTime) entry.own.push(`${sample.value}@${sample.timestamp}`);
      else if (sample.valueHex === STALE_NAN_HEX) entry.staleMarkers++;
      else if (!entry.readerValues.includes(String(sample.value))) entry.readerValues.push(String(sample.value));
    }
    entry.readerValues.sort();
    out.set(key, entry);
  }
  return out;
}

function differences(scraped: ReadonlyMap<string, unknown>, pushed: ReadonlyMap<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, value] of scraped) {
    if (!pushed.has(key)) out.push(`only scraped: ${key} ${JSON.stringify(value)}`);
    else if (JSON.stringify(pushed.get(key)) !== JSON.stringify(value)) out.push(`differs: ${key}\n  scraped ${JSON.stringify(value)}\n  pushed  ${JSON.stringify(pushed.get(key))}`);
  }
  for (const [key, value] of pushed) if (!scraped.has(key)) out.push(`only pushed:  ${key} ${JSON.stringify(value)}`);
  return out.sort();
}

/** A counter of an exposition, summed over the series whose labels match `labels`. */
function counterSum(text: string, name: string, labels: RegExp = /.*/): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)`).exec(line);
    if (match && labels.test(match[1] ?? '')) sum += Number(match[2]);
  }
  return sum;
}

function oracle(format: NativeFormat): void {
  const test = suite(`sample timestamps (${format === 'openmetrics' ? 'OpenMetrics 1.0.0' : 'text 0.0.4'}): what the agent pushes is what a Prometheus scrape stores`);
  const bridge = new FakeBridge({ format });
  let scraper: PrometheusServer | undefined;
  let receiver: PrometheusServer | undefined;
  let agent: AgentProcess | undefined;
  let T = 0;
  let T2 = 0;
  let phase: 1 | 2 | 3 = 1;
  const reads: Record<Reader, number[]> = { prometheus: [0, 0, 0, 0], agent: [0, 0, 0, 0] };
  /** When the agent last read the body (ms). */
  let agentReadAt = 0;
  const setUpDone = setUpBefore(test, setUp);

  async function setUp(): Promise<void> {
    T = Math.floor(Date.now() / SECOND) * SECOND;
    T2 = T;
    bridge.respond = (request) => {
      if (request.path !== '/metrics') return undefined;
      const reader: Reader = request.userAgent?.startsWith('Prometheus/') ? 'prometheus' : 'agent';
      reads[reader][phase]!++;
      if (reader === 'agent') agentReadAt = Date.now();
      return { body: body(format, phase, T, T2), contentType: NATIVE_CONTENT_TYPES[format] };
    };
    await bridge.start();
    const agentPort = await unusedPort();
    scraper = await PrometheusServer.start({
      scrape: [
        { job: 'scraped', target: bridge.hostPort, interval: '1s' },
        { job: 'agent', target: `127.0.0.1:${agentPort}`, interval: '1s', honorLabels: true },
      ],
    });
    receiver = await PrometheusServer.start({ remoteWriteReceiver: true });
    agent = AgentProcess.spawn([
      `--jvb.url=${bridge.metricsUrl}`,
      '--poll.interval=1s',
      `--web.listen-address=127.0.0.1:${agentPort}`,
      `--remote-write.url=${receiver.url}/api/v1/write`,
      '--remote-write.job=pushed',
    ]);
  }

  test.after(async () => {
    await agent?.stop();
    await scraper?.stop();
    await receiver?.stop();
    await bridge.stop();
  });

  const watched = {
    gone: () => (agent !== undefined && agent.exitCode !== null ? `the agent exited (${agent.exitCode})` : undefined),
    log: () => agent?.lines.slice(-30).join('\n') ?? '',
  };

  /** Until both readers have read the current phase READS_PER_PHASE times. */
  const phaseRead = () =>
    eventually(`both readers read phase ${phase} ${READS_PER_PHASE} times (reads: ${JSON.stringify(reads)})`, async () => (reads.prometheus[phase]! >= READS_PER_PHASE && reads.agent[phase]! >= READS_PER_PHASE ? true : undefined), watched, 30_000, 100);

  test('the scrape, the push and a scrape of the agent store the same samples at the same timestamps, and the same stale markers', async () => {
    setUpDone.check();
    await phaseRead();
    T2 = Date.now();
    phase = 2;
    await phaseRead();
    phase = 3;
    await phaseRead();
    // Every poll up to this read has been pushed once a later poll's sample is stored (a destination sends in order).
    const lastRead = agentReadAt;

    const port = await agent!.metricsPort();
    const all = [{ name: '__name__', op: '=~', value: '.+' }] as const;
    const job = (name: string) => [{ name: 'job', op: '=', value: name }] as const;
    let diff: string[] = ['no comparison yet'];
    let scraped = new Map<string, unknown>();
    let pushed = new Map<string, unknown>();
    let viaAgent = new Map<string, unknown>();
    // The last polls may still be on their way to the receiver: compare until equal, within a bound.
    await eventually(
      'the pushed samples equal the scraped ones',
      async () => {
        const now = Date.now();
        const raw = await remoteRead(receiver!.url, all, 0, now + 2 * HOUR);
        const rawViaAgent = await remoteRead(scraper!.url, job('agent'), 0, now + 2 * HOUR);
        scraped = stored(await remoteRead(scraper!.url, job('scraped'), 0, now + 2 * HOUR), T, now);
        pushed = stored(raw, T, now);
        viaAgent = stored(rawViaAgent, T, now);
        diff = [...differences(scraped, pushed), ...differences(scraped, viaAgent).map((line) => `(scrape of the agent) ${line.replace('only pushed', 'only via agent')}`)];
        const caughtUp = (series: readonly DecodedTimeSeries[]) =>
          series.some((s) => s.labels.some((l) => l.name === '__name__' && l.value === 'plain') && s.samples.some((sample) => sample.timestamp > lastRead));
        return diff.length === 0 && caughtUp(raw) && caughtUp(rawViaAgent) ? true : undefined;
      },
      { gone: watched.gone, log: () => `${diff.length} differences:\n${diff.join('\n')}\nagent log:\n${watched.log()}` },
      30_000,
      250,
    );
    assert.equal(diff, []);

    // The body exercises both outcomes: some of its own timestamps stored, some refused (which, the scrape decided).
    const written = new Set(lines(3, T, T2).map(([name]) => name));
    const ownStored = [...scraped.entries()].filter(([, v]) => (v as { own: string[] }).own.length > 0).map(([k]) => k.replace(/\{.*$/, ''));
    assert.ok(ownStored.length >= 3, `the scrape stored samples at their own timestamps: ${ownStored.join(', ')}`);
    assert.ok([...written].some((name) => !scraped.has(`${name}{}`)), 'the scrape refused whole series of the body');

    // Nothing the agent sent was refused by the receiver (it would answer 400 and lose a whole request),
    // and the agent counted a refusal of its own for each kind the scrape counted.
    const own = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.is(counterSum(own, 'jvb_remote_write_samples_dropped_total', /reason="refused"/), 0, own);
    const prom = await (await fetch(`${scraper!.url}/metrics`)).text();
    const kinds: Array<[string, RegExp]> = [
      ['prometheus_target_scrapes_sample_out_of_bounds_total', /reason="timestamp_too_(old|far_ahead)"/],
      ['prometheus_target_scrapes_sample_out_of_order_total', /reason="timestamp_out_of_order"/],
      ['prometheus_target_scrapes_sample_duplicate_timestamp_total', /reason="timestamp_duplicate"/],
    ];
    for (const [theirs, ours] of kinds) {
      const scrapeCounted = counterSum(prom, theirs) > 0;
      const agentCounted = counterSum(own, 'jvb_remote_write_samples_dropped_total', ours) > 0;
      assert.is(agentCounted, scrapeCounted, `${theirs} ${scrapeCounted ? '> 0' : '= 0'}; the agent's ${ours}: ${agentCounted ? '> 0' : '= 0'}`);
    }
    const refusalLines = agent!.lines.filter((line) => /timestamp/.test(line) && /level=warn/.test(line));
    assert.ok(refusalLines.length >= 1, `a warning names the families refused for their timestamps:\n${agent!.lines.join('\n')}`);
    assert.ok(refusalLines.length <= 2, `not one line per poll: ${refusalLines.join('\n')}`);
  });

  test.run();
}

oracle('text');
oracle('openmetrics');
