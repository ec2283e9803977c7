/**
 * A token bucket on the client's side of the send rate. API.md: the rate is
 * per user and "counts every client message"; a client that keeps sending
 * past `rate_limited` replies is closed with 1008. So the client paces itself
 * with the numbers `hello.limits` gives, and a burst of work (resuming ten
 * rooms after a reconnect) waits its turn instead of being refused.
 */
export class RateGate {
  /**
   * @param {number} ratePerSecond tokens added per second
   * @param {number} burst the bucket's size
   * @param {number} now ms
   */
  constructor(ratePerSecond, burst, now) {
    this.rate = ratePerSecond;
    this.burst = burst;
    this.tokens = burst;
    this.at = now;
  }

  /**
   * New numbers (from `hello`); the bucket keeps what it holds, capped.
   * @param {number} ratePerSecond
   * @param {number} burst
   */
  configure(ratePerSecond, burst) {
    this.rate = ratePerSecond;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** @param {number} now */
  #refill(now) {
    const elapsed = Math.max(0, now - this.at) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
    this.at = now;
  }

  /**
   * Take one token if there is one.
   * @param {number} now
   */
  take(now) {
    this.#refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** @param {number} now */
  available(now) {
    this.#refill(now);
    return Math.floor(this.tokens);
  }

  /**
   * Milliseconds until the next token.
   * @param {number} now
   */
  waitMs(now) {
    this.#refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** The server said `rate_limited`: it knows better; start again from empty. */
  drain() {
    this.tokens = 0;
  }
}
