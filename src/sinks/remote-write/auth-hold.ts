// A destination whose receiver refuses the credentials (401, 403) holds its
// queue instead of dropping it: the refused request stays at the head and
// is tried again only when there is a reason to think the answer changed —
// a credentials file changed, the agent was told to reload (SIGHUP), or a
// slow backoff (1 minute doubling to 10) has passed. So a rotated or expired
// token costs no data (within the queue's bounds, whose drops stay counted),
// and the receiver is not hammered with a request it refuses (the
// remote-write spec's "MUST NOT retry 4xx" is about re-sending a refused
// batch in a loop; docs/remote-write.md says why this is not that).

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { describeDuration } from '../../log/condition-log';
import type { Logger } from '../../log/logger';

export interface AuthHoldOptions {
  /** The credentials files to watch (password file, bearer token file); none when the credentials are inline. */
  readonly credentialFiles: readonly string[];
  /** The settings that give the credentials, as the user named them; empty when none is set. */
  readonly credentialSettings: readonly string[];
  readonly log: Logger;
  /** 1 while held, 0 otherwise. */
  readonly gauge: { set(value: number): void };
  /** First wait before the held request is tried again on its own (default 1 minute); doubles up to `maxRetryMs`. */
  readonly minRetryMs?: number;
  /** Longest wait (default 10 minutes). */
  readonly maxRetryMs?: number;
  /** How often the credentials files are looked at (default 5 s). */
  readonly filePollMs?: number;
  readonly now?: () => number;
}

export const AUTH_HOLD_MIN_RETRY_MS = 60_000;
export const AUTH_HOLD_MAX_RETRY_MS = 10 * 60_000;
export const AUTH_HOLD_FILE_POLL_MS = 5_000;

/** Whether an answer is a refusal of the credentials. */
export function isAuthRefusal(status: number): boolean {
  return status === 401 || status === 403;
}

export class AuthHold {
  /** `seen`: the credentials files as last looked at during this hold; a change from it is a reason to try again. */
  private held: { since: number; status: number; attempts: number; seen: string } | undefined;
  private wakeUp: ((retry: boolean) => void) | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly opts: AuthHoldOptions) {
    this.now = opts.now ?? Date.now;
    opts.gauge.set(0);
  }

  get active(): boolean {
    return this.held !== undefined;
  }

  /**
   * The receiver refused the credentials with `status`: logs what to fix
   * (once per hold), then waits for a reason to try again. True: try the
   * held request again; false: the sender is stopping (or aborted), the
   * request stays queued.
   */
  async wait(status: number, signal: AbortSignal, queued: { requests: number; samples: number }): Promise<boolean> {
    if (this.stopped || signal.aborted) return false;
    const minMs = this.opts.minRetryMs ?? AUTH_HOLD_MIN_RETRY_MS;
    const maxMs = this.opts.maxRetryMs ?? AUTH_HOLD_MAX_RETRY_MS;
    if (this.held === undefined) {
      this.held = { since: this.now(), status, attempts: 0, seen: await this.fingerprint() };
      this.opts.gauge.set(1);
      this.opts.log.error(
        `the receiver refused the credentials (HTTP ${status} ${STATUS_CODES[status] ?? ''}): the credentials are wrong or missing; delivery is held, ` +
          `nothing is dropped while the queue has room (its byte and age bounds); ${this.whatToFix()}. ` +
          `The held request is tried again when a credentials file changes, on SIGHUP (reload), and otherwise after ${describeDuration(minMs)}, doubling up to ${describeDuration(maxMs)}`,
        { status, credentials: this.opts.credentialSettings.join(',') || 'none', queued_requests: queued.requests, queued_samples: queued.samples },
      );
    } else {
      this.held.status = status;
      this.opts.log.debug('the receiver still refuses the credentials; holding', { status, attempts: this.held.attempts + 1 });
    }
    const held = this.held;
    const delayMs = Math.min(maxMs, minMs * 2 ** Math.min(held.attempts, 30));
    held.attempts++;
    if (this.stopped || signal.aborted) return false;
    return new Promise<boolean>((resolve) => {
      let polling = false;
      const finish = (retry: boolean): void => {
        clearTimeout(timer);
        clearInterval(poll);
        signal.removeEventListener('abort', onAbort);
        this.wakeUp = undefined;
        resolve(retry && !this.stopped && !signal.aborted);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(true), delayMs);
      const poll = setInterval(() => {
        if (polling) return;
        polling = true;
        void this.fingerprint().then((now) => {
          polling = false;
          if (now !== held.seen && this.wakeUp === finish) {
            held.seen = now;
            this.opts.log.info('a credentials file changed: trying the held request again');
            finish(true);
          }
        });
      }, this.opts.filePollMs ?? AUTH_HOLD_FILE_POLL_MS);
      signal.addEventListener('abort', onAbort, { once: true });
      this.wakeUp = finish;
    });
  }

  /** A reload (SIGHUP): a held destination tries its head request now. */
  retry(): void {
    if (this.wakeUp === undefined) return;
    this.opts.log.info('reload: trying the held request again');
    this.wakeUp(true);
  }

  /** The sender stops: a wait in progress ends, the request stays queued. */
  stop(): void {
    this.stopped = true;
    this.wakeUp?.(false);
  }

  /** The receiver accepted a request: a hold is over. */
  accepted(queued: { requests: number; samples: number }): void {
    if (this.held === undefined) return;
    const { since, attempts } = this.held;
    this.held = undefined;
    this.opts.gauge.set(0);
    this.opts.log.info('the receiver accepts the credentials again: delivering what was held', {
      held_for: describeDuration(this.now() - since),
      refused_attempts: attempts,
      queued_requests: queued.requests,
      queued_samples: queued.samples,
    });
  }

  private whatToFix(): string {
    const settings = this.opts.credentialSettings;
    if (settings.length === 0) return 'no credentials are configured: set --remote-write.username with --remote-write.password-file, or --remote-write.bearer-token-file';
    return `check ${settings.join(' and ')} (the user, the password or token, its write permission or scope, and the tenant)`;
  }

  /** What the credentials files hold now (a digest, never the secret), or why they cannot be read. */
  private async fingerprint(): Promise<string> {
    const parts = await Promise.all(
      this.opts.credentialFiles.map(async (path) => {
        try {
          return createHash('sha256').update(await readFile(path)).digest('hex');
        } catch (error) {
          return `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
        }
      }),
    );
    return parts.join(' ');
  }
}
