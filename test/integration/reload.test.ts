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
import { PushgatewayServer } from '../helpers/pushgateway-server';

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

/**
 * A reload changes only what changed: an unchanged bridge keeps its counters
 * (and is served up throughout), a changed one is served from its old
 * registry until its new one has polled, a removed one's Pushgateway group
 * is deleted.
 */
const keep = suite('SIGHUP keeps what did not change');
const c = new FakeBridge({ format: 'text' });
const d = new FakeBridge({ format: 'text' });
let gateway: PushgatewayServer;
const keepDir = mkdtempSync(join(tmpdir(), 'jvb-adapter-reload-keep-'));
keep.before(async () => {
  await c.start();
  await d.start();
  gateway = await PushgatewayServer.start();
});
keep.after(async () => {
  await c.stop();
  await d.stop();
  await gateway.stop();
  rmSync(keepDir, { recursive: true, force: true });
});

/** One sample of a scrape of /metrics with several bridges (each series carries its instance); NaN when absent. */
function sample(text: string, name: string, instance: string): number {
  const match = new RegExp(`^${name}\\{(?:[^}]*,)?instance="${instance}"(?:,[^}]*)?\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

keep('an unchanged bridge keeps counting and is never served down during reloads; a removed bridge leaves the Pushgateway', async () => {
  const keptFile = join(keepDir, 'keep.yml');
  const configWith = (dLabel: string | undefined) =>
    `poll: {interval: 1s}\nbridges:\n  - {url: "${c.metricsUrl}", name: c}\n` +
    (dLabel === undefined ? '' : `  - {url: "${d.metricsUrl}", name: d, labels: {rev: "${dLabel}"}}\n`) +
    `pushgateway:\n  - url: ${gateway.url}\n`;
  writeFileSync(keptFile, configWith('0'));
  const agent = AgentProcess.spawn([`--config.file=${keptFile}`, '--web.listen-address=127.0.0.1:0']);
  try {
    const port = await agent.metricsPort();
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    let text = '';
    const waitScrape = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        text = await scrape();
        if (check()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.unreachable(`${what}; last scrape:\n${text}\nlog:\n${agent.lines.join('\n')}`);
    };
    await waitScrape(() => sample(text, 'jvb_polls_total', 'c') >= 3 && sample(text, 'jvb_up', 'd') === 1, 'both bridges polled');
    let groupLabels: Array<Record<string, string>> = [];
    const deadline = Date.now() + 15_000;
    while (!groupLabels.some((l) => l['instance'] === 'd') && Date.now() < deadline) {
      groupLabels = (await gateway.groups()).map((g) => g.labels);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(groupLabels.some((l) => l['instance'] === 'd'), `bridge d's group is on the gateway: ${JSON.stringify(groupLabels)}`);
    const dGroupLabels = groupLabels.find((l) => l['instance'] === 'd')!;

    // Scrape without pause while the file is reloaded a bounded number of times, d changing each time.
    let scraping = true;
    const seen: string[] = [];
    let scrapes = 0;
    let lastPolls = sample(text, 'jvb_polls_total', 'c');
    const pollsBefore = lastPolls;
    const problems: string[] = [];
    const scraper = (async () => {
      while (scraping && scrapes < 20_000) {
        const body = await scrape();
        scrapes++;
        const polls = sample(body, 'jvb_polls_total', 'c');
        if (sample(body, 'jvb_up', 'c') !== 1) problems.push(`jvb_up{instance="c"} ${sample(body, 'jvb_up', 'c')}`);
        if (!(polls >= lastPolls)) problems.push(`jvb_polls_total{instance="c"} went ${lastPolls} -> ${polls}`);
        if (sample(body, 'jvb_up', 'd') !== 1) problems.push(`jvb_up{instance="d"} ${sample(body, 'jvb_up', 'd')} (a changed bridge)`);
        lastPolls = polls;
        if (problems.length > 0) seen.push(body);
      }
    })();
    const reloads = 6;
    for (let i = 1; i <= reloads; i++) {
      writeFileSync(keptFile, configWith(String(i)));
      agent.signal('SIGHUP');
      await until(() => agent.lines.filter((line) => line.includes('msg="configuration reloaded"')).length >= i, `reload ${i} done`, agent);
      await until(() => agent.lines.filter((line) => line.includes('msg="JVB poll succeeded"') && line.includes('bridge=d')).length >= i + 1, `d polled after reload ${i}`, agent);
    }
    // (and on, until c has polled again: its counter must go on from where it was, not restart)
    await until(() => lastPolls > pollsBefore || problems.length > 0, "c's counter grows after the reloads", agent);
    scraping = false;
    await scraper;
    assert.ok(scrapes >= reloads, `scraped during the reloads (${scrapes})`);
    assert.equal(problems.slice(0, 5), [], `every scrape during ${reloads} reloads shows c up with growing counters, and d up: ${problems.slice(0, 5).join("; ")}; failed polls: ${agent.lines.filter((l) => l.includes("poll failed")).join("\n")}; first bad scrape:\n${(seen[0] ?? "").split("\n").filter((l) => l.startsWith("jvb_")).join("\n")}`);
    assert.is(agent.lines.filter((line) => line.includes('msg="polling JVB"') && line.includes('bridge=c')).length, 1, 'the unchanged bridge was set up once');
    assert.ok(lastPolls > pollsBefore, `c's counter kept growing across the reloads (${pollsBefore} -> ${lastPolls})`);
    assert.ok(agent.lines.some((line) => /msg="configuration reloaded".*bridges_added=0 bridges_changed=1 bridges_kept=1 bridges_removed=0/.test(line)), 'the reload line counts the bridges');

    // d removed: its series end and its group leaves the gateway.
    writeFileSync(keptFile, configWith(undefined));
    agent.signal('SIGHUP');
    await until(() => agent.lines.filter((line) => line.includes('msg="configuration reloaded"')).length >= reloads + 1, 'the reload removing d done', agent);
    const gone = await gateway.waitForGroup(dGroupLabels, (g) => g === undefined, 15_000);
    assert.is(gone, undefined, `the removed bridge's group left the Pushgateway; log:\n${agent.lines.join('\n')}`);
    assert.ok((await gateway.groups()).some((g) => g.labels['instance'] === 'c'), "c's group stays");

    const exit = await agent.stop('SIGTERM');
    assert.is(exit.code, 0);
  } finally {
    await agent.stop('SIGKILL');
  }
});

keep.run();
