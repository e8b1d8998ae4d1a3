import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * The built agent against a receiver that refuses a wrong token with 401
 * (on-auth-error: hold, the default): the destination holds its queue; the
 * token file is fixed mid-run and every poll's samples arrive, once, with
 * nothing dropped. Counted by the poll timestamps of jitsi_participants at
 * the receiver against the agent's own count of answered polls.
 */

const test = suite('remote-write: a refused token holds the queue, the fixed token file delivers every sample (built agent)');

test('401 until the token file is fixed: every answered poll arrives, nothing is dropped, the log says what to fix', async () => {
  const jvb = new FakeBridge();
  const receiver = new ScriptedReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-token-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'expired-token\n');
  const pollTimestamps = new Set<number>();
  let accepted = 0;
  let refused = 0;
  let agent: AgentProcess | undefined;
  try {
    await jvb.start();
    jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
    receiver.answer = (req) => {
      if (req.headers['authorization'] !== 'Bearer rotated-token') {
        refused++;
        return { status: 401, body: 'invalid authentication credentials' };
      }
      accepted++;
      for (const series of decodeRemoteWriteBody(req.body).timeseries) {
        if (labelValue(series.labels, '__name__') !== 'jitsi_participants') continue;
        for (const sample of series.samples) if (!Number.isNaN(sample.value)) pollTimestamps.add(sample.timestamp);
      }
      return { status: 204 };
    };
    await receiver.start();
    agent = AgentProcess.spawn([
      `--jvb.url=${jvb.colibriUrl}`,
      '--poll.interval=100ms',
      '--jvb.timeout=90ms',
      '--web.listen-address=127.0.0.1:0',
      `--remote-write.url=${receiver.url}/api/v1/write`,
      '--remote-write.name=cloud',
      `--remote-write.bearer-token-file=${tokenFile}`,
    ]);
    const said = await agent.waitForLine(/level=error msg="the receiver refused the credentials \(HTTP 401 Unauthorized\).*/);
    assert.match(said[0], /credentials=--remote-write\.bearer-token-file/);
    assert.not.match(agent.lines.join('\n'), /expired-token/);
    // Held: polls go on and are queued, the receiver is not asked again.
    const before = jvb.answered200;
    await until('10 polls queued while held', () => jvb.answered200 >= before + 10, 20_000);
    assert.is(refused, 1, 'the refused request is not re-sent in a loop');
    assert.is(accepted, 0);

    writeFileSync(tokenFile, 'rotated-token\n');
    await agent.waitForLine(/msg="a credentials file changed: trying the held request again"/, 30_000);
    await agent.waitForLine(/msg="the receiver accepts the credentials again: delivering what was held"/, 30_000);

    // Stop the polls and count: every answered poll at the receiver, once.
    jvb.respond = () => ({ status: 503, body: 'frozen' });
    const seen = jvb.count();
    await until('a poll after the freeze', () => jvb.count() >= seen + 1, 10_000);
    const port = await agent.metricsPort();
    const metrics = async () => parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text());
    const sum = (out: Awaited<ReturnType<typeof metrics>>, name: string, labels: Record<string, string> = {}) =>
      out.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((total, s) => total + s.value, 0);
    let out = await metrics();
    const answered = sum(out, 'jvb_polls_total') - sum(out, 'jvb_poll_failures_total');
    assert.ok(answered >= 11, `answered polls: ${answered}`);
    await until(`${answered} polls at the receiver (got ${pollTimestamps.size})`, () => pollTimestamps.size >= answered, 30_000);
    assert.is(pollTimestamps.size, answered, 'every answered poll arrived, once');
    out = await metrics();
    assert.is(sum(out, 'jvb_remote_write_samples_dropped_total'), 0, 'nothing dropped, for any reason');
    assert.is(sum(out, 'jvb_remote_write_held'), 0);
    assert.is(sum(out, 'jvb_remote_write_requests_total', { code: '401' }), 1);
    console.log(`held ${answered} polls behind one 401; all arrived after the token file was fixed (${accepted} requests)`);
    const exit = await agent.stop();
    assert.is(exit.code, 0);
  } finally {
    await agent?.stop();
    await receiver.stop();
    await jvb.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
