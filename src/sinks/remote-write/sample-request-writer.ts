// The uncompressed bytes of a poll's sample requests, written by hand into
// one buffer per request sized up front (protobufjs would build an object
// per sample). A poll usually has the same series in the same requests as
// the last one, so each request's bytes are kept and only its values and
// timestamps rewritten. docs/remote-write-encoding.md has the whole picture.
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
  timestampLength: number;
}

/** Length of the protobuf varint of a length (< 2^32). */
const varintSize = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

/** A poll's timestamp (integer ms) as the Sample's int64 varint (10 bytes if negative). */
export function timestampVarint(timestampMs: number): Uint8Array {
  return Writer.create().int64(timestampMs).finish();
}

export class SampleRequestWriter<S extends LabelledSeries> {
  /** The last poll's requests, by number. */
  private readonly templates: Template<S>[] = [];

  /**
   * The uncompressed WriteRequest of samples [start, end) of a poll (those
   * from `liveCount` on are stale markers, whatever their value), as
   * request number `k`. When the last poll's request `k` held the same
   * series, its bytes are reused and only the values and timestamps
   * rewritten: the result is valid until the next poll's request `k`.
   */
  write(
    k: number,
    samples: readonly S[],
    values: Float64Array,
    liveCount: number,
    start: number,
    end: number,
    timestamp: Uint8Array,
  ): Uint8Array {
    const n = end - start;
    let t = this.templates[k];
    let same = t !== undefined && t.series.length === n && t.timestampLength === timestamp.length;
    for (let i = 0; same && i < n; i++) same = t!.series[i] === samples[start + i];
    if (!same) {
      const sampleLength = 1 + 8 + 1 + timestamp.length;
      let size = 0;
      for (let i = start; i < end; i++) {
        const length = samples[i]!.key.length + 2 + sampleLength;
        size += 1 + varintSize(length) + length;
      }
      const bytes = Buffer.alloc(size);
      const valueAt = new Int32Array(n);
      let o = 0;
      for (let i = 0; i < n; i++) {
        const labels = samples[start + i]!.key;
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
      t = this.templates[k] = { series: samples.slice(start, end), bytes, view, valueAt, timestampLength: timestamp.length };
    }
    const { bytes, view, valueAt } = t!;
    for (let i = 0; i < n; i++) {
      const o = valueAt[i]!;
      const value = values[start + i]!;
      if (start + i >= liveCount) bytes.set(STALE_NAN, o);
      else if (value !== value) bytes.set(NORMAL_NAN, o);
      else view.setFloat64(o, value, true);
      for (let j = 0; j < timestamp.length; j++) bytes[o + 9 + j] = timestamp[j]!;
    }
    return bytes;
  }

  /** The poll wrote `count` requests: the kept bytes of any beyond (and the series they name) are let go. */
  keep(count: number): void {
    if (this.templates.length > count) this.templates.length = count;
  }
}
