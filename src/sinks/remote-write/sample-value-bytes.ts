// The 8 little-endian bytes of a Sample's double value (field 1, wire type 1).
//
// NaN payloads are not safe in V8: a signalling NaN such as Prometheus's
// stale marker 0x7ff0000000000002 gets its quiet bit set when it passes
// through number arrays, and protobufjs writes doubles through a
// Float64Array. So staleness is a flag in our data, never a number, and both
// NaN kinds are written from constant bytes here:
// - stale marker: exactly 02 00 00 00 00 00 f0 7f (Prometheus value.StaleNaN);
// - any other NaN: 01 00 00 00 00 00 f8 7f (Prometheus value.NormalNaN), so a
//   NaN that happens to carry the stale payload is never sent as stale.

/** Prometheus value.StaleNaN (0x7ff0000000000002), little endian. */
export const STALE_NAN_BYTES: Readonly<Uint8Array> = Uint8Array.of(0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f);

/** Prometheus value.NormalNaN (0x7ff8000000000001), little endian. */
export const NORMAL_NAN_BYTES: Readonly<Uint8Array> = Uint8Array.of(0x01, 0, 0, 0, 0, 0, 0xf8, 0x7f);

/** Writes the value's 8 bytes at `offset` of `target` (viewed by `view`); returns offset + 8. */
export function writeSampleValue(
  target: Uint8Array,
  view: DataView,
  offset: number,
  value: number,
  stale: boolean,
): number {
  if (stale) {
    target.set(STALE_NAN_BYTES, offset);
  } else if (value !== value) {
    target.set(NORMAL_NAN_BYTES, offset);
  } else {
    view.setFloat64(offset, value, true);
  }
  return offset + 8;
}
