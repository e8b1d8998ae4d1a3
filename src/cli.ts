#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=10 --single-threaded
import { startAgent, type RunningAgent } from './agent';
import { ConfigError } from './config/config-error';
import { helpText } from './config/help-text';
import { loadConfig } from './config/load-config';
import { createLogger, type Logger } from './log/logger';
import { COMMAND, probeHealth, SUBCOMMANDS_HELP } from './server/health-probe';
import { REVISION, VERSION, versionLine } from './version';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'healthcheck') return healthcheck(argv.slice(1));
  let request;
  try {
    request = loadConfig({ argv, env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${COMMAND}: error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (request.kind === 'help') {
    process.stdout.write(helpText(COMMAND, VERSION) + SUBCOMMANDS_HELP);
    return 0;
  }
  if (request.kind === 'version') {
    process.stdout.write(`${COMMAND} ${versionLine()}\n`);
    return 0;
  }

  const { config } = request;
  const log = createLogger({ level: config.log.level, format: config.log.format });
  log.info('starting', { version: VERSION, revision: REVISION, config_file: config.configFile });
  for (const warning of request.warnings) log.warn(warning);

  // Until the agent runs, a SIGHUP (whose default is to end the process) is only noted.
  const ignoreEarlyHup = () => log.warn('SIGHUP during start-up ignored: send it again once the agent runs');
  process.on('SIGHUP', ignoreEarlyHup);

  // Listen for the signals before starting, so a SIGTERM during start-up
  // (say, while a queue backlog is opened) still ends in a graceful stop.
  const stopRequested = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info('shutting down', { signal });
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  let agent: RunningAgent;
  try {
    const starting = startAgent(config, log);
    const first = await Promise.race([starting, stopRequested.then(() => 'stop' as const)]);
    if (first === 'stop') {
      // SIGTERM while starting (a queue backlog being opened, a storage folder on a hung mount):
      // give the start the flush deadline to finish so it can be stopped cleanly, else leave now.
      const late = await Promise.race([starting.catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), config.storage.flushDeadlineMs).unref())]);
      if (late !== undefined) await late.stop();
      log.info('stopped during start-up');
      process.exit(0);
    }
    agent = first;
    process.off('SIGHUP', ignoreEarlyHup);
  } catch (error) {
    if (error instanceof ConfigError) {
      // A setting that cannot work here (e.g. an unwritable --storage.path): as a bad flag, exit 2, said once.
      process.stderr.write(`${COMMAND}: error: ${error.message}\n`);
      process.exit(2);
    }
    const err = error as NodeJS.ErrnoException;
    log.error('cannot start', { err: err.message, code: err.code });
    process.exit(1);
  }

  // SIGHUP reloads the settings, as Prometheus does; a bad file is logged and the running settings stay.
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(() => reload(agent, argv, log));
  });

  await stopRequested;
  await reloading;
  await agent.stop();
  log.info('stopped');
  return 0;
}

/**
 * `healthcheck [flags]`: reads the settings the way the agent does (flags,
 * JVB_ADAPTER_* environment, --config.file) only to find the listen address,
 * and asks /-/healthy there.
 */
async function healthcheck(argv: readonly string[]): Promise<number> {
  const fail = (message: string): number => {
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
  const address = request.config.web.listenAddress;
  if (address.port === 0) return fail('--web.listen-address has port 0 (any free port): give the port the agent listens on');
  return probeHealth(address, fail);
}

async function reload(agent: RunningAgent, argv: readonly string[], log: Logger): Promise<void> {
  log.info('reloading the configuration (SIGHUP)');
  try {
    const request = loadConfig({ argv, env: process.env });
    if (request.kind !== 'run') return;
    for (const warning of request.warnings) log.warn(warning);
    await agent.reload(request.config);
    agent.reloads.succeeded();
  } catch (error) {
    log.error('reload failed: the running settings stay in force', { err: error instanceof Error ? error.message : String(error) });
    agent.reloads.failed(error instanceof Error ? error.message : String(error));
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${COMMAND}: fatal: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
