import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE } from './bundle-info';

/** The package's version, read from package.json beside src/ or dist/. */
export const VERSION: string = (() => {
  if (BUNDLE !== undefined) return BUNDLE.version;
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/**
 * The git commit the running code was built from, as `npm run build` recorded
 * it in dist/build-info.json (scripts/build-info.js); undefined when built
 * outside a git checkout, or when running from src/ (tests, tsx). The single
 * executable carries both in its bundle (src/bundle-info.ts).
 */
export const REVISION: string | undefined = (() => {
  if (BUNDLE !== undefined) return BUNDLE.revision ?? undefined;
  try {
    const info = JSON.parse(readFileSync(join(__dirname, 'build-info.json'), 'utf8')) as { revision?: unknown };
    return typeof info.revision === 'string' && /^[0-9a-f]{4,40}$/.test(info.revision) ? info.revision : undefined;
  } catch {
    return undefined;
  }
})();

/** `0.1.0 (revision abc1234, node v20.19.0)`: what --version prints after the command's name. */
export function versionLine(): string {
  const details = [...(REVISION === undefined ? [] : [`revision ${REVISION}`]), `node ${process.version}`];
  return `${VERSION} (${details.join(', ')})`;
}

export const USER_AGENT = `jvb-prometheus-adapter/${VERSION}`;
