import type { Labels } from '../../model/metric-family';
import { escapeValue } from './exposition-values';

/** The labels of every series without any: one frozen object shared by all. */
const NO_LABELS: Labels = Object.freeze({});

/**
 * The labels of the sample line being parsed, in the order written. One
 * instance per parse, reused for every line: the arrays only grow, so a line
 * allocates nothing here but its label strings.
 */
export class SampleLabels {
  readonly names: string[] = [];
  readonly values: string[] = [];
  count = 0;
  /** Indices of the labels sorted by name (after settle()). */
  readonly order: number[] = [];
  /**
   * True while the sample is written in the canonical form of its series key
   * (see seriesKey): no blanks before `=`, `"` or a label name, names
   * strictly ascending, no empty value, only `\\` `\"` `\n` escapes.
   */
  canonical = true;
  /** Where the sample's name starts, and the position after its last label value's closing quote. */
  sampleStart = 0;
  labelsEnd = 0;

  constructor(private readonly s: string) {}

  /** A new sample line whose name starts at `p`. */
  start(p: number): void {
    this.sampleStart = p;
    this.canonical = true;
    this.count = 0;
  }

  /** `canonicalValue`: written as its canonical key text, and not empty. `end`: after the closing quote. */
  add(name: string, value: string, canonicalValue: boolean, end: number): void {
    const i = this.count++;
    if (!canonicalValue || (i > 0 && !(this.names[i - 1]! < name))) this.canonical = false;
    this.names[i] = name;
    this.values[i] = value;
    this.labelsEnd = end;
  }

  /**
   * After the last label: the name written twice, if any (the body is then
   * refused); else drops labels with an empty value (Prometheus stores
   * `a{b=""}` as `a`) and sorts the rest by name into `order`.
   */
  settle(): string | undefined {
    const count = this.count;
    if (count === 0) return undefined;
    if (this.canonical) {
      // Written in ascending order: no duplicate, nothing to sort.
      const order = this.order;
      order.length = count;
      for (let i = 0; i < count; i++) order[i] = i;
      return undefined;
    }
    this.sort();
    const names = this.names;
    const order = this.order;
    for (let i = 1; i < count; i++) {
      if (names[order[i]!] === names[order[i - 1]!]) return names[order[i]!];
    }
    const values = this.values;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      if (values[i] === '') continue;
      names[kept] = names[i]!;
      values[kept] = values[i]!;
      kept++;
    }
    if (kept < count) {
      this.count = kept;
      this.sort();
    }
    return undefined;
  }

  private sort(): void {
    const count = this.count;
    const names = this.names;
    const order = this.order;
    order.length = count;
    for (let i = 0; i < count; i++) order[i] = i;
    if (count <= 16) {
      for (let i = 1; i < count; i++) {
        const v = order[i]!;
        const key = names[v]!;
        let j = i - 1;
        while (j >= 0 && names[order[j]!]! > key) {
          order[j + 1] = order[j]!;
          j--;
        }
        order[j + 1] = v;
      }
    } else {
      order.sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
    }
  }

  /** Index (in written order) of the label `name`, -1 when absent. */
  indexOf(name: string): number {
    for (let i = 0; i < this.count; i++) if (this.names[i] === name) return i;
    return -1;
  }

  /**
   * The identity of the sample's series: `name{k="v",...}` with the labels
   * sorted by name, without the closing brace, values escaped as Prometheus
   * writes them; just `name` without labels. A sample usually is written
   * that way already: then the key is a slice of the body (no copy).
   */
  seriesKey(name: string): string {
    const count = this.count;
    if (count === 0) return name;
    if (this.canonical) return this.s.slice(this.sampleStart, this.labelsEnd);
    let key = `${name}{`;
    for (let i = 0; i < count; i++) {
      const k = this.order[i]!;
      key += `${i > 0 ? ',' : ''}${this.names[k]!}="${escapeValue(this.values[k]!)}"`;
    }
    return key;
  }

  /** Canonical text of the labels (sorted, length-prefixed values), leaving out label index `skip`. */
  key(skip: number): string {
    const count = this.count;
    let key = '';
    for (let i = 0; i < count; i++) {
      const k = this.order[i]!;
      if (k === skip) continue;
      const v = this.values[k]!;
      key += this.names[k]! + '=' + v.length + ':' + v + ',';
    }
    return key;
  }

  /** The labels as the model's object, leaving out label index `skip`. */
  object(skip: number): Labels {
    const count = this.count;
    // (Most of a bridge's series have no labels: one shared object for them, not one each, as the model is kept between polls.)
    if (count === 0 || (count === 1 && skip === 0)) return NO_LABELS;
    const labels: Record<string, string> = {};
    for (let i = 0; i < count; i++) {
      if (i === skip) continue;
      const name = this.names[i]!;
      // `__proto__` is a valid label name: define it, an assignment would set the prototype.
      if (name === '__proto__') Object.defineProperty(labels, name, { value: this.values[i], enumerable: true, writable: true, configurable: true });
      else labels[name] = this.values[i]!;
    }
    return labels;
  }
}
