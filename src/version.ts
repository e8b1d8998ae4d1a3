import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package's version, read from package.json beside src/ or dist/. */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

export const USER_AGENT = `jvb-prometheus-adapter/${VERSION}`;
