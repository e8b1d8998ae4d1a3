/**
 * Last line of defence against a credential reaching a log: every known
 * secret (password, token, their base64 form, proxy password) is replaced in
 * text we hand back (error messages, response body previews, which a
 * receiver might fill with an echo of our request).
 */
export const REDACTED = '<redacted>';

/** Secrets shorter than this are not searched for (they would mangle ordinary words). */
export const MIN_SCRUBBED_SECRET_LENGTH = 4;

export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === undefined || secret.length < MIN_SCRUBBED_SECRET_LENGTH) continue;
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * For text that was cut off (a 1 KiB body preview): if it ends with the
 * beginning of a secret, that beginning is replaced too.
 */
export function scrubCutSecretTail(text: string, secrets: Iterable<string | undefined>): string {
  for (const secret of secrets) {
    if (secret === undefined || secret.length < MIN_SCRUBBED_SECRET_LENGTH) continue;
    for (let k = Math.min(secret.length - 1, text.length); k >= MIN_SCRUBBED_SECRET_LENGTH; k--) {
      if (text.endsWith(secret.slice(0, k))) return text.slice(0, text.length - k) + REDACTED;
    }
  }
  return text;
}
