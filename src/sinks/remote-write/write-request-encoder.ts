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
import { SeriesCache } from './series-cache';
import { FamilyPositions } from './family-positions';
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
  /** Labels added to every series that has no label of that name (job, instance). */
  externalLabels?: Readonly<Record<string, string>>;
}

export const DEFAULT_MAX_SAMPLES_PER_REQUEST = 2000;
export const DEFAULT_METADATA_INTERVAL_MS = 60_000;

function toIntegerMs(timestampMs: number): number {
  if (!Number.isFinite(timestampMs)) throw new RangeError(`timestamp must be a finite number of ms, got ${timestampMs}`);
  return Math.floor(timestampMs);
}

export class WriteRequestEncoder {
  private readonly maxSamples: number;
  private readonly metadataIntervalMs: number;
  private readonly cache: SeriesCache;
  private readonly columns = new PollColumns();
  private readonly positions = new Map<string, FamilyPositions>();
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
    this.cache = new SeriesCache(opts.externalLabels);
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
    if (this.metadataDue(ts) && this.encodeMetadata(families, ts, out)) this.lastMetadataMs = ts;

    const timestampField = Writer.create().uint32(getWriteRequestSchema().tags.sampleTimestamp).int64(ts).finish();
    this.collect(families, ts, timestampField.length);

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
  private collect(families: RegistryFamily[], ts: number, timestampFieldLength: number): void {
    const poll = ++this.poll;
    const cache = this.cache;
    const cols = this.columns;
    cache.startPoll(ts, timestampFieldLength);
    cols.startPoll();
    // Per-series state, in typed arrays indexed by series id (re-read after cache.add()).
    let lastSeen = cache.lastSeen;
    let lastIndex = cache.lastIndex;
    let prefixLength = cache.prefixLength;
    let carriedOver = 0; // live series that were also live in the previous poll

    for (let f = 0; f < families.length; f++) {
      const family = families[f]!;
      const values = family.values;
      if (!values || values.length === 0) continue;
      const together = keepFamilyTogether(family.type);
      const countName = together ? family.name + '_count' : '';
      const familyStart = cols.length;
      const positions = this.familyPositions(family.name, poll);
      positions.begin(values.length);
      let shift = 0; // series added (<0) or removed (>0) before position i since the previous poll
      for (let i = 0; i < values.length; i++) {
        const value = values[i]!;
        const metricName = seriesMetricName(family, value);
        const labels = value.labels;
        const guess = i + shift;
        let entry = positions.match(guess, metricName, labels);
        let id: number;
        const inPlace = entry !== undefined && shift === 0;
        if (entry !== undefined) {
          id = positions.idAt(guess);
        } else {
          entry = cache.get(metricName, labels) ?? cache.add(metricName, labels, family.name, together);
          id = entry.id;
          lastSeen = cache.lastSeen;
          lastIndex = cache.lastIndex;
          prefixLength = cache.prefixLength;
          const last = lastIndex[id]!;
          if (last >= 0 && positions.at(last) === entry) shift = last - i;
        }
        positions.record(i, entry, id, inPlace);
        const seen = lastSeen[id]!;
        if (seen === poll) continue; // the same series twice in one poll: keep the first
        if (seen === poll - 1) carriedOver++;
        lastSeen[id] = poll;
        lastIndex[id] = i;
        const boundary = !together ? UNIT_END : metricName === countName ? ATOM_END : INSIDE;
        cols.push(entry, id, value.value, 0, boundary, prefixLength[id]!);
      }
      positions.end(values.length);
      if (together && cols.length > familyStart) cols.boundary[cols.length - 1] = UNIT_END;
    }
    cols.endLive();

    // Stale markers for series of the previous poll that are gone now
    // (none if every one of them was seen again).
    const previous = cols.previousEntries;
    const previousIds = cols.previousIds;
    const previousLive = carriedOver === cols.previousLiveLength ? 0 : cols.previousLiveLength;
    for (let i = 0; i < previousLive; i++) {
      const id = previousIds[i]!;
      if (lastSeen[id] === poll) continue;
      const entry = previous[i]!;
      cols.push(entry, id, 0, FLAG_STALE, UNIT_END, prefixLength[id]!);
      const last = cols.length - 1;
      if (last > cols.liveLength) {
        const before = cols.entries[last - 1]!;
        if (before.keepTogether && entry.keepTogether && before.family === entry.family) {
          cols.boundary[last - 1] = ATOM_END;
        }
      }
    }
    // Evict only now: eviction frees ids, and previousIds must stay meaningful until the loop ends.
    for (let i = cols.liveLength; i < cols.length; i++) cache.evict(cols.entries[i]!);

    for (const [name, positions] of this.positions) {
      if (positions.poll !== poll) this.positions.delete(name);
    }
  }

  /** The family's positions from the previous poll. */
  private familyPositions(name: string, poll: number): FamilyPositions {
    let positions = this.positions.get(name);
    if (positions === undefined || positions.poll === poll) {
      // New family, or the same family name twice in one poll (then no guesses for the second).
      positions = new FamilyPositions();
      this.positions.set(name, positions);
    }
    positions.poll = poll;
    return positions;
  }

  /** Appends metadata requests for `families`; false if there was nothing to send. */
  private encodeMetadata(families: RegistryFamily[], ts: number, out: EncodedWriteRequest[]): boolean {
    const metadata = metadataFromFamilies(families);
    if (metadata.length === 0) return false;
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
    return true;
  }
}
