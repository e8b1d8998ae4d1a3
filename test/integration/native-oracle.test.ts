import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { FakeBridge, nativeFixtureText, type NativeFormat } from '../helpers/fake-bridge';
import { PrometheusServer, type PromSample } from '../helpers/prometheus-server';
import { setUpBefore } from '../helpers/set-up-before';

/**
 * The oracle: one fake JVB serving its native /metrics, scraped by a real
 * Prometheus (job "scraped") and polled by the agent, which pushes to the
 * same Prometheus over remote_write (job "pushed"). Whatever the scrape
 * stored, the push must have stored too, series for series and value for
 * value, except the `_created` series the agent leaves out.
 */

/** Series that only one side can have: Prometheus' own per-scrape series, the agent's own metrics. */
function comparable(name: string): boolean {
  if (name === 'up' || name.startsWith('scrape_')) return false;
  if (name.startsWith('jvb_') || name.startsWith('nodejs_') || name.startsWith('process_')) return false;
  return !name.endsWith('_created');
}

/** `name{a="1",b="2"}` (labels sorted, job and instance left out) -> the value as Prometheus prints it. */
function seriesMap(result: readonly PromSample[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const sample of result) {
    const { __name__: name = '', job: _job, instance: _instance, ...labels } = sample.metric;
    if (!comparable(name)) continue;
    const labelText = Object.keys(labels)
      .sort()
      .map((key) => `${key}=${JSON.stringify(labels[key])}`)
      .join(',');
    const key = `${name}{${labelText}}`;
    if (map.has(key)) throw new Error(`two series ${key} in one answer: ${JSON.stringify(result.filter((s) => s.metric['__name__'] === name))}`);
    // Prometheus prints NaN as "NaN"; strings compare it as equal to itself.
    map.set(key, sample.value[1]);
  }
  return map;
}

function differences(scraped: ReadonlyMap<string, string>, pushed: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [key, value] of scraped) {
    if (!pushed.has(key)) out.push(`only scraped: ${key} ${value}`);
    else if (pushed.get(key) !== value) out.push(`value differs: ${key} scraped=${value} pushed=${pushed.get(key)}`);
  }
  for (const [key, value] of pushed) if (!scraped.has(key)) out.push(`only pushed:  ${key} ${value}`);
  return out.sort();
}

function tail(lines: readonly string[], n = 40): string {
  return lines.slice(-n).join('\n');
}

function oracle(format: NativeFormat): void {
  const test = suite(`native /metrics (${format === 'openmetrics' ? 'OpenMetrics 1.0.0' : 'text 0.0.4'}): what the agent pushes is what a Prometheus scrape stores`);
  const bridge = new FakeBridge({ format });
  let prometheus: PrometheusServer | undefined;
  let agent: AgentProcess | undefined;
  const fixture = nativeFixtureText(format);
  const typeLines = fixture.split('\n').filter((line) => line.startsWith('# TYPE ')).length;
  let agentExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const setUpDone = setUpBefore(test, setUp);
  const ready = () => setUpDone.check();

  async function setUp(): Promise<void> {
    await bridge.start();
    // The default metrics_path, /metrics, is the bridge's native endpoint.
    prometheus = await PrometheusServer.start({ remoteWriteReceiver: true, scrape: [{ job: 'scraped', target: bridge.hostPort, interval: '1s' }] });
    agent = AgentProcess.spawn([
      `--jvb.url=${bridge.metricsUrl}`,
      '--poll.interval=1s',
      '--web.listen-address=127.0.0.1:0',
      `--remote-write.url=${prometheus.url}/api/v1/write`,
      '--remote-write.job=pushed',
    ]);
    void agent.exited.then((exit) => (agentExit = exit));
  }

  test.after(async () => {
    await agent?.stop();
    await prometheus?.stop();
    await bridge.stop();
  });

  test('the fixture is what this run is about', () => {
    assert.ok(typeLines >= 100, `only ${typeLines} # TYPE lines in the ${format} fixture`);
    if (format === 'openmetrics') assert.ok(fixture.trimEnd().endsWith('# EOF'), 'an OpenMetrics fixture ends with # EOF');
    else assert.not.ok(fixture.includes('# EOF'));
  });

  test('the pushed series equal the scraped series (job/instance, Prometheus and agent own series, *_created left out)', async () => {
    ready();
    const deadline = Date.now() + 30_000;
    let scraped = new Map<string, string>();
    let pushed = new Map<string, string>();
    let diff: string[] = ['no comparison yet'];
    // Both sides arrive on their own schedule (and a push may be split in several requests): compare until equal or the deadline.
    while (Date.now() < deadline && agentExit === undefined) {
      scraped = seriesMap(await prometheus!.query('{job="scraped"}'));
      pushed = seriesMap(await prometheus!.query('{job="pushed"}'));
      diff = differences(scraped, pushed);
      if (scraped.size >= typeLines && diff.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const context = () =>
      `${scraped.size} scraped, ${pushed.size} pushed series; ${diff.length} differences:\n${diff.slice(0, 80).join('\n')}${diff.length > 80 ? `\n... ${diff.length - 80} more` : ''}\n` +
      `bridge requests: ${JSON.stringify(bridge.requests.slice(-6))}\nagent log (tail):\n${tail(agent!.lines)}`;
    assert.ok(scraped.size >= typeLines, `Prometheus stored only ${scraped.size} series from the scrape (${typeLines} # TYPE lines in the fixture)\n${context()}`);
    assert.is(agentExit, undefined, `the agent exited\n${context()}`);
    assert.ok(pushed.size > 0, `nothing arrived from the agent\n${context()}`);
    assert.equal(diff, [], context());
    assert.is(pushed.size, scraped.size);
  });

  test('no *_created series are pushed (the scrape does store them)', async () => {
    ready();
    const pushedAny = await prometheus!.query('count({job="pushed"})');
    assert.ok(Number(pushedAny[0]?.value[1] ?? 0) > 0, 'nothing was pushed, so nothing to check');
    const scrapedCreated = await prometheus!.query('{job="scraped",__name__=~".+_created"}');
    assert.ok(scrapedCreated.length > 0, 'the fixture has _created series and the scrape stores them');
    const pushedCreated = await prometheus!.query('{job="pushed",__name__=~".+_created"}');
    assert.equal(
      pushedCreated.map((s) => s.metric['__name__']),
      [],
      'the agent pushed _created series',
    );
  });

  test(`both readers got the ${format} format from the bridge, always with an Accept header`, () => {
    ready();
    const metrics = bridge.requestsTo('/metrics');
    const fromPrometheus = metrics.filter((r) => r.userAgent?.startsWith('Prometheus/'));
    const fromAgent = metrics.filter((r) => !r.userAgent?.startsWith('Prometheus/'));
    assert.ok(fromPrometheus.length > 0, 'Prometheus scraped the bridge');
    assert.ok(fromAgent.length > 0, `the agent never asked /metrics: ${JSON.stringify(metrics.slice(-5))}`);
    const missing = fromAgent.filter((r) => r.accept === undefined);
    assert.is(missing.length, 0, `${missing.length} of the agent's /metrics requests had no Accept header (JVB answers those 500)`);
    const answered = metrics.filter((r) => r.status !== undefined);
    const notOk = answered.filter((r) => r.status !== 200 || r.format !== format);
    assert.is(notOk.length, 0, `not every /metrics request was answered 200 with ${format}: ${JSON.stringify(notOk.slice(-5))}`);
  });

  test.run();
}

oracle('openmetrics');
oracle('text');
