/**
 * `npm run release`'s files (scripts/release.sh): the single executable runs
 * where no node is on PATH and behaves as the npm-installed command; the .deb
 * holds what Debian wants and lintian finds only the tags docs/deploy/debian.md
 * explains.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeBridge } from '../helpers/fake-bridge';
import { releaseFiles } from '../helpers/release-build';
import { cleanEnv, freePort, ROOT, run, runOk, Started, tempDir, waitForStatus } from '../helpers/shipping';

const CLI = join(ROOT, 'dist', 'cli.js');
const bare = (extra: Record<string, string> = {}) => ({ PATH: '/nonexistent', HOME: '/', ...extra });
const test = suite('release: the single executable and the .deb');

test('the executable: its SHA-256 file, --version and --help as the npm-installed command prints them, with no node on PATH', async () => {
  const files = await releaseFiles();
  const [sum, name] = readFileSync(`${files.executable}.sha256`, 'utf8').trim().split(/\s+/);
  assert.is(sum, createHash('sha256').update(readFileSync(files.executable)).digest('hex'));
  assert.is(name, `jvb-prometheus-adapter-${files.version}-linux-x64`);
  const version = await runOk(files.executable, ['--version'], { env: bare(), timeoutMs: 30_000 });
  const npmVersion = await runOk(process.execPath, [CLI, '--version'], { env: cleanEnv(), timeoutMs: 30_000 });
  assert.is(version.stdout.replace(/node v[\d.]+/, 'node'), npmVersion.stdout.replace(/node v[\d.]+/, 'node'));
  const help = await runOk(files.executable, ['--help'], { env: bare(), timeoutMs: 30_000 });
  assert.is(help.stdout, (await runOk(process.execPath, [CLI, '--help'], { env: cleanEnv(), timeoutMs: 30_000 })).stdout);
  const bad = await run(files.executable, ['--no-such-flag'], { env: bare(), timeoutMs: 30_000 });
  assert.is(bad.code, 2, 'a bad setting exits 2, as the unit expects');
});

test('the executable polls a fake bridge with no node on PATH; healthcheck; SIGHUP reloads; SIGTERM stops with 0', async () => {
  const files = await releaseFiles();
  const bridge = await new FakeBridge().start();
  const state = tempDir('jvb-adapter-sea-');
  const port = await freePort();
  const agent = new Started(files.executable, [`--jvb.url=${bridge.baseUrl}`, '--poll.interval=500ms', '--jvb.timeout=400ms', `--web.listen-address=127.0.0.1:${port}`, `--storage.path=${state}`], { env: bare(), cwd: state });
  try {
    await agent.waitForLine(/msg="serving metrics"/);
    await waitForStatus(`http://127.0.0.1:${port}/-/ready`, 200);
    const deadline = Date.now() + 20_000;
    while (bridge.count('/metrics') < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(bridge.count('/metrics') >= 2, 'the bridge was polled');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^jitsi_/m);
    const health = await run(files.executable, ['healthcheck', `--web.listen-address=127.0.0.1:${port}`], { env: bare(), timeoutMs: 10_000 });
    assert.is(health.code, 0, health.stderr);
    process.kill(agent.pid, 'SIGHUP');
    await agent.waitForLine(/msg="configuration reloaded"/);
    assert.equal(await agent.stop(), { code: 0, signal: null }, agent.log);
    assert.match(agent.log, /msg="shutting down" signal=SIGTERM/);
  } finally {
    await agent.stop();
    await bridge.stop();
  }
});

test('the .deb: contents, conffile, the unit\'s ExecStart=, and lintian finds only the explained tags', async () => {
  const files = await releaseFiles();
  const contents = (await runOk('dpkg-deb', ['-c', files.deb], { timeoutMs: 60_000 })).stdout;
  for (const path of ['./usr/bin/jvb-prometheus-adapter', './lib/systemd/system/jvb-prometheus-adapter.service', './etc/default/jvb-prometheus-adapter', './usr/share/doc/jvb-prometheus-adapter/copyright', './usr/share/doc/jvb-prometheus-adapter/changelog.gz', './usr/share/man/man8/jvb-prometheus-adapter.8.gz']) {
    assert.ok(contents.includes(` ${path}\n`), `${path} in the package`);
  }
  const dir = tempDir('jvb-adapter-deb-x-');
  await runOk('dpkg-deb', ['-R', files.deb, dir], { timeoutMs: 120_000 });
  assert.is(readFileSync(join(dir, 'DEBIAN', 'conffiles'), 'utf8'), '/etc/default/jvb-prometheus-adapter\n');
  assert.not.match(readFileSync(join(dir, 'DEBIAN', 'control'), 'utf8'), /nodejs/, 'no Node dependency');
  const unit = readFileSync(join(dir, 'lib', 'systemd', 'system', 'jvb-prometheus-adapter.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/bin\/jvb-prometheus-adapter$/m);
  const shared = readFileSync(join(ROOT, 'systemd', 'jvb-prometheus-adapter.service'), 'utf8');
  const body = (text: string) => text.slice(text.indexOf('[Service]')).replace(/^ExecStart=.*$/m, '');
  assert.is(body(unit), body(shared), 'the same unit as systemd/, but for ExecStart=');
  if (spawnSync('sh', ['-c', 'command -v lintian']).status !== 0) return console.log('  (lintian not installed: skipped)');
  const lintian = await run('lintian', ['--no-tag-display-limit', files.deb], { timeoutMs: 600_000 });
  const tags = [...new Set([...lintian.stdout.matchAll(/^[EWIPX]: \S+: (\S+)/gm)].map((m) => m[1]!))].sort();
  // Explained in docs/deploy/debian.md: Node's own binary embeds zlib and an mbedtls copy, and is not built as PIE.
  assert.equal(tags.filter((t) => !['embedded-library', 'hardening-no-pie'].includes(t)), [], lintian.stdout);
  assert.match(readFileSync(join(ROOT, 'docs', 'deploy', 'debian.md'), 'utf8'), /embedded-library[\s\S]*hardening-no-pie/);
});

test.run();
