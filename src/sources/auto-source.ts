import type { Logger } from '../log/logger';
import type { Failure, PollOutcome, Source } from './source';

/** How to switch each endpoint on, for the error when neither answers like a JVB. */
export const ENDPOINT_HINT =
  'switch one on in the JVB config: /metrics with videobridge.rest.prometheus.enabled=true (the default since stable 7648), ' +
  '/colibri/stats with videobridge.apis.rest.enabled=true (docker-jitsi-meet: COLIBRI_REST_ENABLED=true)';

export interface Candidate {
  /** What the logs call it: "/metrics", "/colibri/stats". */
  readonly endpoint: string;
  readonly source: Source;
}

/** Failures that mean "something answered, but not this endpoint of a JVB": worth trying the next endpoint. */
function isWrongEndpoint(failure: Failure): boolean {
  return failure.reason === 'http_status' || failure.reason === 'invalid_body' || failure.reason === 'not_jvb';
}

/**
 * `--jvb.source=auto` with a base URL: asks the candidates in order
 * (/metrics, then /colibri/stats) and keeps the first that answers like a
 * JVB; after a failed poll it asks again from the first, so a bridge
 * upgraded or reconfigured in place is followed. The choice is logged when
 * it is made or changes, not on every poll.
 */
export class AutoSource implements Source {
  private chosen: Candidate | undefined;
  private logged: Candidate | undefined;

  constructor(
    private readonly candidates: readonly Candidate[],
    private readonly log: Logger,
  ) {}

  /** `budgetMs`: the time the whole poll has, every endpoint asked included. */
  async poll(signal: AbortSignal, budgetMs?: number): Promise<PollOutcome> {
    if (this.chosen) {
      const outcome = await this.chosen.source.poll(signal, budgetMs);
      if (!outcome.ok) this.chosen = undefined;
      return outcome;
    }
    const failures: Array<{ candidate: Candidate; failure: Failure }> = [];
    let spent = 0;
    for (const candidate of this.candidates) {
      const outcome = await candidate.source.poll(signal, budgetMs === undefined ? undefined : Math.max(0, budgetMs - spent));
      spent += outcome.durationMs;
      if (outcome.ok) {
        this.chosen = candidate;
        if (this.logged !== candidate) {
          this.log.info('JVB endpoint detected', { endpoint: candidate.endpoint, url: outcome.endpoint });
          this.logged = candidate;
        }
        return { ...outcome, durationMs: spent };
      }
      // A bridge that is down, slow or cancelled is not looked for elsewhere: that is the answer.
      if (!isWrongEndpoint(outcome)) return { ...outcome, durationMs: spent };
      failures.push({ candidate, failure: outcome });
    }
    const tried = failures.map(({ candidate, failure }) => `${candidate.endpoint}: ${failure.message}`).join('; ');
    return { ok: false, reason: 'no_endpoint', message: `no JVB metrics endpoint answered (tried ${tried}); ${ENDPOINT_HINT}`, durationMs: spent };
  }

  close(): void {
    for (const candidate of this.candidates) candidate.source.close();
  }
}
