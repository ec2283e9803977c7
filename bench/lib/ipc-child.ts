/**
 * A load generator process seen from the runner: a child started with an IPC
 * channel, to which the runner sends requests and from which it awaits one
 * reply per request, matched by `id`, each with its own timeout. Both load
 * generators (bench/load/ws-load.ts and bench/load/chat-load.ts) speak this
 * way; load-generator.ts and chat-load-generator.ts only add their typed
 * requests on top.
 */
import type { ChildProcess } from 'node:child_process';
import { waitForExit } from './processes.js';

/** Every reply carries the id of its request; `error` replies carry a message. */
export interface IpcReply {
  readonly id: number;
  readonly type: string;
  readonly message?: string;
}

/** A request as the caller writes it: everything but the id, which IpcChild assigns. */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class IpcChild<Req extends { readonly type: string }, Rep extends IpcReply> {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Rep) => void; reject: (e: Error) => void }>();
  private stderrTail = '';

  constructor(
    private readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (raw) => {
      const r = raw as Rep;
      const w = this.waiting.get(r.id);
      if (!w) return; // the answer to a request that already timed out
      this.waiting.delete(r.id);
      if (r.type === 'error') w.reject(new Error(`${name}: ${r.message ?? 'unknown error'}`));
      else w.resolve(r);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    child.stdout!.resume();
    child.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`${name} exited (code ${code}, signal ${signal}): ${this.stderrTail}`));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Send `req`; resolve with its reply, or reject when `timeoutMs` pass first or the child dies. */
  request<R extends Rep>(req: WithoutId<Req>, timeoutMs: number): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name} did not answer '${req.type}' within ${timeoutMs} ms`));
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

  /** Close the channel (the generator exits on 'disconnect'); SIGKILL if it lingers. */
  async stop(): Promise<void> {
    this.child.disconnect?.();
    await waitForExit(this.child, 3000);
  }
}
