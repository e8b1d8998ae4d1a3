// Prometheus 3.x, VictoriaMetrics and Pushgateway from Debian sid, fetched
// and unpacked (never installed) into a cache folder outside the repository,
// as ../shared/reference/real-components.md describes: a private apt list
// of the machine's own mirror, `apt-get download`, `dpkg-deb -x`. The
// versions are not pinned (sid moves on); versions() says which ran.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SID_CACHE = process.env['JVB_ADAPTER_SID_CACHE'] ?? '/var/cache/jvb-prometheus-adapter-tests/sid';

export interface SidComponents {
  readonly prometheus: string;
  /** --web.local-assets for Prometheus 3. */
  readonly prometheusAssets: string;
  readonly victoriaMetrics: string;
  readonly pushgateway: string;
}

const run = (command: string, args: string[], cwd?: string) => execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 }).toString();

/** The binaries, downloaded and unpacked on first use (needs the Debian mirror the machine uses). */
export function sidComponents(dir: string = SID_CACHE): SidComponents {
  const bin = join(dir, 'usr', 'bin');
  const components: SidComponents = {
    prometheus: join(bin, 'prometheus'),
    prometheusAssets: join(dir, 'usr', 'share', 'prometheus', 'web'),
    victoriaMetrics: join(bin, 'victoria-metrics'),
    pushgateway: join(bin, 'prometheus-pushgateway'),
  };
  if ([components.prometheus, components.victoriaMetrics, components.pushgateway].every((file) => existsSync(file))) return components;
  const lists = join(dir, 'apt', 'lists');
  const debs = join(dir, 'debs');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  mkdirSync(debs, { recursive: true });
  const mirror = run('apt-get', ['indextargets', '--format', '$(REPO_URI)'])
    .split('\n')
    .find((uri) => !uri.includes('-security') && /\/debian\/?$/.test(uri));
  if (mirror === undefined) throw new Error('no Debian mirror found in apt-get indextargets');
  const sources = join(dir, 'apt', 'sources.list');
  writeFileSync(sources, `deb ${mirror} sid main\n`);
  const options = ['-o', `Dir::Etc::SourceList=${sources}`, '-o', 'Dir::Etc::SourceParts=/dev/null', '-o', `Dir::State::Lists=${lists}`];
  run('apt-get', [...options, 'update']);
  run('apt-get', [...options, 'download', 'prometheus', 'victoria-metrics', 'prometheus-pushgateway'], debs);
  for (const deb of readdirSync(debs).filter((name) => name.endsWith('.deb'))) run('dpkg-deb', ['-x', join(debs, deb), dir]);
  for (const file of [components.prometheus, components.victoriaMetrics, components.pushgateway]) {
    if (!existsSync(file)) throw new Error(`${file} is missing after unpacking the sid packages`);
  }
  return components;
}

/** The first line `<binary> --version` prints (on stdout or stderr); victoria-metrics (-version) prints nothing in Debian's build. */
export function versionOf(binary: string): string {
  const flag = binary.endsWith('victoria-metrics') ? '-version' : '--version';
  const result = spawnSync(binary, [flag], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  const out = `${result.stdout?.toString() ?? ''}\n${result.stderr?.toString() ?? ''}`;
  return out.split('\n').find((line) => line.trim() !== '')?.trim() ?? `${binary}: no version`;
}

/** The .deb files unpacked (name_version_arch), for the test log: victoria-metrics -version prints nothing in Debian's build. */
export function sidPackages(dir: string = SID_CACHE): string[] {
  const debs = join(dir, 'debs');
  return existsSync(debs) ? readdirSync(debs).filter((name) => name.endsWith('.deb')).sort() : [];
}
