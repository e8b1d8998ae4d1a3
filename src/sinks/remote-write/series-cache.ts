// Per-series cache of encoded label bytes, and the bookkeeping for stale
// markers (which series were seen in which poll).
//
// A series' labels do not change between polls, so its protobuf bytes up to
// the sample value are encoded once (with protobufjs's Writer) and reused:
//
//   0a <len(TimeSeries)> <labels: 0a <len> Label ...> 12 <len(Sample)> 09
//
// followed at encode time by the 8 value bytes and the timestamp field
// (10 <varint ms>), which is the same for every series of a poll.
//
// Lookup (when family-positions.ts's positional guess fails): a trie of
// Maps walked with the registry's own values, in the labels object's own key
// order: metric name, then label name, label value, label name, label
// value... Depth says whether a key is a name or a value, so the path is
// unambiguous. The keys are the very strings prom-client holds from poll to
// poll, whose hashes V8 caches, so a lookup builds no string and hashes
// nothing new. (A key string built per series and poll, then hashed, cost
// about 3x as much at 100 000 series.) Values are used raw (a number `le`
// stays a number), so this trie distinguishes at least as finely as the
// canonical labels do.
//
// Identity: a second trie over the canonical labels (sorted names, string
// values, __name__ included). Different raw spellings of one series (another
// key order, 1 vs "1") lead to one entry, so a series is never considered
// vanished because its labels object was built differently.

import { Writer } from 'protobufjs';
import { type LabelPair, type RawLabels, canonicalLabels } from './series-from-registry';
import { getWriteRequestSchema } from './write-request-schema';

/** How many raw spellings of one series are remembered before the oldest is forgotten. */
const MAX_ALIASES_PER_SERIES = 4;

export interface CachedSeries {
  /**
   * Slot of this series in the cache's per-series typed arrays (lastSeen,
   * lastIndex, prefixLength). Reused after eviction, so compare entries, not ids.
   */
  readonly id: number;
  /** Canonical labels: sorted, with __name__, no empty values. */
  readonly labels: readonly LabelPair[];
  /** Family name (metadata name), for grouping stale markers. */
  readonly family: string;
  /** Histogram/summary series: keep the family's series in one request. */
  readonly keepTogether: boolean;
  /** Bytes from the TimeSeries tag up to the Sample value (see the file comment). */
  prefix: Uint8Array;
  /** Raw-spelling trie leaves pointing at this entry. */
  leaves: TrieNode[];
  /** Canonical-labels trie leaf pointing at this entry. */
  canonicalLeaf: TrieNode | undefined;
  /** The spelling this series was last found under. */
  spelling: Spelling;
}

/**
 * One raw spelling of a series, flat (one object to read):
 * [metricName, labelName1, labelValue1, labelName2, labelValue2, ...] in the
 * labels object's key order, values as given (strings or numbers).
 */
export type Spelling = readonly unknown[];

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

/**
 * The bytes of one TimeSeries (as WriteRequest field 1) up to its sample
 * value, for samples whose timestamp field is as long as `timestampMs`'s.
 * Encoded with protobufjs's Writer: the whole TimeSeries with a placeholder
 * sample, from which the placeholder value and timestamp are cut off.
 */
export function encodeSeriesPrefix(labels: readonly LabelPair[], timestampMs: number): Uint8Array {
  const t = getWriteRequestSchema().tags;
  const w = Writer.create();
  w.uint32(t.writeRequestTimeseries).fork();
  for (const l of labels) {
    w.uint32(t.timeSeriesLabels).fork().uint32(t.labelName).string(l.name).uint32(t.labelValue).string(l.value).ldelim();
  }
  w.uint32(t.timeSeriesSamples).fork().uint32(t.sampleValue).double(0).uint32(t.sampleTimestamp).int64(timestampMs).ldelim();
  const placeholderLength = 8 + Writer.create().uint32(t.sampleTimestamp).int64(timestampMs).finish().length;
  const full = w.ldelim().finish();
  return new Uint8Array(full.subarray(0, full.length - placeholderLength)); // a copy, not a view into protobufjs's pool
}

/**
 * The series cache. Per-series state read on every poll lives in compact
 * typed arrays indexed by CachedSeries.id, so the hot loop reads a few bytes
 * from a small array instead of touching each series object. (Those arrays
 * are replaced when they grow: re-read them after add().)
 */
export class SeriesCache {
  /** metric name, label name, label value, ... in the labels object's key order */
  private readonly root: TrieNode = newNode(undefined, undefined);
  /** label name, label value, ... of the canonical labels (sorted, with __name__) */
  private readonly canonicalRoot: TrieNode = newNode(undefined, undefined);
  private count = 0;
  private readonly byId: (CachedSeries | undefined)[] = [];
  private readonly freeIds: number[] = [];
  private timestampMs = 0;
  private timestampFieldLength = 0;

  /** `externalLabels` are constant for the cache's life, so the raw-spelling keys need not include them. */
  constructor(private readonly externalLabels: Readonly<Record<string, string>> = {}) {}

  /** Number of the last poll that contained each series (-1: none yet). */
  lastSeen = new Int32Array(1024);
  /** Position in its family's values in the last poll that contained it (-1: none). */
  lastIndex = new Int32Array(1024);
  /** Length of each series' prefix. */
  prefixLength = new Int32Array(1024);

  /** Number of distinct series held. */
  get size(): number {
    return this.count;
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
  ): CachedSeries {
    const leaf = this.leafFor(metricName, labels);
    if (leaf.entry) return leaf.entry;
    const canonical = canonicalLabels(metricName, labels, this.externalLabels);
    let canonicalLeaf = this.canonicalRoot;
    for (const l of canonical) canonicalLeaf = this.child(this.child(canonicalLeaf, l.name), l.value);
    let entry = canonicalLeaf.entry;
    if (entry) {
      // The same series under another spelling: alias it.
      if (entry.leaves.length >= MAX_ALIASES_PER_SERIES) this.detach(entry.leaves.shift()!);
    } else {
      const prefix = encodeSeriesPrefix(canonical, this.timestampMs);
      const id = this.allocateId();
      entry = {
        id,
        labels: canonical,
        family,
        keepTogether,
        prefix,
        leaves: [],
        canonicalLeaf,
        spelling: leaf.spelling!,
      };
      this.byId[id] = entry;
      this.lastSeen[id] = -1;
      this.lastIndex[id] = -1;
      this.prefixLength[id] = prefix.length;
      canonicalLeaf.entry = entry;
      this.count++;
    }
    leaf.entry = entry;
    entry.leaves.push(leaf);
    entry.spelling = leaf.spelling!;
    return entry;
  }

  /**
   * Sets the poll's timestamp. Prefixes depend on the length of the
   * timestamp field; if that changed, every prefix is re-encoded (ms
   * timestamps keep a 6-byte varint from 1971 to 2109, so about never).
   */
  startPoll(timestampMs: number, timestampFieldLength: number): void {
    this.timestampMs = timestampMs;
    if (timestampFieldLength === this.timestampFieldLength) return;
    this.timestampFieldLength = timestampFieldLength;
    for (const entry of this.byId) {
      if (entry === undefined) continue;
      entry.prefix = encodeSeriesPrefix(entry.labels, timestampMs);
      this.prefixLength[entry.id] = entry.prefix.length;
    }
  }

  /** Forgets a series (after its stale marker was produced). */
  evict(entry: CachedSeries): void {
    const canonicalLeaf = entry.canonicalLeaf;
    if (canonicalLeaf === undefined) return; // already evicted
    if (canonicalLeaf.entry === entry) this.detach(canonicalLeaf);
    entry.canonicalLeaf = undefined;
    this.count--;
    for (const leaf of entry.leaves) this.detach(leaf);
    entry.leaves = [];
    this.byId[entry.id] = undefined;
    this.freeIds.push(entry.id);
  }

  private allocateId(): number {
    const free = this.freeIds.pop();
    if (free !== undefined) return free;
    const id = this.byId.length;
    this.byId.push(undefined);
    if (id === this.lastSeen.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.lastSeen = grow(this.lastSeen);
      this.lastIndex = grow(this.lastIndex);
      this.prefixLength = grow(this.prefixLength);
    }
    return id;
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
