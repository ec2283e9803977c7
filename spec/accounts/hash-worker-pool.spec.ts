/**
 * The password-hashing threads (lib/accounts/hash-worker-pool.ts and
 * hash-worker.ts): scrypt's RFC 7914 §12 vectors through the pool, every
 * request settling however its thread fails, and the threads' nice value.
 *
 * Failures are staged with stand-in workers (node:worker_threads `eval`
 * scripts) that crash, exit or never answer, given to the pool by its
 * `spawn` option; the real script is used everywhere else.
 */
import { expect } from 'chai';
import { spawn as spawnProcess } from 'node:child_process';
import { scryptSync } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { HASHING_NICE_STEP } from '../../lib/accounts/hash-worker.js';
import { HASH_WORKER_URL, HashWorkerError, HashWorkerPool, type PriorityReport, type ScryptInput } from '../../lib/accounts/hash-worker-pool.js';

/** RFC 7914 §12, "Test Vectors for scrypt" (dkLen = 64). */
const RFC7914_VECTORS: ReadonlyArray<{ P: string; S: string; N: number; r: number; p: number; key: string }> = [
  {
    P: '',
    S: '',
    N: 16,
    r: 1,
    p: 1,
    key: '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
  },
  {
    P: 'password',
    S: 'NaCl',
    N: 1024,
    r: 8,
    p: 16,
    key: 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
  },
  {
    P: 'pleaseletmein',
    S: 'SodiumChloride',
    N: 16384,
    r: 8,
    p: 1,
    key: '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887',
  },
];

/** Small inputs, for tests about the pool rather than about scrypt. */
function quick(password: string, N = 1024): ScryptInput {
  return { password, salt: Buffer.from('sixteen byte salt'), keyBytes: 32, N, r: 8, p: 1, maxmem: 4 * 128 * N * 8 };
}

function expected(input: ScryptInput): Buffer {
  return scryptSync(input.password, input.salt, input.keyBytes, { N: input.N, r: input.r, p: input.p, maxmem: input.maxmem });
}

/** Stand-in workers, as CommonJS `eval` scripts. */
const STAND_INS = {
  /** Throws on its first request: an uncaught error ends the thread. */
  throws: `require('node:worker_threads').parentPort.on('message', () => { throw new Error('a stand-in hashing thread crashed'); });`,
  /** Ends its own thread with exit code 70 on its first request. */
  exits: `require('node:worker_threads').parentPort.on('message', () => process.exit(70));`,
  /** Takes requests and never answers (the test ends it from outside). */
  silent: `require('node:worker_threads').parentPort.on('message', () => {});`,
} as const;

/** A spawn function that hands out the given workers in turn, then real ones; keeps every worker it made. */
function spawnSequence(...first: (() => Worker)[]): { spawn: () => Worker; made: Worker[] } {
  const made: Worker[] = [];
  const spawn = () => {
    const worker = (first.shift() ?? (() => new Worker(HASH_WORKER_URL, { execArgv: [] })))();
    made.push(worker);
    return worker;
  };
  return { spawn, made };
}

const standIn = (script: string) => () => new Worker(script, { eval: true });

async function rejection(promise: Promise<unknown>): Promise<HashWorkerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(HashWorkerError);
    return error as HashWorkerError;
  }
  return expect.fail('the hash should have been refused');
}

/** The nice value of one thread of this process, from /proc/self/task/<tid>/stat (proc(5): field 19). */
function niceOfThread(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces: state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[19 - 3]);
}

describe('accounts/hash-worker-pool', () => {
  let pool: HashWorkerPool | null = null;
  afterEach(() => {
    pool?.close();
    pool = null;
  });

  describe('scrypt through the pool (RFC 7914)', () => {
    for (const v of RFC7914_VECTORS) {
      it(`derives RFC 7914 §12's key for P="${v.P}", S="${v.S}", N=${v.N}, r=${v.r}, p=${v.p}`, async () => {
        pool = new HashWorkerPool({ size: 1 });
        const key = await pool.derive({ password: v.P, salt: Buffer.from(v.S), keyBytes: 64, N: v.N, r: v.r, p: v.p, maxmem: 2 * 128 * v.N * v.r * v.p });
        expect(key.toString('hex')).to.equal(v.key);
      });
    }

    it('gives back a Buffer of exactly dkLen bytes, whatever the salt was a view into', async () => {
      pool = new HashWorkerPool({ size: 1 });
      // A 16-byte view in the middle of a larger allocation, as node's pooled small Buffers are.
      const salt = Buffer.alloc(4096, 0x5a).subarray(1000, 1016);
      const input = { ...quick('correct horse'), salt };
      const key = await pool.derive(input);
      expect(Buffer.isBuffer(key)).to.equal(true);
      expect(key.length).to.equal(32);
      expect(key).to.deep.equal(expected(input));
    });
  });

  describe('every request settles', () => {
    it('answers 40 requests sent at once to 2 workers, each with its own key, never starting a third worker', async () => {
      pool = new HashWorkerPool({ size: 2 });
      const inputs = Array.from({ length: 40 }, (_, i) => quick(`password number ${i}`));
      const pending = inputs.map((input) => pool!.derive(input));
      expect(pool.load).to.deep.include({ workers: 2, busy: 2, waiting: 38 });
      const keys = await Promise.all(pending);
      keys.forEach((key, i) => expect(key, `request ${i}`).to.deep.equal(expected(inputs[i]!)));
      expect(pool.load).to.deep.equal({ workers: 2, busy: 0, waiting: 0, started: 2, died: 0 });
    });

    it('starts workers lazily: none before the first request, one for one request', async () => {
      pool = new HashWorkerPool({ size: 3 });
      expect(pool.load.workers).to.equal(0);
      await pool.derive(quick('one'));
      await pool.derive(quick('two'));
      expect(pool.load).to.deep.include({ workers: 1, started: 1 });
    });

    it('rejects with scrypt_failed when scrypt refuses its parameters, and keeps the worker for the next request', async () => {
      pool = new HashWorkerPool({ size: 1 });
      // Node refuses when 128·N·r exceeds maxmem.
      const error = await rejection(pool.derive({ ...quick('correct horse'), maxmem: 1024 }));
      expect(error.code).to.equal('scrypt_failed');
      expect(error.message).to.match(/^scrypt failed: /);
      expect(await pool.derive(quick('correct horse'))).to.deep.equal(expected(quick('correct horse')));
      expect(pool.load).to.deep.include({ workers: 1, started: 1, died: 0 });
    });

    const DEATHS: ReadonlyArray<readonly [string, () => Worker, RegExp]> = [
      ['throws an uncaught error', standIn(STAND_INS.throws), /stopped before answering \(Error: a stand-in hashing thread crashed\)/],
      ['calls process.exit(70)', standIn(STAND_INS.exits), /stopped before answering \(exit code 70\)/],
      ['cannot load its script', () => new Worker(new URL('./no-such-hash-worker.js', HASH_WORKER_URL)), /stopped before answering \(Error: /],
    ];
    for (const [how, make, message] of DEATHS) {
      it(`fails the request of a worker that ${how} with worker_died, and replaces the worker for the requests behind it`, async () => {
        const { spawn, made } = spawnSequence(make);
        pool = new HashWorkerPool({ size: 1, spawn });
        const first = pool.derive(quick('first'));
        const second = pool.derive(quick('second'));
        const third = pool.derive(quick('third'));
        const error = await rejection(first);
        expect(error.code).to.equal('worker_died');
        expect(error.message).to.match(message);
        expect(error.message, 'no password in the error (STYLE.md habit 15)').not.to.include('first');
        expect(await second).to.deep.equal(expected(quick('second')));
        expect(await third).to.deep.equal(expected(quick('third')));
        expect(made.length).to.equal(2);
        expect(pool.load).to.deep.include({ workers: 1, started: 2, died: 1 });
      });
    }

    it('fails the request of a worker ended from outside while it hashes (terminate), and serves the next on a new worker', async () => {
      const { spawn, made } = spawnSequence(standIn(STAND_INS.silent));
      pool = new HashWorkerPool({ size: 1, spawn });
      const stuck = pool.derive(quick('stuck'));
      expect(pool.load.busy).to.equal(1);
      await made[0]!.terminate();
      expect((await rejection(stuck)).code).to.equal('worker_died');
      expect(await pool.derive(quick('next'))).to.deep.equal(expected(quick('next')));
      expect(pool.load).to.deep.include({ started: 2, died: 1 });
    });
  });

  describe('closing', () => {
    it('fails running and waiting requests with pool_closed, terminates every worker, and refuses later requests', async () => {
      const { spawn, made } = spawnSequence(standIn(STAND_INS.silent), standIn(STAND_INS.silent));
      pool = new HashWorkerPool({ size: 2, spawn });
      const requests = [1, 2, 3, 4].map((i) => pool!.derive(quick(`request ${i}`)));
      expect(pool.load).to.deep.include({ workers: 2, busy: 2, waiting: 2 });
      const exits = made.map((w) => once(w, 'exit'));
      pool.close();
      for (const request of requests) expect((await rejection(request)).code).to.equal('pool_closed');
      await Promise.all(exits);
      expect(pool.load).to.deep.include({ workers: 0, busy: 0, waiting: 0 });
      expect((await rejection(pool.derive(quick('too late')))).code).to.equal('pool_closed');
      pool.close();
    });

    it('lets a process that used the pool and never closed it exit by itself (idle workers are unref\'d)', async () => {
      const script = `
        import { HashWorkerPool } from ${JSON.stringify(new URL('../../lib/accounts/hash-worker-pool.js', import.meta.url).href)};
        const pool = new HashWorkerPool({ size: 2 });
        const keys = await Promise.all([1, 2].map((i) => pool.derive({ password: 'p' + i, salt: new Uint8Array(16), keyBytes: 32, N: 1024, r: 8, p: 1, maxmem: 1 << 24 })));
        console.log(keys.map((k) => k.length).join(','));
      `;
      const child = spawnProcess(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      try {
        // If a worker kept it alive, this waits until mocha's timeout fails the test.
        const [code] = (await once(child, 'exit')) as [number | null];
        expect(code, out).to.equal(0);
        expect(out.trim()).to.equal('32,32');
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill();
      }
    });
  });

  describe('scheduling priority (sched(7): on Linux the nice value is per thread)', () => {
    it(`runs each hashing thread ${HASHING_NICE_STEP} nice steps below the event loop's thread (nice 5 for a loop at 0), and leaves the loop where it was`, async function () {
      if (process.platform !== 'linux') this.skip();
      const reports: PriorityReport[] = [];
      pool = new HashWorkerPool({ size: 1, onPriority: (r) => reports.push(r) });
      const loopNiceBefore = niceOfThread(process.pid);
      await pool.derive(quick('correct horse'));
      expect(reports.length).to.equal(1);
      const report = reports[0]!;
      if (!report.lowered) return expect.fail(`the worker could not lower its priority: ${report.reason}`);
      const want = Math.min(19, loopNiceBefore + HASHING_NICE_STEP);
      expect(report.nice).to.equal(want);
      // Read from outside the worker: the kernel's own view of that thread.
      expect(niceOfThread(report.tid)).to.equal(want);
      expect(report.tid).not.to.equal(process.pid);
      expect(niceOfThread(process.pid)).to.equal(loopNiceBefore);
    });
  });
});
