import { expect } from 'chai';
import fc from 'fast-check';
import { constantTimeEqual } from '../../lib/jwt/constant-time.js';

describe('constantTimeEqual (RFC 7518 §3.2, RFC 7515 §10.9)', () => {
  it('is true for equal bytes, including empty ones', () => {
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).to.equal(true);
    expect(constantTimeEqual(Uint8Array.from([1, 2, 3]), Buffer.from([1, 2, 3]))).to.equal(true);
  });

  it('is false when the lengths differ, even if one is a prefix of the other', () => {
    expect(constantTimeEqual(Uint8Array.from([1, 2, 3]), Uint8Array.from([1, 2]))).to.equal(false);
    expect(constantTimeEqual(new Uint8Array(0), Uint8Array.from([0]))).to.equal(false);
  });

  it('is false when only the first or only the last byte differs', () => {
    const a = new Uint8Array(32).fill(7);
    const first = Uint8Array.from(a);
    first[0] = 8;
    const last = Uint8Array.from(a);
    last[31] = 0x87;
    expect(constantTimeEqual(a, first)).to.equal(false);
    expect(constantTimeEqual(a, last)).to.equal(false);
  });

  it('agrees with Buffer.equals on any pair of byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.boolean(), (a, b, same) => {
        const other = same ? Uint8Array.from(a) : b;
        expect(constantTimeEqual(a, other)).to.equal(Buffer.from(a).equals(Buffer.from(other)));
      }),
      { seed: 9, numRuns: 500 },
    );
  });
});
