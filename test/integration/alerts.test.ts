import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { SEED_FIELDS } from '../../src/sources/colibri/colibri-field-catalog';

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

/** The names of the agent's own metrics, read from the source files that declare them. */
function agentMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const file of ['src/registry/self-metrics.ts', 'src/sinks/remote-write/remote-write-metrics.ts', 'src/sinks/pushgateway/pushgateway-metrics.ts']) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/name: '(jvb_[a-z0-9_]+)'/g)) {
      names.add(match[1]!);
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(match[1]! + suffix);
    }
  }
  return names;
}

/** JVB's native names, from the catalogue beside the project. */
function nativeMetricNames(): Set<string> {
  const text = readFileSync(resolve(ROOT, '..', 'shared', 'reference', 'jvb-native-metrics-catalog.md'), 'utf8');
  return new Set([...text.matchAll(/`(jitsi_jvb_[a-z0-9_]+)`/g)].map((match) => match[1]!));
}

test('every metric the rules read is one the agent produces (self metrics, seed names, native names)', () => {
  const agent = agentMetricNames();
  const native = nativeMetricNames();
  const seed = new Set(Object.keys(SEED_FIELDS).map((key) => `jitsi_${key}`));
  assert.ok(agent.has('jvb_up') && native.has('jitsi_jvb_stress') && seed.has('jitsi_stress_level'), 'the name sources were read');
  const unknown: string[] = [];
  for (const rule of alertingRules()) {
    for (const [name] of rule.expr.matchAll(/\b(?:jvb|jitsi)_[a-z0-9_]+/g)) {
      const known = name.startsWith('jvb_') ? agent.has(name) : name.startsWith('jitsi_jvb_') ? native.has(name) : seed.has(name);
      if (!known) unknown.push(`${rule.alert}: ${name}`);
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
