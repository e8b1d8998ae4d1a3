/**
 * The Docker image without a Docker engine: the Dockerfile is read, and what
 * its runtime stage does is done here, in a temporary folder standing for
 * /app: the files it copies, its `npm ci` (production dependencies only), its
 * ENTRYPOINT (the agent gets ready) and its HEALTHCHECK command (0 against a
 * running agent, 1 otherwise).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findSetting } from '../../src/config/scopes';
import { cleanEnv, devOnlyPackages, freePort, ROOT, run, runOk, Started, tempDir, waitForStatus } from '../helpers/shipping';

interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: string[];
}

/** The Dockerfile's stages, each with its instructions (comments dropped, continuations joined). */
function readStages(): Stage[] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2], instructions: [] });
    else stages.at(-1)?.instructions.push(line);
  }
  return stages;
}

const stages = readStages();
const build = stages[0]!;
const runtime = stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; engines: { node: string } };
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

const keyword = (stage: Stage, word: string) => stage.instructions.filter((i) => i.toUpperCase().startsWith(`${word} `)).map((i) => i.slice(word.length + 1).trim());
const workdir = (stage: Stage) => keyword(stage, 'WORKDIR').at(-1) ?? '/';
const jsonArray = (text: string) => JSON.parse(text) as string[];

interface Copy {
  readonly from: string | undefined;
  readonly sources: string[];
  readonly dest: string;
}
function copies(stage: Stage): Copy[] {
  return keyword(stage, 'COPY').map((args) => {
    const parts = args.split(/\s+/);
    const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
    return { from, sources: parts.slice(0, -1), dest: parts.at(-1)! };
  });
}

/** Where a path of the build stage's /app comes from here: the checkout, built by `npm run build` as the build stage does. */
function fromBuildStage(path: string): string {
  const app = workdir(build);
  assert.ok(path.startsWith(`${app}/`), `${path} is under the build stage's ${app}`);
  return join(ROOT, path.slice(app.length + 1));
}

const dockerfile = suite('Dockerfile: what it says');

dockerfile('runtime stage: a maintained Node LTS, production dependencies only, non-root, EXPOSE 9001, HEALTHCHECK through the agent', () => {
  assert.is(stages.length, 2);
  assert.is(build.name, 'build');
  for (const stage of stages) {
    const major = /^node:(\d+)-bookworm-slim$/.exec(stage.from);
    assert.ok(major, `${stage.from}: node on Debian bookworm, slim`);
    assert.ok(Number(major![1]) >= 22 && Number(major![1]) % 2 === 0, `${stage.from}: an LTS line still maintained (22 or later, even)`);
  }
  assert.is(pkg.engines.node, '>=20', 'the code itself still runs on Node 20');
  const ci = keyword(runtime, 'RUN').filter((r) => /\bnpm ci\b/.test(r));
  assert.is(ci.length, 1);
  assert.match(ci[0]!, '--omit=dev');
  const user = keyword(runtime, 'USER').at(-1);
  assert.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `USER ${user} is not root`);
  const listen = findSetting('web.listen-address')!.spec.default!;
  assert.equal(keyword(runtime, 'EXPOSE'), [listen.split(':').pop()!]);
  const healthcheck = keyword(runtime, 'HEALTHCHECK');
  assert.is(healthcheck.length, 1);
  const [options, cmd] = healthcheck[0]!.split(/\s+CMD\s+/);
  assert.equal(jsonArray(cmd!), ['node', '/app/dist/cli.js', 'healthcheck']);
  assert.match(options!, /--timeout=5s/);
  const entrypoint = jsonArray(keyword(runtime, 'ENTRYPOINT')[0]!);
  assert.is(entrypoint[0], 'node');
  assert.is(entrypoint[entrypoint.length - 1], '/app/dist/cli.js');
  assert.ok(entrypoint.slice(1, -1).every((arg) => arg.startsWith('--')), 'only node flags between node and the CLI');
});

dockerfile('every file the Dockerfile copies exists after `npm run build`, and the build context (.dockerignore) keeps it', () => {
  for (const stage of stages) {
    for (const copy of copies(stage)) {
      for (const source of copy.sources) {
        if (copy.from === undefined) {
          assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: in the repository`);
          assert.not.ok(ignored.includes(source) || ignored.includes(source.replace(/\/$/, '')), `COPY ${source}: not excluded by .dockerignore`);
        } else {
          assert.is(copy.from, build.name);
          assert.ok(existsSync(fromBuildStage(source)), `COPY --from=${copy.from} ${source}: made by the build`);
        }
      }
    }
  }
  assert.ok(keyword(build, 'RUN').some((r) => /\bnpm run build\b/.test(r)), 'the build stage builds');
  assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')) && existsSync(join(ROOT, 'dist', 'build-info.json')));
});

dockerfile.run();

interface RuntimeCtx {
  app?: string;
  agent?: Started;
  port?: number;
  healthcheck?: string[];
  env?: Record<string, string>;
  setupError?: unknown;
}

const image = suite<RuntimeCtx>('Docker runtime stage, done here: npm ci --omit=dev, ENTRYPOINT, HEALTHCHECK');

image.before(async (ctx) => {
  try {
    const work = tempDir('jvb-adapter-docker-');
    const app = join(work, 'app');
    mkdirSync(app);
    const appDir = workdir(runtime);
    assert.is(appDir, '/app');
    // The runtime stage's COPY instructions, into the folder standing for /app.
    for (const copy of copies(runtime)) {
      // Docker's rules: several sources, or a destination ending in /, go into that folder; a folder's contents are copied.
      const dest = join(app, copy.dest);
      for (const source of copy.sources) {
        const from = copy.from === undefined ? join(ROOT, source) : fromBuildStage(source);
        cpSync(from, copy.sources.length > 1 || copy.dest.endsWith('/') ? join(dest, basename(source)) : dest, { recursive: true });
      }
    }
    // Its ENV, with /app standing where it is here.
    const env: Record<string, string> = {};
    for (const line of keyword(runtime, 'ENV')) {
      const [name, ...rest] = line.split('=');
      env[name!] = rest.join('=');
    }
    assert.is(env['NODE_ENV'], 'production');
    // Its npm commands (mkdir/chown of /var/lib are the image's own), with an npm cache of its own.
    const npmEnv = cleanEnv({ ...env, npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' });
    for (const runLine of keyword(runtime, 'RUN')) {
      for (const command of runLine.split('&&').map((c) => c.trim()).filter((c) => c.startsWith('npm '))) {
        await runOk('npm', command.split(/\s+/).slice(1), { cwd: app, env: npmEnv, timeoutMs: 240_000 });
      }
    }
    // Its ENTRYPOINT, with flags for a test: any free port, demo bridge, queue in memory.
    const entry = jsonArray(keyword(runtime, 'ENTRYPOINT')[0]!);
    const local = (arg: string) => (arg === 'node' ? process.execPath : arg.replace(/^\/app(?=\/)/, app));
    const agent = new Started(local(entry[0]!), [...entry.slice(1).map(local), '--demo', '--web.listen-address=127.0.0.1:0', '--storage.in-memory'], { env: cleanEnv(env), cwd: app });
    ctx.agent = agent;
    ctx.port = await agent.metricsPort();
    await waitForStatus(`http://127.0.0.1:${ctx.port}/-/ready`, 200);
    const health = keyword(runtime, 'HEALTHCHECK')[0]!.split(/\s+CMD\s+/)[1]!;
    ctx.healthcheck = jsonArray(health).map(local);
    ctx.app = app;
    ctx.env = env;
  } catch (error) {
    ctx.setupError = error;
  }
});

image.after(async (ctx) => {
  await ctx.agent?.stop();
});

function ready(ctx: RuntimeCtx): Required<Omit<RuntimeCtx, 'setupError'>> {
  if (ctx.setupError !== undefined) throw ctx.setupError;
  return ctx as Required<Omit<RuntimeCtx, 'setupError'>>;
}

/** Runs the HEALTHCHECK command with extra flags and environment; its exit code and output. */
async function healthcheck(ctx: RuntimeCtx, args: string[] = [], env: Record<string, string> = {}) {
  const { healthcheck: cmd, app, env: imageEnv } = ready(ctx);
  return run(cmd[0]!, [...cmd.slice(1), ...args], { cwd: app, env: cleanEnv({ ...imageEnv, ...env }), timeoutMs: 30_000 });
}

image('npm ci --omit=dev installs the production dependencies only; the ENTRYPOINT starts the agent and it gets ready', (ctx) => {
  const { app, agent } = ready(ctx);
  const modules = readdirSync(join(app, 'node_modules'));
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(modules.includes(dep), `${dep} installed`);
  const devOnly = devOnlyPackages();
  assert.ok(devOnly.includes('typescript') && devOnly.includes('uvu'));
  for (const dev of devOnly) assert.not.ok(existsSync(join(app, 'node_modules', dev)), `development-only ${dev} not installed`);
  assert.not.ok(existsSync(join(app, 'src')), 'no sources in the image');
  assert.ok(agent.lines.some((l) => /msg=starting/.test(l)));
});

image('HEALTHCHECK exits 0 against the running agent: its port by flag, by environment (also :PORT, all interfaces), by config file (flag and environment)', async (ctx) => {
  const { port, app } = ready(ctx);
  const cases: Array<[string, string[], Record<string, string>]> = [
    ['flag', [`--web.listen-address=127.0.0.1:${port}`], {}],
    ['environment', [], { JVB_ADAPTER_WEB_LISTEN_ADDRESS: `127.0.0.1:${port}` }],
    ['environment, all interfaces', [], { JVB_ADAPTER_WEB_LISTEN_ADDRESS: `:${port}` }],
  ];
  const config = join(app, 'adapter.yml');
  writeFileSync(config, `web:\n  listen-address: "127.0.0.1:${port}"\n`);
  cases.push(['--config.file', [`--config.file=${config}`], {}], ['JVB_ADAPTER_CONFIG_FILE', [], { JVB_ADAPTER_CONFIG_FILE: config }]);
  for (const [how, args, env] of cases) {
    const result = await healthcheck(ctx, args, env);
    assert.is(result.code, 0, `${how}: ${result.stderr}`);
    assert.match(result.stdout, `http://127.0.0.1:${port}/-/healthy: 200 OK`, how);
  }
});

image('HEALTHCHECK exits 1 (never 2) against no agent, a 503, a server that never answers (within its 3s) and a bad setting; it starts nothing', async (ctx) => {
  const { app } = ready(ctx);
  const none = await freePort();
  const storage = join(app, 'must-not-be-created');
  const refused = await healthcheck(ctx, [`--web.listen-address=127.0.0.1:${none}`, '--demo', `--storage.path=${storage}`]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, 'ECONNREFUSED');
  assert.ok(refused.ms < 10_000);
  assert.not.ok(existsSync(storage), 'no queue folder made: nothing started');

  const sockets = new Set<import('node:net').Socket>();
  const unhealthy = http.createServer((_req, res) => res.writeHead(503).end('no\n'));
  const silent = http.createServer(() => {
    /* never answers */
  });
  for (const server of [unhealthy, silent]) server.on('connection', (s) => sockets.add(s));
  await Promise.all([unhealthy, silent].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  try {
    const answered503 = await healthcheck(ctx, [], { JVB_ADAPTER_WEB_LISTEN_ADDRESS: `127.0.0.1:${(unhealthy.address() as AddressInfo).port}` });
    assert.is(answered503.code, 1);
    assert.match(answered503.stderr, 'answered 503');
    const hanging = await healthcheck(ctx, [`--web.listen-address=127.0.0.1:${(silent.address() as AddressInfo).port}`]);
    assert.is(hanging.code, 1);
    assert.match(hanging.stderr, /no answer within 3000ms/);
    assert.ok(hanging.ms < 5_000, `gave up after ${hanging.ms}ms, within HEALTHCHECK --timeout=5s`);
  } finally {
    for (const s of sockets) s.destroy();
    await Promise.all([unhealthy, silent].map((s) => new Promise((r) => s.close(r))));
  }

  const bad = await healthcheck(ctx, ['--web.listen-address=nowhere']);
  assert.is(bad.code, 1, 'a bad setting is unhealthy (Docker reserves exit code 2)');
  assert.match(bad.stderr, /--web\.listen-address/);
  const portZero = await healthcheck(ctx, ['--web.listen-address=127.0.0.1:0']);
  assert.is(portZero.code, 1);
  assert.match(portZero.stderr, 'port 0');
});

image.run();
