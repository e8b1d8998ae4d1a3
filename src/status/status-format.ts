// Small text helpers of the status page: every value that reaches the HTML
// goes through escapeHtml (in an element or an attribute alike).

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unbounded';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** 0.0123 -> "12 ms", 75 -> "1m 15s", 7200 -> "2h 0m". */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unbounded';
  if (seconds === 0) return '0 s';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m ${s % 60}s`;
}

/** How long before `now` an RFC 3339 time was: "12 s ago". */
export function ago(time: string, now: string): string {
  const seconds = Math.max(0, (Date.parse(now) - Date.parse(time)) / 1000);
  return `${formatSeconds(seconds)} ago`;
}

/** A time as the page shows it: relative, with the exact time as a tooltip. */
export function timeCell(time: string | null, now: string, never = 'never'): string {
  if (time === null) return `<span class="muted">${escapeHtml(never)}</span>`;
  return `<time datetime="${escapeHtml(time)}" title="${escapeHtml(time)}">${escapeHtml(ago(time, now))}</time>`;
}
