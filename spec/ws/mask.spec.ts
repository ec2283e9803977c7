import { expect } from 'chai';
import { copyMasked } from '../../lib/ws/mask.js';
import { seededRandom } from '../helpers/splits.js';

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
});
