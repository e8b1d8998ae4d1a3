// Re-encodes a queued remote-write 2.0 request body as a 1.0 one, for a
// destination that turned out not to read 2.0 (docs/remote-write.md,
// "Falling back to 1.0"). The queue holds 2.0 bodies as the encoder wrote
// them; they carry everything 1.0 needs (labels, samples, metadata), so no
// other state is kept and a restart loses nothing. Samples are copied byte
// for byte (a stale marker's NaN bits never pass through a JS number).
//
// Which message a queued body is, is read from its first field: a 2.0
// Request has only fields 4 (symbols) and 5 (timeseries), a 1.0
// WriteRequest only 1 (timeseries) and 3 (metadata).

import { Writer } from 'protobufjs';
import { uncompress } from 'snappyjs';
import { snappyBlock } from './snappy-block';
import { MetricTypeNumber } from './write-request-schema';

export class TranscodeError extends Error {}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new TranscodeError('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [result, pos];
    scale *= 128;
  }
  throw new TranscodeError('varint longer than 10 bytes');
}

/** Calls `field(number, wireType, start, end)` for each field of `buf[from, to)`: for wire type 2 the payload, for 0 the varint value in `start`. */
function forEachField(buf: Uint8Array, from: number, to: number, field: (number: number, wireType: number, start: number, end: number) => void): void {
  let pos = from;
  while (pos < to) {
    const [tag, afterTag] = readVarint(buf, pos);
    const number = Math.floor(tag / 8);
    const wireType = tag & 7;
    pos = afterTag;
    switch (wireType) {
      case 0: {
        const [value, next] = readVarint(buf, pos);
        field(number, 0, value, next);
        pos = next;
        break;
      }
      case 1:
        field(number, 1, pos, pos + 8);
        pos += 8;
        break;
      case 2: {
        const [length, start] = readVarint(buf, pos);
        if (start + length > to) throw new TranscodeError('field runs past its message');
        field(number, 2, start, start + length);
        pos = start + length;
        break;
      }
      case 5:
        field(number, 5, pos, pos + 4);
        pos += 4;
        break;
      default:
        throw new TranscodeError(`unexpected wire type ${wireType}`);
    }
  }
  if (pos !== to) throw new TranscodeError('field runs past its message');
}

/** Whether a snappy-compressed request body is a 2.0 Request (its first field is 4 or 5), read off its first snappy literal without decompressing it. */
export function isV2RequestBody(body: Uint8Array): boolean {
  try {
    const [length, at] = readVarint(body, 0);
    if (length === 0 || at >= body.length) return false;
    const tag = body[at]!;
    if ((tag & 3) !== 0) return false; // a block starts with a literal
    const extra = tag >>> 2 < 60 ? 0 : (tag >>> 2) - 59;
    const first = body[at + 1 + extra];
    if (first === undefined) return false;
    const field = (first & 0x7f) >>> 3; // field numbers below 16 fit the first byte
    return field === 4 || field === 5;
  } catch {
    return false;
  }
}

/** A 2.0 series' family name for 1.0 metadata: a histogram's or summary's series name without its suffix. */
function familyName(name: string, type: number): string {
  const suffixes =
    type === MetricTypeNumber.HISTOGRAM || type === MetricTypeNumber.GAUGEHISTOGRAM
      ? ['_bucket', '_sum', '_count']
      : type === MetricTypeNumber.SUMMARY
        ? ['_sum', '_count']
        : [];
  for (const suffix of suffixes) if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
  return name;
}

/**
 * The 1.0 WriteRequest (snappy-compressed) holding the samples of a 2.0
 * Request (snappy-compressed) and one metadata entry per family named in
 * it. Native histograms and exemplars, which the agent never writes, are
 * not carried over.
 */
export function v2RequestToV1(body: Uint8Array): Buffer {
  const data: Uint8Array = uncompress(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  const symbols: Array<[number, number]> = [];
  const series: Array<[number, number]> = [];
  forEachField(data, 0, data.length, (number, wireType, start, end) => {
    if (wireType !== 2) return;
    if (number === 4) symbols.push([start, end]);
    else if (number === 5) series.push([start, end]);
  });
  const symbol = (ref: number) => {
    const s = symbols[ref];
    if (s === undefined) throw new TranscodeError(`label ref ${ref} beyond the ${symbols.length} symbols`);
    return data.subarray(s[0], s[1]);
  };
  const text = (ref: number) => Buffer.from(symbol(ref)).toString('utf8');
  const w = Writer.create();
  const metadata = new Map<string, { type: number; help: number; unit: number }>();
  for (const [from, to] of series) {
    const refs: number[] = [];
    const samples: Array<[number, number]> = [];
    let type = 0;
    let help = 0;
    let unit = 0;
    forEachField(data, from, to, (number, wireType, start, end) => {
      if (number === 1 && wireType === 2) for (let pos = start; pos < end; ) [refs[refs.length], pos] = readVarint(data, pos);
      else if (number === 1 && wireType === 0) refs.push(start);
      else if (number === 2 && wireType === 2) samples.push([start, end]);
      else if (number === 5 && wireType === 2) {
        forEachField(data, start, end, (m, mWire, value) => {
          if (mWire !== 0) return;
          if (m === 1) type = value;
          else if (m === 3) help = value;
          else if (m === 4) unit = value;
        });
      }
    });
    if (refs.length % 2 !== 0) throw new TranscodeError('odd number of label refs');
    if (samples.length === 0) continue;
    w.uint32(0x0a).fork();
    let name = '';
    for (let i = 0; i < refs.length; i += 2) {
      const labelName = symbol(refs[i]!);
      if (labelName.length === 8 && text(refs[i]!) === '__name__') name = text(refs[i + 1]!);
      w.uint32(0x0a).fork().uint32(0x0a).bytes(labelName).uint32(0x12).bytes(symbol(refs[i + 1]!)).ldelim();
    }
    for (const [start, end] of samples) w.uint32(0x12).bytes(data.subarray(start, end));
    w.ldelim();
    if (name !== '' && (type !== 0 || help !== 0 || unit !== 0)) {
      const family = familyName(name, type);
      if (!metadata.has(family)) metadata.set(family, { type, help, unit });
    }
  }
  for (const [family, m] of metadata) {
    w.uint32(0x1a).fork();
    if (m.type !== 0) w.uint32(0x08).uint32(m.type);
    w.uint32(0x12).string(family);
    if (m.help !== 0) w.uint32(0x22).bytes(symbol(m.help));
    if (m.unit !== 0) w.uint32(0x2a).bytes(symbol(m.unit));
    w.ldelim();
  }
  return snappyBlock(w.finish());
}
