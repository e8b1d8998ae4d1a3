import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { FakeBridge } from '../helpers/fake-bridge';
import { ACTIVE_2021, fixtureText } from '../helpers/fixtures';
import { decodeRemoteWriteBody, labelValue } from '../helpers/independent-remote-write-decoder';
import { parseExposition } from '../helpers/parse-exposition';
import { ScriptedReceiver, until } from '../helpers/scripted-receiver';
import { mountTmpfs, tmpfsUnavailable, unmountTmpfs } from '../helpers/tmpfs';

/**
 * The built agent's durable queue when the storage misbehaves: a 1 MiB
 * tmpfs as --storage.path (more than 1 MiB goes through it, every poll
 * arrives), and segment files deleted under the running agent (it goes on,
 * says so and counts it). The receiver is a loopback server that decodes
 * every request with the independent decoder. Every wait has a deadline.
 */

const MiB = 1024 * 1024;

/** A remote-write receiver on loopback that counts what arrives: the poll timestamps of jitsi_participants (non-stale), bytes. */
class CountingReceiver {
  readonly server = new ScriptedReceiver();
  /** Distinct timestamps of real (non-stale) jitsi_participants samples: one per answered poll. */
  readonly pollTimestamps = new Set<number>();
  /** Each body taken (SHA-256), with its samples as the independent decoder counts them. */
  readonly bodies = new Map<string, number>();
  bytes = 0;
  requests = 0;
  down = false;
  decodeErrors: string[] = [];

  async start(): Promise<this> {
    this.server.answer = (req) => {
      if (this.down) return { status: 503, body: 'down (injected)' };
      this.requests++;
      this.bytes += req.body.length;
      try {
        const decoded = decodeRemoteWriteBody(req.body);
        this.bodies.set(sha256(req.body), decoded.timeseries.reduce((n, series) => n + series.samples.length, 0));
        for (const series of decoded.timeseries) {
          if (labelValue(series.labels, '__name__') !== 'jitsi_participants') continue;
          for (const sample of series.samples) if (!Number.isNaN(sample.value)) this.pollTimestamps.add(sample.timestamp);
        }
      } catch (err) {
        this.decodeErrors.push(String(err));
        return { status: 400, body: 'undecodable' };
      }
      return { status: 204 };
    };
    await this.server.start();
    return this;
  }

  get url(): string {
    return `${this.server.url}/api/v1/write`;
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A queued request as this test reads the segment files (the record layout of docs/queue-format.md), and its samples by the independent decoder. */
interface QueuedRecord {
  readonly segment: string;
  readonly pos: number;
  readonly end: number;
  readonly hash: string;
  readonly samples: number;
}

/** Every whole record of the queue folder `dir`, oldest first. */
function readQueuedRecords(dir: string): QueuedRecord[] {
  const out: QueuedRecord[] = [];
  for (const segment of readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()) {
    const data = readFileSync(join(dir, segment));
    for (let pos = 0; pos + 28 <= data.length; ) {
      if (data.toString('latin1', pos, pos + 4) !== 'JQR1') throw new Error(`${segment}@${pos}: no record`);
      const end = pos + 28 + data.readUInt32LE(pos + 4);
      if (end > data.length) break; // an append the kill cut short: never confirmed
      const body = data.subarray(pos + 28, end);
      out.push({ segment, pos, end, hash: sha256(body), samples: decodeRemoteWriteBody(body).timeseries.reduce((n, s) => n + s.samples.length, 0) });
      pos = end;
    }
  }
  return out;
}

/** The agent's own counters, summed over their other labels. */
async function selfMetrics(agent: AgentProcess): Promise<(name: string, labels?: Record<string, string>) => number> {
  const port = await agent.metricsPort();
  const out = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text());
  return (name, labels = {}) =>
    out.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

/**
 * Stops the successful polls: the JVB answers 503 from now on. Once a poll
 * has come in after that, the one before it is done (polls of a bridge never
 * overlap) and its requests are queued. Returns how many polls succeeded,
 * by the agent's own count (a poll the JVB answered but the agent timed out
 * on is no poll).
 */
async function freezeJvb(jvb: FakeBridge, agent: AgentProcess): Promise<number> {
  jvb.respond = () => ({ status: 503, body: 'frozen' });
  const seen = jvb.count();
  await until('a poll after the freeze', () => jvb.count() >= seen + 1, 10_000);
  const metric = await selfMetrics(agent);
  return metric('jvb_polls_total') - metric('jvb_poll_failures_total');
}

function spawnAgent(jvb: FakeBridge, receiver: CountingReceiver, storage: string, extra: string[] = []): { agent: AgentProcess; exited: () => boolean } {
  const agent = AgentProcess.spawn([
    `--jvb.url=${jvb.colibriUrl}`,
    '--poll.interval=100ms',
    '--jvb.timeout=90ms',
    '--web.listen-address=127.0.0.1:0',
    `--remote-write.url=${receiver.url}`,
    '--remote-write.name=rw',
    '--remote-write.min-backoff=20ms',
    '--remote-write.max-backoff=200ms',
    `--storage.path=${storage}`,
    ...extra,
  ]);
  let exited = false;
  void agent.exited.then(() => (exited = true));
  return { agent, exited: () => exited };
}

const test = suite('remote-write queue on a misbehaving disk (built agent)');
const onTmpfs = tmpfsUnavailable === undefined ? test : test.skip;
if (tmpfsUnavailable !== undefined) console.log(`SKIPPED the 1 MiB tmpfs test of the agent: ${tmpfsUnavailable}`);

onTmpfs('--storage.path on a 1 MiB tmpfs with the default 512MiB bound: more than 1 MiB goes through, every poll arrives, nothing is dropped', async () => {
  const jvb = new FakeBridge();
  const receiver = new CountingReceiver();
  let mount: string | undefined;
  let agent: AgentProcess | undefined;
  try {
    await jvb.start();
    jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
    await receiver.start();
    mount = mountTmpfs(MiB);
    const spawned = spawnAgent(jvb, receiver, mount);
    agent = spawned.agent;
    // Enough polls that well over 1 MiB of requests went through the 1 MiB queue.
    const diskFull = () => agent!.lines.some((l) => /ENOSPC|no space left/i.test(l));
    await until('1.25 MiB delivered', () => receiver.bytes > 1.25 * MiB || spawned.exited() || diskFull(), 180_000);
    assert.not.ok(spawned.exited(), `the agent exited:\n${agent.lines.join('\n')}`);
    assert.not.ok(diskFull(), `the queue hit ENOSPC after ${(receiver.bytes / MiB).toFixed(2)} MiB:\n${agent.lines.slice(-10).join('\n')}`);
    const answered = await freezeJvb(jvb, agent);
    await until(`${answered} polls at the receiver (got ${receiver.pollTimestamps.size})`, () => receiver.pollTimestamps.size >= answered, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent!.lines.slice(-30).join('\n')}`);
    });
    const metric = await selfMetrics(agent);
    assert.is(receiver.pollTimestamps.size, answered, 'every answered poll arrived, once');
    assert.equal(receiver.decodeErrors, []);
    for (const reason of ['storage_error', 'queue_full', 'refused', 'corrupt']) {
      assert.is(metric('jvb_remote_write_samples_dropped_total', { reason }), 0, `dropped ${reason}`);
    }
    assert.is(metric('jvb_remote_write_queue_errors_total'), 0);
    assert.not.ok(agent.lines.some((l) => /ENOSPC|no space left/i.test(l)), 'no disk full');
    // The bound follows the free space, and says so once with the numbers; the destination is named at start.
    const adapted = await agent.waitForLine(/queue: the free space of --storage\.path is below --storage\.max-bytes.*max_bytes=(\d+) available_bytes=(\d+).*bound_bytes=(\d+)/);
    assert.is(agent.lines.filter((l) => l.includes('free space of --storage.path')).length, 1);
    assert.is(Number(adapted[1]), 512 * MiB);
    assert.ok(Number(adapted[3]) < MiB, `bound ${adapted[3]}`);
    await agent.waitForLine(/msg="push destination" kind=remote_write remote_name=rw .*queue=\S+remote-write\/rw queue_max_bytes=\d+/);
    console.log(
      `1 MiB tmpfs: ${answered} polls, ${receiver.requests} requests, ${(receiver.bytes / MiB).toFixed(2)} MiB of request bodies through a queue bounded at ${adapted[3]} bytes (available ${adapted[2]})`,
    );
  } finally {
    await agent?.stop();
    await receiver.server.stop();
    await jvb.stop();
    if (mount !== undefined) unmountTmpfs(mount);
  }
});

test('segment files deleted under a running agent during an outage: it keeps running and serving, says so, counts it, and later polls arrive', async () => {
  const jvb = new FakeBridge();
  const receiver = new CountingReceiver();
  const storage = mkdtempSync(join(tmpdir(), 'jvb-adapter-deleted-'));
  let agent: AgentProcess | undefined;
  try {
    await jvb.start();
    jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
    await receiver.start();
    // 64 KiB: 4 KiB segments, about one poll's request each, so the backlog spans many files.
    const spawned = spawnAgent(jvb, receiver, storage, ['--storage.max-bytes=64KiB']);
    agent = spawned.agent;
    await until('3 polls delivered', () => receiver.pollTimestamps.size >= 3, 20_000);
    receiver.down = true;
    const before = jvb.answered200;
    await until('8 polls queued during the outage', () => jvb.answered200 >= before + 8, 20_000);
    const dir = join(storage, 'remote-write', 'rw');
    const segments = readdirSync(dir).filter((f) => f.endsWith('.seg'));
    assert.ok(segments.length >= 3, `the backlog spans ${segments.length} segment files`);
    const deletedAt = Date.now();
    for (const name of segments) unlinkSync(join(dir, name));
    const after = jvb.answered200;
    await until('3 more polls', () => jvb.answered200 >= after + 3, 20_000);
    receiver.down = false;

    await until('5 polls from after the deletion at the receiver', () => [...receiver.pollTimestamps].filter((t) => t > deletedAt).length >= 5 || spawned.exited(), 30_000);
    assert.not.ok(spawned.exited(), `the agent exited:\n${agent.lines.slice(-40).join('\n')}`);
    const port = await agent.metricsPort();
    const healthy = await fetch(`http://127.0.0.1:${port}/-/healthy`, { signal: AbortSignal.timeout(5000) });
    assert.is(healthy.status, 200);

    const metric = await selfMetrics(agent);
    const errors = metric('jvb_remote_write_queue_errors_total');
    assert.ok(errors >= 1, 'the queue error is counted');
    assert.ok(metric('jvb_remote_write_samples_dropped_total', { reason: 'storage_error' }) > 0, 'the records lost with the files are counted');
    assert.ok(agent.lines.some((l) => /level=error msg="the queue on disk failed/.test(l) && /ENOENT/.test(l)), agent.lines.join('\n'));
    assert.ok(agent.lines.some((l) => /level=warn msg="queue: rebuilt" .*lost_entries=\d+/.test(l)), 'the rebuild says what was lost');
    assert.ok(agent.lines.some((l) => /level=warn msg="queued requests were lost to a storage error/.test(l)));
    assert.ok(readdirSync(dir).some((f) => f.endsWith('.seg')), 'the queue writes to files again');
    console.log(`deleted ${segments.length} segment files: ${errors} queue error(s) counted, ${metric('jvb_remote_write_samples_dropped_total', { reason: 'storage_error' })} samples counted lost`);

    // SIGTERM still exits cleanly.
    const exit = await agent.stop();
    assert.is(exit.code, 0, agent.lines.slice(-20).join('\n'));
  } finally {
    await agent?.stop();
    await receiver.server.stop();
    await jvb.stop();
    rmSync(storage, { recursive: true, force: true });
  }
});

test('SIGKILL during an outage, then the queue files damaged (a segment deleted, one zeroed from its middle, the newest cut short): at restart every queued sample is received or counted corrupt', async () => {
  const jvb = new FakeBridge();
  const receiver = new CountingReceiver();
  const storage = mkdtempSync(join(tmpdir(), 'jvb-adapter-damaged-'));
  let agent: AgentProcess | undefined;
  try {
    await jvb.start();
    jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
    await receiver.start();
    receiver.down = true;
    // 256 KiB: 16 KiB segments, a few polls' requests each.
    const args = ['--storage.max-bytes=256KiB'];
    const dir = join(storage, 'remote-write', 'rw');
    agent = spawnAgent(jvb, receiver, storage, args).agent;
    const segmentFiles = () => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
    await until('a backlog over 5 segment files', () => jvb.answered200 >= 12 && segmentFiles().length >= 5, 60_000);
    agent.signal('SIGKILL'); // wherever it is: an append may be cut short
    await agent.exited;

    // What was queued: every whole record (a record the kill cut short was never confirmed).
    const queued = readQueuedRecords(dir);
    const sent = queued.reduce((n, r) => n + r.samples, 0);
    const files = [...new Set(queued.map((r) => r.segment))];
    assert.ok(files.length >= 4, `${files.length} segments hold records`);
    const inFile = (name: string) => queued.filter((r) => r.segment === name);
    // A middle segment deleted.
    const deleted = files[1]!;
    unlinkSync(join(dir, deleted));
    // The segment before the newest zeroed from inside the header of its middle record to its end: those records are gone without a trace.
    const zeroed = files[files.length - 2]!;
    const zeroFrom = inFile(zeroed)[Math.floor(inFile(zeroed).length / 2)]!.pos + 4;
    const zeroedData = readFileSync(join(dir, zeroed));
    writeFileSync(join(dir, zeroed), Buffer.concat([zeroedData.subarray(0, zeroFrom), Buffer.alloc(zeroedData.length - zeroFrom)]));
    // The newest cut inside its last record's payload, as a crash mid-write leaves it (a partial record after it, and any later file, go too).
    const newest = files[files.length - 1]!;
    const tail = inFile(newest)[inFile(newest).length - 1]!;
    const cutAt = tail.end - Math.floor((tail.end - tail.pos - 28) / 2);
    truncateSync(join(dir, newest), cutAt);
    for (const later of segmentFiles().filter((f) => f > newest)) truncateSync(join(dir, later), 0);
    const lost = queued.filter((r) => r.segment === deleted || (r.segment === zeroed && r.end > zeroFrom) || r === tail);

    receiver.down = false;
    const spawned = spawnAgent(jvb, receiver, storage, args);
    agent = spawned.agent;
    const kept = queued.filter((r) => !lost.includes(r));
    await until(`the ${kept.length} queued requests that survived at the receiver`, () => kept.every((r) => receiver.bodies.has(r.hash)) || spawned.exited(), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent!.lines.slice(-30).join('\n')}`);
    });
    assert.not.ok(spawned.exited(), agent.lines.join('\n'));
    const metric = await selfMetrics(agent);
    const received = queued.filter((r) => receiver.bodies.has(r.hash)).reduce((n, r) => n + r.samples, 0);
    const corrupt = metric('jvb_remote_write_samples_dropped_total', { reason: 'corrupt' });
    assert.is(received + corrupt, sent, `received ${received} + corrupt ${corrupt} == sent ${sent} (${lost.length} of ${queued.length} requests lost)`);
    assert.is(corrupt, lost.reduce((n, r) => n + r.samples, 0), 'corrupt counts exactly the requests deleted, zeroed and cut');
    const line = agent.lines.find((l) => /msg="queue: records lost"/.test(l));
    assert.ok(line !== undefined && /counted=exact/.test(line) && new RegExp(`samples=${corrupt}\\b`).test(line), agent.lines.join('\n'));
    console.log(`damaged queue: ${queued.length} requests (${sent} samples) queued; ${lost.length} lost (a segment deleted, one zeroed from its middle, the newest cut), counted corrupt: ${corrupt} samples; received ${received}`);
    assert.is((await agent.stop()).code, 0);
  } finally {
    await agent?.stop();
    await receiver.server.stop();
    await jvb.stop();
    rmSync(storage, { recursive: true, force: true });
  }
});

test.run();
