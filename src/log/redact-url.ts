/**
 * URLs fit for logs, metrics labels and error messages. Two parts of a URL
 * can hold a secret, and both are hidden:
 *
 * - the userinfo (`user:password@`) is removed;
 * - every query value is replaced by `<redacted>`, the names are kept
 *   (`?api_key=abc&tenant=x` -> `?api_key=<redacted>&tenant=<redacted>`):
 *   hosted receivers often take their token there.
 *
 * Works on strings that are not valid URLs too (a bad setting is still
 * echoed in its error message).
 */

/** What a hidden query value is replaced by. */
export const REDACTED_VALUE = '<redacted>';

export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactQueryOfText(stripUserinfo(url));
  }
  const query = parsed.search;
  const hash = parsed.hash;
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  // Built by hand: URL would percent-encode the placeholder's < and >.
  return `${parsed.toString()}${query.length > 1 ? `?${redactQuery(query.slice(1))}` : ''}${hash}`;
}

/**
 * Hides the secrets of every URL found in free text (error messages, a
 * receiver's answer echoing the request): `userinfo@` of each
 * `scheme://userinfo@host`, and the query values of each URL or path
 * (`/api/v1/write?api_key=...`, as a server may echo its request line).
 */
export function redactUrlsInText(text: string): string {
  return text.replace(/(\/\/)[^\s/?#]*@/g, '$1').replace(TEXT_QUERY, (_match, path: string, query: string) => `${path}?${redactQuery(query)}`);
}

/**
 * A path (anything from a `/`, so `scheme://host/path` too) followed by a
 * query that starts with `name=`: `?` in prose ("is this /colibri/stats?")
 * is left alone.
 */
const TEXT_QUERY = /(\/[^\s"'<>?#]*)\?([\w.~%+\-[\]]+=[^\s"'<>#]*)/g;

/** `a=1&b=&c` -> `a=<redacted>&b=&<redacted>`: names kept, every value (and a bare part, which may be a token) hidden. */
function redactQuery(query: string): string {
  return query
    .split('&')
    .map((part) => {
      if (part === '') return part;
      const eq = part.indexOf('=');
      if (eq === -1) return REDACTED_VALUE;
      return eq === part.length - 1 ? part : `${part.slice(0, eq + 1)}${REDACTED_VALUE}`;
    })
    .join('&');
}

/** For a string that is no URL: hides what follows its first `?` up to a `#`. */
function redactQueryOfText(value: string): string {
  const question = value.indexOf('?');
  if (question === -1) return value;
  const hash = value.indexOf('#', question);
  const end = hash === -1 ? value.length : hash;
  const query = value.slice(question + 1, end);
  return query === '' ? value : `${value.slice(0, question + 1)}${redactQuery(query)}${value.slice(end)}`;
}

function stripUserinfo(value: string): string {
  const schemeEnd = value.indexOf('//');
  const authorityStart = schemeEnd === -1 ? 0 : schemeEnd + 2;
  const rest = value.slice(authorityStart);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf('@');
  if (at === -1) return value;
  return value.slice(0, authorityStart) + rest.slice(at + 1);
}
