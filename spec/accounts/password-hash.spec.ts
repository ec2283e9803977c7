import { expect } from 'chai';
import { scryptSync } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  dummyHash,
  hashPassword,
  needsRehash,
  OWASP_MIN_SCRYPT_COST,
  parseScryptHash,
  verifyPassword,
} from '../../lib/accounts/password-hash.js';

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

    it('ticks a 5 ms timer many times during 8 concurrent hashes at cost 15 (they run on libuv\'s pool)', async () => {
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
});
