import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, type RunningAgent } from '../../src/agent';
import { loadConfig } from '../../src/config/load-config';
import { allSettings } from '../../src/config/scopes';
import { createLogger } from '../../src/log/logger';
import { AgentProcess } from '../helpers/agent-process';
import { FakeBridge } from '../helpers/fake-bridge';
import { ACTIVE_2021, fixtureJson, fixtureText, jsonFixtureNames, SEED_OUTPUT } from '../helpers/fixtures';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';

const quietLog = createLogger({ level: 'error', format: 'logfmt', write: () => {} });

async function inProcessAgent(jvbUrl: string, extra: string[] = []): Promise<{ agent: RunningAgent; base: string }> {
  const request = loadConfig({
    argv: [`--jvb.url=${jvbUrl}`, '--poll.interval=200ms', '--jvb.timeout=150ms', '--web.listen-address=127.0.0.1:0', ...extra],
    env: {},
  });
  if (request.kind !== 'run') throw new Error('expected run');
  const agent = await startAgent(request.config, quietLog);
  return { agent, base: `http://127.0.0.1:${agent.server.address.port}` };
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

const server = suite('the HTTP server');
const jvb = new FakeBridge();
server.before(async () => {
  await jvb.start();
});
server.after(async () => {
  await jvb.stop();
});

server('/-/ready is 503 until the first successful poll, then 200; /-/healthy is 200 throughout', async () => {
  jvb.respond = () => ({ status: 503, body: 'starting' });
  const { agent, base } = await inProcessAgent(jvb.colibriUrl);
  try {
    assert.ok(await until(async () => jvb.count() > 1));
    assert.is((await fetch(`${base}/-/ready`)).status, 503);
    assert.is((await fetch(`${base}/-/healthy`)).status, 200);
    jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
    assert.ok(await until(async () => (await fetch(`${base}/-/ready`)).status === 200), 'ready after a good poll');
  } finally {
    await agent.stop();
  }
});

server('index page, 404 elsewhere, 405 for other methods, a custom telemetry path', async () => {
  jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  const { agent, base } = await inProcessAgent(jvb.colibriUrl, ['--web.telemetry-path=/jvb-metrics']);
  try {
    const index = await fetch(`${base}/`);
    assert.is(index.status, 200);
    assert.match(await index.text(), 'href="/jvb-metrics"');
    assert.is((await fetch(`${base}/metrics`)).status, 404);
    assert.is((await fetch(`${base}/nope`)).status, 404);
    assert.is((await fetch(`${base}/jvb-metrics`, { method: 'POST' })).status, 405);
    const metrics = await fetch(`${base}/jvb-metrics`);
    assert.is(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', 'text/plain; version=0.0.4');
  } finally {
    await agent.stop();
  }
});

server('200 concurrent scrapes while polls replace the registry: every one whole and consistent', async () => {
  // Two captures alternate, so a scrape that mixed two polls would show it.
  const bodies = [fixtureText(ACTIVE_2021), fixtureText('colibri-stats-2021-08-v2.1.508-idle.json')];
  let n = 0;
  jvb.respond = () => ({ body: bodies[n++ % 2]! });
  const { agent, base } = await inProcessAgent(jvb.colibriUrl);
  try {
    assert.ok(await until(async () => (await fetch(`${base}/-/ready`)).status === 200));
    const texts = await Promise.all(Array.from({ length: 200 }, () => fetch(`${base}/metrics`).then(async (r) => ({ status: r.status, text: await r.text() }))));
    const active = fixtureJson(ACTIVE_2021);
    let whole = 0;
    for (const { status, text } of texts) {
      assert.is(status, 200);
      const out = parseExposition(text);
      // On a busy machine a poll may time out: then the scrape shows no JVB metric at all, and jvb_up 0; never a mix.
      if (sampleValue(out, 'jvb_up') === 0) {
        assert.not.ok(out.samples.some((s) => s.name.startsWith('jitsi_')), 'a failed poll serves no JVB metric');
        continue;
      }
      const participants = sampleValue(out, 'jitsi_participants');
      const threads = sampleValue(out, 'jitsi_threads');
      // participants and threads come from the same capture: 2 & 93 (active) or 0 & 53 (idle).
      assert.is(threads, participants === active['participants'] ? active['threads'] : 53);
      assert.is(sampleValue(out, 'jitsi_conference_sizes_count'), 1);
      whole++;
    }
    assert.ok(whole > 0, 'at least one scrape saw a successful poll');
  } finally {
    await agent.stop();
  }
});

server('a flood of 5 000 concurrent connections: polling goes on, /-/healthy answers, the agent survives', async () => {
  jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  const agent = AgentProcess.spawn([`--jvb.url=${jvb.colibriUrl}`, '--poll.interval=200ms', '--web.listen-address=127.0.0.1:0', '--storage.in-memory']);
  try {
    const port = await agent.metricsPort();
    assert.ok(await until(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).status === 200), 'ready before the flood');
    const pollsBefore = jvb.count();
    let pollsDuringFlood = 0;
    let flooding = true;
    const flood = Promise.all(Array.from({ length: 5000 }, () => rawGet(port, '/metrics'))).finally(() => {
      pollsDuringFlood = jvb.count() - pollsBefore;
      flooding = false;
    });
    // Health checks while the flood is on, each with a 1 s deadline; at least one must be answered in time.
    const healthy: number[] = [];
    while (flooding) {
      const started = performance.now();
      const ok = await fetch(`http://127.0.0.1:${port}/-/healthy`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false);
      if (ok) healthy.push(performance.now() - started);
      await new Promise((r) => setImmediate(r));
    }
    const results = await flood;
    const answered = results.filter((r) => r === 200).length;
    console.log(`    flood: ${answered} of 5000 answered 200, the rest refused; ${healthy.length} health checks answered within 1 s during it (slowest ${Math.round(Math.max(0, ...healthy))} ms); ${pollsDuringFlood} polls meanwhile`);
    assert.ok(healthy.length > 0, '/-/healthy answered within a second while the flood was on');
    assert.ok(answered > 0, 'scrapes were served');
    // Polling went on: more polls after the flood (and the agent is alive).
    const after = jvb.count();
    assert.ok(await until(async () => jvb.count() >= after + 3), 'polls continue after the flood');
    assert.is((await fetch(`http://127.0.0.1:${port}/-/healthy`)).status, 200);
    assert.is(agent.exitCode, null, 'the agent is still running');
  } finally {
    await agent.stop();
  }
});

/** One GET over a fresh connection, closed after the answer; resolves with the status, or 0 when refused or reset. */
function rawGet(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let head = '';
    socket.setTimeout(60_000, () => socket.destroy());
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      if (head.length < 16) head += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)));
  });
}

server.run();

const promtool = suite('promtool check metrics');
for (const fixture of jsonFixtureNames()) {
  promtool(`${fixture}: no finding but the seed's counter names`, async () => {
    const stats = fixtureJson(fixture);
    jvb.respond = () => ({ body: JSON.stringify(stats) });
    await jvb.start();
    const { agent, base } = await inProcessAgent(jvb.colibriUrl);
    try {
      assert.ok(await until(async () => (await fetch(`${base}/-/ready`)).status === 200));
      const text = await (await fetch(`${base}/metrics`)).text();
      const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      const findings = `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.trim() !== '');
      // Expected: the seed's counters without "_total" whose field this capture has, read off the seed's sample.
      const seed = parseExposition(fixtureText(SEED_OUTPUT));
      const expected = [...seed.type.entries()]
        .filter(([name, type]) => type === 'counter' && name.startsWith('jitsi_') && !name.endsWith('_total') && name.slice(6) in stats)
        .map(([name]) => `${name} counter metrics should have "_total" suffix`)
        .sort();
      assert.equal(findings.sort(), expected);
    } finally {
      await agent.stop();
      await jvb.stop();
    }
  });
}
promtool.run();

const cli = suite('the command line');
cli('a bad setting stops the agent before it starts: exit 2 and a message naming the setting', () => {
  const run = spawnSync(process.execPath, ['dist/cli.js', '--poll.interval=fast'], { encoding: 'utf8', env: { PATH: process.env['PATH'] } });
  assert.is(run.status, 2);
  assert.match(run.stderr, /--poll\.interval: invalid value "fast", expected a positive duration/);
  const fromEnv = spawnSync(process.execPath, ['dist/cli.js'], { encoding: 'utf8', env: { PATH: process.env['PATH'], JVB_ADAPTER_WEB_LISTEN_ADDRESS: 'nowhere' } });
  assert.is(fromEnv.status, 2);
  assert.match(fromEnv.stderr, /--web\.listen-address \(from JVB_ADAPTER_WEB_LISTEN_ADDRESS\)/);
});

cli('--help lists every setting with its environment variable; --version prints the version', () => {
  const help = execFileSync(process.execPath, ['dist/cli.js', '--help'], { encoding: 'utf8' });
  for (const { flag, spec, env } of allSettings()) assert.ok(help.includes(spec.reach === 'no-flag' ? env[0]! : `--${flag}`), flag);
  assert.match(help, 'JVB_ADAPTER_POLL_INTERVAL');
  assert.match(help, 'JVB_STATS_URL');
  const version = execFileSync(process.execPath, ['dist/cli.js', '--version'], { encoding: 'utf8' });
  const pkg = require('../../package.json') as { version: string };
  assert.match(version, `jvb-prometheus-adapter ${pkg.version}`);
});

cli('--demo serves a simulated bridge whose numbers agree with each other, logs each poll, exits 0 on SIGINT', async () => {
  const agent = AgentProcess.spawn(['--demo', '--poll.interval=300ms', '--jvb.timeout=200ms', '--web.listen-address=127.0.0.1:0']);
  try {
    const port = await agent.metricsPort();
    await agent.waitForLine(/msg="poll collected".*series=\d+/);
    const out = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    const participants = sampleValue(out, 'jitsi_participants');
    assert.ok(participants > 0);
    assert.is(sampleValue(out, 'jitsi_conference_sizes_sum'), participants);
    assert.is(sampleValue(out, 'jitsi_conference_sizes_count'), sampleValue(out, 'jitsi_conferences'));
    assert.is(sampleValue(out, 'jvb_up'), 1);
  } finally {
    const result = await agent.stop('SIGINT');
    assert.is(result.code, 0);
  }
});

cli('a port already in use (the old adapter still on :9001): exit 2 naming --web.listen-address, so systemd does not restart it in a loop', async () => {
  const first = AgentProcess.spawn(['--demo', '--web.listen-address=127.0.0.1:0']);
  try {
    const port = await first.metricsPort();
    const second = spawnSync(process.execPath, ['dist/cli.js', '--demo', '--storage.in-memory', `--web.listen-address=127.0.0.1:${port}`], { encoding: 'utf8', timeout: 15_000 });
    assert.is(second.status, 2);
    assert.match(second.stderr, new RegExp(`--web\\.listen-address "127\\.0\\.0\\.1:${port}": the port is already in use`));
    assert.is(second.stderr.split('the port is already in use').length - 1, 1, `said once:\n${second.stderr}`);
    const badHost = spawnSync(process.execPath, ['dist/cli.js', '--demo', '--storage.in-memory', '--web.listen-address=192.0.2.1:0'], { encoding: 'utf8', timeout: 15_000 });
    assert.is(badHost.status, 2, 'an address this host does not have');
    assert.match(badHost.stderr, /--web\.listen-address "192\.0\.2\.1:0": no such local address/);
  } finally {
    await first.stop();
  }
});

cli('a storage folder that cannot be created stops the agent at start: exit 2, a message naming --storage.path', () => {
  // A path under a plain file can never become a folder (ENOTDIR), whoever runs the test, root included.
  const file = join(mkdtempSync(join(tmpdir(), 'jvb-adapter-cli-')), 'a-file');
  writeFileSync(file, 'not a folder');
  const run = spawnSync(
    process.execPath,
    ['dist/cli.js', '--demo', '--web.listen-address=127.0.0.1:0', '--remote-write.url=http://127.0.0.1:9/api/v1/write', `--storage.path=${file}/data`],
    { encoding: 'utf8', timeout: 15_000, env: { PATH: process.env['PATH'] } },
  );
  assert.is(run.status, 2);
  assert.match(run.stderr, /--storage\.path ".*\/a-file\/data": cannot use .*ENOTDIR/);
  assert.match(run.stderr, /--storage\.in-memory/);
});

cli('--storage.in-memory says at start that a restart loses undelivered data', async () => {
  const agent = AgentProcess.spawn(['--demo', '--web.listen-address=127.0.0.1:0', '--storage.in-memory', '--storage.flush-deadline=500ms', '--remote-write.url=http://127.0.0.1:9/api/v1/write']);
  try {
    const line = await agent.waitForLine(/in memory/);
    assert.match(line.input!, /level=warn/);
    assert.match(line.input!, /lost if the agent restarts/);
  } finally {
    assert.is((await agent.stop()).code, 0);
  }
});

cli.run();
