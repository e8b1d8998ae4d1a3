/** Where a long-running process under test stands, for eventually(): gone (why), and its log. */
export interface Watched {
  /** Why waiting is pointless now (e.g. the agent exited), or undefined while it runs. */
  readonly gone: () => string | undefined;
  readonly log: () => string;
}

/**
 * Repeats `probe` every `intervalMs` until it returns a value; throws `what`
 * with the reason (time out, or the watched process gone), the probe's last
 * error and the watched process' log.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  watched: Watched,
  timeoutMs: number,
  intervalMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline && watched.gone() === undefined) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const why = watched.gone() ?? `not within ${timeoutMs} ms`;
  throw new Error(`${what}: ${why}${lastError ? ` (last error: ${lastError})` : ''}; log:\n${watched.log()}`);
}
