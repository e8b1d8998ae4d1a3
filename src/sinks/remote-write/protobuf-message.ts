// Which protobuf message a destination is written with, and what a 2.0
// answer says. A destination configured for 2.0 (io.prometheus.write.v2.Request)
// falls back to 1.0 (prometheus.WriteRequest) for the rest of the process
// when the receiver shows it did not read 2.0: a 2xx without the
// X-Prometheus-Remote-Write-*-Written headers (Prometheus 2.x and
// VictoriaMetrics answer 204 and store nothing), or 415 Unsupported Media
// Type. The request is then sent again as 1.0 (v2-to-v1.ts); it is never
// counted as delivered. docs/remote-write.md has the whole story.

import type { Logger } from '../../log/logger';
import type { HttpOutcome } from '../../http/http-transport';
import { WRITE_REQUEST_V1, WRITE_REQUEST_V2, PROTOBUF_MESSAGES, type ProtobufMessage } from './remote-write-options';
import type { RemoteWriteMetrics } from './remote-write-metrics';

/** The headers the remote-write 1.0 spec requires (User-Agent is set by the transport). */
export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

/** The headers of remote-write 2.0: the Content-Type exactly so (a space before proto= makes Prometheus 3.5 read the body as 1.0). */
export const REMOTE_WRITE_2_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
  'X-Prometheus-Remote-Write-Version': '2.0.0',
};

export interface WrittenCounts {
  readonly samples: number;
  readonly histograms: number;
  readonly exemplars: number;
}

const WRITTEN_HEADERS = {
  samples: 'x-prometheus-remote-write-samples-written',
  histograms: 'x-prometheus-remote-write-histograms-written',
  exemplars: 'x-prometheus-remote-write-exemplars-written',
} as const;

/** What a 2.0 receiver says it wrote; undefined when the answer has none of the three headers (a receiver that did not read 2.0). */
export function writtenCounts(outcome: HttpOutcome): WrittenCounts | undefined {
  if (outcome.kind !== 'response') return undefined;
  const read = (name: string): number | undefined => {
    const raw = outcome.headers[name];
    if (raw === undefined) return undefined;
    const n = Number(raw.trim());
    return Number.isInteger(n) && n >= 0 ? n : 0;
  };
  const samples = read(WRITTEN_HEADERS.samples);
  const histograms = read(WRITTEN_HEADERS.histograms);
  const exemplars = read(WRITTEN_HEADERS.exemplars);
  if (samples === undefined && histograms === undefined && exemplars === undefined) return undefined;
  return { samples: samples ?? 0, histograms: histograms ?? 0, exemplars: exemplars ?? 0 };
}

/** Whether an answer to a 2.0 request shows a receiver that does not read 2.0: a 2xx without the written counts, or 415. */
export function ignoredV2(outcome: HttpOutcome): boolean {
  if (outcome.kind !== 'response') return false;
  if (outcome.status === 415) return true;
  return outcome.status >= 200 && outcome.status <= 299 && writtenCounts(outcome) === undefined;
}

/** A destination's message now: the configured one until a fallback; exported as jvb_remote_write_protobuf_message. */
export class MessageChoice {
  private now: ProtobufMessage;

  constructor(
    configured: ProtobufMessage,
    private readonly labels: { remote_name: string; url: string },
    private readonly metrics: RemoteWriteMetrics,
    private readonly log: Logger,
    /** How the user named the setting, for the log line. */
    private readonly setting: string,
  ) {
    this.now = configured;
    this.export();
  }

  get message(): ProtobufMessage {
    return this.now;
  }

  get v2(): boolean {
    return this.now === WRITE_REQUEST_V2;
  }

  /** The receiver did not read 2.0: 1.0 from now on, logged once. */
  fallBack(outcome: HttpOutcome): void {
    if (this.now === WRITE_REQUEST_V1) return;
    this.now = WRITE_REQUEST_V1;
    this.export();
    const status = outcome.kind === 'response' ? outcome.status : 0;
    const server = outcome.kind === 'response' ? (outcome.headers['server'] ?? '') : '';
    this.log.warn(
      `the receiver ${this.labels.url} does not read remote-write 2.0 (${this.setting}=${WRITE_REQUEST_V2}): it answered ${status} ` +
        `${status === 415 ? '(Unsupported Media Type)' : 'without the X-Prometheus-Remote-Write-Samples-Written header, so it stored nothing'}; ` +
        `the requests are sent again as ${WRITE_REQUEST_V1} and this destination stays on it until the agent restarts: set ${this.setting}=${WRITE_REQUEST_V1} to start there`,
      { status, ...(server === '' ? {} : { server }) },
    );
  }

  private export(): void {
    for (const message of PROTOBUF_MESSAGES) this.metrics.protobufMessage.set({ ...this.labels, message }, message === this.now ? 1 : 0);
  }
}
