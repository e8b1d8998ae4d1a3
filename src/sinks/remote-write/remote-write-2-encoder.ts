// Prometheus remote-write 2.0 (io.prometheus.write.v2.Request): the same
// samples as the 1.0 encoder (poll-collector.ts: the poll's timestamp or the
// sample's own, stale markers for vanished series, classic histograms and summaries as
// their _bucket/quantile, _sum and _count series), written with a symbol
// table per request and each series' metadata (type, help, unit) beside it,
// so there are no metadata requests. Bytes: v2-request-writer.ts.

import type { LabelledFamilies } from '../../model/metric-family';
import { splitPoints } from './request-splitter';
import { snappyBlock } from './snappy-block';
import { timestampVarint } from './sample-request-writer';
import { PollCollector, type Series } from './poll-collector';
import { V2RequestWriter } from './v2-request-writer';
import { type EncodedWriteRequest, type RemoteWrite1EncoderOptions, type RemoteWriteEncoder, maxSamplesOption, newestTimestamp } from './remote-write-encoder';
import type { TimestampRefusal } from './sample-timestamps';

export type RemoteWrite2EncoderOptions = Omit<RemoteWrite1EncoderOptions, 'metadataIntervalMs'>;

export class RemoteWrite2Encoder implements RemoteWriteEncoder {
  private readonly maxSamples: number;
  private readonly collector: PollCollector;
  private readonly requests = new V2RequestWriter<Series>();

  constructor(opts: RemoteWrite2EncoderOptions) {
    this.maxSamples = maxSamplesOption(opts.maxSamplesPerRequest);
    this.collector = new PollCollector(opts.externalLabels ?? {}, true);
  }

  get refusals(): readonly TimestampRefusal[] {
    return this.collector.refusals;
  }

  /** One poll, as RemoteWrite1Encoder.encodePoll, but every request is a 2.0 Request of samples (kind 'samples'). */
  encodePoll(groups: readonly LabelledFamilies[], timestampMs: number): EncodedWriteRequest[] {
    if (!Number.isFinite(timestampMs)) throw new RangeError(`timestamp must be a finite number of ms, got ${timestampMs}`);
    const ts = Math.floor(timestampMs);
    const { samples, values, boundary, stamps, n, liveCount } = this.collector.collect(groups, ts);
    const ends = splitPoints(boundary, n, this.maxSamples);
    const timestamp = timestampVarint(ts);
    const out: EncodedWriteRequest[] = [];
    ends.forEach((end, k) => {
      const start = k === 0 ? 0 : ends[k - 1]!;
      const body = snappyBlock(this.requests.write(k, samples, values, liveCount, start, end, timestamp, stamps));
      out.push({ body, samples: end - start, maxTimestampMs: newestTimestamp(ts, stamps, start, end), kind: 'samples' });
    });
    this.requests.keep(ends.length);
    return out;
  }
}
