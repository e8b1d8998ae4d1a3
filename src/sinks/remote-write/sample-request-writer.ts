// The uncompressed bytes of a poll's sample requests, written by hand into
// one buffer per request sized up front (protobufjs would build an object
// per sample). A poll usually has the same series in the same requests as
// the last one, so each request's bytes are kept and only its values and
// timestamps rewritten (as long as every timestamp's varint keeps its
// length). docs/remote-write-encoding.md has the whole picture.
//
// Wire layout of a 1.0 sample request:
//   WriteRequest := (0a <len> TimeSeries)*
//   TimeSeries   := <the series' Label fields, encoded once> 12 <len> Sample
//   Sample       := 09 <8 bytes double LE> 10 <varint ms>

import { Writer } from 'protobufjs';

/** What the writer needs of a series: its TimeSeries' Label fields (0a <len> Label, sorted), encoded once, as a latin1 string. */
export interface LabelledSeries {
  readonly key: string;
}

/**
 * Sample values are written from constant bytes where they are NaN, because
 * V8 may quieten a signalling NaN's payload. Staleness is therefore never a
 * number here: a stale marker is exactly Prometheus' StaleNaN
 * 0x7ff0000000000002, any other NaN Prometheus' NormalNaN 0x7ff8000000000001.
 */
export const STALE_NAN = Uint8Array.of(0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f);
export const NORMAL_NAN = Uint8Array.of(0x01, 0, 0, 0, 0, 0, 0xf8, 0x7f);

/** One request's series and uncompressed bytes, and where each value goes in them. */
interface Template<S> {
  series: S[];
  bytes: Uint8Array;
  view: DataView;
  valueAt: Int32Array;
  timestampLengths: TimestampLengths;
}

/** Length of the protobuf varint of a length (< 2^32). */
const varintSize = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

/** A timestamp (integer ms) as the Sample's int64 varint (10 bytes if negative). */
export function timestampVarint(timestampMs: number): Uint8Array {
  return Writer.create().int64(timestampMs).finish();
}

/** The varint length of a sample's own timestamp (without allocating for the usual, non-negative ones). */
function stampLength(ms: number): number {
  if (ms < 0 || ms > Number.MAX_SAFE_INTEGER) return timestampVarint(ms).length;
  let n = 1;
  for (; ms >= 128; n++) ms = Math.floor(ms / 128);
  return n;
}

/** Writes a sample's own timestamp as a varint at `o`. */
function writeStamp(bytes: Uint8Array, o: number, ms: number): void {
  if (ms < 0 || ms > Number.MAX_SAFE_INTEGER) {
    bytes.set(timestampVarint(ms), o);
    return;
  }
  for (; ms >= 128; ms = Math.floor(ms / 128)) bytes[o++] = (ms % 128) | 0x80;
  bytes[o] = ms;
}

/**
 * The varint length of each sample's timestamp in a request: one length for
 * all when every sample has the poll's (`all`), else one per sample.
 */
export interface TimestampLengths {
  readonly all: number;
  readonly each: Uint8Array | undefined;
}

/**
 * The timestamp lengths of samples [start, end): the poll's `timestamp` for
 * each, unless `stamps` gives one of its own (not NaN).
 */
export function timestampLengths(timestamp: Uint8Array, stamps: Float64Array | undefined, start: number, end: number): TimestampLengths {
  if (stamps === undefined) return { all: timestamp.length, each: undefined };
  const each = new Uint8Array(end - start);
  let own = false;
  for (let i = start; i < end; i++) {
    const ms = stamps[i]!;
    if (ms === ms) own = true;
    each[i - start] = ms === ms ? stampLength(ms) : timestamp.length;
  }
  return own ? { all: -1, each } : { all: timestamp.length, each: undefined };
}

/** Whether the kept request's timestamps have the lengths these samples need (so their bytes can be rewritten in place). */
export function sameTimestampLengths(kept: TimestampLengths, timestamp: Uint8Array, stamps: Float64Array | undefined, start: number, end: number): boolean {
  if (stamps === undefined) return kept.all === timestamp.length;
  for (let i = start; i < end; i++) {
    const ms = stamps[i]!;
    const length = ms === ms ? stampLength(ms) : timestamp.length;
    if (length !== (kept.each === undefined ? kept.all : kept.each[i - start]!)) return false;
  }
  return true;
}

/** The length of sample `i`'s timestamp varint in a request of these lengths. */
export const lengthAt = (lengths: TimestampLengths, i: number): number => (lengths.each === undefined ? lengths.all : lengths.each[i]!);

/**
 * Writes the values and timestamps of samples [start, start + n) of a poll
 * into a request's bytes, sample i's value at `valueAt[i]` and its
 * timestamp after the `10` tag that follows: a stale marker from `liveCount`
 * on, NaN as NormalNaN; the sample's own timestamp (`stamps`, not NaN) or the
 * poll's varint.
 */
export function writeSamples(
  bytes: Uint8Array,
  view: DataView,
  valueAt: Int32Array,
  start: number,
  n: number,
  values: Float64Array,
  liveCount: number,
  timestamp: Uint8Array,
  stamps: Float64Array | undefined,
): void {
  // (Two loops, so that a poll without timestamps of its own runs exactly as before they existed.)
  if (stamps === undefined) {
    for (let i = 0; i < n; i++) {
      const o = valueAt[i]!;
      writeValue(bytes, view, o, values[start + i]!, start + i >= liveCount);
      for (let j = 0; j < timestamp.length; j++) bytes[o + 9 + j] = timestamp[j]!;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const o = valueAt[i]!;
    writeValue(bytes, view, o, values[start + i]!, start + i >= liveCount);
    const ms = stamps[start + i]!;
    if (ms === ms) writeStamp(bytes, o + 9, ms);
    else for (let j = 0; j < timestamp.length; j++) bytes[o + 9 + j] = timestamp[j]!;
  }
}

/** A sample's 8 value bytes: the stale marker's or NormalNaN's from constant bytes, never through a JS number. */
function writeValue(bytes: Uint8Array, view: DataView, o: number, value: number, stale: boolean): void {
  if (stale) bytes.set(STALE_NAN, o);
  else if (value !== value) bytes.set(NORMAL_NAN, o);
  else view.setFloat64(o, value, true);
}

export class SampleRequestWriter<S extends LabelledSeries> {
  /** The last poll's requests, by number. */
  private readonly templates: Template<S>[] = [];

  /**
   * The uncompressed WriteRequest of samples [start, end) of a poll (those
   * from `liveCount` on are stale markers, whatever their value), as
   * request number `k`, each at its own timestamp (`stamps`, not NaN) or
   * the poll's. When the last poll's request `k` held the same series with
   * timestamps of the same lengths, its bytes are reused and only the values
   * and timestamps rewritten: the result is valid until the next poll's
   * request `k`.
   */
  write(
    k: number,
    samples: readonly S[],
    values: Float64Array,
    liveCount: number,
    start: number,
    end: number,
    timestamp: Uint8Array,
    stamps?: Float64Array,
  ): Uint8Array {
    const n = end - start;
    let t = this.templates[k];
    let same = t !== undefined && t.series.length === n;
    for (let i = 0; same && i < n; i++) same = t!.series[i] === samples[start + i];
    if (!same || !sameTimestampLengths(t!.timestampLengths, timestamp, stamps, start, end)) {
      const lengths = timestampLengths(timestamp, stamps, start, end);
      let size = 0;
      for (let i = start; i < end; i++) {
        const length = samples[i]!.key.length + 2 + 1 + 8 + 1 + lengthAt(lengths, i - start);
        size += 1 + varintSize(length) + length;
      }
      const bytes = Buffer.alloc(size);
      const valueAt = new Int32Array(n);
      let o = 0;
      for (let i = 0; i < n; i++) {
        const labels = samples[start + i]!.key;
        const sampleLength = 1 + 8 + 1 + lengthAt(lengths, i);
        bytes[o++] = 0x0a;
        for (let length = labels.length + 2 + sampleLength; ; length >>>= 7) {
          if (length < 0x80) {
            bytes[o++] = length;
            break;
          }
          bytes[o++] = (length & 0x7f) | 0x80;
        }
        o += bytes.write(labels, o, 'latin1');
        bytes[o++] = 0x12;
        bytes[o++] = sampleLength;
        bytes[o++] = 0x09;
        valueAt[i] = o;
        bytes[o + 8] = 0x10;
        o += sampleLength - 1;
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      t = this.templates[k] = { series: samples.slice(start, end), bytes, view, valueAt, timestampLengths: lengths };
    }
    const { bytes, view, valueAt } = t!;
    writeSamples(bytes, view, valueAt, start, n, values, liveCount, timestamp, stamps);
    return bytes;
  }

  /** The poll wrote `count` requests: the kept bytes of any beyond (and the series they name) are let go. */
  keep(count: number): void {
    if (this.templates.length > count) this.templates.length = count;
  }
}
