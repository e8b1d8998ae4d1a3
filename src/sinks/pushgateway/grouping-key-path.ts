/**
 * The Pushgateway URL path of a group:
 * `/metrics/job/<job>{/<label>/<value>}`. A value that is empty or holds a
 * `/` cannot be percent-encoded (the gateway splits the path before
 * decoding), nor can `.` and `..` (dot segments), so it goes as
 * `<label>@base64/<URL-safe base64>`, with `=` for
 * the empty value, as the Pushgateway README specifies; any other value is
 * percent-encoded. prom-client's Pushgateway class has no @base64 form,
 * hence this.
 */

import { isUserLabelName } from '../../registry/label-name';

function segment(name: string, value: string): string {
  if (value === '') return `${name}@base64/=`;
  // `.` and `..` are dot segments: URL parsers (WHATWG's here, the gateway's
  // router there) resolve them away, so instance=".." would PUT to the
  // parent group. Percent-encoding does not help (%2e is a dot segment too).
  if (value.includes('/') || value === '.' || value === '..') {
    return `${name}@base64/${Buffer.from(value, 'utf8').toString('base64url')}`;
  }
  return `${name}/${encodeURIComponent(value)}`;
}

/** `groupingKey` in order, job first; label names must be valid Prometheus label names. */
export function groupingKeyPath(job: string, groupingKey: ReadonlyArray<readonly [string, string]>): string {
  const parts = [`metrics`, segment('job', job)];
  const seen = new Set<string>(['job']);
  for (const [name, value] of groupingKey) {
    if (!isUserLabelName(name)) throw new RangeError(`invalid grouping label name ${JSON.stringify(name)}`);
    if (seen.has(name)) throw new RangeError(`grouping label ${JSON.stringify(name)} given twice`);
    seen.add(name);
    parts.push(segment(name, value));
  }
  return `/${parts.join('/')}`;
}

/** The gateway's base URL (which may carry a path prefix) joined with the group's path. */
export function groupUrl(baseUrl: string, job: string, groupingKey: ReadonlyArray<readonly [string, string]>): string {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${groupingKeyPath(job, groupingKey)}`;
  return url.toString();
}
