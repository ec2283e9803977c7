/**
 * Bearer tokens in HTTP (RFC 6750): reading `Authorization: Bearer <token>`
 * and writing the `WWW-Authenticate` challenge of a 401.
 *
 * RFC 6750 §2.1:
 *
 *     b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *     credentials = "Bearer" 1*SP b64token
 *
 * The scheme name is case-insensitive (RFC 9110 §11.1). A JWT (base64url
 * segments joined by dots) always fits b64token.
 *
 * RFC 6750 §3.1: a request with no credentials at all — or with another
 * scheme, "an unsupported authentication method" — gets a challenge without
 * an error code; one whose token is bad gets `error="invalid_token"`. API.md:
 * "Every 401 … carries `WWW-Authenticate: Bearer` (with
 * `error="invalid_token"` where a token was given)".
 */
import { HttpError } from '../http/http-error.js';
import { headerValues, type RequestHead } from '../http/request-head.js';

/** RFC 6750 §2.1 `credentials`, with the scheme matched case-insensitively. */
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const BEARER_SCHEME = /^Bearer(?: |$)/i;

export type BearerCredentials =
  /** No Authorization header, or one of another scheme. */
  | { readonly kind: 'none' }
  /** `Bearer` with something that is not a b64token, or Authorization sent twice. */
  | { readonly kind: 'malformed' }
  | { readonly kind: 'token'; readonly token: string };

/** Read the bearer token of a request, if any. */
export function bearerCredentials(head: RequestHead): BearerCredentials {
  const values = headerValues(head, 'authorization');
  if (values.length === 0) return { kind: 'none' };
  // RFC 9110 §5.3: a field that is not a list may not be repeated; two
  // credentials would leave us guessing which one the client meant.
  if (values.length > 1) return { kind: 'malformed' };
  const value = values[0]!;
  if (!BEARER_SCHEME.test(value)) return { kind: 'none' };
  const match = BEARER_CREDENTIALS.exec(value);
  return match === null ? { kind: 'malformed' } : { kind: 'token', token: match[1]! };
}

/** The 401 codes of API.md, each with its challenge. */
export type UnauthorizedCode = 'unauthorized' | 'invalid_token' | 'token_expired' | 'invalid_credentials';

/**
 * The `WWW-Authenticate` value for a 401 (RFC 6750 §3). An expired token is
 * RFC 6750's `invalid_token` too; the description tells people which.
 */
export function bearerChallenge(code: UnauthorizedCode): string {
  switch (code) {
    case 'unauthorized':
    case 'invalid_credentials':
      return 'Bearer';
    case 'invalid_token':
      return 'Bearer error="invalid_token"';
    case 'token_expired':
      return 'Bearer error="invalid_token", error_description="the token has expired"';
  }
}

/** A 401 with API.md's body and the matching challenge. */
export function unauthorized(code: UnauthorizedCode, message: string): HttpError {
  return new HttpError(401, code, message, { headers: { 'WWW-Authenticate': bearerChallenge(code) } });
}
