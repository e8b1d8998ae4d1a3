/**
 * Reads a response body keeping only its first bytes (the remote-write spec
 * says to log at most the first 1 KiB of an error body, as Prometheus does).
 * The rest is read and thrown away up to `drainLimitBytes`, so the keep-alive
 * connection can be reused; a longer body makes us close the connection.
 */
import type { Readable } from 'node:stream';

export const BODY_PREVIEW_BYTES = 1024;
export const BODY_DRAIN_LIMIT_BYTES = 256 * 1024;

/**
 * Resolves with at most `previewBytes` bytes once the body ended, failed,
 * grew past `drainLimitBytes`, or `signal` aborted (the stream is then
 * destroyed). Never rejects: the status line already arrived, so a broken
 * body is not a failed request.
 */
export function readBodyPreview(
  body: Readable,
  signal: AbortSignal,
  previewBytes: number = BODY_PREVIEW_BYTES,
  drainLimitBytes: number = BODY_DRAIN_LIMIT_BYTES,
): Promise<Buffer> {
  return new Promise((resolve) => {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let seenBytes = 0;
    let finished = false;

    const finish = (destroy: boolean): void => {
      if (finished) return;
      finished = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (destroy) body.destroy();
      resolve(Buffer.concat(kept, keptBytes));
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      seenBytes += buf.length;
      if (keptBytes < previewBytes) {
        const part = buf.subarray(0, previewBytes - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
      if (seenBytes > drainLimitBytes) finish(true);
    };
    const onEnd = (): void => finish(false);
    const onError = (): void => finish(true);
    const onClose = (): void => finish(false);
    const onAbort = (): void => finish(true);

    if (signal.aborted) {
      finish(true);
      return;
    }
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
