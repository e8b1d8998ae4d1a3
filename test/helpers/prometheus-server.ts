import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unusedPort } from './ports';

export interface ScrapeJob {
  readonly job: string;
  readonly target: string;
  readonly interval?: string;
  readonly honorLabels?: boolean;
  /** Target labels added to every series of the job. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/**
 * A real Prometheus (Debian's package) on a loopback port of its own with
 * its own temporary storage, stopped and removed by `stop()`.
 */
export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly output: string[],
  ) {}

  static async start(
    opts: { scrape?: readonly ScrapeJob[]; remoteWriteReceiver?: boolean; webConfig?: string; extraArgs?: string[]; /** Default: Debian's `prometheus` on the PATH. */ binary?: string } = {},
  ): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-prom-'));
    const jobs = (opts.scrape ?? [])
      .map(
        (job) => `  - job_name: ${JSON.stringify(job.job)}
    scrape_interval: ${job.interval ?? '1s'}
    scrape_timeout: 1s
    honor_labels: ${job.honorLabels === true}
    static_configs:
      - targets: [${JSON.stringify(job.target)}]${job.labels === undefined ? '' : `\n        labels: ${JSON.stringify(job.labels)}`}`,
      )
      .join('\n');
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  evaluation_interval: 1s\nscrape_configs:\n${jobs || '  []'}\n`);
    const args = [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`];
    if (opts.remoteWriteReceiver) args.push('--web.enable-remote-write-receiver');
    if (opts.webConfig !== undefined) {
      writeFileSync(join(dir, 'web.yml'), opts.webConfig);
      args.push(`--web.config.file=${join(dir, 'web.yml')}`);
    }
    args.push(...(opts.extraArgs ?? []));

    // A port can be taken between probing and binding; try a few.
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await unusedPort();
      const child = spawn(opts.binary ?? 'prometheus', [...args, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      const output: string[] = [];
      // A missing binary is an 'error' event: report it through the start failure, never as an uncaught exception.
      child.on('error', (error) => output.push(`cannot run prometheus: ${error.message}`));
      child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
      child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
      const server = new PrometheusServer(`http://127.0.0.1:${port}`, child, dir, output);
      if (await server.waitReady(opts.webConfig !== undefined)) return server;
      await server.kill();
      if (!output.join('').includes('address already in use')) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`prometheus did not start:\n${output.join('').slice(-3000)}`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error('prometheus could not find a free port');
  }

  private async waitReady(anyAnswer: boolean): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && this.child.exitCode === null && this.child.pid !== undefined) {
      try {
        const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        // Behind a web config (TLS/auth) plain http may not answer 200; any answer means it is up.
        if (res.ok || anyAnswer) return true;
      } catch (error) {
        if (anyAnswer && String((error as { cause?: { code?: string } }).cause?.code ?? '').startsWith('ECONNRESET')) return true;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  /** An instant PromQL query; the result vector. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { resultType: string; result: PromSample[] }; error?: string };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
    return body.data.result;
  }

  /** Repeats `query` until `accept` likes the result or `timeoutMs` passes; returns the last result. */
  async waitFor(promql: string, accept: (result: PromSample[]) => boolean, timeoutMs = 20_000): Promise<PromSample[]> {
    const deadline = Date.now() + timeoutMs;
    let result: PromSample[] = [];
    while (Date.now() < deadline) {
      result = await this.query(promql);
      if (accept(result)) return result;
      await new Promise((r) => setTimeout(r, 250));
    }
    return result;
  }

  private async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
