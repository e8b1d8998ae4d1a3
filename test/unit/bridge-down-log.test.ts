import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { BridgeRegistry } from '../../src/registry/bridge-registry';
import type { PollOutcome } from '../../src/sources/source';

const down: PollOutcome = { ok: false, reason: 'connection_error', message: 'cannot reach http://jvb:8080/metrics: ECONNREFUSED', durationMs: 1 };
const up: PollOutcome = { ok: true, families: [], skipped: [], endpoint: 'http://jvb:8080/metrics', durationMs: 1 };

test('a JVB that stays down: one line when it goes down, one a minute while it lasts (with the count), one when it is back', () => {
  const lines: string[] = [];
  let now = 1_000_000;
  const log = createLogger({ level: 'info', format: 'logfmt', write: (line) => lines.push(line) });
  const bridge = new BridgeRegistry('jvb1', 'jvb', {}, log, new Set(), () => now);

  for (let i = 0; i <= 12; i++) {
    bridge.collect(down); // a poll every 5 s, from 0 s to 60 s
    now += 5_000;
  }
  const failed = lines.filter((line) => line.includes('msg="poll failed"'));
  assert.is(failed.length, 2, `one at the start, one after a minute:\n${lines.join('\n')}`);
  assert.match(failed[0]!, 'reason=connection_error');
  assert.match(failed[1]!, 'failed_polls=13');
  assert.match(failed[1]!, 'ongoing_for=1m');

  bridge.collect(up);
  bridge.collect(up);
  const back = lines.filter((line) => line.includes('msg="JVB polls succeed again"'));
  assert.is(back.length, 1, 'the end is logged once');
  assert.match(back[0]!, 'lasted=1m5s');
  assert.match(back[0]!, 'failed_polls=13');
});

test.run();
