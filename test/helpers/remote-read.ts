import { Writer } from 'protobufjs';
import { compress } from 'snappyjs';
import { type DecodedTimeSeries, decodeWriteRequestProto, snappyBlockDecompress } from './independent-remote-write-decoder';

/**
 * Prometheus' remote-read API (`POST /api/v1/read`, prompb.ReadRequest,
 * SAMPLES response): the raw samples a Prometheus stored, stale markers
 * included (the query API leaves them out of range vectors), each with its
 * timestamp and its value's bytes as stored (`valueHex`, little endian).
 */

/** Matcher types of prompb.LabelMatcher. */
const MATCH = { '=': 0, '!=': 1, '=~': 2, '!~': 3 } as const;

export interface RawMatcher {
  readonly name: string;
  readonly op: keyof typeof MATCH;
  readonly value: string;
}

/** Prometheus' StaleNaN as stored (little endian), as a remote-read sample's `valueHex` shows it. */
export const STALE_NAN_HEX = '020000000000f07f';

/** The prompb.ReadRequest of one query, uncompressed. */
function readRequest(matchers: readonly RawMatcher[], startMs: number, endMs: number): Uint8Array {
  const w = Writer.create();
  w.uint32(0x0a).fork();
  w.uint32(0x08).int64(startMs).uint32(0x10).int64(endMs);
  for (const m of matchers) w.uint32(0x1a).fork().uint32(0x08).int32(MATCH[m.op]).uint32(0x12).string(m.name).uint32(0x1a).string(m.value).ldelim();
  w.ldelim();
  return w.finish();
}

/** The length-delimited fields numbered `number` of a protobuf message (other fields skipped). */
function lengthDelimited(buf: Uint8Array, number: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = buf[p++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
  };
  while (p < buf.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const length = varint();
      if (key >>> 3 === number) out.push(buf.subarray(p, p + length));
      p += length;
    } else throw new Error(`remote read: wire type ${wire} not expected`);
  }
  return out;
}

/** Every series matching `matchers` with its raw samples in [startMs, endMs]. */
export async function remoteRead(prometheusUrl: string, matchers: readonly RawMatcher[], startMs: number, endMs: number): Promise<DecodedTimeSeries[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/read`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Read-Version': '0.1.0' },
    body: Buffer.from(compress(readRequest(matchers, startMs, endMs))),
  });
  const body = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) throw new Error(`remote read answered ${res.status}: ${Buffer.from(body).toString().slice(0, 300)}`);
  const response = snappyBlockDecompress(body).data;
  // ReadResponse.results (1) are QueryResults, whose timeseries (1) are laid out as a WriteRequest's.
  return lengthDelimited(response, 1).flatMap((result) => decodeWriteRequestProto(result).timeseries);
}
