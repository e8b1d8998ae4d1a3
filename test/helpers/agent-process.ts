import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli.js');

/** Temporary storage folders made for agents; removed when the test process ends. */
const storageDirs: string[] = [];
process.on('exit', () => storageDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function temporaryStorage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-storage-'));
  storageDirs.push(dir);
  return dir;
}

/**
 * The built agent (`dist/cli.js`, what `npm start` and the Docker image run)
 * as a child process, with its log lines collected.
 */
export class AgentProcess {
  readonly lines: string[] = [];
  private buffer = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess) {
    const collect = (data: Buffer) => {
      this.buffer += data.toString();
      const parts = this.buffer.split('\n');
      this.buffer = parts.pop()!;
      this.lines.push(...parts);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Starts the agent. Unless `args` set a --storage.* of their own, the
   * queues go to a fresh temporary folder (never the working directory).
   * `wrapper`: a command the agent runs under (e.g. `unshare --pid --fork`).
   */
  static spawn(args: string[], env: Record<string, string> = {}, nodeFlags: readonly string[] = [], wrapper: readonly string[] = []): AgentProcess {
    return AgentProcess.run([...wrapper, process.execPath, ...nodeFlags, CLI], args, env);
  }

  /** Starts the agent as a single executable (`npm run release`'s), with no node of ours. */
  static spawnExecutable(executable: string, args: string[], env: Record<string, string> = {}): AgentProcess {
    return AgentProcess.run([executable], args, env);
  }

  private static run(command: readonly string[], args: string[], env: Record<string, string>): AgentProcess {
    const cleanEnv: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' };
    const storage = args.some((a) => a.startsWith('--storage.path') || a === '--storage.in-memory')
      ? []
      : [`--storage.path=${temporaryStorage()}`];
    const all = [...command, ...storage, ...args];
    return new AgentProcess(spawn(all[0]!, all.slice(1), { env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Waits for a log line matching `pattern`; returns the match. */
  async waitForLine(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const line of this.lines) {
        const match = line.match(pattern);
        if (match) return match;
      }
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no log line matching ${pattern} within ${timeoutMs}ms; log:\n${this.lines.join('\n')}`);
  }

  /** The port of `--web.listen-address=127.0.0.1:0`, from the start-up log line. */
  async metricsPort(): Promise<number> {
    const match = await this.waitForLine(/msg="serving metrics" address=\S+:(\d+)/);
    return Number(match[1]);
  }

  /** null while the agent runs. */
  get exitCode(): number | null {
    return this.child.exitCode;
  }

  get pid(): number {
    return this.child.pid!;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Stops the agent (SIGTERM, then SIGKILL after 15 s) and returns how it exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }
}

/** The node flags the agent runs with when installed: those of the `#!/usr/bin/env -S node ...` line of the built CLI. */
export function productionNodeFlags(): string[] {
  const first = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  return match ? match[1]!.trim().split(/\s+/).filter((flag) => flag !== '') : [];
}
