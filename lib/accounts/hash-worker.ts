/**
 * The body of one password-hashing thread (a node:worker_threads Worker that
 * hash-worker-pool.ts starts). It does two things:
 *
 *   1. at start, it lowers its own scheduling priority by HASHING_NICE_STEP
 *      nice steps (from the 0 it inherits from the loop's thread, normally,
 *      to 5), and tells the pool whether that worked;
 *   2. then, one request at a time, it runs `scryptSync` (RFC 7914) with the
 *      parameters it is sent and answers with the derived key.
 *
 * Why a lower priority: a hash is of the order of a second of pure CPU. The
 * event loop is the one thread that serves every socket; when it has work
 * (a request, a timer) while a hash is running on the same core, the kernel
 * should give the core to the loop. At equal priority it does not: the loop
 * waits its fair turn behind the hash, and on a server pinned to one CPU
 * that wait is the event-loop delay (a login burst: p99 ≈ 10 ms, peaks of
 * 50 ms and more). With a higher nice value the hash weighs less than the
 * loop in the kernel's fair scheduler: when both want the core, the loop
 * gets the larger share and the hash its turns less often.
 *
 * Why nice 5 and not 19, the lowest: the weight is a share, not a wall. When
 * the loop is busy all the time (a flood of cheap requests, or the login
 * benchmark, whose probe client shares the core), the hash gets only
 * w / (1024 + w) of the core, w being its weight in the kernel's
 * sched_prio_to_weight table (kernel/sched/core.c):
 *
 *     nice   weight   a hash's share of a core the loop keeps busy
 *       0     1024    50 %    (before: the loop waits its fair turn)
 *       5      335    25 %    ← the loop's 0 + HASHING_NICE_STEP
 *      10      110    10 %
 *      19       15     1.4 %  (a one-second hash takes over a minute)
 *
 * At 19 a busy loop starves every login: in the one-CPU login benchmark no
 * run finished (each login timed out after 60 s), and anyone able to keep
 * the loop busy could lock everyone out. At 5 a busy loop still gets three
 * times the hash's share, and logins still finish, at a quarter of a core;
 * when the loop is idle, as it mostly is, the hash gets the whole core
 * whatever its nice value. The step is relative (each nice step is a factor
 * of about 1.25 in weight), so a server started under `nice -n 10` hashes at
 * 15, keeping the same three to one.
 *
 * Why a worker thread and not libuv's pool (node:crypto's async `scrypt`):
 * the priority has to be set by, or for, the thread that does the work, and
 * libuv's pool threads run no JavaScript of ours. A worker thread does.
 *
 * How a thread lowers only itself: sched(7) says "on Linux, the nice value is
 * a per-thread attribute: different threads in the same process may have
 * different nice values", and setpriority(2) with PRIO_PROCESS applied to a
 * thread id changes that one thread. `os.setPriority(tid, nice)` is that call;
 * the thread id comes from /proc/thread-self, a link to "PID/task/TID"
 * (proc(5), Linux 3.17 and later). Raising one's own nice value needs no
 * privilege. Elsewhere (another OS, no /proc, a sandbox that refuses), the
 * worker runs at normal priority — still off the loop thread — and says so.
 *
 * The password crosses to this thread in a message (a copy in this thread's
 * heap, as it was a copy in the libuv request before); it is never logged
 * and never part of an error message.
 */
import { scryptSync } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';

/** How many nice steps below the loop's thread hashing runs (see the file header). */
export const HASHING_NICE_STEP = 5;
/** The last nice value there is (they run from −20, served first, to 19). */
const NICE_MAX = 19;

/** /proc/thread-self → "PID/task/TID" (proc(5)). */
const THREAD_SELF = '/proc/thread-self';
const THREAD_SELF_TARGET = /^([0-9]+)\/task\/([0-9]+)$/;

/** What the worker tells the pool once, at start. */
export type PriorityReport =
  | { readonly lowered: true; readonly tid: number; readonly nice: number }
  | { readonly lowered: false; readonly reason: string };

/** The pool's request: scrypt's inputs, already NFC-normalized and bounded by password-hash.ts. */
export interface DeriveRequest {
  readonly id: number;
  readonly password: string;
  readonly salt: Uint8Array;
  readonly keyBytes: number;
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly maxmem: number;
}

/** The worker's messages to the pool. */
export type WorkerMessage =
  | { readonly kind: 'started'; readonly priority: PriorityReport }
  | { readonly kind: 'derived'; readonly id: number; readonly key: Uint8Array }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string };

/** Step 1 of the file header: find this thread's id and lower its priority. */
function lowerOwnPriority(): PriorityReport {
  let tid: number;
  try {
    const match = THREAD_SELF_TARGET.exec(readlinkSync(THREAD_SELF));
    if (match === null) return { lowered: false, reason: `${THREAD_SELF} does not name a thread` };
    tid = Number(match[2]);
  } catch (err) {
    return { lowered: false, reason: `${THREAD_SELF} is not readable (${describe(err)})` };
  }
  try {
    // A new thread starts with the nice value of the thread that made it: the loop's.
    setPriority(tid, Math.min(NICE_MAX, getPriority(tid) + HASHING_NICE_STEP));
    return { lowered: true, tid, nice: getPriority(tid) };
  } catch (err) {
    return { lowered: false, reason: `setpriority refused (${describe(err)})` };
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return (err as { code?: unknown }).code !== undefined ? String((err as { code?: unknown }).code) : err.message;
  return String(err);
}

/** Step 2: one scrypt, answered as a message; a failure of scrypt itself is an answer too. */
function derive(request: DeriveRequest): WorkerMessage {
  try {
    const { password, salt, keyBytes, N, r, p, maxmem } = request;
    const derived = scryptSync(password, salt, keyBytes, { N, r, p, maxmem });
    // A copy with an ArrayBuffer of its own, so transferring it moves exactly the key.
    const key = new Uint8Array(derived);
    derived.fill(0);
    return { kind: 'derived', id: request.id, key };
  } catch (err) {
    return { kind: 'failed', id: request.id, message: err instanceof Error ? err.message : String(err) };
  }
}

if (parentPort !== null) {
  const port = parentPort;
  const started: WorkerMessage = { kind: 'started', priority: lowerOwnPriority() };
  port.postMessage(started);
  port.on('message', (request: DeriveRequest) => {
    const answer = derive(request);
    port.postMessage(answer, answer.kind === 'derived' ? [answer.key.buffer as ArrayBuffer] : []);
  });
}
