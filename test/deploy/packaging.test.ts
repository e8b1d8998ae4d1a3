import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { knownEnvVarNames } from '../../src/config/command-line';
import { configurationReference } from '../../src/config/configuration-reference';
import { helpText } from '../../src/config/help-text';
import { allSettings } from '../../src/config/scopes';

const ROOT = resolve(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** No Docker engine runs here: the Dockerfile is checked by reading what it copies and runs. */
const docker = suite('Dockerfile (read, not built: no Docker engine here)');
const dockerfile = read('Dockerfile');
const instructions = dockerfile
  .split('\n')
  .filter((line) => !line.startsWith('#') && line.trim() !== '')
  .join('\n')
  .replace(/\\\n/g, ' ')
  .split('\n');

docker('every COPY from the build context names a file or folder the repository has, not excluded by .dockerignore', () => {
  const ignored = read('.dockerignore').split('\n').filter(Boolean);
  const copies = instructions.filter((line) => /^COPY /.test(line) && !line.includes('--from='));
  assert.ok(copies.length >= 3);
  for (const line of copies) {
    const parts = line.split(/\s+/).slice(1);
    for (const source of parts.slice(0, -1)) {
      assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: not in the repository`);
      assert.not.ok(ignored.includes(source), `COPY ${source}: excluded by .dockerignore`);
    }
  }
});

docker('multi-stage, runs as a non-root user, and its entrypoint is the file the build makes and package.json installs', () => {
  assert.is(instructions.filter((line) => line.startsWith('FROM ')).length, 2);
  const user = instructions.filter((line) => line.startsWith('USER ')).pop();
  assert.ok(user && !/USER\s+(root|0)\b/.test(user), 'final stage runs as non-root');
  const entry = instructions.find((line) => line.startsWith('ENTRYPOINT '))!;
  const args = JSON.parse(entry.slice('ENTRYPOINT '.length)) as string[];
  assert.is(args[0], 'node');
  assert.is(args[args.length - 1], '/app/dist/cli.js');
  // The image runs node with the V8 flags an installed agent gets from its #! line.
  const shebang = /^#!\/usr\/bin\/env -S node(.*)$/.exec(read('src/cli.ts').split('\n', 1)[0]!);
  assert.ok(shebang, 'src/cli.ts starts with #!/usr/bin/env -S node ...');
  assert.equal(args.slice(1, -1), shebang![1]!.trim().split(/\s+/).filter(Boolean));
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
  assert.is(pkg.bin['jvb-prometheus-adapter'], 'dist/cli.js');
  assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')), 'npm run build produced dist/cli.js');
  assert.match(read('tsconfig.build.json'), '"outDir": "dist"');
});

docker.run();

const systemd = suite('systemd unit');
const unit = read('systemd/jvb-prometheus-adapter.service');

systemd('ExecStart runs the command package.json installs (npm install -g, or the checkout README names, linked onto PATH)', () => {
  const exec = /^ExecStart=(.*)$/m.exec(unit);
  assert.ok(exec);
  assert.is(exec![1], 'jvb-prometheus-adapter');
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
  assert.is(pkg.bin['jvb-prometheus-adapter'], 'dist/cli.js');
  assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')));
  assert.match(unit, '/opt/jvb-prometheus-adapter/dist/cli.js /usr/local/bin/jvb-prometheus-adapter');
  assert.match(read('docs/deploy/systemd.md'), '/opt/jvb-prometheus-adapter');
});

systemd('a bad setting (exit 2) is not restarted in a loop; the stop timeout leaves room for a graceful stop', () => {
  assert.match(unit, /^RestartPreventExitStatus=2$/m);
  assert.match(unit, /^Restart=on-failure$/m);
  const stop = /^TimeoutStopSec=(\d+)s$/m.exec(unit);
  assert.ok(stop && Number(stop[1]) >= 30);
});

systemd('the example environment file only sets variables the agent knows', () => {
  const known = new Set([
    ...knownEnvVarNames(),
  ]);
  const vars = read('systemd/jvb-prometheus-adapter.env')
    .split('\n')
    .map((line) => /^#?([A-Z_]+)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
  assert.ok(vars.length >= 3);
  for (const name of vars) assert.ok(known.has(name), `${name} is not a setting`);
});

systemd.run();

const readme = suite('README stays true');
readme('docs/configuration.md is what the settings tables generate (npm run docs:config)', () => {
  assert.ok(read('docs/configuration.md') === configurationReference(), 'docs/configuration.md is stale: run npm run docs:config and commit it');
});
readme('every flag and environment-only setting --help prints appears in docs/configuration.md with its variable and default', () => {
  const reference = read('docs/configuration.md').split('\n');
  const help = helpText('cmd', 'v');
  // (--help and --version are requests, not settings)
  const printed = [...help.matchAll(/^  (--[a-z][a-z0-9.-]*)/gm)].map((m) => m[1]!).filter((flag) => flag !== '--version');
  const secrets = [...help.matchAll(/^  \(environment only\) ([A-Z0-9_]+)/gm)].map((m) => m[1]!);
  assert.is(printed.length + secrets.length, allSettings().length, 'every setting is in --help');
  for (const flag of printed) {
    const entry = allSettings().find((e) => `--${e.flag}` === flag)!;
    const row = reference.find((line) => line.startsWith(`| \`${flag}`));
    assert.ok(row, `docs/configuration.md has no row for ${flag}`);
    for (const name of entry.env) assert.ok(row!.includes(`\`${name}\``), `the row of ${flag} names ${name}`);
    if (entry.spec.default !== undefined) assert.ok(row!.includes(`\`${entry.spec.default}\``), `the row of ${flag} gives the default ${entry.spec.default}`);
  }
  for (const name of secrets) assert.ok(reference.some((line) => line.includes(`\`${name}\``) && line.includes('no flag')), `docs/configuration.md has no row for ${name}`);
});
readme('README stays an operator page: at most 300 lines (reference and internals go to docs/)', () => {
  const lines = read('README.md').split('\n').length - 1;
  assert.ok(lines <= 300, `README.md has ${lines} lines`);
});
readme('the test command README gives is the one .ci/run runs', () => {
  assert.match(read('README.md'), '```sh\nnpm run test:all\n```');
  assert.match(read('.ci/run'), 'npm run test:all');
});
readme.run();
