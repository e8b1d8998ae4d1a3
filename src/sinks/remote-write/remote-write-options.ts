import type { HttpDestinationOptions } from '../../http/http-destination-options';

/** The protobuf messages a destination can be written with, named as Prometheus' `protobuf_message` names them (kept here, free of protobufjs, for the settings). */
export const PROTOBUF_MESSAGES = ['prometheus.WriteRequest', 'io.prometheus.write.v2.Request'] as const;
export type ProtobufMessage = (typeof PROTOBUF_MESSAGES)[number];
export const WRITE_REQUEST_V1: ProtobufMessage = 'prometheus.WriteRequest';
export const WRITE_REQUEST_V2: ProtobufMessage = 'io.prometheus.write.v2.Request';

/** What a 401 or 403 does to a destination: hold its queue until the credentials change, or drop the request (auth-hold.ts). */
export const AUTH_ERROR_ACTIONS = ['hold', 'drop'] as const;
export type AuthErrorAction = (typeof AUTH_ERROR_ACTIONS)[number];

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
  /** prometheus.WriteRequest (1.0) or io.prometheus.write.v2.Request (2.0, falls back to 1.0 when the receiver does not read it). */
  readonly protobufMessage: ProtobufMessage;
  /** How the user named that setting (`--remote-write.protobuf-message`, a file entry), for the fallback's log line. */
  readonly protobufMessageSetting: string;
  /** hold (default) or drop, on 401/403. */
  readonly onAuthError: AuthErrorAction;
  /** The settings that give the credentials, as the user named them (`--remote-write.bearer-token-file`, a file entry), for the line that says what to fix. */
  readonly credentialSettings: readonly string[];
}
