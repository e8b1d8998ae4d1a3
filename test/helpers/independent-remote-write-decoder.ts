// An independent decoder for remote-write 1.0 request bodies, used to check
// the encoder byte by byte. Written from the format descriptions only
// (snappy's format_description.txt, the protobuf wire-format encoding guide
// and prompb's field numbers); it deliberately uses neither snappyjs nor
// protobufjs, so a bug shared with the code under test cannot hide itself.

export class DecodeError extends Error {}

// ---------------------------------------------------------------- snappy ---

/** Snappy framing-format stream identifier chunk; a remote-write body must NOT start with it. */
export const SNAPPY_FRAMED_MAGIC = Uint8Array.of(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59);

export function startsWithFramedMagic(body: Uint8Array): boolean {
  if (body.length < SNAPPY_FRAMED_MAGIC.length) return false;
  for (let i = 0; i < SNAPPY_FRAMED_MAGIC.length; i++) if (body[i] !== SNAPPY_FRAMED_MAGIC[i]) return false;
  return true;
}

/** Reads a little-endian base-128 varint (up to 2^53) at pos: [value, nextPos]. */
function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new DecodeError('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [result, pos];
    scale *= 128;
  }
  throw new DecodeError('varint longer than 10 bytes');
}

export interface SnappyBlock {
  /** The length announced by the block's leading varint. */
  declaredLength: number;
  data: Uint8Array;
}

/** Decompresses one snappy block (the raw format, without framing). */
export function snappyBlockDecompress(input: Uint8Array): SnappyBlock {
  const [declaredLength, start] = readVarint(input, 0);
  const out = new Uint8Array(declaredLength);
  let ip = start;
  let op = 0;
  while (ip < input.length) {
    const tag = input[ip++]!;
    const kind = tag & 3;
    if (kind === 0) {
      // literal: length-1 in the upper 6 bits, or in 1..4 following bytes
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59;
        len = 0;
        for (let i = 0; i < extra; i++) len += input[ip + i]! * 2 ** (8 * i);
        ip += extra;
      }
      len += 1;
      if (ip + len > input.length || op + len > out.length) throw new DecodeError('literal out of range');
      for (let i = 0; i < len; i++) out[op++] = input[ip++]!;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[ip++]!;
    } else if (kind === 2) {
      len = (tag >>> 2) + 1;
      offset = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
    } else {
      len = (tag >>> 2) + 1;
      offset = input[ip]! + input[ip + 1]! * 2 ** 8 + input[ip + 2]! * 2 ** 16 + input[ip + 3]! * 2 ** 24;
      ip += 4;
    }
    if (offset === 0 || offset > op) throw new DecodeError(`bad copy offset ${offset} at output ${op}`);
    if (op + len > out.length) throw new DecodeError('copy past declared length');
    // byte by byte: copies may overlap their own output
    for (let i = 0; i < len; i++, op++) out[op] = out[op - offset]!;
  }
  if (op !== declaredLength) throw new DecodeError(`decompressed ${op} bytes, header said ${declaredLength}`);
  return { declaredLength, data: out };
}

// -------------------------------------------------------------- protobuf ---

interface Field {
  number: number;
  wireType: number;
  /** varint value (wire type 0) */
  varint?: number;
  /** raw bytes: payload of wire type 2, or the 8/4 bytes of wire types 1/5 */
  bytes?: Uint8Array;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    pos = afterKey;
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (number === 0) throw new DecodeError('field number 0');
    switch (wireType) {
      case 0: {
        const [v, next] = readVarint(buf, pos);
        pos = next;
        yield { number, wireType, varint: v };
        break;
      }
      case 1:
        if (pos + 8 > buf.length) throw new DecodeError('truncated fixed64');
        yield { number, wireType, bytes: buf.subarray(pos, pos + 8) };
        pos += 8;
        break;
      case 2: {
        const [len, next] = readVarint(buf, pos);
        if (next + len > buf.length) throw new DecodeError('truncated length-delimited field');
        yield { number, wireType, bytes: buf.subarray(next, next + len) };
        pos = next + len;
        break;
      }
      case 5:
        if (pos + 4 > buf.length) throw new DecodeError('truncated fixed32');
        yield { number, wireType, bytes: buf.subarray(pos, pos + 4) };
        pos += 4;
        break;
      default:
        throw new DecodeError(`unsupported wire type ${wireType}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function expectWireType(f: Field, wireType: number, where: string): void {
  if (f.wireType !== wireType) throw new DecodeError(`${where} field ${f.number}: wire type ${f.wireType}, expected ${wireType}`);
}

export interface DecodedLabel {
  name: string;
  value: string;
}
export interface DecodedSample {
  value: number;
  /** The 8 value bytes as they are on the wire (little endian), as lowercase hex. */
  valueHex: string;
  /** The whole Sample message, as lowercase hex. */
  sampleHex: string;
  timestamp: number;
}
export interface DecodedTimeSeries {
  labels: DecodedLabel[];
  samples: DecodedSample[];
}
export interface DecodedMetadata {
  type: number;
  metricFamilyName: string;
  help: string;
  unit: string;
}
export interface DecodedWriteRequest {
  timeseries: DecodedTimeSeries[];
  metadata: DecodedMetadata[];
  /** Field numbers found that remote-write 1.0 does not define at that level. */
  unknownFields: string[];
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function decodeLabel(buf: Uint8Array, unknown: string[]): DecodedLabel {
  const label: DecodedLabel = { name: '', value: '' };
  for (const f of fields(buf)) {
    if (f.number === 1) {
      expectWireType(f, 2, 'Label');
      label.name = utf8.decode(f.bytes);
    } else if (f.number === 2) {
      expectWireType(f, 2, 'Label');
      label.value = utf8.decode(f.bytes);
    } else unknown.push(`Label.${f.number}`);
  }
  return label;
}

function decodeSample(buf: Uint8Array, unknown: string[]): DecodedSample {
  const sample: DecodedSample = { value: 0, valueHex: '0000000000000000', sampleHex: hex(buf), timestamp: 0 };
  for (const f of fields(buf)) {
    if (f.number === 1) {
      expectWireType(f, 1, 'Sample');
      const b = f.bytes!;
      sample.valueHex = hex(b);
      sample.value = new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
    } else if (f.number === 2) {
      expectWireType(f, 0, 'Sample');
      // int64 as a varint; remote-write timestamps are positive and < 2^53
      sample.timestamp = f.varint!;
    } else unknown.push(`Sample.${f.number}`);
  }
  return sample;
}

function decodeTimeSeries(buf: Uint8Array, unknown: string[]): DecodedTimeSeries {
  const ts: DecodedTimeSeries = { labels: [], samples: [] };
  for (const f of fields(buf)) {
    if (f.number === 1) {
      expectWireType(f, 2, 'TimeSeries');
      ts.labels.push(decodeLabel(f.bytes!, unknown));
    } else if (f.number === 2) {
      expectWireType(f, 2, 'TimeSeries');
      ts.samples.push(decodeSample(f.bytes!, unknown));
    } else unknown.push(`TimeSeries.${f.number}`);
  }
  return ts;
}

function decodeMetadata(buf: Uint8Array, unknown: string[]): DecodedMetadata {
  const md: DecodedMetadata = { type: 0, metricFamilyName: '', help: '', unit: '' };
  for (const f of fields(buf)) {
    if (f.number === 1) {
      expectWireType(f, 0, 'MetricMetadata');
      md.type = f.varint!;
    } else if (f.number === 2) {
      expectWireType(f, 2, 'MetricMetadata');
      md.metricFamilyName = utf8.decode(f.bytes);
    } else if (f.number === 4) {
      expectWireType(f, 2, 'MetricMetadata');
      md.help = utf8.decode(f.bytes);
    } else if (f.number === 5) {
      expectWireType(f, 2, 'MetricMetadata');
      md.unit = utf8.decode(f.bytes);
    } else unknown.push(`MetricMetadata.${f.number}`);
  }
  return md;
}

/** Decodes an uncompressed prometheus.WriteRequest. */
export function decodeWriteRequestProto(buf: Uint8Array): DecodedWriteRequest {
  const req: DecodedWriteRequest = { timeseries: [], metadata: [], unknownFields: [] };
  for (const f of fields(buf)) {
    if (f.number === 1) {
      expectWireType(f, 2, 'WriteRequest');
      req.timeseries.push(decodeTimeSeries(f.bytes!, req.unknownFields));
    } else if (f.number === 3) {
      expectWireType(f, 2, 'WriteRequest');
      req.metadata.push(decodeMetadata(f.bytes!, req.unknownFields));
    } else req.unknownFields.push(`WriteRequest.${f.number}`);
  }
  return req;
}

/** Decodes a request body: snappy block, then WriteRequest. Throws on framed snappy. */
export function decodeRemoteWriteBody(body: Uint8Array): DecodedWriteRequest & { uncompressedLength: number } {
  if (startsWithFramedMagic(body)) throw new DecodeError('body uses the snappy framing format');
  const block = snappyBlockDecompress(body);
  return { ...decodeWriteRequestProto(block.data), uncompressedLength: block.declaredLength };
}

/** `name{a="1",b="2"}`-style key of decoded labels in wire order (for readable assertions). */
export function seriesId(labels: readonly DecodedLabel[]): string {
  return labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',');
}

/** The value of one label, or undefined. */
export function labelValue(labels: readonly DecodedLabel[], name: string): string | undefined {
  for (const l of labels) if (l.name === name) return l.value;
  return undefined;
}

// ------------------------------------------------------ remote-write 2.0 ---
// io.prometheus.write.v2.Request, from the field numbers of Prometheus'
// prompb/io/prometheus/write/v2/types.proto: Request symbols = 4,
// timeseries = 5; TimeSeries labels_refs = 1, samples = 2, histograms = 3,
// exemplars = 4, metadata = 5; Metadata type = 1, help_ref = 3, unit_ref = 4.

export interface DecodedV2Metadata {
  type: number;
  helpRef: number;
  unitRef: number;
}
export interface DecodedV2TimeSeries {
  labelsRefs: number[];
  /** labelsRefs resolved through the symbols, in wire order. */
  labels: DecodedLabel[];
  samples: DecodedSample[];
  /** undefined when the series has no metadata field. */
  metadata: DecodedV2Metadata | undefined;
  /** help and unit resolved ('' for ref 0). */
  help: string;
  unit: string;
}
export interface DecodedV2Request {
  symbols: string[];
  timeseries: DecodedV2TimeSeries[];
  unknownFields: string[];
}

function decodePackedRefs(f: Field, out: number[]): void {
  if (f.wireType === 0) {
    out.push(f.varint!);
    return;
  }
  expectWireType(f, 2, 'TimeSeries');
  for (let pos = 0; pos < f.bytes!.length; ) {
    const [v, next] = readVarint(f.bytes!, pos);
    out.push(v);
    pos = next;
  }
}

/** Decodes an uncompressed io.prometheus.write.v2.Request; refs beyond the symbols throw. */
export function decodeV2RequestProto(buf: Uint8Array): DecodedV2Request {
  const req: DecodedV2Request = { symbols: [], timeseries: [], unknownFields: [] };
  const raw: Uint8Array[] = [];
  for (const f of fields(buf)) {
    if (f.number === 4) {
      expectWireType(f, 2, 'Request');
      req.symbols.push(utf8.decode(f.bytes));
    } else if (f.number === 5) {
      expectWireType(f, 2, 'Request');
      raw.push(f.bytes!);
    } else req.unknownFields.push(`Request.${f.number}`);
  }
  const symbol = (ref: number) => {
    if (ref >= req.symbols.length) throw new DecodeError(`ref ${ref} beyond ${req.symbols.length} symbols`);
    return req.symbols[ref]!;
  };
  for (const bytes of raw) {
    const ts: DecodedV2TimeSeries = { labelsRefs: [], labels: [], samples: [], metadata: undefined, help: '', unit: '' };
    for (const f of fields(bytes)) {
      if (f.number === 1) decodePackedRefs(f, ts.labelsRefs);
      else if (f.number === 2) {
        expectWireType(f, 2, 'TimeSeries');
        ts.samples.push(decodeSample(f.bytes!, req.unknownFields));
      } else if (f.number === 5) {
        expectWireType(f, 2, 'TimeSeries');
        const md: DecodedV2Metadata = { type: 0, helpRef: 0, unitRef: 0 };
        for (const m of fields(f.bytes!)) {
          if (m.number === 1) md.type = m.varint!;
          else if (m.number === 3) md.helpRef = m.varint!;
          else if (m.number === 4) md.unitRef = m.varint!;
          else req.unknownFields.push(`Metadata.${m.number}`);
        }
        ts.metadata = md;
      } else req.unknownFields.push(`TimeSeries.${f.number}`);
    }
    if (ts.labelsRefs.length % 2 !== 0) throw new DecodeError('odd number of label refs');
    for (let i = 0; i < ts.labelsRefs.length; i += 2) ts.labels.push({ name: symbol(ts.labelsRefs[i]!), value: symbol(ts.labelsRefs[i + 1]!) });
    ts.help = symbol(ts.metadata?.helpRef ?? 0);
    ts.unit = symbol(ts.metadata?.unitRef ?? 0);
    req.timeseries.push(ts);
  }
  return req;
}

/** Decodes a 2.0 request body: snappy block, then Request. */
export function decodeRemoteWrite2Body(body: Uint8Array): DecodedV2Request {
  if (startsWithFramedMagic(body)) throw new DecodeError('body uses the snappy framing format');
  return decodeV2RequestProto(snappyBlockDecompress(body).data);
}
