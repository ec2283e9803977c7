import { expect } from 'chai';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import {
  derBitString,
  derBoolean,
  derContextExplicit,
  derContextImplicitPrimitive,
  derGeneralizedTime,
  derInteger,
  derLength,
  derNull,
  derOctetString,
  derOid,
  derPrintableString,
  derSequence,
  derSet,
  derTime,
  derUtcTime,
  derUtf8String,
} from '../../lib/net/der.js';
import { decodeInteger, decodeOid, readOne } from './der-reader.js';

const hex = (buf: Buffer): string => buf.toString('hex');
const FC_SEED = 6455;

describe('DER encoder (lib/net/der.ts)', () => {
  describe('lengths (X.690 §8.1.3, §10.1)', () => {
    const vectors: ReadonlyArray<readonly [number, string]> = [
      [0, '00'],
      [1, '01'],
      [127, '7f'], // the largest short form (§8.1.3.4)
      [128, '8180'], // the smallest long form (§8.1.3.5)
      [255, '81ff'],
      [256, '820100'],
      [65535, '82ffff'],
      [65536, '83010000'],
    ];
    for (const [length, expected] of vectors) {
      it(`encodes length ${length} as ${expected}, short form below 128 and long form in the fewest octets (X.690 §8.1.3, §10.1)`, () => {
        expect(hex(derLength(length))).to.equal(expected);
      });
    }

    it('puts that length in front of the contents of a real TLV, e.g. a 128-byte OCTET STRING (X.690 §8.1.1)', () => {
      const encoded = derOctetString(Buffer.alloc(128, 0xab));
      expect(hex(encoded.subarray(0, 3))).to.equal('048180');
      expect(encoded.length).to.equal(3 + 128);
      expect(readOne(encoded).contents.equals(Buffer.alloc(128, 0xab))).to.equal(true);
    });

    it('refuses a negative or fractional length', () => {
      expect(() => derLength(-1)).to.throw(RangeError);
      expect(() => derLength(1.5)).to.throw(RangeError);
    });
  });

  describe('INTEGER (X.690 §8.3)', () => {
    const vectors: ReadonlyArray<readonly [bigint, string]> = [
      [0n, '020100'],
      [1n, '020101'],
      [127n, '02017f'],
      [128n, '02020080'], // 0x80 alone would read as -128 (§8.3.3), so a zero octet leads
      [255n, '020200ff'],
      [256n, '02020100'],
      [-1n, '0201ff'],
      [-128n, '020180'],
      [-129n, '0202ff7f'],
      [-256n, '0202ff00'],
      [2n ** 64n, '0209010000000000000000'],
    ];
    for (const [value, expected] of vectors) {
      it(`encodes ${value} as ${expected} in minimal two's complement (X.690 §8.3.2)`, () => {
        expect(hex(derInteger(value))).to.equal(expected);
      });
    }

    const unsignedVectors: ReadonlyArray<readonly [string, string]> = [
      ['', '020100'],
      ['00', '020100'],
      ['000000', '020100'],
      ['7f', '02017f'],
      ['80', '02020080'],
      ['000080', '02020080'],
      ['0001ff', '020201ff'],
      ['ff00', '020300ff00'],
    ];
    for (const [input, expected] of unsignedVectors) {
      it(`reads Buffer ${input || '(empty)'} as an unsigned magnitude and encodes it as ${expected}, positive and minimal (X.690 §8.3.2, §8.3.3)`, () => {
        expect(hex(derInteger(Buffer.from(input, 'hex')))).to.equal(expected);
      });
    }

    it('round-trips any bigint through a strict reader, never with nine equal leading bits (X.690 §8.3.2)', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }), (value) => {
          expect(decodeInteger(readOne(derInteger(value)).contents)).to.equal(value);
        }),
        { seed: FC_SEED, numRuns: 500 },
      );
    });

    it('round-trips any Buffer as a non-negative integer equal to its unsigned value (X.690 §8.3.3)', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
          const expected = bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
          expect(decodeInteger(readOne(derInteger(Buffer.from(bytes))).contents)).to.equal(expected);
        }),
        { seed: FC_SEED, numRuns: 500 },
      );
    });

    it('writes ECDSA signatures that OpenSSL accepts as strict DER, SEQUENCE { r INTEGER, s INTEGER } (RFC 5758 §3.2)', () => {
      // OpenSSL re-encodes the signature and compares bytes, so a non-minimal
      // INTEGER (or a missing 0x00 before a high r or s) fails verification.
      // About half of r and s values have the top bit set; 64 signatures cover both cases.
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      let needsLeadingZero = 0;
      for (let i = 0; i < 64; i++) {
        const data = Buffer.from(`message ${i}`);
        const rs = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        const r = rs.subarray(0, 32);
        const s = rs.subarray(32);
        if ((r[0]! & 0x80) !== 0 || (s[0]! & 0x80) !== 0) needsLeadingZero++;
        const der = derSequence(derInteger(r), derInteger(s));
        expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, der), `signature ${i}`).to.equal(true);
      }
      expect(needsLeadingZero).to.be.greaterThan(0);
    });
  });

  describe('OBJECT IDENTIFIER (X.690 §8.19)', () => {
    const vectors: ReadonlyArray<readonly [string, string]> = [
      ['1.2.840.113549', '06062a864886f70d'], // RSA Data Security, the classic example
      ['2.100.3', '0603813403'], // X.690 (2002) §8.19.5's example: 2·40+100 = 180 needs two octets
      ['2.999.3', '0603883703'], // X.690 (2008 on) §8.19.5's example
      ['1.2.840.10045.4.3.2', '06082a8648ce3d040302'], // ecdsa-with-SHA256
      ['2.5.4.3', '0603550403'], // commonName
      ['0.0', '060100'],
      ['1.3.6.1.5.5.7.3.1', '06082b06010505070301'], // id-kp-serverAuth
    ];
    for (const [oid, expected] of vectors) {
      it(`encodes ${oid} as ${expected}: 40·X+Y first, then base 128 with continuation bits (X.690 §8.19.2, §8.19.4)`, () => {
        expect(hex(derOid(oid))).to.equal(expected);
        expect(decodeOid(readOne(derOid(oid)).contents)).to.equal(oid);
      });
    }

    it('encodes the OIDs exactly as Node writes them in a P-256 SubjectPublicKeyInfo (RFC 5480 §2.1.1)', () => {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const spki = publicKey.export({ type: 'spki', format: 'der' });
      const algorithm = derSequence(derOid('1.2.840.10045.2.1'), derOid('1.2.840.10045.3.1.7'));
      expect(spki.includes(algorithm)).to.equal(true);
    });

    const invalid = ['', '1', '3.1', '1.40', '0.40', '1.2.x', '1..2', '.1.2', '1.2.'];
    for (const oid of invalid) {
      it(`refuses '${oid}': two or more arcs, first 0..2, second below 40 under 0 and 1 (X.690 §8.19.4)`, () => {
        expect(() => derOid(oid)).to.throw(RangeError);
      });
    }

    it('round-trips arbitrary OIDs, including arcs beyond 2^53, through a strict reader', () => {
      const arc = fc.bigInt({ min: 0n, max: 2n ** 70n });
      const oid = fc.tuple(fc.constantFrom(0n, 1n, 2n), fc.bigInt({ min: 0n, max: 39n }), fc.array(arc, { maxLength: 6 }));
      fc.assert(
        fc.property(oid, ([first, second, rest]) => {
          const dotted = [first, second, ...rest].join('.');
          expect(decodeOid(readOne(derOid(dotted)).contents)).to.equal(dotted);
        }),
        { seed: FC_SEED, numRuns: 300 },
      );
    });
  });

  describe('simple primitives', () => {
    it('encodes BOOLEAN true as 0xFF and false as 0x00 (X.690 §8.2, §11.1)', () => {
      expect(hex(derBoolean(true))).to.equal('0101ff');
      expect(hex(derBoolean(false))).to.equal('010100');
    });

    it('encodes NULL with no contents octets (X.690 §8.8.2)', () => {
      expect(hex(derNull())).to.equal('0500');
    });

    it('encodes OCTET STRING as its octets, primitive (X.690 §8.7, §10.2)', () => {
      expect(hex(derOctetString(Buffer.from('0123', 'hex')))).to.equal('04020123');
      expect(hex(derOctetString(Buffer.alloc(0)))).to.equal('0400');
    });

    it('encodes BIT STRING with a leading unused-bits octet (X.690 §8.6.2)', () => {
      expect(hex(derBitString(Buffer.from('0a3b5f291cd0', 'hex')))).to.equal('0307000a3b5f291cd0');
      expect(hex(derBitString(Buffer.from('80', 'hex'), 7))).to.equal('03020780'); // keyUsage digitalSignature
      expect(hex(derBitString(Buffer.alloc(0)))).to.equal('030100');
    });

    it('refuses BIT STRING padding bits that are not zero, and unused-bit counts outside 0..7 (X.690 §11.2.1, §8.6.2.2)', () => {
      expect(() => derBitString(Buffer.from('81', 'hex'), 7)).to.throw(RangeError);
      expect(() => derBitString(Buffer.from('80', 'hex'), 8)).to.throw(RangeError);
      expect(() => derBitString(Buffer.alloc(0), 1)).to.throw(RangeError);
    });

    it('encodes UTF8String as the UTF-8 octets of the text (X.690 §8.23.10)', () => {
      expect(hex(derUtf8String('localhost'))).to.equal('0c096c6f63616c686f7374');
      expect(hex(derUtf8String('é😀'))).to.equal('0c06c3a9f09f9880');
      expect(() => derUtf8String('\ud800')).to.throw(RangeError);
    });

    it('encodes PrintableString and refuses characters outside X.680 Table 10 (X.680 §41.4)', () => {
      expect(hex(derPrintableString("Test User 1 ('+,-./:=?)"))).to.equal(
        '1317' + Buffer.from("Test User 1 ('+,-./:=?)", 'ascii').toString('hex'),
      );
      for (const bad of ['a@b', 'under_score', 'star*', 'é', 'amp&']) {
        expect(() => derPrintableString(bad), bad).to.throw(RangeError);
      }
    });
  });

  describe('times (X.690 §11.7, §11.8; RFC 5280 §4.1.2.5)', () => {
    it('encodes UTCTime as YYMMDDHHMMSSZ, seconds always present (X.690 §11.8)', () => {
      expect(derUtcTime(new Date('2019-12-15T19:02:10Z')).toString('latin1')).to.equal('\x17\x0d191215190210Z');
      expect(derUtcTime(new Date('2001-02-03T04:05:06Z')).toString('latin1')).to.equal('\x17\x0d010203040506Z');
    });

    it('drops milliseconds rather than writing fractional seconds (RFC 5280 §4.1.2.5.1)', () => {
      expect(derUtcTime(new Date('2030-06-01T00:00:00.999Z')).toString('latin1')).to.equal('\x17\x0d300601000000Z');
      expect(derGeneralizedTime(new Date('2050-06-01T00:00:00.999Z')).toString('latin1')).to.equal('\x18\x0f20500601000000Z');
    });

    it('encodes GeneralizedTime as YYYYMMDDHHMMSSZ (X.690 §11.7)', () => {
      expect(derGeneralizedTime(new Date('2050-01-01T00:00:00Z')).toString('latin1')).to.equal('\x18\x0f20500101000000Z');
      expect(derGeneralizedTime(new Date('1949-12-31T23:59:59Z')).toString('latin1')).to.equal('\x18\x0f19491231235959Z');
    });

    it('refuses UTCTime outside 1950..2049, where its two-digit year would be misread (RFC 5280 §4.1.2.5.1)', () => {
      expect(() => derUtcTime(new Date('2050-01-01T00:00:00Z'))).to.throw(RangeError);
      expect(() => derUtcTime(new Date('1949-12-31T23:59:59Z'))).to.throw(RangeError);
      expect(() => derUtcTime(new Date(Number.NaN))).to.throw(RangeError);
      expect(hex(derUtcTime(new Date('1950-01-01T00:00:00Z')).subarray(2, 4))).to.equal(Buffer.from('50').toString('hex'));
      expect(hex(derUtcTime(new Date('2049-12-31T23:59:59Z')).subarray(2, 4))).to.equal(Buffer.from('49').toString('hex'));
    });

    it('chooses UTCTime through 2049 and GeneralizedTime from 2050 for a certificate Time (RFC 5280 §4.1.2.5)', () => {
      expect(derTime(new Date('2049-12-31T23:59:59Z'))[0]).to.equal(0x17);
      expect(derTime(new Date('2050-01-01T00:00:00Z'))[0]).to.equal(0x18);
      expect(derTime(new Date('1949-12-31T23:59:59Z'))[0]).to.equal(0x18);
    });
  });

  describe('constructed and tagged values', () => {
    it('encodes SEQUENCE as its elements in order (X.690 §8.9)', () => {
      expect(hex(derSequence())).to.equal('3000');
      expect(hex(derSequence(derInteger(2n), derInteger(1n)))).to.equal('3006020102020101');
      expect(hex(derSequence(derSequence(derNull())))).to.equal('30043002' + '0500');
    });

    it('sorts SET OF elements by their encodings (X.690 §11.6)', () => {
      expect(hex(derSet(derInteger(2n), derInteger(1n)))).to.equal('3106020101020102');
      expect(hex(derSet(derInteger(256n), derInteger(-1n), derInteger(5n)))).to.equal('310a' + '020105' + '0201ff' + '02020100');
    });

    it('wraps the whole child in an explicit context tag, constructed (X.690 §8.14.2), as in X.509 version [0]', () => {
      expect(hex(derContextExplicit(0, derInteger(2n)))).to.equal('a003020102');
      expect(hex(derContextExplicit(3, derSequence()))).to.equal('a3023000');
    });

    it('replaces the tag of a primitive with an implicit context tag (X.690 §8.14.3), as in GeneralName dNSName [2]', () => {
      expect(hex(derContextImplicitPrimitive(2, Buffer.from('localhost')))).to.equal('82096c6f63616c686f7374');
      expect(hex(derContextImplicitPrimitive(7, Buffer.from([127, 0, 0, 1])))).to.equal('87047f000001');
    });

    it('refuses tag numbers that need the high-tag-number form (X.690 §8.1.2.4)', () => {
      expect(() => derContextExplicit(31, derNull())).to.throw(RangeError);
      expect(() => derContextImplicitPrimitive(-1, Buffer.alloc(0))).to.throw(RangeError);
    });

    it('nests long contents with long-form lengths that a strict reader accepts (X.690 §10.1)', () => {
      const inner = derOctetString(Buffer.alloc(300, 1));
      const outer = derSequence(inner, derSequence(derOctetString(Buffer.alloc(100))));
      expect(hex(outer.subarray(0, 4))).to.equal('30820198'); // 304 + 104 = 408 = 0x198
      const tlv = readOne(outer);
      expect(tlv.contents.subarray(0, inner.length).equals(inner)).to.equal(true);
    });
  });
});
