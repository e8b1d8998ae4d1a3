import http from 'node:http';
import { USER_AGENT } from '../version';
import type { ListenAddress } from './listen-address';

export const COMMAND = 'jvb-prometheus-adapter';

/** The longest `healthcheck` waits for an answer; below the Dockerfile's HEALTHCHECK --timeout=5s. */
const HEALTHCHECK_TIMEOUT_MS = 3_000;

export const SUBCOMMANDS_HELP = [
  '',
  'Subcommands:',
  `  ${COMMAND} healthcheck [flags]`,
  "      Ask a running agent's /-/healthy, at the --web.listen-address the same flags, environment and",
  `      --config.file give (all interfaces: 127.0.0.1); exit 0 on 200, 1 otherwise, within ${HEALTHCHECK_TIMEOUT_MS / 1000}s.`,
  '      Starts nothing. For Docker HEALTHCHECK and other probes that run a command.',
  '',
].join('\n');

/** The URL of /-/healthy on a listen address: the wildcard addresses mean this host's loopback. */
function healthUrl(host: string | undefined, port: number): URL {
  const target = host === undefined || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return new URL(`http://${target.includes(':') ? `[${target}]` : target}:${port}/-/healthy`);
}

/** GET the URL once (no proxy, no keep-alive): the status, or why there is none. */
function probeOnce(url: URL, timeoutMs: number): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: { 'User-Agent': USER_AGENT, Connection: 'close' } }, (res) => {
      clearTimeout(timer);
      resolve({ status: res.statusCode ?? 0 });
      res.destroy(); // the status is the answer: a body that never ends cannot hold the check
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      resolve({ error: error.message });
    });
  });
}

/**
 * Asks /-/healthy at the address the agent listens on and exits 0 on 200,
 * 1 on anything else (Docker reserves exit code 2). Starts nothing else.
 */
export async function probeHealth(address: ListenAddress, fail: (message: string) => number): Promise<number> {
  const url = healthUrl(address.host, address.port);
  const result = await probeOnce(url, HEALTHCHECK_TIMEOUT_MS);
  if ('error' in result) return fail(`${url.href}: ${result.error}`);
  if (result.status !== 200) return fail(`${url.href}: answered ${result.status}`);
  process.stdout.write(`${url.href}: 200 OK\n`);
  return 0;
}
