import { formatDuration } from './format-duration';
import type { LogFields, Logger } from './logger';

/** Named amounts an occurrence costs (failed_attempts, refused_samples, ...); added up while the condition lasts. */
export type ConditionCounts = Readonly<Record<string, number>>;

export interface ConditionLogOptions {
  /** Level of the start and repeat lines (default warn); the end line is always info. */
  readonly level?: 'warn' | 'error';
  /** Least time between two lines while the condition lasts (default one minute). */
  readonly repeatMs?: number;
  /** Milliseconds clock (default Date.now); injectable for tests. */
  readonly now?: () => number;
}

/** The default least time between two lines of one condition. */
export const CONDITION_REPEAT_MS = 60_000;

/**
 * The one rule for a condition that repeats (a receiver refusing the
 * credentials, an outage, a full disk, a JVB that is down): logged when it
 * starts, then at most once per `repeatMs` while it lasts, with what it has
 * cost so far, then once when it ends, with how long it lasted.
 *
 *   const down = new ConditionLog(log);
 *   down.report('receiver unreachable, will retry', { reason }, { failed_attempts: 1 }); // each occurrence
 *   down.end('receiver reachable again', { backlog_requests: 12 });                   // when it is over
 *
 * Lines: the start line is `message` with `fields` and this occurrence's
 * counts; a repeat line is the latest `message` with `fields`,
 * `ongoing_for` and the counts since the start; the end line carries
 * `lasted` and the counts since the start. `end()` on a condition that is not
 * active writes nothing, so callers may call it on every success.
 */
export class ConditionLog {
  private readonly level: 'warn' | 'error';
  private readonly repeatMs: number;
  private readonly now: () => number;
  private started: number | undefined;
  private lastLine = 0;
  private totals: Record<string, number> = {};

  constructor(
    private readonly log: Logger,
    opts: ConditionLogOptions = {},
  ) {
    this.level = opts.level ?? 'warn';
    this.repeatMs = opts.repeatMs ?? CONDITION_REPEAT_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Whether the condition has started and not ended. */
  get active(): boolean {
    return this.started !== undefined;
  }

  /** When it started (ms, by the clock given), or undefined when not active. */
  get since(): number | undefined {
    return this.started;
  }

  /** The counts added up since it started (empty when not active). */
  get counts(): ConditionCounts {
    return { ...this.totals };
  }

  /**
   * One occurrence: starts the condition (and logs it), or adds to it (and
   * logs again if `repeatMs` has passed since the last line). Returns whether
   * a line was written, so that the caller can log the ones that were not at
   * debug.
   */
  report(message: string, fields: LogFields = {}, counts: ConditionCounts = {}): boolean {
    const now = this.now();
    for (const [name, value] of Object.entries(counts)) this.totals[name] = (this.totals[name] ?? 0) + value;
    if (this.started === undefined) {
      this.started = now;
      this.lastLine = now;
      this.log[this.level](message, { ...fields, ...counts });
      return true;
    }
    if (now - this.lastLine < this.repeatMs) return false;
    this.lastLine = now;
    this.log[this.level](message, { ...fields, ongoing_for: describeDuration(now - this.started), ...this.totals });
    return true;
  }

  /** The condition is over: logs `message` once, with how long it lasted and the counts. Nothing when it is not active. */
  end(message: string, fields: LogFields = {}): boolean {
    if (this.started === undefined) return false;
    const lasted = describeDuration(this.now() - this.started);
    const totals = this.totals;
    this.started = undefined;
    this.totals = {};
    this.log.info(message, { ...fields, lasted, ...totals });
    return true;
  }
}

/** A duration for a log line: whole seconds from a second on (`2m13s`), milliseconds below (`350ms`). */
export function describeDuration(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole < 1000) return `${whole}ms`;
  return formatDuration(Math.round(whole / 1000) * 1000);
}
