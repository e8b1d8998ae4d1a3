// Summarises V8 .cpuprofile files (from `node --cpu-prof`, e.g. the ones
// `BENCH_CPU_PROF=<dir> npx tsx test/bench/agent-vs-prometheus.bench.ts`
// writes for our agent): where the time went, by function (self and total,
// i.e. including callees) and by module (src/ file, npm package, node
// internals, GC, idle).
//
//   npx tsx test/bench/cpuprofile-top.ts <file.cpuprofile | dir> [--top=25] [--from=SECONDS]
//
// --from skips the first SECONDS of each profile (start-up, the first polls).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function files(target: string): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return (readdirSync(target, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(target, f));
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

function moduleOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native/builtin)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return shortUrl(url);
}

function summarise(path: string, top: number, fromSec: number): void {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  let t = p.startTime;
  let sum = 0;
  const from = p.startTime + fromSec * 1e6;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // ms attributed to sample i, as DevTools does
    if (t < from) continue;
    sum += dt;
    const leaf = byId.get(p.samples[i]!)!;
    const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    self.set(key(leaf), (self.get(key(leaf)) ?? 0) + dt);
    modules.set(moduleOf(leaf.callFrame), (modules.get(moduleOf(leaf.callFrame)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const k = key(byId.get(id)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  }
  const busy = sum - (self.get('(idle)  ') ?? 0);
  const pct = (ms: number) => `${((ms / sum) * 100).toFixed(1).padStart(5)}%`;
  const list = (m: Map<string, number>, n: number, skip: (k: string) => boolean = () => false) =>
    [...m.entries()]
      .filter(([k]) => !skip(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `  ${ms.toFixed(0).padStart(7)} ms ${pct(ms)}  ${k}`)
      .join('\n');
  console.log(`\n== ${path}`);
  console.log(`profiled ${(sum / 1000).toFixed(1)} s${fromSec ? ` (from ${fromSec} s on)` : ''}, of which not idle ${(busy / 1000).toFixed(2)} s (${pct(busy).trim()})`);
  console.log(`\nby module (self time):\n${list(modules, top)}`);
  console.log(`\ntop functions by self time:\n${list(self, top)}`);
  const boring = (k: string) => /^\((root|program|idle|garbage collector)\)/.test(k) || k.startsWith('processTicksAndRejections') || k.startsWith('listOnTimeout') || k.startsWith('processTimers');
  console.log(`\ntop functions by total time (self + callees):\n${list(total, top, boring)}`);
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
const fromSec = Number(args.find((a) => a.startsWith('--from='))?.slice(7) ?? 0);
const targets = args.filter((a) => !a.startsWith('--'));
if (targets.length === 0) {
  console.error('usage: npx tsx test/bench/cpuprofile-top.ts <file.cpuprofile | dir> [--top=25] [--from=SECONDS]');
  process.exit(2);
}
for (const target of targets) for (const f of files(target)) summarise(f, top, fromSec);
