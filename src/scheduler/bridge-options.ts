import type { SourceOptions } from '../sources/source-options';

/** One bridge to poll, as the scheduler, the source and the registry need it. */
export interface BridgeOptions extends SourceOptions {
  /** The instance label of its series on the push paths (and on /metrics with several bridges). */
  readonly name: string;
  readonly job: string;
  /** Labels of this bridge's series only. */
  readonly labels: Readonly<Record<string, string>>;
  readonly intervalMs: number;
}
