import { redactUrl } from '../log/redact-url';
import { fetchEndpoint, type BridgeEndpoint, type FetchedBody } from './fetch-endpoint';
import type { MetricFamily } from '../model/metric-family';
import type { PollFailureReason, PollOutcome, SkippedField, Source } from './source';

/** What a body of an endpoint says, judged without I/O. */
export type BodyReading =
  | { readonly ok: true; readonly families: readonly MetricFamily[]; readonly skipped: readonly SkippedField[] }
  | { readonly ok: false; readonly reason: PollFailureReason; readonly message: string };

/** How one kind of endpoint is asked and read: its Accept header, and how a body is read (no I/O; a reader may remember the last body). */
export interface EndpointReader {
  readonly accept: string;
  read(body: FetchedBody, maxSeries: number): BodyReading;
}

/** One endpoint of a bridge: GET it (the shared transport), then read the body with the endpoint's reader. */
export class EndpointSource implements Source {
  private readonly where: string;

  constructor(
    private readonly endpoint: BridgeEndpoint,
    private readonly reader: EndpointReader,
    private readonly maxSeries: number,
  ) {
    this.where = redactUrl(endpoint.url);
  }

  async poll(signal: AbortSignal): Promise<PollOutcome> {
    const started = performance.now();
    const fetched = await fetchEndpoint(this.endpoint, this.reader.accept, signal);
    if (!fetched.ok) return fetched;
    const reading = this.reader.read(fetched, this.maxSeries);
    const durationMs = performance.now() - started;
    return reading.ok
      ? { ok: true, families: reading.families, skipped: reading.skipped, endpoint: this.where, durationMs }
      : { ok: false, reason: reading.reason, message: `${this.where}: ${reading.message}`, durationMs };
  }

  close(): void {
    this.endpoint.transport.close();
  }
}
