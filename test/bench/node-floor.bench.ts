// What a poll of one bridge costs before the agent does any work of its
// own: Node's floor, side by side with the whole agent in one run (not a
// test; prints numbers).
//
//   npm run bench:floor
//   FLOOR_SERIES=150 FLOOR_WINDOW=40 npm run bench:floor
//
// Settings (environment; defaults in brackets):
//   FLOOR_SERIES   series of the fake bridge                 [150]
//   FLOOR_INTERVAL seconds between two polls                 [1]
//   FLOOR_WARMUP   seconds before the window                 [15]
//   FLOOR_WINDOW   seconds measured                          [30]
//   FLOOR_NODE_FLAGS  node flags added to the #! line's, for every process                 []
//   FLOOR_AGENT_VARIANTS  more agents beside the first, each with node flags of its own added,
//                  separated by ';' (e.g. "--no-flush-bytecode;--max-lazy"), to try V8 flags
//                  side by side                                                             []
//
// Four processes, each with the node flags of the agent's #! line, each
// polling a fake bridge of its own (fake-targets.ts) and pushing to one sink
// on loopback that takes any POST with 204:
//   idle       a timer firing every interval, nothing else (floor-loop.js)
//   node-http  a GET of /metrics and a POST of the agent's push size through node:http (floor-loop.js)
//   transport  the same two requests through the agent's HTTP transport (axios) (floor-loop.js)
//   agent      dist/cli.js polling /metrics and remote-writing through its disk queue
// The CPU of each over the window (/proc/<pid>/stat) divided by the polls
// its bridge answered in the window gives ms a poll; the differences say
// what Node's being awake, the two requests, the HTTP client and the rest
// of the agent's poll (parse, collect, encode, compress, queue) cost.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AgentProcess, productionNodeFlags } from '../helpers/agent-process';
import { closeServer } from '../helpers/close-server';
import { cpuTimes, fmt, memoryOf, MiB, gitRevision, loadAverage, machineDescription, onCleanup, runBounded, sleep, stopChild, table, temporaryDir } from './bench-support';
import { FakeTarget } from './fake-targets';

const SERIES = Number(process.env.FLOOR_SERIES ?? 150);
const INTERVAL_S = Number(process.env.FLOOR_INTERVAL ?? 1);
const WARMUP_S = Number(process.env.FLOOR_WARMUP ?? 15);
const WINDOW_S = Number(process.env.FLOOR_WINDOW ?? 30);
/** The loops of floor-loop.js. */
const LOOPS = ['idle', 'node-http', 'transport'] as const;

/** A sink that takes every POST with 204 and remembers the sizes of the agent's push bodies. */
async function startSink(): Promise<{ url: string; agentBodyBytes: number[] }> {
  const agentBodyBytes: number[] = [];
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      if (req.url === '/agent/api/v1/write') agentBodyBytes.push(bytes);
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => closeServer(server));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, agentBodyBytes };
}

async function main(): Promise<number> {
  const flags = [...productionNodeFlags(), ...words(process.env.FLOOR_NODE_FLAGS)];
  const variants = (process.env.FLOOR_AGENT_VARIANTS ?? '').split(';').map(words).filter((v) => v.length > 0);
  console.log(`date:    ${new Date().toISOString()}`);
  console.log(`git:     ${gitRevision()}`);
  console.log(`machine: ${machineDescription()}`);
  console.log(`node:    ${process.version}, flags ${flags.join(' ')}`);
  console.log(`settings: ${SERIES} series every ${INTERVAL_S} s, warm-up ${WARMUP_S} s, window ${WINDOW_S} s`);

  const sink = await startSink();
  const contestants: { name: string; target: FakeTarget; pid: number }[] = [];
  const startAgent = async (name: string, extraFlags: readonly string[]) => {
    const target = await new FakeTarget(SERIES).start();
    const agent = AgentProcess.spawn(
      [
        `--jvb.url=${target.baseUrl}/metrics`,
        `--poll.interval=${INTERVAL_S}s`,
        `--remote-write.url=${sink.url}/agent/api/v1/write`,
        `--storage.path=${temporaryDir('jvb-floor-storage-')}`,
        '--web.listen-address=127.0.0.1:0',
      ],
      {},
      [...flags, ...extraFlags],
    );
    onCleanup(() => agent.stop().then(() => undefined));
    await agent.waitForLine(/JVB poll succeeded|level=error/, 30_000);
    contestants.push({ name, target, pid: agent.pid });
  };

  // The agent first: its push size is what the loops post.
  await startAgent('agent', []);
  while (sink.agentBodyBytes.length < 3) await sleep(200);
  const postBytes = [...sink.agentBodyBytes].sort((a, b) => a - b)[sink.agentBodyBytes.length >> 1]!;
  for (const variant of variants) await startAgent(`agent ${variant.join(' ')}`, variant);
  for (const mode of LOOPS) {
    const target = await new FakeTarget(SERIES).start();
    const child = spawn(
      process.execPath,
      [...flags, join(__dirname, 'floor-loop.js'), mode, `${target.baseUrl}/metrics`, `${sink.url}/${mode}`, String(INTERVAL_S * 1000), String(postBytes)],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    onCleanup(() => stopChild(child));
    contestants.push({ name: mode, target, pid: child.pid! });
  }

  await sleep(WARMUP_S * 1000);
  const before = contestants.map((c) => cpuTimes(c.pid));
  for (const c of contestants) c.target.reset();
  await sleep(WINDOW_S * 1000);
  const after = contestants.map((c) => cpuTimes(c.pid));
  const memory = contestants.map((c) => memoryOf(c.pid));

  const rows: string[][] = [];
  const perPoll = new Map<string, number>();
  contestants.forEach((c, i) => {
    // idle requests nothing: its "polls" are the window's intervals.
    const polls = c.name === 'idle' ? Math.round(WINDOW_S / INTERVAL_S) : c.target.times('/metrics').length;
    const user = (after[i]!.user - before[i]!.user) * 1000;
    const sys = (after[i]!.system - before[i]!.system) * 1000;
    perPoll.set(c.name, (user + sys) / polls);
    rows.push([c.name, String(polls), fmt(user + sys), fmt(user), fmt(sys), fmt((user + sys) / polls, 2), fmt(memory[i]!.rssAnon / MiB, 1)]);
  });
  console.log(`\nbridge body ${SERIES} series; push body ${postBytes} bytes (the agent's median)\n`);
  console.log(table(['who', 'polls', 'CPU-ms', 'user', 'sys', 'CPU-ms a poll', 'RssAnon MiB at the end'], rows));
  const step = (a: string, b: string) => fmt(perPoll.get(b)! - perPoll.get(a)!, 2);
  console.log(`\nwhat a poll costs, step by step (ms of CPU a poll):`);
  console.log(`  being awake once an interval (idle):              ${fmt(perPoll.get('idle')!, 2)}`);
  console.log(`  a GET and a POST through node:http:             + ${step('idle', 'node-http')}`);
  console.log(`  the agent's HTTP transport (axios) instead:     + ${step('node-http', 'transport')}`);
  console.log(`  the rest of the agent's poll and push:          + ${step('transport', 'agent')}`);
  console.log(`\nat the end ${loadAverage()}`);
  for (const c of contestants) if (!alive(c.pid)) throw new Error(`${c.name} exited early`);
  return 0;
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter((word) => word !== '');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

runBounded('node-floor bench', (Number(process.env.FLOOR_WARMUP ?? 15) + Number(process.env.FLOOR_WINDOW ?? 30) + 120) * 1000, main);
