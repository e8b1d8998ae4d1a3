import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * When a poll must be over, for the reading of its body: `endsAt` on
 * performance.now()'s clock; `signal` fires at the deadline (a
 * TimeoutError, AbortSignal.timeout()) or at shutdown (an AbortError).
 */
export interface ReadDeadline {
  readonly signal: AbortSignal;
  readonly endsAt: number;
}

/**
 * A body this large (bytes, or characters once decoded) or larger is read
 * a slice at a time, giving the event loop a turn between slices, and given
 * up when the poll's deadline passes; a smaller one is read at once (and its
 * poll fails as a `timeout` if that ended past the deadline). A real JVB's
 * /metrics is 20-60 KB, parsed in well under a millisecond when only its
 * values changed and in a few when read in full; 256 KiB takes some
 * milliseconds at most.
 */
export const LARGE_BODY_BYTES = 256 * 1024;

/** Whether the deadline has passed (rather than a shutdown having cut the poll). */
export function deadlinePassed(deadline: ReadDeadline): boolean {
  if (performance.now() >= deadline.endsAt) return true;
  const { signal } = deadline;
  return signal.aborted && (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
}

export type SlicedRun<T> =
  | { readonly kind: 'done'; readonly value: T }
  /** The deadline passed first. */
  | { readonly kind: 'late' }
  /** Shutdown. */
  | { readonly kind: 'aborted' };

/** About this long between two turns of the event loop while a large body is read. */
export const SLICE_TARGET_MS = 8;
const FIRST_SLICE_CHARS = 64 * 1024;
const MIN_SLICE_CHARS = 4 * 1024;
const MAX_SLICE_CHARS = 4 * 1024 * 1024;

/**
 * Runs `step(chars)` (read about `chars` more characters; undefined until
 * the work is done) one slice at a time, and gives the event loop a turn
 * (setImmediate: timers, sockets, the server, other bridges' polls) between
 * two slices. The slice size follows the time a slice took, so a slice is
 * about SLICE_TARGET_MS whatever the body's lines cost. It stops, leaving
 * the work undone, when the deadline passes or at shutdown; both are
 * checked between slices.
 */
export async function runInSlices<T>(step: (chars: number) => T | undefined, deadline: ReadDeadline): Promise<SlicedRun<T>> {
  let chars = FIRST_SLICE_CHARS;
  for (;;) {
    const started = performance.now();
    const value = step(chars);
    if (value !== undefined) return { kind: 'done', value };
    const tookMs = performance.now() - started;
    chars = Math.round(Math.min(MAX_SLICE_CHARS, Math.max(MIN_SLICE_CHARS, (chars * SLICE_TARGET_MS) / Math.max(tookMs, 0.5))));
    await nextTurn();
    if (deadlinePassed(deadline)) return { kind: 'late' };
    if (deadline.signal.aborted) return { kind: 'aborted' };
  }
}
