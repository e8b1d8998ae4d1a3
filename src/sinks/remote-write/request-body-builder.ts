// Builds the uncompressed bytes of each sample request of a poll, then
// compresses them.
//
// A request is the concatenation, per sample, of the series' cached prefix,
// the 8 value bytes and the poll's timestamp field. In a steady state the
// n-th request of a poll holds the same series, in the same order, as the
// n-th request of the previous poll: only the value and timestamp bytes
// differ. So the previous bytes are kept as a template and, when the series
// match exactly (checked entry by entry), only those bytes are rewritten in
// place instead of copying every prefix again.

import type { CachedSeries } from './series-cache';
import { FLAG_STALE, type PollColumns } from './poll-columns';
import { writeSampleValue } from './sample-value-bytes';
import { snappyBlock } from './snappy-block';

interface Template {
  /** The series of each sample, in order. */
  entries: CachedSeries[];
  /** Uncompressed request bytes. */
  bytes: Uint8Array;
  view: DataView;
  /** Length of the timestamp field the bytes were laid out for. */
  timestampFieldLength: number;
}

export class RequestBodyBuilder {
  private templates: (Template | undefined)[] = [];

  /** Keeps templates for the first `count` requests only. */
  setRequestCount(count: number): void {
    if (this.templates.length > count) this.templates.length = count;
  }

  /** The compressed body of request number `index`: samples [start, end) of `cols`. */
  build(index: number, cols: PollColumns, start: number, end: number, timestampField: Uint8Array): Buffer {
    let template = this.templates[index];
    if (template !== undefined && this.matches(template, cols, start, end, timestampField.length)) {
      this.patch(template, cols, start, end, timestampField);
    } else {
      template = this.layOut(cols, start, end, timestampField);
      this.templates[index] = template;
    }
    return snappyBlock(template.bytes);
  }

  private matches(t: Template, cols: PollColumns, start: number, end: number, timestampFieldLength: number): boolean {
    if (t.timestampFieldLength !== timestampFieldLength || t.entries.length !== end - start) return false;
    const entries = cols.entries;
    const previous = t.entries;
    for (let i = start, j = 0; i < end; i++, j++) {
      if (entries[i] !== previous[j]) return false;
    }
    return true;
  }

  /** Rewrites only the value and timestamp bytes of a matching template. */
  private patch(t: Template, cols: PollColumns, start: number, end: number, timestampField: Uint8Array): void {
    const buf = t.bytes;
    const view = t.view;
    const prefixLength = cols.prefixLength;
    const values = cols.values;
    const flags = cols.flags;
    const tailLength = timestampField.length;
    let off = 0;
    for (let i = start; i < end; i++) {
      off = writeSampleValue(buf, view, off + prefixLength[i]!, values[i]!, flags[i] === FLAG_STALE);
      for (let j = 0; j < tailLength; j++) buf[off + j] = timestampField[j]!;
      off += tailLength;
    }
  }

  /** Writes a request from scratch: prefix, value, timestamp field per sample. */
  private layOut(cols: PollColumns, start: number, end: number, timestampField: Uint8Array): Template {
    const entries = cols.entries;
    const prefixLength = cols.prefixLength;
    const values = cols.values;
    const flags = cols.flags;
    const tailLength = timestampField.length;

    let size = (end - start) * (8 + tailLength);
    for (let i = start; i < end; i++) size += prefixLength[i]!;
    const buf = new Uint8Array(size);
    const view = new DataView(buf.buffer);
    let off = 0;
    for (let i = start; i < end; i++) {
      buf.set(entries[i]!.prefix, off); // (measured ~3x faster than a byte loop for these 40-100 byte copies)
      off = writeSampleValue(buf, view, off + prefixLength[i]!, values[i]!, flags[i] === FLAG_STALE);
      for (let j = 0; j < tailLength; j++) buf[off + j] = timestampField[j]!;
      off += tailLength;
    }
    return { entries: entries.slice(start, end), bytes: buf, view, timestampFieldLength: tailLength };
  }
}
