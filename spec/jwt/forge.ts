/**
 * Making tokens the library under test would never make: any header text, any
 * payload bytes, signed with any key. The MAC comes from node:crypto, not from
 * @noble/hashes, so the tests also cross-check the library's HMAC.
 */
import { createHmac } from 'node:crypto';

export function b64u(data: string | Uint8Array): string {
  return Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

/** HMAC-SHA-256 of `signingInput` under `key`, base64url. */
export function hmacSignature(signingInput: string, key: Uint8Array | string): string {
  return createHmac('sha256', key).update(signingInput, 'ascii').digest('base64url');
}

/**
 * A compact JWS from raw header and payload (strings are taken as UTF-8), MACed
 * with `key`; `signature` overrides the MAC segment (e.g. '' for alg "none").
 */
export function forge(
  header: string | Uint8Array,
  payload: string | Uint8Array,
  key: Uint8Array | string,
  signature?: string,
): string {
  const signingInput = `${b64u(header)}.${b64u(payload)}`;
  return `${signingInput}.${signature ?? hmacSignature(signingInput, key)}`;
}

/** 32 fixed bytes: the shortest key HS256 allows (RFC 7518 §3.2). */
export const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'ascii');
/** Another valid key, for "signed by someone else". */
export const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210', 'ascii');

export const STANDARD_HEADER = '{"alg":"HS256","typ":"JWT"}';
