import http from 'node:http';
import type { AddressInfo } from 'node:net';
import capture from './colibri-stats-2021-08-v2.1.508-active.json';
// (seeded, so a demo run is reproducible)
import { mulberry32 } from './seeded-random';

/** How long one simulated set of conferences lasts. */
const EPOCH_MS = 10_000;
const SLOTS = 22;

function histogram(values: readonly number[]): number[] {
  const slots = new Array<number>(SLOTS).fill(0);
  for (const v of values) slots[Math.min(v, SLOTS - 1)]! += 1;
  return slots;
}

/**
 * The stats a simulated bridge reports `elapsedMs` after it started: the
 * real capture, with conferences that change every 10 s (consistent
 * participants, largest conference and histograms) and counters that grow
 * with the current load.
 */
export function simulatedStats(elapsedMs: number): Record<string, unknown> {
  const epoch = Math.floor(elapsedMs / EPOCH_MS);
  const random = mulberry32(epoch + 1);
  const sizes = Array.from({ length: 1 + Math.floor(random() * 5) }, () => 1 + Math.floor(random() * 12));
  const audio = sizes.map((size) => Math.floor(random() * (size + 1)));
  const video = sizes.map((size) => Math.floor(random() * (size + 1)));
  const participants = sizes.reduce((a, b) => a + b, 0);
  const seconds = elapsedMs / 1000;
  const base = capture as Record<string, unknown>;
  const grow = (key: string, perSecond: number) => Math.round(Number(base[key]) + perSecond * seconds);

  return {
    ...base,
    conferences: sizes.length,
    participants,
    largest_conference: Math.max(...sizes),
    endpoints_sending_audio: audio.reduce((a, b) => a + b, 0),
    endpoints_sending_video: video.reduce((a, b) => a + b, 0),
    conference_sizes: histogram(sizes),
    conferences_by_audio_senders: histogram(audio),
    conferences_by_video_senders: histogram(video),
    bit_rate_download: Math.round(participants * 450 * (0.8 + random() * 0.4) * 1000) / 1000,
    bit_rate_upload: Math.round(participants * 900 * (0.8 + random() * 0.4) * 1000) / 1000,
    stress_level: Math.round(participants * 0.004 * 10000) / 10000,
    total_bytes_received: grow('total_bytes_received', 180_000),
    total_bytes_sent: grow('total_bytes_sent', 350_000),
    total_packets_received: grow('total_packets_received', 300),
    total_packets_sent: grow('total_packets_sent', 550),
    total_conference_seconds: grow('total_conference_seconds', sizes.length),
    total_conferences_created: Number(base['total_conferences_created']) + epoch,
    total_conferences_completed: Number(base['total_conferences_completed']) + epoch,
    total_participants: Number(base['total_participants']) + epoch * 2,
    current_timestamp: new Date(Date.now()).toISOString().replace('T', ' ').replace('Z', ''),
  };
}

export interface DemoJvb {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the simulated bridge's /colibri/stats on a loopback port of its own. */
export async function startDemoJvb(): Promise<DemoJvb> {
  const started = Date.now();
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/colibri/stats') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(simulatedStats(Date.now() - started)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/colibri/stats`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
