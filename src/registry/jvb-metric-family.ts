/** The JVB's metrics after one poll, as plain data: what the registry serves and the sinks send. */

export type Labels = Readonly<Record<string, string>>;

export interface ScalarFamily {
  readonly kind: 'scalar';
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly samples: ReadonlyArray<{ readonly labels: Labels; readonly value: number }>;
}

export interface HistogramFamily {
  readonly kind: 'histogram';
  readonly name: string;
  readonly help: string;
  /** Cumulative counts for each finite upper bound, ascending; the +Inf bucket is `count`. */
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly count: number;
  readonly sum: number;
}

export type JvbMetricFamily = ScalarFamily | HistogramFamily;

export const SKIP_REASONS = ['not_a_number', 'bad_histogram', 'nested_object', 'unexpected_array', 'null', 'name_collision'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface SkippedField {
  readonly key: string;
  readonly reason: SkipReason;
}

export interface MappedStats {
  readonly families: readonly JvbMetricFamily[];
  readonly skipped: readonly SkippedField[];
}
