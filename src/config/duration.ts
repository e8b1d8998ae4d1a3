/**
 * Durations in Prometheus' form: one or more `<integer><unit>` parts, largest
 * unit first, e.g. `500ms`, `15s`, `1m30s`, `2h`. Units: y w d h m s ms.
 */
import { UNIT_MS, UNIT_ORDER } from '../log/format-duration';

const PART = /(\d+)(ms|y|w|d|h|m|s)/y;

/** Returns milliseconds, or undefined when `text` is not a Prometheus duration. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text.length === 0) return undefined;
  let total = 0;
  let lastUnitIndex = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const match = PART.exec(text);
    if (match === null || match.index !== start) return undefined;
    const unitIndex = UNIT_ORDER.indexOf(match[2]!);
    // Prometheus refuses repeated or out-of-order units ("1s1m").
    if (unitIndex <= lastUnitIndex) return undefined;
    lastUnitIndex = unitIndex;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return Number.isSafeInteger(total) ? total : undefined;
}
