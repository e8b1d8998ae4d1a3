import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { closeServer } from '../helpers/close-server';
import { FakeBridge } from '../helpers/fake-bridge';

/** SIGHUP reloads --config.file as Prometheus does: bridges, labels, destinations; a bad file leaves the running settings. */
const reload = suite('SIGHUP reloads the config file');
const a = new FakeBridge({ format: 'text' });
const b = new FakeBridge({ format: 'text' });
const dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-reload-'));
const file = join(dir, 'agent.yml');
let receiver: http.Server;
let receiverUrl = '';
let pushes = 0;

reload.before(async () => {
  await a.start();
  await b.start();
  receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      pushes++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/v1/write`;
});
reload.after(async () => {
  await a.stop();
  await b.stop();
  await closeServer(receiver);
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string, agent: AgentProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(check(), `${what} (within ${timeoutMs} ms); log:\n${agent.lines.join('\n')}`);
}

const config = (bridges: string) => `poll: {interval: 300ms}\nbridges:\n${bridges}remote_write:\n  - url: ${receiverUrl}\n    name: rx\n`;

reload('a bridge added by SIGHUP is polled, the unchanged destination keeps its queue, a bad file changes nothing', async () => {
  writeFileSync(file, config(`  - {url: "${a.metricsUrl}", name: a}\n`));
  const agent = AgentProcess.spawn([`--config.file=${file}`, '--web.listen-address=127.0.0.1:0']);
  try {
    await agent.metricsPort();
    await until(() => a.count('/metrics') >= 2 && pushes >= 2, 'bridge a polled and pushed', agent);
    assert.is(b.count('/metrics'), 0);
    const destinationLines = () => agent.lines.filter((line) => line.includes('msg="push destination"')).length;
    assert.is(destinationLines(), 1);

    writeFileSync(file, config(`  - {url: "${a.metricsUrl}", name: a}\n  - {url: "${b.metricsUrl}", name: b}\n`));
    agent.signal('SIGHUP');
    await agent.waitForLine(/msg="configuration reloaded" bridges=2 destinations_added=0 destinations_kept=1 destinations_removed=0/);
    await until(() => b.count('/metrics') >= 2, 'bridge b polled after the reload', agent);
    assert.is(destinationLines(), 1, 'the unchanged destination was not opened again');

    // A file that is not valid YAML: logged, and both bridges keep being polled.
    writeFileSync(file, 'bridges: [\n');
    agent.signal('SIGHUP');
    await agent.waitForLine(/level=error msg="reload failed: the running settings stay in force"/);
    const aBefore = a.count('/metrics');
    const bBefore = b.count('/metrics');
    await until(() => a.count('/metrics') >= aBefore + 2 && b.count('/metrics') >= bBefore + 2, 'both bridges still polled', agent);
    assert.is(agent.exitCode, null, 'SIGHUP never ends the agent');

    const exit = await agent.stop('SIGTERM');
    assert.is(exit.code, 0);
  } finally {
    await agent.stop('SIGKILL');
  }
});

reload.run();
