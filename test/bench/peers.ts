// The peers our agent is measured against, as processes: Prometheus in agent
// mode (Debian bookworm's 2.42, `--enable-feature=agent`; Debian sid's 3.5,
// `--agent`) and VictoriaMetrics' vmagent (Debian sid). Each scrapes a list
// of targets at one interval, as one job, and remote-writes everything to one
// URL with its default queue settings. The sid binaries come from
// test/helpers/sid-components.ts, which downloads and unpacks them on first
// use (../shared/reference/real-components.md).

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sidComponents, sidPackages, versionOf } from '../helpers/sid-components';
import { unusedPort } from '../helpers/ports';
import { onCleanup, sleep, stopChild, temporaryDir } from './bench-support';

export type PeerKind = 'prom2-agent' | 'prom3-agent' | 'vmagent';

export interface PeerOptions {
  readonly job: string;
  /** host:port of each target; the scrape path is /metrics. */
  readonly targets: readonly string[];
  /** Seconds. */
  readonly intervalS: number;
  readonly remoteWriteUrl: string;
  /** Prometheus 3 only: the remote-write message it writes (its default is prometheus.WriteRequest). */
  readonly message?: string;
}

interface Launch {
  readonly binary: string;
  readonly args: (port: number, attempt: number) => string[];
  readonly readyPath: string;
}

/** The executable of vmagent, next to sid's victoria-metrics (the same Debian package). */
export function vmagentBinary(): string {
  return join(sidComponents().victoriaMetrics, '..', 'vmagent');
}

/** One line naming the peer's version (vmagent's Debian build prints none: the package's). */
export function peerVersion(kind: PeerKind): string {
  switch (kind) {
    case 'prom2-agent':
      return versionOf('prometheus');
    case 'prom3-agent':
      return versionOf(sidComponents().prometheus);
    case 'vmagent':
      return `vmagent of ${sidPackages().find((p) => p.startsWith('victoria-metrics_'))?.replace(/\.deb$/, '') ?? 'victoria-metrics (version unknown)'}`;
  }
}

function scrapeConfig(o: PeerOptions, remoteWrite: boolean): string {
  const interval = `${o.intervalS}s`;
  return `global:
  scrape_interval: ${interval}
  scrape_timeout: ${interval}
scrape_configs:
  - job_name: ${JSON.stringify(o.job)}
    static_configs:
      - targets: [${o.targets.map((t) => JSON.stringify(t)).join(', ')}]
${
  remoteWrite
    ? `remote_write:
  - url: ${JSON.stringify(o.remoteWriteUrl)}
${o.message !== undefined ? `    protobuf_message: ${JSON.stringify(o.message)}\n` : ''}`
    : ''
}`;
}

function launchOf(kind: PeerKind, o: PeerOptions, dir: string): Launch {
  const config = join(dir, 'scrape.yml');
  switch (kind) {
    case 'prom2-agent':
      writeFileSync(config, scrapeConfig(o, true));
      return {
        binary: 'prometheus',
        args: (port, attempt) => ['--enable-feature=agent', `--config.file=${config}`, `--storage.agent.path=${join(dir, `data-${attempt}`)}`, `--web.listen-address=127.0.0.1:${port}`],
        readyPath: '/-/ready',
      };
    case 'prom3-agent': {
      const sid = sidComponents();
      writeFileSync(config, scrapeConfig(o, true));
      return {
        binary: sid.prometheus,
        args: (port, attempt) => [
          '--agent',
          `--config.file=${config}`,
          `--storage.agent.path=${join(dir, `data-${attempt}`)}`,
          `--web.local-assets=${sid.prometheusAssets}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        readyPath: '/-/ready',
      };
    }
    case 'vmagent': {
      // vmagent takes the remote-write URL as a flag; the file holds only scrape_configs.
      // -remoteWrite.forcePromProto: Prometheus' protocol (snappy) from the first request, as the
      // receiver speaks no other, instead of probing it for VictoriaMetrics' own (zstd) first.
      // -remoteWrite.queues=1: what vmagent's documentation asks for when the receiver refuses
      // out-of-order samples, as Prometheus does. With its default (4 queues on 2 cores) blocks
      // holding later samples of a series overtake earlier ones; Prometheus answers the late block
      // 400 "out of order sample" and vmagent drops it ("rejected (skipping the block)"): 4% of
      // the samples at 10 000 series in the bench's first full run (VictoriaMetrics issue #1948).
      writeFileSync(config, scrapeConfig(o, false));
      return {
        binary: vmagentBinary(),
        args: (port, attempt) => [
          `-promscrape.config=${config}`,
          `-remoteWrite.url=${o.remoteWriteUrl}`,
          '-remoteWrite.forcePromProto=true',
          '-remoteWrite.queues=1',
          `-remoteWrite.tmpDataPath=${join(dir, `data-${attempt}`)}`,
          `-httpListenAddr=127.0.0.1:${port}`,
        ],
        readyPath: '/health',
      };
    }
  }
}

/** A peer process, started by Peer.start() and stopped at cleanup at the latest. */
export class Peer {
  readonly output: string[] = [];
  private constructor(
    readonly kind: PeerKind,
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('error', (error) => this.output.push(`cannot run ${kind}: ${error.message}`));
    child.stdout!.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log(): string {
    return this.output.join('').slice(-3000);
  }

  static async start(kind: PeerKind, options: PeerOptions): Promise<Peer> {
    const dir = temporaryDir(`jvb-bench-${kind}-`);
    const launch = launchOf(kind, options, dir);
    // A port can be taken between probing and binding; try a few.
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await unusedPort();
      const child = spawn(launch.binary, launch.args(port, attempt), { stdio: ['ignore', 'pipe', 'pipe'] });
      const peer = new Peer(kind, child, `http://127.0.0.1:${port}`);
      if (child.pid === undefined) {
        await sleep(50); // the 'error' event (ENOENT, EACCES) says why
        throw new Error(`${kind} (${launch.binary}) did not start: ${peer.log()}`);
      }
      const unregister = onCleanup(() => stopChild(child, 10_000));
      if (await peer.waitReady(launch.readyPath)) return peer;
      await stopChild(child, 10_000);
      unregister();
      if (!/address already in use/.test(peer.output.join(''))) throw new Error(`${kind} did not start:\n${peer.log()}`);
    }
    throw new Error(`${kind} could not find a free port`);
  }

  private async waitReady(path: string): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && this.alive()) {
      try {
        const res = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return true;
      } catch {
        // not yet
      }
      await sleep(200);
    }
    return false;
  }

  stop(): Promise<void> {
    return stopChild(this.child, 10_000);
  }
}
