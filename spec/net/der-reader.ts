/**
 * A strict DER reader for the tests of lib/net/der.ts and self-signed-cert.ts:
 * an independent second reading of what the encoder wrote. It refuses what
 * DER forbids (X.690 §10.1 non-minimal or indefinite lengths, §8.3.2
 * non-minimal integers, §11.1 a BOOLEAN other than 00/FF) and trailing bytes,
 * so a test that walks a whole certificate with it proves every TLV is DER.
 */

export interface Tlv {
  /** The identifier octet (X.690 §8.1.2), low-tag-number form only. */
  readonly identifier: number;
  readonly constructed: boolean;
  readonly contents: Buffer;
  /** The whole TLV as it appeared. */
  readonly encoded: Buffer;
}

const CONSTRUCTED = 0x20;
const HIGH_TAG_NUMBER = 0x1f;
const LONG_FORM_BIT = 0x80;
export const IDENTIFIER = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Read one TLV at `offset`; returns it and the offset after it. */
export function readTlv(buf: Buffer, offset = 0): { readonly tlv: Tlv; readonly next: number } {
  if (offset >= buf.length) throw new Error('DER: no identifier octet');
  const identifier = buf[offset]!;
  if ((identifier & HIGH_TAG_NUMBER) === HIGH_TAG_NUMBER) throw new Error('DER: high-tag-number form not expected');
  let at = offset + 1;
  if (at >= buf.length) throw new Error('DER: no length octet');
  const first = buf[at++]!;
  let length: number;
  if ((first & LONG_FORM_BIT) === 0) {
    length = first;
  } else {
    const count = first & ~LONG_FORM_BIT;
    if (count === 0) throw new Error('DER: indefinite length (X.690 §10.1)');
    if (count > 4 || at + count > buf.length) throw new Error('DER: length octets out of range');
    if (buf[at] === 0) throw new Error('DER: long-form length with a leading zero (X.690 §10.1)');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[at++]!;
    if (length < LONG_FORM_BIT) throw new Error('DER: long form used for a length below 128 (X.690 §10.1)');
  }
  if (at + length > buf.length) throw new Error('DER: contents run past the end');
  const contents = buf.subarray(at, at + length);
  const encoded = buf.subarray(offset, at + length);
  return { tlv: { identifier, constructed: (identifier & CONSTRUCTED) !== 0, contents, encoded }, next: at + length };
}

/** Read a buffer that must hold exactly one TLV. */
export function readOne(buf: Buffer): Tlv {
  const { tlv, next } = readTlv(buf);
  if (next !== buf.length) throw new Error(`DER: ${buf.length - next} trailing bytes`);
  return tlv;
}

/** The elements inside a constructed TLV. */
export function children(tlv: Tlv): Tlv[] {
  if (!tlv.constructed) throw new Error('DER: not a constructed value');
  const out: Tlv[] = [];
  for (let at = 0; at < tlv.contents.length; ) {
    const { tlv: child, next } = readTlv(tlv.contents, at);
    out.push(child);
    at = next;
  }
  return out;
}

/** INTEGER contents to a bigint, refusing non-minimal encodings (X.690 §8.3.2). */
export function decodeInteger(contents: Buffer): bigint {
  if (contents.length === 0) throw new Error('DER: empty INTEGER');
  if (contents.length > 1) {
    const nineBits = (contents[0]! << 1) | (contents[1]! >> 7);
    if (nineBits === 0 || nineBits === 0x1ff) throw new Error('DER: non-minimal INTEGER (X.690 §8.3.2)');
  }
  const unsigned = BigInt(`0x${contents.toString('hex')}`);
  return BigInt.asIntN(8 * contents.length, unsigned);
}

/** OBJECT IDENTIFIER contents to dotted text (X.690 §8.19). */
export function decodeOid(contents: Buffer): string {
  const subidentifiers: bigint[] = [];
  let value = 0n;
  let startOfSubidentifier = true;
  for (const octet of contents) {
    if (startOfSubidentifier && octet === 0x80) throw new Error('DER: OID subidentifier with a leading 0x80 (X.690 §8.19.2)');
    value = (value << 7n) | BigInt(octet & 0x7f);
    startOfSubidentifier = (octet & 0x80) === 0;
    if (startOfSubidentifier) {
      subidentifiers.push(value);
      value = 0n;
    }
  }
  if (!startOfSubidentifier || subidentifiers.length === 0) throw new Error('DER: truncated OID');
  const first = subidentifiers[0]!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...subidentifiers.slice(1)].join('.');
}

/**
 * Walk every TLV under `tlv`, descending into constructed values, applying the
 * DER checks above to each. Returns how many TLVs it checked. (An OCTET STRING
 * is opaque here; a caller that knows it wraps DER, like an X.509 extension
 * value, walks its contents itself.)
 */
export function checkDerTree(tlv: Tlv): number {
  let count = 1;
  if (tlv.identifier === IDENTIFIER.BOOLEAN && !(tlv.contents.length === 1 && (tlv.contents[0] === 0 || tlv.contents[0] === 0xff))) {
    throw new Error('DER: BOOLEAN must be one octet 00 or FF (X.690 §11.1)');
  }
  if (tlv.identifier === IDENTIFIER.INTEGER) decodeInteger(tlv.contents);
  if (tlv.identifier === IDENTIFIER.OID) decodeOid(tlv.contents);
  if (tlv.constructed) {
    for (const child of children(tlv)) count += checkDerTree(child);
  }
  return count;
}
