import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';

/**
 * Two containers on one queue volume (issue 17, 5.1): each agent runs as
 * pid 1 of its own PID namespace (`unshare --pid --fork --mount-proc`, as a
 * container runtime starts it) on one --storage.path. The second must refuse
 * the folder (exit 2, as in one namespace), and an agent restarted in a new
 * namespace after the holder died must take the unrenewed lock over within
 * the bounded wait (10 s after the last renewal).
 */

const UNSHARE = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL'];
const canUnshare = process.platform === 'linux' && spawnSync(UNSHARE[0]!, [...UNSHARE.slice(1), 'true']).status === 0;
const maybe = canUnshare ? test : test.skip;
if (!canUnshare) console.log('skipped: unshare --pid needs root (CAP_SYS_ADMIN)');

function agentIn(storage: string): AgentProcess {
  return AgentProcess.spawn(
    ['--demo', '--web.listen-address=127.0.0.1:0', '--remote-write.url=http://127.0.0.1:9/api/v1/write', `--storage.path=${storage}`],
    {},
    [],
    UNSHARE,
  );
}

const lockText = (storage: string) => readFileSync(join(storage, 'remote-write', '127.0.0.1_9', 'lock'), 'latin1');

maybe('two agents, each pid 1 of its own PID namespace, on one --storage.path: the second exits 2 naming --storage.path; after the first dies, a new one takes the lock over', async () => {
  const storage = mkdtempSync(join(tmpdir(), 'jvb-adapter-shared-volume-'));
  const agents: AgentProcess[] = [];
  try {
    const first = agentIn(storage);
    agents.push(first);
    await first.metricsPort();
    const held = lockText(storage);
    assert.is(held.split('\n')[0], '1', 'the first agent is pid 1 of its namespace');

    const second = agentIn(storage);
    agents.push(second);
    const exit = await Promise.race([second.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the second agent still runs; log:\n${second.lines.join('\n')}`)), 60_000))]);
    assert.equal(exit, { code: 2, signal: null });
    const log = second.lines.join('\n');
    assert.match(log, '--storage.path');
    assert.match(log, 'EQUEUELOCKED');
    assert.match(log, 'in another PID namespace: its lock is being renewed');
    assert.not.match(log, 'stale lock taken over');
    assert.is(first.exitCode, null, 'the first agent still runs');
    assert.is(lockText(storage), held, 'its lock left alone');

    // The holder dies (the container is killed); a new container's agent takes its lock over.
    await first.stop('SIGKILL');
    const third = agentIn(storage);
    agents.push(third);
    await third.waitForLine(/stale lock taken over.*stale_pid=1/, 60_000);
    await third.metricsPort();
    assert.is(lockText(storage).split('\n')[0], '1');
    assert.is.not(lockText(storage), held);
  } finally {
    for (const agent of agents) await agent.stop('SIGKILL');
    rmSync(storage, { recursive: true, force: true });
  }
});

test.run();
