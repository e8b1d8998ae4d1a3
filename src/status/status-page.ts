import { ago, escapeHtml as h, formatBytes, formatSeconds, timeCell } from './status-format';
import type { BridgeStatus, DestinationStatus, StatusSnapshot } from './status-model';

export interface StatusPageOptions {
  /** Seconds between reloads of the page (a meta refresh); undefined: none. */
  readonly refreshSeconds?: number;
}

const REMOTE_WRITE_VERSIONS: Readonly<Record<string, string>> = {
  'prometheus.WriteRequest': '1.0',
  'io.prometheus.write.v2.Request': '2.0',
};

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:12px 24px;display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}
header h1{font-size:18px;margin:0}header a{color:#c9d1d9}
main{padding:8px 24px 24px}
h2{font-size:16px;margin:20px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d0d7de}
th,td{text-align:left;vertical-align:top;padding:6px 10px;border-bottom:1px solid #d0d7de}
th{background:#eaeef2;font-weight:600;white-space:nowrap}
td.queue{min-width:170px}td.num,td.nowrap{text-align:right;white-space:nowrap}td.nowrap{text-align:left}
.url{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;overflow-wrap:anywhere;min-width:150px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;color:#fff;white-space:nowrap}
.up{background:#1a7f37}.down{background:#cf222e}.unknown{background:#6e7781}.warn{background:#9a6700}
.err{color:#a40e26}.muted{color:#6e7781}
.summary{margin:12px 0 0;font-size:15px}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px;background:#fff;border:1px solid #d0d7de;padding:10px 14px;margin:0}
dt{font-weight:600}dd{margin:0}
.bar{display:inline-block;width:80px;height:8px;background:#eaeef2;border-radius:4px;vertical-align:middle;margin-left:6px}
.bar span{display:block;height:8px;border-radius:4px;background:#0969da}
nav.refresh{font-size:12px;color:#c9d1d9}
`;

/** Whether the last thing a destination did was fail. */
export function destinationFailing(d: DestinationStatus): boolean {
  return d.lastError !== null && (d.lastSuccess === null || d.lastError.at > d.lastSuccess);
}

function badge(kind: 'up' | 'down' | 'unknown' | 'warn', text: string): string {
  return `<span class="badge ${kind}">${h(text)}</span>`;
}

function problemCell(error: { message: string; at: string; since: string } | null, label: string, now: string, current: boolean): string {
  if (error === null) return '<span class="muted">none</span>';
  const since = current ? `failing since ${ago(error.since, now)}` : `last seen ${ago(error.at, now)} (resolved)`;
  const prefix = label === '' || error.message.startsWith(label) ? '' : `<strong>${h(label)}</strong>: `;
  return `<div class="${current ? 'err' : 'muted'}">${prefix}${h(error.message)}</div><div class="muted">${h(since)}</div>`;
}

const ENDPOINT_PATHS: Readonly<Record<string, string>> = { native: '/metrics', colibri: '/colibri/stats' };

/** "native (/metrics)", or with auto-detection "auto: colibri (/colibri/stats)", "auto: not detected yet". */
function sourceText(b: BridgeStatus): string {
  const kind = b.endpointKind === null ? 'not detected yet' : `${b.endpointKind}${ENDPOINT_PATHS[b.endpointKind] === undefined ? '' : ` (${ENDPOINT_PATHS[b.endpointKind]})`}`;
  return b.source === 'auto' ? `auto: ${kind}` : kind;
}

function bridgeRow(b: BridgeStatus, now: string): string {
  const state = b.up === null ? badge('unknown', 'NOT POLLED YET') : b.up ? badge('up', 'UP') : badge('down', 'DOWN');
  const duration = b.lastPollDurationSeconds === null ? '' : `<div class="muted">took ${h(formatSeconds(b.lastPollDurationSeconds))}</div>`;
  return `<tr>
<td class="nowrap"><strong>${h(b.name)}</strong><div class="muted">job ${h(b.job)}</div></td>
<td>${h(sourceText(b))}</td>
<td class="url">${h(b.url)}</td>
<td>${state}</td>
<td class="nowrap">${timeCell(b.lastPoll, now)}${duration}</td>
<td class="num">${h(String(b.series))}</td>
<td>${problemCell(b.lastError, b.lastError?.reason ?? '', now, b.up === false)}</td>
</tr>`;
}

function messageCell(d: DestinationStatus): string {
  if (d.protobufMessage === null) return '<span class="muted">text 0.0.4</span>';
  const version = REMOTE_WRITE_VERSIONS[d.protobufMessage] ?? '?';
  const fellBack = d.protobufMessageConfigured !== null && d.protobufMessageConfigured !== d.protobufMessage;
  const configured = fellBack ? `<div class="muted">configured ${h(REMOTE_WRITE_VERSIONS[d.protobufMessageConfigured!] ?? '?')}: the receiver does not read it</div>` : '';
  return `remote-write ${h(version)}<div class="muted">${h(d.protobufMessage)}</div>${configured}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function queueCell(d: DestinationStatus): string {
  const q = d.queue;
  if (q === null) return '<span class="muted">none (latest state only)</span>';
  const share = Number.isFinite(q.maxBytes) && q.maxBytes > 0 ? Math.min(100, (q.bytes / q.maxBytes) * 100) : 0;
  const age = `oldest ${formatSeconds(q.oldestAgeSeconds)} of ${q.maxAgeSeconds === null ? 'unbounded' : formatSeconds(q.maxAgeSeconds)}`;
  return `<div>${h(formatBytes(q.bytes))} of ${h(formatBytes(q.maxBytes))}<span class="bar" title="${h(share.toFixed(1))}%"><span style="width:${share.toFixed(1)}%"></span></span></div>
<div>${h(plural(q.requests, 'request'))}, ${h(plural(q.samples, 'sample'))}</div>
<div>${h(age)}</div><div class="muted">${q.durable ? 'on disk' : 'in memory'}</div>`;
}

function droppedCell(d: DestinationStatus): string {
  if (d.kind === 'pushgateway') return '<span class="muted">n/a</span>';
  const nonZero = Object.entries(d.samplesDropped).filter(([, n]) => n > 0);
  const sent = `<div class="muted">${h(String(d.samplesSent ?? 0))} sent</div>`;
  if (nonZero.length === 0) return `<span class="muted">none dropped</span>${sent}`;
  return `${nonZero.map(([reason, n]) => `<div class="err">${h(reason)}: ${h(String(n))}</div>`).join('')}${sent}`;
}

function destinationRow(d: DestinationStatus, now: string): string {
  const failing = destinationFailing(d);
  const state = d.held ? badge('down', 'HELD: CREDENTIALS REFUSED') : failing ? badge('down', 'FAILING') : d.lastSuccess !== null ? badge('up', 'OK') : badge('unknown', 'NOT SENT YET');
  const label = d.lastError === null ? '' : d.lastError.status === null ? 'no answer' : `HTTP ${d.lastError.status}`;
  return `<tr>
<td><strong>${h(d.kind)}</strong>${d.name === '' ? '' : `<div class="muted">${h(d.name)}</div>`}</td>
<td class="url">${h(d.url)}</td>
<td>${messageCell(d)}</td>
<td>${state}</td>
<td>${timeCell(d.lastSuccess, now)}</td>
<td>${problemCell(d.lastError, label, now, failing)}</td>
<td class="queue">${queueCell(d)}</td>
<td>${droppedCell(d)}</td>
</tr>`;
}

function agentSection(s: StatusSnapshot): string {
  const a = s.agent;
  const reload = a.lastReload;
  const reloadText =
    reload === null
      ? '<span class="muted">none since the start</span>'
      : reload.ok
        ? `${badge('up', 'OK')} ${timeCell(reload.at, s.generatedAt)}`
        : `${badge('down', 'FAILED')} ${timeCell(reload.at, s.generatedAt)}<div class="err">${h(reload.error ?? '')}</div><div class="muted">the settings from before stay in force</div>`;
  return `<dl>
<dt>Version</dt><dd>${h(a.version)}${a.revision === null ? '' : ` <span class="muted">(revision ${h(a.revision)})</span>`}</dd>
<dt>Started</dt><dd>${timeCell(a.startedAt, s.generatedAt)} <span class="muted">(up ${h(formatSeconds(a.uptimeSeconds))})</span></dd>
<dt>Config file</dt><dd>${a.configFile === null ? '<span class="muted">none (flags and environment)</span>' : `<span class="url">${h(a.configFile)}</span>`}</dd>
<dt>Last reload</dt><dd>${reloadText}</dd>
</dl>`;
}

function summary(s: StatusSnapshot): string {
  const down = s.bridges.filter((b) => b.up === false).length;
  const failing = s.destinations.filter(destinationFailing).length;
  const bridges = `${s.bridges.length} bridge${s.bridges.length === 1 ? '' : 's'}: ${down === 0 ? 'none down' : `${down} down`}`;
  const destinations =
    s.destinations.length === 0 ? 'no push destination' : `${s.destinations.length} destination${s.destinations.length === 1 ? '' : 's'}: ${failing === 0 ? 'none failing' : `${failing} failing`}`;
  const cls = down + failing > 0 ? 'err' : '';
  return `<p class="summary ${cls}"><strong>${h(bridges)}</strong> · <strong>${h(destinations)}</strong></p>`;
}

function refreshNav(refresh: number | undefined): string {
  const choice = (n: number | undefined, text: string) => (n === refresh ? `<strong>${h(text)}</strong>` : `<a href="/${n === undefined ? '' : `?refresh=${n}`}">${h(text)}</a>`);
  return `<nav class="refresh">auto-refresh: ${choice(undefined, 'off')} ${choice(5, '5 s')} ${choice(30, '30 s')}</nav>`;
}

/** The status page: server-rendered HTML, no script, every value escaped. */
export function renderStatusPage(s: StatusSnapshot, opts: StatusPageOptions = {}): string {
  const now = s.generatedAt;
  const refresh = opts.refreshSeconds;
  const telemetry = h(s.agent.telemetryPath);
  const bridges =
    s.bridges.length === 0
      ? '<p class="muted">No bridge.</p>'
      : `<table><thead><tr><th>Bridge</th><th>Source</th><th>URL</th><th>State</th><th>Last poll</th><th>Series</th><th>Last error</th></tr></thead><tbody>
${s.bridges.map((b) => bridgeRow(b, now)).join('\n')}
</tbody></table>`;
  const destinations =
    s.destinations.length === 0
      ? `<p class="muted">No push destination: the metrics are only served at <a href="${telemetry}">${telemetry}</a>.</p>`
      : `<table><thead><tr><th>Kind</th><th>URL</th><th>Message</th><th>State</th><th>Last success</th><th>Last error</th><th>Queue</th><th>Dropped samples</th></tr></thead><tbody>
${s.destinations.map((d) => destinationRow(d, now)).join('\n')}
</tbody></table>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${refresh === undefined ? '' : `<meta http-equiv="refresh" content="${h(String(refresh))}">`}
<title>JVB Prometheus adapter: status</title><style>${STYLE}</style></head>
<body><header><h1>JVB Prometheus adapter</h1><span>${h(s.agent.version)}</span>
<span><a href="${telemetry}">Metrics</a> · <a href="/-/healthy">Health</a> · <a href="/-/ready">Readiness</a> · <a href="/api/v1/status">Status as JSON</a></span>
${refreshNav(refresh)}</header>
<main>${summary(s)}
<h2>Bridges</h2>
${bridges}
<h2>Destinations</h2>
${destinations}
<h2>Agent</h2>
${agentSection(s)}
<p class="muted">As of <time datetime="${h(now)}">${h(now)}</time>.</p>
</main></body></html>
`;
}
