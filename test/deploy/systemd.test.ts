/**
 * The systemd unit, checked by systemd's own tools (systemd-analyze verify and
 * security, offline: no systemd needs to run), and its command run the way the
 * unit runs it: as an unprivileged user, with the remote-write token handed
 * over as a credential (a copy only that user reads, $CREDENTIALS_DIRECTORY).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { durationMs } from '../../src/config/value-parsers';
import { findSetting } from '../../src/config/scopes';
import { cleanEnv, RecordingServer, ROOT, run, Started, tempDir, waitForStatus } from '../helpers/shipping';

const UNIT_NAME = 'jvb-prometheus-adapter.service';
const unit = readFileSync(join(ROOT, 'systemd', UNIT_NAME), 'utf8');
const envFile = readFileSync(join(ROOT, 'systemd', 'jvb-prometheus-adapter.env'), 'utf8');
const CLI = join(ROOT, 'dist', 'cli.js');
const CREDENTIAL = 'remote-write-password';

/** The active `Key=value` lines of the unit, in order. */
function directives(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((line) => /^([A-Za-z]+)=(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]);
}
const values = (text: string, key: string) => directives(text).filter(([k]) => k === key).map(([, v]) => v);

/**
 * The unit as `systemd-analyze verify` can check it here: verify requires
 * ExecStart's program to exist, and `jvb-prometheus-adapter` (a bare name,
 * looked up in /usr/local/bin, /usr/bin, ...) is not installed on the test
 * machine; so the copy names the file `npm install -g` and the checkout's
 * link point that name at: this checkout's dist/cli.js. Nothing else changes.
 * `withCredential` uncomments the LoadCredential= example as a drop-in would add it.
 */
function unitForVerify(dir: string, withCredential: boolean): string {
  let text = unit.replace(/^ExecStart=jvb-prometheus-adapter(?=\s|$)/m, `ExecStart=${CLI}`);
  if (withCredential) {
    text = text.replace(/^#(LoadCredential=.*)$/m, '$1').replace(/^#(Environment=JVB_ADAPTER_REMOTE_WRITE_PASSWORD_FILE=.*)$/m, '$1');
  }
  mkdirSync(dir, { recursive: true });
  const path = join(dir, UNIT_NAME);
  writeFileSync(path, text);
  return path;
}

function hasSystemdAnalyze(): void {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error("systemd-analyze is missing: install Debian's systemd package (npm run test:all does, through test/install-test-deps.sh)");
  }
}

const analyze = suite('systemd unit: systemd-analyze verify and security (offline)');

analyze('systemd-analyze verify passes without a message: as shipped, and with the LoadCredential= example switched on', async () => {
  hasSystemdAnalyze();
  assert.match(readFileSync(CLI, 'utf8').split('\n', 1)[0]!, /^#!\/usr\/bin\/env (-S )?node/, 'npm run build made dist/cli.js');
  const work = tempDir('jvb-adapter-systemd-');
  for (const [name, withCredential] of [['plain', false], ['credential', true]] as const) {
    const path = unitForVerify(join(work, name), withCredential);
    const result = await run('systemd-analyze', ['verify', path], { cwd: work, timeoutMs: 60_000 });
    assert.is(result.code, 0, `verify (${name}): ${result.stderr}`);
    assert.is(`${result.stdout}${result.stderr}`.trim(), '', `verify (${name}) says nothing`);
  }
});

analyze('systemd-analyze security --offline=yes: overall exposure below 3.0 (it was 3.6 before the sandbox was tightened)', async () => {
  hasSystemdAnalyze();
  const work = tempDir('jvb-adapter-systemd-');
  for (const [name, withCredential] of [['plain', false], ['credential', true]] as const) {
    const path = unitForVerify(join(work, name), withCredential);
    const result = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', path], { cwd: work, timeoutMs: 60_000 });
    const score = /Overall exposure level for \S+: (\d+\.\d+)/.exec(result.stdout);
    assert.ok(score, `security (${name}) printed a score:\n${result.stdout}\n${result.stderr}`);
    assert.ok(Number(score![1]) < 3.0, `exposure ${score![1]} (${name}) is below 3.0`);
  }
});

analyze.run();

const content = suite('systemd unit: what it says');

content('ExecStart is the command package.json installs, as a bare name systemd looks up where npm install -g and the checkout link put it', () => {
  assert.equal(values(unit, 'ExecStart'), ['jvb-prometheus-adapter']);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.is(pkg.bin['jvb-prometheus-adapter'], 'dist/cli.js');
  assert.match(unit, 'ln -sf /opt/jvb-prometheus-adapter/dist/cli.js /usr/local/bin/jvb-prometheus-adapter');
});

content('reload is SIGHUP, sent by the shell\'s built-in kill (no procps needed); the stop timeout is above the flush deadline with a margin', () => {
  assert.equal(values(unit, 'ExecReload'), [`/bin/sh -c 'kill -HUP "$MAINPID"'`]);
  const flush = findSetting('storage.flush-deadline')!.spec.default!;
  const stop = durationMs.parse(values(unit, 'TimeoutStopSec')[0]!)!;
  assert.ok(stop >= durationMs.parse(flush)! + 10_000, `TimeoutStopSec ${stop}ms leaves 10s above --storage.flush-deadline ${flush}`);
  assert.equal(values(unit, 'KillSignal'), ['SIGTERM']);
});

content('the sandbox: a dynamic user, no capabilities, a system call filter, private /proc, umask 0077; the network left open, as a pushing agent needs', () => {
  const expected: Record<string, string> = {
    DynamicUser: 'yes',
    UMask: '0077',
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    PrivateMounts: 'yes',
    PrivateUsers: 'yes',
    ProtectClock: 'yes',
    ProtectHostname: 'yes',
    ProtectKernelLogs: 'yes',
    ProtectKernelModules: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectControlGroups: 'yes',
    ProtectProc: 'invisible',
    ProcSubset: 'pid',
    RestrictRealtime: 'yes',
    RestrictSUIDSGID: 'yes',
    RestrictNamespaces: 'yes',
    LockPersonality: 'yes',
    SystemCallArchitectures: 'native',
    SystemCallErrorNumber: 'EPERM',
    CapabilityBoundingSet: '',
  };
  for (const [key, value] of Object.entries(expected)) assert.equal(values(unit, key), [value], key);
  assert.equal(values(unit, 'SystemCallFilter'), ['@system-service', '~@privileged @resources']);
  assert.equal(values(unit, 'IPAddressDeny'), [], 'no IP allow list: receivers are anywhere');
  assert.match(unit, /^#\s+IPAddressAllow=/m, 'the comment shows the allow list for fixed addresses');
  assert.equal(values(unit, 'MemoryDenyWriteExecute'), [], "V8's JIT needs W+X memory");
});

content('the credential recipe: LoadCredential=/LoadCredentialEncrypted= and the %d path in the unit, the same credential in the env file', () => {
  assert.match(unit, new RegExp(`^#LoadCredential=${CREDENTIAL}:/etc/jvb-prometheus-adapter/${CREDENTIAL}$`, 'm'));
  assert.match(unit, new RegExp(`^#LoadCredentialEncrypted=${CREDENTIAL}:/etc/credstore.encrypted/${CREDENTIAL}$`, 'm'));
  assert.match(unit, new RegExp(`^#Environment=JVB_ADAPTER_REMOTE_WRITE_PASSWORD_FILE=%d/${CREDENTIAL}$`, 'm'));
  assert.match(envFile, new RegExp(`^#\\s+LoadCredential=${CREDENTIAL}:/etc/jvb-prometheus-adapter/${CREDENTIAL}$`, 'm'));
  // %d does not expand in an EnvironmentFile: the env file spells out what it expands to.
  assert.match(envFile, new RegExp(`^#JVB_ADAPTER_REMOTE_WRITE_PASSWORD_FILE=/run/credentials/${UNIT_NAME}/${CREDENTIAL}$`, 'm'));
});

content.run();

const asService = suite('systemd unit: its command as an unprivileged user, with a credential');

function userIds(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs `args` as the user via setpriv, as DynamicUser= would (no groups, no new privileges). */
function asUser(ids: { uid: number; gid: number }, args: readonly string[]): string[] {
  return [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups', '--no-new-privs', '--', ...args];
}

/**
 * The checkout as the README's /opt install has it (package.json, dist/,
 * proto/, the production node_modules), copied under `base`: the checkout
 * itself may sit where nobody cannot go (a CI clone under /root).
 */
function optInstall(base: string): string {
  const opt = join(base, 'opt', 'jvb-prometheus-adapter');
  for (const path of ['package.json', 'dist', 'proto']) cpSync(join(ROOT, path), join(opt, path), { recursive: true });
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
  for (const [path, entry] of Object.entries(lock.packages)) {
    const topLevel = path.startsWith('node_modules/') && !path.slice('node_modules/'.length).includes('node_modules/');
    // Optional packages for other platforms (snappy's prebuilt binaries) are not installed here.
    if (entry.optional === true && !existsSync(join(ROOT, path))) continue;
    if (topLevel && entry.dev !== true) cpSync(join(ROOT, path), join(opt, path), { recursive: true });
  }
  return opt;
}

asService("as nobody, with the root-only token handed over as systemd does, the agent sends it as basic auth; the original stays unreadable to nobody", async () => {
  if (process.getuid?.() !== 0) {
    console.log('  (skipped: needs root to switch users; CI runs the tests as root)');
    return;
  }
  const nobody = userIds('nobody');
  assert.ok(nobody, 'the system has a nobody user');
  const base = tempDir('jvb-adapter-credential-');
  chmodSync(base, 0o755); // nobody may pass, as through /etc and /run
  const cli = join(optInstall(base), 'dist', 'cli.js');
  // The secret as an administrator stores it: root's, mode 0600.
  const token = `glc_test-${process.pid}-${Date.now()}`;
  mkdirSync(join(base, 'etc'), { mode: 0o755 });
  const original = join(base, 'etc', CREDENTIAL);
  writeFileSync(original, `${token}\n`, { mode: 0o600 });
  // What LoadCredential= makes of it: a copy in the unit's credentials directory, owned by and readable only by the unit's user.
  const credentials = join(base, 'credentials', UNIT_NAME);
  mkdirSync(credentials, { recursive: true });
  chmodSync(join(base, 'credentials'), 0o755);
  copyFileSync(original, join(credentials, CREDENTIAL));
  chownSync(join(credentials, CREDENTIAL), nobody!.uid, nobody!.gid);
  chmodSync(join(credentials, CREDENTIAL), 0o400);
  chownSync(credentials, nobody!.uid, nobody!.gid);
  chmodSync(credentials, 0o500);
  // The StateDirectory=, owned by the unit's user.
  const state = join(base, 'state');
  mkdirSync(state, { mode: 0o700 });
  chownSync(state, nobody!.uid, nobody!.gid);

  // The unit's environment: its Environment= lines, the credential example switched on, %d expanded;
  // the state directory where this test made it. Then what /etc/default/jvb-prometheus-adapter would add.
  const unitEnv: Record<string, string> = {};
  const withCredential = unit.replace(/^#(Environment=JVB_ADAPTER_REMOTE_WRITE_PASSWORD_FILE=.*)$/m, '$1');
  for (const line of values(withCredential, 'Environment')) {
    const [name, ...rest] = line.split('=');
    unitEnv[name!] = rest.join('=').replace(/%d/g, credentials);
  }
  assert.is(unitEnv['JVB_ADAPTER_STORAGE_PATH'], '/var/lib/jvb-prometheus-adapter');
  unitEnv['JVB_ADAPTER_STORAGE_PATH'] = state;
  assert.is(unitEnv['JVB_ADAPTER_REMOTE_WRITE_PASSWORD_FILE'], join(credentials, CREDENTIAL));

  const receiver = await RecordingServer.start(204);
  const env = cleanEnv({
    ...unitEnv,
    CREDENTIALS_DIRECTORY: credentials,
    HOME: '/',
    JVB_ADAPTER_DEMO: 'true',
    JVB_ADAPTER_WEB_LISTEN_ADDRESS: '127.0.0.1:0',
    JVB_ADAPTER_POLL_INTERVAL: '500ms',
    JVB_ADAPTER_REMOTE_WRITE_URL: `${receiver.url}/api/v1/write`,
    JVB_ADAPTER_REMOTE_WRITE_USERNAME: '123456',
  });
  // ExecStart=jvb-prometheus-adapter: the file that name links to, run through its shebang.
  const agent = new Started('setpriv', asUser(nobody!, [cli]), { env, cwd: state });
  try {
    const port = await agent.metricsPort();
    await waitForStatus(`http://127.0.0.1:${port}/-/ready`, 200);
    const status = readFileSync(`/proc/${agent.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${nobody!.uid}\\s+${nobody!.uid}\\s+${nobody!.uid}\\s+${nobody!.uid}$`, 'm'), 'the agent runs as nobody');
    const push = await receiver.waitFor((r) => r.method === 'POST' && r.url === '/api/v1/write', 20_000, 'remote-write POST');
    assert.is(push.headers['authorization'], `Basic ${Buffer.from(`123456:${token}`).toString('base64')}`, 'basic auth carries the token from the credential');
    assert.not.ok(agent.log.includes(token), 'the token is never logged');
    assert.equal(await agent.stop(), { code: 0, signal: null }, agent.log);
  } finally {
    await agent.stop();
    await receiver.close();
  }

  // The original stays root's: the same user cannot read it.
  const probe = 'try { require("fs").readFileSync(process.argv[1]); console.log("READ") } catch (e) { console.log(e.code) }';
  const readOriginal = await run('setpriv', asUser(nobody!, [process.execPath, '-e', probe, original]), { env: cleanEnv(), timeoutMs: 30_000 });
  assert.is(readOriginal.stdout.trim(), 'EACCES', `nobody reading ${original}: ${readOriginal.stderr}`);
  const readCopy = await run('setpriv', asUser(nobody!, [process.execPath, '-e', probe, join(credentials, CREDENTIAL)]), { env: cleanEnv(), timeoutMs: 30_000 });
  assert.is(readCopy.stdout.trim(), 'READ', 'the control: nobody reads the credential copy');
});

asService('with /proc as ProtectProc=invisible and ProcSubset=pid leave it, the agent starts and serves its process metrics', async () => {
  if (process.getuid?.() !== 0) {
    console.log('  (skipped: needs root to mount /proc in a namespace)');
    return;
  }
  const state = tempDir('jvb-adapter-procsubset-');
  const script = 'mount -t proc -o subset=pid,hidepid=invisible proc /proc && exec "$@"';
  const probe = await run('unshare', ['--mount', '--pid', '--fork', '--kill-child', 'sh', '-c', script, 'sh', 'true'], { timeoutMs: 30_000 });
  if (probe.code !== 0) {
    // An unprivileged container cannot make namespaces; systemd would, at the unit's start.
    console.log(`  (skipped: cannot mount a private /proc here: ${probe.stderr.trim()})`);
    return;
  }
  const agent = new Started(
    'unshare',
    ['--mount', '--pid', '--fork', '--kill-child', 'sh', '-c', script, 'sh', process.execPath, CLI, '--demo', '--web.listen-address=127.0.0.1:0', `--storage.path=${state}`],
    { env: cleanEnv(), cwd: state },
  );
  try {
    const port = await agent.metricsPort();
    await waitForStatus(`http://127.0.0.1:${port}/-/ready`, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^process_resident_memory_bytes \d/m);
    assert.match(metrics, /^process_open_fds \d/m);
    assert.match(metrics, /^jitsi_participants \d/m);
  } finally {
    await agent.stop();
  }
});

asService.run();
