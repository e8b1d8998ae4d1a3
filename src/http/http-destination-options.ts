/**
 * Where and how to send HTTP requests to one server (a bridge polled, a
 * remote-write receiver or a Pushgateway pushed to). Checked once, at start,
 * by the configuration; the transport takes them as they are.
 */

export interface HttpTlsOptions {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
}

/** Basic auth: the password from a file (read at each request), or given inline (e.g. from an env var). */
export type HttpBasicAuth = { username: string; passwordFile: string } | { username: string; password: string };

/** How to reach a server, whatever its URL: credentials, headers, TLS, proxy. */
export interface ConnectionOptions {
  basicAuth?: HttpBasicAuth;
  /** Mutually exclusive with basicAuth and bearerToken. Read at each request. */
  bearerTokenFile?: string;
  /** The token itself (e.g. from an env var); mutually exclusive with basicAuth and bearerTokenFile. */
  bearerToken?: string;
  /** Custom headers (e.g. X-Scope-OrgID for Mimir, THANOS-TENANT for Thanos); reserved ones are refused. */
  headers: Record<string, string>;
  tls: HttpTlsOptions;
  /** Explicit proxy; when absent HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case) are honoured. */
  proxyUrl?: string;
}

export interface HttpDestinationOptions extends ConnectionOptions {
  url: string;
  timeoutMs: number;
}
