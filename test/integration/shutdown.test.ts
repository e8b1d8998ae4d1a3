import http from 'node:http';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess, productionNodeFlags } from '../helpers/agent-process';
import { FakeBridge } from '../helpers/fake-bridge';
import { ScriptedReceiver, until } from '../helpers/scripted-receiver';

/** SIGTERM must end the agent within its flush deadline (plus a second), whatever a bridge is doing. */
const shutdown = suite('shutdown');
const hanging = new FakeBridge({ hang: true });

shutdown.before(async () => {
  await hanging.start();
});
shutdown.after(async () => {
  await hanging.stop();
});

shutdown('SIGTERM aborts a poll in flight: a bridge that never answers (50 s timeout) does not hold the stop', async () => {
  const agent = AgentProcess.spawn([
    `--jvb.url=${hanging.metricsUrl}`,
    '--poll.interval=60s',
    '--jvb.timeout=50s',
    '--storage.flush-deadline=2s',
    '--storage.in-memory',
    '--web.listen-address=127.0.0.1:0',
  ]);
  try {
    await agent.metricsPort();
    // Wait until the poll is really in flight at the bridge.
    const deadline = Date.now() + 10_000;
    while (hanging.openRequests('/metrics').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(hanging.openRequests('/metrics').length > 0, 'the poll reached the bridge');
    const started = Date.now();
    agent.signal('SIGTERM');
    // Bounded by the test, far below the 50 s the poll would otherwise take: the stop must not wait for it.
    const exited = await Promise.race([agent.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
    assert.ok(exited, `the agent did not stop within 20 s of SIGTERM; log:\n${agent.lines.join('\n')}`);
    assert.is(exited!.code, 0);
    console.log(`    stopped ${Date.now() - started} ms after SIGTERM (flush deadline 2 s)`);
    assert.ok(agent.lines.some((line) => line.includes('msg=stopped')), 'a graceful stop, logged');
    assert.not.ok(agent.lines.some((line) => line.includes('poll failed')), 'an aborted poll is not reported as a failure of the bridge');
  } finally {
    await agent.stop('SIGKILL');
  }
});

shutdown('SIGTERM as soon as the agent starts (during start-up) ends it cleanly, with exit 0', async () => {
  const agent = AgentProcess.spawn([`--jvb.url=${hanging.metricsUrl}`, '--remote-write.url=http://127.0.0.1:9/api/v1/write', '--storage.flush-deadline=2s', '--web.listen-address=127.0.0.1:0']);
  try {
    await agent.waitForLine(/msg=starting/);
    agent.signal('SIGTERM');
    const exited = await Promise.race([agent.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
    assert.ok(exited, `no exit within 20 s of SIGTERM; log:\n${agent.lines.join('\n')}`);
    assert.is(exited!.code, 0);
    assert.ok(agent.lines.some((line) => /msg="?stopped/.test(line)), agent.lines.join('\n'));
  } finally {
    await agent.stop('SIGKILL');
  }
});

/** The lines `EXIT-PROBE {...}` of test/helpers/exit-probe.js, parsed. */
function probeLines(agent: AgentProcess): Array<{ at: string; handles?: string[]; resources?: string[]; afterStoppedMs?: number }> {
  return agent.lines.filter((line) => line.startsWith('EXIT-PROBE ')).map((line) => JSON.parse(line.slice('EXIT-PROBE '.length)));
}

shutdown('with a remote-write receiver and a Pushgateway, kept-alive connections everywhere and a poll in flight, nothing holds the process after `stopped`', async () => {
  // What an installed agent meets: both kinds of destination (their pooled connections kept alive by the
  // receivers), a scraper keeping its connection to the agent open, two bridges (the agent's own metrics then
  // pushed apart on their own timer) of which one never answers. A probe loaded into the agent lists, when it
  // logs `stopped`, every handle that could still hold its event loop: there must be none, and the process must
  // end on its own, with exit 0 (the kill in `finally` only cleans up after a failure).
  const good = await new FakeBridge({ metrics: true }).start();
  const remoteWrite = await new ScriptedReceiver().start();
  const pushgateway = await new ScriptedReceiver().start();
  const scraper = new http.Agent({ keepAlive: true });
  const agent = AgentProcess.spawn(
    [
      `--jvb.url=${good.metricsUrl}`,
      `--jvb.url=${hanging.metricsUrl}`,
      '--poll.interval=500ms',
      `--remote-write.url=${remoteWrite.url}/api/v1/write`,
      `--pushgateway.url=${pushgateway.url}`,
      '--storage.flush-deadline=5s',
      '--web.listen-address=127.0.0.1:0',
    ],
    {},
    [...productionNodeFlags(), '--require', join(__dirname, '..', 'helpers', 'exit-probe.js')],
  );
  try {
    const port = await agent.metricsPort();
    await until('pushes to both destinations, and the hanging bridge polled', () => remoteWrite.received.length >= 3 && pushgateway.received.length >= 3 && hanging.openRequests('/metrics').length > 0, 20_000);
    // A scrape over a kept-alive connection, left open.
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/metrics', agent: scraper }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
    agent.signal('SIGTERM');
    const exited = await Promise.race([agent.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
    assert.ok(exited, `the agent did not end within 20 s of SIGTERM; log:\n${agent.lines.join('\n')}`);
    assert.equal(exited, { code: 0, signal: null });
    const [atStopped, atExit] = probeLines(agent);
    assert.ok(atStopped?.at === 'stopped', `the probe saw the \`stopped\` line; log:\n${agent.lines.join('\n')}`);
    assert.equal(atStopped!.handles, [], `nothing may hold the process after \`stopped\` (active resources: ${JSON.stringify(atStopped!.resources)})`);
    assert.ok(atExit?.at === 'exit', 'the probe saw the exit');
    console.log(`    exited ${atExit!.afterStoppedMs} ms after \`stopped\` (resources still ending then: ${JSON.stringify(atStopped!.resources)})`);
  } finally {
    scraper.destroy();
    await agent.stop('SIGKILL');
    await good.stop();
    await remoteWrite.stop();
    await pushgateway.stop();
  }
});

shutdown.run();
