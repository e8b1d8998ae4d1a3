// Per-series cache of encoded label bytes, and the bookkeeping for stale
// markers (which series were seen in which poll).
//
// A series' labels do not change between polls, so its protobuf bytes up to
// the sample value are encoded once (with protobufjs) and reused:
//
//   0a <len(TimeSeries)> <labels: 0a <len> Label ...> 12 <len(Sample)> 09
//
// followed at encode time by the 8 value bytes and the timestamp field
// (10 <varint ms>), which is the same for every series of a poll.
//
// Lookup: a trie of Maps walked with the registry's own values, in the
// labels object's own key order: metric name, then label name, label value,
// label name, label value... Depth says whether a key is a name or a value,
// so the path is unambiguous. The keys are the very strings prom-client
// holds from poll to poll, whose hashes V8 caches, so a lookup builds no
// string and hashes nothing new. (A key string built per series and poll,
// then hashed, cost about 3x as much at 100 000 series.) Values are used raw
// (a number `le` stays a number), so the trie distinguishes at least as
// finely as the canonical labels do; different raw spellings of one series
// (another key order, 1 vs "1") are aliases of one entry, so a series is
// never considered vanished because its labels object was built differently.

import { Writer } from 'protobufjs';
import { type LabelPair, type RawLabels, canonicalLabels, canonicalSeriesKey } from './series-from-registry';
import { getWriteRequestSchema } from './write-request-schema';

/** How many raw spellings of one series are remembered before the oldest is forgotten. */
const MAX_ALIASES_PER_SERIES = 4;

export interface CachedSeries {
  readonly canonicalKey: string;
  readonly labels: readonly LabelPair[];
  /** Family name (metadata name), for grouping stale markers. */
  readonly family: string;
  /** Histogram/summary series: keep the family's series in one request. */
  readonly keepTogether: boolean;
  /** Encoded TimeSeries.labels entries (repeated field 1). */
  readonly labelBytes: Uint8Array;
  /** Bytes from the TimeSeries tag up to the Sample value (see the file comment). */
  prefix: Uint8Array;
  /** prefix.length, kept as a number so hot loops need not touch the array. */
  prefixLength: number;
  /** Sample message length `prefix` was built for. */
  prefixSampleLength: number;
  /** Trie leaves (raw spellings) pointing at this entry. */
  leaves: TrieNode[];
  /** The spelling this series was last found under. */
  spelling: Spelling;
  /** Position in its family's values in the last poll that contained it. */
  lastIndex: number;
  /** Number of the last poll that contained this series. */
  lastSeenPoll: number;
}

/**
 * One raw spelling of a series, flat (one object to read):
 * [metricName, labelName1, labelValue1, labelName2, labelValue2, ...] in the
 * labels object's key order, values as given (strings or numbers).
 */
export type Spelling = readonly unknown[];

/** Whether `labels` (with `metricName`) is exactly this spelling. Allocates nothing. */
export function isSpelledAs(spelling: Spelling, metricName: string, labels: RawLabels | undefined): boolean {
  if (spelling[0] !== metricName) return false;
  const end = spelling.length;
  let j = 1;
  if (labels) {
    for (const name in labels) {
      if (j === end || spelling[j] !== name || spelling[j + 1] !== labels[name]) return false;
      j += 2;
    }
  }
  return j === end;
}

interface TrieNode {
  parent: TrieNode | undefined;
  key: unknown;
  children: Map<unknown, TrieNode> | undefined;
  entry: CachedSeries | undefined;
  /** Set on leaves: the spelling that leads here. */
  spelling: Spelling | undefined;
}

function newNode(parent: TrieNode | undefined, key: unknown): TrieNode {
  return { parent, key, children: undefined, entry: undefined, spelling: undefined };
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Builds `prefix` for a Sample message of `sampleLength` bytes
 * (09 + 8 value bytes + timestamp field).
 */
export function buildSeriesPrefix(labelBytes: Uint8Array, sampleLength: number): Uint8Array {
  const sampleHeader = Writer.create().uint32((2 << 3) | 2).uint32(sampleLength).finish();
  const timeSeriesLength = labelBytes.length + sampleHeader.length + sampleLength;
  const seriesHeader = Writer.create().uint32((1 << 3) | 2).uint32(timeSeriesLength).finish();
  const valueTag = Writer.create().uint32((1 << 3) | 1).finish();
  return concatBytes([seriesHeader, labelBytes, sampleHeader, valueTag]);
}

export class SeriesCache {
  private readonly root: TrieNode = newNode(undefined, undefined);
  private readonly byCanonicalKey = new Map<string, CachedSeries>();

  /** Number of distinct series held. */
  get size(): number {
    return this.byCanonicalKey.size;
  }

  /** The cached series for this raw spelling, if any. Allocates nothing. */
  get(metricName: string, labels: RawLabels | undefined): CachedSeries | undefined {
    let node = this.root.children?.get(metricName);
    if (node === undefined) return undefined;
    if (labels) {
      for (const name in labels) {
        node = node.children?.get(name);
        if (node === undefined) return undefined;
        node = node.children?.get(labels[name]);
        if (node === undefined) return undefined;
      }
    }
    const entry = node.entry;
    if (entry !== undefined) entry.spelling = node.spelling!;
    return entry;
  }

  /** Finds or creates the entry for a series `get()` did not find, and records this spelling. */
  add(
    metricName: string,
    labels: RawLabels | undefined,
    family: string,
    keepTogether: boolean,
    sampleLength: number,
  ): CachedSeries {
    const leaf = this.leafFor(metricName, labels);
    if (leaf.entry) return leaf.entry;
    const canonical = canonicalLabels(metricName, labels);
    const canonicalKey = canonicalSeriesKey(canonical);
    let entry = this.byCanonicalKey.get(canonicalKey);
    if (entry) {
      // The same series under another spelling: alias it.
      if (entry.leaves.length >= MAX_ALIASES_PER_SERIES) this.detach(entry.leaves.shift()!);
    } else {
      const labelBytes = Uint8Array.from(getWriteRequestSchema().TimeSeries.encode({ labels: canonical }).finish());
      const prefix = buildSeriesPrefix(labelBytes, sampleLength);
      entry = {
        canonicalKey,
        labels: canonical,
        family,
        keepTogether,
        labelBytes,
        prefix,
        prefixLength: prefix.length,
        prefixSampleLength: sampleLength,
        leaves: [],
        spelling: leaf.spelling!,
        lastIndex: -1,
        lastSeenPoll: 0,
      };
      this.byCanonicalKey.set(canonicalKey, entry);
    }
    leaf.entry = entry;
    entry.leaves.push(leaf);
    entry.spelling = leaf.spelling!;
    return entry;
  }

  /**
   * The entry's prefix length for `sampleLength`, after rebuilding the prefix
   * if the timestamp's varint length changed (about never: ms timestamps
   * stay 6 bytes long from 2004 to 2527).
   */
  prefixLengthFor(entry: CachedSeries, sampleLength: number): number {
    if (entry.prefixSampleLength !== sampleLength) {
      entry.prefix = buildSeriesPrefix(entry.labelBytes, sampleLength);
      entry.prefixLength = entry.prefix.length;
      entry.prefixSampleLength = sampleLength;
    }
    return entry.prefixLength;
  }

  /** Forgets a series (after its stale marker was produced). */
  evict(entry: CachedSeries): void {
    if (this.byCanonicalKey.get(entry.canonicalKey) === entry) this.byCanonicalKey.delete(entry.canonicalKey);
    for (const leaf of entry.leaves) this.detach(leaf);
    entry.leaves = [];
  }

  private leafFor(metricName: string, labels: RawLabels | undefined): TrieNode {
    let node = this.child(this.root, metricName);
    const spelling: unknown[] = [metricName];
    if (labels) {
      for (const name in labels) {
        const value = labels[name];
        node = this.child(this.child(node, name), value);
        spelling.push(name, value);
      }
    }
    node.spelling ??= spelling;
    return node;
  }

  private child(node: TrieNode, key: unknown): TrieNode {
    let children = node.children;
    if (children === undefined) children = node.children = new Map();
    let next = children.get(key);
    if (next === undefined) {
      next = newNode(node, key);
      children.set(key, next);
    }
    return next;
  }

  /** Clears a leaf and prunes the branch nodes left empty, so label churn does not grow the trie. */
  private detach(leaf: TrieNode): void {
    leaf.entry = undefined;
    leaf.spelling = undefined;
    let node: TrieNode = leaf;
    while (node.parent !== undefined && node.entry === undefined && (node.children === undefined || node.children.size === 0)) {
      node.parent.children!.delete(node.key);
      node = node.parent;
    }
  }
}
