import { CONNECTION_SETTINGS, PUSH_TARGET_SETTINGS } from './connection-settings';
import type { Scope, SettingSpec } from './setting-spec';
import * as parsers from './value-parsers';

export const PUSHGATEWAY_SETTINGS = {
  ...PUSH_TARGET_SETTINGS,
  ...CONNECTION_SETTINGS,
  job: { kind: 'value', parse: parsers.nonEmptyString, help: "The job label of the group, for a single bridge (default: the bridge's job, jvb)." },
  instance: { kind: 'value', parse: parsers.nonEmptyString, help: "The instance label of the group, for a single bridge (default: the bridge's name); each bridge has a group of its own." },
  grouping: { kind: 'list', parse: parsers.ownLabelPair('they have settings of their own'), help: 'A further grouping-key label NAME=VALUE; repeatable.' },
  'delete-on-shutdown': { kind: 'switch', parse: parsers.bool, default: 'false', help: 'Delete the group on SIGTERM (off: a restart would blank the dashboards until the next push).' },
} satisfies Record<string, SettingSpec>;

export const PUSHGATEWAY_SCOPE: Scope<typeof PUSHGATEWAY_SETTINGS> = {
  prefix: 'pushgateway',
  title: "pushgateway destination (one from flags/environment; any number in the config file's pushgateway: list):",
  settings: PUSHGATEWAY_SETTINGS,
  file: { list: 'pushgateway' },
};
