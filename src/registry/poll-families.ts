import type { Registry } from 'prom-client';
import type { Labels, MetricFamily, ScalarFamily } from '../model/metric-family';
import { typeOf } from './registry-families';

/** A series whose value the polls write. */
interface Value {
  readonly labels: Labels;
  value: number;
}

/** One metric's series, by the value of its one label ('' when it has none). */
interface Held {
  readonly label: string;
  readonly byValue: Map<string, Value>;
  series: Value[];
  /** Its place in `families`. */
  readonly index: number;
}

const NO_LABELS: Labels = Object.freeze({});

/**
 * One bridge's poll metrics (self-metrics.ts: jvb_up, jvb_polls_total, ...)
 * as the family model pushes read: made once from their registry, in its
 * order, with one series per label value (every reason is there from the
 * start, at 0), and the values of each poll written into them. Pushes get
 * the very same objects every poll, so the encoder takes its fast path and
 * nothing is allocated; reading prom-client's registry for them built some
 * 30 value and label objects and promises a poll, only to turn them into
 * these. The registry keeps the same numbers for /metrics.
 */
export class PollFamilies {
  private readonly list: ScalarFamily[] = [];
  /** By metric (the registry's own object). */
  private readonly held = new Map<object, Held>();

  /**
   * `registry`: the poll metrics alone (their default labels travel beside,
   * as the group's labels); `labelled`: the metrics with a label, its name
   * and the values it takes, in the order the registry first set them.
   */
  constructor(registry: Registry, labelled: ReadonlyMap<object, { readonly label: string; readonly values: readonly string[] }>) {
    for (const metric of registry.getMetricsAsArray()) {
      const type = typeOf(metric.type);
      if (type !== 'counter' && type !== 'gauge') throw new Error(`poll metric ${metric.name}: a ${type} is not pushed from here`);
      const labels = labelled.get(metric);
      const held: Held = { label: labels?.label ?? '', byValue: new Map(), series: [], index: this.list.length };
      if (labels === undefined) this.series(held, '');
      else for (const value of labels.values) this.series(held, value);
      this.held.set(metric, held);
      this.list.push({ name: metric.name, help: metric.help, unit: '', type, series: held.series });
    }
  }

  /** The same array and objects from poll to poll (but after a label value not known at the start). */
  get families(): readonly MetricFamily[] {
    return this.list;
  }

  /** `metric`'s value (of its series with label value `label`, if it has a label). */
  set(metric: object, value: number, label = ''): void {
    this.value(metric, label).value = value;
  }

  add(metric: object, delta: number, label = ''): void {
    this.value(metric, label).value += delta;
  }

  private value(metric: object, label: string): Value {
    const held = this.held.get(metric);
    if (held === undefined) throw new Error('not a poll metric of this bridge');
    const known = held.byValue.get(label);
    if (known !== undefined) return known;
    // A label value not known at the start: one more series, in a new family object (that poll the encoder reads it anew).
    held.series = [...held.series];
    const value = this.series(held, label);
    this.list[held.index] = { ...this.list[held.index]!, series: held.series };
    return value;
  }

  private series(held: Held, labelValue: string): Value {
    const value: Value = { labels: held.label === '' ? NO_LABELS : Object.freeze({ [held.label]: labelValue }), value: 0 };
    held.byValue.set(labelValue, value);
    held.series.push(value);
    return value;
  }
}
