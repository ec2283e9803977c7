/**
 * Tokens for users: issuing them, deciding whether one is still good, and
 * telling the rest of the server when tokens stop being good.
 *
 * A token (API.md "Tokens", lib/jwt/claims.ts) is accepted only when all of
 * these hold, checked in this order:
 *
 *   1. the JWS and JWT rules: HS256 with our key, `iss`, `exp`/`iat`/`nbf`
 *      within `token_leeway` (lib/jwt/hs256.ts; RFC 7515 §5.2, RFC 7519 §7.2);
 *   2. our claims, each of the right type (RFC 8725 §3.12);
 *   3. the login is not older than `session_max_age` (`auth_time`) — a
 *      check that only bites when the setting was lowered after the token was
 *      issued, since `exp` is already capped at auth_time + session_max_age;
 *   4. its `jti` was not revoked by a logout (RFC 7519 §4.1.7);
 *   5. the user exists, has the same username, is not disabled, and still
 *      has the token version `ver` (a password change raises it).
 *
 * Failures of 1 and 3 about time are `token_expired`; all others
 * `invalid_token` (API.md). The `reason` is for logs and the
 * `chat_auth_failures_total{reason}` metric, never for the client.
 */
import { issueToken, readClaims, sessionHasEnded, userIdOf, type IssuedToken, type TokenClaims } from '../jwt/claims.js';
import { JWT_FAILURES, JWT_FAILURE_ERROR_CODE, verifyHs256 } from '../jwt/hs256.js';
import type { Config } from '../config/schema.js';
import { MINUTE, SECOND } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Counter } from '../metrics/metrics.js';
import type { AccountStore, User } from './account-store.js';

/** Why a token (or a login) was refused: the bounded label values of `chat_auth_failures_total{reason}`. */
export const AUTH_FAILURE_REASONS = [
  ...JWT_FAILURES,
  'session_ended',
  'revoked',
  'unknown_user',
  'stale_version',
  'disabled',
  'missing_token',
  'malformed_header',
  'invalid_credentials',
  'wrong_current_password',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export type AuthResult =
  | { readonly ok: true; readonly user: User; readonly claims: TokenClaims }
  | { readonly ok: false; readonly code: 'invalid_token' | 'token_expired'; readonly reason: AuthFailureReason };

/** Why tokens stopped being good; open WebSockets of those tokens close with 1008 (API.md). */
export type RevocationReason = 'logout' | 'password_changed' | 'disabled';

export interface RevocationEvent {
  readonly userId: number;
  /** Set for a logout (one token); absent when every token of the user is refused. */
  readonly jti?: string;
  readonly reason: RevocationReason;
}

export type RevocationListener = (event: RevocationEvent) => void;

/**
 * A logged-out `jti` is kept this long past its `exp`: `token_leeway`'s
 * largest allowed value (schema.ts), because verification accepts a token
 * that far past its `exp`, and a revoked one must stay refused until then.
 */
export const REVOCATION_MARGIN_MS = 5 * MINUTE;

export interface AuthServiceDeps {
  /** The users and revocations (read at use: the database opens at start). */
  readonly accounts: () => AccountStore;
  /** The HS256 key (ChatServer.secret), read at use: it is ready only after start. */
  readonly secret: () => Uint8Array;
  readonly config: () => Config;
  readonly failures: Counter;
  readonly log: Logger;
}

/** Whole seconds of a duration from server.conf (ms); at least 1. */
export function wholeSeconds(ms: number): number {
  return Math.max(1, Math.floor(ms / SECOND));
}

export class AuthService {
  private readonly listeners = new Set<RevocationListener>();

  constructor(private readonly deps: AuthServiceDeps) {}

  /** Sign a token for `user`. `authTime` is in seconds: now at a login, the old token's at `POST /token`. */
  issue(user: User, authTime: number, now: number): IssuedToken {
    const c = this.deps.config();
    return issueToken(this.deps.secret(), {
      userId: user.id,
      username: user.username,
      tokenVersion: user.token_version,
      authTime,
      now,
      ttlSeconds: wholeSeconds(c.token_ttl),
      sessionMaxAgeSeconds: wholeSeconds(c.session_max_age),
      issuer: c.token_issuer,
    });
  }

  /** True once no more tokens may be issued for a login made at `authTime` (seconds). */
  sessionEnded(authTime: number, now: number): boolean {
    return sessionHasEnded(authTime, now, wholeSeconds(this.deps.config().session_max_age));
  }

  /**
   * The checks of the file header, in order. Asynchronous so that callers
   * (the HTTP routes, the WebSocket handshake) do not depend on the store
   * being synchronous. Counts each refusal by reason.
   */
  async authenticateToken(token: string, now: number): Promise<AuthResult> {
    const result = this.check(token, now);
    if (!result.ok) this.countFailure(result.reason);
    return result;
  }

  countFailure(reason: AuthFailureReason): void {
    this.deps.failures.inc({ reason });
  }

  private check(token: string, now: number): AuthResult {
    const c = this.deps.config();
    // 1. Signature, issuer, times (RFC 7519 §7.2).
    const verified = verifyHs256(token, this.deps.secret(), { now, issuer: c.token_issuer, leewaySeconds: c.token_leeway / SECOND });
    if (!verified.ok) return { ok: false, code: JWT_FAILURE_ERROR_CODE[verified.reason], reason: verified.reason };
    // 2. Our claims (RFC 8725 §3.12).
    const claims = readClaims(verified.claims);
    if (claims === null) return { ok: false, code: 'invalid_token', reason: 'bad_claims' };
    // 3. API.md: an expired token is `token_expired` — "also past session_max_age".
    //    The same leeway as `exp` gets, so the two limits agree when exp was capped.
    if (sessionHasEnded(claims.auth_time, now - c.token_leeway, wholeSeconds(c.session_max_age))) {
      return { ok: false, code: 'token_expired', reason: 'session_ended' };
    }
    // 4. Logged out (RFC 7519 §4.1.7 `jti`).
    if (this.deps.accounts().isRevoked(claims.jti)) return { ok: false, code: 'invalid_token', reason: 'revoked' };
    // 5. The user as they are now.
    const user = this.deps.accounts().findById(userIdOf(claims));
    if (user === null) return { ok: false, code: 'invalid_token', reason: 'unknown_user' };
    if (user.username !== claims.name) return { ok: false, code: 'invalid_token', reason: 'bad_claims' };
    if (user.disabled) return { ok: false, code: 'invalid_token', reason: 'disabled' };
    if (user.token_version !== claims.ver) return { ok: false, code: 'invalid_token', reason: 'stale_version' };
    return { ok: true, user, claims };
  }

  /** Refuse this one token from now on (a logout) and tell the listeners. */
  revokeToken(claims: TokenClaims, userId: number): void {
    this.deps.accounts().revokeToken(claims.jti, userId, claims.exp * SECOND);
    this.emit({ userId, jti: claims.jti, reason: 'logout' });
  }

  /** Subscribe to revocations; returns the unsubscribe function. */
  onRevoked(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tell every listener; one that throws is logged and does not stop the others. */
  emit(event: RevocationEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.deps.log.error('revocation listener failed', { err: err instanceof Error ? err : new Error(String(err)), reason: event.reason });
      }
    }
  }

  /** Forget revocations that no verification could need any more. */
  purgeRevoked(now: number): number {
    return this.deps.accounts().purgeRevoked(now - REVOCATION_MARGIN_MS);
  }
}
