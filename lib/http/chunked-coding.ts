/**
 * The syntax of one chunk-size line of the chunked transfer coding
 * (RFC 9112 §7.1, §7.1.1). Pure functions: the request parser owns the state
 * machine (chunk-size → chunk-data → CRLF → … → trailers) and decides the wire
 * consequence of each verdict returned here.
 *
 *   chunked-body   = *chunk last-chunk trailer-section CRLF
 *   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size     = 1*HEXDIG
 *   last-chunk     = 1*("0") [ chunk-ext ] CRLF
 *
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-name = token
 *   chunk-ext-val  = token / quoted-string
 *
 * RFC 9112 §7.1: "Recipients MUST anticipate potentially large hexadecimal
 * numerals and prevent parsing errors due to integer conversion overflows or
 * precision loss due to integer representation." We bound the number of digits
 * (leading zeros included) and compare the value with the body budget digit by
 * digit, so a size is refused at the digit that proves it too large.
 */
import { HEXDIG, OWS, TCHAR, skipQuotedString } from './token-chars.js';

/** At most this many hex digits in a chunk-size, leading zeros included (16 digits = 64 bits). */
export const MAX_CHUNK_SIZE_DIGITS = 16;

/** What the start of a chunk-size line says so far. */
export type ChunkSizeScan =
  /** Every byte seen is a hex digit and the line is not complete: wait for more. */
  | { readonly kind: 'digits-so-far' }
  /** The chunk-size, and the offset where chunk-ext (or the line's end) begins. */
  | { readonly kind: 'size'; readonly size: number; readonly end: number }
  /** The line does not start with a hex digit. */
  | { readonly kind: 'no-digits' }
  /** More than MAX_CHUNK_SIZE_DIGITS digits. */
  | { readonly kind: 'too-many-digits' }
  /** The size already exceeds `budget` (the body bytes still allowed). */
  | { readonly kind: 'over-budget' };

/**
 * Read the chunk-size at the start of `bytes`, the part of a chunk-size line
 * (and maybe more) received so far. The digits end at the first byte that is
 * not a hex digit — the line's CR at the latest — so when every byte is a digit
 * the line is not complete. Only the leading digits are examined, so calling
 * this again as bytes arrive costs at most MAX_CHUNK_SIZE_DIGITS + 1 reads.
 */
export function scanChunkSize(bytes: Buffer, budget: number): ChunkSizeScan {
  let size = 0;
  let i = 0;
  while (i < bytes.length && HEXDIG.has(bytes[i]!)) {
    if (i + 1 > MAX_CHUNK_SIZE_DIGITS) return { kind: 'too-many-digits' };
    size = size * 16 + Number.parseInt(String.fromCharCode(bytes[i]!), 16);
    // Checked at every digit: more digits only make the number larger (habit 7).
    if (size > budget) return { kind: 'over-budget' };
    i++;
  }
  if (i === bytes.length) return { kind: 'digits-so-far' };
  if (i === 0) return { kind: 'no-digits' };
  return { kind: 'size', size, end: i };
}

/**
 * Whether `text` (the rest of a chunk-size line after its digits, without the
 * CRLF, decoded as latin1) is a valid chunk-ext — possibly empty. The values
 * are not kept: we define no extensions, and RFC 9112 §7.1.1 says "A recipient
 * MUST ignore unrecognized chunk extensions." Ignoring is not the same as not
 * checking: a malformed extension is a malformed message.
 */
export function isValidChunkExtensions(text: string): boolean {
  const SEMICOLON = 0x3b;
  const EQUALS = 0x3d;
  let i = 0;
  while (i < text.length) {
    // BWS ";" BWS
    i = OWS.skip(text, i);
    if (text.charCodeAt(i) !== SEMICOLON) return false; // also: trailing whitespace with no ";" after it
    i = OWS.skip(text, i + 1);
    // chunk-ext-name
    const nameEnd = TCHAR.skip(text, i);
    if (nameEnd === i) return false;
    i = nameEnd;
    // [ BWS "=" BWS chunk-ext-val ]
    const afterBws = OWS.skip(text, i);
    if (text.charCodeAt(afterBws) === EQUALS) {
      const valueStart = OWS.skip(text, afterBws + 1);
      const valueEnd = text.charCodeAt(valueStart) === 0x22 ? skipQuotedString(text, valueStart) : TCHAR.skip(text, valueStart);
      if (valueEnd === -1 || valueEnd === valueStart) return false;
      i = valueEnd;
    }
    // Otherwise leave `i` before the whitespace: it must be the BWS of a next ";".
  }
  return true;
}
