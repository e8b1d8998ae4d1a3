/**
 * One HTTP request to one destination, and its outcome as data.
 *
 * The seam shared by the remote-write and Pushgateway senders: they build a
 * body and headers, call `send`, and hand the outcome to retry-policy.ts.
 * This file knows nothing of retries. It owns the connection (keep-alive
 * pools, TLS, proxy), the credentials (read from their files at every
 * request), the deadline, and keeping secrets out of what it returns.
 *
 * Every HTTP status comes back as `{ kind: 'response' }` (redirects are not
 * followed: a 3xx is returned as is); failures to get a status at all (refused,
 * reset, DNS, TLS, timeout, cancelled) as `{ kind: 'network-error' }`.
 * `send` never throws.
 */
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance, type RawAxiosRequestHeaders } from 'axios';
import type { HttpDestinationOptions } from './http-destination-options';
import { BODY_PREVIEW_BYTES, readBodyPreview } from './body-preview';
import { readBodyLimited } from './read-body';
import { createConnectionAgents } from './connection-agents';
import { ProxyUrlError, selectProxy, type ProxyEnvironment, type SelectedProxy } from './proxy-selection';
import { redactUrl, redactUrlsInText } from '../log/redact-url';
import { createRequestAuthorization, takeUrlCredentials } from './request-authorization';
import { SecretFileError } from './secret-file';
import { scrubCutSecretTail, scrubSecrets } from './secret-scrubber';
import { loadOriginTlsOptions, type OriginTlsOptions } from './tls-material';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: Buffer;
  headers: Record<string, string>;
  /**
   * Read the whole response body, up to this many (decompressed) bytes, into
   * `body` (a poll of a bridge); without it only a preview is kept (a push).
   */
  readBodyUpToBytes?: number;
}

export type HttpOutcome =
  | {
      kind: 'response';
      status: number;
      /** Lower-case names; repeated headers joined with ", ". */
      headers: Record<string, string>;
      /** The first 1 KiB of the body, as UTF-8 text, with known secrets replaced. */
      bodyPreview: string;
      /** With `readBodyUpToBytes`: the whole body, or 'too-large' past the limit. */
      body?: Buffer | 'too-large';
      durationMs: number;
    }
  | {
      kind: 'network-error';
      /**
       * The system or TLS error code (ECONNREFUSED, ECONNRESET, ENOTFOUND,
       * UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...), or one of ours:
       * ETIMEDOUT (no complete answer within timeoutMs), ABORTED (the
       * caller's signal fired), ECLOSED (the transport was closed),
       * ECREDENTIALS (a credentials file could not be read).
       */
      code: string;
      /** Human-readable, without credentials. */
      message: string;
      durationMs: number;
    };

export interface HttpTransport {
  send(req: HttpRequest, signal?: AbortSignal): Promise<HttpOutcome>;
  /** Aborts requests in flight (ABORTED) and closes pooled connections; later sends get ECLOSED. */
  close(): void;
}

export interface HttpTransportEnvironment {
  /** Where HTTP(S)_PROXY / NO_PROXY are read from (default process.env). */
  env?: ProxyEnvironment;
}

/** A TLS file named in the options cannot be read (it was readable when the configuration was checked). */
export class TlsMaterialError extends Error {
  constructor(readonly code: string) {
    super(`cannot read a TLS file (${code}): expected readable PEM files`);
    this.name = 'TlsMaterialError';
  }
}

type Failure = Extract<HttpOutcome, { kind: 'network-error' }>;

/**
 * Builds the transport. Expects options the configuration has checked;
 * still throws TlsMaterialError if a TLS file cannot be read (it was moved
 * since) or ProxyUrlError if a proxy URL is unusable.
 */
export function createHttpTransport(
  opts: HttpDestinationOptions,
  userAgent: string,
  environment: HttpTransportEnvironment = {},
): HttpTransport {
  const env = environment.env ?? process.env;

  const target = new URL(opts.url);
  const urlCredentials = takeUrlCredentials(target);
  const requestUrl = target.toString();

  let receiverTls: OriginTlsOptions;
  try {
    receiverTls = loadOriginTlsOptions(opts.tls);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    throw new TlsMaterialError(code);
  }

  let proxy: SelectedProxy | undefined;
  try {
    proxy = selectProxy(target, { value: opts.proxyUrl, setting: 'the proxy URL' }, env);
  } catch (err) {
    if (err instanceof ProxyUrlError) throw new ProxyUrlError(err.source, `unusable proxy URL from ${err.source}: ${err.message}`);
    throw err;
  }

  const agents = createConnectionAgents(target, receiverTls, proxy?.url);
  const authorization = createRequestAuthorization(opts, urlCredentials);
  const proxyPassword = proxy !== undefined && proxy.url.password !== '' ? proxy.url.password : undefined;
  const knownSecrets = (): (string | undefined)[] => [
    ...authorization.secrets(),
    proxyPassword,
    proxyPassword === undefined ? undefined : safeDecode(proxyPassword),
  ];
  const clean = (text: string): string => scrubSecrets(redactUrlsInText(text), knownSecrets());

  const client: AxiosInstance = axios.create({
    adapter: 'http',
    timeout: 0, // our own deadline below covers connect, headers and body
    maxRedirects: 0,
    proxy: agents.axiosProxy,
    httpAgent: agents.httpAgent,
    httpsAgent: agents.httpsAgent,
    responseType: 'stream',
    decompress: true,
    validateStatus: () => true,
    transformRequest: [(data: unknown) => data],
    transformResponse: [(data: unknown) => data],
    // -1, axios' "no limit": any other value wraps every response stream in an async generator that counts
    // its bytes (a second stream and a promise a chunk); readBodyLimited and the preview bound what is read.
    maxBodyLength: -1,
    maxContentLength: -1,
  });

  /** How to stop each request in flight, for close(). */
  const inFlight = new Set<(why: 'close') => void>();
  let closed = false;

  async function send(req: HttpRequest, signal?: AbortSignal): Promise<HttpOutcome> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const failure = (code: string, message: string): Failure => ({
      kind: 'network-error',
      code,
      message: clean(message),
      durationMs: elapsed(),
    });

    if (closed) return failure('ECLOSED', `transport to ${redactUrl(opts.url)} is closed`);
    if (signal?.aborted) return failure('ABORTED', 'request cancelled before it was sent');

    const controller = new AbortController();
    let cause: 'timeout' | 'caller' | 'close' | undefined;
    const stop = (why: 'timeout' | 'caller' | 'close'): void => {
      if (cause === undefined) cause = why;
      controller.abort();
    };
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    const onCallerAbort = (): void => stop('caller');
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    inFlight.add(stop);

    const cancelled = (): Failure | undefined => {
      if (cause === 'timeout') return failure('ETIMEDOUT', `no complete response within ${opts.timeoutMs} ms`);
      if (cause === 'caller') return failure('ABORTED', 'request cancelled');
      if (cause === 'close') return failure('ABORTED', 'transport closed while the request was in flight');
      return undefined;
    };

    try {
      let authHeader: string | undefined;
      try {
        authHeader = await authorization.header();
      } catch (err) {
        if (err instanceof SecretFileError) return failure('ECREDENTIALS', err.message);
        throw err;
      }
      const early = cancelled();
      if (early !== undefined) return early;

      const response = await client.request<Readable>({
        url: requestUrl,
        method: req.method,
        data: req.body,
        headers: requestHeaders(opts.headers, req, userAgent, authHeader),
        signal: controller.signal,
      });
      let whole: Buffer | 'too-large' | undefined;
      let body: Buffer;
      if (req.readBodyUpToBytes === undefined) {
        body = await readBodyPreview(response.data, controller.signal);
      } else {
        const read = await readBodyLimited(response.data, controller.signal, req.readBodyUpToBytes);
        if (read.kind === 'aborted') return cancelled() ?? failure('ABORTED', 'request cancelled');
        if (read.kind === 'failed') return failure('ECONNRESET', `the response body broke off: ${read.message}`);
        whole = read.kind === 'too-large' ? 'too-large' : read.body;
        body = read.kind === 'too-large' ? Buffer.alloc(0) : read.body.subarray(0, BODY_PREVIEW_BYTES);
      }
      const preview = clean(body.subarray(0, BODY_PREVIEW_BYTES).toString('utf8'));
      return {
        kind: 'response',
        status: response.status,
        headers: flattenHeaders(response.headers as Record<string, unknown>),
        bodyPreview: body.length >= BODY_PREVIEW_BYTES ? scrubCutSecretTail(preview, knownSecrets()) : preview,
        ...(whole !== undefined ? { body: whole } : {}),
        durationMs: elapsed(),
      };
    } catch (err) {
      const why = cancelled();
      if (why !== undefined) return why;
      return failure(errorCode(err), errorMessage(err));
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
      inFlight.delete(stop);
    }
  }

  return {
    send,
    close(): void {
      if (closed) return;
      closed = true;
      for (const stop of inFlight) stop('close');
      agents.destroy();
    },
  };
}

/**
 * Custom headers, then the sender's, then User-Agent and Authorization; a
 * later one replaces an earlier one whatever its letter case. A request
 * without Content-Type goes without one (axios would otherwise invent
 * application/x-www-form-urlencoded for POST and PUT).
 */
function requestHeaders(
  custom: Record<string, string>,
  req: HttpRequest,
  userAgent: string,
  authorization: string | undefined,
): RawAxiosRequestHeaders {
  const byLowerName = new Map<string, [string, string | false]>();
  const put = (name: string, value: string | false): void => {
    byLowerName.set(name.toLowerCase(), [name, value]);
  };
  for (const [name, value] of Object.entries(custom)) put(name, value);
  for (const [name, value] of Object.entries(req.headers)) put(name, value);
  put('User-Agent', userAgent);
  if (authorization !== undefined) put('Authorization', authorization);
  if (!byLowerName.has('content-type')) put('Content-Type', false);
  const out: RawAxiosRequestHeaders = {};
  for (const [name, value] of byLowerName.values()) out[name] = value;
  return out;
}

function flattenHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value === 'string') out[name.toLowerCase()] = value;
    else if (typeof value === 'number') out[name.toLowerCase()] = String(value);
    else if (Array.isArray(value)) out[name.toLowerCase()] = value.map(String).join(', ');
  }
  return out;
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof e?.code === 'string' && e.code !== '' && e.code !== 'ERR_NETWORK') return e.code;
  if (typeof e?.cause?.code === 'string' && e.cause.code !== '') return e.cause.code;
  if (typeof e?.code === 'string' && e.code !== '') return e.code;
  return 'EUNKNOWN';
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message !== '' ? err.message : err.name;
  return String(err);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
