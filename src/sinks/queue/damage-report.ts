import type { Tally } from './queue-checkpoint';
import type { QueueLog } from './queue-file-io';
import type { RecordHeader } from './queue-record-codec';
import type { QueueDrop } from './request-queue';
import type { DamageSink } from './segment-fifo';
import { segmentName, type Segment } from './segment-file';

/**
 * What damage on disk cost, counted once as `corrupt`. At open: the
 * checkpoint's tally (what was pending when it was last written) less what
 * the files still hold, so records gone without a trace (a truncated tail, a
 * segment deleted or zeroed) count with their samples; without a tally, a
 * lower bound from what the damaged regions show. While running: the queue's
 * own counts less what is found again after damage (SegmentFifo.recount), and
 * payloads failing their checksum at peek.
 */

/** A damaged region recovery found: where ("start:pos", and global offset), and what it shows. */
export interface FoundRegion {
  readonly key: string;
  readonly at: number;
  /** A header was read there: the record it describes, lost. */
  readonly header?: RecordHeader;
  /** Only zeros from there to the end: space allocated, nothing written. */
  readonly zeros?: boolean;
}

/** What open found: damaged regions, the records found before the tally's end, and what the checkpoint says was pending. */
export interface FoundOnDisk {
  readonly regions: readonly FoundRegion[];
  readonly inTally: { readonly entries: number; readonly samples: number };
  readonly tally: Tally | undefined;
  /** The read position the checkpoint gave (undefined: none). */
  readonly readOffset: number | undefined;
  /** Bytes the segment names say are missing (deleted segments, a cut before the next segment). */
  readonly missingBytes: number;
}

/** What damage found at open cost: the drops to report, and the line saying so. */
export interface FoundDamage {
  readonly regions: readonly string[];
  readonly drops: readonly QueueDrop[];
  readonly summary: Record<string, string | number> | undefined;
}

const EMPTY = Buffer.alloc(0);

function corruptDrop(samples: number, maxTimestampMs: number, requests = 1, samplesUnknown = false): QueueDrop {
  return { entry: { body: EMPTY, samples, maxTimestampMs }, reason: 'corrupt', ...(requests !== 1 ? { requests } : {}), ...(samplesUnknown ? { samplesUnknown } : {}) };
}

/** A region alone: its header's samples, nothing for zeros, else unknown (counted as 1). */
function regionDrop(region: FoundRegion): QueueDrop | undefined {
  if (region.header !== undefined) return corruptDrop(region.header.samples, region.header.maxTimestampMs);
  return region.zeros ? undefined : corruptDrop(0, 0, 1, true);
}

/**
 * The loss at open. Records the tally covers (before its writeEnd) count
 * exactly: the tally less the records found and the torn records whose
 * header says what they held. Damage after it (an append in flight when the
 * agent stopped) counts by what the region shows. Without a tally, or one
 * the files contradict, every region counts by what it shows: a lower bound.
 */
export function settleDamage(found: FoundOnDisk): FoundDamage {
  const { regions, inTally, tally } = found;
  const regionKeys = regions.map((r) => r.key);
  const covered = (r: FoundRegion) => tally !== undefined && r.at < tally.writeEnd;
  const known = regions.filter((r) => covered(r) && r.header !== undefined);
  const lostEntries = tally === undefined ? -1 : tally.entries - inTally.entries - known.length;
  const lostSamples = tally === undefined ? -1 : tally.samples - inTally.samples - known.reduce((s, r) => s + r.header!.samples, 0);
  const consistent = tally !== undefined && lostEntries >= 0 && lostSamples >= 0 && (found.readOffset === undefined || tally.writeEnd >= found.readOffset);
  const drops: QueueDrop[] = [];
  for (const region of regions) {
    if (consistent && covered(region) && region.header === undefined) continue; // in the remainder below
    const d = regionDrop(region);
    if (d !== undefined) drops.push(d);
  }
  if (consistent && (lostEntries > 0 || lostSamples > 0)) drops.push(corruptDrop(lostSamples, 0, Math.max(1, lostEntries)));
  const unknown = drops.filter((d) => d.samplesUnknown).length;
  const why = !consistent
    ? tally === undefined
      ? 'the checkpoint holds no tally (written by an earlier version, or lost)'
      : 'the checkpoint tally disagrees with the files'
    : unknown > 0
      ? 'a record being written when the agent stopped was torn in its header'
      : undefined;
  const lowerBound = why !== undefined;
  const missing = lowerBound && found.missingBytes > 0;
  if (drops.length === 0 && !missing && !(lowerBound && regions.length > 0)) return { regions: regionKeys, drops, summary: undefined };
  const summary: Record<string, string | number> = {
    entries: drops.reduce((s, d) => s + (d.requests ?? 1), 0),
    samples: drops.reduce((s, d) => s + (d.samplesUnknown ? 1 : d.entry.samples), 0),
    counted: lowerBound ? 'lower_bound' : 'exact',
    ...(why !== undefined ? { why } : {}),
    ...(unknown > 0 ? { records_samples_unknown: unknown } : {}),
    ...(missing ? { missing_bytes: found.missingBytes } : {}),
  };
  return { regions: regionKeys, drops, summary };
}

export class DamageReport implements DamageSink {
  /** Regions already counted, so that reaching them later is not counted (nor logged) again. */
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

  /** What recovery found at open: reported, and said in one line. */
  foundAtOpen(damage: FoundDamage): void {
    for (const key of damage.regions) this.known.add(key);
    if (damage.summary !== undefined) this.log('records_lost', { ...damage.summary, found: 'at open' });
    for (const drop of damage.drops) this.report(drop);
  }

  /** What a rebuild found: its loss is what the rebuild no longer finds (lostInRebuild); only the regions are remembered. */
  foundAgain(damage: FoundDamage): void {
    this.known.clear();
    for (const key of damage.regions) this.known.add(key);
  }

  /** `skipped` damaged bytes at `pos` of `seg`, met on the way to the next head: whether it is new (then the queue counts again). */
  readonly skipped = (seg: Segment, pos: number, skipped: number): boolean => {
    if (this.known.delete(`${seg.start}:${pos}`)) return false;
    this.log('corrupt_record', { segment: segmentName(seg), offset: pos, skipped_bytes: skipped, reason: 'header' });
    return true;
  };

  /** Damage found ahead of the head while counting again: logged once, and counted by that count. */
  readonly ahead = (seg: Segment, pos: number, skipped: number): void => {
    const key = `${seg.start}:${pos}`;
    if (this.known.has(key)) return;
    this.known.add(key);
    this.log('corrupt_record', { segment: segmentName(seg), offset: pos, skipped_bytes: skipped, reason: 'header' });
  };

  /** The queue's counts held records the files no longer do: lost, with their samples. */
  readonly lost = (entries: number, samples: number, maxTimestampMs: number | undefined): void => {
    this.log('records_lost', { entries, samples, counted: 'exact', found: 'while reading' });
    this.report(corruptDrop(samples, maxTimestampMs ?? this.now(), Math.max(1, entries)));
  };

  /** The head record at `pos` of `seg` failed its payload checksum. */
  badPayload(seg: Segment, pos: number, header: RecordHeader): void {
    this.log('corrupt_record', { segment: segmentName(seg), offset: pos, reason: 'payload_checksum', samples: header.samples });
    this.payloadEntries++;
    this.payloadSamples += header.samples;
    this.report(corruptDrop(header.samples, header.maxTimestampMs));
  }
}
