import type { HttpOutcome } from '../http/http-transport';

/**
 * Whether a receiver's answer is an HTML page: a web UI (Grafana's,
 * Prometheus') at the wrong path answers 2xx with one, where a push
 * endpoint answers with an empty or plain-text body. Detected by
 * Content-Type text/html, or a body that starts with `<!DOCTYPE` or `<html`.
 */
export function looksLikeHtml(outcome: HttpOutcome): boolean {
  if (outcome.kind !== 'response') return false;
  if (/^\s*text\/html\b/i.test(outcome.headers['content-type'] ?? '')) return true;
  return /^\s*(?:<!doctype\s|<html[\s>])/i.test(outcome.bodyPreview.replace(/^\uFEFF/, ''));
}
