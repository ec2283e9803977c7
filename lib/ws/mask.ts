/**
 * Masking and unmasking of payload data (RFC 6455 §5.3): both are the same
 * operation, an XOR with the 4-byte masking key repeated over the payload.
 *
 *     "Octet i of the transformed data ("transformed-octet-i") is the XOR of
 *      octet i of the original data ("original-octet-i") with octet at index
 *      i modulo 4 of the masking key ("masking-key-octet-j"):
 *          j                   = i MOD 4
 *          transformed-octet-i = original-octet-i XOR masking-key-octet-j"
 *
 * The parser unmasks while it copies a payload out of the socket's chunk, so
 * no byte is touched twice and the caller's buffer is never modified.
 *
 * The parser holds the key as one number, a "mask word": the four key octets
 * read in network byte order (§5.2), octet 0 in the most significant byte,
 * as a signed 32-bit integer. Every idle connection has a parser: a 4-byte
 * Buffer would cost it some 200 bytes, and even an unsigned word above 2^31
 * would be boxed as a separate heap number, where an int32 sits in the
 * object itself (issue 9).
 */

/** The 4-byte masking key at `bytes[at..at+4)` as a mask word (an int32, octet 0 in the top byte). */
export function maskWord(bytes: Uint8Array, at = 0): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

/** Octet `j` (0–3) of a mask word, as a 4-byte key would hold it. */
export function maskOctet(word: number, j: number): number {
  return (word >>> (24 - 8 * (j & 3))) & 0xff;
}

/**
 * Copy `count` bytes from `source[sourceStart..]` to `target[targetStart..]`,
 * XORed with the masking key `word` (see maskWord). `keyOffset` is the index
 * in the payload of the first byte copied (payloads may arrive in pieces; the
 * key keeps turning across them).
 */
export function copyMaskedWord(
  source: Uint8Array,
  sourceStart: number,
  target: Uint8Array,
  targetStart: number,
  count: number,
  word: number,
  keyOffset: number,
): void {
  // Turn the key so that k0 applies to the first byte copied (j = i MOD 4).
  const k0 = maskOctet(word, keyOffset);
  const k1 = maskOctet(word, keyOffset + 1);
  const k2 = maskOctet(word, keyOffset + 2);
  const k3 = maskOctet(word, keyOffset + 3);

  // Fast path: four bytes per turn, one whole turn of the key.
  const wholeTurns = count - (count & 3);
  let i = 0;
  for (; i < wholeTurns; i += 4) {
    const s = sourceStart + i;
    const t = targetStart + i;
    target[t] = source[s]! ^ k0;
    target[t + 1] = source[s + 1]! ^ k1;
    target[t + 2] = source[s + 2]! ^ k2;
    target[t + 3] = source[s + 3]! ^ k3;
  }
  // The last 0–3 bytes take k0, k1, k2 in turn.
  if (i < count) target[targetStart + i] = source[sourceStart + i]! ^ k0;
  if (++i < count) target[targetStart + i] = source[sourceStart + i]! ^ k1;
  if (++i < count) target[targetStart + i] = source[sourceStart + i]! ^ k2;
}

/** copyMaskedWord with the key as its 4 bytes, as an encoder holds it. */
export function copyMasked(
  source: Uint8Array,
  sourceStart: number,
  target: Uint8Array,
  targetStart: number,
  count: number,
  key: Uint8Array,
  keyOffset: number,
): void {
  copyMaskedWord(source, sourceStart, target, targetStart, count, maskWord(key), keyOffset);
}
