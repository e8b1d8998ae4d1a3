import type { HttpDestinationOptions } from '../../http/http-destination-options';

/** One Pushgateway, as the configuration hands it down. */
export interface PushgatewayOptions {
  readonly http: HttpDestinationOptions;
  /** The group's job and instance when set (one bridge only); otherwise each bridge's. */
  readonly job?: string;
  readonly instance?: string;
  /** Further grouping-key labels, in order, after instance. */
  readonly grouping: ReadonlyArray<readonly [string, string]>;
  readonly deleteOnShutdown: boolean;
}
