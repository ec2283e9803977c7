import { expect } from 'chai';
import { TokenBucket, BoundedMap, RateLimiter } from '../../lib/net/token-bucket.js';

describe('net/token-bucket', () => {
  const rule = { ratePerSecond: 2, burst: 3 };

  it('allows a burst, then refuses until tokens refill at the configured rate', () => {
    const b = new TokenBucket(0, rule.burst);
    expect([b.take(0, rule), b.take(0, rule), b.take(0, rule), b.take(0, rule)]).to.deep.equal([true, true, true, false]);
    expect(b.waitMs(0, rule)).to.equal(500);
    expect(b.take(499, rule)).to.equal(false);
    expect(b.take(500, rule)).to.equal(true);
  });

  it('never holds more than the burst', () => {
    const b = new TokenBucket(0, rule.burst);
    b.take(0, rule);
    expect(b.isFull(1_000_000, rule)).to.equal(true);
    let taken = 0;
    while (b.take(1_000_000, rule)) taken++;
    expect(taken).to.equal(3);
  });

  it('a bounded map evicts the least recently used entry and counts evictions', () => {
    const m = new BoundedMap<string, number>(2);
    m.getOrCreate('a', () => 1);
    m.getOrCreate('b', () => 2);
    m.get('a'); // a is now the most recent
    m.getOrCreate('c', () => 3);
    expect(m.get('b')).to.equal(undefined);
    expect(m.get('a')).to.equal(1);
    expect(m.size).to.equal(2);
    expect(m.evictions).to.equal(1);
  });

  it('a rate limiter keys buckets separately and stays within its key bound', () => {
    const r = new RateLimiter({ ratePerSecond: 1, burst: 1 }, 100);
    expect(r.take('x', 0)).to.equal(true);
    expect(r.take('x', 0)).to.equal(false);
    expect(r.take('y', 0)).to.equal(true);
    for (let i = 0; i < 1000; i++) r.take(`k${i}`, 0);
    expect(r.size).to.equal(100);
    r.prune(10_000);
    expect(r.size).to.equal(0);
  });
});
