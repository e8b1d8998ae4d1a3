/**
 * The .deb under a real systemd: a Debian 12 system (minbase + systemd, no
 * procps, no node) booted with systemd-nspawn, the package installed with
 * dpkg, configured as an administrator would (/etc/default, a config file, a
 * drop-in with a LoadCredential= password), and checked from the host: a fake
 * bridge on a host loopback port is polled, the data arrives in a real
 * Prometheus behind basic auth, reload, restart during a receiver outage,
 * upgrade, remove and purge. Every wait is for an event, with a bound.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hashSync } from 'bcryptjs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeBridge } from '../helpers/fake-bridge';
import { FaultProxy } from '../helpers/fault-proxy';
import { cachedRootfs, NspawnMachine, nspawnUnavailable } from '../helpers/nspawn-machine';
import { PrometheusServer } from '../helpers/prometheus-server';
import { debAs, releaseFiles, type ReleaseFiles } from '../helpers/release-build';
import { setUpBefore } from '../helpers/set-up-before';
import { freePort } from '../helpers/shipping';

const UNIT = 'jvb-prometheus-adapter.service';
const PASSWORD = `pw-${process.pid}-${Date.now()}`;
const AUTH = `Basic ${Buffer.from(`pusher:${PASSWORD}`).toString('base64')}`;
const INTERVAL_MS = 2000;
const STATE = '/var/lib/private/jvb-prometheus-adapter';

const test = suite('the .deb under real systemd (systemd-nspawn, Debian 12 without procps or node)');
const skip = nspawnUnavailable();

let files: ReleaseFiles;
let machine: NspawnMachine | undefined;
let prometheus: PrometheusServer | undefined;
let proxy: FaultProxy | undefined;
const bridge = new FakeBridge();
/** When the bridge answered a poll (host clock, which the container shares). */
const polls: number[] = [];
let agentPort = 0;
let envFile = '';
const configFile = (phase: string) => `# written by the test\nlabels:\n  phase: ${phase}\n`;
const timings: Record<string, number> = {};

async function timed<T>(name: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await step();
  } finally {
    timings[name] = Date.now() - started;
  }
}

async function query(promql: string): Promise<Array<{ metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }>> {
  const res = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(promql)}`, { headers: { authorization: AUTH } });
  const body = (await res.json()) as { status: string; data: { result: [] }; error?: string };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
  return body.data.result;
}

const m = () => machine!;
const journal = async () => (await m().exec(['journalctl', '-u', UNIT, '--no-pager', '-n', '60'])).stdout;
async function pollsAfter(since: number, count: number, what: string): Promise<void> {
  await m().waitFor(`${count} polls ${what}`, async () => (polls.filter((t) => t > since).length >= count ? true : undefined), 30_000 + count * INTERVAL_MS).catch(async (error: Error) => {
    throw new Error(`${error.message}\n${await journal()}`);
  });
}
async function mainPid(): Promise<number> {
  return Number(await m().property(UNIT, 'MainPID'));
}
async function activeWithNewPid(old: number, what: string): Promise<number> {
  return m().waitFor(`${what}: the service active with a new main PID`, async () => {
    const pid = await mainPid();
    return (await m().property(UNIT, 'ActiveState')) === 'active' && pid !== 0 && pid !== old ? pid : undefined;
  }, 60_000);
}

const setUp = setUpBefore(test, async () => {
  if (skip !== undefined) return;
  const [built, rootfs] = await Promise.all([timed('release build', releaseFiles), timed('rootfs (cached after the first run)', cachedRootfs)]);
  files = built;
  await bridge.start();
  bridge.respond = (request) => {
    if (request.path === '/metrics') polls.push(Date.now());
    return undefined;
  };
  prometheus = await PrometheusServer.start({ remoteWriteReceiver: true, webConfig: `basic_auth_users:\n  pusher: ${hashSync(PASSWORD, 10)}\n` });
  proxy = await new FaultProxy(prometheus.url).up();
  agentPort = await freePort();
  machine = await timed('boot', () => NspawnMachine.boot(rootfs));
});

test.after(async () => {
  await machine?.stop();
  await proxy?.down();
  await prometheus?.stop();
  await bridge.stop();
  if (skip === undefined) console.log(`  nspawn timings (ms): ${JSON.stringify(timings)}`);
});

test('the system is minimal: systemd 252 runs, and there is no kill (procps) and no node', async () => {
  if (skip !== undefined) return console.log(`  (skipped: ${skip})`);
  setUp.check();
  assert.match((await m().exec(['systemctl', '--version'])).stdout, /^systemd 252/);
  // (`command -v kill` would find dash's built-in: the files are what procps and Node would install.)
  for (const tool of ['kill', 'node', 'nodejs']) assert.is((await m().exec(['sh', '-c', `test -e /usr/bin/${tool} || test -e /bin/${tool} || test -e /usr/local/bin/${tool}`])).code, 1, `${tool} is absent`);
});

test('apt-get install ./x.deb: the executable in /usr/bin, the unit enabled and started by postinst, the pre-written /etc/default kept', async () => {
  if (skip !== undefined) return;
  setUp.check();
  // Configuration first, as configuration management does (listening on loopback only, from the start).
  envFile = [
    `JVB_ADAPTER_JVB_URL=${bridge.baseUrl}`,
    `JVB_ADAPTER_POLL_INTERVAL=${INTERVAL_MS}ms`,
    'JVB_ADAPTER_JVB_TIMEOUT=1s',
    `JVB_ADAPTER_WEB_LISTEN_ADDRESS=127.0.0.1:${agentPort}`,
    'JVB_ADAPTER_CONFIG_FILE=/etc/jvb-prometheus-adapter.yml',
    'JVB_ADAPTER_STORAGE_FLUSH_DEADLINE=2s',
    '',
  ].join('\n');
  writeFileSync(m().path('/etc/default/jvb-prometheus-adapter'), envFile);
  writeFileSync(m().path('/etc/jvb-prometheus-adapter.yml'), configFile('one'));
  copyFileSync(files.deb, m().path('/root/adapter.deb'));
  // apt resolves the Depends (libatomic1, which Node 26 links); the rootfs has its .deb in apt's cache, so no network is used.
  const apt = await timed('apt-get install ./adapter.deb', () => m().sh('apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold /root/adapter.deb'));
  assert.not.match(apt, /^Get:\d+ https?:/m, 'nothing downloaded');
  assert.is(await m().sh('dpkg-query -W -f=\'${Version}\' jvb-prometheus-adapter'), files.version);
  assert.match(await m().sh('/usr/bin/jvb-prometheus-adapter --version'), new RegExp(`^jvb-prometheus-adapter ${files.version.replace(/\./g, '\\.')} `));
  assert.is(await m().property(UNIT, 'UnitFileState'), 'enabled');
  assert.match(await m().property(UNIT, 'ExecStart'), /path=\/usr\/bin\/jvb-prometheus-adapter /);
  await activeWithNewPid(0, 'after dpkg -i');
  assert.is(readFileSync(m().path('/etc/default/jvb-prometheus-adapter'), 'utf8'), envFile, 'dpkg kept the administrator\'s file');
  await pollsAfter(Date.now(), 2, 'after dpkg -i');
  const metrics = await (await fetch(`http://127.0.0.1:${agentPort}/metrics`)).text();
  assert.match(metrics, /phase="one"/);
});

test('a drop-in with a LoadCredential= password and the remote-write URL: data arrives in Prometheus (basic auth), the password in no environment', async () => {
  if (skip !== undefined) return;
  setUp.check();
  mkdirSync(m().path('/etc/jvb-prometheus-adapter'), { recursive: true, mode: 0o700 });
  writeFileSync(m().path('/etc/jvb-prometheus-adapter/remote-write-password'), `${PASSWORD}\n`, { mode: 0o600 });
  mkdirSync(m().path(`/etc/systemd/system/${UNIT}.d`), { recursive: true });
  writeFileSync(
    m().path(`/etc/systemd/system/${UNIT}.d/remote-write.conf`),
    [
      '[Service]',
      'LoadCredential=remote-write-password:/etc/jvb-prometheus-adapter/remote-write-password',
      `Environment=JVB_ADAPTER_REMOTE_WRITE_URL=${proxy!.url}/api/v1/write`,
      'Environment=JVB_ADAPTER_REMOTE_WRITE_USERNAME=pusher',
      'Environment=JVB_ADAPTER_REMOTE_WRITE_PASSWORD_FILE=%d/remote-write-password',
      '',
    ].join('\n'),
  );
  const old = await mainPid();
  await m().sh(`systemctl daemon-reload && systemctl restart ${UNIT}`);
  await activeWithNewPid(old, 'restart with the drop-in');
  const arrived = await m().waitFor('series with phase="one" in Prometheus', async () => {
    const r = await query('count({phase="one"})');
    return r.length === 1 && Number(r[0]!.value![1]) > 0 ? Number(r[0]!.value![1]) : undefined;
  }, 60_000).catch(async (error: Error) => {
    throw new Error(`${error.message}\n${await journal()}`);
  });
  assert.ok(arrived > 5, `${arrived} series`);
  assert.not.match(await m().property(UNIT, 'Environment'), PASSWORD);
  assert.not.match(await journal(), PASSWORD);
});

test('systemd-analyze security of the running unit: exposure below 2.0', async () => {
  if (skip !== undefined) return;
  setUp.check();
  const out = (await m().exec(['systemd-analyze', 'security', '--no-pager', UNIT])).stdout;
  const score = /Overall exposure level for \S+: (\d+\.\d+)/.exec(out);
  assert.ok(score, out);
  assert.ok(Number(score![1]) < 2.0, `exposure ${score![1]}`);
  console.log(`  systemd-analyze security in the container: ${score![1]}`);
});

test('systemctl reload (no procps): the changed config file takes effect, same process', async () => {
  if (skip !== undefined) return;
  setUp.check();
  const pid = await mainPid();
  writeFileSync(m().path('/etc/jvb-prometheus-adapter.yml'), configFile('two'));
  await m().sh(`systemctl reload ${UNIT}`);
  await m().waitFor('series with phase="two" in Prometheus', async () => ((await query('count({phase="two"})')).length === 1 ? true : undefined), 30_000);
  assert.is(await mainPid(), pid, 'reloaded, not restarted');
  assert.match(await journal(), /configuration reloaded/);
});

test('restart and upgrade during a receiver outage: queue on disk kept, config kept, every poll arrives afterwards', async () => {
  if (skip !== undefined) return;
  setUp.check();
  const from = Date.now() + INTERVAL_MS; // polls from here on carry phase="two"
  await pollsAfter(from, 2, 'before the outage');
  const outage = Date.now();
  await proxy!.down();
  await pollsAfter(outage, 3, 'into the outage');
  const stops: number[] = [];

  let pid = await mainPid();
  stops.push(Date.now());
  await timed('systemctl restart (outage)', () => m().sh(`systemctl restart ${UNIT}`));
  pid = await activeWithNewPid(pid, 'systemctl restart');
  const queued = readdirSync(m().path(STATE), { recursive: true }).map(String);
  assert.ok(queued.some((f) => statSync(join(m().path(STATE), f)).isFile()), `queue files in ${STATE}: ${queued.join(', ')}`);
  await pollsAfter(Date.now(), 3, 'after the restart');

  const newer = `${files.version}+upgradetest1`;
  copyFileSync(await debAs(files, newer), m().path('/root/adapter-new.deb'));
  stops.push(Date.now());
  // No --force-conf*: the administrator changed /etc/default, the package did not: dpkg keeps it without asking.
  await timed('dpkg -i upgrade (outage)', () => m().sh('dpkg -i /root/adapter-new.deb </dev/null'));
  assert.is(await m().sh('dpkg-query -W -f=\'${Version}\' jvb-prometheus-adapter'), newer);
  pid = await activeWithNewPid(pid, 'upgrade');
  assert.is(readFileSync(m().path('/etc/default/jvb-prometheus-adapter'), 'utf8'), envFile, 'config kept');
  assert.is(readFileSync(m().path('/etc/jvb-prometheus-adapter.yml'), 'utf8'), configFile('two'));
  await pollsAfter(Date.now(), 3, 'after the upgrade');
  const end = Date.now();
  await proxy!.up();

  // Every poll the bridge answered from before the outage to its end is a sample in Prometheus.
  // A poll answered in the last moment before a stop may be abandoned by that stop: those are left out.
  const expected = polls.filter((t) => t >= from && t <= end && !stops.some((s) => t > s - 1500 && t <= s));
  const matched = await m().waitFor('every poll of the outage in Prometheus', async () => {
    const series = await query(`{phase="two"}[${Math.ceil((Date.now() - from) / 1000) + 60}s]`);
    const best = series.reduce((a, b) => ((b.values?.length ?? 0) > (a?.values?.length ?? 0) ? b : a), series[0]);
    const stamps = (best?.values ?? []).map(([ts]) => ts * 1000);
    const missing = expected.filter((t) => !stamps.some((s) => Math.abs(s - t) < INTERVAL_MS / 2));
    return missing.length === 0 ? stamps.length : undefined;
  }, 90_000).catch(async (error: Error) => {
    throw new Error(`${error.message}; expected ${expected.length} polls\n${await journal()}`);
  });
  assert.ok(expected.length >= 8, `${expected.length} polls checked`);
  console.log(`  outage: ${expected.length} polls over ${Math.round((end - outage) / 1000)} s with a restart and an upgrade, all in Prometheus (${matched} samples)`);
});

test('apt-get remove keeps config and queue and stops the service; purge deletes them', async () => {
  if (skip !== undefined) return;
  setUp.check();
  await m().sh('apt-get remove -y -q jvb-prometheus-adapter');
  assert.is.not(await m().property(UNIT, 'ActiveState'), 'active');
  assert.not.ok(m().exists('/usr/bin/jvb-prometheus-adapter'));
  assert.ok(m().exists('/etc/default/jvb-prometheus-adapter'), 'conffile kept on remove');
  assert.ok(m().exists(STATE), 'queue kept on remove');
  await m().sh('apt-get purge -y -q jvb-prometheus-adapter');
  assert.not.ok(m().exists('/etc/default/jvb-prometheus-adapter'), 'conffile gone on purge');
  assert.not.ok(m().exists(STATE), 'state gone on purge');
  assert.not.ok(m().exists('/var/lib/jvb-prometheus-adapter'), 'state link gone on purge');
  assert.is((await m().exec(['dpkg-query', '-W', 'jvb-prometheus-adapter'])).code, 1);
});

test.run();
