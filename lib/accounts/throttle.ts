/**
 * Throttling of the account endpoints (API.md "HTTP endpoints"):
 *
 * - per client address: `/register`, `/login` and `/token` share one token
 *   bucket per address group (IPv6 by /64), `auth_burst` deep, refilled at
 *   `auth_rate_per_minute`. Checked before any other work on the request.
 * - per username: failed logins. Each failure takes a token from the
 *   username's bucket, `login_failures_per_account` deep and refilled at that
 *   many per 15 minutes; a login attempt finding the bucket empty is refused
 *   before the password is even hashed. A sliding version of "N failures per
 *   15 minutes": after N failures in a row, one more try every 15/N minutes.
 *   The key is the username as typed, lower-cased, whether or not such a user
 *   exists, so a 429 never says whether it does.
 *
 * Both tables are bounded by `max_tracked_addresses` (least recently used
 * forgotten first) and pruned of full buckets by the module's periodic sweep.
 * The clock is passed in; nothing here reads one.
 */
import { createHash } from 'node:crypto';
import { MINUTE, SECOND } from '../config/schema.js';
import { BoundedMap, RateLimiter, type BucketRule } from '../net/token-bucket.js';
import { usernameKey, validateUsername, isInvalid } from './validation.js';

/** The window `login_failures_per_account` counts over (its unit in server.conf). */
export const LOGIN_FAILURE_WINDOW_MS = 15 * MINUTE;

/** A throttled client is written to the audit log at most this often per key, so a flood cannot fill the disk. */
export const THROTTLE_AUDIT_INTERVAL_MS = MINUTE;

/**
 * The metric label values of `chat_rate_limited_total{kind}`: the two tables
 * here, and `password_hashing` for a full queue at the hash gate (hash-gate.ts).
 */
export const THROTTLE_KINDS = ['auth_address', 'login_account', 'password_hashing'] as const;
export type ThrottleKind = (typeof THROTTLE_KINDS)[number];

export interface ThrottleLimits {
  readonly auth_rate_per_minute: number;
  readonly auth_burst: number;
  readonly login_failures_per_account: number;
  readonly max_tracked_addresses: number;
}

export type ThrottleDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly kind: ThrottleKind; readonly retryAfterSeconds: number };

const ALLOWED: ThrottleDecision = { allowed: true };

/** RFC 9110 §10.2.3: Retry-After is a whole number of seconds; never 0, which would invite an instant retry. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / SECOND));
}

/**
 * The per-username key. A valid username is keyed by its lower-case form (the
 * way logins match it); any other string cannot be a user, and is keyed by a
 * hash so that a 60 KiB "username" takes 64 bytes in the table.
 */
export function accountThrottleKey(username: string): string {
  if (!isInvalid(validateUsername(username))) return usernameKey(username);
  return 'sha256:' + createHash('sha256').update(username.toLowerCase(), 'utf8').digest('hex');
}

export class AuthThrottle {
  private readonly byAddress: RateLimiter;
  private readonly byAccount: RateLimiter;
  private readonly audited: BoundedMap<string, number>;
  private applied: ThrottleLimits;

  constructor(limits: ThrottleLimits) {
    this.applied = limits;
    this.byAddress = new RateLimiter(addressRule(limits), limits.max_tracked_addresses);
    this.byAccount = new RateLimiter(accountRule(limits), limits.max_tracked_addresses);
    this.audited = new BoundedMap(limits.max_tracked_addresses);
  }

  /** Pick up changed numbers (the config is live). Cheap when nothing changed. */
  update(limits: ThrottleLimits): void {
    const a = this.applied;
    if (
      a.auth_rate_per_minute === limits.auth_rate_per_minute &&
      a.auth_burst === limits.auth_burst &&
      a.login_failures_per_account === limits.login_failures_per_account &&
      a.max_tracked_addresses === limits.max_tracked_addresses
    ) {
      return;
    }
    this.applied = limits;
    this.byAddress.setRule(addressRule(limits), limits.max_tracked_addresses);
    this.byAccount.setRule(accountRule(limits), limits.max_tracked_addresses);
    this.audited.setLimit(limits.max_tracked_addresses);
  }

  /** One request to /register, /login or /token from `addressGroup`: takes a token. */
  admitAddress(addressGroup: string, now: number): ThrottleDecision {
    if (this.byAddress.take(addressGroup, now)) return ALLOWED;
    return { allowed: false, kind: 'auth_address', retryAfterSeconds: retryAfterSeconds(this.byAddress.retryAfterMs(addressGroup, now)) };
  }

  /** May a login for `accountKey` be tried now? Takes nothing: only failures count. */
  checkAccount(accountKey: string, now: number): ThrottleDecision {
    const waitMs = this.byAccount.retryAfterMs(accountKey, now);
    if (waitMs <= 0) return ALLOWED;
    return { allowed: false, kind: 'login_account', retryAfterSeconds: retryAfterSeconds(waitMs) };
  }

  /** A wrong password for `accountKey` (or a login for a user that does not exist). */
  recordFailure(accountKey: string, now: number): void {
    this.byAccount.take(accountKey, now);
  }

  /** True at most once per THROTTLE_AUDIT_INTERVAL_MS for one kind and key. */
  shouldAudit(kind: ThrottleKind, key: string, now: number): boolean {
    const id = `${kind} ${key}`;
    const last = this.audited.get(id);
    if (last !== undefined && now - last < THROTTLE_AUDIT_INTERVAL_MS) return false;
    this.audited.delete(id);
    this.audited.getOrCreate(id, () => now);
    return true;
  }

  /** The periodic sweep: forget buckets that are full again and old audit marks. */
  prune(now: number): void {
    this.byAddress.prune(now);
    this.byAccount.prune(now);
    this.audited.prune((last) => now - last >= THROTTLE_AUDIT_INTERVAL_MS);
  }

  /** Entries held, for tests and a gauge. */
  get size(): { readonly addresses: number; readonly accounts: number } {
    return { addresses: this.byAddress.size, accounts: this.byAccount.size };
  }
}

function addressRule(l: ThrottleLimits): BucketRule {
  return { ratePerSecond: l.auth_rate_per_minute / (MINUTE / SECOND), burst: l.auth_burst };
}

function accountRule(l: ThrottleLimits): BucketRule {
  return { ratePerSecond: l.login_failures_per_account / (LOGIN_FAILURE_WINDOW_MS / SECOND), burst: l.login_failures_per_account };
}
