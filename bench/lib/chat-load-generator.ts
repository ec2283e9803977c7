/**
 * The runner's handle on the chat load generator process
 * (bench/load/chat-load.ts): start it pinned to the load CPU, send it
 * requests, await each reply with a timeout. The chat counterpart of
 * load-generator.ts (whose generator speaks echo only).
 */
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { BENCH_DIST, LOAD_CPU, spawnNode, waitForExit } from './processes.js';
import type { ChatLoadReply, ChatLoadRequest, ClosedReply, ConnectedReply, JoinedReply, LoadReply, LoadRequest, RegisteredReply } from '../load/chat-protocol.js';

type Without<T> = T extends unknown ? Omit<T, 'id'> : never;
type Request = Without<ChatLoadRequest>;

export class ChatLoadGenerator {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: ChatLoadReply) => void; reject: (e: Error) => void }>();
  private stderrTail = '';

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (raw) => {
      const r = raw as ChatLoadReply;
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.type === 'error') w.reject(new Error(`chat load generator: ${r.message}`));
      else w.resolve(r);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    child.stdout!.resume();
    child.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`chat load generator exited (code ${code}, signal ${signal}): ${this.stderrTail}`));
      this.waiting.clear();
    });
  }

  static start(maxLifetimeMs: number): ChatLoadGenerator {
    // A larger heap than the default: it holds every delivery's latency of a round.
    const child = spawnNode({ cpu: LOAD_CPU, nodeFlags: ['--max-old-space-size=2048'], script: join(BENCH_DIST, 'load', 'chat-load.js'), ipc: true, maxLifetimeMs });
    return new ChatLoadGenerator(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  private request<R extends ChatLoadReply>(req: Request, timeoutMs: number): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`chat load generator did not answer '${req.type}' within ${timeoutMs} ms`));
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

  load(req: Without<LoadRequest> extends infer T ? Omit<T, 'type'> : never): Promise<LoadReply> {
    return this.request<LoadReply>({ type: 'load', ...req }, req.seconds * 1000 + req.drainMs + 30_000);
  }

  close(pool: string): Promise<ClosedReply> {
    return this.request<ClosedReply>({ type: 'close', pool }, 30_000);
  }

  async stop(): Promise<void> {
    this.child.disconnect?.();
    await waitForExit(this.child, 3000);
  }
}
