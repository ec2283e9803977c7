/**
 * base64url without padding, as JWS and JWT use it: RFC 4648 §5 (the URL- and
 * filename-safe alphabet), with the trailing '=' omitted as RFC 7515 §2
 * ("Base64url Encoding") and Appendix C require.
 *
 * The decoder is strict, so that every byte string has exactly one spelling
 * and a token cannot be altered without changing its text:
 *
 * - any character outside `A–Z a–z 0–9 - _` is refused (RFC 4648 §3.3),
 *   padding '=' included (RFC 7515 §2), and so are line breaks and spaces;
 * - a length ≡ 1 (mod 4) is refused: one character carries only 6 bits, never
 *   a whole byte (RFC 7515 Appendix C, "case 1 ... illegal");
 * - the unused low bits of the last character must be zero (RFC 4648 §3.5,
 *   "canonical encoding"): otherwise `AB` and `AA` would both decode to 0x00.
 *
 * Written out by hand rather than with Buffer's 'base64url' codec, because
 * Buffer's decoder is lenient on all three points above.
 */

/** RFC 4648 §5, Table 2: value → character. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Marks a character code that is not in the alphabet. */
const NOT_IN_ALPHABET = -1;

/** character code (0–127) → 6-bit value, or NOT_IN_ALPHABET. */
const DECODE_TABLE: readonly number[] = (() => {
  const table = new Array<number>(128).fill(NOT_IN_ALPHABET);
  for (let value = 0; value < ALPHABET.length; value++) table[ALPHABET.charCodeAt(value)] = value;
  return table;
})();

const BITS_PER_CHAR = 6;
const SIX_BIT_MASK = 0b11_1111;
const BYTE_MASK = 0xff;
/** Four characters carry three bytes (RFC 4648 §4: "24-bit groups"). */
const CHARS_PER_GROUP = 4;
const BYTES_PER_GROUP = 3;

/**
 * What the last, partial group may end with (RFC 7515 Appendix C): its length
 * in characters → bytes it yields, and the mask of the last character's bits
 * that must be zero because they belong to no byte (RFC 4648 §3.5).
 */
const PARTIAL_GROUP = {
  0: { bytes: 0, unusedBitsMask: 0 },
  2: { bytes: 1, unusedBitsMask: 0b1111 }, // 12 bits carry 8: low 4 bits unused
  3: { bytes: 2, unusedBitsMask: 0b11 }, //   18 bits carry 16: low 2 bits unused
} as const;

/** Encode bytes as base64url with no padding (RFC 7515 §2). */
export function base64urlEncode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  // Whole 3-byte groups → 4 characters each (RFC 4648 §4).
  for (; i + BYTES_PER_GROUP <= bytes.length; i += BYTES_PER_GROUP) {
    const group = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[(group >>> 18) & SIX_BIT_MASK]!;
    out += ALPHABET[(group >>> 12) & SIX_BIT_MASK]!;
    out += ALPHABET[(group >>> 6) & SIX_BIT_MASK]!;
    out += ALPHABET[group & SIX_BIT_MASK]!;
  }
  // The final 1 or 2 bytes → 2 or 3 characters, zero-filled, with the '='
  // padding left off (RFC 7515 Appendix C).
  const left = bytes.length - i;
  if (left === 1) {
    const group = bytes[i]! << 16;
    out += ALPHABET[(group >>> 18) & SIX_BIT_MASK]!;
    out += ALPHABET[(group >>> 12) & SIX_BIT_MASK]!;
  } else if (left === 2) {
    const group = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[(group >>> 18) & SIX_BIT_MASK]!;
    out += ALPHABET[(group >>> 12) & SIX_BIT_MASK]!;
    out += ALPHABET[(group >>> 6) & SIX_BIT_MASK]!;
  }
  return out;
}

/**
 * Decode unpadded base64url, strictly (see the file header). Returns null for
 * any text that is not the one canonical encoding of some byte string.
 */
export function base64urlDecode(text: string): Buffer | null {
  // 1. The length decides the shape of the last group (RFC 7515 Appendix C).
  const tailChars = text.length % CHARS_PER_GROUP;
  if (tailChars === 1) return null;
  const tail = PARTIAL_GROUP[tailChars as keyof typeof PARTIAL_GROUP];
  const wholeGroups = (text.length - tailChars) / CHARS_PER_GROUP;
  const out = Buffer.alloc(wholeGroups * BYTES_PER_GROUP + tail.bytes);

  // 2. Every character must be in the alphabet (RFC 4648 §3.3); the bits
  //    accumulate and each full byte is written out as soon as it is complete.
  let bits = 0;
  let bitCount = 0;
  let written = 0;
  let lastValue = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < DECODE_TABLE.length ? DECODE_TABLE[code]! : NOT_IN_ALPHABET;
    if (value === NOT_IN_ALPHABET) return null;
    lastValue = value;
    bits = ((bits << BITS_PER_CHAR) | value) & 0xffff; // at most 14 live bits
    bitCount += BITS_PER_CHAR;
    if (bitCount >= 8) {
      bitCount -= 8;
      out[written++] = (bits >>> bitCount) & BYTE_MASK;
    }
  }

  // 3. Canonical form: the bits of the last character that belong to no byte
  //    must be zero (RFC 4648 §3.5).
  if ((lastValue & tail.unusedBitsMask) !== 0) return null;
  return out;
}
