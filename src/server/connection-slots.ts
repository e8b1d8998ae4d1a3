export interface ConnectionSlotsOptions {
  readonly cap: number;
  /** Most connections at all; at least `cap`. */
  readonly ceiling: number;
  readonly graceMs: number;
}

/** Why a connection was pushed out. */
export type EvictionReason = 'idle' | 'slow_head' | 'slow_reader';

export interface Eviction<K> {
  readonly key: K;
  readonly reason: EvictionReason;
}

/** What to do with a new connection: keep it (and close the one it pushed out, if any), or refuse it. */
export type Admission<K> = { readonly admitted: true; readonly evicted: Eviction<K> | undefined } | { readonly admitted: false };

export interface SlotCounts {
  readonly head: number;
  readonly busy: number;
  readonly draining: number;
  readonly idle: number;
}

/** Answers of one connection in progress (more than one when requests are pipelined). */
interface Answers {
  pending: number;
  written: number;
}

/**
 * Which connections the agent's server keeps when it is full, as pure
 * bookkeeping (no sockets, no clock of its own: `now` is given).
 *
 * A connection is, at any time, in one of four states:
 * - `head`: opened, its request head not yet complete (a new connection,
 *   or a slow client trickling its head);
 * - `busy`: a request received, its answer being prepared;
 * - `draining`: every answer written, not yet taken by the client (a slow
 *   reader);
 * - `idle`: answered, kept alive for a next request.
 *
 * Up to `cap` connections are kept. A connection arriving at the cap pushes
 * out one that holds a slot without an answer in progress: the one idle the
 * longest, else the oldest still sending its head, else the oldest slow
 * reader; the last two only once they have been so for `graceMs` (a new
 * connection has that long to send its request head, so that a health probe
 * among a burst of new connections gets its answer; a written answer has
 * that long to be taken). When none can be pushed out (every one busy or
 * new), the newcomer is let in over the cap, up to `ceiling`; beyond it, it
 * is refused. So a new connection, a health probe's, gets in whatever holds
 * the slots, unless they are all being answered or brand new.
 */
export class ConnectionSlots<K> {
  // Each map is in the order its connections entered the state, so the first is the oldest; the value is when.
  private readonly heads = new Map<K, number>();
  private readonly idle = new Map<K, number>();
  private readonly draining = new Map<K, number>();
  /** Busy and draining connections. */
  private readonly answering = new Map<K, Answers>();

  constructor(private readonly opts: ConnectionSlotsOptions) {
    if (!(opts.cap >= 1 && opts.ceiling >= opts.cap && opts.graceMs >= 0)) throw new RangeError(`bad connection slots: ${JSON.stringify(opts)}`);
  }

  /** Connections held now. */
  get size(): number {
    return this.heads.size + this.idle.size + this.answering.size;
  }

  counts(): SlotCounts {
    return { head: this.heads.size, busy: this.answering.size - this.draining.size, draining: this.draining.size, idle: this.idle.size };
  }

  /** A new connection: admitted (in state `head`), pushing out another when at the cap, or refused. */
  opened(key: K, now: number): Admission<K> {
    let evicted: Eviction<K> | undefined;
    if (this.size >= this.opts.cap) {
      evicted = this.victim(now);
      if (evicted === undefined && this.size >= this.opts.ceiling) return { admitted: false };
      if (evicted !== undefined) this.closed(evicted.key);
    }
    this.heads.set(key, now);
    return { admitted: true, evicted };
  }

  /** A request's head is complete: the connection is busy until its answer is written. */
  requestStarted(key: K): void {
    const answers = this.answering.get(key);
    if (answers !== undefined) {
      answers.pending++;
      this.draining.delete(key);
      return;
    }
    if (!this.heads.delete(key) && !this.idle.delete(key)) return; // closed already
    this.answering.set(key, { pending: 1, written: 0 });
  }

  /** An answer has been written out in full (the client may not have taken it yet). */
  answerWritten(key: K, now: number): void {
    const answers = this.answering.get(key);
    if (answers === undefined) return;
    answers.written = Math.min(answers.pending, answers.written + 1);
    if (answers.written === answers.pending && !this.draining.has(key)) this.draining.set(key, now);
  }

  /** An answer has been taken by the client (handed to the operating system in full): idle once none is left. */
  answerFlushed(key: K, now: number): void {
    const answers = this.answering.get(key);
    if (answers === undefined) return;
    answers.pending--;
    answers.written = Math.max(0, answers.written - 1);
    if (answers.pending > 0) {
      if (answers.written < answers.pending) this.draining.delete(key);
      return;
    }
    this.answering.delete(key);
    this.draining.delete(key);
    this.idle.set(key, now);
  }

  /** The connection is gone (closed by either side, or pushed out). */
  closed(key: K): void {
    this.heads.delete(key);
    this.idle.delete(key);
    this.draining.delete(key);
    this.answering.delete(key);
  }

  /** The connection to push out for a newcomer at `now`, if any may be. */
  private victim(now: number): Eviction<K> | undefined {
    const idle = oldest(this.idle, now, 0);
    if (idle !== undefined) return { key: idle, reason: 'idle' };
    const head = oldest(this.heads, now, this.opts.graceMs);
    if (head !== undefined) return { key: head, reason: 'slow_head' };
    const reader = oldest(this.draining, now, this.opts.graceMs);
    if (reader !== undefined) return { key: reader, reason: 'slow_reader' };
    return undefined;
  }
}

/** The first (oldest) key of a state's map, if it has been in that state for at least `graceMs`. */
function oldest<K>(state: Map<K, number>, now: number, graceMs: number): K | undefined {
  const first = state.entries().next();
  return !first.done && now - first.value[1] >= graceMs ? first.value[0] : undefined;
}
