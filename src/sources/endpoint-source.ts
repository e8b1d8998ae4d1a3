import { redactUrl } from '../log/redact-url';
import { fetchEndpoint, type BridgeEndpoint, type FetchedBody } from './fetch-endpoint';
import type { MetricFamily } from '../model/metric-family';
import type { ReadDeadline } from './read-deadline';
import type { PollFailureReason, PollOutcome, SkippedField, Source } from './source';

/** What a body of an endpoint says, judged without I/O. */
export type BodyReading =
  | { readonly ok: true; readonly families: readonly MetricFamily[]; readonly skipped: readonly SkippedField[] }
  | { readonly ok: false; readonly reason: PollFailureReason; readonly message: string };

/**
 * How one kind of endpoint is asked and read: its Accept header, and how a
 * body is read (no I/O; a reader may remember the last body). A reader
 * answers at once, or, for a body too large to read in one go, reads it a
 * slice at a time and gives up (reason `timeout`, the message saying how
 * far it got) when the deadline passes, or (`aborted`) at shutdown.
 */
export interface EndpointReader {
  readonly accept: string;
  read(body: FetchedBody, maxSeries: number, deadline: ReadDeadline): BodyReading | Promise<BodyReading>;
}

/**
 * One endpoint of a bridge: GET it (the shared transport), then read the
 * body with the endpoint's reader, all within the poll's deadline: a body
 * read (parsed and mapped) past it fails the poll as a `timeout`.
 */
export class EndpointSource implements Source {
  private readonly where: string;

  constructor(
    private readonly endpoint: BridgeEndpoint,
    private readonly reader: EndpointReader,
    private readonly maxSeries: number,
  ) {
    this.where = redactUrl(endpoint.url);
  }

  /** `budgetMs`: the time the poll has (its deadline); none when omitted. */
  async poll(signal: AbortSignal, budgetMs?: number): Promise<PollOutcome> {
    const started = performance.now();
    const deadline: ReadDeadline = { signal, endsAt: started + (budgetMs ?? Number.POSITIVE_INFINITY) };
    const fetched = await fetchEndpoint(this.endpoint, this.where, this.reader.accept, signal);
    if (!fetched.ok) return fetched;
    const received = performance.now();
    if (received > deadline.endsAt) {
      const late = `the body, ${fetched.bytes} bytes, came ${Math.round(received - deadline.endsAt)}ms after the deadline`;
      return { ok: false, reason: 'timeout', message: `${this.where} did not answer ${within(budgetMs)} (${late})`, durationMs: received - started };
    }
    let reading = this.reader.read(fetched, this.maxSeries, deadline);
    // (A small body is read at once: no promise, no turn of the event loop.)
    if (reading instanceof Promise) reading = await reading;
    const ended = performance.now();
    const durationMs = ended - started;
    if (reading.ok && ended > deadline.endsAt) {
      const detail = `parsed in ${Math.round(ended - received)}ms, ${Math.round(ended - deadline.endsAt)}ms past the deadline`;
      return { ok: false, reason: 'timeout', message: this.tooSlow(fetched, budgetMs, received - started, detail), durationMs };
    }
    if (!reading.ok && reading.reason === 'timeout') {
      return { ok: false, reason: 'timeout', message: this.tooSlow(fetched, budgetMs, received - started, reading.message), durationMs };
    }
    return reading.ok
      ? { ok: true, families: reading.families, skipped: reading.skipped, endpoint: this.where, durationMs }
      : { ok: false, reason: reading.reason, message: `${this.where}: ${reading.message}`, durationMs };
  }

  close(): void {
    this.endpoint.transport.close();
  }

  private tooSlow(fetched: FetchedBody, budgetMs: number | undefined, receivedMs: number, detail: string): string {
    return `${this.where}: the body (${fetched.bytes} bytes, received in ${Math.round(receivedMs)}ms) took too long to parse: the poll must end ${within(budgetMs)} (${detail})`;
  }
}

function within(budgetMs: number | undefined): string {
  return budgetMs === undefined ? 'by its deadline' : `within ${Math.round(budgetMs)}ms`;
}
