import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Small tmpfs mounts for tests of a full disk (needs root, as CI runs;
 * elsewhere the tests that need one are skipped with the reason).
 */

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Mounted and not unmounted yet: unmounted when the process exits, even by a crash that skips `finally`. */
const mounted = new Set<string>();
process.on('exit', () => {
  for (const dir of mounted) unmountTmpfs(dir);
});

/** Mounts a tmpfs of `bytes` on a fresh folder; returns the folder. */
export function mountTmpfs(bytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-tmpfs-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
    mounted.add(dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** Unmounts (lazily if something still holds it) and removes the folder. Never throws. */
export function unmountTmpfs(dir: string): void {
  mounted.delete(dir);
  try {
    run('umount', [dir]);
  } catch {
    try {
      run('umount', ['-l', dir]);
    } catch {
      // not mounted
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Why a tmpfs cannot be mounted here (not root, no mount in a container...), or undefined when it can. */
export const tmpfsUnavailable: string | undefined = (() => {
  let dir: string | undefined;
  try {
    dir = mountTmpfs(64 * 1024);
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `mount -t tmpfs is not permitted here (${stderr || (err as Error).message}); run as root (CI does)`;
  } finally {
    if (dir !== undefined) unmountTmpfs(dir);
  }
})();

/** Runs `fn` with a tmpfs of `bytes` mounted, and always unmounts it. */
export async function withTmpfs<T>(bytes: number, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mountTmpfs(bytes);
  try {
    return await fn(dir);
  } finally {
    unmountTmpfs(dir);
  }
}
