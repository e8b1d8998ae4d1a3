import type { Logger } from '../../log/logger';
import { ConditionLog } from '../../log/condition-log';
import type { HttpOutcome, HttpTransport } from '../../http/http-transport';
import { classifyResponse, describeDrop } from '../../http/retry-policy';
import { sendWithRetries } from '../../http/send-with-retries';
import { looksLikeHtml } from '../html-answer';
import type { PushgatewayMetrics } from './pushgateway-metrics';

/** Distinct refusal messages remembered (bounded memory if every answer differs). */
const MAX_REFUSALS_REMEMBERED = 32;

/** The least time the DELETE at shutdown gets, even when the push before it used up the deadline. */
const DELETE_MIN_BUDGET_MS = 5000;

/** Text exposition 0.0.4, which every Pushgateway version parses. */
export const PUSHGATEWAY_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface PushgatewaySenderOptions {
  /** The group's URL without credentials, for labels and logs. */
  readonly displayUrl: string;
  readonly transport: HttpTransport;
  readonly metrics: PushgatewayMetrics;
  readonly log: Logger;
  /** Wait before the one retry of a failed push. */
  readonly retryBackoffMs: number;
  readonly deleteOnShutdown: boolean;
  /** Milliseconds clock of the condition logs (default Date.now); for tests. */
  readonly now?: () => number;
}

/**
 * Pushes the registry to one Pushgateway group with PUT (the group then holds
 * exactly this state). The gateway keeps only the latest state, so nothing
 * is queued: a failed push is retried once after a short backoff and
 * otherwise replaced by the next interval's push. At most one push is in
 * flight; a push asked for meanwhile runs right after, with fresh data.
 */
export class PushgatewaySender {
  private inFlight: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Cuts a retry's wait short at stop(). */
  private readonly stopWaiting = new AbortController();
  /** Cuts requests in flight at the shutdown deadline. */
  private readonly abort = new AbortController();
  /**
   * Failed attempts (network errors, 5xx, 429): logged when they start, then
   * once a minute with the count, then once when a push gets through.
   */
  private readonly outage: ConditionLog;
  /** Refused pushes (4xx): the same rule, and each distinct explanation is logged when it first appears. */
  private readonly refused: ConditionLog;
  /**
   * The explanations logged since the last accepted push, so the same one
   * is not repeated every interval. A set, not the last one: the gateway
   * reports a type clash from either side at random (Go map order), so two
   * messages alternate for one cause.
   */
  private readonly refusalsLogged = new Set<string>();
  private pushed = false;
  private htmlWarned = false;

  /** The body of the next push: the newest poll's text, rendered when the push starts. */
  private render: () => Promise<string> = async () => '';

  constructor(private readonly opts: PushgatewaySenderOptions) {
    const now = opts.now ?? Date.now;
    this.outage = new ConditionLog(opts.log, { now });
    this.refused = new ConditionLog(opts.log, { now, level: 'error' });
    // Every result exists from the first push on, at 0, so rate() and alerts see the first failure.
    for (const result of ['success', 'retried_success', 'failed']) opts.metrics.pushes.inc({ url: opts.displayUrl, result }, 0);
  }

  /** The group's URL without credentials. */
  get url(): string {
    return this.opts.displayUrl;
  }

  /** Called after each poll with that poll's text; never waits for the network. */
  push(render: () => Promise<string>): void {
    if (this.stopped) return;
    this.render = render;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.pushLoop().finally(() => (this.inFlight = undefined));
  }

  /**
   * Lets a push in flight finish (its retry wait cut short) for up to
   * `deadlineMs`, then aborts it; then DELETEs the group when configured
   * (or when `deleteGroup` says so: a bridge removed by a reload), within
   * what is left of the deadline (at least DELETE_MIN_BUDGET_MS: a
   * decommissioned bridge's group must really go).
   */
  async stop(deadlineMs: number, deleteGroup: 'on-shutdown' | 'removed' | 'keep' = 'on-shutdown'): Promise<void> {
    const started = Date.now();
    this.stopped = true;
    this.again = false;
    this.stopWaiting.abort();
    const timer = setTimeout(() => this.abort.abort(), deadlineMs);
    await this.inFlight;
    clearTimeout(timer);
    if ((this.opts.deleteOnShutdown && deleteGroup === 'on-shutdown') || deleteGroup === 'removed') {
      const budgetMs = Math.max(deadlineMs - (Date.now() - started), DELETE_MIN_BUDGET_MS);
      const outcome = await this.opts.transport.send({ method: 'DELETE', headers: {} }, AbortSignal.timeout(budgetMs));
      const decision = classifyResponse(outcome, { retryOn429: false });
      if (decision.kind === 'success') {
        this.opts.log.info(
          deleteGroup === 'removed' ? 'deleted the group of a bridge removed by a reload from the Pushgateway' : 'deleted the group from the Pushgateway (--pushgateway.delete-on-shutdown)',
        );
      }
      else this.opts.log.error('could not delete the group from the Pushgateway', { err: this.explain(outcome) });
    }
    this.opts.transport.close();
  }

  private async pushLoop(): Promise<void> {
    do {
      this.again = false;
      await this.pushOnce();
    } while (this.again && !this.stopped);
  }

  private async pushOnce(): Promise<void> {
    const { metrics, log, displayUrl } = this.opts;
    const started = performance.now();
    let body: Buffer;
    try {
      body = Buffer.from(await this.render(), 'utf8');
    } catch (err) {
      // Nobody awaits push(): a rejection here would be unhandled and end the process.
      log.error('could not render the metrics to push', { err: err instanceof Error ? err.message : String(err) });
      metrics.pushes.inc({ url: displayUrl, result: 'failed' });
      return;
    }
    const result = await sendWithRetries(
      this.opts.transport,
      () => ({ method: 'PUT', body, headers: { 'Content-Type': PUSHGATEWAY_CONTENT_TYPE } }),
      {
        // The gateway keeps only the latest state: one retry, then the next interval's push replaces this one.
        maxAttempts: 2,
        retryOn429: true,
        // A Retry-After of 0 (or a date in the past) still waits the backoff: "retried once after a short backoff".
        delayMs: (_retry, retryAfterMs) => Math.min(retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : this.opts.retryBackoffMs, 60_000),
      },
      {
        signal: this.abort.signal,
        giveUpWaiting: this.stopWaiting.signal,
        onAttempt: ({ attempt, outcome, decision, retryInMs }) => {
          if (decision.kind !== 'retry') return;
          // While the gateway stays down: a warning when it starts failing, one a minute with the count, the rest at debug.
          const message = retryInMs !== undefined ? 'push failed, retrying once' : attempt > 0 ? 'push failed again; the next interval pushes fresh data' : 'push failed';
          const fields = { reason: decision.reason, err: this.explain(outcome) };
          if (!this.outage.report(message, fields, { failed_attempts: 1 })) log.debug(message, fields);
        },
      },
    );
    if (result.kind === 'done') {
      const { decision, outcome, attempts } = result;
      if (decision.kind === 'success') {
        metrics.pushes.inc({ url: displayUrl, result: attempts === 1 ? 'success' : 'retried_success' });
        metrics.lastSuccess.set({ url: displayUrl }, Date.now() / 1000);
        metrics.duration.observe({ url: displayUrl }, (performance.now() - started) / 1000);
        this.accepted(outcome);
        return;
      }
      if (decision.kind === 'drop') {
        this.outage.end('Pushgateway answers again', { after: 'failures' });
        // A 4xx will not change on retry; say why when it starts and once per distinct answer, then once a minute.
        const preview = outcome.kind === 'response' ? outcome.bodyPreview : '';
        const refusal = refusalKey(decision.status, preview);
        const news = !this.refusalsLogged.has(refusal);
        const message = describeRefusal(decision.status, preview);
        const logged = this.refused.report(message, { status: decision.status }, { refused_pushes: 1 });
        if (news) {
          if (!logged) log.error(message, { status: decision.status });
          if (this.refusalsLogged.size >= MAX_REFUSALS_REMEMBERED) this.refusalsLogged.clear();
          this.refusalsLogged.add(refusal);
        }
      }
    }
    metrics.pushes.inc({ url: displayUrl, result: 'failed' });
    metrics.duration.observe({ url: displayUrl }, (performance.now() - started) / 1000);
  }

  /** A push got through: the conditions are over; the first one, and an HTML answer, are worth a line. */
  private accepted(outcome: HttpOutcome): void {
    const { log } = this.opts;
    if (!this.pushed) {
      this.pushed = true;
      log.info('first push accepted by the Pushgateway', { status: outcome.kind === 'response' ? outcome.status : 0 });
    }
    this.outage.end('Pushgateway accepts pushes again', { after: 'failures' });
    this.refused.end('Pushgateway accepts pushes again', { after: 'refusals' });
    this.refusalsLogged.clear();
    if (!this.htmlWarned && looksLikeHtml(outcome)) {
      this.htmlWarned = true;
      log.warn(
        `the Pushgateway URL answered ${outcome.kind === 'response' ? outcome.status : '2xx'} with an HTML page: that is a web UI (Grafana's, Prometheus', the gateway's own page behind a proxy), not the push API, and the metrics are most likely not stored; ` +
          'check --pushgateway.url: it is the base URL of the gateway (http://host:9091), without /metrics/...',
        { content_type: outcome.kind === 'response' ? (outcome.headers['content-type'] ?? '') : '' },
      );
    }
  }

  private explain(outcome: HttpOutcome): string {
    return outcome.kind === 'network-error' ? outcome.message : `HTTP ${outcome.status}: ${outcome.bodyPreview.slice(0, 200)}`;
  }
}

/**
 * The log line for a refused push. A 400 is the gateway saying the metrics
 * are malformed or clash with another group's (the same name with another
 * type, or a duplicate series); its body says which.
 */
function describeRefusal(status: number, bodyPreview: string): string {
  if (status !== 400) return describeDrop(status, bodyPreview).replace('the batch is dropped, not retried', 'this push is dropped');
  const body = bodyPreview.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/ {2,}/g, ' ').trim().slice(0, 1024);
  return (
    'Pushgateway answered HTTP 400 Bad Request: it refused the metrics as malformed or inconsistent with another group ' +
    '(a metric of the same name with another type, or a duplicate series); this push is dropped and the next ones will be ' +
    `refused alike until that is resolved; ${body === '' ? 'the response body was empty' : `response body: ${body}`}`
  );
}

/**
 * What makes two refusals "the same" for the log: the status and the body
 * without sample values. The gateway quotes the offending sample
 * (`collected metric "x" { ... counter:<value:42 > } is not a GAUGE`), and
 * its value changes with every poll; without this the same refusal would be
 * logged every interval. Label values (`value:"a"`, quoted) are kept.
 */
export function refusalKey(status: number, bodyPreview: string): string {
  const withoutValues = bodyPreview.replace(
    /\b(value|sample_count|sample_sum|cumulative_count|timestamp_ms)\s*:\s*[-+]?(?:[0-9][0-9.eE+-]*|[Nn]a[Nn]|[Ii]nf)(?=[\s>]|$)/g,
    '$1:_',
  );
  return `${status} ${withoutValues}`;
}
