import type { PollFailureReason } from '../source';

/** One /colibri/stats body that passed the checks: a JSON object as the JVB sent it. */
export type ColibriStats = Readonly<Record<string, unknown>>;

export type ParseResult =
  | { readonly ok: true; readonly stats: ColibriStats }
  | { readonly ok: false; readonly reason: Extract<PollFailureReason, 'invalid_body' | 'not_jvb'>; readonly message: string };

/**
 * Keys that every JVB since 2019 puts in /colibri/stats and that Jicofo's
 * /stats (the usual wrong URL, it also has "conferences" and "participants")
 * does not. One of them is enough: keys come and go between versions.
 */
const JVB_SIGNATURE_KEYS = ['total_bytes_received', 'total_packets_received', 'bit_rate_download', 'packet_rate_download'];
/** Keys only Jicofo's /stats has. */
const JICOFO_KEYS = ['bridge_selector', 'jibri_detector', 'jigasi_detector', 'total_participants_no_multi_stream'];

const EXCERPT_CHARS = 40;

/** A short, single-line excerpt for the log: enough to recognise, never the whole body. */
function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}...` : flat;
}

/**
 * Checks that a body is a JVB's /colibri/stats object. Only the shape of the
 * whole body is judged here; each field is judged on its own when it is
 * mapped, so one odd field never costs the others.
 */
export function parseColibriStats(body: string): ParseResult {
  const text = body.trim();
  if (text === '') return { ok: false, reason: 'invalid_body', message: 'empty body' };
  if (text.startsWith('<')) {
    return {
      ok: false,
      reason: 'invalid_body',
      message: `got HTML/XML, not JSON (is the JVB's REST API enabled, and is this /colibri/stats?): ${JSON.stringify(excerpt(text))}`,
    };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: 'invalid_body', message: `not valid JSON (${(error as Error).message}): ${JSON.stringify(excerpt(text))}` };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    const kind = Array.isArray(doc) ? 'an array' : doc === null ? 'null' : `a ${typeof doc}`;
    return { ok: false, reason: 'invalid_body', message: `expected a JSON object, got ${kind}` };
  }
  const stats = doc as Record<string, unknown>;
  if (JICOFO_KEYS.some((key) => key in stats)) {
    return { ok: false, reason: 'not_jvb', message: "this is Jicofo's /stats, not a JVB's /colibri/stats: point --jvb.url at the videobridge (default port 8080)" };
  }
  if (!JVB_SIGNATURE_KEYS.some((key) => key in stats)) {
    return {
      ok: false,
      reason: 'not_jvb',
      message: `JSON object has none of the keys every JVB /colibri/stats has (${JVB_SIGNATURE_KEYS.join(', ')}); is --jvb.url the videobridge's /colibri/stats?`,
    };
  }
  return { ok: true, stats };
}
