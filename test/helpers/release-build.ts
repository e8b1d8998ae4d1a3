/**
 * The release files (scripts/release.sh) as the deploy tests use them: built
 * once per test run into a temporary folder (not the checkout's release/),
 * with the tools and the Node runtime from the release cache.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, ROOT, runOk, tempDir } from './shipping';

export interface ReleaseFiles {
  readonly dir: string;
  readonly version: string;
  readonly executable: string;
  readonly deb: string;
}

let built: Promise<ReleaseFiles> | undefined;

/** JVB_ADAPTER_RELEASE_CACHE passed on (cleanEnv drops JVB_ADAPTER_* variables). */
const cacheEnv = (): Record<string, string> => {
  const cache = process.env['JVB_ADAPTER_RELEASE_CACHE'];
  return cache === undefined ? {} : { JVB_ADAPTER_RELEASE_CACHE: cache };
};

/** `npm run release`'s files, built on first use (about a minute; the first run also fetches the tools). */
export function releaseFiles(): Promise<ReleaseFiles> {
  built ??= (async () => {
    const dir = tempDir('jvb-adapter-release-');
    await runOk('bash', ['scripts/release.sh'], { cwd: ROOT, env: cleanEnv({ JVB_ADAPTER_RELEASE_DIR: dir, ...cacheEnv() }), timeoutMs: 600_000 });
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const files = {
      dir,
      version,
      executable: join(dir, `jvb-prometheus-adapter-${version}-linux-x64`),
      deb: join(dir, `jvb-prometheus-adapter_${version}_amd64.deb`),
    };
    for (const path of [files.executable, `${files.executable}.sha256`, files.deb]) if (!existsSync(path)) throw new Error(`release.sh made no ${path}`);
    return files;
  })();
  return built;
}

/** The same executable packaged again as `version` (a newer build to upgrade to). */
export async function debAs(files: ReleaseFiles, version: string): Promise<string> {
  const dir = tempDir('jvb-adapter-deb-');
  await runOk('bash', ['scripts/build-deb.sh', files.executable, dir], { cwd: ROOT, env: cleanEnv({ DEB_VERSION: version }), timeoutMs: 300_000 });
  return join(dir, `jvb-prometheus-adapter_${version}_amd64.deb`);
}
