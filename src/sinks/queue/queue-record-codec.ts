/**
 * The record format of the on-disk request queue (see docs/queue-format.md
 * for the whole layout) and the CRC-32C that guards it.
 *
 * A record is a 28-byte header followed by the payload (the request body):
 *
 *   offset size  field
 *        0    4  magic "JQR1" (bytes 4a 51 52 31)
 *        4    4  payload length, u32 LE
 *        8    4  samples, u32 LE
 *       12    8  maxTimestampMs, f64 LE
 *       20    4  CRC-32C of the payload, u32 LE
 *       24    4  CRC-32C of header bytes 0..23, u32 LE
 *
 * The header has its own checksum so that a damaged length is never trusted
 * (it would send the reader to the wrong place), and so that the reader can
 * resynchronise after damage: it looks for the next magic whose header
 * checksum holds.
 */

export const RECORD_MAGIC: Buffer = Buffer.from('JQR1', 'latin1');
export const RECORD_HEADER_BYTES = 28;
const MAX_U32 = 0xffff_ffff;

export interface RecordHeader {
  readonly payloadLength: number;
  readonly samples: number;
  readonly maxTimestampMs: number;
  readonly payloadCrc: number;
}

/** Castagnoli polynomial, reflected. */
const POLY = 0x82f63b78;

/** Slice-by-8 tables: TABLES[k][b] is the CRC of byte b followed by k zero bytes. */
const TABLES: Int32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    tables[0]![b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = tables[0]![b]!;
    for (let k = 1; k < 8; k++) {
      c = tables[0]![c & 0xff]! ^ (c >>> 8);
      tables[k]![b] = c;
    }
  }
  return tables;
})();

/** CRC-32C (Castagnoli) of `data`, as an unsigned 32-bit number. crc32c("123456789") === 0xe3069283. */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let crc = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[data[i + 4]!]! ^
      t2[data[i + 5]!]! ^
      t1[data[i + 6]!]! ^
      t0[data[i + 7]!]!;
  }
  for (; i < end; i++) crc = t0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** Throws a RangeError when the entry's fields can't be represented in a header. */
export function encodeRecordHeader(payload: Uint8Array, samples: number, maxTimestampMs: number): Buffer {
  if (payload.length > MAX_U32) throw new RangeError(`request body too large for a queue record: ${payload.length} bytes`);
  if (!Number.isInteger(samples) || samples < 0 || samples > MAX_U32) throw new RangeError(`samples must be an integer in 0..${MAX_U32}, got ${samples}`);
  if (!Number.isFinite(maxTimestampMs)) throw new RangeError(`maxTimestampMs must be a finite number, got ${maxTimestampMs}`);
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  RECORD_MAGIC.copy(header, 0);
  header.writeUInt32LE(payload.length, 4);
  header.writeUInt32LE(samples, 8);
  header.writeDoubleLE(maxTimestampMs, 12);
  header.writeUInt32LE(crc32c(payload), 20);
  header.writeUInt32LE(crc32c(header, 0, 24), 24);
  return header;
}

/**
 * The header at `buf[at..at+28)`, or undefined when the bytes are not a
 * valid header (too short, wrong magic, or header checksum mismatch).
 */
export function decodeRecordHeader(buf: Buffer, at = 0): RecordHeader | undefined {
  if (buf.length - at < RECORD_HEADER_BYTES) return undefined;
  if (buf[at] !== RECORD_MAGIC[0] || buf[at + 1] !== RECORD_MAGIC[1] || buf[at + 2] !== RECORD_MAGIC[2] || buf[at + 3] !== RECORD_MAGIC[3]) {
    return undefined;
  }
  if (crc32c(buf, at, at + 24) !== buf.readUInt32LE(at + 24)) return undefined;
  return {
    payloadLength: buf.readUInt32LE(at + 4),
    samples: buf.readUInt32LE(at + 8),
    maxTimestampMs: buf.readDoubleLE(at + 12),
    payloadCrc: buf.readUInt32LE(at + 20),
  };
}

/** Whether `payload` matches the checksum in its header. */
export function payloadMatches(header: RecordHeader, payload: Uint8Array): boolean {
  return payload.length === header.payloadLength && crc32c(payload) === header.payloadCrc;
}
