/**
 * The runner's handle on the load generator process (bench/load/ws-load.ts):
 * start it pinned to the load CPU, send it requests, await each reply with a
 * timeout.
 */
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { BENCH_DIST, LOAD_CPU, spawnNode, waitForExit } from './processes.js';
import type { ClosedReply, EchoReply, LoadReply, OpenReply } from '../load/protocol.js';

type Without<T> = T extends unknown ? Omit<T, 'id'> : never;
type Request = Without<import('../load/protocol.js').LoadRequest>;

export class LoadGenerator {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: LoadReply) => void; reject: (e: Error) => void }>();
  private stderrTail = '';

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (raw) => {
      const r = raw as LoadReply;
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.type === 'error') w.reject(new Error(`load generator: ${r.message}`));
      else w.resolve(r);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    child.stdout!.resume();
    child.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load generator exited (code ${code}, signal ${signal}): ${this.stderrTail}`));
      this.waiting.clear();
    });
  }

  static start(maxLifetimeMs: number): LoadGenerator {
    const child = spawnNode({ cpu: LOAD_CPU, script: join(BENCH_DIST, 'load', 'ws-load.js'), ipc: true, maxLifetimeMs });
    return new LoadGenerator(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  private request<R extends LoadReply>(req: Request, timeoutMs: number): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`load generator did not answer '${req.type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as R);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ ...req, id });
    });
  }

  open(pool: string, url: string, count: number, sources: readonly string[], concurrency = 64): Promise<OpenReply> {
    const timeoutMs = 10_000;
    // Bounded: every connection either opens or fails within timeoutMs; allow for the queue.
    const budget = 30_000 + Math.ceil(count / concurrency) * timeoutMs;
    return this.request<OpenReply>({ type: 'open', pool, url, count, sources, concurrency, timeoutMs }, Math.min(budget, 300_000));
  }

  echo(pool: string, rate: number, seconds: number, payloadBytes: number, drainMs = 3000): Promise<EchoReply> {
    return this.request<EchoReply>({ type: 'echo', pool, rate, seconds, payloadBytes, drainMs }, seconds * 1000 + drainMs + 15_000);
  }

  close(pool: string): Promise<ClosedReply> {
    return this.request<ClosedReply>({ type: 'close', pool }, 30_000);
  }

  async stop(): Promise<void> {
    this.child.disconnect?.();
    await waitForExit(this.child, 3000);
  }
}
