/**
 * JSON Web Tokens signed with HS256: signing, and validation of both the
 * signature and the registered claims (RFC 7519 §7.1 and §7.2, RFC 8725).
 *
 * `jws.ts` does the JWS part (header rules, MAC in constant time); this file
 * adds what makes the payload a JWT of ours:
 *
 * - the payload is parsed only after its MAC has been checked, so no byte an
 *   attacker wrote reaches JSON.parse unless our key signed it;
 * - it must be a JSON object (RFC 7519 §7.2 step 10);
 * - `exp` and `iat` are required NumericDates, `nbf` is optional (RFC 7519
 *   §4.1.4–§4.1.6), and `aud` is refused: RFC 7519 §4.1.3 says a recipient
 *   that does not identify with the audience MUST reject, and we have none;
 * - `iss` must equal the configured issuer (RFC 8725 §3.8);
 * - the times are compared with a small leeway for clock skew (RFC 7519
 *   §4.1.4: "Implementers MAY provide for some small leeway").
 *
 * Sans-IO: `now` is passed in (milliseconds since the epoch, as Date.now());
 * nothing here reads a clock.
 */
import { DEFAULT_MAX_TOKEN_BYTES, signJws, verifyJws, type JwsFailure } from './jws.js';
import { parseJsonObject } from './json-object.js';

/**
 * Why a token was refused. Stable strings, for metric labels and for the
 * mapping to API errors (JWT_FAILURE_ERROR_CODE below).
 */
export type JwtFailure =
  | JwsFailure
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'bad_issuer'
  | 'bad_claims';

/** Every JwtFailure, e.g. to pre-register metric label values. */
export const JWT_FAILURES: readonly JwtFailure[] = [
  'malformed',
  'too_long',
  'bad_header',
  'alg_not_allowed',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'issued_in_future',
  'bad_issuer',
  'bad_claims',
];

/**
 * API.md "Tokens": an expired token is 401 `token_expired`; every other
 * fault is 401 `invalid_token`.
 */
export const JWT_FAILURE_ERROR_CODE: Readonly<Record<JwtFailure, 'token_expired' | 'invalid_token'>> = {
  malformed: 'invalid_token',
  too_long: 'invalid_token',
  bad_header: 'invalid_token',
  alg_not_allowed: 'invalid_token',
  bad_signature: 'invalid_token',
  expired: 'token_expired',
  not_yet_valid: 'invalid_token',
  issued_in_future: 'invalid_token',
  bad_issuer: 'invalid_token',
  bad_claims: 'invalid_token',
};

export interface VerifyOptions {
  /** The current time in milliseconds since the epoch (Date.now()): passed in, never read here. */
  readonly now: number;
  /** The only `iss` accepted (`token_issuer` in server.conf). */
  readonly issuer: string;
  /** Clock-skew allowance applied to `exp`, `nbf` and `iat`, in seconds (≥ 0). */
  readonly leewaySeconds: number;
  /** Longer tokens are refused as 'too_long' before any other work. Default 4096. */
  readonly maxTokenBytes?: number;
}

export type VerifyResult =
  | { readonly ok: true; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly reason: JwtFailure };

const MS_PER_SECOND = 1000;

/**
 * Sign `claims` as a JWT: JWS Compact Serialization, header
 * `{"alg":"HS256","typ":"JWT"}` (RFC 7519 §7.1). The claims are written with
 * JSON.stringify; they must serialize to a JSON object. Throws on a key
 * shorter than 32 bytes (RFC 7518 §3.2).
 */
export function signHs256(claims: object, key: Uint8Array): string {
  const json: unknown = JSON.stringify(claims);
  // RFC 7519 §7.1 step 1: the JWT Claims Set is a JSON object. An array is an
  // `object` to TypeScript, and toJSON() can return anything, so check the text.
  if (typeof json !== 'string' || !json.startsWith('{')) {
    throw new TypeError('JWT claims must serialize to a JSON object');
  }
  return signJws(new TextEncoder().encode(json), key);
}

/** RFC 7519 §2 "NumericDate": a JSON number of seconds since the epoch. */
function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Validate a JWT (RFC 7519 §7.2) signed HS256 with `key`, and its registered
 * claims. Throws only for a key shorter than 32 bytes or nonsensical options;
 * every fault in the token is a `reason`.
 */
export function verifyHs256(token: string, key: Uint8Array, options: VerifyOptions): VerifyResult {
  const { now, issuer, leewaySeconds, maxTokenBytes = DEFAULT_MAX_TOKEN_BYTES } = options;
  if (!Number.isFinite(now)) throw new RangeError('now must be a finite number of milliseconds');
  if (!Number.isFinite(leewaySeconds) || leewaySeconds < 0) throw new RangeError('leewaySeconds must be ≥ 0');
  if (typeof issuer !== 'string' || issuer.length === 0) throw new RangeError('issuer must be a non-empty string');

  // 1. The JWS: length bound, three segments, header rules, MAC in constant
  //    time (RFC 7519 §7.2 steps 1–7, via RFC 7515 §5.2).
  const jws = verifyJws(token, key, maxTokenBytes);
  if (!jws.ok) return jws;

  // 2. Only now, with the MAC verified, read the payload: it must be a UTF-8
  //    JSON object (RFC 7519 §7.2 steps 9–10).
  const claims = parseJsonObject(jws.payload);
  if (claims === null) return { ok: false, reason: 'bad_claims' };

  // 3. The shape of the registered claims we rely on.
  //    RFC 7519 §4.1.4 "exp" and §4.1.6 "iat": required by our profile.
  //    RFC 7519 §4.1.5 "nbf": optional, but a NumericDate when present.
  //    RFC 7519 §4.1.3 "aud": "If the principal processing the claim does not
  //    identify itself with a value in the "aud" claim when this claim is
  //    present, then the JWT MUST be rejected." We identify with none.
  const { exp, iat, nbf } = claims;
  if (!isNumericDate(exp) || !isNumericDate(iat)) return { ok: false, reason: 'bad_claims' };
  if (Object.hasOwn(claims, 'nbf') && !isNumericDate(nbf)) return { ok: false, reason: 'bad_claims' };
  if (Object.hasOwn(claims, 'aud')) return { ok: false, reason: 'bad_claims' };

  // 4. RFC 8725 §3.8 "Validate Issuer and Subject", RFC 7519 §4.1.1: exact,
  //    case-sensitive string comparison. Checked before the times, so only a
  //    token that is otherwise ours is ever reported as merely expired.
  if (claims['iss'] !== issuer) return { ok: false, reason: 'bad_issuer' };

  const nowSeconds = now / MS_PER_SECOND;

  // 5. RFC 7519 §4.1.4: "the current date/time MUST be before the expiration
  //    date/time listed in the "exp" claim", give or take the leeway.
  if (exp <= nowSeconds - leewaySeconds) return { ok: false, reason: 'expired' };

  // 6. RFC 7519 §4.1.5: "the current date/time MUST be after or equal to the
  //    not-before date/time listed in the "nbf" claim".
  if (isNumericDate(nbf) && nbf > nowSeconds + leewaySeconds) return { ok: false, reason: 'not_yet_valid' };

  // 7. RFC 7519 §4.1.6: "iat" is the time the JWT was issued. We only ever
  //    write the present, so one from the future (beyond the leeway) means a
  //    forged clock or a leaked key, and is refused.
  if (iat > nowSeconds + leewaySeconds) return { ok: false, reason: 'issued_in_future' };

  return { ok: true, claims };
}
