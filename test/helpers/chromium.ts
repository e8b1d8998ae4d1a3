import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's Chromium (test/install-test-deps.sh installs it). */
export const CHROMIUM = 'chromium';

/** Bounds one run of the browser (it starts in about a second; the machine may be busy). */
const CHROMIUM_TIMEOUT_MS = 90_000;

/**
 * Runs headless Chromium once on `args` with a fresh profile, without
 * network chatter of its own (no sync, updates, QUIC or first-run), and
 * returns what it wrote to stdout. `--no-sandbox`: the tests run as root.
 */
function runChromium(args: readonly string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'jvb-adapter-chromium-'));
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
  ];
  return new Promise<string>((resolve, reject) => {
    execFile(CHROMIUM, [...flags, ...args], { timeout: CHROMIUM_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (error) reject(new Error(`${CHROMIUM} ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

/** The page's DOM after Chromium loaded and rendered it (`--dump-dom`). */
export function dumpDom(url: string): Promise<string> {
  return runChromium(['--dump-dom', url]);
}

/** A PNG of the page as Chromium renders it in a window of `width` x `height`. */
export async function screenshot(url: string, file: string, width = 1280, height = 1600): Promise<void> {
  await runChromium([`--screenshot=${file}`, `--window-size=${width},${height}`, url]);
}

/** The text a reader sees in a DOM dump: without the head (style, title), tags and entities resolved, whitespace collapsed. */
export function visibleText(dom: string): string {
  const body = dom.slice(Math.max(0, dom.indexOf('<body')));
  return body
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}
