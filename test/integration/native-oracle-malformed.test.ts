import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { FakeBridge } from '../helpers/fake-bridge';
import { PrometheusServer, type PromSample } from '../helpers/prometheus-server';

/**
 * The oracle for bodies a Prometheus 2.42 scrape stores although some samples
 * do not fit their family (issue 17, 5.5): a histogram bucket without `le`
 * or with `le=""`, a summary sample without `quantile`, a stray sample named
 * like a histogram family, a line opening with NUL (the rest of the body is
 * ignored by the scrape). The agent keeps the body: it pushes every series
 * the scrape stores except those four samples, which its family model cannot
 * hold (docs/native-parsing.md), counted in jvb_skipped_fields_total.
 */

const BODY = [
  '# TYPE h histogram',
  'h_bucket{a="1"} 3',
  'h_bucket{le=""} 5',
  'h_bucket{le="+Inf"} 4',
  'h_sum 2',
  'h_count 4',
  '# TYPE s summary',
  's{a="1"} 3',
  's{quantile="0.5"} 1',
  's_sum 2',
  's_count 4',
  '# TYPE g gauge',
  'g 1',
  'h 7',
  '\u0000junk 9',
  'k 3',
  '',
].join('\n');

/** Stored by the scrape, left out by the agent (written by hand). */
const LEFT_OUT = ['h_bucket{a="1"}', 'h_bucket{}', 's{a="1"}', 'h{}'];

function seriesKeys(result: readonly PromSample[]): string[] {
  return result
    .map((sample) => {
      const { __name__: name = '', job: _job, instance: _instance, ...labels } = sample.metric;
      return `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
    })
    .filter((key) => !key.startsWith('up{') && !key.startsWith('scrape_') && !key.startsWith('jvb_') && !key.startsWith('nodejs_') && !key.startsWith('process_'))
    .sort();
}

test('a body with samples the model cannot hold: the agent pushes what the scrape stores but those samples, and counts them per family', async () => {
  const bridge = new FakeBridge({ format: 'text' });
  bridge.respond = (request) => (request.path === '/metrics' ? { body: BODY, contentType: 'text/plain; version=0.0.4; charset=utf-8' } : undefined);
  await bridge.start();
  const prometheus = await PrometheusServer.start({ remoteWriteReceiver: true, scrape: [{ job: 'scraped', target: bridge.hostPort, interval: '1s' }] });
  const agent = AgentProcess.spawn([
    `--jvb.url=${bridge.metricsUrl}`,
    '--poll.interval=1s',
    '--web.listen-address=127.0.0.1:0',
    `--remote-write.url=${prometheus.url}/api/v1/write`,
    '--remote-write.job=pushed',
  ]);
  try {
    const scrapedExpected = ['g{}', 'h_bucket{a="1"}', 'h_bucket{le="+Inf"}', 'h_bucket{}', 'h_count{}', 'h_sum{}', 'h{}', 's_count{}', 's_sum{}', 's{a="1"}', 's{quantile="0.5"}'];
    const pushedExpected = scrapedExpected.filter((key) => !LEFT_OUT.includes(key));
    const deadline = Date.now() + 30_000;
    let scraped: string[] = [];
    let pushed: string[] = [];
    while (Date.now() < deadline && agent.exitCode === null) {
      scraped = seriesKeys(await prometheus.query('{job="scraped"}'));
      pushed = seriesKeys(await prometheus.query('{job="pushed"}'));
      if (scraped.length === scrapedExpected.length && pushed.length === pushedExpected.length) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const context = `agent log:\n${agent.lines.slice(-20).join('\n')}`;
    assert.equal(scraped, scrapedExpected, `the scrape (Prometheus 2.42) stores the body up to the NUL line\n${context}`);
    assert.equal(pushed, pushedExpected, context);

    const port = await agent.metricsPort();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(text, /\njvb_up(\{[^}]*\})? 1\n/, 'the bridge is up: its series are not withdrawn');
    const skipped = (reason: string) => Number(new RegExp(`\\njvb_skipped_fields_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 'NaN');
    // Counted once per family and poll: bad_histogram (h), bad_summary (s), name_collision (h).
    assert.ok(skipped('bad_histogram') >= 1, text);
    assert.ok(skipped('bad_summary') >= 1, text);
    assert.ok(skipped('name_collision') >= 1, text);
    assert.is(skipped('bad_histogram'), skipped('bad_summary'), 'one per family and poll');
  } finally {
    await agent.stop();
    await prometheus.stop();
    await bridge.stop();
  }
});

test.run();
