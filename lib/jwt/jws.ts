/**
 * JWS Compact Serialization (RFC 7515 §7.1) with one algorithm, HS256
 * (HMAC-SHA-256, RFC 7518 §3.2), and nothing else: this is the signing layer
 * under our JWTs (`hs256.ts` adds the claims rules of RFC 7519).
 *
 * Producing follows RFC 7515 §5.1; validating follows §5.2 step by step, with
 * the hardening of RFC 8725 (JWT Best Current Practices):
 *
 * - The algorithm is fixed by us, never chosen by the token (RFC 8725 §3.1):
 *   `alg` must be exactly "HS256", so "none", "HS512", "RS256", "hs256" are all
 *   refused before any cryptography is done.
 * - Header parameters that would make the token choose a key, point us at a
 *   URL, nest another token or add critical extensions are refused outright
 *   (REFUSED_HEADER_PARAMETERS below): we have one key and need none of them.
 * - `typ`, when present, must be "JWT" (RFC 7519 §5.1, RFC 8725 §3.11), so a
 *   token minted for some other purpose is not taken for ours.
 * - The MAC is compared in constant time (`constant-time.ts`, RFC 7518 §3.2).
 * - A key shorter than 32 bytes is a programming or configuration error and
 *   throws (RFC 7518 §3.2, RFC 8725 §2.2 and §3.5).
 * - The token's length is checked before anything else is done with it.
 *
 * Sans-IO: pure functions of their arguments; no clock, no I/O, no logging.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlDecode, base64urlEncode } from './base64url.js';
import { constantTimeEqual } from './constant-time.js';
import { parseJsonObject } from './json-object.js';

/** The one algorithm we sign with and accept (RFC 7518 §3.1 names it). */
export const HS256 = 'HS256';

/** The one `typ` we write and accept (RFC 7519 §5.1). */
export const JWT_TYPE = 'JWT';

/**
 * RFC 7518 §3.2: "A key of the same size as the hash output (for instance,
 * 256 bits for "HS256") or larger MUST be used with this algorithm."
 */
export const MIN_HS256_KEY_BYTES = 32;

/** HMAC-SHA-256 output length (RFC 7518 §3.2 forbids truncating it for HS256). */
export const HS256_MAC_BYTES = 32;

/** Default bound on a token's length; a normal token of ours is about 300 characters. */
export const DEFAULT_MAX_TOKEN_BYTES = 4096;

/** RFC 7515 §7.1: header, payload and signature, separated by '.'. */
const SEGMENT_SEPARATOR = '.';
const COMPACT_SEGMENT_COUNT = 3;

/**
 * The exact header we write, byte for byte (API.md "Tokens"). Precomputed:
 * signing never serializes a header.
 */
export const JWT_HEADER_JSON = `{"alg":"${HS256}","typ":"${JWT_TYPE}"}`;
const ENCODED_JWT_HEADER = base64urlEncode(new TextEncoder().encode(JWT_HEADER_JSON));

/**
 * Header parameters a token of ours never carries, and why each one is refused
 * rather than ignored. RFC 7515 §4 lets a recipient ignore parameters it does
 * not understand; these are the ones it would be dangerous or wrong to ignore.
 */
export const REFUSED_HEADER_PARAMETERS = {
  // RFC 7515 §4.1.11: a recipient MUST reject a JWS whose "crit" lists an
  // extension it does not understand; we understand none, and "Producers
  // MUST NOT use the empty list", so any "crit" at all is refused.
  crit: 'critical extensions are not supported (RFC 7515 §4.1.11)',
  // RFC 8725 §2.9 and §3.10: URLs and keys carried by the token invite SSRF
  // and attacker-chosen keys. We verify with our one key only.
  jku: 'key set URLs are not followed (RFC 7515 §4.1.2, RFC 8725 §3.10)',
  jwk: 'keys embedded in the token are not trusted (RFC 7515 §4.1.3, RFC 8725 §3.10)',
  x5u: 'certificate URLs are not followed (RFC 7515 §4.1.5, RFC 8725 §3.10)',
  x5c: 'certificate chains are not used (RFC 7515 §4.1.6)',
  x5t: 'certificate thumbprints are not used (RFC 7515 §4.1.7)',
  'x5t#S256': 'certificate thumbprints are not used (RFC 7515 §4.1.8)',
  // RFC 7515 §4.1.4 and §6: "kid" selects among keys. With a single key there
  // is nothing to select, and RFC 8725 §2.9 lists "kid" as an injection
  // vector; a token that asks for key selection was not made by us.
  kid: 'key selection is not supported: there is one key (RFC 7515 §6, RFC 8725 §2.9)',
  // RFC 7519 §5.2 and §7.2 step 8: cty "JWT" means a nested JWT, which we never make.
  cty: 'nested or typed content is not supported (RFC 7519 §5.2)',
  // RFC 7797 §3: b64=false changes the signing input itself.
  b64: 'unencoded payloads are not supported (RFC 7797 §3)',
  // RFC 7516 §9: "enc" marks a JWE, and "zip" exists only for JWE.
  enc: 'encrypted tokens (JWE) are not supported (RFC 7516 §9)',
  zip: 'compression belongs to JWE and is not supported (RFC 7516 §4.1.3, RFC 8725 §3.6)',
} as const;

/** Why a JWS was refused. Stable strings: metric labels and tests use them. */
export type JwsFailure = 'malformed' | 'too_long' | 'bad_header' | 'alg_not_allowed' | 'bad_signature';

export type JwsResult =
  | {
      readonly ok: true;
      /** The JOSE Header, parsed (RFC 7515 §4). */
      readonly header: Readonly<Record<string, unknown>>;
      /** The JWS Payload octets, not yet interpreted: its signature has been checked. */
      readonly payload: Buffer;
    }
  | { readonly ok: false; readonly reason: JwsFailure };

/** Refuse a key too short for HS256 (RFC 7518 §3.2). The message never holds the key. */
function assertKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new TypeError('HS256 key must be a Uint8Array');
  if (key.length < MIN_HS256_KEY_BYTES) {
    throw new RangeError(`HS256 key must be at least ${MIN_HS256_KEY_BYTES} bytes (RFC 7518 §3.2), got ${key.length}`);
  }
}

/** HMAC-SHA-256 over the JWS Signing Input, whose characters are all ASCII (RFC 7515 §2). */
function mac(signingInput: string, key: Uint8Array): Uint8Array {
  return hmac(sha256, key, Buffer.from(signingInput, 'ascii'));
}

/**
 * Sign `payload` as a JWS in Compact Serialization (RFC 7515 §5.1), with the
 * fixed header `{"alg":"HS256","typ":"JWT"}`.
 */
export function signJws(payload: Uint8Array, key: Uint8Array): string {
  assertKey(key);
  // RFC 7515 §5.1 steps 1–4: encode the payload and the header; the JWS
  // Signing Input is ASCII(BASE64URL(header) || '.' || BASE64URL(payload)).
  const signingInput = ENCODED_JWT_HEADER + SEGMENT_SEPARATOR + base64urlEncode(payload);
  // Steps 5–6: compute the MAC and encode it; step 8 and §7.1 join the three parts.
  return signingInput + SEGMENT_SEPARATOR + base64urlEncode(mac(signingInput, key));
}

/** RFC 7515 §4 and RFC 8725 §3.1, §3.11: is this a header we accept? */
function checkHeader(header: Readonly<Record<string, unknown>>): JwsFailure | null {
  // RFC 7515 §4.1.1: "alg" … "MUST be present".
  if (!Object.hasOwn(header, 'alg')) return 'bad_header';
  // RFC 8725 §3.1: "libraries MUST enable the caller to specify a supported
  // set of algorithms and MUST NOT use any other algorithms". Ours is {HS256},
  // compared exactly: RFC 7515 §5.3 says names compare as exact strings.
  if (header['alg'] !== HS256) return 'alg_not_allowed';
  for (const name of Object.keys(REFUSED_HEADER_PARAMETERS)) {
    if (Object.hasOwn(header, name)) return 'bad_header';
  }
  // RFC 7519 §5.1 and RFC 8725 §3.11 (explicit typing, against cross-JWT
  // confusion): "typ" is optional, but if present it must say JWT. We accept
  // only the spelling we write; the RFC's case-insensitive media-type forms
  // ("jwt", "application/jwt") are never produced by this server.
  if (Object.hasOwn(header, 'typ') && header['typ'] !== JWT_TYPE) return 'bad_header';
  return null;
}

/**
 * Validate a JWS in Compact Serialization (RFC 7515 §5.2), with HS256 only.
 * On success the payload bytes are returned, authenticated but unparsed.
 * Throws only for a key shorter than 32 bytes; every fault in the token is a
 * `reason`.
 */
export function verifyJws(token: string, key: Uint8Array, maxTokenBytes: number = DEFAULT_MAX_TOKEN_BYTES): JwsResult {
  assertKey(key);
  if (!Number.isSafeInteger(maxTokenBytes) || maxTokenBytes <= 0) {
    throw new RangeError('maxTokenBytes must be a positive integer');
  }
  // 0. Bound the work before doing any (STYLE.md habit 7). `length` counts
  //    UTF-16 units; a token holding anything but ASCII fails step 2 anyway.
  if (typeof token !== 'string') return { ok: false, reason: 'malformed' };
  if (token.length > maxTokenBytes) return { ok: false, reason: 'too_long' };

  // 1. RFC 7515 §5.2 step 1 and §7.1: exactly three segments. Two would be
  //    an unsigned fragment; five is a JWE (RFC 7516 §9), which we do not take.
  const segments = token.split(SEGMENT_SEPARATOR);
  if (segments.length !== COMPACT_SEGMENT_COUNT) return { ok: false, reason: 'malformed' };
  const [encodedHeader, encodedPayload, encodedSignature] = segments as [string, string, string];

  // 2. Steps 2, 6 and 7: base64url-decode all three "following the restriction
  //    that no line breaks, whitespace, or other additional characters have
  //    been used" — base64urlDecode is strict and canonical.
  const headerBytes = base64urlDecode(encodedHeader);
  const payload = base64urlDecode(encodedPayload);
  const signature = base64urlDecode(encodedSignature);
  if (headerBytes === null || payload === null || signature === null) return { ok: false, reason: 'malformed' };

  // 3. Step 3: the header is UTF-8 JSON, and an object.
  const header = parseJsonObject(headerBytes);
  if (header === null) return { ok: false, reason: 'bad_header' };

  // 4. Step 5: we must understand and support every header parameter that
  //    matters; the algorithm is checked here, before any MAC is computed
  //    (RFC 8725 §3.1).
  const headerFault = checkHeader(header);
  if (headerFault !== null) return { ok: false, reason: headerFault };

  // 5. Step 8: recompute the MAC over the signing input exactly as received
  //    (not re-encoded: RFC 7515 §5.2 signs the encoded text) and compare in
  //    constant time (RFC 7518 §3.2). A wrong-length signature simply fails.
  const expected = mac(encodedHeader + SEGMENT_SEPARATOR + encodedPayload, key);
  if (!constantTimeEqual(expected, signature)) return { ok: false, reason: 'bad_signature' };

  return { ok: true, header, payload };
}
