/**
 * The character classes of HTTP's grammar, as lookup tables (STYLE.md habit 3:
 * rules as data), and the two small grammars built on them that several
 * fields share: `token` and `quoted-string`.
 *
 * Sources:
 * - RFC 5234 Appendix B.1: ALPHA, DIGIT, HEXDIG, VCHAR, SP, HTAB.
 * - RFC 9110 §5.5 (field-vchar, obs-text), §5.6.2 (token, tchar),
 *   §5.6.3 (OWS), §5.6.4 (quoted-string, qdtext, quoted-pair).
 * - RFC 3986 §2.2–2.3, §3.1, §3.2.2 (unreserved, sub-delims, scheme, host),
 *   which RFC 9110 §4 and RFC 9112 §3.2 use for request-targets and Host.
 *
 * Tables are indexed by a byte value, or by a character code of a string that
 * was decoded as latin1 (so every code is 0–255 and maps back to one byte).
 */

/** One entry of a class: a string of its members, or an inclusive range of codes. */
type CharSpec = string | readonly [first: number, last: number];

/** A set of byte values, stored as a 256-entry table. Immutable once built. */
export class CharClass {
  readonly #member = new Uint8Array(256);

  constructor(...specs: readonly CharSpec[]) {
    for (const spec of specs) {
      if (typeof spec === 'string') {
        for (let i = 0; i < spec.length; i++) this.#member[spec.charCodeAt(i)] = 1;
      } else {
        for (let code = spec[0]; code <= spec[1]; code++) this.#member[code] = 1;
      }
    }
  }

  /** Whether the byte (or latin1 character code) belongs to this class. */
  has(code: number): boolean {
    return code >= 0 && code < 256 && this.#member[code] === 1;
  }

  /** Whether every character of `text` belongs to this class (true for ''). */
  hasAll(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (!this.has(text.charCodeAt(i))) return false;
    return true;
  }

  /** The index of the first character at or after `from` that is NOT in this class (text.length if none). */
  skip(text: string, from: number): number {
    let i = from;
    while (i < text.length && this.has(text.charCodeAt(i))) i++;
    return i;
  }
}

// --- Byte values with names (STYLE.md habit 12) -----------------------------

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;

// --- RFC 5234 Appendix B.1 core rules ---------------------------------------

const DIGIT_RANGE = [0x30, 0x39] as const;
const UPPER_RANGE = [0x41, 0x5a] as const;
const LOWER_RANGE = [0x61, 0x7a] as const;

export const DIGIT = new CharClass(DIGIT_RANGE);
export const ALPHA = new CharClass(UPPER_RANGE, LOWER_RANGE);
/** HEXDIG; ABNF string literals are case-insensitive, so a–f count too (RFC 5234 §2.3). */
export const HEXDIG = new CharClass(DIGIT_RANGE, 'ABCDEFabcdef');
/** Visible (printing) US-ASCII characters. */
export const VCHAR = new CharClass([0x21, 0x7e]);

// --- RFC 9110 ---------------------------------------------------------------

/**
 * tchar (RFC 9110 §5.6.2):
 *   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 */
export const TCHAR = new CharClass(DIGIT_RANGE, UPPER_RANGE, LOWER_RANGE, "!#$%&'*+-.^_`|~");

/** OWS = *( SP / HTAB ) (RFC 9110 §5.6.3); BWS is the same characters. */
export const OWS = new CharClass(' \t');

/**
 * What may appear inside a field value once its leading and trailing OWS is
 * removed (RFC 9110 §5.5): field-vchar (VCHAR / obs-text) with SP and HTAB
 * between them. Every other control character, including NUL, CR, LF and DEL,
 * is not allowed ("Field values containing CR, LF, or NUL characters are
 * invalid and dangerous").
 */
export const FIELD_VALUE_CHAR = new CharClass([0x21, 0x7e], [0x80, 0xff], ' \t');

/** qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4). */
export const QDTEXT = new CharClass('\t ', [0x21, 0x21], [0x23, 0x5b], [0x5d, 0x7e], [0x80, 0xff]);

/** The character after a backslash: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) (RFC 9110 §5.6.4). */
export const QUOTED_PAIR_CHAR = new CharClass('\t ', [0x21, 0x7e], [0x80, 0xff]);

// --- RFC 3986, as used by RFC 9110 §4 and RFC 9112 §3.2 --------------------

/** unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3). */
const UNRESERVED_CHARS = '-._~';
/** sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "=" (RFC 3986 §2.2). */
const SUB_DELIM_CHARS = "!$&'()*+,;=";

/** reg-name = *( unreserved / pct-encoded / sub-delims ) (RFC 3986 §3.2.2); "%" must start a pct-encoded triple, checked separately. */
export const REG_NAME_CHAR = new CharClass(DIGIT_RANGE, UPPER_RANGE, LOWER_RANGE, UNRESERVED_CHARS, SUB_DELIM_CHARS, '%');

/**
 * Inside the brackets of an IP-literal (RFC 3986 §3.2.2): IPv6address uses
 * HEXDIG, ":" and "."; IPvFuture adds "v", unreserved and sub-delims. We check
 * the characters only, not the IPv6 grammar: a plausibility test.
 */
export const IP_LITERAL_CHAR = new CharClass(DIGIT_RANGE, UPPER_RANGE, LOWER_RANGE, UNRESERVED_CHARS, SUB_DELIM_CHARS, ':');

/** scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1): the characters after the first. */
export const SCHEME_CHAR = new CharClass(DIGIT_RANGE, UPPER_RANGE, LOWER_RANGE, '+-.');

/**
 * The characters of a request-target (RFC 9112 §3.2): visible ASCII only, so no
 * CTL, no SP and no byte above 0x7E. "#" is excluded too: a fragment is never
 * part of a request-target (RFC 9110 §4.2.5, the grammar of RFC 9112 §3.2 has
 * none). Finer URI grammar (path segments, pct-encoding) is the router's job.
 */
export const TARGET_CHAR = new CharClass([0x21, 0x22], [0x24, 0x7e]);

// --- Small grammars ---------------------------------------------------------

/** Whether `text` is a token: 1*tchar (RFC 9110 §5.6.2). */
export function isToken(text: string): boolean {
  return text.length > 0 && TCHAR.hasAll(text);
}

/**
 * If a quoted-string starts at `from` (RFC 9110 §5.6.4), the index just after
 * its closing DQUOTE; otherwise -1.
 *
 *   quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
 */
export function skipQuotedString(text: string, from: number): number {
  const DQUOTE = 0x22;
  const BACKSLASH = 0x5c;
  if (text.charCodeAt(from) !== DQUOTE) return -1;
  let i = from + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === DQUOTE) return i + 1;
    if (code === BACKSLASH) {
      if (!QUOTED_PAIR_CHAR.has(text.charCodeAt(i + 1))) return -1;
      i += 2;
    } else if (QDTEXT.has(code)) {
      i++;
    } else {
      return -1;
    }
  }
  return -1; // no closing DQUOTE
}
