/**
 * Helpers of the shipping tests (install, systemd, Docker, Kubernetes):
 * temporary folders, commands with a bound on their time, long-running
 * processes with their output collected, and loopback HTTP servers.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

const tempDirs: string[] = [];
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) killTree(child, 'SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the system's temporary folder, removed when the test process ends (or by `removeTempDir`). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    // Commands run in a process group of their own (detached): npm's children go too.
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
  }
}

/**
 * The environment for a nested npm: this one without the npm_* variables the
 * outer `npm test` sets (its prefix, its lifecycle), plus `extra`; node's own
 * folder first on PATH, so `#!/usr/bin/env node` finds this very node.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^npm_/i.test(name) || name === 'INIT_CWD' || name.startsWith('JVB_ADAPTER_') || name === 'NODE_OPTIONS') continue;
    env[name] = value;
  }
  env['PATH'] = `${dirname(process.execPath)}:${env['PATH'] ?? '/usr/bin:/bin'}`;
  return { ...env, ...extra };
}

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

const tail = (text: string, lines = 30) => text.trimEnd().split('\n').slice(-lines).join('\n');

/** Runs a command to its end; kills it (and its children) and throws past `timeoutMs`. */
export function run(command: string, args: readonly string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs: number }): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killTree(child, 'SIGKILL');
      reject(new Error(`\`${command} ${args.join(' ')}\` did not finish within ${opts.timeoutMs / 1000}s; its output:\n${tail(stdout)}\n${tail(stderr)}`));
    }, opts.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(new Error(`cannot run ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** As `run`, and throws with the output unless the command exits 0. */
export async function runOk(command: string, args: readonly string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs: number }): Promise<CommandResult> {
  const result = await run(command, args, opts);
  if (result.code !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` exited ${result.code ?? result.signal}:\n${tail(result.stdout)}\n${tail(result.stderr)}`);
  }
  return result;
}

/** A long-running process (an agent), its stdout and stderr collected as lines. */
export class Started {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(command: string, args: readonly string[], opts: SpawnOptions & { env: Record<string, string> }) {
    this.child = spawn(command, [...args], { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.child);
    let buffer = '';
    const collect = (data: Buffer) => {
      buffer += data.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      this.lines.push(...parts);
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolvePromise) =>
      this.child.once('close', (code, signal) => {
        running.delete(this.child);
        resolvePromise({ code, signal });
      }),
    );
    this.child.once('error', (error) => this.lines.push(`spawn error: ${error.message}`));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get log(): string {
    return this.lines.join('\n');
  }

  /** Waits (polling every 50 ms, for at most `timeoutMs`) for a line matching `pattern`. */
  async waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        const match = line.match(pattern);
        if (match) return match;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`the process exited (${this.child.exitCode ?? this.child.signalCode}) before a line matching ${pattern}; its output:\n${tail(this.log)}`);
      }
      if (Date.now() > deadline) throw new Error(`no line matching ${pattern} within ${timeoutMs}ms; output so far:\n${tail(this.log)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The port of `--web.listen-address=127.0.0.1:0`, from the agent's start-up line. */
  async metricsPort(): Promise<number> {
    return Number((await this.waitForLine(/msg="serving metrics" address=\S+:(\d+)/))[1]);
  }

  /** SIGTERM, SIGKILL after `graceMs`; how it ended. */
  async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }
}

/** Polls `url` (every 100 ms, for at most `timeoutMs`) until it answers `status`. */
export async function waitForStatus(url: string, status = 200, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within ${timeoutMs}ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly bodyBytes: number;
}

/** A loopback HTTP server that records each request and answers `status` (204 by default). */
export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(status = 204): Promise<RecordingServer> {
    let self: RecordingServer | undefined;
    const server = http.createServer((req, res) => {
      let bytes = 0;
      req.on('data', (d: Buffer) => (bytes += d.length));
      req.on('end', () => {
        self?.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: bytes });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self = new RecordingServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** Waits (polling every 50 ms, at most `timeoutMs`) for a request that `match` accepts. */
  async waitFor(match: (r: RecordedRequest) => boolean, timeoutMs = 20_000, why = 'a request'): Promise<RecordedRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${why} within ${timeoutMs}ms (got ${this.requests.length}: ${this.requests.map((r) => `${r.method} ${r.url}`).join(', ') || 'none'})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A loopback port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** The short git revision of the checkout, or undefined without .git (what scripts/build-info.js records). */
export async function gitRevision(): Promise<string | undefined> {
  try {
    const result = await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { timeoutMs: 10_000 });
    return result.code === 0 && /^[0-9a-f]{4,40}$/.test(result.stdout.trim()) ? result.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** The packages package-lock.json installs for development only (`"dev": true`), by their node_modules path. */
export function devOnlyPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true)
    .map(([path]) => path.slice('node_modules/'.length));
}
