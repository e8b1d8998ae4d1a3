import { readdirSync, readFileSync, statSync, truncateSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { FakeBridge } from '../helpers/fake-bridge';
import { FaultProxy } from '../helpers/fault-proxy';
import { ACTIVE_2021, fixtureText } from '../helpers/fixtures';
import { parseExposition } from '../helpers/parse-exposition';
import { PrometheusServer } from '../helpers/prometheus-server';

/**
 * The fault matrix of the durable queue: a real Prometheus receiver behind
 * a proxy that fails on demand, a fake JVB polled every 200 ms, and at the
 * end PromQL counts the samples that arrived for one series
 * (jitsi_participants, one sample per answered poll) and compares them with
 * the polls the fake JVB answered. Every loop is bounded in time.
 */
const INTERVAL_MS = 200;
const fm = suite('fault matrix: nothing lost (real Prometheus receiver)');

interface Row {
  readonly name: string;
  readonly expected: number;
  readonly arrived: number;
  readonly dropped: string;
  readonly peakRssMiB: number;
}
const rows: Row[] = [];

let prometheus: PrometheusServer;
const storageRoot = mkdtempSync(join(tmpdir(), 'jvb-adapter-fault-matrix-'));

fm.before(async () => {
  prometheus = await PrometheusServer.start({ remoteWriteReceiver: true });
});
fm.after(async () => {
  await prometheus?.stop();
  rmSync(storageRoot, { recursive: true, force: true });
  // The table README.md shows.
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(
    ['', line(['case', 'samples expected', 'arrived', 'dropped (why)', 'peak RSS']), line(['---', '---', '---', '---', '---']),
      ...rows.map((r) => line([r.name, String(r.expected), String(r.arrived), r.dropped, `${r.peakRssMiB.toFixed(0)} MiB`]))].join('\n'),
  );
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}

/** One case's world: a fake JVB, a proxy in front of the shared Prometheus, a storage folder, and agent runs. */
class Case {
  readonly jvb = new FakeBridge();
  readonly proxy: FaultProxy;
  readonly storage: string;
  agent: AgentProcess | undefined;
  peakRss = 0;
  private rssTimer: NodeJS.Timeout | undefined;
  /** Self metrics of the finished runs, added up. */
  readonly totals = new Map<string, number>();

  constructor(readonly instance: string, private readonly extraArgs: string[] = []) {
    this.proxy = new FaultProxy(prometheus.url);
    this.storage = join(storageRoot, instance);
  }

  async start(): Promise<this> {
    await this.jvb.start();
    this.jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
    await this.proxy.up();
    return this;
  }

  startAgent(): AgentProcess {
    this.agent = AgentProcess.spawn([
      `--jvb.url=${this.jvb.colibriUrl}`,
      `--poll.interval=${INTERVAL_MS}ms`,
      '--jvb.timeout=150ms',
      '--web.listen-address=127.0.0.1:0',
      `--remote-write.url=${this.proxy.url}/api/v1/write`,
      `--remote-write.name=${this.instance}`,
      `--remote-write.instance=${this.instance}`,
      '--remote-write.min-backoff=50ms',
      '--remote-write.max-backoff=400ms',
      `--storage.path=${this.storage}`,
      ...this.extraArgs,
    ]);
    const { pid } = this.agent;
    clearInterval(this.rssTimer);
    this.rssTimer = setInterval(() => {
      try {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
        this.peakRss = Math.max(this.peakRss, kb / 1024);
      } catch {
        // the process is gone
      }
    }, 100);
    return this.agent;
  }

  /** The agent's own counters (dropped by reason, replayed), read from its /metrics. */
  async selfMetrics(): Promise<Map<string, number>> {
    const port = await this.agent!.metricsPort();
    const out = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    const found = new Map<string, number>();
    for (const s of out.samples) {
      if (s.name === 'jvb_remote_write_samples_dropped_total') found.set(`dropped:${s.labels['reason']}`, s.value);
      if (s.name === 'jvb_remote_write_samples_replayed_total') found.set('replayed', s.value);
    }
    return found;
  }

  async stopAgent(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (signal !== 'SIGKILL') {
      for (const [k, v] of await this.selfMetrics()) this.totals.set(k, (this.totals.get(k) ?? 0) + v);
    }
    const result = await this.agent!.stop(signal);
    clearInterval(this.rssTimer);
    return result;
  }

  async waitPolls(n: number): Promise<void> {
    const target = this.jvb.answered200 + n;
    await until(`${n} more polls`, () => this.jvb.answered200 >= target, n * INTERVAL_MS * 5 + 5000);
  }

  /** Stops counting (the JVB answers 503 from now on), waits one interval for a poll in flight. */
  async freezeJvb(): Promise<number> {
    this.jvb.respond = () => ({ status: 503, body: 'frozen' });
    await sleep(INTERVAL_MS * 2);
    return this.jvb.answered200;
  }

  async arrived(): Promise<number> {
    const result = await prometheus.query(`count_over_time(jitsi_participants{instance="${this.instance}"}[1h])`);
    return result.length === 0 ? 0 : Number(result[0]!.value[1]);
  }

  async waitArrived(expected: number): Promise<number> {
    let got = 0;
    await until(`${expected} samples in Prometheus`, async () => (got = await this.arrived()) >= expected, 30_000).catch(() => undefined);
    return got;
  }

  dropped(): string {
    const parts = [...this.totals].filter(([k, v]) => k.startsWith('dropped:') && v > 0).map(([k, v]) => `${v} ${k.slice(8)}`);
    return parts.length === 0 ? '0' : parts.join(', ');
  }

  async finish(name: string, expected: number, arrived: number, dropped = this.dropped()): Promise<void> {
    rows.push({ name, expected, arrived, dropped, peakRssMiB: this.peakRss });
    if (this.agent) await this.agent.stop();
    await this.proxy.down();
    await this.jvb.stop();
  }
}

fm('1. receiver down for 30 polls, then back: every sample arrives, in order', async () => {
  const c = await new Case('fm1').start();
  c.startAgent();
  await c.waitPolls(5);
  await c.proxy.down();
  await c.waitPolls(30);
  await c.proxy.up();
  await c.waitPolls(3);
  const expected = await c.freezeJvb();
  const arrived = await c.waitArrived(expected);
  await c.stopAgent();
  await c.finish('1. receiver down 30 polls, then back', expected, arrived);
  assert.is(arrived, expected);
  assert.is(c.totals.get('dropped:refused') ?? 0, 0, 'Prometheus refused samples (out of order?)');
});

fm('2. receiver down, agent SIGKILLed, restarted, receiver back: every sample from before the kill arrives', async () => {
  const c = await new Case('fm2').start();
  c.startAgent();
  await c.waitPolls(5);
  await c.proxy.down();
  await c.waitPolls(20);
  // No answered poll may be in flight at the kill: its sample could not have been queued yet.
  const beforeKill = await c.freezeJvb();
  assert.is((await c.stopAgent('SIGKILL')).signal, 'SIGKILL');
  c.jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  c.startAgent();
  await c.agent!.waitForLine(/replaying the queued backlog/);
  await c.waitPolls(5);
  await c.proxy.up();
  const expected = await c.freezeJvb();
  const arrived = await c.waitArrived(expected);
  const replayed = (await c.selfMetrics()).get('replayed') ?? 0;
  await c.stopAgent();
  await c.finish('2. receiver down, SIGKILL, restart, receiver back', expected, arrived);
  assert.ok(beforeKill >= 25);
  assert.ok(replayed > 0, 'the backlog was replayed after the restart');
  assert.is(arrived, expected);
});

fm('3. torn tail (SIGKILL in the middle of a queue write): the agent starts, logs it, loses at most that record', async () => {
  const c = await new Case('fm3').start();
  c.startAgent();
  await c.waitPolls(3);
  await c.proxy.down();
  await c.waitPolls(15);
  const beforeKill = await c.freezeJvb();
  await c.stopAgent('SIGKILL');
  // Cut the newest segment file inside its last record, as a power loss mid-write would.
  const dir = join(c.storage, 'remote-write', 'fm3');
  const segments = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
  const newest = join(dir, segments[segments.length - 1]!);
  const size = statSync(newest).size;
  assert.ok(size > 100, `segment ${newest} holds records`);
  truncateSync(newest, size - 7);
  c.jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  c.startAgent();
  await c.agent!.waitForLine(/torn|corrupt/i);
  await c.proxy.up();
  await c.waitPolls(3);
  const expected = await c.freezeJvb();
  const arrived = await c.waitArrived(expected - 1);
  await c.stopAgent();
  const lost = expected - arrived;
  await c.finish('3. torn tail after SIGKILL', expected, arrived, `${lost} (the torn record${lost === 0 ? ' held no jitsi_participants sample' : ''})${c.dropped() === '0' ? '' : `, ${c.dropped()}`}`);
  assert.ok(beforeKill > 15);
  // The last record written before the kill may be a failed poll's (stale markers, jvb_up 0): losing it costs this series nothing.
  assert.ok(lost === 0 || lost === 1, `lost ${lost} samples; at most the torn record may be lost`);
});

fm('4. receiver answering 500 for a while, then 429 with Retry-After, then 200: everything arrives', async () => {
  const c = await new Case('fm4').start();
  c.proxy.script = (n) =>
    n <= 3 ? { kind: 'pass' } : n <= 15 ? { kind: 'answer', status: 500 } : n <= 17 ? { kind: 'answer', status: 429, headers: { 'Retry-After': '1' } } : { kind: 'pass' };
  c.startAgent();
  await until('the 429s were answered', () => c.proxy.answered.filter((s) => s === 429).length >= 2, 30_000);
  await c.waitPolls(5);
  const expected = await c.freezeJvb();
  const arrived = await c.waitArrived(expected);
  await c.stopAgent();
  await c.finish('4. 500s, then 429 + Retry-After, then 200', expected, arrived);
  assert.is(c.proxy.answered.filter((s) => s === 500).length, 12);
  assert.is(arrived, expected);
});

fm('5. receiver answering 400 for one batch: that batch alone is dropped and counted, the rest arrive', async () => {
  const c = await new Case('fm5').start();
  // Request 10 is a poll's samples (metadata goes only with the first poll in this short run).
  c.proxy.script = (n) => (n === 10 ? { kind: 'answer', status: 400, body: 'bad data (injected)' } : { kind: 'pass' });
  c.startAgent();
  await until('the 400 was answered', () => c.proxy.answered.includes(400));
  await c.waitPolls(5);
  const expected = await c.freezeJvb();
  const arrived = await c.waitArrived(expected - 1);
  await c.stopAgent();
  await c.finish('5. one batch answered 400', expected - 1, arrived);
  assert.is(arrived, expected - 1);
  assert.ok((c.totals.get('dropped:refused') ?? 0) > 0, 'the refused batch is counted');
  assert.ok(c.agent!.lines.some((l) => /HTTP 400.*bad data \(injected\)/.test(l)));
});

fm('6. outage longer than --storage.max-bytes allows: the oldest are dropped, the newest arrive, RSS stays flat', async () => {
  const c = await new Case('fm6', ['--storage.max-bytes=48KiB']).start();
  c.startAgent();
  await c.waitPolls(3);
  await c.proxy.down();
  await c.waitPolls(40);
  const rssMid = c.peakRss;
  await c.waitPolls(40);
  await c.proxy.up();
  await c.waitPolls(3);
  const expected = await c.freezeJvb();
  // What arrives: the polls before the outage, then an unbroken run of the newest.
  await until('the backlog drained', async () => {
    const pending = await prometheus.query(`jvb_remote_write_samples_pending{instance="fm6"}`);
    return pending.length === 1 && pending[0]!.value[1] === '0';
  }, 30_000).catch(() => undefined);
  await sleep(1000);
  const arrived = await c.arrived();
  const polls = await prometheus.query(`jvb_polls_total{instance="fm6"}[1h]`);
  await c.stopAgent();
  await c.finish('6. outage longer than --storage.max-bytes (48KiB)', expected, arrived);
  const values = ((polls[0] as unknown as { values: [number, string][] }).values ?? []).map(([, v]) => Number(v));
  assert.ok(arrived < expected, 'some were dropped');
  assert.ok((c.totals.get('dropped:queue_full') ?? 0) > 0, 'drops counted as queue_full');
  // The newest polls all arrived: the last 10 poll numbers are consecutive and end at the last poll.
  const tail = values.slice(-10);
  assert.equal(tail, Array.from({ length: 10 }, (_, i) => values[values.length - 1]! - 9 + i));
  // Only one gap, and it is the oldest part of the outage.
  const gaps = values.filter((v, i) => i > 0 && v !== values[i - 1]! + 1);
  assert.is(gaps.length, 1, `gaps at ${gaps}`);
  assert.ok(c.peakRss < rssMid + 25, `RSS grew from ${rssMid.toFixed(0)} to ${c.peakRss.toFixed(0)} MiB during the outage`);
});

fm('7. SIGTERM during an outage: exits within the flush deadline, backlog on disk, delivered after restart', async () => {
  const c = await new Case('fm7', ['--storage.flush-deadline=1s']).start();
  c.startAgent();
  await c.waitPolls(3);
  await c.proxy.down();
  await c.waitPolls(15);
  await c.freezeJvb();
  const started = Date.now();
  const exit = await c.stopAgent('SIGTERM');
  const took = Date.now() - started;
  assert.is(exit.code, 0);
  assert.ok(took < 1000 + 4000, `exit took ${took}ms with a 1s flush deadline`);
  c.jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  await c.proxy.up();
  c.startAgent();
  await c.waitPolls(3);
  const expected = await c.freezeJvb();
  const arrived = await c.waitArrived(expected);
  await c.stopAgent();
  await c.finish('7. SIGTERM during an outage, restart', expected, arrived);
  assert.is(arrived, expected);
});

fm('8. a JVB that goes down and comes back: stale markers, then fresh samples', async () => {
  const c = await new Case('fm8').start();
  c.startAgent();
  await c.waitPolls(5);
  await until('the series is there', async () => (await prometheus.query('jitsi_participants{instance="fm8"}')).length === 1);
  await c.jvb.stop();
  await until('the series is stale', async () => (await prometheus.query('jitsi_participants{instance="fm8"}')).length === 0, 10_000);
  await c.jvb.start();
  await until('fresh samples', async () => (await prometheus.query('jitsi_participants{instance="fm8"}')).length === 1, 10_000);
  await c.waitPolls(3);
  const expected = await c.freezeJvb();
  const arrived = await c.waitArrived(expected);
  await c.stopAgent();
  await c.finish('8. JVB down and back', expected, arrived);
  assert.is(arrived, expected);
});

fm.run();
