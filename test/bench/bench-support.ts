// Shared by the benchmarks and soak runs of test/bench/ (not a benchmark
// itself): reading a process' CPU time and memory from /proc, the machine's
// description, counting samples at the receiver, and stopping everything
// that was started on any way out (error, SIGINT, SIGTERM, a watchdog). The
// fake bridges are in fake-targets.ts, the peers (Prometheus' agent mode,
// vmagent) in peers.ts.

import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------- settings

/** A bench setting: the flag `--<flag>=value` when given, else the environment variable `env`. */
export function setting(env: string, flag: string): string | undefined {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${flag}=`));
  return arg !== undefined ? arg.slice(flag.length + 3) : process.env[env];
}

/** A setting the bench cannot use: says why and exits 2, before anything was started. */
export function badSetting(message: string): never {
  console.error(message);
  process.exit(2);
}

// ---------------------------------------------------------------- /proc

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (`getconf CLK_TCK`, 100 on Linux). */
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
if (!Number.isInteger(CLK_TCK) || CLK_TCK <= 0) throw new Error(`getconf CLK_TCK gave ${CLK_TCK}`);

/**
 * CPU seconds the process has used so far in user space and in the kernel
 * (all threads), from /proc/<pid>/stat fields 14 (utime) and 15 (stime). The
 * command name (field 2) may hold spaces and parentheses, so the fields are
 * counted after its last ')'.
 */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read utime/stime of ${pid}: ${stat}`);
  return { user: utime / CLK_TCK, system: stime / CLK_TCK };
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  return memoryOf(pid).rss;
}

/**
 * Resident memory in bytes from one read of /proc/<pid>/status: VmRSS (all
 * resident pages) and RssAnon (the anonymous ones: heaps, stacks, what the
 * process allocated; not the pages of its executable and libraries, RssFile,
 * nor shared memory, RssShmem). /proc's "kB" are 1024 bytes.
 */
export function memoryOf(pid: number): { rss: number; rssAnon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: field('VmRSS'), rssAnon: field('RssAnon') };
}

// ---------------------------------------------------------------- numbers

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const MiB = 1024 * 1024;

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A plain text table: the first `leftColumns` columns left-aligned, the rest right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: readonly string[]) => c.map((x, i) => (i < leftColumns ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- the machine

export function machineDescription(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux: os.cpus() it is
  }
  let prometheus = 'prometheus not found';
  try {
    prometheus = execFileSync('prometheus', ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().split('\n')[0]!;
  } catch {
    // reported as not found
  }
  let revision = 'unknown';
  try {
    revision = (JSON.parse(readFileSync(join(__dirname, '../../dist/build-info.json'), 'utf8')) as { revision?: string }).revision ?? revision;
  } catch {
    // no build info
  }
  const memGiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024 / 1024;
  return [
    `date:    ${new Date().toISOString()}`,
    `git:     ${gitRevision()}`,
    `machine: ${model}, ${cpus().length} cores, ${memGiB.toFixed(1)} GiB RAM, CLK_TCK ${CLK_TCK}; ${loadAverage()}`,
    `node:    ${process.version}; agent: dist/cli.js (build-info revision ${revision}); ${prometheus}`,
  ].join('\n');
}

/** "load average 1.20 0.90 0.80 (1, 5, 15 min)": what else ran on the machine. */
export function loadAverage(): string {
  return `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min)`;
}

/** The checkout's commit (short hash, date, subject) and whether tracked files had uncommitted changes (then those were measured). */
export function gitRevision(): string {
  try {
    const root = join(__dirname, '..', '..');
    const commit = execFileSync('git', ['-C', root, 'log', '-1', '--format=%h %cI %s'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString().trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString().trim() !== '';
    const [hash, date, ...subject] = commit.split(' ');
    const title = subject.join(' ');
    return `${hash}${dirty ? ' (with uncommitted changes)' : ''}, committed ${date}: ${title.length > 80 ? `${title.slice(0, 77)}...` : title}`;
  } catch {
    return 'unknown (no git)';
  }
}

// ---------------------------------------------------------------- cleanup

type CleanupFn = () => Promise<void> | void;
const cleanups: CleanupFn[] = [];
let cleaning: Promise<void> | undefined;

/** Registers something to undo at the end (run newest first); returns a function that unregisters it. */
export function onCleanup(fn: CleanupFn): () => void {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Runs every registered cleanup once (newest first); errors are logged, never thrown. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      try {
        await fn();
      } catch (error) {
        console.error('cleanup failed:', error);
      }
    }
  })();
  return cleaning;
}

/**
 * Runs `main` with every started process and temporary folder stopped and
 * removed at the end, whichever way it ends: return, throw, SIGINT, SIGTERM,
 * or `limitMs` passing (the watchdog). Sets the exit code: main's, or 1 on an
 * error or the watchdog, 130/143 on a signal.
 */
export function runBounded(name: string, limitMs: number, main: () => Promise<number>): void {
  let finished = false;
  const finish = async (code: number, why?: string) => {
    if (finished) return;
    finished = true;
    if (why) console.error(`${name}: ${why}; stopping everything it started`);
    clearTimeout(watchdog);
    await cleanupAll();
    process.exit(code);
  };
  const watchdog = setTimeout(() => void finish(1, `still running after ${Math.round(limitMs / 1000)} s (the watchdog)`), limitMs);
  process.once('SIGINT', () => void finish(130, 'SIGINT'));
  process.once('SIGTERM', () => void finish(143, 'SIGTERM'));
  main().then(
    (code) => finish(code),
    (error: unknown) => {
      console.error(error);
      void finish(1, 'failed');
    },
  );
}

/** A temporary folder, removed at cleanup. */
export function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------- processes

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Samples with timestamps in the range selector's range, counted here from
 * the raw samples of `selector[range]` evaluated at `timeSec` (seconds since
 * the epoch): in total, and of the series whose name matches `names`. (Not
 * `sum(count_over_time(...))`: count_over_time drops the metric name, and
 * series that differ only by name then make the query fail with "vector
 * cannot contain metrics with the same labelset".) Stale markers are not
 * samples and are not returned.
 */
export async function countSamples(
  receiverUrl: string,
  selector: string,
  range: string,
  timeSec: number,
  names: RegExp,
): Promise<{ matching: number; all: number; series: number }> {
  const promql = `${selector}[${range}]`;
  const url = `${receiverUrl}/api/v1/query?query=${encodeURIComponent(promql)}&time=${timeSec.toFixed(3)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const body = (await res.json()) as { status: string; data?: { result: { metric: Record<string, string>; values: unknown[] }[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
  let matching = 0;
  let all = 0;
  for (const series of body.data!.result) {
    all += series.values.length;
    if (names.test(series.metric['__name__'] ?? '')) matching += series.values.length;
  }
  return { matching, all, series: body.data!.result.length };
}

