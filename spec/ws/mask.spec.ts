import { expect } from 'chai';
import { copyMasked, copyMaskedWord, maskOctet, maskWord } from '../../lib/ws/mask.js';
import { seededRandom } from '../helpers/splits.js';

/** §5.3 written out byte by byte: the reference every vector is checked against. */
function referenceMask(source: Uint8Array, key: Uint8Array, keyOffset: number): Buffer {
  return Buffer.from(source.map((byte, i) => byte ^ key[(keyOffset + i) % 4]!));
}

describe('ws/mask', () => {
  it('XORs byte i with key byte i MOD 4, from any offsets and for any length (RFC 6455 §5.3)', () => {
    const random = seededRandom(53);
    for (let run = 0; run < 500; run++) {
      const count = Math.floor(random() * 40);
      const source = Buffer.from(Array.from({ length: count + 7 }, () => Math.floor(random() * 256)));
      const key = Buffer.from(Array.from({ length: 4 }, () => Math.floor(random() * 256)));
      const sourceStart = Math.floor(random() * 7);
      const targetStart = Math.floor(random() * 5);
      const keyOffset = Math.floor(random() * 9);
      const target = Buffer.alloc(count + 5, 0xee);
      copyMasked(source, sourceStart, target, targetStart, count, key, keyOffset);

      const expected = Buffer.alloc(count + 5, 0xee);
      for (let i = 0; i < count; i++) expected[targetStart + i] = source[sourceStart + i]! ^ key[(keyOffset + i) % 4]!;
      expect(target.equals(expected), `run ${run}`).to.equal(true);
    }
  });

  it('unmasks the "Hello" of RFC 6455 §5.7', () => {
    const masked = Buffer.from([0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    const out = Buffer.alloc(5);
    copyMasked(masked, 0, out, 0, 5, Buffer.from([0x37, 0xfa, 0x21, 0x3d]), 0);
    expect(out.toString()).to.equal('Hello');
  });

  describe('the key as one word, as the frame parser holds it', () => {
    // Keys whose top bit is set or clear, and the all-zero and all-one keys:
    // the word is a signed int32, so octet 0 ≥ 0x80 makes it negative.
    const words: readonly { key: readonly number[]; word: number }[] = [
      { key: [0x37, 0xfa, 0x21, 0x3d], word: 0x37fa213d }, // RFC 6455 §5.7
      { key: [0x00, 0x00, 0x00, 0x00], word: 0 },
      { key: [0xff, 0xff, 0xff, 0xff], word: -1 },
      { key: [0x80, 0x00, 0x00, 0x01], word: -0x7fffffff },
      { key: [0x01, 0x02, 0x03, 0x04], word: 0x01020304 },
      { key: [0xfe, 0xdc, 0xba, 0x98], word: 0xfedcba98 | 0 },
    ];
    for (const { key, word } of words) {
      const hex = Buffer.from(key).toString('hex');
      it(`reads the key ${hex} in network byte order as the int32 ${word}, and gives its octets back (RFC 6455 §5.2, §5.3)`, () => {
        expect(maskWord(Buffer.from(key))).to.equal(word);
        expect([0, 1, 2, 3].map((j) => maskOctet(word, j))).to.deep.equal(key);
        // j = i MOD 4: octet 4 is octet 0 again.
        expect(maskOctet(word, 4)).to.equal(key[0]);
      });
    }

    it('reads a key in the middle of a buffer', () => {
      expect(maskWord(Buffer.from([0xaa, 0x37, 0xfa, 0x21, 0x3d, 0xbb]), 1)).to.equal(0x37fa213d);
    });

    it('unmasks the "Hello" of RFC 6455 §5.7 with the word 0x37fa213d', () => {
      const out = Buffer.alloc(5);
      copyMaskedWord(Buffer.from([0x7f, 0x9f, 0x4d, 0x51, 0x58]), 0, out, 0, 5, 0x37fa213d, 0);
      expect(out.toString()).to.equal('Hello');
    });

    it('gives the same bytes from every offset into the key and every length (0 to 3 left over after whole turns) (RFC 6455 §5.3)', () => {
      const random = seededRandom(71);
      for (const { key, word } of words) {
        for (let keyOffset = 0; keyOffset < 8; keyOffset++) {
          for (let count = 0; count <= 13; count++) {
            const source = Buffer.from(Array.from({ length: count }, () => Math.floor(random() * 256)));
            const target = Buffer.alloc(count + 2, 0xee);
            copyMaskedWord(source, 0, target, 1, count, word, keyOffset);
            const expected = Buffer.concat([Buffer.from([0xee]), referenceMask(source, Uint8Array.from(key), keyOffset), Buffer.from([0xee])]);
            expect(target.equals(expected), `key ${word}, offset ${keyOffset}, count ${count}`).to.equal(true);
          }
        }
      }
    });

    it('unmasks a payload cut into pieces anywhere as it unmasks it whole, the key turning on across the cuts (RFC 6455 §5.3)', () => {
      const random = seededRandom(89);
      for (let run = 0; run < 300; run++) {
        const key = Buffer.from(Array.from({ length: 4 }, () => Math.floor(random() * 256)));
        const word = maskWord(key);
        const payload = Buffer.from(Array.from({ length: Math.floor(random() * 50) }, () => Math.floor(random() * 256)));
        const pieces = Buffer.alloc(payload.length);
        for (let at = 0; at < payload.length; ) {
          const count = Math.min(payload.length - at, 1 + Math.floor(random() * 7));
          // The offset is the payload index of the piece's first byte, as the parser passes it.
          copyMaskedWord(payload, at, pieces, at, count, word, at);
          at += count;
        }
        expect(pieces.equals(referenceMask(payload, key, 0)), `run ${run}`).to.equal(true);
      }
    });
  });
});
