/** Where and how much the remote-write queues keep. */
export interface StorageOptions {
  /** The folder of the queues; undefined: in memory. */
  readonly path: string | undefined;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  /** How long a stop keeps delivering before it leaves the rest queued. */
  readonly flushDeadlineMs: number;
}

/** How the user names the storage settings, for the log lines that point at them (the configuration's words, handed down). */
export interface StorageSettingNames {
  readonly path: string;
  readonly maxBytes: string;
  readonly inMemory: string;
}
