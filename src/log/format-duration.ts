/** Prometheus' duration units, largest first, in milliseconds. */
export const UNIT_MS: Readonly<Record<string, number>> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
export const UNIT_ORDER: readonly string[] = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/** The shortest Prometheus form of a duration, for help texts and logs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
