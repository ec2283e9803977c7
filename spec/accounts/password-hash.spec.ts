import { expect } from 'chai';
import { scryptSync } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { defaultHashConcurrency } from '../../lib/accounts/hash-gate.js';
import { HashWorkerError } from '../../lib/accounts/hash-worker-pool.js';
import {
  closeHashWorkers,
  dummyHash,
  hashPassword,
  hashWorkersLoad,
  needsRehash,
  OWASP_MIN_SCRYPT_COST,
  parseScryptHash,
  retainHashWorkers,
  setHashWorkerSpawnForTests,
  verifyPassword,
} from '../../lib/accounts/password-hash.js';
import { mountAccounts } from '../../lib/accounts/routes.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { call, GOOD_PASSWORD, register } from './api-client.js';

/** Fast enough for tests; production uses at least OWASP_MIN_SCRYPT_COST (17). */
const TEST_COST = 14;
const STORED_FORMAT = /^scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

describe('password hashing with scrypt (RFC 7914, OWASP Password Storage Cheat Sheet)', () => {
  it('uses OWASP\'s minimum N = 2^17 as the recommended cost', () => {
    expect(OWASP_MIN_SCRYPT_COST).to.equal(17);
  });

  it('writes scrypt$ln=…,r=8,p=1$<16-byte salt>$<32-byte hash> in unpadded base64', async () => {
    const stored = await hashPassword('correct horse', TEST_COST);
    expect(stored).to.match(STORED_FORMAT);
    const parsed = parseScryptHash(stored);
    expect(parsed).to.not.equal(null);
    expect(parsed!.salt.length).to.equal(16);
    expect(parsed!.hash.length).to.equal(32);
    expect(stored).not.to.include('correct horse');
  });

  it('computes the same key as scryptSync with the stored salt and parameters', async () => {
    const stored = await hashPassword('correct horse', TEST_COST);
    const { salt, hash } = parseScryptHash(stored)!;
    const expected = scryptSync('correct horse', salt, 32, { N: 2 ** TEST_COST, r: 8, p: 1 });
    expect(hash).to.deep.equal(expected);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse', TEST_COST);
    expect(await verifyPassword('correct horse', stored)).to.equal(true);
    expect(await verifyPassword('correct horsf', stored)).to.equal(false);
    expect(await verifyPassword('Correct horse', stored)).to.equal(false);
    expect(await verifyPassword('', stored)).to.equal(false);
  });

  it('salts every hash: the same password twice gives two different strings, both verifying', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', TEST_COST), hashPassword('same password', TEST_COST)]);
    expect(a).not.to.equal(b);
    expect(await verifyPassword('same password', a)).to.equal(true);
    expect(await verifyPassword('same password', b)).to.equal(true);
  });

  it('treats the NFC and NFD spellings of a password as the same password (RFC 8265 §4.2.2)', async () => {
    const stored = await hashPassword('caf\u00e9-au-lait', TEST_COST);
    expect(await verifyPassword('cafe\u0301-au-lait', stored)).to.equal(true);
  });

  // Made by the previous implementation (node:crypto's async `scrypt` on
  // libuv's pool) before hashing moved to worker threads: rows already in
  // databases must keep verifying.
  const STORED_BEFORE_WORKER_THREADS: ReadonlyArray<readonly [password: string, stored: string]> = [
    ['correct horse battery staple', 'scrypt$ln=12,r=8,p=1$pEpYLPvRbJEut9/mkiAt8g$F+sHU4GcHgUbspdspz394nZga0NMJRNiH+7x3PwDers'],
    ['caf\u00e9 au lait, s\u2019il vous pla\u00eet', 'scrypt$ln=10,r=8,p=1$KsSgz77kubBzNp2Q5KXIaQ$JJ5gMmBM2/bjrL5bsxQ2cWPwt+cvGLtpDifB11dxOK8'],
  ];
  for (const [password, stored] of STORED_BEFORE_WORKER_THREADS) {
    it(`still verifies a hash stored by the earlier implementation (${stored.slice(0, 20)}…), and refuses a wrong password for it`, async () => {
      expect(await verifyPassword(password, stored)).to.equal(true);
      expect(await verifyPassword(password + ' ', stored)).to.equal(false);
    });
  }

  it('verifies with the parameters in the stored string, so raising the cost later keeps old hashes valid', async () => {
    const old = await hashPassword('correct horse', 12);
    expect(old).to.match(/^scrypt\$ln=12,/);
    expect(await verifyPassword('correct horse', old)).to.equal(true);
    expect(needsRehash(old, TEST_COST)).to.equal(true);
    expect(needsRehash(await hashPassword('correct horse', TEST_COST), TEST_COST)).to.equal(false);
  });

  const MALFORMED: ReadonlyArray<readonly [string, unknown]> = [
    ['an empty string', ''],
    ['a bcrypt hash', '$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234'],
    ['a missing hash part', 'scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA'],
    ['an unknown scheme', 'argon2$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a cost too high to allocate', 'scrypt$ln=31,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['memory above 1 GiB (ln=20, r=16)', 'scrypt$ln=20,r=16,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a cost of zero', 'scrypt$ln=0,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a salt that is too short', 'scrypt$ln=14,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['padding in the base64', 'scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['non-canonical base64', 'scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAB$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['trailing text', 'scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$'],
    ['a number', 42],
    ['null', null],
  ];
  for (const [what, stored] of MALFORMED) {
    it(`answers false, never throws, for a stored value that is ${what}`, async () => {
      expect(await verifyPassword('correct horse', stored as string)).to.equal(false);
      expect(parseScryptHash(stored)).to.equal(null);
      expect(needsRehash(stored as string, TEST_COST)).to.equal(true);
    });
  }

  it('refuses a cost outside 10–20 when hashing', async () => {
    let refused = 0;
    for (const cost of [9, 21, 14.5]) {
      try {
        await hashPassword('correct horse', cost);
      } catch (error) {
        if (error instanceof RangeError) refused++;
      }
    }
    expect(refused).to.equal(3);
  });

  it('keeps one dummy hash per cost, which verifies no password (login of an unknown user)', async () => {
    const first = await dummyHash(TEST_COST);
    expect(await dummyHash(TEST_COST)).to.equal(first);
    expect(first).to.match(STORED_FORMAT);
    expect(await verifyPassword('', first)).to.equal(false);
    expect(await verifyPassword('password', first)).to.equal(false);
  });

  describe('the event loop keeps turning while hashes run (DESIGN.md "One reactor, one thread")', () => {
    /** Count the ticks of a 5 ms interval while `work` runs. */
    async function ticksDuring(work: () => unknown): Promise<number> {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      try {
        await work();
      } finally {
        clearInterval(timer);
      }
      return ticks;
    }

    it('ticks a 5 ms timer many times during 8 concurrent hashes at cost 15 (they run on worker threads)', async () => {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const started = performance.now();
      const ticks = await ticksDuring(() =>
        Promise.all(Array.from({ length: 8 }, (_, i) => hashPassword(`password number ${i}`, 15))),
      );
      const elapsedMs = performance.now() - started;
      histogram.disable();
      const p99Ms = histogram.percentile(99) / 1e6;
      // No timing assertion (it could flake on a loaded machine): only that
      // the loop was free to run timers at all while the hashes were working.
      // With scryptSync (or any hashing on the loop thread) the count would
      // be 0: the timer cannot fire while the thread is busy. The numbers go
      // in the message for a person reading a failure.
      expect(ticks, `ticks=${ticks}, hashing took ${elapsedMs.toFixed(0)} ms, loop delay p99 ${p99Ms.toFixed(1)} ms`).to.be.at.least(5);
    });
  });
  describe('the hashing threads (hash-worker-pool.ts), as this module runs them', () => {
    afterEach(() => closeHashWorkers());

    it('starts no thread before the first hash, and ends them all when the last holder lets go', async () => {
      closeHashWorkers();
      const releaseA = retainHashWorkers(1);
      const releaseB = retainHashWorkers(1);
      expect(hashWorkersLoad()).to.equal(null);
      await hashPassword('correct horse', TEST_COST);
      expect(hashWorkersLoad()).to.deep.include({ workers: 1, busy: 0 });
      releaseA();
      releaseA();
      expect(hashWorkersLoad(), 'one holder is left').to.deep.include({ workers: 1 });
      releaseB();
      expect(hashWorkersLoad()).to.equal(null);
    });

    it("grows to the concurrency a holder's gate asks for, so that many hashes really run at once", async () => {
      closeHashWorkers();
      const concurrency = defaultHashConcurrency() + 2;
      const release = retainHashWorkers(concurrency);
      try {
        const hashes = Array.from({ length: concurrency + 1 }, (_, i) => hashPassword(`password number ${i}`, 12));
        expect(hashWorkersLoad()).to.deep.include({ workers: concurrency, busy: concurrency, waiting: 1 });
        for (const stored of await Promise.all(hashes)) expect(stored).to.match(/^scrypt\$ln=12,/);
      } finally {
        release();
      }
    });

    it('fails a hash still running at the last release with pool_closed, and starts afresh at the next hash', async () => {
      const release = retainHashWorkers(1);
      const running = hashPassword('correct horse', TEST_COST);
      release();
      try {
        await running;
        expect.fail('the hash should have been refused');
      } catch (error) {
        expect(error).to.be.instanceOf(HashWorkerError);
        expect((error as HashWorkerError).code).to.equal('pool_closed');
      }
      expect(await verifyPassword('correct horse', await hashPassword('correct horse', TEST_COST))).to.equal(true);
    });

    it('is held by each server with the accounts module, and ended when the last of them is destroyed', async () => {
      closeHashWorkers();
      const first = await startServer({ password_hash_cost: 14 }, { prepare: (s) => void mountAccounts(s) });
      const second = await startServer({ password_hash_cost: 14 }, { prepare: (s) => void mountAccounts(s) });
      let firstOpen = true;
      try {
        await register(first);
        await first.close();
        firstOpen = false;
        expect(hashWorkersLoad(), 'the second server still holds them').to.not.equal(null);
        await register(second);
      } finally {
        if (firstOpen) await first.close();
        await second.close();
      }
      expect(hashWorkersLoad()).to.equal(null);
    });
  });

  describe('from the outside: a live server with the accounts module', function () {
    /** The password that makes the stand-in hashing thread crash. */
    const CRASH = 'crash the hashing thread, please';
    /**
     * A stand-in hashing thread: scrypt as hash-worker.ts answers it, except
     * that it dies on the password CRASH (an uncaught error ends the thread).
     */
    const CRASHING_WORKER = `
      const { parentPort } = require('node:worker_threads');
      const { scryptSync } = require('node:crypto');
      parentPort.on('message', (q) => {
        if (q.password === ${JSON.stringify(CRASH)}) throw new Error('the stand-in hashing thread crashed');
        const key = new Uint8Array(scryptSync(q.password, q.salt, q.keyBytes, { N: q.N, r: q.r, p: q.p, maxmem: q.maxmem }));
        parentPort.postMessage({ kind: 'derived', id: q.id, key }, [key.buffer]);
      });`;
    let live: LiveServer;
    before(async () => {
      setHashWorkerSpawnForTests(() => new Worker(CRASHING_WORKER, { eval: true }));
      live = await startServer({ password_hash_cost: 14 }, { prepare: (s) => void mountAccounts(s) });
    });
    after(async () => {
      await live.close();
      setHashWorkerSpawnForTests(undefined);
    });

    it('answers 500 internal when the hashing thread dies during a login, then serves the next login on a new thread', async () => {
      const { username } = await register(live);
      const crashed = await call(live, 'POST', '/login', { body: { username, password: CRASH } });
      expect(crashed.status).to.equal(500);
      expect(crashed.json.error.code).to.equal('internal');
      const failure = live.logLines.find((l) => l.includes('request handler failed'));
      expect(failure).to.include('HashWorkerError').and.to.include('the password-hashing thread stopped before answering');
      expect(live.logLines.join('\n'), 'no password in the log (STYLE.md habit 15)').not.to.include(CRASH);
      const next = await call(live, 'POST', '/login', { body: { username, password: GOOD_PASSWORD } });
      expect(next.status).to.equal(200);
      expect(hashWorkersLoad()).to.deep.include({ died: 1 });
    });
  });
});
