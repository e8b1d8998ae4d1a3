// Who runs in test/bench/agent-vs-prometheus.bench.ts, and how each is
// started against a set of fake bridges:
//   ours-native   dist/cli.js polling each bridge's /metrics            (the node flags of its #! line)
//   ours-colibri  dist/cli.js polling the bridge's /colibri/stats       (single bridge only)
//   ours-sea      the single executable `npm run release` ships (Node 26 inside, the flags of
//                 the #! line built in, the bundle of dist/cli.js) polling /metrics: what the
//                 .deb installs, as an operator runs it
//   prom2-agent   Prometheus 2.42 (Debian bookworm) in agent mode scraping /metrics
//   prom3-agent   Prometheus 3.5 (Debian sid) in agent mode scraping /metrics
//   vmagent       vmagent (Debian sid's victoria-metrics) scraping /metrics
// Our agent pushes through its durable disk queue; the peers use their
// default queue settings. A single bridge is given to our agent as
// --jvb.url (and --remote-write.job), a fleet as a config file with a
// `bridges:` list (each bridge named 127.0.0.1:<port>, the `instance` the
// peers give the same target), as docs/operating.md describes.

import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AgentProcess } from '../helpers/agent-process';
import { onCleanup, temporaryDir } from './bench-support';
import type { FakeFleet, FakeTarget } from './fake-targets';
import { Peer, type PeerKind } from './peers';

export type Who = 'ours-native' | 'ours-colibri' | 'ours-sea' | 'prom2-agent' | 'prom3-agent' | 'vmagent';
export const ALL_WHO: readonly Who[] = ['ours-native', 'ours-colibri', 'ours-sea', 'prom2-agent', 'prom3-agent', 'vmagent'];
/** Ours, however started. */
export const OURS: readonly Who[] = ['ours-native', 'ours-colibri', 'ours-sea'];
/** The peers: the ratios are taken against the cheapest of them. */
export const PEERS: readonly Who[] = ['prom2-agent', 'prom3-agent', 'vmagent'];
/** Names the bench took before: prom-agent was Prometheus 2.42's agent mode. */
export const WHO_ALIASES: Readonly<Record<string, Who>> = { 'prom-agent': 'prom2-agent' };
/** How a ratio names the peer it is taken against ("1.20x prom3"). */
export const SHORT_NAME: Readonly<Record<Who, string>> = {
  'ours-native': 'ours-native',
  'ours-colibri': 'ours-colibri',
  'ours-sea': 'ours-sea',
  'prom2-agent': 'prom2',
  'prom3-agent': 'prom3',
  vmagent: 'vmagent',
};

/** One size the contestants are measured at: `bridges` fake bridges of `series` series each, polled every `intervalMs`. */
export interface Scenario {
  /** "150", "10 000", "fleet 50x2 000". */
  readonly label: string;
  readonly bridges: number;
  readonly series: number;
  readonly intervalMs: number;
  /** Several bridges, each its own target (`instance`): counted per bridge. */
  readonly fleet: boolean;
}

/** The fake's path a contestant polls. */
export const pathOf = (who: Who): '/metrics' | '/colibri/stats' => (who === 'ours-colibri' ? '/colibri/stats' : '/metrics');

/** __name__ pattern of the bench series as they arrive at the receiver (the colibri mapping names them jitsi_<field>). */
export const nameRegexOf = (who: Who): string => (who === 'ours-colibri' ? 'jitsi_bench_[0-9]+' : 'jitsi_jvb_bench_[0-9]+');

/** The job label of a contestant's series at one size; every run has a job of its own. */
export const jobOf = (who: Who, s: Scenario): string => `bench-${who}-${s.fleet ? `fleet${s.bridges}x${s.series}` : `n${s.series}`}`;

/** The `instance` of a bridge's series, for every contestant: the target's host:port. */
export const instanceOf = (target: FakeTarget): string => target.hostPort;

export interface Running {
  readonly pid: number;
  alive(): boolean;
  stop(): Promise<void>;
  log(): string;
}

export interface OurSettings {
  /** Node flags for dist/cli.js. */
  readonly nodeFlags: readonly string[];
  /** The single executable ours-sea runs. */
  readonly executable?: string;
  /** --remote-write.protobuf-message. */
  readonly message: string;
  /** A folder for --cpu-prof profiles, or undefined. */
  readonly cpuProfDir: string | undefined;
}

export async function startContestant(who: Who, s: Scenario, fleet: FakeFleet, receiverUrl: string, ours: OurSettings): Promise<Running> {
  const remoteWriteUrl = `${receiverUrl}/api/v1/write`;
  const job = jobOf(who, s);
  if (who === 'prom2-agent' || who === 'prom3-agent' || who === 'vmagent') {
    const peer = await Peer.start(who satisfies PeerKind, {
      job,
      targets: fleet.targets.map((t) => t.hostPort),
      intervalS: s.intervalMs / 1000,
      remoteWriteUrl,
      // Prometheus 3 writes what our agent writes, so that a 2.0 run compares 2.0 with 2.0.
      ...(who === 'prom3-agent' && ours.message !== 'prometheus.WriteRequest' ? { message: ours.message } : {}),
    });
    return { pid: peer.pid, alive: () => peer.alive(), stop: () => peer.stop(), log: () => peer.log() };
  }
  if (s.fleet && who === 'ours-colibri') throw new Error('ours-colibri does not run in the fleet');

  const storage = temporaryDir('jvb-bench-storage-');
  const profileFlags =
    ours.cpuProfDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(ours.cpuProfDir), `${who}-${s.fleet ? `fleet${s.bridges}x${s.series}` : s.series}`)}`] : [];
  const common = [
    `--poll.interval=${s.intervalMs / 1000}s`,
    `--remote-write.url=${remoteWriteUrl}`,
    `--remote-write.protobuf-message=${ours.message}`,
    `--storage.path=${storage}`,
    '--web.listen-address=127.0.0.1:0',
  ];
  let args: string[];
  if (!s.fleet) {
    args = [`--jvb.url=${fleet.targets[0]!.baseUrl}${pathOf(who)}`, `--remote-write.job=${job}`, ...common];
  } else {
    const config = join(temporaryDir('jvb-bench-fleet-config-'), 'fleet.yml');
    writeFileSync(config, fleetConfig(fleet, job));
    args = [`--config.file=${config}`, ...common];
  }
  let agent: AgentProcess;
  if (who === 'ours-sea') {
    if (ours.executable === undefined) throw new Error('ours-sea needs the single executable');
    // Under --cpu-prof too: a single executable takes node options from NODE_OPTIONS.
    agent = AgentProcess.spawnExecutable(ours.executable, args, profileFlags.length > 0 ? { NODE_OPTIONS: profileFlags.join(' ') } : {});
  } else {
    agent = AgentProcess.spawn(args, {}, [...ours.nodeFlags, ...profileFlags]);
  }
  onCleanup(() => agent.stop().then(() => undefined));
  await agent.waitForLine(/JVB poll succeeded|level=error/, 30_000);
  return {
    pid: agent.pid,
    alive: () => agent.exitCode === null,
    stop: () => agent.stop().then(() => undefined),
    log: () => agent.lines.slice(-30).join('\n'),
  };
}

/** Our agent's config file for a fleet: every bridge's /metrics, named as the peers name the target, one job. */
export function fleetConfig(fleet: FakeFleet, job: string): string {
  return [
    'jvb:',
    `  job: ${JSON.stringify(job)}`,
    'bridges:',
    ...fleet.targets.map((t) => `  - url: ${JSON.stringify(`${t.baseUrl}/metrics`)}\n    name: ${JSON.stringify(instanceOf(t))}`),
    '',
  ].join('\n');
}
