import type { ReloadRecord } from './reload-record';
import { isoTime, type BridgeStatus, type DestinationStatus, type StatusSnapshot } from './status-model';

/** Where the snapshot is read from: the agent's facts and the read-only status() of the pieces that hold the state. */
export interface StatusSources {
  readonly version: string;
  readonly revision: string | undefined;
  readonly startedAtMs: number;
  readonly configFile: string | undefined;
  readonly telemetryPath: string;
  readonly reloads: ReloadRecord;
  /** The bridges now (a reload may replace them). */
  readonly bridges: () => readonly BridgeStatus[];
  /** The destinations now. */
  readonly destinations: () => readonly { status(): Promise<DestinationStatus> }[];
  readonly now?: () => number;
}

/** One snapshot for the status page and /api/v1/status. */
export async function collectStatus(src: StatusSources): Promise<StatusSnapshot> {
  const nowMs = (src.now ?? Date.now)();
  const destinations = await Promise.all(src.destinations().map((sink) => sink.status()));
  return {
    generatedAt: isoTime(nowMs)!,
    agent: {
      version: src.version,
      revision: src.revision ?? null,
      startedAt: isoTime(src.startedAtMs)!,
      uptimeSeconds: Math.max(0, Math.round((nowMs - src.startedAtMs) / 1000)),
      configFile: src.configFile ?? null,
      lastReload: src.reloads.status,
      telemetryPath: src.telemetryPath,
    },
    bridges: src.bridges(),
    destinations,
  };
}
