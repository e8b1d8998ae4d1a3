/** Where the agent's own server listens. */
export interface ListenAddress {
  /** undefined: every interface, as Go's ":9001" means. */
  readonly host: string | undefined;
  readonly port: number;
}

/** `127.0.0.1:9001`, `[::1]:9001` or `:9001`, as a user writes it. */
export function formatListenAddress(address: ListenAddress): string {
  return `${address.host === undefined ? '' : address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}
