// Turns one poll of a target (its families, in the model every source and
// registry produces) into snappy-compressed remote-write request bodies. The
// sink sees only RemoteWriteEncoder; the 1.0 implementation is below, the
// 2.0 one in remote-write-2-encoder.ts. Pure: no I/O, no clock (time comes
// from the caller). Its pieces: the poll's samples in order, stale markers
// included (poll-collector.ts, with staleness-tracker.ts), when metadata is
// due (metadata-schedule.ts), where requests are cut (request-splitter.ts)
// and their bytes (sample-request-writer.ts). docs/remote-write-encoding.md
// has the design.

import type { Labels, LabelledFamilies } from '../../model/metric-family';
import { splitPoints } from './request-splitter';
import { snappyBlock } from './snappy-block';
import { metadataFromFamilies } from './series-labels';
import { type MetricMetadataMessage, getWriteRequestSchema } from './write-request-schema';
import { MetadataSchedule } from './metadata-schedule';
import { SampleRequestWriter, timestampVarint } from './sample-request-writer';
import { PollCollector, type Series } from './poll-collector';
import type { TimestampRefusal } from './sample-timestamps';

export interface EncodedWriteRequest {
  /** Snappy block-compressed protobuf WriteRequest. */
  body: Buffer;
  /** Number of samples inside (0 for metadata requests). */
  samples: number;
  /** Newest sample timestamp inside (the poll's timestamp for metadata requests). */
  maxTimestampMs: number;
  kind: 'samples' | 'metadata';
}

/** One target's encoder: call encodePoll once per poll; `encodePoll([], ts)` ends every series it sent. */
export interface RemoteWriteEncoder {
  encodePoll(groups: readonly LabelledFamilies[], timestampMs: number): EncodedWriteRequest[];
  /** The samples the last encodePoll() left out for their timestamps (as a scrape would refuse them), one entry per family and reason. */
  readonly refusals: readonly TimestampRefusal[];
}

export interface RemoteWrite1EncoderOptions {
  /** Most samples (or metadata entries) per request. Default 2000, as Prometheus. */
  maxSamplesPerRequest: number;
  /** Least time between metadata emissions, measured on poll timestamps. Default 60000. */
  metadataIntervalMs?: number;
  /** Labels added to every series that has no label of that name (job, instance). */
  externalLabels?: Labels;
}

const DEFAULT_MAX_SAMPLES_PER_REQUEST = 2000;

/** The newest timestamp of samples [start, end): the poll's, or a later one of their own. */
export function newestTimestamp(pollMs: number, stamps: Float64Array | undefined, start: number, end: number): number {
  if (stamps === undefined) return pollMs;
  let newest = -Infinity;
  for (let i = start; i < end; i++) {
    const ms = stamps[i]!;
    newest = Math.max(newest, ms === ms ? ms : pollMs);
  }
  return newest === -Infinity ? pollMs : newest;
}

/** maxSamplesPerRequest, checked (a positive integer; default 2000). */
export function maxSamplesOption(max: number | undefined): number {
  const n = max ?? DEFAULT_MAX_SAMPLES_PER_REQUEST;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`maxSamplesPerRequest must be a positive integer, got ${n}`);
  return n;
}

/** Prometheus remote-write 1.0 (prometheus.WriteRequest). */
export class RemoteWrite1Encoder implements RemoteWriteEncoder {
  private readonly maxSamples: number;
  private readonly metadata: MetadataSchedule;
  /** The poll's samples in order, stale markers last. */
  private readonly collector: PollCollector;
  /** Sample request bytes, kept from poll to poll. */
  private readonly requests = new SampleRequestWriter<Series>();

  constructor(opts: RemoteWrite1EncoderOptions) {
    this.maxSamples = maxSamplesOption(opts.maxSamplesPerRequest);
    this.metadata = new MetadataSchedule(opts.metadataIntervalMs);
    this.collector = new PollCollector(opts.externalLabels ?? {});
  }

  get refusals(): readonly TimestampRefusal[] {
    return this.collector.refusals;
  }

  /**
   * One poll: every sample gets the poll's integer-ms timestamp, unless it
   * has one of its own (docs/remote-write-encoding.md, "Sample timestamps":
   * those a scrape would refuse are left out, see `refusals`); series
   * stamped with the previous call's time but absent now get one stale
   * marker. A series listed twice is sent once (the first). Requests hold at
   * most maxSamplesPerRequest samples, a histogram/summary family in one
   * request unless it alone is larger. Metadata requests come first, on the
   * first call and whenever metadataIntervalMs has passed since the last ones.
   */
  encodePoll(groups: readonly LabelledFamilies[], timestampMs: number): EncodedWriteRequest[] {
    if (!Number.isFinite(timestampMs)) throw new RangeError(`timestamp must be a finite number of ms, got ${timestampMs}`);
    const ts = Math.floor(timestampMs);
    const out: EncodedWriteRequest[] = [];
    if (this.metadata.due(ts) && this.encodeMetadata(groups, ts, out)) this.metadata.sent(ts);

    const { samples, values, boundary, stamps, n, liveCount } = this.collector.collect(groups, ts);
    const ends = splitPoints(boundary, n, this.maxSamples);
    const timestamp = timestampVarint(ts);
    ends.forEach((end, k) => {
      const start = k === 0 ? 0 : ends[k - 1]!;
      const body = snappyBlock(this.requests.write(k, samples, values, liveCount, start, end, timestamp, stamps));
      out.push({ body, samples: end - start, maxTimestampMs: newestTimestamp(ts, stamps, start, end), kind: 'samples' });
    });
    this.requests.keep(ends.length);
    return out;
  }

  /** Appends metadata requests for the families of `groups`; false if there was nothing to send. */
  private encodeMetadata(groups: readonly LabelledFamilies[], ts: number, out: EncodedWriteRequest[]): boolean {
    const metadata = metadataFromFamilies(groups.flatMap((group) => group.families));
    const { WriteRequest } = getWriteRequestSchema();
    for (let start = 0; start < metadata.length; start += this.maxSamples) {
      // proto3 leaves out default values (type UNKNOWN, empty help/unit), as Prometheus does.
      const chunk = metadata.slice(start, start + this.maxSamples).map((m) => {
        const message: Partial<MetricMetadataMessage> = { metricFamilyName: m.metricFamilyName };
        if (m.type !== 0) message.type = m.type;
        if (m.help !== '') message.help = m.help;
        if (m.unit !== '') message.unit = m.unit;
        return message;
      });
      out.push({ body: snappyBlock(WriteRequest.encode({ metadata: chunk }).finish()), samples: 0, maxTimestampMs: ts, kind: 'metadata' });
    }
    return metadata.length > 0;
  }
}

