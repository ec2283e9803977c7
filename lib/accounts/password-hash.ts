/**
 * Password hashing with scrypt (RFC 7914), on a small pool of worker threads
 * that run at a lower scheduling priority than the event loop
 * (hash-worker-pool.ts, hash-worker.ts).
 *
 * Why off the loop: one hash at OWASP's cost takes of the order of a second
 * of CPU and 128 MiB of memory. The event loop is the one thread that serves
 * every socket (DESIGN.md "One reactor, one thread"); `scryptSync` on it
 * would freeze every connection for the duration of each login. So each hash
 * runs on another thread, and the loop only sends the inputs and receives
 * the key.
 *
 * Why at a lower priority: another thread is not enough when there are
 * fewer cores than busy threads — on a server pinned to one CPU, the hash and
 * the loop share that core, and at equal priority the kernel makes the loop
 * wait its fair turn (a login burst measured event-loop delay p99 ≈ 10 ms,
 * peaks of 50 ms and more). Each hashing thread raises its own nice value
 * (to 5) when it starts, so when both want the core the kernel favours the
 * loop three to one — but a hash never gets less than a quarter of a core,
 * so a loop kept busy cannot starve logins. hash-worker.ts has the numbers,
 * and says how a thread changes only its own priority and what happens
 * where it cannot. node:crypto's async `scrypt` runs on libuv's thread pool,
 * whose threads we cannot reach from JavaScript to do this; that is why the
 * hashing has threads of its own.
 *
 * How many at once: the pool has as many threads as the hash gate
 * (hash-gate.ts) lets hashes run at once — at least its default, more when
 * an accounts module holds the pool with a larger gate
 * (`retainHashWorkers`). Threads start at the first hash and are ended when
 * the last holder lets go (a server's shutdown); an idle one never keeps the
 * process alive.
 *
 * Cost: OWASP's Password Storage Cheat Sheet asks for scrypt with "a minimum
 * CPU/memory cost parameter of (2^17), a minimum block size of 8 (1024 bytes),
 * and a parallelization parameter of 1": N = 2^17, r = 8, p = 1. The cost is
 * given as log2 N (`ln`), from server.conf; tests use less, for speed.
 *
 * Stored form, self-describing so the cost can be raised later and old hashes
 * still verify (then `needsRehash` says to replace them at the next login):
 *
 *     scrypt$ln=17,r=8,p=1$<salt>$<hash>
 *
 * with salt (16 random bytes) and hash (32 bytes) in standard base64 without
 * '=' padding, as the PHC string format writes them.
 *
 * Passwords are normalized to Unicode NFC before hashing (RFC 8265 §4.2.2,
 * the OpaqueString profile), so "é" typed as one code point or as "e" plus a
 * combining accent is the same password.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../log/logger.js';
import { defaultHashConcurrency } from './hash-gate.js';
import { HashWorkerPool, type PriorityReport } from './hash-worker-pool.js';

/** OWASP's minimum: N = 2^17 (see the file header). */
export const OWASP_MIN_SCRYPT_COST = 17;
/** r, the block size: OWASP's 8 (8 × 128 = 1024 bytes). */
export const SCRYPT_BLOCK_SIZE = 8;
/** p, the parallelization: OWASP's 1. */
export const SCRYPT_PARALLELISM = 1;
export const SALT_BYTES = 16;
export const KEY_BYTES = 32;

/**
 * Bounds on parameters, both for `cost` arguments and for what a stored
 * string may ask for: a corrupt or hostile row must not make us allocate
 * gigabytes (128 × 2^20 × 8 bytes = 1 GiB is the most allowed).
 */
const LIMITS = {
  cost: { min: 10, max: 20 },
  blockSize: { min: 1, max: 16 },
  parallelism: { min: 1, max: 4 },
  saltBytes: { min: 16, max: 64 },
  keyBytes: { min: 16, max: 64 },
  maxMemoryBytes: 1024 * 1024 * 1024,
} as const;

/** RFC 7914 §2: scrypt's working memory is 128 × N × r bytes. */
const BYTES_PER_BLOCK_UNIT = 128;
/** Node refuses to run when its estimate exceeds `maxmem`: allow twice the working set. */
const MAXMEM_HEADROOM = 2;

const SCHEME = 'scrypt';
const STORED_PATTERN =
  /^scrypt\$ln=([0-9]{1,2}),r=([0-9]{1,2}),p=([0-9]{1,2})\$([A-Za-z0-9+/]{1,128})\$([A-Za-z0-9+/]{1,128})$/;

/** A stored hash, taken apart. */
export interface ScryptHash {
  /** log2 N */
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelism: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function inRange(value: number, range: { readonly min: number; readonly max: number }): boolean {
  return Number.isSafeInteger(value) && value >= range.min && value <= range.max;
}

function workingMemory(cost: number, blockSize: number): number {
  return BYTES_PER_BLOCK_UNIT * 2 ** cost * blockSize;
}

/** Standard base64 without '=' padding (the PHC string format's "B64"). */
function encodeB64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Strict inverse of encodeB64: only the one canonical spelling is accepted. */
function decodeB64(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return encodeB64(bytes) === text ? bytes : null;
}

/** Take a stored string apart; null if it is not one we could have written. */
export function parseScryptHash(stored: unknown): ScryptHash | null {
  if (typeof stored !== 'string') return null;
  const match = STORED_PATTERN.exec(stored);
  if (match === null) return null;
  const [, ln, r, p, saltText, hashText] = match as unknown as [string, string, string, string, string, string];
  const cost = Number(ln);
  const blockSize = Number(r);
  const parallelism = Number(p);
  if (!inRange(cost, LIMITS.cost) || !inRange(blockSize, LIMITS.blockSize) || !inRange(parallelism, LIMITS.parallelism)) {
    return null;
  }
  if (workingMemory(cost, blockSize) > LIMITS.maxMemoryBytes) return null;
  const salt = decodeB64(saltText);
  const hash = decodeB64(hashText);
  if (salt === null || !inRange(salt.length, LIMITS.saltBytes)) return null;
  if (hash === null || !inRange(hash.length, LIMITS.keyBytes)) return null;
  return { cost, blockSize, parallelism, salt, hash };
}

// ── where the work runs ────────────────────────────────────────────────────

/** One holder of the hashing threads: an accounts module, with its gate's concurrency and its log. */
interface Holder {
  readonly concurrency: number;
  readonly log: Logger | null;
}

/** The process's hashing threads; made at the first hash, ended when the last holder lets go. */
let workers: HashWorkerPool | null = null;
const holders: Holder[] = [];
/** Whether the priority the threads run at has been logged (once per process). */
let priorityLogged = false;

/** Never fewer threads than a gate lets hashes run, so the gate's count is what really runs. */
function poolSize(): number {
  return Math.max(defaultHashConcurrency(), ...holders.map((h) => h.concurrency));
}

/** Tests only: how new threads are made (undefined: the real hash-worker.ts). */
let spawnForTests: (() => Worker) | undefined;

function hashWorkers(): HashWorkerPool {
  workers ??= new HashWorkerPool({ size: poolSize(), onPriority: logPriorityOnce, spawn: spawnForTests });
  return workers;
}

/**
 * Say once how hashing is scheduled: debug when the threads run at their
 * lower priority, info when they cannot (another OS, no /proc) and run at
 * normal priority.
 */
function logPriorityOnce(report: PriorityReport): void {
  const log = holders.findLast((h) => h.log !== null)?.log ?? null;
  if (priorityLogged || log === null) return;
  priorityLogged = true;
  if (report.lowered) log.debug('password hashing threads run at a lower priority', { nice: report.nice });
  else log.info('password hashing threads run at normal priority', { reason: report.reason });
}

/**
 * Hold the hashing threads for as long as an accounts module is mounted:
 * `concurrency` is its hash gate's (the pool grows to it), `log` where to say
 * how hashing is scheduled. Returns the release; the last release ends every
 * thread (and fails any hash still running with `pool_closed`), so a stopped
 * server leaves none behind.
 */
export function retainHashWorkers(concurrency: number, log?: Logger): () => void {
  const holder: Holder = { concurrency, log: log ?? null };
  holders.push(holder);
  workers?.resize(poolSize());
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders.splice(holders.indexOf(holder), 1);
    if (holders.length === 0) closeHashWorkers();
    else workers?.resize(poolSize());
  };
}

/** End every hashing thread now (tests, a command-line tool's exit); the next hash starts new ones. */
export function closeHashWorkers(): void {
  workers?.close();
  workers = null;
}

/** The hashing threads now: null when none have been started since the last close (tests, a gauge). */
export function hashWorkersLoad(): HashWorkerPool['load'] | null {
  return workers?.load ?? null;
}

/**
 * Tests only: make the hashing threads with `spawn` (a double that crashes
 * on cue), or with the real script again when undefined. Ends the current
 * threads first.
 */
export function setHashWorkerSpawnForTests(spawn: (() => Worker) | undefined): void {
  closeHashWorkers();
  spawnForTests = spawn;
}

/**
 * One scrypt on a hashing thread. Rejects with a HashWorkerError when the
 * thread fails or the pool is closed; the callers answer that as any other
 * failure (500 `internal` for an HTTP route).
 */
function deriveKey(password: string, salt: Buffer, keyBytes: number, cost: number, blockSize: number, parallelism: number): Promise<Buffer> {
  return hashWorkers().derive({
    password: password.normalize('NFC'),
    salt,
    keyBytes,
    N: 2 ** cost,
    r: blockSize,
    p: parallelism,
    maxmem: MAXMEM_HEADROOM * workingMemory(cost, blockSize),
  });
}

function assertCost(cost: number): void {
  if (!inRange(cost, LIMITS.cost)) {
    throw new RangeError(`scrypt cost (log2 N) must be an integer from ${LIMITS.cost.min} to ${LIMITS.cost.max}`);
  }
}

/** Hash `password` with a fresh random salt at N = 2^cost, r = 8, p = 1. */
export async function hashPassword(password: string, cost: number): Promise<string> {
  assertCost(cost);
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  const salt = randomBytes(SALT_BYTES);
  const hash = await deriveKey(password, salt, KEY_BYTES, cost, SCRYPT_BLOCK_SIZE, SCRYPT_PARALLELISM);
  return `${SCHEME}$ln=${cost},r=${SCRYPT_BLOCK_SIZE},p=${SCRYPT_PARALLELISM}$${encodeB64(salt)}$${encodeB64(hash)}`;
}

/**
 * True when `password` is the one `stored` was made from. Uses the parameters
 * written in `stored`, whatever today's cost is. A malformed `stored` gives
 * false, never an exception. The comparison is constant-time
 * (crypto.timingSafeEqual), so the time taken says nothing about how many
 * bytes of the hash matched.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseScryptHash(stored);
  if (parsed === null || typeof password !== 'string') return false;
  const { cost, blockSize, parallelism, salt, hash } = parsed;
  const derived = await deriveKey(password, salt, hash.length, cost, blockSize, parallelism);
  return timingSafeEqual(derived, hash);
}

/**
 * True when `stored` was not made with today's parameters (or is unreadable),
 * so it should be replaced by `hashPassword(password, cost)` at the next
 * successful login.
 */
export function needsRehash(stored: string, cost: number): boolean {
  const parsed = parseScryptHash(stored);
  if (parsed === null) return true;
  return (
    parsed.cost !== cost ||
    parsed.blockSize !== SCRYPT_BLOCK_SIZE ||
    parsed.parallelism !== SCRYPT_PARALLELISM ||
    parsed.salt.length !== SALT_BYTES ||
    parsed.hash.length !== KEY_BYTES
  );
}

const dummyHashes = new Map<number, Promise<string>>();

/**
 * A hash of a random password at `cost`, made once per cost and kept. Login
 * verifies against it when the username is unknown, so that an unknown user
 * and a wrong password take the same time and give the same answer (API.md:
 * 401 `invalid_credentials`, "identical for an unknown user and a wrong
 * password"). Nobody knows its password, so it never verifies.
 */
export function dummyHash(cost: number): Promise<string> {
  assertCost(cost);
  let pending = dummyHashes.get(cost);
  if (pending === undefined) {
    pending = hashPassword(randomBytes(KEY_BYTES).toString('base64'), cost);
    // A failed hash is not kept, so a later call can try again.
    pending.catch(() => dummyHashes.delete(cost));
    dummyHashes.set(cost, pending);
  }
  return pending;
}
