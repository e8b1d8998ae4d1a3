// One contestant at one size (test/bench/agent-vs-prometheus.bench.ts): a
// warm-up, then a window of fixed length, what the process cost in it, and
// whether every sample of the window reached the receiver.
//
// Windows are taken per bridge, so that no poll can fall on a boundary: a
// bridge's window starts half an interval after the first request the fake
// bridge answered once the warm-up was over, and lasts the window's length
// (W). Every bridge's window thus holds the same number of polls, W /
// interval, whatever phase the contestant polls that bridge at (the peers
// spread their targets over the interval). The sample timestamp of a poll is
// taken when it starts, a few ms before the fake sees the request; the
// smallest distance between a request and a boundary of its bridge's window
// is printed as "margin".
//
// CPU time and memory are read over one window of the same length W (from
// the earliest bridge window's start, or now if that has passed): the work is
// periodic, so any stretch of W holds the same work as the bridge windows.
//
//   polls     requests the fake bridges answered inside their windows (arrival time in (start, end])
//   expected  series x polls
//   received  samples of the bench series with timestamps in their bridge's window at the receiver:
//             the raw samples of {job="J"[,instance="I"]}[<W - 1ms>] evaluated at the window's end,
//             counted per series name here (Prometheus 2.x range selectors include both ends, so
//             W - 1 ms is (start, end] for millisecond timestamps; sum(count_over_time(...)) cannot be
//             used: it drops the names, and series differing only by name then collide), one query
//             per bridge, repeated after the window until it equals `expected` or 30 s pass
//             (Prometheus' queue waits up to 5 s to fill a batch)
//   all       the same for every series of the job (our agent's own metrics on a single bridge,
//             the peers' up and scrape_* series)
//   CPU       utime + stime of the process (all threads) from /proc/<pid>/stat, at the window's
//             start and end; user = utime, sys = stime (time in the kernel: sockets, files, page faults)
//   RSS       VmRSS and RssAnon of /proc/<pid>/status, read every second in the window

import { countSamples, cpuTimes, median, memoryOf, sleep } from './bench-support';
import { instanceOf, jobOf, nameRegexOf, pathOf, type Running, type Scenario, type Who } from './contestants';
import type { FakeFleet } from './fake-targets';

export interface Result {
  readonly scenario: Scenario;
  readonly who: Who;
  readonly polls: number;
  readonly expected: number;
  readonly received: number;
  readonly all: number;
  /** Bridges some of whose samples did not arrive. */
  readonly bridgesShort: number;
  readonly userMs: number;
  readonly sysMs: number;
  readonly windowMs: number;
  readonly rssMedian: number;
  readonly rssMax: number;
  readonly rssAnonMedian: number;
  readonly rssAnonMax: number;
  readonly marginMs: number;
  /** When samples are missing: the contestant's last log lines saying error or warn, for the why. */
  readonly logHints: readonly string[];
}

export const cpuMsOf = (r: Result): number => r.userMs + r.sysMs;
export const cpuPer1k = (r: Result): number => (r.received > 0 ? cpuMsOf(r) / (r.received / 1000) : NaN);

async function waitUntil(at: number): Promise<void> {
  const wait = at - Date.now();
  if (wait > 0) await sleep(wait);
}

/** Runs `items` through `fn`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The last few lines of a log that say error or warn (logfmt's level=, vmagent's tab-separated level, Prometheus' level=). */
function logHints(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => /level=(error|warn)|\t(error|warn)\t/i.test(line))
    .slice(-5)
    .map((line) => (line.length > 300 ? `${line.slice(0, 297)}...` : line));
}

export async function measure(
  who: Who,
  s: Scenario,
  fleet: FakeFleet,
  receiverUrl: string,
  timing: { readonly warmupS: number; readonly windowS: number },
  start: () => Promise<Running>,
): Promise<Result> {
  const interval = s.intervalMs;
  const path = pathOf(who);
  const job = jobOf(who, s);
  fleet.reset();
  const proc = await start();
  const assertAlive = (when: string) => {
    if (!proc.alive()) throw new Error(`${who} exited ${when}:\n${proc.log()}`);
  };
  try {
    await sleep(timing.warmupS * 1000);
    assertAlive('during the warm-up');

    // Each bridge's window starts half an interval after its first request answered after the warm-up.
    const warmEnd = Date.now();
    const firstDeadline = warmEnd + 10 * interval;
    const firsts: (number | undefined)[] = fleet.targets.map(() => undefined);
    for (;;) {
      fleet.targets.forEach((t, k) => (firsts[k] ??= t.times(path).find((at) => at > warmEnd)));
      const waiting = firsts.filter((at) => at === undefined).length;
      if (waiting === 0) break;
      if (Date.now() > firstDeadline) throw new Error(`${who}: ${waiting} of ${fleet.bridges} bridge(s) not polled within ${10 * interval} ms after the warm-up\n${proc.log()}`);
      await sleep(20);
    }
    const windowMs = timing.windowS * 1000;
    const starts = firsts.map((at) => at! + interval / 2);
    const ends = starts.map((at) => at + windowMs);

    const measureStart = Math.max(Math.min(...starts), Date.now() + 1);
    await waitUntil(measureStart);
    const cpu0 = cpuTimes(proc.pid);
    const t0 = performance.now();
    const memory = [memoryOf(proc.pid)];
    const sampler = setInterval(() => {
      if (proc.alive()) memory.push(memoryOf(proc.pid));
    }, 1000);
    try {
      await waitUntil(measureStart + windowMs);
    } finally {
      clearInterval(sampler);
    }
    assertAlive('during the window');
    const cpu1 = cpuTimes(proc.pid);
    const measuredMs = performance.now() - t0;
    memory.push(memoryOf(proc.pid));

    // Every bridge's window over, and the request just after each end arrived too (for the margin).
    await waitUntil(Math.max(...ends) + interval);
    const perBridge = fleet.targets.map((t, k) => {
      const times = t.times(path);
      const [from, to] = [starts[k]!, ends[k]!];
      const polls = times.filter((at) => at > from && at <= to).length;
      const near = times.filter((at) => at > from - interval && at <= to + interval).map((at) => Math.min(Math.abs(at - from), Math.abs(at - to)));
      return {
        selector: s.fleet ? `{job="${job}",instance="${instanceOf(t)}"}` : `{job="${job}"}`,
        end: to,
        polls,
        expected: polls * s.series,
        margin: Math.min(...near),
        matching: 0,
        all: 0,
      };
    });

    const range = `${windowMs - 1}ms`;
    const names = new RegExp(`^${nameRegexOf(who)}$`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const short = perBridge.filter((b) => b.matching < b.expected);
      await pool(short, 4, async (b) => {
        const counted = await countSamples(receiverUrl, b.selector, range, b.end / 1000, names);
        b.matching = counted.matching;
        b.all = counted.all;
      });
      if (perBridge.every((b) => b.matching >= b.expected) || Date.now() > deadline) break;
      await sleep(1000);
    }
    const sum = (f: (b: (typeof perBridge)[number]) => number) => perBridge.reduce((total, b) => total + f(b), 0);
    return {
      scenario: s,
      who,
      polls: sum((b) => b.polls),
      expected: sum((b) => b.expected),
      received: sum((b) => b.matching),
      all: sum((b) => b.all),
      bridgesShort: perBridge.filter((b) => b.matching < b.expected).length,
      userMs: (cpu1.user - cpu0.user) * 1000,
      sysMs: (cpu1.system - cpu0.system) * 1000,
      windowMs: measuredMs,
      rssMedian: median(memory.map((m) => m.rss)),
      rssMax: Math.max(...memory.map((m) => m.rss)),
      rssAnonMedian: median(memory.map((m) => m.rssAnon)),
      rssAnonMax: Math.max(...memory.map((m) => m.rssAnon)),
      marginMs: Math.min(...perBridge.map((b) => b.margin)),
      logHints: perBridge.some((b) => b.matching !== b.expected) ? logHints(proc.log()) : [],
    };
  } finally {
    await proc.stop();
  }
}
