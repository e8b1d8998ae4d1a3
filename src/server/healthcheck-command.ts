import http from 'node:http';
import { ConfigError } from '../config/config-error';
import { loadConfig } from '../config/load-config';
import { USER_AGENT, versionLine } from '../version';

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
 * `healthcheck [flags]`: reads the settings the way the agent does (flags,
 * JVB_ADAPTER_* environment, --config.file) only to find the listen address,
 * asks /-/healthy there, and exits 0 on 200, 1 on anything else (Docker
 * reserves exit code 2). Starts nothing else.
 */
export async function healthcheck(argv: readonly string[]): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`${COMMAND} healthcheck: ${message}\n`);
    return 1;
  };
  let request;
  try {
    request = loadConfig({ argv, env: process.env });
  } catch (error) {
    return fail(error instanceof ConfigError ? `error: ${error.message}` : `cannot read the settings: ${(error as Error).message}`);
  }
  if (request.kind === 'help') {
    process.stdout.write(`usage: ${COMMAND} healthcheck [flags]\n${SUBCOMMANDS_HELP.split('\n').slice(3).join('\n')}`);
    return 0;
  }
  if (request.kind === 'version') {
    process.stdout.write(`${COMMAND} ${versionLine()}\n`);
    return 0;
  }
  const { host, port } = request.config.web.listenAddress;
  if (port === 0) return fail('--web.listen-address has port 0 (any free port): give the port the agent listens on');
  const url = healthUrl(host, port);
  const result = await probeOnce(url, HEALTHCHECK_TIMEOUT_MS);
  if ('error' in result) return fail(`${url.href}: ${result.error}`);
  if (result.status !== 200) return fail(`${url.href}: answered ${result.status}`);
  process.stdout.write(`${url.href}: 200 OK\n`);
  return 0;
}

