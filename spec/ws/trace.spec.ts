import { expect } from 'chai';
import { OPCODE } from '../../lib/ws/constants.js';
import { encodeClose, encodeFrame, encodeText } from '../../lib/ws/frame-encoder.js';
import { FrameParser, type FrameHeader } from '../../lib/ws/frame-parser.js';
import { describeAcceptKey, describeFrame, parseFrameHeader } from '../../lib/ws/trace.js';
import { RFC_MASK_KEY } from './frame-bytes.js';

/** The header the parser reports for `frame`, and the payload it delivers. */
function parse(frame: Buffer, requireMask = true): { header: FrameHeader; payload: Buffer } {
  const parser = new FrameParser({ maxMessageBytes: 1 << 20, requireMask, emitFrameHeaders: true });
  const { events, error } = parser.push(frame);
  if (error) throw error;
  const first = events[0];
  if (first?.type !== 'frame') throw new Error('expected a frame event first');
  const message = events[1];
  // A non-final fragment completes no message: no payload to show.
  const payload = message !== undefined && 'data' in message ? message.data : Buffer.alloc(0);
  return { header: first.header, payload };
}

describe('ws/trace', () => {
  describe('describeFrame', () => {
    it('annotates every field of the masked "Hello" of RFC 6455 §5.7', () => {
      const { header, payload } = parse(encodeFrame(OPCODE.TEXT, Buffer.from('Hello'), { mask: RFC_MASK_KEY }));
      expect(describeFrame('in', header, payload, true)).to.equal(
        [
          'in  text frame, FIN, masked, 5-byte payload',
          '  byte 0      0x81  1 000 0001  FIN=1 (final fragment)  RSV1=0 RSV2=0 RSV3=0  opcode=0x1 (text)',
          '  byte 1      0x85  1 0000101   MASK=1 (masked)  payload len=5',
          '  length      5 (7-bit: in byte 1 itself)',
          '  bytes 2-5   37 fa 21 3d  masking key (§5.3)',
          '  payload     "Hello"',
        ].join('\n'),
      );
    });

    it('hides the payload unless asked to show it (secrets never in logs)', () => {
      const { header, payload } = parse(encodeFrame(OPCODE.TEXT, Buffer.from('{"token":"secret"}'), { mask: RFC_MASK_KEY }));
      const trace = describeFrame('in', header, payload);
      expect(trace).to.include('payload     18 bytes (hidden)');
      expect(trace).to.not.include('secret');
    });

    it('shows the 16-bit extended length and its bytes (RFC 6455 §5.2)', () => {
      const { header, payload } = parse(encodeFrame(OPCODE.BINARY, Buffer.alloc(256, 0xab), { mask: RFC_MASK_KEY }));
      const trace = describeFrame('in', header, payload, true);
      expect(trace).to.include('byte 1      0xfe  1 1111110   MASK=1 (masked)  payload len=126: a 16-bit length follows');
      expect(trace).to.include('bytes 2-3   01 00  = 256 (16-bit length)');
      expect(trace).to.include('bytes 4-7   37 fa 21 3d  masking key');
      expect(trace).to.include('payload     ab ab ab');
      expect(trace).to.include('… (256 bytes)');
    });

    it('shows the 64-bit extended length and its bytes (RFC 6455 §5.2)', () => {
      const { header } = parse(encodeFrame(OPCODE.BINARY, Buffer.alloc(65536)), false);
      const trace = describeFrame('out', header);
      expect(trace.split('\n')[0]).to.equal('out binary frame, FIN, unmasked, 65536-byte payload');
      expect(trace).to.include('payload len=127: a 64-bit length follows');
      expect(trace).to.include('bytes 2-9   00 00 00 00 00 01 00 00  = 65536 (64-bit length)');
      expect(trace).to.not.include('masking key');
    });

    it('shows a non-final fragment and a continuation (RFC 6455 §5.4)', () => {
      const first = parse(encodeFrame(OPCODE.TEXT, Buffer.from('Hel'), { fin: false, mask: RFC_MASK_KEY }));
      expect(describeFrame('in', first.header)).to.include('FIN=0 (more fragments follow)');
      const header: FrameHeader = { ...first.header, opcode: OPCODE.CONTINUATION, fin: true };
      expect(describeFrame('in', header)).to.include('opcode=0x0 (continuation)');
    });

    it('always shows a close frame\'s code, name and reason (RFC 6455 §5.5.1)', () => {
      const frame = encodeClose(1001, 'server restart');
      const parsed = parseFrameHeader(frame)!;
      const trace = describeFrame('out', parsed.header, frame.subarray(parsed.headerLength));
      expect(trace).to.include('close       code 1001 (going_away), reason "server restart"');
      const empty = parseFrameHeader(encodeFrame(OPCODE.CLOSE, Buffer.alloc(0)))!;
      expect(describeFrame('in', empty.header, Buffer.alloc(0))).to.include('no status code (reported as 1005, §7.1.5)');
      expect(describeFrame('in', empty.header, Buffer.from([1]))).to.include('malformed');
    });
  });

  describe('parseFrameHeader', () => {
    it('reads back the header of every frame the encoder writes', () => {
      for (const [frame, length, encoding, headerLength] of [
        [encodeText('hi'), 2, '7-bit', 2],
        [encodeFrame(OPCODE.BINARY, Buffer.alloc(300)), 300, '16-bit', 4],
        [encodeFrame(OPCODE.BINARY, Buffer.alloc(70_000)), 70_000, '64-bit', 10],
        [encodeFrame(OPCODE.PING, Buffer.alloc(3), { mask: RFC_MASK_KEY }), 3, '7-bit', 6],
      ] as const) {
        const parsed = parseFrameHeader(frame)!;
        expect(parsed.headerLength).to.equal(headerLength);
        expect(parsed.header.payloadLength).to.equal(length);
        expect(parsed.header.lengthEncoding).to.equal(encoding);
        expect(parsed.header.fin).to.equal(true);
        expect(parsed.header.masked).to.equal(headerLength === 6);
      }
    });

    it('answers null while the header is incomplete', () => {
      const frame = encodeFrame(OPCODE.BINARY, Buffer.alloc(70_000));
      for (let n = 0; n < 10; n++) expect(parseFrameHeader(frame.subarray(0, n))).to.equal(null);
      expect(parseFrameHeader(frame.subarray(0, 10))).to.not.equal(null);
    });
  });

  it('describeAcceptKey shows the steps of RFC 6455 §4.2.2 for §1.3\'s example', () => {
    expect(describeAcceptKey('dGhlIHNhbXBsZSBub25jZQ==')).to.equal(
      [
        'Sec-WebSocket-Accept, step by step (RFC 6455 §4.2.2, §1.3):',
        "  1. the client's Sec-WebSocket-Key   dGhlIHNhbXBsZSBub25jZQ==",
        '  2. append the GUID                  dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11',
        '  3. SHA-1 of those bytes (hex)       b37a4f2cc0624f1690f64606cf385945b2bec4ea',
        '  4. base64 of the 20 hash bytes      s3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
      ].join('\n'),
    );
  });
});
