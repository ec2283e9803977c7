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
 */

/**
 * Copy `count` bytes from `source[sourceStart..]` to `target[targetStart..]`,
 * XORed with `key`. `keyOffset` is the index in the payload of the first byte
 * copied (payloads may arrive in pieces; the key keeps turning across them).
 */
export function copyMasked(
  source: Uint8Array,
  sourceStart: number,
  target: Uint8Array,
  targetStart: number,
  count: number,
  key: Uint8Array,
  keyOffset: number,
): void {
  // Turn the key so that k0 applies to the first byte copied (j = i MOD 4).
  const k0 = key[keyOffset & 3]!;
  const k1 = key[(keyOffset + 1) & 3]!;
  const k2 = key[(keyOffset + 2) & 3]!;
  const k3 = key[(keyOffset + 3) & 3]!;

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
  // The last 0–3 bytes.
  for (; i < count; i++) target[targetStart + i] = source[sourceStart + i]! ^ key[(keyOffset + i) & 3]!;
}
