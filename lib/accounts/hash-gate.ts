/**
 * A gate in front of password hashing: at most `concurrency` scrypt runs at
 * once, a bounded queue behind them, and a refusal beyond that.
 *
 * Why, when scrypt already runs on threads of its own, at a lower priority
 * than the event loop (password-hash.ts, hash-worker.ts):
 *
 * - Each hash holds a core for the order of a second and 128 MiB at cost 17.
 *   Twenty logins at once must not become twenty threads and 2.5 GiB; they
 *   become `concurrency` hashes and a queue. The hashing threads follow this
 *   number: the accounts module sizes the pool from its gate
 *   (`retainHashWorkers`), so what the gate lets run is what runs.
 * - The lower priority makes the kernel favour the loop three to one on a
 *   core it shares with a hash; a core of its own is better still. On a
 *   machine with few cores, hashing on every core would leave the loop — and
 *   libuv's pool, which still does the server's file reads — sharing every
 *   core with a hash. The gate keeps one core free of hashing.
 *
 * So `concurrency` is the smaller of (pool threads − 1) and (cores − 1), at
 * least 1. The first term dates from when hashes ran in libuv's pool (four
 * threads by default, one kept for file reads); it stays as a cap of three
 * hashes at once by default (3 × 128 MiB at cost 17), and UV_THREADPOOL_SIZE
 * stays the knob that raises it. The queue is bounded too (`maxWaiting`): a
 * login that would wait behind more than that many hashes is refused at once
 * (the caller answers 429 with Retry-After), rather than held until the
 * client gives up.
 */
import { availableParallelism } from 'node:os';

/** libuv's default thread-pool size (https://docs.libuv.org/en/v1.x/threadpool.html); the cap's first term (file header). */
export const LIBUV_DEFAULT_POOL_SIZE = 4;

/**
 * Hashes allowed to wait per running slot: at OWASP's cost (about a second a
 * hash) a login waits at most about this many seconds. Enough for a burst of
 * logins from many addresses at once on a one-slot machine.
 */
export const WAITING_PER_SLOT = 32;

/** The concurrency described in the file header, from the pool size and the core count. */
export function defaultHashConcurrency(poolSize: number = poolSizeFromEnv(), cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(poolSize - 1, cores - 1));
}

/** UV_THREADPOOL_SIZE as libuv reads it at start, else its default. */
function poolSizeFromEnv(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : LIBUV_DEFAULT_POOL_SIZE;
}

export class HashGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number = defaultHashConcurrency(),
    readonly maxWaiting: number = concurrency * WAITING_PER_SLOT,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a whole number ≥ 1');
  }

  /**
   * Run `job` as soon as a slot is free. Null, decided at once, when the
   * queue is full: the job was not started and never will be.
   */
  run<T>(job: () => Promise<T>): Promise<T> | null {
    if (this.running < this.concurrency) {
      this.running++;
      return this.execute(job);
    }
    if (this.waiting.length >= this.maxWaiting) return null;
    // The slot is handed over by the job that ends (see execute), already counted.
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => this.execute(job));
  }

  /** Jobs running and waiting now (tests, a gauge). */
  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private async execute<T>(job: () => Promise<T>): Promise<T> {
    try {
      return await job();
    } finally {
      // Hand the slot straight to the longest-waiting job, so no newcomer can
      // slip in between and make one too many run at once.
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.running--;
    }
  }
}
