/**
 * Reads a whole response body, up to a limit: what a poll of a bridge needs
 * (the push senders only keep a preview, see body-preview.ts). The limit
 * counts decompressed bytes, so a gzip bomb is cut off like any other
 * oversized body, and reading stops at once: memory never exceeds the limit.
 */
import type { Readable } from 'node:stream';

export type BodyRead =
  | { readonly kind: 'complete'; readonly body: Buffer }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'aborted' };

export function readBodyLimited(body: Readable, signal: AbortSignal, maxBytes: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let finished = false;

    const finish = (result: BodyRead, destroy: boolean): void => {
      if (finished) return;
      finished = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (destroy) body.destroy();
      resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buf.length;
      if (bytes > maxBytes) {
        chunks.length = 0;
        finish({ kind: 'too-large' }, true);
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => finish({ kind: 'complete', body: Buffer.concat(chunks, bytes) }, false);
    const onError = (err: Error): void => finish({ kind: 'failed', message: err.message }, true);
    const onAbort = (): void => finish({ kind: 'aborted' }, true);

    if (signal.aborted) {
      finish({ kind: 'aborted' }, true);
      return;
    }
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
