// The uncompressed bytes of a poll's remote-write 2.0 requests
// (io.prometheus.write.v2.Request, proto/io/prometheus/write/v2/types.proto),
// written by hand into one buffer per request sized up front. As for 1.0
// (sample-request-writer.ts), a request that holds the same series as the
// last poll's request of that number keeps its bytes: only values and
// timestamps are rewritten.
//
// Wire layout (field numbers of Prometheus 3.5 and later):
//   Request    := (22 <len> symbol)*  (2a <len> TimeSeries)*        symbols = 4, timeseries = 5
//                 symbol 0 is "", then every label name and value, help and unit of the request, once each
//   TimeSeries := 0a <len> <label refs, packed varints>             labels_refs = 1
//                 12 <len> Sample                                    samples = 2
//                 [2a <len> Metadata]                                metadata = 5 (left out when empty)
//   Sample     := 09 <8 bytes double LE> 10 <varint ms>              value = 1, timestamp = 2
//   Metadata   := [08 type] [18 help_ref] [20 unit_ref]              type = 1, help_ref = 3, unit_ref = 4
// Created/start timestamps (TimeSeries 6 in 3.5, Sample 3 from 3.9) are not written.

import type { SeriesDetail } from './poll-collector';
import { type TimestampLengths, lengthAt, sameTimestampLengths, timestampLengths, writeSamples } from './sample-request-writer';

/** What the writer needs of a series: its labels and metadata. */
export interface DetailedSeries {
  readonly detail: SeriesDetail | undefined;
}

interface Template<S> {
  series: S[];
  bytes: Uint8Array;
  view: DataView;
  valueAt: Int32Array;
  timestampLengths: TimestampLengths;
}

const varintSize = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

function writeVarint(bytes: Uint8Array, o: number, n: number): number {
  while (n >= 0x80) {
    bytes[o++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  bytes[o++] = n;
  return o;
}

/** One request's symbol table ("" first) and each series' references into it. */
class SymbolTable {
  readonly symbols: string[] = [''];
  private readonly index = new Map<string, number>([['', 0]]);

  ref(symbol: string): number {
    let ref = this.index.get(symbol);
    if (ref === undefined) {
      ref = this.symbols.length;
      this.symbols.push(symbol);
      this.index.set(symbol, ref);
    }
    return ref;
  }
}

export class V2RequestWriter<S extends DetailedSeries> {
  private readonly templates: Template<S>[] = [];

  /**
   * The uncompressed Request of samples [start, end) of a poll (those from
   * `liveCount` on are stale markers), as request number `k`, each at its
   * own timestamp (`stamps`, not NaN) or the poll's; valid until the next
   * poll's request `k`.
   */
  write(k: number, samples: readonly S[], values: Float64Array, liveCount: number, start: number, end: number, timestamp: Uint8Array, stamps?: Float64Array): Uint8Array {
    const n = end - start;
    let t = this.templates[k];
    let same = t !== undefined && t.series.length === n;
    for (let i = 0; same && i < n; i++) same = t!.series[i] === samples[start + i];
    if (!same || !sameTimestampLengths(t!.timestampLengths, timestamp, stamps, start, end)) {
      t = this.templates[k] = this.template(samples.slice(start, end), timestampLengths(timestamp, stamps, start, end));
    }
    const { bytes, view, valueAt } = t!;
    writeSamples(bytes, view, valueAt, start, n, values, liveCount, timestamp, stamps);
    return bytes;
  }

  /** The poll wrote `count` requests: the kept bytes of any beyond are let go. */
  keep(count: number): void {
    if (this.templates.length > count) this.templates.length = count;
  }

  /** Lays out a request for these series: symbols, then one TimeSeries each with room for its value and timestamp. */
  private template(series: S[], lengths: TimestampLengths): Template<S> {
    const table = new SymbolTable();
    // Per series: its label refs, then help_ref, unit_ref and type (refs[at[i]] .. refs[at[i + 1]] - 3 are label refs).
    const refs: number[] = [];
    const at = new Int32Array(series.length + 1);
    for (let i = 0; i < series.length; i++) {
      at[i] = refs.length;
      const detail = series[i]!.detail;
      if (detail === undefined) throw new Error('remote-write 2.0 needs the series detail (PollCollector keepDetail)');
      for (const l of detail.labels) refs.push(table.ref(l.name), table.ref(l.value));
      refs.push(detail.help === '' ? 0 : table.ref(detail.help), detail.unit === '' ? 0 : table.ref(detail.unit), detail.type);
    }
    at[series.length] = refs.length;
    const symbolBytes = table.symbols.map((s) => Buffer.byteLength(s, 'utf8'));
    let size = 0;
    for (const length of symbolBytes) size += 1 + varintSize(length) + length;
    const seriesLength = new Int32Array(series.length);
    const packedLength = new Int32Array(series.length);
    const metadataLength = new Int32Array(series.length);
    for (let i = 0; i < series.length; i++) {
      const end = at[i + 1]! - 3;
      let packed = 0;
      for (let r = at[i]!; r < end; r++) packed += varintSize(refs[r]!);
      const [help, unit, type] = [refs[end]!, refs[end + 1]!, refs[end + 2]!];
      const metadata = (type === 0 ? 0 : 1 + varintSize(type)) + (help === 0 ? 0 : 1 + varintSize(help)) + (unit === 0 ? 0 : 1 + varintSize(unit));
      const sampleLength = 1 + 8 + 1 + lengthAt(lengths, i);
      const length = 1 + varintSize(packed) + packed + 2 + sampleLength + (metadata === 0 ? 0 : 1 + varintSize(metadata) + metadata);
      packedLength[i] = packed;
      metadataLength[i] = metadata;
      seriesLength[i] = length;
      size += 1 + varintSize(length) + length;
    }
    const bytes = Buffer.alloc(size);
    let o = 0;
    table.symbols.forEach((s, j) => {
      bytes[o++] = 0x22;
      o = writeVarint(bytes, o, symbolBytes[j]!);
      o += bytes.write(s, o, 'utf8');
    });
    const valueAt = new Int32Array(series.length);
    for (let i = 0; i < series.length; i++) {
      const end = at[i + 1]! - 3;
      bytes[o++] = 0x2a;
      o = writeVarint(bytes, o, seriesLength[i]!);
      bytes[o++] = 0x0a;
      o = writeVarint(bytes, o, packedLength[i]!);
      for (let r = at[i]!; r < end; r++) o = writeVarint(bytes, o, refs[r]!);
      const sampleLength = 1 + 8 + 1 + lengthAt(lengths, i);
      bytes[o++] = 0x12;
      bytes[o++] = sampleLength;
      bytes[o++] = 0x09;
      valueAt[i] = o;
      bytes[o + 8] = 0x10;
      o += sampleLength - 1;
      const metadata = metadataLength[i]!;
      if (metadata === 0) continue;
      const [help, unit, type] = [refs[end]!, refs[end + 1]!, refs[end + 2]!];
      bytes[o++] = 0x2a;
      o = writeVarint(bytes, o, metadata);
      if (type !== 0) {
        bytes[o++] = 0x08;
        o = writeVarint(bytes, o, type);
      }
      if (help !== 0) {
        bytes[o++] = 0x18;
        o = writeVarint(bytes, o, help);
      }
      if (unit !== 0) {
        bytes[o++] = 0x20;
        o = writeVarint(bytes, o, unit);
      }
    }
    if (o !== size) throw new Error(`remote-write 2.0 request laid out as ${size} bytes but ${o} written`);
    return { series, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), valueAt, timestampLengths: lengths };
  }
}
