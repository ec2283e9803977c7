import { expect } from 'chai';
import fc from 'fast-check';
import { base64urlDecode, base64urlEncode } from '../../lib/jwt/base64url.js';

/** RFC 4648 §10 test vectors, with the '=' padding removed as RFC 7515 §2 requires. */
const RFC4648_VECTORS: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  ['f', 'Zg'],
  ['fo', 'Zm8'],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg'],
  ['fooba', 'Zm9vYmE'],
  ['foobar', 'Zm9vYmFy'],
];

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('base64url (RFC 4648 §5, RFC 7515 §2 and Appendix C)', () => {
  describe('encoding', () => {
    for (const [plain, encoded] of RFC4648_VECTORS) {
      it(`encodes ${JSON.stringify(plain)} as ${JSON.stringify(encoded)} with no padding (RFC 4648 §10, RFC 7515 §2)`, () => {
        expect(base64urlEncode(Buffer.from(plain, 'ascii'))).to.equal(encoded);
      });
    }

    it('uses "-" and "_" for the values 62 and 63 (RFC 4648 §5, Table 2)', () => {
      expect(base64urlEncode(Uint8Array.from([0xfb, 0xff]))).to.equal('-_8');
    });

    it('encodes the octets of RFC 7515 Appendix C as "A-z_4ME"', () => {
      expect(base64urlEncode(Uint8Array.from([3, 236, 255, 224, 193]))).to.equal('A-z_4ME');
    });

    it('agrees with Node\'s own base64url encoder on any bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          expect(base64urlEncode(bytes)).to.equal(Buffer.from(bytes).toString('base64url'));
        }),
        { seed: 7515, numRuns: 300 },
      );
    });
  });

  describe('decoding', () => {
    for (const [plain, encoded] of RFC4648_VECTORS) {
      it(`decodes ${JSON.stringify(encoded)} to ${JSON.stringify(plain)} (RFC 4648 §10)`, () => {
        expect(base64urlDecode(encoded)).to.deep.equal(Buffer.from(plain, 'ascii'));
      });
    }

    it('decodes "A-z_4ME" to the octets of RFC 7515 Appendix C', () => {
      expect(base64urlDecode('A-z_4ME')).to.deep.equal(Buffer.from([3, 236, 255, 224, 193]));
    });

    it('round-trips any bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          expect(base64urlDecode(base64urlEncode(bytes))).to.deep.equal(Buffer.from(bytes));
        }),
        { seed: 4648, numRuns: 300 },
      );
    });

    it('accepts each byte string in exactly one spelling: whatever decodes re-encodes to itself (RFC 4648 §3.5)', () => {
      fc.assert(
        fc.property(fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 40 }), (text) => {
          const bytes = base64urlDecode(text);
          if (bytes !== null) expect(base64urlEncode(bytes)).to.equal(text);
        }),
        { seed: 35, numRuns: 1000 },
      );
    });

    const REFUSED: ReadonlyArray<readonly [string, string]> = [
      ['Zg==', "padding '=' (RFC 7515 §2)"],
      ['Zm8=', "a single padding '=' (RFC 7515 §2)"],
      ['Z', 'a length ≡ 1 (mod 4) (RFC 7515 Appendix C)'],
      ['Zm9vY', 'a length ≡ 1 (mod 4) after whole groups (RFC 7515 Appendix C)'],
      ['Zh', 'non-zero unused bits after one byte (RFC 4648 §3.5)'],
      ['Zm9', 'non-zero unused bits after two bytes (RFC 4648 §3.5)'],
      ['Zm9v+g', "the standard alphabet's '+' (RFC 4648 §3.3, §5)"],
      ['Zm9v/g', "the standard alphabet's '/' (RFC 4648 §3.3, §5)"],
      ['Zm9v Yg', 'a space (RFC 4648 §3.3, RFC 7515 §2)'],
      ['Zm9v\nYg', 'a line break (RFC 4648 §3.1, RFC 7515 §2)'],
      ['Zm9vYg.', "a '.' (RFC 4648 §3.3)"],
      ['Zm9vY\u00e9', 'a non-ASCII character (RFC 4648 §3.3)'],
      ['Zm9vY\u0000', 'a NUL (RFC 4648 §3.3)'],
      ['Z\u{1F600}g', 'a character outside the BMP (RFC 4648 §3.3)'],
    ];
    for (const [text, what] of REFUSED) {
      it(`refuses ${what}`, () => {
        expect(base64urlDecode(text)).to.equal(null);
      });
    }

    it('refuses every text that Node\'s lenient decoder would accept but is not canonical', () => {
      // "Zh", "Zi", … "Zv" all decode to "f" in Buffer; only "Zg" is canonical.
      for (const last of 'hijklmnopqrstuv') {
        expect(Buffer.from(`Z${last}`, 'base64url').toString('ascii')).to.equal('f');
        expect(base64urlDecode(`Z${last}`), `Z${last}`).to.equal(null);
      }
    });
  });
});
