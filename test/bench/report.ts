// The printed results of test/bench/agent-vs-prometheus.bench.ts: one table
// of every run, with each run's ratios against the cheapest peer at its
// size, then the memory each contestant takes per series.

import { fmt, MiB, table } from './bench-support';
import { PEERS, SHORT_NAME, type Scenario } from './contestants';
import { cpuMsOf, cpuPer1k, type Result } from './measure';

/** "all", or a MISSING (or EXTRA) count that cannot be overlooked. */
export function delivery(r: Result): string {
  if (r.received === r.expected) return 'all';
  if (r.received < r.expected) return `MISSING ${fmt(r.expected - r.received)}${r.scenario.fleet ? ` (${r.bridgesShort} bridges)` : ''}`;
  return `EXTRA ${fmt(r.received - r.expected)}`;
}

/** `value` against the smallest of `of` over the peers run at r's size: "1.23x vmagent"; "-" when no peer ran. */
function versusCheapestPeer(r: Result, results: readonly Result[], of: (x: Result) => number): string {
  const peers = results.filter((x) => x.scenario === r.scenario && PEERS.includes(x.who) && Number.isFinite(of(x)) && of(x) > 0);
  if (peers.length === 0 || !Number.isFinite(of(r))) return '-';
  const best = peers.reduce((a, b) => (of(b) < of(a) ? b : a));
  return `${(of(r) / of(best)).toFixed(2)}x ${SHORT_NAME[best.who]}`;
}

export const HEADER = [
  'size',
  'who',
  'polls',
  'expected',
  'received',
  'delivered',
  'CPU-ms',
  'user',
  'sys',
  'CPU %',
  'CPU-ms/1k',
  'RSS med',
  'RSS max',
  'RssAnon med',
  'CPU/1k vs peer',
  'RSS vs peer',
  'RssAnon vs peer',
  'margin ms',
];

export function row(r: Result, results: readonly Result[]): string[] {
  return [
    r.scenario.label,
    r.who,
    fmt(r.polls),
    fmt(r.expected),
    fmt(r.received),
    delivery(r),
    fmt(cpuMsOf(r)),
    fmt(r.userMs),
    fmt(r.sysMs),
    fmt((cpuMsOf(r) / r.windowMs) * 100, 1),
    fmt(cpuPer1k(r), 2),
    fmt(r.rssMedian / MiB, 1),
    fmt(r.rssMax / MiB, 1),
    fmt(r.rssAnonMedian / MiB, 1),
    versusCheapestPeer(r, results, cpuPer1k),
    versusCheapestPeer(r, results, (x) => x.rssMedian),
    versusCheapestPeer(r, results, (x) => x.rssAnonMedian),
    fmt(r.marginMs),
  ];
}

/** One line per run, printed as it finishes. */
export function progressLine(r: Result, results: readonly Result[]): string {
  const cells = row(r, results);
  const flags: string[] = [];
  if (r.received !== r.expected) flags.push(delivery(r));
  if (r.marginMs < 100) flags.push(`a poll within ${fmt(r.marginMs)} ms of a window boundary`);
  const keep = ['polls', 'expected', 'received', 'CPU-ms', 'sys', 'CPU-ms/1k', 'RSS med', 'RssAnon med', 'margin ms'];
  const line = `  ${r.who.padEnd(12)} ${HEADER.map((h, i) => (keep.includes(h) ? `${h.replace(/ /g, '_')}=${cells[i]}` : '')).filter((x) => x !== '').join(' ')} all=${fmt(r.all)}${flags.length ? `   <- ${flags.join('; ')}` : ''}`;
  return [line, ...r.logHints.map((hint) => `      ${r.who} log: ${hint.trim()}`)].join('\n');
}

export function resultsTable(results: readonly Result[]): string {
  return table(HEADER, results.map((r) => row(r, results)), 2);
}

/**
 * Memory per series, as issue 19 defines it: (RssAnon at the largest single-
 * bridge size - RssAnon at the smallest) / the difference in series, in KiB
 * (/proc's kB) per series, for every contestant run at both; and the same
 * from the smallest size to the fleet (all its bridges' series together).
 */
export function memoryPerSeries(results: readonly Result[], scenarios: readonly Scenario[]): string | undefined {
  const singles = scenarios.filter((s) => !s.fleet).sort((a, b) => a.series - b.series);
  const fleet = scenarios.find((s) => s.fleet);
  if (singles.length < 2 && !(singles.length >= 1 && fleet)) return undefined;
  const small = singles[0]!;
  const large = singles.length >= 2 ? singles[singles.length - 1]! : undefined;
  const anon = (who: string, s: Scenario | undefined) => results.find((r) => r.who === who && r.scenario === s)?.rssAnonMedian;
  const perSeries = (who: string, s: Scenario | undefined, series: number) => {
    const a = anon(who, small);
    const b = anon(who, s);
    return a === undefined || b === undefined ? NaN : (b - a) / 1024 / (series - small.series);
  };
  const whos = [...new Set(results.map((r) => r.who))];
  const kib = (n: number) => (Number.isFinite(n) ? fmt(n, 2) : '-');
  const mib = (n: number | undefined) => (n === undefined ? '-' : fmt(n / MiB, 1));
  const bestPeer = (f: (who: string) => number) => {
    const values = whos.filter((w) => PEERS.includes(w as never)).map((w) => ({ w, v: f(w) })).filter((x) => Number.isFinite(x.v) && x.v > 0);
    return values.length === 0 ? undefined : values.reduce((a, b) => (b.v < a.v ? b : a));
  };
  const versus = (v: number, best: { w: string; v: number } | undefined) => (best === undefined || !Number.isFinite(v) ? '-' : `${(v / best.v).toFixed(2)}x ${SHORT_NAME[best.w as never]}`);
  const fleetSeries = fleet ? fleet.bridges * fleet.series : 0;
  const toLarge = (w: string) => (large ? perSeries(w, large, large.series) : NaN);
  const toFleet = (w: string) => (fleet ? perSeries(w, fleet, fleetSeries) : NaN);
  const bestLarge = bestPeer(toLarge);
  const bestFleet = bestPeer(toFleet);
  const header = [
    'who',
    `RssAnon MiB at ${small.label}`,
    ...(large ? [`at ${large.label}`, `KiB/series ${small.label} -> ${large.label}`, 'vs peer'] : []),
    ...(fleet ? [`at ${fleet.label}`, `KiB/series ${small.label} -> fleet (${fmt(fleetSeries)})`, 'vs peer'] : []),
  ];
  const rows = whos.map((w) => [
    w,
    mib(anon(w, small)),
    ...(large ? [mib(anon(w, large)), kib(toLarge(w)), versus(toLarge(w), bestLarge)] : []),
    ...(fleet ? [mib(anon(w, fleet)), kib(toFleet(w)), versus(toFleet(w), bestFleet)] : []),
  ]);
  return table(header, rows, 1);
}
