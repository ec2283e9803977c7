/**
 * The gate in front of password hashing (lib/accounts/hash-gate.ts): a bound
 * on hashes at once, first come first served, a bounded queue.
 */
import { expect } from 'chai';
import { defaultHashConcurrency, HashGate } from '../../lib/accounts/hash-gate.js';

/** A job that ends when the test says so. */
function deferred(): { job: () => Promise<string>; finish: (v: string) => void; fail: (e: Error) => void; started: () => boolean } {
  let started = false;
  let finish: (v: string) => void = () => {};
  let fail: (e: Error) => void = () => {};
  const job = () => {
    started = true;
    return new Promise<string>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
  };
  return { job, finish: (v) => finish(v), fail: (e) => fail(e), started: () => started };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('accounts/hash-gate', () => {
  it('keeps one pool thread and one core free of hashing, and never goes below one', () => {
    const table: [pool: number, cores: number, want: number][] = [
      [4, 1, 1],
      [4, 2, 1],
      [4, 4, 3],
      [4, 16, 3],
      [1, 8, 1],
      [16, 8, 7],
    ];
    for (const [pool, cores, want] of table) expect(defaultHashConcurrency(pool, cores), `pool ${pool}, cores ${cores}`).to.equal(want);
  });

  it('runs at most `concurrency` jobs at once and starts the waiting ones first come, first served', async () => {
    const gate = new HashGate(2, 10);
    const jobs = [deferred(), deferred(), deferred(), deferred()];
    const results = jobs.map((d) => gate.run(d.job)!);
    await tick();
    expect(jobs.map((d) => d.started())).to.deep.equal([true, true, false, false]);
    expect(gate.load).to.deep.equal({ running: 2, waiting: 2 });
    jobs[1]!.finish('b');
    await tick();
    expect(jobs.map((d) => d.started())).to.deep.equal([true, true, true, false]);
    // A newcomer arriving while every slot is busy waits behind those already waiting.
    const late = deferred();
    const lateResult = gate.run(late.job)!;
    jobs[0]!.finish('a');
    await tick();
    expect(late.started()).to.equal(false);
    expect(gate.load).to.deep.equal({ running: 2, waiting: 1 });
    jobs[2]!.finish('c');
    jobs[3]!.finish('d');
    await tick();
    late.finish('e');
    expect(await Promise.all([...results, lateResult])).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(gate.load).to.deep.equal({ running: 0, waiting: 0 });
  });

  it('refuses at once (null) when the queue is full, and starts nothing for it', async () => {
    const gate = new HashGate(1, 1);
    const a = deferred();
    const b = deferred();
    const c = deferred();
    gate.run(a.job);
    gate.run(b.job);
    expect(gate.run(c.job)).to.equal(null);
    a.finish('a');
    await tick();
    b.finish('b');
    await tick();
    expect(c.started()).to.equal(false);
  });

  it('frees the slot when a job fails', async () => {
    const gate = new HashGate(1, 5);
    const a = deferred();
    const b = deferred();
    const first = gate.run(a.job)!;
    const second = gate.run(b.job)!;
    a.fail(new Error('scrypt failed'));
    await first.then(
      () => expect.fail('should reject'),
      (err: Error) => expect(err.message).to.equal('scrypt failed'),
    );
    await tick();
    expect(b.started()).to.equal(true);
    b.finish('b');
    expect(await second).to.equal('b');
  });

  it('never has more than `concurrency` jobs running, also when jobs are added as others end (seeded random order)', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const gate = new HashGate(3, 1000);
    let active = 0;
    let most = 0;
    const pending: (() => void)[] = [];
    const job = () =>
      new Promise<void>((resolve) => {
        active++;
        most = Math.max(most, active);
        pending.push(() => {
          active--;
          resolve();
        });
      });
    const all: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) all.push(gate.run(job)!);
    for (let round = 0; round < 60; round++) {
      await tick();
      if (pending.length > 0) pending.splice(Math.floor(random() * pending.length), 1)[0]!();
      // New work arrives right as work ends.
      if (round < 40) all.push(gate.run(job)!.then(() => undefined));
    }
    while (pending.length > 0 || gate.load.running > 0) {
      await tick();
      pending.shift()?.();
    }
    await Promise.all(all);
    expect(most).to.equal(3);
  });

  it('refuses a concurrency below 1', () => {
    expect(() => new HashGate(0)).to.throw(RangeError);
  });
});
