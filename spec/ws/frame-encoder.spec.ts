import { expect } from 'chai';
import fc from 'fast-check';
import { OPCODE, RSV1_BIT } from '../../lib/ws/constants.js';
import { encodeClose, encodeFrame, encodeFrameHeader, encodeText, truncateUtf8 } from '../../lib/ws/frame-encoder.js';
import { isValidUtf8 } from '../../lib/ws/utf8-validator.js';
import { RFC_MASK_KEY } from './frame-bytes.js';

const hex = (b: Buffer) => b.toString('hex');

describe('ws/frame-encoder', () => {
  it('writes the unmasked "Hello" of RFC 6455 §5.7', () => {
    expect(hex(encodeFrame(OPCODE.TEXT, Buffer.from('Hello')))).to.equal('810548656c6c6f');
  });

  it('writes the masked "Hello" of RFC 6455 §5.7 with its masking key', () => {
    expect(hex(encodeFrame(OPCODE.TEXT, Buffer.from('Hello'), { mask: RFC_MASK_KEY }))).to.equal('818537fa213d7f9f4d5158');
  });

  it('writes the fragmented "Hel" + "lo" of RFC 6455 §5.7', () => {
    expect(hex(encodeFrame(OPCODE.TEXT, Buffer.from('Hel'), { fin: false }))).to.equal('010348656c');
    expect(hex(encodeFrame(OPCODE.CONTINUATION, Buffer.from('lo')))).to.equal('80026c6f');
  });

  it('writes the ping and masked pong of RFC 6455 §5.7', () => {
    expect(hex(encodeFrame(OPCODE.PING, Buffer.from('Hello')))).to.equal('890548656c6c6f');
    expect(hex(encodeFrame(OPCODE.PONG, Buffer.from('Hello'), { mask: RFC_MASK_KEY }))).to.equal('8a8537fa213d7f9f4d5158');
  });

  it('uses the minimal length form at each boundary: 125, 126, 65535, 65536 (RFC 6455 §5.2)', () => {
    const cases: readonly [number, string][] = [
      [0, '8200'],
      [125, '827d'],
      [126, '827e007e'],
      [65535, '827effff'],
      [65536, '827f0000000000010000'],
      [2 ** 32 + 5, '827f0000000100000005'],
    ];
    for (const [length, header] of cases) {
      expect(hex(encodeFrameHeader(OPCODE.BINARY, length)), `${length}`).to.equal(header);
      if (length <= 65536) expect(hex(encodeFrame(OPCODE.BINARY, Buffer.alloc(length)).subarray(0, header.length / 2))).to.equal(header);
    }
  });

  it('encodeFrameHeader followed by the payload is encodeFrame, for writev', () => {
    for (const length of [0, 5, 200, 70_000]) {
      const payload = Buffer.alloc(length, 0x5a);
      expect(Buffer.concat([encodeFrameHeader(OPCODE.BINARY, length, false), payload]).equals(encodeFrame(OPCODE.BINARY, payload, { fin: false }))).to.equal(true);
    }
  });

  it('encodeText writes one unmasked text frame of the UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 500 }), (text) => {
        expect(encodeText(text).equals(encodeFrame(OPCODE.TEXT, Buffer.from(text, 'utf8')))).to.equal(true);
      }),
      { seed: 17, numRuns: 200, endOnFailure: true },
    );
    expect(encodeText('x'.repeat(70_000)).subarray(0, 10).toString('hex')).to.equal('817f0000000000011170');
  });

  it('sets RSV bits only when asked (RFC 6455 §5.2)', () => {
    expect(encodeFrame(OPCODE.TEXT, Buffer.alloc(0), { rsv: RSV1_BIT })[0]).to.equal(0xc1);
    expect(() => encodeFrame(OPCODE.TEXT, Buffer.alloc(0), { rsv: 0x80 })).to.throw(RangeError);
  });

  it('refuses to build frames a peer would have to reject (RFC 6455 §5.2, §5.5)', () => {
    expect(() => encodeFrame(0x3, Buffer.alloc(0))).to.throw(RangeError);
    expect(() => encodeFrame(OPCODE.PING, Buffer.alloc(126))).to.throw(RangeError);
    expect(() => encodeFrame(OPCODE.PING, Buffer.alloc(1), { fin: false })).to.throw(RangeError);
    expect(() => encodeFrameHeader(OPCODE.CLOSE, 200)).to.throw(RangeError);
    expect(() => encodeFrame(OPCODE.TEXT, Buffer.alloc(1), { mask: Buffer.alloc(3) })).to.throw(RangeError);
  });

  describe('encodeClose', () => {
    it('writes the code in network byte order, then the reason (RFC 6455 §5.5.1)', () => {
      expect(hex(encodeClose(1000))).to.equal('880203e8');
      expect(hex(encodeClose(1001, 'bye'))).to.equal('880503e9627965');
    });

    it('refuses codes that must not be sent: 1005, 1006, 1015, 999, 5000 (RFC 6455 §7.4)', () => {
      for (const code of [1005, 1006, 1015, 999, 5000]) expect(() => encodeClose(code), `${code}`).to.throw(RangeError);
    });

    it('cuts a long reason to fit 125 bytes without splitting a character (RFC 6455 §5.5, §5.5.1)', () => {
      for (const unit of ['a', 'é', '€', '😀']) {
        for (let n = 30; n <= 130; n++) {
          const frame = encodeClose(1000, unit.repeat(n));
          const payloadLength = frame[1]!;
          expect(payloadLength).to.be.at.most(125);
          expect(frame.length).to.equal(2 + payloadLength);
          const reason = frame.subarray(4);
          expect(isValidUtf8(reason)).to.equal(true);
          const full = Buffer.byteLength(unit.repeat(n));
          if (full <= 123) expect(reason.length).to.equal(full);
          else expect(reason.length).to.be.above(123 - Buffer.byteLength(unit));
        }
      }
    });
  });

  it('truncateUtf8 keeps whole characters only', () => {
    expect(truncateUtf8(Buffer.from('a€b'), 3).toString()).to.equal('a');
    expect(truncateUtf8(Buffer.from('a€b'), 4).toString()).to.equal('a€');
    expect(truncateUtf8(Buffer.from('€'), 0).length).to.equal(0);
  });
});
