import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/config/config-error';
import { parseDuration } from '../../src/config/duration';
import { TestCertificates } from '../helpers/test-certificates';
import { loadConfig, type AgentConfig, type ConfigSources } from '../../src/config/load-config';

function run(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}): AgentConfig {
  const sources: ConfigSources = {
    argv,
    env,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return text;
    },
  };
  const request = loadConfig(sources);
  if (request.kind !== 'run') throw new Error(`expected a run request, got ${request.kind}`);
  return request.config;
}

function refused(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}): string {
  try {
    run(argv, env, files);
  } catch (error) {
    assert.instance(error, ConfigError);
    return (error as Error).message;
  }
  assert.unreachable(`expected ${JSON.stringify(argv)} ${JSON.stringify(env)} to be refused`);
  return '';
}

const defaults = suite('config: defaults');
defaults('every setting has the documented default', () => {
  const config = run([]);
  assert.equal(config, {
    bridges: [
      {
        name: hostname(),
        job: 'jvb',
        labels: {},
        intervalMs: 15000,
        source: 'auto',
        url: 'http://localhost:8080/',
        endpoints: [
          { kind: 'native', url: 'http://localhost:8080/metrics' },
          { kind: 'colibri', url: 'http://localhost:8080/colibri/stats' },
        ],
        connection: { headers: {}, tls: { insecureSkipVerify: false } },
        timeoutMs: 5000,
        maxBodyBytes: 16 * 1024 * 1024,
        maxSeries: 20000,
      },
    ],
    poll: { intervalMs: 15000 },
    web: { listenAddress: { host: undefined, port: 9001 }, telemetryPath: '/metrics' },
    labels: {},
    log: { level: 'info', format: 'logfmt' },
    demo: false,
    storage: { path: './data', maxBytes: 512 * 1024 * 1024, maxAgeMs: 2 * 3600 * 1000, flushDeadlineMs: 30000 },
    destinations: { remoteWrite: [], pushgateway: [] },
    configFile: undefined,
  });
});
defaults('--help and --version are requests of their own', () => {
  assert.is(loadConfig({ argv: ['--help'], env: {} }).kind, 'help');
  assert.is(loadConfig({ argv: ['--version'], env: {} }).kind, 'version');
});
defaults.run();

const precedence = suite('config: precedence flag > env > file > default');
const FILE = `
jvb:
  url: http://file.example:8080/colibri/stats
  timeout: 2s
poll:
  interval: 30s
web:
  listen-address: 127.0.0.1:9100
  telemetry-path: /file-metrics
labels:
  dc: file-dc
  rack: r1
log:
  level: debug
  format: json
`;
precedence('the file overrides defaults', () => {
  const config = run(['--config.file', 'a.yml'], {}, { 'a.yml': FILE });
  assert.is(config.bridges[0]!.url, 'http://file.example:8080/colibri/stats');
  assert.is(config.bridges[0]!.timeoutMs, 2000);
  assert.is(config.poll.intervalMs, 30000);
  assert.equal(config.web.listenAddress, { host: '127.0.0.1', port: 9100 });
  assert.is(config.web.telemetryPath, '/file-metrics');
  assert.equal(config.labels, { dc: 'file-dc', rack: 'r1' });
  assert.equal(config.log, { level: 'debug', format: 'json' });
});
precedence('the environment overrides the file; the config file itself may come from the environment', () => {
  const config = run([], { JVB_ADAPTER_CONFIG_FILE: 'a.yml', JVB_ADAPTER_POLL_INTERVAL: '1m', JVB_ADAPTER_LABEL: 'dc=env-dc,zone=z' }, { 'a.yml': FILE });
  assert.is(config.poll.intervalMs, 60000);
  assert.is(config.bridges[0]!.timeoutMs, 2000);
  assert.equal(config.labels, { dc: 'env-dc', rack: 'r1', zone: 'z' });
});
precedence('flags override the environment', () => {
  const config = run(
    ['--config.file=a.yml', '--poll.interval=10s', '--label', 'dc=flag-dc', '--web.listen-address', '[::1]:9200'],
    { JVB_ADAPTER_POLL_INTERVAL: '1m', JVB_ADAPTER_WEB_LISTEN_ADDRESS: ':9300', JVB_ADAPTER_LABEL: 'dc=env-dc' },
    { 'a.yml': FILE },
  );
  assert.is(config.poll.intervalMs, 10000);
  assert.equal(config.web.listenAddress, { host: '::1', port: 9200 });
  assert.equal(config.labels, { dc: 'flag-dc', rack: 'r1' });
});
precedence("the seed's JVB_STATS_URL still works, below the canonical variable", () => {
  assert.is(run([], { JVB_STATS_URL: 'http://seed:8080/colibri/stats' }).bridges[0]!.url, 'http://seed:8080/colibri/stats');
  assert.is(
    run([], { JVB_STATS_URL: 'http://seed:8080/colibri/stats', JVB_ADAPTER_JVB_URL: 'http://new:8080/colibri/stats' }).bridges[0]!.url,
    'http://new:8080/colibri/stats',
  );
  assert.is(run(['--jvb.url=http://flag/colibri/stats'], { JVB_STATS_URL: 'http://seed:8080/x' }).bridges[0]!.url, 'http://flag/colibri/stats');
});
precedence('--demo as a flag and as an environment variable', () => {
  assert.is(run(['--demo']).demo, true);
  assert.is(run([], { JVB_ADAPTER_DEMO: 'true' }).demo, true);
});
precedence.run();

const bad = suite('config: bad values stop the agent with a message naming the setting');
const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
  ['a duration without a unit', ['--poll.interval=15'], {}, /--poll\.interval.*"15".*duration/],
  ['a negative duration', ['--jvb.timeout=-1s'], {}, /--jvb\.timeout.*"-1s"/],
  ['a zero interval', ['--poll.interval=0s'], {}, /--poll\.interval.*positive duration/],
  ['a duration with units out of order', ['--poll.interval=1s1m'], {}, /--poll\.interval/],
  ['a timeout longer than the interval', ['--poll.interval=5s', '--jvb.timeout=10s'], {}, /--jvb\.timeout \(10s, --jvb\.timeout\) must not be longer than the poll interval \(5s\)/],
  ['a URL that is not http', ['--jvb.url=ftp://jvb/colibri/stats'], {}, /--jvb\.url.*"ftp:\/\/jvb\/colibri\/stats".*http/],
  ['a URL that is not a URL', [], { JVB_STATS_URL: 'localhost:8080' }, /--jvb\.url \(from JVB_STATS_URL\)/],
  ['a port out of range', ['--web.listen-address=:70000'], {}, /--web\.listen-address.*":70000".*port 0-65535/],
  ['a listen address without a port', [], { JVB_ADAPTER_WEB_LISTEN_ADDRESS: 'localhost' }, /--web\.listen-address \(from JVB_ADAPTER_WEB_LISTEN_ADDRESS\)/],
  ['a telemetry path without a slash', ['--web.telemetry-path=metrics'], {}, /--web\.telemetry-path.*"metrics"/],
  ['an unknown log level', ['--log.level=verbose'], {}, /--log\.level.*"verbose".*one of debug, info, warn, error/],
  ['an unknown log format', [], { JVB_ADAPTER_LOG_FORMAT: 'xml' }, /--log\.format \(from JVB_ADAPTER_LOG_FORMAT\).*one of logfmt, json/],
  ['a label without =', ['--label=dc'], {}, /--label.*"dc".*NAME=VALUE/],
  ['a label with a reserved name', ['--label=__name__=x'], {}, /--label.*"__name__=x"/],
  ['a label with an invalid name', ['--label=data-center=x'], {}, /--label.*"data-center=x"/],
  ['a label with an empty value', [], { JVB_ADAPTER_LABEL: 'dc=' }, /--label \(from JVB_ADAPTER_LABEL\)/],
  ['the same label twice', ['--label=dc=a', '--label=dc=b'], {}, /label "dc" is given twice in --label/],
  ['an unknown flag', ['--poll.intervall=15s'], {}, /poll\.intervall/],
  ['a flag without its value', ['--jvb.url'], {}, /--jvb\.url/],
  ['a size without a known unit', ['--storage.max-bytes=512MB2'], {}, /--storage\.max-bytes.*"512MB2".*size/],
  ['a zero size', [], { JVB_ADAPTER_STORAGE_MAX_BYTES: '0' }, /--storage\.max-bytes \(from JVB_ADAPTER_STORAGE_MAX_BYTES\)/],
  ['a bad max age', ['--storage.max-age=2 hours'], {}, /--storage\.max-age/],
  ['a remote-write setting without its URL', ['--remote-write.username=u'], {}, /--remote-write\.username is set but --remote-write\.url is not/],
  ['a reserved remote-write header', ['--remote-write.url=http://r/api/v1/write', '--remote-write.header=Content-Type=text/plain'], {}, /Content-Type.*not allowed/],
  ['a password file that does not exist', ['--remote-write.url=http://r/api/v1/write', '--remote-write.username=u', '--remote-write.password-file=/nonexistent/pw'], {}, /cannot read --remote-write\.password-file "\/nonexistent\/pw"/],
  ['a grouping label named instance', ['--pushgateway.url=http://pg:9091', '--pushgateway.grouping=instance=x'], {}, /--pushgateway\.grouping/],
  ['a bad --demo value', [], { JVB_ADAPTER_DEMO: 'yes' }, /--demo \(from JVB_ADAPTER_DEMO\).*true or false/],
];
for (const [what, argv, env, pattern] of cases) {
  bad(what, () => {
    assert.match(refused(argv, env), pattern);
  });
}
bad('a config file that does not exist', () => {
  assert.match(refused(['--config.file=missing.yml']), /cannot read --config\.file "missing\.yml"/);
});
bad('a config file that is not YAML', () => {
  assert.match(refused(['--config.file=a.yml'], {}, { 'a.yml': 'jvb: [unclosed' }), /--config\.file "a\.yml" is not valid YAML/);
});
bad('an unknown key in the config file', () => {
  assert.match(refused(['--config.file=a.yml'], {}, { 'a.yml': 'poll:\n  intervall: 15s\n' }), /--config\.file "a\.yml": unknown setting "poll\.intervall"/);
});
bad('a bad value in the config file names the file', () => {
  assert.match(refused(['--config.file=a.yml'], {}, { 'a.yml': 'poll:\n  interval: soon\n' }), /--poll\.interval \(from a\.yml\).*"soon"/);
});
bad.run();

const durations = suite('config: Prometheus durations');
durations('forms Prometheus accepts', () => {
  assert.is(parseDuration('500ms'), 500);
  assert.is(parseDuration('15s'), 15000);
  assert.is(parseDuration('1m'), 60000);
  assert.is(parseDuration('1h30m'), 5400000);
  assert.is(parseDuration('1d'), 86400000);
  assert.is(parseDuration('0'), 0);
});
durations('forms it refuses', () => {
  for (const text of ['', '15', 's', '1.5s', '1m1h', '1s1s', ' 1s', '1 s', '1sec']) assert.is(parseDuration(text), undefined, text);
});
durations.run();

const storage = suite('config: storage and destinations');
storage('sizes, --storage.in-memory, and a remote-write destination with its defaults', () => {
  const config = run(['--storage.max-bytes=1GiB', '--storage.max-age=30m', '--storage.in-memory', '--remote-write.url=https://mimir.example/api/v1/push', '--remote-write.tenant-id=t1', '--remote-write.instance=b1'], { JVB_ADAPTER_REMOTE_WRITE_PASSWORD: 'x', JVB_ADAPTER_REMOTE_WRITE_USERNAME: 'u' });
  assert.is(config.storage.maxBytes, 1024 ** 3);
  assert.is(config.storage.maxAgeMs, 30 * 60 * 1000);
  assert.is(config.storage.path, undefined);
  const [rw] = config.destinations.remoteWrite;
  assert.is(rw!.name, 'mimir.example');
  assert.is(rw!.job, undefined, "the bridge's job applies");
  assert.is(rw!.instance, 'b1');
  assert.equal(rw!.http.headers, { 'X-Scope-OrgID': 't1' });
  assert.equal(rw!.http.basicAuth, { username: 'u', password: 'x' });
  assert.is(rw!.maxSamplesPerRequest, 2000);
  assert.is(rw!.retryOn429, true);
  assert.is(rw!.http.timeoutMs, 30000);
});
storage('protobuf-message: 1.0 by default; 2.0 from the flag, the environment, or the file (protobuf_message as Prometheus spells it, or protobuf-message); anything else refused', () => {
  const only = (config: AgentConfig) => config.destinations.remoteWrite.map((d) => [d.protobufMessage, d.protobufMessageSetting]);
  assert.equal(only(run(['--remote-write.url=http://a/api/v1/write'])), [['prometheus.WriteRequest', '--remote-write.protobuf-message']]);
  assert.equal(only(run(['--remote-write.url=http://a/api/v1/write', '--remote-write.protobuf-message=io.prometheus.write.v2.Request'])), [['io.prometheus.write.v2.Request', '--remote-write.protobuf-message']]);
  assert.equal(only(run(['--remote-write.url=http://a/api/v1/write'], { JVB_ADAPTER_REMOTE_WRITE_PROTOBUF_MESSAGE: 'io.prometheus.write.v2.request' })), [['io.prometheus.write.v2.Request', '--remote-write.protobuf-message']]);
  const file = 'remote_write:\n  - url: http://a/api/v1/write\n    protobuf_message: io.prometheus.write.v2.Request\n  - url: http://b/api/v1/write\n    protobuf-message: io.prometheus.write.v2.Request\n  - url: http://c/api/v1/write\n';
  assert.equal(only(run(['--config.file=a.yml'], {}, { 'a.yml': file })), [
    ['io.prometheus.write.v2.Request', 'a.yml remote_write[0].protobuf-message'],
    ['io.prometheus.write.v2.Request', 'a.yml remote_write[1].protobuf-message'],
    ['prometheus.WriteRequest', '--remote-write.protobuf-message'],
  ]);
  assert.match(refused(['--remote-write.url=http://a/', '--remote-write.protobuf-message=v2']), /protobuf-message.*one of prometheus\.WriteRequest, io\.prometheus\.write\.v2\.Request/);
});
storage('on-auth-error: hold by default, drop when set; the credential settings are named as given (flag, variable, file place) for the line that says what to fix', () => {
  const only = (config: AgentConfig) => config.destinations.remoteWrite.map((d) => [d.onAuthError, d.credentialSettings]);
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'auth-')), 'token');
  writeFileSync(tokenFile, 'a-token\n');
  assert.equal(only(run(['--remote-write.url=http://a/api/v1/write'])), [['hold', []]]);
  assert.equal(only(run(['--remote-write.url=http://a/api/v1/write', '--remote-write.on-auth-error=drop', `--remote-write.bearer-token-file=${tokenFile}`])), [['drop', ['--remote-write.bearer-token-file']]]);
  assert.equal(only(run(['--remote-write.url=http://a/api/v1/write', '--remote-write.username=u'], { JVB_ADAPTER_REMOTE_WRITE_PASSWORD: 'x' })), [['hold', ['--remote-write.username', 'JVB_ADAPTER_REMOTE_WRITE_PASSWORD']]]);
  const file = `remote_write:\n  - url: http://a/api/v1/write\n    on-auth-error: DROP\n    username: u\n    password-file: ${tokenFile}\n`;
  assert.equal(only(run(['--config.file=a.yml'], {}, { 'a.yml': file })), [['drop', ['a.yml remote_write[0].username', 'a.yml remote_write[0].password-file']]]);
  assert.match(refused(['--remote-write.url=http://a/', '--remote-write.on-auth-error=retry']), /on-auth-error.*one of hold, drop/);
});
storage('the file takes lists of destinations; flags add one more', () => {
  const file = `remote_write:
  - url: http://a/api/v1/write
    name: a
    tenant-header: THANOS-TENANT
    tenant-id: jitsi
    tls:
      insecure-skip-verify: true
  - url: http://b/api/v1/write
    header:
      X-Team: video
pushgateway:
  - url: http://pg:9091
    instance: jvb-1
    grouping: {region: eu}
`;
  const config = run(['--config.file=a.yml', '--remote-write.url=http://c/api/v1/write'], {}, { 'a.yml': file });
  assert.equal(config.destinations.remoteWrite.map((d) => d.name), ['a', 'b', 'c']);
  assert.equal(config.destinations.remoteWrite[0]!.http.headers, { 'THANOS-TENANT': 'jitsi' });
  assert.is(config.destinations.remoteWrite[0]!.http.tls.insecureSkipVerify, true);
  assert.equal(config.destinations.remoteWrite[1]!.http.headers, { 'X-Team': 'video' });
  assert.is(config.destinations.pushgateway[0]!.instance, 'jvb-1');
  assert.equal(config.destinations.pushgateway[0]!.grouping, [['region', 'eu']]);
  assert.is(config.destinations.pushgateway[0]!.job, undefined, "the bridge's job applies");
});
storage('an unknown key inside a destination of the file is refused', () => {
  assert.match(refused(['--config.file=a.yml'], {}, { 'a.yml': 'remote_write:\n  - url: http://a/\n    pasword-file: x\n' }), /unknown setting "remote_write\[0\]\.pasword-file"/);
});
storage.run();

const secrets = suite('config: credentials in URL flags');
secrets('a URL flag carrying user:password@ or a secret query parameter is warned about (ps shows it), without the secret; the environment is not', () => {
  const warnings = (argv: string[], env: Record<string, string> = {}): readonly string[] => {
    const request = loadConfig({ argv, env });
    if (request.kind !== 'run') throw new Error(request.kind);
    return request.warnings;
  };
  const flagged = warnings(['--remote-write.url=https://123:s3cr3tPW@mimir.example/api/v1/push', '--jvb.url=http://jvb1:8080?api_key=k3yK3y', '--pushgateway.url=http://pg:9091/?auth_token=t0k3n']);
  assert.is(flagged.length, 3, flagged.join('\n'));
  assert.match(flagged.join('\n'), /--remote-write\.url carries credentials \(user:password@\) on the command line.*JVB_ADAPTER_REMOTE_WRITE_URL.*--remote-write\.password-file/);
  assert.match(flagged.join('\n'), /--jvb\.url carries credentials \(the query parameter "api_key"\)/);
  assert.match(flagged.join('\n'), /--pushgateway\.url carries credentials \(the query parameter "auth_token"\)/);
  for (const secret of ['s3cr3tPW', 'k3yK3y', 't0k3n']) assert.not.match(flagged.join('\n'), secret);
  assert.equal(warnings([], { JVB_ADAPTER_REMOTE_WRITE_URL: 'https://123:s3cr3tPW@mimir.example/api/v1/push' }), []);
  assert.equal(warnings(['--remote-write.url=https://mimir.example/api/v1/push?tenant=t1']), []);
});
secrets.run();

const bridges = suite('config: bridges');
bridges('--poll.interval=1s alone starts: the timeout defaults to the smaller of 5s and the interval', () => {
  const [bridge] = run(['--poll.interval=1s']).bridges;
  assert.is(bridge!.timeoutMs, 1000);
  assert.is(bridge!.intervalMs, 1000);
  assert.is(run(['--poll.interval=30s']).bridges[0]!.timeoutMs, 5000);
});
bridges('an explicit timeout longer than the interval is refused, one equal to it is not', () => {
  assert.match(refused(['--poll.interval=1s', '--jvb.timeout=2s']), /--jvb\.timeout \(2s, --jvb\.timeout\) must not be longer than the poll interval \(1s\)/);
  assert.is(run(['--poll.interval=1s', '--jvb.timeout=1s']).bridges[0]!.timeoutMs, 1000);
});
bridges('--jvb.url repeated: one bridge each, sharing the other settings; local ones named host:port', () => {
  const list = run(['--jvb.url=http://127.0.0.1:8080', '--jvb.url=http://localhost:8081/metrics', '--jvb.url=https://jvb3.example/colibri/stats', '--jvb.job=video']).bridges;
  assert.equal(list.map((b) => b.name), [`${hostname()}:8080`, `${hostname()}:8081`, 'jvb3.example']);
  assert.equal(list.map((b) => b.job), ['video', 'video', 'video']);
  assert.equal(run([], { JVB_ADAPTER_JVB_URL: 'http://a:1,http://b:2' }).bridges.map((b) => b.name), ['a:1', 'b:2']);
});
bridges("the fleet example of README loads as it reads", () => {
  const readme = readFileSync(resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  const certificates = new TestCertificates();
  const ca = certificates.file('ca.crt');
  const example = /A fleet, with a Jicofo:\n\n```yaml\n([\s\S]*?)```/.exec(readme)![1]!.replace('/etc/ssl/internal-ca.pem', ca);
  let list: AgentConfig['bridges'];
  try {
    list = run(['--config.file=fleet.yml'], {}, { 'fleet.yml': example }).bridges;
  } finally {
    certificates.remove();
  }
  assert.equal(list.map((b) => [b.name, b.job, b.intervalMs]), [['jvb1', 'jvb', 15000], ['jvb2', 'jvb', 15000], ['old-jvb', 'jvb', 30000], ['jicofo1', 'jicofo', 15000]]);
  assert.equal(list[0]!.labels, { region: 'eu-west' });
  assert.ok(list.every((b) => b.connection.tls.caFile === ca), 'the jvb: section is inherited by every bridge');
});
bridges('flags and the file list add up; a list entry wins over the shared settings', () => {
  const file = 'jvb:\n  timeout: 2s\nbridges:\n  - url: http://a:8080\n    name: a\n  - url: http://b:8080\n    timeout: 3s\n';
  const list = run(['--config.file=f.yml', '--jvb.url=http://c:8080'], {}, { 'f.yml': file }).bridges;
  assert.equal(list.map((b) => [b.name, b.timeoutMs]), [['c:8080', 2000], ['a', 2000], ['b:8080', 3000]]);
});
bridges('mistakes in bridges stop the agent with a message naming the setting', () => {
  assert.match(refused(['--jvb.url=http://a:1', '--jvb.url=http://b:2', '--jvb.name=x']), /--jvb\.name names one bridge, but --jvb\.url gives 2 URLs/);
  assert.match(refused(['--config.file=f.yml'], {}, { 'f.yml': 'bridges:\n  - {url: "http://a:1", name: x}\n  - {url: "http://b:1", name: x}\n' }), /two bridges are named "x"/);
  assert.match(refused(['--jvb.url=http://a:1/colibri/stats', '--jvb.source=native']), /--jvb\.source.*\/colibri\/stats endpoint, but the source is "native"/);
  assert.match(refused(['--jvb.source=json']), /--jvb\.source.*"json"/);
  assert.match(refused(['--jvb.url=http://a:1', '--jvb.url=http://b:1', '--remote-write.url=http://rw/api/v1/write', '--remote-write.instance=i']), /--remote-write\.instance sets one instance for all 2 bridges/);
  assert.match(refused(['--config.file=f.yml'], {}, { 'f.yml': 'bridges:\n  - {url: "http://a:1", lables: {a: b}}\n' }), /unknown setting "bridges\[0\]\.lables"/);
  assert.match(refused(['--jvb.label=instance=x']), /--jvb\.label.*"instance=x"/);
});
bridges('a storage folder under /proc, /sys or /dev is refused (a mkdir there can hang or write into the kernel)', () => {
  for (const path of ['/proc/self/jvb', '/sys/x', '/dev/shm/../../proc/y']) {
    assert.match(refused([`--storage.path=${path}`]), /--storage\.path.*not under \/proc, \/sys or \/dev/, path);
  }
  assert.is(run(['--storage.path=/var/lib/jvb-adapter']).storage.path, '/var/lib/jvb-adapter');
});
bridges.run();
