import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess, productionNodeFlags } from '../helpers/agent-process';
import { eventually as eventuallyWatching } from '../helpers/eventually';
import { closeServer, listenOnLoopback } from '../helpers/close-server';
import { FakeBridge, nativeFixtureText } from '../helpers/fake-bridge';
import { parseExposition } from '../helpers/parse-exposition';

/**
 * --jvb.timeout bounds the whole poll, parsing included, and one bridge's
 * huge body does not starve the rest of the agent: bridge `huge` answers
 * 67 MB of series (4 million, each a new one: limits raised so that neither
 * the size nor the series limit refuses it) with a 5 s timeout, bridge
 * `small` is polled every 200 ms. On the test machine receiving and
 * decoding that body takes 0.7-2 s (up to 4 s with other test suites
 * running) and parsing it 12 s or more, so the poll must
 * end as a `timeout` saying the body took too long to parse; while it is
 * being parsed, the small bridge keeps being polled and /-/healthy answers.
 *
 * Nothing here rests on a tight time: "while it is being parsed" is from
 * the moment the fake bridge has sent the whole body to the moment the
 * agent logs the timeout (both margins, receiving against the timeout and
 * the timeout against the whole parse, are over 2x); the old agent parsed
 * in one go (no poll of the other bridge, no answer from its server
 * meanwhile), then reported a success 13 s or more after the poll began.
 */
const test = suite('poll deadline: a huge body is parsed in slices and cut at the timeout');

const SERIES = 4_000_000;
const small = new FakeBridge({ metrics: true });
let body: Buffer = Buffer.alloc(0);
let dir: string | undefined;
let agent: AgentProcess | undefined;
let agentExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

/**
 * About 17 bytes a series, each a series of its own: the costly case for
 * the parser (a new series every few bytes). Made a few thousand lines at a
 * time, so that this process holds no million strings whose collection
 * could stall it while it sends the body.
 */
function hugeBody(series: number): Buffer {
  const chunks: Buffer[] = [Buffer.from('# HELP g A generated gauge.\n# TYPE g gauge\n')];
  for (let from = 0; from < series; from += 5000) {
    let text = '';
    for (let i = from; i < Math.min(series, from + 5000); i++) text += `g{e="${i}"} ${i % 10}\n`;
    chunks.push(Buffer.from(text));
  }
  return Buffer.concat(chunks);
}

/**
 * The bridge with the huge body: its first poll gets JVB's usual /metrics
 * (the agent warms up: its start-up is not the test), the next ones the
 * huge body. `sent`: the huge bodies handed whole to the agent's socket.
 */
const hugeBridge = {
  server: undefined as http.Server | undefined,
  port: 0,
  requests: 0,
  sent: 0,
};

async function startHugeBridge(): Promise<void> {
  const usual = nativeFixtureText('text');
  const server = http.createServer((req, res) => {
    req.resume();
    const first = hugeBridge.requests++ === 0;
    res.on('finish', () => {
      if (!first) hugeBridge.sent++;
    });
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(first ? usual : body);
  });
  hugeBridge.port = await listenOnLoopback(server, 0);
  hugeBridge.server = server;
}

test.before(async () => {
  body = hugeBody(SERIES);
  await small.start();
  await startHugeBridge();
  dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-deadline-'));
  const configFile = join(dir, 'agent.yml');
  writeFileSync(
    configFile,
    `bridges:
  - url: "http://127.0.0.1:${hugeBridge.port}/metrics"
    name: huge
    interval: 8s
    timeout: 5s
    max-body-size: 256MiB
    max-series: 5000000
  - url: "${small.metricsUrl}"
    name: small
    interval: 200ms
`,
  );
  agent = AgentProcess.spawn([`--config.file=${configFile}`, '--web.listen-address=127.0.0.1:0', '--storage.in-memory'], {}, productionNodeFlags());
  void agent.exited.then((exit) => (agentExit = exit));
});

test.after(async () => {
  await agent?.stop();
  await small.stop();
  if (hugeBridge.server) await closeServer(hugeBridge.server);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const watched = {
  gone: () => (agentExit === undefined ? undefined : `the agent exited (${JSON.stringify(agentExit)})`),
  log: () => agent?.lines.join('\n') ?? '(no agent)',
};

function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  return eventuallyWatching(what, probe, watched, timeoutMs, 10);
}

const timeoutLine = (line: string) => line.includes('poll failed') && line.includes('bridge=huge') && line.includes('reason=timeout');

test('the huge body ends as a timeout, and meanwhile the other bridge is polled and /-/healthy answers', async () => {
  const port = await agent!.metricsPort();
  // The whole body handed to the agent's socket: from here on the agent holds it (reads its end, parses it).
  await eventually('the first poll of the huge bridge (its usual body) succeeds', async () => agent!.lines.find((l) => l.includes('JVB poll succeeded') && l.includes('bridge=huge')), 30_000);
  await eventually('the huge bridge has sent its huge body', async () => (hugeBridge.sent > 0 ? true : undefined), 30_000);
  const smallPollsBefore = small.count('/metrics');

  // /-/healthy asked over and over, one request at a time, until the timeout is logged.
  let healthyAnswers = 0;
  let stop = false;
  const asking = (async () => {
    while (!stop) {
      const res = await fetch(`http://127.0.0.1:${port}/-/healthy`, { signal: AbortSignal.timeout(60_000) });
      await res.text();
      if (res.status === 200 && !stop) healthyAnswers++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  let line: string;
  try {
    line = await eventually('the huge bridge\'s poll logged as a timeout', async () => agent!.lines.find(timeoutLine), 90_000);
  } finally {
    stop = true;
  }
  const smallPolls = small.count('/metrics') - smallPollsBefore;
  const answered = healthyAnswers;
  await asking.catch(() => undefined);

  console.log(`    ${line.slice(line.indexOf('err='))}\n    while the huge body was being parsed: ${smallPolls} polls of the small bridge, ${answered} answers from /-/healthy`);
  assert.ok(line.includes('took too long to parse'), line);
  assert.ok(line.includes(`${body.length} bytes`), `the line gives the body's size: ${line}`);
  assert.ok(smallPolls >= 3, `the small bridge was polled ${smallPolls} times while the huge body was being parsed; log:\n${watched.log()}`);
  assert.ok(answered >= 2, `/-/healthy answered ${answered} times while the huge body was being parsed`);

  // And the bridge is down for Prometheus: jvb_up 0, one timeout.
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(30_000) });
  const samples = parseExposition(await res.text()).samples;
  const of = (name: string, labels: Record<string, string>) =>
    samples.find((s) => s.name === name && s.labels['instance'] === 'huge' && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  assert.is(of('jvb_up', {}), 0);
  assert.is(of('jvb_poll_failures_total', { reason: 'timeout' }), 1);
  assert.is(agent!.lines.filter(timeoutLine).length, 1, 'one line for the timeout');
});

test.run();
