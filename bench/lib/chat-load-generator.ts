/**
 * The runner's handle on the chat load generator process
 * (bench/load/chat-load.ts): start it pinned to the load CPU, send it typed
 * requests, await each reply with a timeout sized to the job. The chat
 * counterpart of load-generator.ts; both sit on ipc-child.ts.
 */
import { join } from 'node:path';
import { BENCH_DIST, LOAD_CPU, spawnNode } from './processes.js';
import { IpcChild, type WithoutId } from './ipc-child.js';
import type { ChatLoadReply, ChatLoadRequest, ClosedReply, ConnectedReply, JoinedReply, LoadReply, LoadRequest, RegisteredReply } from '../load/chat-protocol.js';

export class ChatLoadGenerator {
  private constructor(private readonly child: IpcChild<ChatLoadRequest, ChatLoadReply>) {}

  static start(maxLifetimeMs: number): ChatLoadGenerator {
    // A larger heap than the default: it holds every delivery's latency of a round.
    const child = spawnNode({ cpu: LOAD_CPU, nodeFlags: ['--max-old-space-size=2048'], script: join(BENCH_DIST, 'load', 'chat-load.js'), ipc: true, maxLifetimeMs });
    return new ChatLoadGenerator(new IpcChild('chat load generator', child));
  }

  get pid(): number {
    return this.child.pid;
  }

  private request<R extends ChatLoadReply>(req: WithoutId<ChatLoadRequest>, timeoutMs: number): Promise<R> {
    return this.child.request<R>(req, timeoutMs);
  }

  register(pool: string, origin: string, prefix: string, count: number, password: string, source: string, concurrency = 8): Promise<RegisteredReply> {
    // scrypt at 2^14 is some tens of ms of server CPU: allow 1 s each, and the retries.
    return this.request<RegisteredReply>({ type: 'register', pool, origin, prefix, count, password, source, concurrency }, 60_000 + count * 1000);
  }

  connect(pool: string, url: string, from: number, to: number, sources: readonly string[], concurrency = 64): Promise<ConnectedReply> {
    const timeoutMs = 15_000;
    return this.request<ConnectedReply>({ type: 'connect', pool, url, from, to, sources, concurrency, timeoutMs }, Math.min(300_000, 30_000 + Math.ceil((to - from) / concurrency) * timeoutMs));
  }

  join(pool: string, room: string, members: number, concurrency = 16): Promise<JoinedReply> {
    return this.request<JoinedReply>({ type: 'join', pool, room, concurrency }, 60_000 + members * 200);
  }

  load(req: WithoutId<LoadRequest> extends infer T ? Omit<T, 'type'> : never): Promise<LoadReply> {
    return this.request<LoadReply>({ type: 'load', ...req }, req.seconds * 1000 + req.drainMs + 30_000);
  }

  close(pool: string): Promise<ClosedReply> {
    return this.request<ClosedReply>({ type: 'close', pool }, 30_000);
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}
