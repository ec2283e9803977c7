/**
 * Turning decoded bytes into a JSON object, the way both the JOSE Header
 * (RFC 7515 §5.2 step 3) and the JWT Claims Set (RFC 7519 §7.2 step 10) must
 * be read: "Verify that the resulting octet sequence is a UTF-8-encoded
 * representation of a completely valid JSON object conforming to RFC 7159".
 *
 * - The bytes must be valid UTF-8 (RFC 8725 §3.7 "Use UTF-8"): the decoder is
 *   `fatal`, so a malformed sequence is refused instead of becoming U+FFFD.
 * - A byte order mark is kept (`ignoreBOM`), so JSON.parse refuses it: RFC 8259
 *   §8.1 forbids senders to add one and only allows parsers to skip it.
 * - The top-level value must be an object, not an array, null or a scalar.
 * - Duplicate member names: JSON.parse keeps the lexically last one, which is
 *   one of the two behaviours RFC 7515 §4 and RFC 7519 §4 permit.
 * - Depth: the callers bound the token's length first (4 KiB by default), which
 *   bounds nesting far below anything that could trouble JSON.parse.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The parsed object, frozen (shallowly), or null if the bytes are not a JSON object. */
export function parseJsonObject(bytes: Uint8Array): Readonly<Record<string, unknown>> | null {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    // TextDecoder throws a TypeError on malformed UTF-8 and JSON.parse a
    // SyntaxError on bad JSON: both mean "not a JSON object", the caller's
    // answer to which is a failure reason, not an exception.
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return Object.freeze(value as Record<string, unknown>);
}
