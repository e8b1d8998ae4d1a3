import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unusedPort } from './ports';
import type { PromSample } from './prometheus-server';

/**
 * A single-node VictoriaMetrics (the binary of sid-components.ts) on a
 * loopback port with its own temporary storage; queries see data at once
 * (-search.latencyOffset=0s). `stop()` stops it and removes the storage.
 */
export class VictoriaMetricsServer {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly output: string[],
  ) {}

  static async start(binary: string): Promise<VictoriaMetricsServer> {
    const dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-vm-'));
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await unusedPort();
      const child = spawn(
        binary,
        [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${join(dir, 'data')}`, '-search.latencyOffset=0s', '-search.disableCache', '-loggerLevel=WARN', '-retentionPeriod=1d'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const output: string[] = [];
      child.on('error', (error) => output.push(`cannot run victoria-metrics: ${error.message}`));
      child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
      child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
      const server = new VictoriaMetricsServer(`http://127.0.0.1:${port}`, child, dir, output);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && child.exitCode === null) {
        try {
          if ((await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(1000) })).ok) return server;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await server.kill();
      if (!output.join('').includes('address already in use')) break;
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error('victoria-metrics did not start');
  }

  /** An instant query (VictoriaMetrics speaks Prometheus' query API); the result vector. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: { result: PromSample[] }; error?: string };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
    return body.data.result;
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
