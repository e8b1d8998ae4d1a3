import { redactUrlsInText } from '../log/redact-url';
import { isoTime, type ProblemStatus } from './status-model';

/** Longest error text kept for the status page. */
const MAX_MESSAGE_CHARS = 500;

/**
 * The last success and the last failure of something that is tried again
 * and again (a bridge's polls, a destination's requests), for the status
 * page: the failure's text, when it was last seen, and since when the
 * current run of failures lasts. Memory is constant.
 */
export class OutcomeRecord<Extra extends object = object> {
  private lastOkMs: number | undefined;
  private problem: { message: string; atMs: number; sinceMs: number; extra: Extra } | undefined;
  /** Whether the last outcome was a failure. */
  private failing = false;

  constructor(private readonly now: () => number = Date.now) {}

  succeeded(): void {
    this.lastOkMs = this.now();
    this.failing = false;
  }

  failed(message: string, extra: Extra): void {
    const atMs = this.now();
    const text = redactUrlsInText(message.replace(/\s+/g, ' ').trim());
    const clipped = text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
    this.problem = { message: clipped, atMs, sinceMs: this.failing && this.problem !== undefined ? this.problem.sinceMs : atMs, extra };
    this.failing = true;
  }

  get lastSuccess(): string | null {
    return isoTime(this.lastOkMs);
  }

  get lastError(): (ProblemStatus & Extra) | null {
    const p = this.problem;
    if (p === undefined) return null;
    return { ...p.extra, message: p.message, at: isoTime(p.atMs)!, since: isoTime(p.sinceMs)! };
  }
}
