/**
 * Comparing a MAC without telling the attacker how much of it was right.
 *
 * RFC 7518 §3.2: "The comparison of the computed HMAC value to the JWS
 * Signature value MUST be done in a constant-time manner to thwart timing
 * attacks." RFC 7515 §10.9 explains the attack: an ordinary comparison stops
 * at the first differing byte, so the time it takes tells an attacker how many
 * leading bytes of a forged signature were correct, and they can find a valid
 * MAC for a token of their choosing one byte at a time.
 */

/**
 * True when `a` and `b` hold the same bytes. The time taken depends only on
 * the lengths, never on the contents.
 *
 * 1. Lengths are compared first and may return early: a length is not secret
 *    (every HS256 MAC is 32 bytes, and the attacker chose the other length).
 * 2. Every byte pair is XORed and the differences ORed into one accumulator,
 *    with no branch and no early exit, so every call touches every byte.
 * 3. Only the final accumulator is tested.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
