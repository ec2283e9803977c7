/**
 * A small pool of password-hashing threads (hash-worker.ts), each running
 * scrypt at a lower scheduling priority than the event loop, so the kernel
 * gives a shared core to the loop first (the why, and why not the lowest
 * priority, are in hash-worker.ts's header).
 *
 * The pool is a queue in front of at most `size` workers:
 *
 *   - Workers start lazily, one per request that finds no idle worker, up to
 *     `size`; a server start pays for none of them. Once started a worker
 *     stays, idle, for the next hash.
 *   - Each worker does one hash at a time. Requests beyond `size` wait here,
 *     first come first served. (In front of the account routes, the hash
 *     gate — hash-gate.ts — already bounds how many arrive at once and
 *     refuses beyond its queue; the pool is sized to match it.)
 *   - An idle worker is unref'd: it never keeps the process alive by
 *     itself. A busy one is ref'd, as libuv's pending request was for the
 *     async `scrypt`: a command-line tool waiting for a hash does not exit.
 *
 * Failures, each settling the request it concerns and nothing else:
 *
 *   - scrypt itself refuses (a parameter, memory): the worker answers
 *     'failed', the request rejects with `scrypt_failed`, the worker stays.
 *   - the worker dies (an uncaught error, terminated, out of memory): its
 *     request rejects with `worker_died`, the worker is dropped, and a new
 *     one is started if requests are waiting (else at the next request).
 *   - the pool is closed: every waiting and running request rejects with
 *     `pool_closed`, and every worker is terminated.
 *
 * So every request settles: with a key, or with a HashWorkerError.
 */
import { Worker } from 'node:worker_threads';
import type { DeriveRequest, PriorityReport, WorkerMessage } from './hash-worker.js';

export type { PriorityReport } from './hash-worker.js';

/** The compiled worker script, next to this file in dist/. */
export const HASH_WORKER_URL = new URL('./hash-worker.js', import.meta.url);

/** Why a hash did not give a key. The message never contains the password. */
export type HashWorkerErrorCode = 'scrypt_failed' | 'worker_died' | 'pool_closed';

export class HashWorkerError extends Error {
  override readonly name = 'HashWorkerError';
  constructor(
    readonly code: HashWorkerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One scrypt's inputs (RFC 7914 §2's P, S, dkLen, N, r, p), plus node's memory cap. */
export interface ScryptInput {
  /** Already normalized (NFC) by the caller. */
  readonly password: string;
  readonly salt: Uint8Array;
  readonly keyBytes: number;
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly maxmem: number;
}

export interface HashWorkerPoolOptions {
  /** The most workers (so hashes) at once; at least 1. */
  readonly size: number;
  /** How a worker is made: the real script by default; tests pass one that crashes. */
  readonly spawn?: () => Worker;
  /** Told what each new worker reports about its priority (to log it). */
  readonly onPriority?: (report: PriorityReport) => void;
}

interface Job {
  readonly request: DeriveRequest;
  readonly resolve: (key: Buffer) => void;
  readonly reject: (error: HashWorkerError) => void;
}

/** A worker is 'idle' (waiting for a request) or 'busy' (one request sent, no answer yet). */
type SlotState = 'idle' | 'busy';

interface Slot {
  readonly worker: Worker;
  state: SlotState;
  job: Job | null;
  /** The uncaught error the worker reported before it exited, if any. */
  error: Error | null;
}

type PoolState = 'open' | 'closed';

export class HashWorkerPool {
  private state: PoolState = 'open';
  private size: number;
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private readonly spawnWorker: () => Worker;
  private readonly onPriority: (report: PriorityReport) => void;
  /** Workers started, and workers that died (not counting those closed): for tests and a gauge. */
  private readonly counts = { started: 0, died: 0 };

  constructor(options: HashWorkerPoolOptions) {
    this.size = checkedSize(options.size);
    this.spawnWorker = options.spawn ?? spawnHashWorker;
    this.onPriority = options.onPriority ?? (() => {});
  }

  /** Derive one scrypt key on a worker thread. Rejects only with a HashWorkerError. */
  derive(input: ScryptInput): Promise<Buffer> {
    if (this.state === 'closed') return Promise.reject(new HashWorkerError('pool_closed', 'password hashing has been shut down'));
    return new Promise<Buffer>((resolve, reject) => {
      const request: DeriveRequest = {
        id: this.nextId++,
        password: input.password,
        // A copy with an ArrayBuffer of its own: a small Buffer can be a view
        // into node's shared 8 KiB pool, which a message would copy whole.
        salt: new Uint8Array(input.salt),
        keyBytes: input.keyBytes,
        N: input.N,
        r: input.r,
        p: input.p,
        maxmem: input.maxmem,
      };
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  /** Allow `size` workers from now on (more start only when needed; extra idle ones end). */
  resize(size: number): void {
    this.size = checkedSize(size);
    for (const slot of this.slots) {
      if (this.slots.size <= this.size) break;
      if (slot.state === 'idle') this.drop(slot);
    }
    this.dispatch();
  }

  /**
   * Fail every waiting and running request with `pool_closed` and terminate
   * every worker. Idempotent; a closed pool refuses new requests.
   */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const closed = () => new HashWorkerError('pool_closed', 'password hashing was shut down before this hash finished');
    for (const job of this.queue.splice(0)) job.reject(closed());
    for (const slot of [...this.slots]) {
      if (slot.job !== null) slot.job.reject(closed());
      slot.job = null;
      this.drop(slot);
    }
  }

  /** Workers alive, busy, requests waiting, and lifetime counts (tests, a gauge). */
  get load(): { readonly workers: number; readonly busy: number; readonly waiting: number; readonly started: number; readonly died: number } {
    let busy = 0;
    for (const slot of this.slots) if (slot.state === 'busy') busy++;
    return { workers: this.slots.size, busy, waiting: this.queue.length, ...this.counts };
  }

  /** Hand waiting requests to idle workers, starting workers up to `size`. */
  private dispatch(): void {
    while (this.state === 'open' && this.queue.length > 0) {
      const slot = this.idleSlot() ?? (this.slots.size < this.size ? this.start() : null);
      if (slot === null) return;
      const job = this.queue.shift()!;
      slot.state = 'busy';
      slot.job = job;
      slot.worker.ref();
      // Before the worker is online the message waits in its port; it is read after the priority is lowered.
      slot.worker.postMessage(job.request);
    }
  }

  private idleSlot(): Slot | null {
    for (const slot of this.slots) if (slot.state === 'idle') return slot;
    return null;
  }

  private start(): Slot {
    const worker = this.spawnWorker();
    const slot: Slot = { worker, state: 'idle', job: null, error: null };
    this.slots.add(slot);
    this.counts.started++;
    worker.unref();
    worker.on('message', (message: WorkerMessage) => this.onMessage(slot, message));
    worker.on('error', (error: Error) => {
      slot.error = error;
    });
    // An answer that cannot be read is as good as none: end the worker, and its 'exit' fails the request.
    worker.on('messageerror', () => void worker.terminate());
    worker.on('exit', (code: number) => this.onExit(slot, code));
    return slot;
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    if (message.kind === 'started') {
      this.onPriority(message.priority);
      return;
    }
    const job = slot.job;
    // An answer with no request, or for another one, means the worker is confused: replace it.
    if (job === null || message.id !== job.request.id) {
      void slot.worker.terminate();
      return;
    }
    slot.job = null;
    slot.state = 'idle';
    slot.worker.unref();
    if (message.kind === 'derived') job.resolve(Buffer.from(message.key.buffer, message.key.byteOffset, message.key.byteLength));
    else job.reject(new HashWorkerError('scrypt_failed', `scrypt failed: ${message.message}`));
    if (this.slots.size > this.size) this.drop(slot);
    this.dispatch();
  }

  private onExit(slot: Slot, code: number): void {
    // Already dropped (close, resize): whatever it held was settled then.
    if (!this.slots.delete(slot)) return;
    this.counts.died++;
    const job = slot.job;
    slot.job = null;
    if (job !== null) {
      const why = slot.error === null ? `exit code ${code}` : `${slot.error.name}: ${slot.error.message}`;
      job.reject(new HashWorkerError('worker_died', `the password-hashing thread stopped before answering (${why})`));
    }
    // The replacement starts here if requests are waiting, else at the next request.
    this.dispatch();
  }

  /** Forget a worker and end it; the caller has settled its job. */
  private drop(slot: Slot): void {
    this.slots.delete(slot);
    // A thread inside scryptSync ends only when that call returns (up to a
    // second): the process need not wait for it.
    slot.worker.unref();
    // Resolves with the exit code (or undefined if it had already exited); nothing to wait for.
    void slot.worker.terminate();
  }
}

/**
 * The real worker. It takes none of the process's command-line flags (a
 * worker inherits them by default): it needs none, and some would be wrong
 * in it — a `--import` preload made for the main thread, or `--input-type`.
 */
function spawnHashWorker(): Worker {
  return new Worker(HASH_WORKER_URL, { execArgv: [] });
}

function checkedSize(size: number): number {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('the hash worker pool needs a whole number ≥ 1 of workers');
  return size;
}
