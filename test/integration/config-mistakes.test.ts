import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/config/config-error';
import { loadConfig, type AgentConfig } from '../../src/config/load-config';
import { allSettings } from '../../src/config/scopes';
import { AgentProcess } from '../helpers/agent-process';
import { ACTIVE_2021, fixtureText } from '../helpers/fixtures';
import { FakeBridge } from '../helpers/fake-bridge';

const MiB = 1024 * 1024;
const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

/** Runs loadConfig; files are read from disk (the real reader, with its size limit). */
function load(argv: string[], env: Record<string, string> = {}): { config: AgentConfig; warnings: readonly string[] } {
  const request = loadConfig({ argv, env });
  if (request.kind !== 'run') throw new Error(`expected a run request, got ${request.kind}`);
  return { config: request.config, warnings: request.warnings };
}

function refusal(argv: string[], env: Record<string, string> = {}): string {
  try {
    load(argv, env);
  } catch (error) {
    assert.instance(error, ConfigError);
    return (error as Error).message;
  }
  assert.unreachable(`expected ${JSON.stringify(argv)} ${JSON.stringify(env)} to be refused`);
  return '';
}

/** The built agent, run to completion (bounded by a timeout); stdout and stderr. */
function runCli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    maxBuffer: 4 * MiB,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-config-'));
  dirs.push(dir);
  return dir;
}
function writeTemp(name: string, content: string): string {
  const path = join(tempDir(), name);
  writeFileSync(path, content);
  return path;
}
process.on('exit', () => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

// ---------------------------------------------------------------- the config file

const file = suite('config mistakes: --config.file is bounded and never echoed');

file('a file larger than 1 MiB is refused, naming the setting and the limit; one of exactly 1 MiB is read', () => {
  const setting = 'poll:\n  interval: 20s\n';
  const padded = (bytes: number) => setting + '#'.repeat(bytes - setting.length - 1) + '\n';
  const exact = writeTemp('exact.yml', padded(MiB));
  assert.is(load([`--config.file=${exact}`]).config.poll.intervalMs, 20_000);
  const over = writeTemp('over.yml', padded(MiB + 1));
  const message = refusal([`--config.file=${over}`]);
  assert.match(message, '--config.file');
  assert.match(message, /1 ?MiB/);
});

file('a huge (sparse) file is refused from its size, without reading it', () => {
  const path = join(tempDir(), 'huge.yml');
  writeFileSync(path, '');
  truncateSync(path, 3 * 1024 * MiB); // 3 GiB of holes: no disk used, far too much to read
  const message = refusal([`--config.file=${path}`]);
  assert.match(message, '--config.file');
  assert.match(message, /1 ?MiB/);
});

file('a file without an end (/dev/zero) is refused after at most the limit: exit 2, not a hang', () => {
  if (!existsSync('/dev/zero')) return;
  const run = runCli(['--config.file=/dev/zero']);
  assert.is(run.status, 2, `status ${run.status}, stderr: ${run.stderr.slice(0, 300)}`);
  assert.match(run.stderr, /--config\.file "\/dev\/zero".*1 ?MiB/);
});

file('a file shaped like /etc/shadow: refused without quoting any of its lines', () => {
  const shadow = 'root:$6$SALTSALT$HASHEDSECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n';
  const path = writeTemp('shadow', shadow);
  const message = refusal([`--config.file=${path}`]);
  assert.match(message, '--config.file');
  assert.match(message, /line 1\b/);
  for (const piece of ['HASHEDSECRETHASH', 'SALTSALT', 'root', 'daemon', '19000']) assert.not.match(message, piece);
});

file('YAML syntax errors give the line, the column and the kind of error, never the text', () => {
  // [what, text, the lines the mistake may be reported at: where it is, or where the parser notices it]
  const cases: Array<[string, string, number[]]> = [
    ['an unclosed quote', 'poll:\n  interval: 15s\ntoken: "SECRETX\n', [3, 4]],
    ['a mapping on one line', 'poll:\n  interval: a: SECRETX\n', [2]],
    ['an INI file', '[default]\naws_secret_access_key = SECRETX\n', [2]],
    ['a key given twice', 'log:\n  level: info\nlog:\n  level: SECRETX\n', [3]],
    ['an alias without its anchor', 'poll:\n  interval: *SECRETX\n', [2]],
  ];
  for (const [what, text, lines] of cases) {
    const path = writeTemp('bad.yml', text);
    const message = refusal([`--config.file=${path}`]);
    assert.match(message, /is not valid YAML/, what);
    const at = /line (\d+), column \d+/.exec(message);
    assert.ok(at !== null && lines.includes(Number(at[1])), `${what}: ${message}`);
    assert.not.match(message, 'SECRETX', what);
    assert.not.match(message, 'aws_secret', what);
    assert.not.match(message, '\n', `${what}: one line, no code frame`);
  }
});

file('a YAML bomb (aliases of aliases of aliases) is refused, not expanded', () => {
  const keys = 'abcdefghij';
  const lines = [`a: &a [${Array(9).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < keys.length; i++) lines.push(`${keys[i]}: &${keys[i]} [${Array(9).fill(`*${keys[i - 1]}`).join(', ')}]`);
  const message = refusal([`--config.file=${writeTemp('bomb.yml', `${lines.join('\n')}\n`)}`]);
  assert.match(message, /^--config\.file ".*bomb\.yml"/);
  assert.not.match(message, 'lol');
});

file('the parser writes nothing of the file to stderr (YAML warnings quote the line)', () => {
  const path = writeTemp('tagged.yml', 'poll:\n  interval: !SECRETX 15s\nlog:\n  level: loud\n');
  const run = runCli([`--config.file=${path}`]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /--log\.level \(from .*tagged\.yml\).*"loud"/);
  assert.not.match(run.stderr, 'SECRETX');
});

file('an unknown key that looks like a setting is named, with the closest setting', () => {
  const path = writeTemp('typo.yml', 'poll:\n  intervall: 15s\n');
  const message = refusal([`--config.file=${path}`]);
  assert.match(message, /unknown setting "poll\.intervall"/);
  assert.match(message, /line 2, column 3/);
  assert.match(message, /did you mean "poll\.interval"/);
  const list = writeTemp('list.yml', 'remote_write:\n  - url: http://127.0.0.1:9/w\n    tls:\n      ca-fle: /x\n');
  const inList = refusal([`--config.file=${list}`]);
  assert.match(inList, /unknown setting "remote_write\[0\]\.tls\.ca-fle" \(line 4, column 7\)/);
  assert.match(inList, /did you mean "remote_write\[0\]\.tls\.ca-file"/);
});

file.run();

// ---------------------------------------------------------------- flags and environment

const names = suite('config mistakes: misspelt flags and environment variables are named');

names('a misspelt flag is an error with the closest flag', () => {
  assert.match(refusal(['--poll.intervall=15s']), /--poll\.intervall.*did you mean --poll\.interval\?/);
  assert.match(refusal(['--remote-write.tenantid=t1']), /did you mean --remote-write\.tenant-id\?/);
  assert.match(refusal(['--jvb.urll', 'http://127.0.0.1:1']), /did you mean --jvb\.url\?/);
  // Nothing close: still an error, without a wild guess.
  assert.not.match(refusal(['--completely-different-thing']), /did you mean/);
});

names('an environment-only secret given as a flag: told to use the environment, the value not echoed', () => {
  const message = refusal(['--remote-write.password=SECRETPW']);
  assert.match(message, 'JVB_ADAPTER_REMOTE_WRITE_PASSWORD');
  assert.not.match(message, 'SECRETPW');
});

names('-h works like --help', () => {
  assert.is(loadConfig({ argv: ['-h'], env: {} }).kind, 'help');
  const run = runCli(['-h']);
  assert.is(run.status, 0);
  assert.match(run.stdout, /^usage: /);
  assert.match(run.stdout, '--poll.interval');
});

/** Every environment variable the agent reads, written out again from the setting lists (not the code's own helper). */
function knownEnvNames(): string[] {
  const upper = (flag: string) => `JVB_ADAPTER_${flag.replace(/[.-]/g, '_').toUpperCase()}`;
  const names = allSettings().map((entry) => upper(entry.flag));
  return names;
}

names('an unknown JVB_ADAPTER_ variable is a warning naming the closest known one; its value is not repeated', () => {
  const { warnings } = load([], { JVB_ADAPTER_POLL_INTERVALL: '1m', JVB_ADAPTER_REMOTE_WRITE_PASSWROD: 'SECRETPW', PATH: '/usr/bin' });
  assert.is(warnings.length, 2, JSON.stringify(warnings));
  const about = (name: string) => warnings.find((w) => w.includes(name)) ?? '';
  assert.match(about('JVB_ADAPTER_POLL_INTERVALL'), /did you mean JVB_ADAPTER_POLL_INTERVAL\b/);
  assert.match(about('JVB_ADAPTER_REMOTE_WRITE_PASSWROD'), /did you mean JVB_ADAPTER_REMOTE_WRITE_PASSWORD\b/);
  assert.ok(warnings.every((w) => !w.includes('SECRETPW')), 'a warning repeats a value');
});

names('a far-off unknown name is still warned about, without a guess', () => {
  const { warnings } = load([], { JVB_ADAPTER_XYZZY_QUUX_FROB: '1' });
  assert.is(warnings.length, 1);
  assert.match(warnings[0]!, 'JVB_ADAPTER_XYZZY_QUUX_FROB');
  assert.not.match(warnings[0]!, /did you mean/);
});

names('no warning for any known variable, the environment-only secrets and the config file included', () => {
  const known = knownEnvNames();
  assert.ok(known.includes('JVB_ADAPTER_CONFIG_FILE') && known.includes('JVB_ADAPTER_REMOTE_WRITE_PASSWORD'));
  // Set each alone (empty: read as unset, so no value has to be valid) and expect silence.
  for (const name of known) {
    const { warnings } = load([], { [name]: '' });
    assert.equal(warnings, [], name);
  }
  const { warnings } = load([], {
    JVB_ADAPTER_REMOTE_WRITE_URL: 'http://127.0.0.1:9/api/v1/write',
    JVB_ADAPTER_REMOTE_WRITE_USERNAME: 'u',
    JVB_ADAPTER_REMOTE_WRITE_PASSWORD: 'p',
    JVB_ADAPTER_JVB_BEARER_TOKEN: 't',
    JVB_ADAPTER_POLL_INTERVAL: '1m',
    HOME: '/root',
  });
  assert.equal(warnings, []);
});

names("JVB_ADAPTER_JVB_URL wins over the seed's JVB_STATS_URL, and the loser is named in a warning", () => {
  const { config, warnings } = load([], { JVB_STATS_URL: 'http://seed.example:8080/colibri/stats', JVB_ADAPTER_JVB_URL: 'http://new.example:8080/colibri/stats' });
  assert.equal(config.bridges.map((b) => b.url), ['http://new.example:8080/colibri/stats']);
  assert.ok(warnings.some((w) => w.includes('JVB_STATS_URL') && w.includes('JVB_ADAPTER_JVB_URL')), JSON.stringify(warnings));
  // Alone, the seed's name is honoured without a warning.
  const alone = load([], { JVB_STATS_URL: 'http://seed.example:8080/colibri/stats' });
  assert.equal(alone.config.bridges.map((b) => b.url), ['http://seed.example:8080/colibri/stats']);
  assert.equal(alone.warnings, []);
});

names('the built agent logs the unknown variable as a warning with the closest name, and still starts', async () => {
  const agent = AgentProcess.spawn(['--demo', '--storage.in-memory', '--web.listen-address=127.0.0.1:0'], { JVB_ADAPTER_POLL_INTERVALL: '1m' });
  try {
    await agent.waitForLine(/level=warn .*JVB_ADAPTER_POLL_INTERVALL.*did you mean JVB_ADAPTER_POLL_INTERVAL/);
    await agent.metricsPort();
    assert.not.ok(agent.lines.some((line) => line.includes('1m is')), 'the value is not repeated');
  } finally {
    await agent.stop();
  }
});

names.run();

const seedEnv = suite('config mistakes: JVB_STATS_URL and JVB_ADAPTER_JVB_URL in the built agent');
seedEnv('only the JVB_ADAPTER_JVB_URL bridge is polled', async () => {
  const canonical = new FakeBridge();
  const seed = new FakeBridge();
  canonical.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  seed.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  let agent: AgentProcess | undefined;
  try {
    await canonical.start();
    await seed.start();
    agent = AgentProcess.spawn(['--poll.interval=200ms', '--web.listen-address=127.0.0.1:0'], {
      JVB_STATS_URL: seed.colibriUrl,
      JVB_ADAPTER_JVB_URL: canonical.colibriUrl,
    });
    const port = await agent.metricsPort();
    const deadline = Date.now() + 15_000;
    while (canonical.answered200 < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(canonical.answered200 >= 3, `the JVB_ADAPTER_JVB_URL bridge was polled ${canonical.answered200} times`);
    assert.is(seed.count(), 0, 'the JVB_STATS_URL bridge was polled');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^jvb_up(\{[^}]*\})? 1$/m);
  } finally {
    await agent?.stop();
    await canonical.stop();
    await seed.stop();
  }
});
seedEnv.run();

// ---------------------------------------------------------------- values that cannot work

const values = suite('config mistakes: values refused at start, naming the setting');

values('--web.telemetry-path cannot be a path the agent serves itself', () => {
  for (const path of ['/-/healthy', '/-/ready', '/']) {
    assert.match(refusal([`--web.telemetry-path=${path}`]), new RegExp(`--web\\.telemetry-path.*"${path.replace(/[/-]/g, '\\$&')}"`), path);
    assert.match(refusal([], { JVB_ADAPTER_WEB_TELEMETRY_PATH: path }), /--web\.telemetry-path \(from JVB_ADAPTER_WEB_TELEMETRY_PATH\)/, path);
  }
  const inFile = writeTemp('path.yml', 'web:\n  telemetry-path: /-/ready\n');
  assert.match(refusal([`--config.file=${inFile}`]), /--web\.telemetry-path \(from .*path\.yml\)/);
  // Neighbours of the reserved paths are fine.
  assert.is(load(['--web.telemetry-path=/-/metrics']).config.web.telemetryPath, '/-/metrics');
});

values('poll intervals under 100ms are refused, globally and per bridge; 100ms is taken', () => {
  assert.match(refusal(['--poll.interval=99ms']), /--poll\.interval.*"99ms".*100ms/);
  assert.match(refusal([], { JVB_ADAPTER_POLL_INTERVAL: '1ms' }), /--poll\.interval \(from JVB_ADAPTER_POLL_INTERVAL\)/);
  assert.match(refusal(['--jvb.interval=50ms']), /--jvb\.interval.*"50ms".*100ms/);
  assert.match(refusal([], { JVB_ADAPTER_JVB_INTERVAL: '10ms' }), /--jvb\.interval \(from JVB_ADAPTER_JVB_INTERVAL\)/);
  const fleet = writeTemp('fleet.yml', 'bridges:\n  - url: http://127.0.0.1:1\n    interval: 1s\n  - url: http://127.0.0.1:2\n    interval: 20ms\n');
  assert.match(refusal([`--config.file=${fleet}`]), /--jvb\.interval \(from .*fleet\.yml bridges\[1\]\.interval\).*"20ms"/);
  const shared = writeTemp('shared.yml', 'jvb:\n  interval: 5ms\n');
  assert.match(refusal([`--config.file=${shared}`]), /--jvb\.interval \(from .*shared\.yml jvb\.interval\)/);
  const { config } = load(['--poll.interval=100ms', '--jvb.timeout=100ms']);
  assert.is(config.poll.intervalMs, 100);
  assert.is(config.bridges[0]!.intervalMs, 100);
});

values('tenant mistakes name --remote-write.tenant-id / --remote-write.tenant-header, not --remote-write.header', () => {
  const url = '--remote-write.url=http://127.0.0.1:9/api/v1/write';
  for (const tenant of ['t1\r\nX-Injected: 1', 't1\u0000', '租户']) {
    const message = refusal([url, `--remote-write.tenant-id=${tenant}`]);
    assert.match(message, /^--remote-write\.tenant-id: invalid value/, JSON.stringify(tenant));
    assert.not.match(message, /--remote-write\.header\b/);
  }
  assert.match(refusal([url, '--remote-write.tenant-header=THANOS-TENANT']), /--remote-write\.tenant-header is set but --remote-write\.tenant-id is not/);
  assert.match(refusal([url], { JVB_ADAPTER_REMOTE_WRITE_TENANT_HEADER: 'THANOS-TENANT' }), /--remote-write\.tenant-header \(from JVB_ADAPTER_REMOTE_WRITE_TENANT_HEADER\) is set but --remote-write\.tenant-id is not/);
  assert.match(refusal([url, '--remote-write.tenant-id=t1', '--remote-write.tenant-header=X Scope']), /^--remote-write\.tenant-header: invalid value "X Scope"/);
  assert.match(refusal([url, '--remote-write.tenant-id=t1', '--remote-write.tenant-header=Content-Type']), /^--remote-write\.tenant-header: invalid value "Content-Type"/);
  const twice = refusal([url, '--remote-write.tenant-id=t1', '--remote-write.header=x-scope-orgid=t2']);
  assert.match(twice, /--remote-write\.header.*--remote-write\.tenant-id/);
  const inFile = writeTemp('tenant.yml', 'remote_write:\n  - url: http://127.0.0.1:9/w\n    tenant-header: THANOS-TENANT\n');
  assert.match(refusal([`--config.file=${inFile}`]), /--remote-write\.tenant-header \(from .*tenant\.yml remote_write\[0\]\.tenant-header\) is set but --remote-write\.tenant-id is not/);
  // The good cases still work.
  assert.equal(load([url, '--remote-write.tenant-id=team-1', '--remote-write.tenant-header=THANOS-TENANT']).config.destinations.remoteWrite[0]!.http.headers, { 'THANOS-TENANT': 'team-1' });
});

values.run();
