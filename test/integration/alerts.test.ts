import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { AgentProcess } from '../helpers/agent-process';
import { eventually } from '../helpers/eventually';
import { FakeBridge } from '../helpers/fake-bridge';
import { jsonFixtureNames } from '../helpers/fixtures';
import { parseExposition } from '../helpers/parse-exposition';
import { ScriptedReceiver } from '../helpers/scripted-receiver';

/**
 * The alerting rules in alerts/: promtool accepts them, their own unit tests
 * pass, every alert is tested both firing and quiet, and every metric they
 * read is one the agent (or JVB through it) really produces.
 */

const test = suite('alerts/jvb.rules.yml: promtool check, promtool unit tests, coverage');

const ROOT = resolve(__dirname, '..', '..');
const RULES = join(ROOT, 'alerts', 'jvb.rules.yml');
const RULE_TESTS = join(ROOT, 'alerts', 'jvb.rules.test.yml');
const PROMTOOL = '/usr/bin/promtool';

interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RulesFile {
  groups: Array<{ name: string; rules: Array<AlertingRule | { record: string; expr: string }> }>;
}
interface ExpectedAlert {
  exp_labels?: Record<string, string>;
  exp_annotations?: Record<string, string>;
}
interface RuleTestsFile {
  rule_files: string[];
  tests: Array<{ name?: string; alert_rule_test?: Array<{ eval_time: string; alertname: string; exp_alerts?: ExpectedAlert[] | null }> }>;
}

function alertingRules(): AlertingRule[] {
  const file = parse(readFileSync(RULES, 'utf8')) as RulesFile;
  return file.groups.flatMap((group) => group.rules).filter((rule): rule is AlertingRule => 'alert' in rule);
}

/** Runs promtool (bounded: 60 s) from the project folder; exit code and output. */
function promtool(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(PROMTOOL, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw new Error(`could not run ${PROMTOOL} ${args.join(' ')}: ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('promtool check rules alerts/jvb.rules.yml exits 0', () => {
  const { status, output } = promtool(['check', 'rules', 'alerts/jvb.rules.yml']);
  assert.is(status, 0, `promtool check rules failed:\n${output}`);
  assert.match(output, /SUCCESS: \d+ rules found/);
  assert.not.match(output, /warning/i, `promtool warned:\n${output}`);
});

test('promtool test rules alerts/jvb.rules.test.yml exits 0', () => {
  const { status, output } = promtool(['test', 'rules', 'alerts/jvb.rules.test.yml']);
  assert.is(status, 0, `promtool test rules failed:\n${output}`);
  assert.match(output, /SUCCESS/);
});

test('every alert has a for:, a severity and a summary and description naming {{ $labels.instance }}', () => {
  const rules = alertingRules();
  assert.ok(rules.length >= 10, `only ${rules.length} alerts`);
  const names = rules.map((rule) => rule.alert);
  assert.equal([...new Set(names)], names, 'alert names are unique');
  for (const rule of rules) {
    assert.type(rule.for, 'string', `${rule.alert} has no for:`);
    assert.match(rule.for!, /^\d+[smh]$/, `${rule.alert}: for: ${rule.for}`);
    assert.ok(['critical', 'warning', 'info'].includes(rule.labels?.['severity'] ?? ''), `${rule.alert}: severity ${rule.labels?.['severity']}`);
    for (const key of ['summary', 'description']) {
      const text = rule.annotations?.[key];
      assert.type(text, 'string', `${rule.alert} has no ${key}`);
      assert.ok(text!.trim().length > 0, `${rule.alert}: empty ${key}`);
    }
    assert.match(rule.annotations!['description']!, /\{\{ \$labels\.instance \}\}/, `${rule.alert}: the description does not name the instance`);
  }
});

test('the rules cover what was asked: down, no data, stress, ICE, push failures, backlog, drops, queue bounds', () => {
  const exprs = new Map(alertingRules().map((rule) => [rule.alert, rule.expr]));
  const all = [...exprs.values()].join('\n');
  // both namings where a JVB quantity is read
  for (const pair of [
    ['jitsi_stress_level', 'jitsi_jvb_stress'],
    ['jitsi_total_ice_failed', 'jitsi_jvb_ice_failed_total'],
  ]) {
    const rule = [...exprs.entries()].find(([, expr]) => expr.includes(pair[0]!));
    assert.ok(rule, `no alert reads ${pair[0]}`);
    assert.ok(rule![1].includes(pair[1]!), `${rule![0]} reads ${pair[0]} but not its native twin ${pair[1]}`);
  }
  for (const needle of [
    'jvb_up == 0',
    'jvb_last_successful_poll_timestamp_seconds',
    'jvb_remote_write_samples_failed_total',
    'jvb_pushgateway_pushes_total{result="failed"}',
    'jvb_remote_write_samples_pending',
    'increase(jvb_remote_write_samples_dropped_total',
    'jvb_remote_write_queue_bytes',
  ]) {
    assert.ok(all.includes(needle), `no alert reads ${needle}`);
  }
});

/**
 * Every metric name a text (0.0.4) exposition offers to PromQL: the names of
 * its samples, and those of every family it declares (`# TYPE`), so that a
 * labelled metric with no series yet (a counter by reason before the first
 * failure) counts too. In 0.0.4 a gauge's, counter's or untyped family's
 * samples bear the family's name as it is (a counter's `_total`, when it
 * has one, is part of it; nothing is appended); a histogram's are
 * `_bucket`/`_sum`/`_count`, a summary's the name and `_sum`/`_count`.
 */
function exposedNames(text: string): Set<string> {
  const exposition = parseExposition(text);
  const names = new Set(exposition.samples.map((sample) => sample.name));
  for (const [family, type] of exposition.type) {
    const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
    for (const suffix of suffixes) names.add(family + suffix);
  }
  return names;
}

/**
 * The metric names the built agent serves on its /metrics once it has
 * polled, with every kind of metric it has: one bridge serving JVB's native
 * /metrics (the jitsi_jvb_* names), one serving each /colibri/stats capture
 * (the seed's jitsi_* names), the per-bridge jvb_* metrics, and a
 * remote-write and a Pushgateway destination (their jvb_remote_write_* and
 * jvb_pushgateway_* metrics exist only when such a destination is set).
 */
async function namesTheAgentServes(): Promise<Set<string>> {
  const native = new FakeBridge({ metrics: true });
  const colibri = jsonFixtureNames().map((capture) => new FakeBridge({ metrics: false, colibri: capture }));
  const bridges = [native, ...colibri];
  const receiver = new ScriptedReceiver();
  let agent: AgentProcess | undefined;
  try {
    for (const bridge of bridges) await bridge.start();
    await receiver.start();
    agent = AgentProcess.spawn([
      `--jvb.url=${native.metricsUrl}`,
      ...colibri.map((bridge) => `--jvb.url=${bridge.colibriUrl}`),
      '--poll.interval=1s',
      '--jvb.timeout=900ms',
      '--web.listen-address=127.0.0.1:0',
      `--remote-write.url=${receiver.url}/api/v1/write`,
      `--pushgateway.url=${receiver.url}`,
    ]);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void agent.exited.then((result) => (exit = result));
    const running = agent;
    const watched = { gone: () => (exit === undefined ? undefined : `the agent exited (${JSON.stringify(exit)})`), log: () => running.lines.join('\n') };
    const port = await agent.metricsPort();
    return await eventually(
      'a successful poll of every bridge on the agent /metrics',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
        const contentType = res.headers.get('content-type') ?? '';
        if (!/^text\/plain; version=0\.0\.4/.test(contentType)) throw new Error(`the agent served ${contentType}, not the text format 0.0.4 these names are derived for`);
        const text = await res.text();
        const up = parseExposition(text).samples.filter((sample) => sample.name === 'jvb_up');
        return up.length === bridges.length && up.every((sample) => sample.value === 1) ? exposedNames(text) : undefined;
      },
      watched,
      20_000,
      200,
    );
  } finally {
    await agent?.stop();
    await receiver.stop();
    for (const bridge of bridges) await bridge.stop();
  }
}

test('every metric the rules read is one the agent produces (self metrics, seed names, native names)', async () => {
  const served = await namesTheAgentServes();
  assert.ok(served.has('jvb_up') && served.has('jitsi_jvb_stress') && served.has('jitsi_stress_level'), 'the name sources were read');
  const unknown: string[] = [];
  for (const rule of alertingRules()) {
    for (const [name] of rule.expr.matchAll(/\b(?:jvb|jitsi)_[a-z0-9_]+/g)) {
      if (!served.has(name)) unknown.push(`${rule.alert}: ${name}`);
    }
  }
  assert.equal(unknown, [], `metrics the agent does not produce:\n${unknown.join('\n')}`);
});

test('every alert has a unit test where it fires (with labels and annotations) and one where it does not', () => {
  const tests = parse(readFileSync(RULE_TESTS, 'utf8')) as RuleTestsFile;
  assert.equal(tests.rule_files, ['jvb.rules.yml']);
  const cases = tests.tests.flatMap((group) => group.alert_rule_test ?? []);
  const problems: string[] = [];
  for (const rule of alertingRules()) {
    const mine = cases.filter((c) => c.alertname === rule.alert);
    const firing = mine.filter((c) => (c.exp_alerts ?? []).length > 0);
    const quiet = mine.filter((c) => (c.exp_alerts ?? []).length === 0);
    if (firing.length === 0) problems.push(`${rule.alert}: no case where it fires`);
    if (quiet.length === 0) problems.push(`${rule.alert}: no case where it stays quiet`);
    for (const c of firing) {
      for (const expected of c.exp_alerts!) {
        const labels = expected.exp_labels ?? {};
        const annotations = expected.exp_annotations ?? {};
        if (labels['severity'] !== rule.labels?.['severity']) problems.push(`${rule.alert} at ${c.eval_time}: exp_labels.severity is ${labels['severity']}`);
        if (!labels['instance']) problems.push(`${rule.alert} at ${c.eval_time}: exp_labels has no instance`);
        if (!annotations['summary'] || !annotations['description']) problems.push(`${rule.alert} at ${c.eval_time}: exp_annotations lacks summary or description`);
        else if (!annotations['description'].includes(labels['instance'] ?? '\u0000')) problems.push(`${rule.alert} at ${c.eval_time}: the description does not name ${labels['instance']}`);
      }
    }
  }
  const known = new Set(alertingRules().map((rule) => rule.alert));
  for (const c of cases) if (!known.has(c.alertname)) problems.push(`a test case names an unknown alert ${c.alertname}`);
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
