/**
 * A URL fit for logs, metrics labels and error messages: the userinfo part
 * (`user:password@`) is removed. Works on strings that are not valid URLs
 * too (a bad setting is still echoed in its error message), by cutting
 * anything between `//` and the last `@` of the authority.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return parsed.toString();
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return stripUserinfo(url);
  }
}

/** Removes `userinfo@` from every `scheme://userinfo@host` found in free text. */
export function redactUrlsInText(text: string): string {
  return text.replace(/(\/\/)[^\s/?#]*@/g, '$1');
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
