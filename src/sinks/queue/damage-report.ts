import type { QueueLog } from './queue-file-io';
import type { RecordHeader } from './queue-record-codec';
import type { QueueDrop } from './request-queue';
import { segmentName, type Segment } from './segment-file';

/**
 * Damage found on disk, each reported once as a `corrupt` drop: what
 * recovery found at open or at a rebuild, and what the head meets later (a
 * damaged header skipped, a payload that fails its checksum).
 */

/** Damaged regions recovery found ("start:pos") and what each cost: undefined for a tail of zeros (no record there). */
export type FoundDamage = ReadonlyArray<{ readonly key: string; readonly drop: QueueDrop | undefined }>;

const EMPTY = Buffer.alloc(0);

export class DamageReport {
  /** Regions recovery reported already, so that reaching them later is not reported twice. */
  private readonly known = new Set<string>();
  private payloadEntries = 0;
  private payloadSamples = 0;

  constructor(
    private readonly log: QueueLog,
    private readonly now: () => number,
    private readonly report: (drop: QueueDrop) => void,
  ) {}

  /** Records whose payload failed its checksum since open. */
  get corruptEntries(): number {
    return this.payloadEntries;
  }
  get corruptSamples(): number {
    return this.payloadSamples;
  }

  /** What recovery found at open. */
  foundAtOpen(damage: FoundDamage): void {
    for (const { key } of damage) this.known.add(key);
    for (const { drop } of damage) if (drop !== undefined) this.report(drop);
  }

  /** What a rebuild found: only regions not known before are new. */
  foundAgain(damage: FoundDamage): void {
    for (const { key, drop } of damage) {
      if (drop !== undefined && !this.known.has(key)) this.report(drop);
    }
    this.known.clear();
    for (const { key } of damage) this.known.add(key);
  }

  /** `skipped` damaged bytes at `pos` of `seg`, met on the way to the next head. */
  readonly skipped = (seg: Segment, pos: number, skipped: number): void => {
    if (this.known.delete(`${seg.start}:${pos}`)) return;
    this.log('corrupt_record', { segment: segmentName(seg), offset: pos, skipped_bytes: skipped, reason: 'header' });
    this.report({ entry: { body: EMPTY, samples: 0, maxTimestampMs: this.now() }, reason: 'corrupt', samplesUnknown: true });
  };

  /** The head record at `pos` of `seg` failed its payload checksum. */
  badPayload(seg: Segment, pos: number, header: RecordHeader): void {
    this.log('corrupt_record', { segment: segmentName(seg), offset: pos, reason: 'payload_checksum', samples: header.samples });
    this.payloadEntries++;
    this.payloadSamples += header.samples;
    this.report({ entry: { body: EMPTY, samples: header.samples, maxTimestampMs: header.maxTimestampMs }, reason: 'corrupt' });
  }
}
