/**
 * The claims of this server's tokens (API.md "Tokens"): what `issueToken`
 * writes and what `readClaims` accepts after `verifyHs256` has checked the
 * signature, issuer and times.
 *
 *   sub        the user's id, as a decimal string (RFC 7519 §4.1.2: a string)
 *   name       the username
 *   iat, exp   NumericDates in whole seconds (RFC 7519 §2, §4.1.4, §4.1.6)
 *   jti        16 random bytes, base64url (RFC 7519 §4.1.7): revocation by id
 *   iss        `token_issuer` from server.conf (RFC 7519 §4.1.1)
 *   ver        the user's token version; raising it revokes every older token
 *   auth_time  when the password was given (the name is OpenID Connect's);
 *              refreshed tokens keep it, and `exp` never passes
 *              auth_time + session_max_age
 */
import { randomBytes } from 'node:crypto';
import { base64urlEncode } from './base64url.js';
import { signHs256 } from './hs256.js';

export interface TokenClaims {
  readonly sub: string;
  readonly name: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly iss: string;
  readonly ver: number;
  readonly auth_time: number;
}

export interface IssueTokenInput {
  /** The user's id (a positive integer); written as the string `sub`. */
  readonly userId: number;
  readonly username: string;
  /** The user's current token version (an integer ≥ 0). */
  readonly tokenVersion: number;
  /**
   * When the password was given, in whole SECONDS since the epoch (a
   * NumericDate, as in the `auth_time` claim): at login `Math.floor(now / 1000)`,
   * at `POST /token` the old token's `auth_time`.
   */
  readonly authTime: number;
  /** The current time in MILLISECONDS since the epoch (Date.now()). */
  readonly now: number;
  /** `token_ttl` from server.conf. */
  readonly ttlSeconds: number;
  /** `session_max_age` from server.conf: how long one login lasts, refreshes included. */
  readonly sessionMaxAgeSeconds: number;
  /** `token_issuer` from server.conf. */
  readonly issuer: string;
}

export interface IssuedToken {
  readonly token: string;
  readonly claims: TokenClaims;
  /** `exp` as a Date, for API.md's `expires_at`. */
  readonly expiresAt: Date;
}

/** RFC 7519 §4.1.7: the identifier "MUST be assigned in a manner that ensures … a negligible probability" of reuse. */
const JTI_RANDOM_BYTES = 16;
const MS_PER_SECOND = 1000;

/** Decimal user id as written in `sub`: no sign, no leading zero. */
const USER_ID_PATTERN = /^[1-9][0-9]*$/;
/** What our `jti`s look like, with room to spare: base64url characters only. */
const JTI_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function isWholeSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** When a login made at `authTime` ends (seconds): no token of it is valid from then on. */
export function sessionEndsAt(authTime: number, sessionMaxAgeSeconds: number): number {
  return authTime + sessionMaxAgeSeconds;
}

/**
 * True once a login made at `authTime` (seconds) can get no more tokens at
 * `now` (milliseconds): `POST /token` then answers 401 `invalid_token`.
 */
export function sessionHasEnded(authTime: number, now: number, sessionMaxAgeSeconds: number): boolean {
  return sessionEndsAt(authTime, sessionMaxAgeSeconds) <= Math.floor(now / MS_PER_SECOND);
}

/**
 * Make and sign a token. `exp` is the sooner of `iat + ttl` and
 * `auth_time + session_max_age` (API.md "POST /token").
 *
 * Throws a RangeError for inputs that are a caller's mistake, including a
 * session that has already ended: check `sessionHasEnded` first.
 */
export function issueToken(key: Uint8Array, input: IssueTokenInput): IssuedToken {
  const { userId, username, tokenVersion, authTime, now, ttlSeconds, sessionMaxAgeSeconds, issuer } = input;
  if (!Number.isSafeInteger(userId) || userId <= 0) throw new RangeError('userId must be a positive integer');
  if (typeof username !== 'string' || username.length === 0) throw new RangeError('username must be non-empty');
  if (!isWholeSeconds(tokenVersion)) throw new RangeError('tokenVersion must be an integer ≥ 0');
  if (!Number.isFinite(now)) throw new RangeError('now must be milliseconds since the epoch');
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('ttlSeconds must be a positive integer');
  if (!Number.isSafeInteger(sessionMaxAgeSeconds) || sessionMaxAgeSeconds <= 0) {
    throw new RangeError('sessionMaxAgeSeconds must be a positive integer');
  }
  if (typeof issuer !== 'string' || issuer.length === 0) throw new RangeError('issuer must be non-empty');

  const iat = Math.floor(now / MS_PER_SECOND);
  // A login cannot happen after the token it produces; this also catches an
  // authTime given in milliseconds by mistake.
  if (!isWholeSeconds(authTime) || authTime > iat) throw new RangeError('authTime must be whole seconds, not after now');
  const exp = Math.min(iat + ttlSeconds, sessionEndsAt(authTime, sessionMaxAgeSeconds));
  if (exp <= iat) throw new RangeError('the session has ended (auth_time + session_max_age has passed)');

  const claims: TokenClaims = Object.freeze({
    sub: String(userId),
    name: username,
    iat,
    exp,
    jti: base64urlEncode(randomBytes(JTI_RANDOM_BYTES)),
    iss: issuer,
    ver: tokenVersion,
    auth_time: authTime,
  });
  return { token: signHs256(claims, key), claims, expiresAt: new Date(exp * MS_PER_SECOND) };
}

/**
 * Read our claims out of a token that `verifyHs256` accepted, checking every
 * type. Null when any is missing or wrong: a correctly signed token that is
 * not shaped like ours is still refused (RFC 8725 §3.12 asks for validation
 * rules that reject JWTs of the wrong kind).
 */
export function readClaims(verified: Readonly<Record<string, unknown>>): TokenClaims | null {
  const { sub, name, iat, exp, jti, iss, ver, auth_time: authTime } = verified;
  if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub) || !Number.isSafeInteger(Number(sub))) return null;
  if (typeof name !== 'string' || name.length === 0) return null;
  if (!isWholeSeconds(iat) || !isWholeSeconds(exp) || exp <= iat) return null;
  if (typeof jti !== 'string' || !JTI_PATTERN.test(jti)) return null;
  if (typeof iss !== 'string') return null;
  if (!isWholeSeconds(ver)) return null;
  if (!isWholeSeconds(authTime) || authTime > iat) return null;
  return Object.freeze({ sub, name, iat, exp, jti, iss, ver, auth_time: authTime });
}

/** The numeric user id of `sub` (readClaims has checked it is a safe integer). */
export function userIdOf(claims: TokenClaims): number {
  return Number(claims.sub);
}
