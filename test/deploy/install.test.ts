/**
 * The npm tarball: what `npm pack` puts in it, and that it installs and runs
 * without building (`npm install -g --prefix`, `npx`), with only production
 * dependencies, fetched into a temporary npm cache.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanEnv, devOnlyPackages, gitRevision, RecordingServer, ROOT, run, runOk, Started, tempDir, waitForStatus } from '../helpers/shipping';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};
const BIN = 'jvb-prometheus-adapter';
const NPM_TIMEOUT_MS = 240_000;

interface Packed {
  work: string;
  tarball: string;
  files: string[];
  npmEnv: Record<string, string>;
  revision: string | undefined;
}

const install = suite<{ packed?: Packed; setupError?: unknown }>('npm tarball: pack, install -g, npx');

install.before(async (ctx) => {
  try {
    const work = tempDir('jvb-adapter-install-');
    // Its own npm cache: nothing comes from (or goes to) the user's.
    const npmEnv = cleanEnv({ npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' });
    // `npm pack` runs `prepare` (the build) first.
    const pack = await runOk('npm', ['pack', '--json', '--pack-destination', work], { env: npmEnv, timeoutMs: NPM_TIMEOUT_MS });
    const json = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = join(work, json[0]!.filename);
    assert.ok(existsSync(tarball), `npm pack made ${tarball}`);
    ctx.packed = { work, tarball, files: json[0]!.files.map((f) => f.path), npmEnv, revision: await gitRevision() };
  } catch (error) {
    ctx.setupError = error;
  }
});

function packed(ctx: { packed?: Packed; setupError?: unknown }): Packed {
  if (ctx.setupError !== undefined) throw ctx.setupError;
  return ctx.packed!;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [relative(ROOT, join(dir, entry.name))],
  );
}

install('npm pack holds the built CLI and its build info, proto/, the systemd unit and env file, dashboards/, alerts/, deploy/ and README; no tests, no sources', (ctx) => {
  const { files } = packed(ctx);
  for (const path of ['package.json', 'README.md', 'dist/cli.js', 'dist/version.js', 'dist/build-info.json', 'proto/prometheus/remote.proto', 'proto/prometheus/types.proto', 'systemd/jvb-prometheus-adapter.service', 'systemd/jvb-prometheus-adapter.env']) {
    assert.ok(files.includes(path), `the tarball holds ${path}`);
  }
  if (existsSync(join(ROOT, 'LICENSE'))) assert.ok(files.includes('LICENSE'), 'the tarball holds LICENSE');
  // Whatever the repository has in these folders ships too (dashboards and alerts are being added),
  // the alerts' promtool tests included: the docs tell operators to run `promtool test rules alerts/jvb.rules.test.yml`.
  for (const folder of ['dashboards', 'alerts', 'deploy']) {
    if (!existsSync(join(ROOT, folder))) continue;
    for (const file of walk(join(ROOT, folder))) assert.ok(files.includes(file), `the tarball holds ${file}`);
  }
  assert.ok(files.includes('alerts/jvb.rules.test.yml'), 'the tarball holds alerts/jvb.rules.test.yml');
  assert.ok(files.includes('deploy/kubernetes/jvb-with-adapter.yaml'));
  // Every source file is there compiled.
  for (const source of walk(join(ROOT, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
    const built = source.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js');
    assert.ok(files.includes(built), `the tarball holds ${built}, built from ${source}`);
  }
  // The alerts' promtool tests are for operators; no other test ships.
  const unwanted = files.filter((f) => /^(test|src|scripts|\.ci|node_modules)\//.test(f) || (/\.test\./.test(f) && !/^alerts\/[^/]+\.test\.yml$/.test(f)) || /tsconfig|\.tgz$|^Dockerfile$/.test(f));
  assert.equal(unwanted, [], 'no tests (but the alerts\' promtool tests), sources, build scripts or development files');
});

install('the packed CLI is executable through its shebang and records the git revision it was built from', async (ctx) => {
  const { work, tarball, revision } = packed(ctx);
  const extract = join(work, 'extract');
  execFileSync('mkdir', ['-p', extract]);
  execFileSync('tar', ['-xzf', tarball, '-C', extract]);
  const cli = readFileSync(join(extract, 'package', 'dist', 'cli.js'), 'utf8');
  assert.match(cli.split('\n', 1)[0]!, /^#!\/usr\/bin\/env (-S )?node( --[a-z-]+(=\S+)?)*$/, 'dist/cli.js starts with #!/usr/bin/env node (and node flags)');
  const info = JSON.parse(readFileSync(join(extract, 'package', 'dist', 'build-info.json'), 'utf8')) as { revision: string | null };
  assert.is(info.revision, revision ?? null, 'build-info.json names the checkout\'s revision (null without .git)');
  const manifest = JSON.parse(readFileSync(join(extract, 'package', 'package.json'), 'utf8')) as typeof pkg & { engines: { node: string } };
  assert.is(manifest.bin[BIN], 'dist/cli.js');
  assert.is(manifest.engines.node, '>=20');
});

install('in the unpacked package, `promtool test rules alerts/jvb.rules.test.yml` passes, as the docs say', async (ctx) => {
  const { work, tarball } = packed(ctx);
  const extract = join(work, 'extract-promtool');
  execFileSync('mkdir', ['-p', extract]);
  execFileSync('tar', ['-xzf', tarball, '-C', extract]);
  const result = await run('promtool', ['test', 'rules', 'alerts/jvb.rules.test.yml'], { cwd: join(extract, 'package'), timeoutMs: 60_000 });
  assert.is(result.code, 0, `promtool test rules failed in the package:\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout + result.stderr, 'SUCCESS');
});

install('npm install -g --prefix <tmp> <tarball>: the bin runs without a build, --version names the version, revision and node; only production dependencies', async (ctx) => {
  const { work, tarball, npmEnv, revision } = packed(ctx);
  const prefix = join(work, 'prefix');
  const result = await runOk('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { env: npmEnv, timeoutMs: NPM_TIMEOUT_MS });
  // No build ran (typescript is no production dependency: a build would have failed).
  assert.not.match(result.stdout + result.stderr, /^> tsc /m, 'installing does not build');
  const bin = join(prefix, 'bin', BIN);
  accessSync(bin, constants.X_OK);
  const version = await runOk(bin, ['--version'], { env: cleanEnv(), timeoutMs: 30_000 });
  const expected = revision === undefined ? `${BIN} ${pkg.version} (node ${process.version})` : `${BIN} ${pkg.version} (revision ${revision}, node ${process.version})`;
  assert.is(version.stdout.trim(), expected);
  const installed = join(prefix, 'lib', 'node_modules', pkg.name);
  assert.ok(statSync(join(installed, 'dist', 'cli.js')).isFile());
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(installed, 'node_modules', dep)), `${dep} installed`);
  for (const dev of devOnlyPackages()) {
    assert.not.ok(existsSync(join(installed, 'node_modules', dev)) || existsSync(join(prefix, 'lib', 'node_modules', dev)), `development-only ${dev} not installed`);
  }
});

install('the globally installed agent starts (--demo), gets ready and pushes remote-write with the packaged proto schema', async (ctx) => {
  const { work } = packed(ctx);
  const bin = join(work, 'prefix', 'bin', BIN);
  assert.ok(existsSync(bin), 'installed by the previous test');
  const receiver = await RecordingServer.start(204);
  const agent = new Started(bin, ['--demo', '--web.listen-address=127.0.0.1:0', '--storage.in-memory', '--poll.interval=500ms', `--remote-write.url=${receiver.url}/api/v1/write`], { env: cleanEnv(), cwd: work });
  try {
    const port = await agent.metricsPort();
    await waitForStatus(`http://127.0.0.1:${port}/-/ready`, 200);
    const push = await receiver.waitFor((r) => r.method === 'POST' && r.url === '/api/v1/write', 20_000, 'remote-write POST');
    assert.is(push.headers['content-type'], 'application/x-protobuf');
    assert.is(push.headers['content-encoding'], 'snappy');
    assert.ok(push.bodyBytes > 100);
    assert.equal(await agent.stop(), { code: 0, signal: null }, agent.log);
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

install('npx --yes ./<tarball> --help prints the usage (subcommand included)', async (ctx) => {
  const { work, tarball, npmEnv } = packed(ctx);
  // A path npx reads as a package spec: relative (./x.tgz) or file:; an absolute path it would try to execute.
  const result = await run('npx', ['--yes', `./${relative(work, tarball)}`, '--help'], { cwd: work, env: npmEnv, timeoutMs: NPM_TIMEOUT_MS });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, `usage: ${BIN} [flags]`);
  assert.match(result.stdout, '--jvb.url');
  assert.match(result.stdout, `${BIN} healthcheck [flags]`);
});

install.run();
