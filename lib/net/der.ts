/**
 * A small DER encoder: just enough ASN.1 to write an X.509 certificate.
 *
 * Every value in DER is a TLV — an identifier octet (the tag), a length and
 * the contents (ITU-T X.690 §8.1). BER allows several encodings of one value;
 * DER (X.690 §10 and §11) picks exactly one, so that a signature over the
 * bytes means one thing. The rules this file obeys because of that:
 *
 *   - lengths use the shortest form (§10.1), definite lengths only (§10.1);
 *   - integers use the fewest octets of two's complement (§8.3.2);
 *   - BOOLEAN true is 0xFF (§11.1);
 *   - BIT STRING padding bits are zero (§11.2.1);
 *   - SET OF elements are sorted by their encodings (§11.6);
 *   - UTCTime and GeneralizedTime end in `Z`, with no fractional seconds
 *     here (§11.7, §11.8; RFC 5280 §4.1.2.5 forbids them in certificates).
 *
 * Each function returns the complete TLV as a Buffer, so encodings nest by
 * plain function calls: `derSequence(derInteger(1n), derNull())`.
 * Pure functions: no I/O, no clock (a time is always passed in).
 */

/** Identifier octet bits (X.690 §8.1.2.2, Table 1; §8.1.2.5). */
const CLASS_UNIVERSAL = 0x00;
const CLASS_CONTEXT = 0x80;
const CONSTRUCTED = 0x20;

/** Universal tag numbers (X.680 §8.4, Table 1). */
export const UNIVERSAL_TAG = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OBJECT_IDENTIFIER: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  PRINTABLE_STRING: 19,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
} as const;

/** Tag numbers from 31 up need the high-tag-number form (X.690 §8.1.2.4); we never use them. */
const MAX_LOW_TAG_NUMBER = 30;
/** In a length octet, bit 8 set means "long form" (X.690 §8.1.3.5). */
const LONG_FORM_BIT = 0x80;
/** Short form holds lengths 0..127 in one octet (X.690 §8.1.3.4). */
const MAX_SHORT_LENGTH = 0x7f;
/** BOOLEAN contents (X.690 §8.2.2; DER §11.1: true is all ones). */
const BOOLEAN_TRUE = 0xff;
const BOOLEAN_FALSE = 0x00;
/** Each OID subidentifier is base 128, bit 8 set on all but the last octet (X.690 §8.19.2). */
const OID_CONTINUATION_BIT = 0x80;
const OID_DIGIT_MASK = 0x7f;
/** The first two arcs share one subidentifier: 40·X + Y (X.690 §8.19.4). */
const OID_FIRST_ARC_FACTOR = 40n;

/**
 * The characters of PrintableString (X.680 §41.4, Table 10): letters, digits,
 * space and `' ( ) + , - . / : = ?`.
 */
const PRINTABLE_STRING_CHARACTERS = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/**
 * RFC 5280 §4.1.2.5: "CAs conforming to this profile MUST always encode
 * certificate validity dates through the year 2049 as UTCTime; certificate
 * validity dates in 2050 or later MUST be encoded as GeneralizedTime."
 * And §4.1.2.5.1: a two-digit year YY ≥ 50 means 19YY, below 50 means 20YY.
 */
const UTC_TIME_FIRST_YEAR = 1950;
const UTC_TIME_LAST_YEAR = 2049;
/** GeneralizedTime writes the year in four digits (X.680 §46.2), so 0000..9999. */
const GENERALIZED_TIME_LAST_YEAR = 9999;

// ---------------------------------------------------------------------------
// The TLV frame
// ---------------------------------------------------------------------------

/**
 * The length octets (X.690 §8.1.3). Short form: one octet 0..127 (§8.1.3.4).
 * Long form: 0x80 | N, then the length in N big-endian octets (§8.1.3.5);
 * DER requires the fewest octets (§10.1), so N has no leading zero octet.
 */
export function derLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`DER length must be a non-negative integer, got ${length}`);
  }
  if (length <= MAX_SHORT_LENGTH) return Buffer.from([length]);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return Buffer.from([LONG_FORM_BIT | octets.length, ...octets]);
}

/**
 * One TLV (X.690 §8.1.1): identifier octet, length octets, contents octets.
 * Only the low-tag-number form of the identifier (§8.1.2.3): tags 0..30.
 */
function tlv(identifier: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.from([identifier]), derLength(contents.length), contents]);
}

function checkTagNumber(tag: number): void {
  if (!Number.isInteger(tag) || tag < 0 || tag > MAX_LOW_TAG_NUMBER) {
    throw new RangeError(`tag number must be 0..${MAX_LOW_TAG_NUMBER} (X.690 §8.1.2.3), got ${tag}`);
  }
}

// ---------------------------------------------------------------------------
// Constructed types
// ---------------------------------------------------------------------------

/** SEQUENCE and SEQUENCE OF: the elements' encodings in the order given (X.690 §8.9, §8.10). */
export function derSequence(...children: readonly Buffer[]): Buffer {
  return tlv(CLASS_UNIVERSAL | CONSTRUCTED | UNIVERSAL_TAG.SEQUENCE, Buffer.concat(children));
}

/**
 * SET OF (X.690 §8.12). DER §11.6: "the encodings of the component values of a
 * set-of value shall appear in ascending order, the encodings being compared as
 * octet strings". Buffer.compare is that order: a TLV that began another one
 * would share its length octets, hence its length, so one complete TLV is
 * never a proper prefix of another and §11.6's zero padding never matters.
 */
export function derSet(...children: readonly Buffer[]): Buffer {
  const sorted = [...children].sort(Buffer.compare);
  return tlv(CLASS_UNIVERSAL | CONSTRUCTED | UNIVERSAL_TAG.SET, Buffer.concat(sorted));
}

/**
 * `[tag] EXPLICIT child`: a constructed, context-specific TLV wrapping the
 * complete encoding of the child (X.690 §8.14.2, "constructed … the contents
 * octets shall be the complete base encoding"). X.509 uses it for
 * `version [0]` and `extensions [3]` (RFC 5280 §4.1).
 */
export function derContextExplicit(tag: number, child: Buffer): Buffer {
  checkTagNumber(tag);
  return tlv(CLASS_CONTEXT | CONSTRUCTED | tag, child);
}

/**
 * `[tag] IMPLICIT` of a primitive type: the identifier is replaced, the
 * contents stay those of the underlying type (X.690 §8.14.3). X.509 uses it
 * for GeneralName's `dNSName [2] IA5String` and `iPAddress [7] OCTET STRING`
 * (RFC 5280 §4.2.1.6).
 */
export function derContextImplicitPrimitive(tag: number, bytes: Buffer): Buffer {
  checkTagNumber(tag);
  return tlv(CLASS_CONTEXT | tag, bytes);
}

// ---------------------------------------------------------------------------
// Primitive types
// ---------------------------------------------------------------------------

/** BOOLEAN (X.690 §8.2): one octet; DER §11.1 says true is 0xFF. */
export function derBoolean(value: boolean): Buffer {
  return tlv(UNIVERSAL_TAG.BOOLEAN, Buffer.from([value ? BOOLEAN_TRUE : BOOLEAN_FALSE]));
}

/** NULL (X.690 §8.8): no contents octets. */
export function derNull(): Buffer {
  return tlv(UNIVERSAL_TAG.NULL, Buffer.alloc(0));
}

/**
 * INTEGER (X.690 §8.3): two's complement, big-endian, in the fewest octets —
 * §8.3.2: "the bits of the first octet and bit 8 of the second octet shall not
 * all be ones; and shall not all be zero."
 *
 * A `bigint` may be negative. A `Buffer` is read as an unsigned big-endian
 * magnitude (a serial number, an ECDSA `r`): leading zero octets are dropped
 * and one 0x00 is put back when the top bit is set, so it stays positive.
 */
export function derInteger(value: bigint | Buffer): Buffer {
  const contents = typeof value === 'bigint' ? twosComplement(value) : unsignedMagnitude(value);
  return tlv(UNIVERSAL_TAG.INTEGER, contents);
}

function unsignedMagnitude(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  if (trimmed.length === 0) return Buffer.from([0]);
  // Top bit set would read as negative (§8.3.3): prefix a zero octet.
  return (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : Buffer.from(trimmed);
}

function twosComplement(value: bigint): Buffer {
  // Find the fewest octets n such that -2^(8n-1) ≤ value < 2^(8n-1).
  let octets = 1;
  while (value < -(1n << BigInt(8 * octets - 1)) || value >= 1n << BigInt(8 * octets - 1)) octets++;
  // Reduce modulo 2^(8n) to get the two's complement bit pattern.
  let pattern = BigInt.asUintN(8 * octets, value);
  const out = Buffer.alloc(octets);
  for (let i = octets - 1; i >= 0; i--) {
    out[i] = Number(pattern & 0xffn);
    pattern >>= 8n;
  }
  return out;
}

/**
 * BIT STRING (X.690 §8.6): the first contents octet counts the unused bits in
 * the last octet (0..7, §8.6.2.2), then the bits. DER §11.2.1: those unused
 * bits are zero. For a whole number of octets (a public key, a signature)
 * leave `unusedBits` at 0.
 */
export function derBitString(bytes: Buffer, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) {
    throw new RangeError(`unused bits must be 0..7 (X.690 §8.6.2.2), got ${unusedBits}`);
  }
  if (bytes.length === 0 && unusedBits !== 0) {
    throw new RangeError('an empty BIT STRING has 0 unused bits (X.690 §8.6.2.3)');
  }
  const padding = (1 << unusedBits) - 1;
  if (bytes.length > 0 && (bytes[bytes.length - 1]! & padding) !== 0) {
    throw new RangeError('BIT STRING unused bits must be zero (X.690 §11.2.1)');
  }
  return tlv(UNIVERSAL_TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/** OCTET STRING (X.690 §8.7): the octets as they are; DER uses the primitive form (§10.2). */
export function derOctetString(bytes: Buffer): Buffer {
  return tlv(UNIVERSAL_TAG.OCTET_STRING, bytes);
}

/**
 * OBJECT IDENTIFIER (X.690 §8.19) from dotted text such as '1.2.840.10045.4.3.2'.
 * The first two arcs X.Y become one subidentifier 40·X + Y (§8.19.4); each
 * subidentifier is written base 128, high bit set on every octet but the last,
 * in the fewest octets (§8.19.2: "the leading octet … shall not have the value 0x80").
 */
export function derOid(dotted: string): Buffer {
  const arcs = parseOid(dotted);
  const subidentifiers = [arcs[0]! * OID_FIRST_ARC_FACTOR + arcs[1]!, ...arcs.slice(2)];
  return tlv(UNIVERSAL_TAG.OBJECT_IDENTIFIER, Buffer.concat(subidentifiers.map(base128)));
}

function parseOid(dotted: string): bigint[] {
  if (!/^\d+(\.\d+)+$/.test(dotted)) {
    throw new RangeError(`OID must be two or more dot-separated decimal arcs, got '${dotted}'`);
  }
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  // X.660 §A.2 / X.690 §8.19.4: first arc 0, 1 or 2; under 0 and 1 the second arc is 0..39.
  if (arcs[0]! > 2n) throw new RangeError(`OID first arc must be 0, 1 or 2, got '${dotted}'`);
  if (arcs[0]! < 2n && arcs[1]! >= OID_FIRST_ARC_FACTOR) {
    throw new RangeError(`OID second arc must be below 40 under arc ${arcs[0]}, got '${dotted}'`);
  }
  return arcs;
}

function base128(value: bigint): Buffer {
  const digits = [Number(value & BigInt(OID_DIGIT_MASK))];
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) {
    digits.unshift(Number(rest & BigInt(OID_DIGIT_MASK)) | OID_CONTINUATION_BIT);
  }
  return Buffer.from(digits);
}

/** UTF8String (X.690 §8.23.10): the UTF-8 octets of the text. */
export function derUtf8String(text: string): Buffer {
  // With the `u` flag a surrogate pair is one code point, so \p{Cs} matches only lone halves.
  if (/\p{Cs}/u.test(text)) throw new RangeError('UTF8String text has a lone surrogate');
  return tlv(UNIVERSAL_TAG.UTF8_STRING, Buffer.from(text, 'utf8'));
}

/** PrintableString (X.690 §8.23.5): one octet per character from X.680 Table 10 only. */
export function derPrintableString(text: string): Buffer {
  if (!PRINTABLE_STRING_CHARACTERS.test(text)) {
    throw new RangeError(`'${text}' has a character outside PrintableString (X.680 §41.4)`);
  }
  return tlv(UNIVERSAL_TAG.PRINTABLE_STRING, Buffer.from(text, 'ascii'));
}

/**
 * UTCTime `YYMMDDHHMMSSZ` (X.680 §47; DER §11.8: seconds present, ends in Z).
 * Only years 1950..2049 (RFC 5280 §4.1.2.5.1). Milliseconds are dropped.
 */
export function derUtcTime(date: Date): Buffer {
  const year = checkedYear(date);
  if (year < UTC_TIME_FIRST_YEAR || year > UTC_TIME_LAST_YEAR) {
    throw new RangeError(`UTCTime holds years ${UTC_TIME_FIRST_YEAR}..${UTC_TIME_LAST_YEAR} (RFC 5280 §4.1.2.5.1), got ${year}`);
  }
  const text = pad(year % 100, 2) + monthToSeconds(date) + 'Z';
  return tlv(UNIVERSAL_TAG.UTC_TIME, Buffer.from(text, 'ascii'));
}

/**
 * GeneralizedTime `YYYYMMDDHHMMSSZ` (X.680 §46; DER §11.7: ends in Z, no
 * fractional seconds here because RFC 5280 §4.1.2.5.2 forbids them).
 */
export function derGeneralizedTime(date: Date): Buffer {
  const year = checkedYear(date);
  if (year < 0 || year > GENERALIZED_TIME_LAST_YEAR) {
    throw new RangeError(`GeneralizedTime holds years 0..${GENERALIZED_TIME_LAST_YEAR}, got ${year}`);
  }
  const text = pad(year, 4) + monthToSeconds(date) + 'Z';
  return tlv(UNIVERSAL_TAG.GENERALIZED_TIME, Buffer.from(text, 'ascii'));
}

/** A certificate `Time` (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050. */
export function derTime(date: Date): Buffer {
  const year = checkedYear(date);
  return year >= UTC_TIME_FIRST_YEAR && year <= UTC_TIME_LAST_YEAR ? derUtcTime(date) : derGeneralizedTime(date);
}

function checkedYear(date: Date): number {
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid Date');
  return date.getUTCFullYear();
}

function monthToSeconds(date: Date): string {
  return (
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2)
  );
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
