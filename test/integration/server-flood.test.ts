import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_CONNECTIONS } from '../../src/agent';
import { AgentProcess } from '../helpers/agent-process';
import { eventually } from '../helpers/eventually';
import { FloodProcess, openFileLimit, probe, type FloodKind, type HoldWhen, type ProbeResult } from '../helpers/connection-flood';
import { FakeBridge } from '../helpers/fake-bridge';
import { ACTIVE_2021, fixtureText } from '../helpers/fixtures';

// Each flood holds more connections than the agent's cap (MAX_CONNECTIONS,
// 512), as the attacks of issue 17 (4, 5.3) did.
/** Health probes during a flood, each on a fresh connection, as kubelet and Docker's HEALTHCHECK send them. */
const PROBES = 20;
/**
 * How long one probe waits for its answer. Generous on purpose (the machine
 * is shared and the flood keeps it busy): the property is that every probe
 * is answered at all while the flood holds; before the fix they were
 * refused at accept. The times are printed, not asserted.
 */
const PROBE_TIMEOUT_MS = 10_000;
/** Sockets the flood's process may open: the limit on open files, less room for everything else. */
const FD_ROOM = openFileLimit() - 300;

const flood = suite('connection floods: /-/healthy and /-/ready stay reachable');
const jvb = new FakeBridge();
flood.before(async () => {
  jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  await jvb.start();
});
flood.after(async () => {
  await jvb.stop();
});

/**
 * Starts an agent, floods it, probes /-/healthy and /-/ready (alternately)
 * and scrapes /metrics while the flood holds, then stops the flood and
 * checks the agent is serving and polling.
 */
async function underFlood(kind: FloodKind, clients: number, holdWhen: HoldWhen): Promise<void> {
  const agent = AgentProcess.spawn([`--jvb.url=${jvb.colibriUrl}`, '--poll.interval=200ms', '--web.listen-address=127.0.0.1:0', '--storage.in-memory']);
  let attack: FloodProcess | undefined;
  try {
    const port = await agent.metricsPort();
    const watched = { gone: () => (agent.exitCode === null ? undefined : `the agent exited (${agent.exitCode})`), log: () => agent.lines.join('\n') };
    await eventually('ready before the flood', async () => ((await probe(port, '/-/ready', PROBE_TIMEOUT_MS)).status === 200 ? true : undefined), watched, 15_000, 50);
    // The flood runs in a process of its own, so that the probes below measure the agent, not this process' thousands of sockets.
    attack = new FloodProcess({ port, kind, clients, trickleMs: 1000, maxMs: 300_000, holdWhen });
    const holding = await attack.holding(60_000);
    const results: { path: string; result: ProbeResult }[] = [];
    for (let i = 0; i < PROBES; i++) {
      const path = i % 2 === 0 ? '/-/healthy' : '/-/ready';
      results.push({ path, result: await probe(port, path, PROBE_TIMEOUT_MS) });
    }
    const scrape = await probe(port, '/metrics', PROBE_TIMEOUT_MS);
    const during = await attack.stop();
    const peakRss = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${agent.pid}/status`, 'utf8'))?.[1];
    // For the record: what the agent says of the flood (its line once it is over), if anything.
    await eventually('the agent logs that the flood is over', async () => (agent.lines.some((l) => l.includes('connections back under the cap')) ? true : undefined), watched, 10_000, 50).catch(() => undefined);
    for (const line of agent.lines.filter((l) => l.includes('connections'))) console.log(`    agent: ${line}`);
    const times = results.map((r) => r.result.ms).sort((a, b) => a - b);
    const failed = results.filter((r) => r.result.status !== 200);
    console.log(
      `    ${kind} flood of ${clients} clients: ${PROBES - failed.length} of ${PROBES} probes answered 200; ` +
        `answer times ms: median ${times[Math.floor(times.length / 2)]}, slowest ${times[times.length - 1]}; ` +
        `a /metrics scrape during it: ${scrape.status || scrape.error} in ${scrape.ms} ms; agent peak RSS ${Math.round(Number(peakRss) / 1024)} MiB; ` +
        `flood: ${holding.connects} connections when it held, ${during.connects} in all, ${during.closedByServer} closed by the agent, answers ${JSON.stringify(during.answers)}`,
    );
    assert.equal(
      failed.map((r) => `${r.path}: ${r.result.status || r.result.error} after ${r.result.ms} ms`),
      [],
      'every probe answered 200 while the flood held',
    );
    assert.ok(scrape.status === 200 || scrape.status === 503, `a scrape during the flood is answered (${scrape.status || scrape.error})`);
    const after = await probe(port, '/metrics', PROBE_TIMEOUT_MS);
    assert.is(after.status, 200, 'a scrape after the flood');
    const polls = jvb.count();
    await eventually('polls go on after the flood', async () => (jvb.count() >= polls + 3 ? true : undefined), watched, 15_000, 50);
    assert.is((await probe(port, '/-/healthy', PROBE_TIMEOUT_MS)).status, 200);
  } finally {
    await attack?.stop();
    await agent.stop();
  }
}

flood(`scrape flood: ${Math.min(3000, FD_ROOM)} clients each holding a keep-alive connection to /metrics, reconnecting when closed`, async () => {
  const clients = Math.min(3000, FD_ROOM);
  // Holding: every client connected, and the cap's worth of them answered.
  await underFlood('scrape', clients, { clientsConnected: clients, answers: MAX_CONNECTIONS });
});

flood(`slow clients: ${Math.min(600, FD_ROOM)} clients each sending half a request head to /metrics and a header line a second`, async () => {
  const clients = Math.min(600, FD_ROOM);
  // Holding: every client connected and trickling (two rounds of header lines).
  await underFlood('slow', clients, { clientsConnected: clients, trickled: 2 * clients });
});

flood.run();
