import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusSnapshot } from '../../src/status/status-model';
import { AgentProcess } from '../helpers/agent-process';
import { dumpDom, screenshot, visibleText } from '../helpers/chromium';
import { eventually } from '../helpers/eventually';
import { FakeBridge } from '../helpers/fake-bridge';
import { ACTIVE_2021, fixtureText } from '../helpers/fixtures';
import { ScriptedReceiver } from '../helpers/scripted-receiver';
import { setUpBefore } from '../helpers/set-up-before';

// The status page as an operator sees it, in a real headless Chromium: the
// built agent polls two bridges (one answers, one answers 503) and pushes to
// a remote-write receiver that refuses every request with 401. The page
// must name both problems; the screenshot is left in test-output/.

const OUTPUT_DIR = resolve(__dirname, '..', '..', 'test-output');
const SCREENSHOT = join(OUTPUT_DIR, 'status-page.png');
const PASSWORD = 'status-page-Passw0rd-SECRET';

const test = suite('the status page in headless Chromium: a bridge down, a destination refusing with 401');
const up = new FakeBridge();
const down = new FakeBridge();
const receiver = new ScriptedReceiver();
let agent: AgentProcess | undefined;
let dir = '';
let base = '';

const setUpDone = setUpBefore(test, async () => {
  up.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  down.respond = () => ({ status: 503, body: 'bridge restarting', contentType: 'text/plain' });
  await up.start();
  await down.start();
  receiver.answer = () => ({ status: 401, body: 'authentication error: invalid token' });
  await receiver.start();
  dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-status-'));
  writeFileSync(join(dir, 'password'), PASSWORD);
  const configFile = join(dir, 'agent.yml');
  writeFileSync(
    configFile,
    `poll:
  interval: 1s
bridges:
  - url: "${up.colibriUrl}"
    name: jvb-up
  - url: "${down.metricsUrl}"
    name: jvb-down
remote_write:
  - url: ${receiver.url}/api/v1/write
    name: refusing-receiver
    username: agent
    password-file: ${join(dir, 'password')}
`,
  );
  agent = AgentProcess.spawn([`--config.file=${configFile}`, '--web.listen-address=127.0.0.1:0']);
  base = `http://127.0.0.1:${await agent.metricsPort()}`;
});

test.after(async () => {
  await agent?.stop();
  await up.stop();
  await down.stop();
  await receiver.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the page names the bridge that is down with its error and the destination refusing with 401', async () => {
  setUpDone.check();
  const running = agent!;
  const watched = { gone: () => (running.exitCode === null ? undefined : `the agent exited with ${running.exitCode}`), log: () => running.lines.join('\n') };
  // Until the agent has tried both: each bridge polled, the receiver asked.
  await eventually(
    'both bridges polled and the receiver refused a request',
    async () => {
      const { data } = (await (await fetch(`${base}/api/v1/status`)).json()) as { data: StatusSnapshot };
      const polled = data.bridges.length === 2 && data.bridges.every((b) => b.up !== null);
      return polled && data.destinations[0]?.lastError?.status === 401 ? true : undefined;
    },
    watched,
    30_000,
    100,
  );

  mkdirSync(OUTPUT_DIR, { recursive: true });
  rmSync(SCREENSHOT, { force: true });
  await screenshot(`${base}/`, SCREENSHOT);
  assert.ok(statSync(SCREENSHOT).size > 10_000, 'a screenshot was written');
  console.log(`    status page screenshot: ${SCREENSHOT}`);

  const dom = await dumpDom(`${base}/`);
  const text = visibleText(dom);
  console.log(`    the page as text: ${text}`);
  assert.not.match(dom, '<script', 'the page has no script');
  assert.match(text, '2 bridges: 1 down');
  assert.match(text, '1 destination: 1 failing');
  // The bridge down, with what it answered.
  assert.match(text, /jvb-down job jvb native \(\/metrics\) \S+ DOWN .* http_status ?: http:\/\/127\.0\.0\.1:\d+\/metrics answered HTTP 503/);
  assert.match(text, /jvb-up job jvb colibri \(\/colibri\/stats\) \S+ UP /);
  // The destination, refusing with 401: status and the receiver's words.
  assert.match(text, /remote_write refusing-receiver \S+ remote-write 1\.0 prometheus\.WriteRequest HELD: CREDENTIALS REFUSED never HTTP 401: authentication error: invalid token failing since/);
  assert.not.match(dom, PASSWORD, 'no secret in the page');
});

test.run();
