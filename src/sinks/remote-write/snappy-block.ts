// Snappy *block* compression (the remote-write spec forbids the framed
// format) through snappyjs.

import { compress } from 'snappyjs';

/** Compresses `data` as one snappy block; the result is a Buffer of exactly the compressed size. */
export function snappyBlock(data: Uint8Array): Buffer {
  // Given a Buffer, snappyjs returns a view into its worst-case-sized
  // allocation (about 1.17x the input), which a queue would then hold on to.
  // Given a plain Uint8Array it returns an exact-size copy.
  const plain = Buffer.isBuffer(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
  const out = compress(plain);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
