/**
 * The Authorization header of each request: basic auth (password from a
 * file, given inline, or from the URL's `user:password@`) or a bearer token
 * (from a file or inline). Files are read at every request, so rotating
 * them needs no restart.
 */
import type { HttpDestinationOptions } from './http-destination-options';
import { SecretFile } from './secret-file';

export interface UrlCredentials {
  username: string;
  password: string;
}

export interface RequestAuthorization {
  /** The header value for the next request; undefined when no auth is configured. Throws SecretFileError. */
  header(): Promise<string | undefined>;
  /** Every secret string known so far, in the forms it could appear in text (for scrubbing). */
  secrets(): string[];
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

function secretForms(username: string, password: string | undefined): string[] {
  if (password === undefined) return [];
  return [password, encodeURIComponent(password), Buffer.from(`${username}:${password}`, 'utf8').toString('base64')];
}

/** Takes `user:password@` out of `url` (mutating it) and returns them decoded. */
export function takeUrlCredentials(url: URL): UrlCredentials | undefined {
  if (url.username === '' && url.password === '') return undefined;
  const credentials = { username: safeDecode(url.username), password: safeDecode(url.password) };
  url.username = '';
  url.password = '';
  return credentials;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function createRequestAuthorization(
  opts: Pick<HttpDestinationOptions, 'basicAuth' | 'bearerTokenFile' | 'bearerToken'>,
  urlCredentials: UrlCredentials | undefined,
): RequestAuthorization {
  const { basicAuth } = opts;
  if (basicAuth !== undefined && 'passwordFile' in basicAuth) {
    const file = new SecretFile(basicAuth.passwordFile);
    return {
      header: async () => basic(basicAuth.username, await file.read()),
      secrets: () => secretForms(basicAuth.username, file.current()),
    };
  }
  if (opts.bearerTokenFile !== undefined) {
    const file = new SecretFile(opts.bearerTokenFile, (raw) => raw.trim());
    return {
      header: async () => `Bearer ${await file.read()}`,
      secrets: () => {
        const token = file.current();
        return token === undefined ? [] : [token];
      },
    };
  }
  if (opts.bearerToken !== undefined) {
    const token = opts.bearerToken.trim();
    return { header: async () => `Bearer ${token}`, secrets: () => [token] };
  }
  const fixed = basicAuth !== undefined ? { username: basicAuth.username, password: basicAuth.password } : urlCredentials;
  if (fixed !== undefined) {
    const header = basic(fixed.username, fixed.password);
    const secrets = secretForms(fixed.username, fixed.password);
    return { header: async () => header, secrets: () => secrets };
  }
  return { header: async () => undefined, secrets: () => [] };
}
