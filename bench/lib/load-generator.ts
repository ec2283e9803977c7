/**
 * The runner's handle on the WebSocket and TLS load generator process
 * (bench/load/ws-load.ts): start it pinned to the load CPU, send it typed
 * requests, await each reply with a timeout sized to the job.
 */
import { join } from 'node:path';
import { BENCH_DIST, LOAD_CPU, spawnNode } from './processes.js';
import { IpcChild } from './ipc-child.js';
import type { BroadcastReply, ClosedReply, EchoReply, HandshakeReply, LoadReply, LoadRequest, OpenReply } from '../load/protocol.js';

export class LoadGenerator {
  private constructor(private readonly child: IpcChild<LoadRequest, LoadReply>) {}

  static start(maxLifetimeMs: number): LoadGenerator {
    // A larger heap than the default: a broadcast round keeps every delivery's latency.
    const child = spawnNode({ cpu: LOAD_CPU, nodeFlags: ['--max-old-space-size=2048'], script: join(BENCH_DIST, 'load', 'ws-load.js'), ipc: true, maxLifetimeMs });
    return new LoadGenerator(new IpcChild('load generator', child));
  }

  get pid(): number {
    return this.child.pid;
  }

  open(pool: string, url: string, count: number, sources: readonly string[], concurrency = 64): Promise<OpenReply> {
    const timeoutMs = 10_000;
    // Bounded: every connection either opens or fails within timeoutMs; allow for the queue.
    const budget = 30_000 + Math.ceil(count / concurrency) * timeoutMs;
    return this.child.request<OpenReply>({ type: 'open', pool, url, count, sources, concurrency, timeoutMs }, Math.min(budget, 300_000));
  }

  echo(pool: string, rate: number, seconds: number, payloadBytes: number, drainMs = 3000): Promise<EchoReply> {
    return this.child.request<EchoReply>({ type: 'echo', pool, rate, seconds, payloadBytes, drainMs }, seconds * 1000 + drainMs + 15_000);
  }

  broadcast(pool: string, rate: number, seconds: number, payloadBytes: number, drainMs = 3000): Promise<BroadcastReply> {
    return this.child.request<BroadcastReply>({ type: 'broadcast', pool, rate, seconds, payloadBytes, drainMs }, seconds * 1000 + drainMs + 15_000);
  }

  handshakes(host: string, port: number, count: number, options: { resume: boolean; concurrency: number; sources: readonly string[] }): Promise<HandshakeReply> {
    const timeoutMs = 10_000;
    return this.child.request<HandshakeReply>(
      { type: 'handshakes', host, port, count, concurrency: options.concurrency, resume: options.resume, sources: options.sources, timeoutMs },
      Math.min(300_000, 30_000 + Math.ceil(count / options.concurrency) * 1000),
    );
  }

  close(pool: string): Promise<ClosedReply> {
    return this.child.request<ClosedReply>({ type: 'close', pool }, 30_000);
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}
