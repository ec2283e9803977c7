/**
 * Token buckets and the bounded tables that hold them.
 *
 * A bucket holds up to `burst` tokens and refills at `ratePerSecond`; each
 * event takes one token, and an event that finds the bucket empty is refused.
 * The clock is passed in (`now`, in ms), so the arithmetic is testable
 * without waiting.
 */

export interface BucketRule {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(now: number, burst: number) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Take one token if there is one. */
  take(now: number, rule: BucketRule): boolean {
    this.refill(now, rule);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until one token is available (0 if one is there now). */
  waitMs(now: number, rule: BucketRule): number {
    this.refill(now, rule);
    if (this.tokens >= 1 || rule.ratePerSecond <= 0) return this.tokens >= 1 ? 0 : Infinity;
    return Math.ceil(((1 - this.tokens) / rule.ratePerSecond) * 1000);
  }

  /** True when the bucket is full again, so forgetting it loses nothing. */
  isFull(now: number, rule: BucketRule): boolean {
    this.refill(now, rule);
    return this.tokens >= rule.burst;
  }

  private refill(now: number, rule: BucketRule): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(rule.burst, this.tokens + (elapsed / 1000) * rule.ratePerSecond);
  }
}

/**
 * A Map with a hard bound on its size (DESIGN.md: tables keyed by client
 * address are bounded, so an attacker with many addresses cannot grow them
 * without end). When full, the oldest entry — by last use — is evicted.
 * Map keeps insertion order; re-inserting on use makes it an LRU.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  evictions = 0;

  constructor(private maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  setLimit(maxEntries: number): void {
    this.maxEntries = maxEntries;
    while (this.map.size > this.maxEntries) this.evictOldest();
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** The value for `key`, made with `create` when absent. */
  getOrCreate(key: K, create: () => V): V {
    let value = this.get(key);
    if (value === undefined) {
      value = create();
      if (this.map.size >= this.maxEntries) this.evictOldest();
      this.map.set(key, value);
    }
    return value;
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  /** Drop entries for which `idle` says nothing would be lost (called from the sweep). */
  prune(idle: (value: V, key: K) => boolean): void {
    for (const [key, value] of this.map) if (idle(value, key)) this.map.delete(key);
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  private evictOldest(): void {
    const oldest = this.map.keys().next();
    if (!oldest.done) {
      this.map.delete(oldest.value);
      this.evictions++;
    }
  }
}

/** Token buckets per key (an address group, a username), bounded. */
export class RateLimiter {
  private readonly buckets: BoundedMap<string, TokenBucket>;

  constructor(
    private rule: BucketRule,
    maxKeys: number,
  ) {
    this.buckets = new BoundedMap(maxKeys);
  }

  setRule(rule: BucketRule, maxKeys: number): void {
    this.rule = rule;
    this.buckets.setLimit(maxKeys);
  }

  /** Take one token for `key`; false means refuse. */
  take(key: string, now: number): boolean {
    return this.buckets.getOrCreate(key, () => new TokenBucket(now, this.rule.burst)).take(now, this.rule);
  }

  /** How long `key` must wait for its next token, in ms. */
  retryAfterMs(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    return bucket ? bucket.waitMs(now, this.rule) : 0;
  }

  /** Forget full buckets: they hold no information (called from the sweep). */
  prune(now: number): void {
    this.buckets.prune((bucket) => bucket.isFull(now, this.rule));
  }

  get size(): number {
    return this.buckets.size;
  }
}
