/**
 * A Debian 12 system booted with real systemd under systemd-nspawn, from the
 * rootfs test/deploy/images.sh builds and caches (minbase + systemd, no
 * procps, no node). Each machine boots a fresh copy of it; `stop()` powers it
 * off (SIGKILL after a bound) and deletes the copy. It shares the host's
 * network: services on host loopback ports are reachable from its units.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, ROOT, run, runOk, Started, tempDir, type CommandResult } from './shipping';

export const TEST_CACHE = process.env['JVB_ADAPTER_TEST_CACHE'] ?? '/var/cache/jvb-prometheus-adapter-tests';

/** The environment for test/deploy/images.sh (cleanEnv drops JVB_ADAPTER_* variables: the cache folder is passed on). */
export function imagesEnv(): Record<string, string> {
  return cleanEnv({ JVB_ADAPTER_TEST_CACHE: TEST_CACHE });
}

/** Builds (first time) or finds the cached rootfs; returns its path. */
export async function cachedRootfs(): Promise<string> {
  await runOk('bash', [join(ROOT, 'test', 'deploy', 'images.sh'), 'rootfs'], { env: imagesEnv(), timeoutMs: 1_200_000 });
  return join(TEST_CACHE, 'rootfs-systemd-v2');
}

/** Why nspawn tests cannot run here, or undefined when they can. */
export function nspawnUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const tool of ['systemd-nspawn', 'debootstrap', 'nsenter']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing (npm run test:all installs it)`;
  }
  return undefined;
}

const INSIDE_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive', HOME: '/root' };

export class NspawnMachine {
  private constructor(
    readonly root: string,
    private readonly boot: Started,
    readonly leader: number,
  ) {}

  static async boot(rootfs: string): Promise<NspawnMachine> {
    const root = join(tempDir('jvb-adapter-nspawn-'), 'root');
    await runOk('cp', ['-a', '--reflink=auto', rootfs, root], { timeoutMs: 300_000 });
    const boot = new Started('systemd-nspawn', ['--register=no', '--keep-unit', '--console=passive', '-q', '-b', '-D', root], { env: { PATH: INSIDE_ENV.PATH } });
    // The container's init: the nspawn process' child.
    const deadline = Date.now() + 30_000;
    let leader = 0;
    while (leader === 0) {
      if (Date.now() > deadline) throw new Error(`systemd-nspawn started no init within 30 s:\n${boot.log}`);
      try {
        leader = Number(readFileSync(`/proc/${boot.pid}/task/${boot.pid}/children`, 'utf8').trim().split(/\s+/)[0] ?? 0) || 0;
      } catch {
        throw new Error(`systemd-nspawn exited:\n${boot.log}`);
      }
      if (leader === 0) await new Promise((r) => setTimeout(r, 100));
    }
    const machine = new NspawnMachine(root, boot, leader);
    try {
      // "running", or "degraded" when some unit of the minimal system failed (not ours: checked by the tests).
      await machine.waitFor('systemd booted', async () => {
        const state = (await machine.exec(['systemctl', 'is-system-running'])).stdout.trim();
        return state === 'running' || state === 'degraded' ? state : undefined;
      }, 90_000);
    } catch (error) {
      const why = await machine.exec(['sh', '-c', 'systemctl is-system-running; systemctl list-jobs --no-pager; systemctl --failed --no-pager'], 30_000).catch((e: Error) => ({ stdout: e.message, stderr: '' }));
      await machine.stop();
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${why.stdout}${why.stderr}\nnspawn:\n${boot.log}`);
    }
    return machine;
  }

  /** Runs a command inside (all the container's namespaces). */
  exec(args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
    return run('nsenter', ['-t', String(this.leader), '-a', '--', ...args], { env: INSIDE_ENV, timeoutMs });
  }

  /** Like exec, throwing on a non-zero exit. */
  async sh(script: string, timeoutMs = 120_000): Promise<string> {
    const result = await this.exec(['sh', '-ec', script], timeoutMs);
    if (result.code !== 0) throw new Error(`in the container: ${script}\nexited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  /** A file of the container, by its path inside. */
  path(inside: string): string {
    return join(this.root, inside);
  }

  exists(inside: string): boolean {
    return existsSync(this.path(inside));
  }

  /** `systemctl show -p NAME --value UNIT`. */
  async property(unit: string, name: string): Promise<string> {
    return (await this.exec(['systemctl', 'show', '-p', name, '--value', unit])).stdout.trim();
  }

  /** Repeats `probe` (every 250 ms) until it returns a value, for at most `timeoutMs`. */
  async waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last})` : ''}`);
  }

  /** Powers the machine off (SIGTERM to nspawn asks its init to; SIGKILL after 60 s) and deletes its root. */
  async stop(): Promise<void> {
    await this.boot.stop(60_000);
    rmSync(join(this.root, '..'), { recursive: true, force: true });
  }
}
