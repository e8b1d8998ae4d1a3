import { redactUrlsInText } from '../log/redact-url';
import { isoTime, type ReloadStatus } from './status-model';

/** The result of the last configuration reload (SIGHUP), for the status page. */
export class ReloadRecord {
  private last: ReloadStatus | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  succeeded(): void {
    this.last = { at: isoTime(this.now())!, ok: true, error: null };
  }

  /** `reason`: why (the running settings stayed); URLs in it are redacted. */
  failed(reason: string): void {
    this.last = { at: isoTime(this.now())!, ok: false, error: redactUrlsInText(reason) };
  }

  get status(): ReloadStatus | null {
    return this.last;
  }
}
