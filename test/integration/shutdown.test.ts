import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { FakeBridge } from '../helpers/fake-bridge';

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

shutdown.run();
