import type { HttpDestinationOptions } from '../../http/http-destination-options';

/** One remote-write destination, as the configuration hands it down. */
export interface RemoteWriteOptions {
  readonly name: string;
  /**
   * job and instance for this destination, when set (one bridge only);
   * otherwise each bridge's. Added to every series that has no label of that
   * name, like Prometheus' external_labels.
   */
  readonly job?: string;
  readonly instance?: string;
  readonly http: HttpDestinationOptions;
  /** How the user named the URL (`--remote-write.url`, a file entry), for messages that point at it. */
  readonly urlSetting: string;
  readonly maxSamplesPerRequest: number;
  readonly retryOn429: boolean;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
}
