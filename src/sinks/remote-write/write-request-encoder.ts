// Turns one poll of a prom-client registry into snappy-compressed
// remote-write 1.0 WriteRequest bodies. Pure: no I/O, no clock (time comes
// from the caller), state is only the label cache and the previous poll's
// series (for stale markers) and when metadata was last emitted.
//
// Wire layout of a sample request (see series-cache.ts for the cached part):
//   WriteRequest := (0a <len> TimeSeries)*
//   TimeSeries   := <cached label bytes> 12 <len> Sample
//   Sample       := 09 <8 bytes double LE> 10 <varint ms>

import { Writer } from 'protobufjs';
import { type CachedSeries, SeriesCache, isSpelledAs } from './series-cache';
import { FLAG_STALE, PollColumns } from './poll-columns';
import { splitPoints, INSIDE, ATOM_END, UNIT_END } from './request-splitter';
import { RequestBodyBuilder } from './request-body-builder';
import { snappyBlock } from './snappy-block';
import {
  type RegistryFamily,
  keepFamilyTogether,
  metadataFromFamilies,
  seriesMetricName,
} from './series-from-registry';
import { type MetricMetadataMessage, getWriteRequestSchema } from './write-request-schema';

export interface EncodedWriteRequest {
  /** Snappy block-compressed protobuf WriteRequest. */
  body: Buffer;
  /** Number of samples inside (0 for metadata requests). */
  samples: number;
  /** Newest sample timestamp inside (the poll's timestamp for metadata requests). */
  maxTimestampMs: number;
  kind: 'samples' | 'metadata';
}

export interface WriteRequestEncoderOptions {
  /** Most samples (or metadata entries) per request. Default 2000, as Prometheus. */
  maxSamplesPerRequest: number;
  /** Least time between metadata emissions, measured on poll timestamps. Default 60000. */
  metadataIntervalMs?: number;
}

export const DEFAULT_MAX_SAMPLES_PER_REQUEST = 2000;
export const DEFAULT_METADATA_INTERVAL_MS = 60_000;

function toIntegerMs(timestampMs: number): number {
  if (!Number.isFinite(timestampMs)) throw new RangeError(`timestamp must be a finite number of ms, got ${timestampMs}`);
  return Math.floor(timestampMs);
}

/**
 * A family's series by position in its values, in the previous and the
 * current poll. Registries list a family's series in the same order poll
 * after poll, so position i is first guessed from the previous poll.
 */
interface FamilyOrder {
  poll: number;
  previous: CachedSeries[];
  previousLength: number;
  current: CachedSeries[];
}

export class WriteRequestEncoder {
  private readonly maxSamples: number;
  private readonly metadataIntervalMs: number;
  private readonly cache = new SeriesCache();
  private readonly columns = new PollColumns();
  private readonly orders = new Map<string, FamilyOrder>();
  private poll = 0;
  private lastMetadataMs: number | undefined;
  private readonly bodies = new RequestBodyBuilder();

  constructor(opts: WriteRequestEncoderOptions) {
    const max = opts.maxSamplesPerRequest ?? DEFAULT_MAX_SAMPLES_PER_REQUEST;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxSamplesPerRequest must be a positive integer, got ${max}`);
    }
    const interval = opts.metadataIntervalMs ?? DEFAULT_METADATA_INTERVAL_MS;
    if (!(interval >= 0)) throw new RangeError(`metadataIntervalMs must be >= 0, got ${interval}`);
    this.maxSamples = max;
    this.metadataIntervalMs = interval;
  }

  /** Number of series whose label bytes are cached (live in the last poll). */
  get cachedSeriesCount(): number {
    return this.cache.size;
  }

  /**
   * One poll: every sample gets the same integer-ms timestamp. Series sent
   * by the previous call but absent now get one stale marker at this
   * timestamp. Splits into requests of at most maxSamplesPerRequest samples,
   * keeping each histogram/summary family in one request unless it alone is
   * larger. Metadata requests (no timeseries) come first, on the first call
   * and whenever metadataIntervalMs has passed since the last emission.
   */
  encodePoll(families: RegistryFamily[], timestampMs: number): EncodedWriteRequest[] {
    const ts = toIntegerMs(timestampMs);
    const out: EncodedWriteRequest[] = [];
    if (this.metadataDue(ts)) {
      this.encodeMetadata(families, ts, out);
      this.lastMetadataMs = ts;
    }

    const timestampField = Writer.create().uint32((2 << 3) | 0).int64(ts).finish();
    const sampleLength = 1 + 8 + timestampField.length;
    this.collect(families, sampleLength);

    const cols = this.columns;
    const n = cols.length;
    if (n > 0) {
      const ends = splitPoints(cols.boundary, n, this.maxSamples);
      this.bodies.setRequestCount(ends.length);
      let start = 0;
      for (let k = 0; k < ends.length; k++) {
        const end = ends[k]!;
        out.push({
          body: this.bodies.build(k, cols, start, end, timestampField),
          samples: end - start,
          maxTimestampMs: ts,
          kind: 'samples',
        });
        start = end;
      }
    } else {
      this.bodies.setRequestCount(0);
    }
    cols.trim();
    return out;
  }

  private metadataDue(ts: number): boolean {
    const last = this.lastMetadataMs;
    // A clock that went backwards also restarts the interval.
    return last === undefined || ts < last || ts - last >= this.metadataIntervalMs;
  }

  /** Fills `columns` with this poll's live samples then the stale markers, and updates the cache. */
  private collect(families: RegistryFamily[], sampleLength: number): void {
    const poll = ++this.poll;
    const cache = this.cache;
    const cols = this.columns;
    cols.startPoll();
    let carriedOver = 0; // live series that were also live in the previous poll

    for (let f = 0; f < families.length; f++) {
      const family = families[f]!;
      const values = family.values;
      if (!values || values.length === 0) continue;
      const together = keepFamilyTogether(family.type);
      const countName = together ? family.name + '_count' : '';
      const familyStart = cols.length;
      const order = this.familyOrder(family.name, poll);
      const previous = order.previous;
      const previousLength = order.previousLength;
      const current = order.current;
      let shift = 0;
      for (let i = 0; i < values.length; i++) {
        const value = values[i]!;
        const metricName = seriesMetricName(family, value);
        const labels = value.labels;
        const guess = i + shift;
        let entry = guess < previousLength ? previous[guess] : undefined;
        // The guess is checked exactly (name, label names, order and values).
        if (entry === undefined || !isSpelledAs(entry.spelling, metricName, labels)) {
          entry = cache.get(metricName, labels) ?? cache.add(metricName, labels, family.name, together, sampleLength);
          // Series were added or removed before this one: follow the new offset.
          const last = entry.lastIndex;
          if (last >= 0 && last < previousLength && previous[last] === entry) shift = last - i;
        }
        current[i] = entry;
        const lastSeen = entry.lastSeenPoll;
        if (lastSeen === poll) continue; // the same series twice in one poll: keep the first
        if (lastSeen === poll - 1) carriedOver++;
        entry.lastSeenPoll = poll;
        entry.lastIndex = i;
        const boundary = !together ? UNIT_END : metricName === countName ? ATOM_END : INSIDE;
        cols.push(entry, value.value, 0, boundary, cache.prefixLengthFor(entry, sampleLength));
      }
      order.previousLength = values.length; // becomes `previous` after the swap below
      if (together && cols.length > familyStart) cols.boundary[cols.length - 1] = UNIT_END;
    }
    cols.endLive();

    // Stale markers for series of the previous poll that are gone now
    // (none if every one of them was seen again).
    const previous = cols.previousEntries;
    const previousLive = carriedOver === cols.previousLiveLength ? 0 : cols.previousLiveLength;
    for (let i = 0; i < previousLive; i++) {
      const entry = previous[i]!;
      if (entry.lastSeenPoll === poll) continue;
      cols.push(entry, 0, FLAG_STALE, UNIT_END, cache.prefixLengthFor(entry, sampleLength));
      const last = cols.length - 1;
      if (last > cols.liveLength) {
        const before = cols.entries[last - 1]!;
        if (before.keepTogether && entry.keepTogether && before.family === entry.family) {
          cols.boundary[last - 1] = ATOM_END;
        }
      }
      cache.evict(entry);
    }

    for (const [name, order] of this.orders) {
      if (order.poll !== poll) {
        this.orders.delete(name);
        continue;
      }
      const swap = order.previous;
      order.previous = order.current;
      order.current = swap;
      if (swap.length > 2 * order.previousLength + 1024) swap.length = order.previousLength;
    }
  }

  /** The family's series order of the previous poll, and the array to fill for this one. */
  private familyOrder(name: string, poll: number): FamilyOrder {
    let order = this.orders.get(name);
    if (order === undefined) {
      order = { poll, previous: [], previousLength: 0, current: [] };
      this.orders.set(name, order);
    } else if (order.poll === poll) {
      // The same family name twice in one poll: no positional guesses for the second.
      order.previous = [];
      order.previousLength = 0;
      order.current = [];
    }
    order.poll = poll;
    return order;
  }

  private encodeMetadata(families: RegistryFamily[], ts: number, out: EncodedWriteRequest[]): void {
    const metadata = metadataFromFamilies(families);
    if (metadata.length === 0) return;
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
      out.push({
        body: snappyBlock(WriteRequest.encode({ metadata: chunk }).finish()),
        samples: 0,
        maxTimestampMs: ts,
        kind: 'metadata',
      });
    }
  }
}
