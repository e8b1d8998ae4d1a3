import { AGENT_SCOPE } from './agent-settings';
import { BRIDGE_SCOPE } from './bridge-settings';
import { PUSHGATEWAY_SCOPE } from './pushgateway-settings';
import { REMOTE_WRITE_SCOPE } from './remote-write-settings';
import { envNames, flagName, type Scope, type SettingSpec } from './setting-spec';

/** Every scope, in the order --help and the reference show them. */
export const SCOPES: readonly Scope[] = [AGENT_SCOPE, BRIDGE_SCOPE, REMOTE_WRITE_SCOPE, PUSHGATEWAY_SCOPE];

/** One setting with its names: what tests, --help and the reference walk. */
export interface SettingEntry {
  readonly scope: Scope;
  readonly key: string;
  /** The flag without its dashes (`remote-write.url`), also for settings that are no flag. */
  readonly flag: string;
  /** Canonical first, then the aliases. */
  readonly env: readonly string[];
  readonly spec: SettingSpec;
}

export function allSettings(): SettingEntry[] {
  return SCOPES.flatMap((scope) =>
    Object.entries(scope.settings).map(([key, spec]) => ({ scope, key, flag: flagName(scope, key), env: envNames(scope, key), spec })),
  );
}

export function findSetting(flag: string): SettingEntry | undefined {
  return allSettings().find((entry) => entry.flag === flag);
}
