import { expect } from 'chai';
import fc from 'fast-check';
import { CLOSE, OPCODE } from '../../lib/ws/constants.js';
import { encodeClose, encodeFrame } from '../../lib/ws/frame-encoder.js';
import { FrameParser, type WsEvent } from '../../lib/ws/frame-parser.js';
import { WsProtocolError } from '../../lib/ws/ws-error.js';
import { ALL_SPLITS, describeSplit, seededRandom, type SplitMode } from '../helpers/splits.js';
import { feed, plain, rawFrame, RFC_MASK_KEY } from './frame-bytes.js';

const hello = Buffer.from('Hello');
const text = (s: string): WsEvent => ({ type: 'text', data: Buffer.from(s) });
const binary = (b: Buffer): WsEvent => ({ type: 'binary', data: b });

function bytesOf(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 3) & 0xff;
  return out;
}

/** Run `check` under every split mode, naming the mode on failure. */
function everySplit(check: (mode: SplitMode) => void): void {
  for (const mode of ALL_SPLITS) {
    try {
      check(mode);
    } catch (error) {
      if (error instanceof Error) error.message = `[${describeSplit(mode)}] ${error.message}`;
      throw error;
    }
  }
}

describe('ws/frame-parser', () => {
  describe('the examples of RFC 6455 §5.7, in every split mode', () => {
    const vectors: readonly {
      name: string;
      bytes: Buffer;
      requireMask: boolean;
      events: WsEvent[];
    }[] = [
      {
        name: 'a single-frame unmasked text message "Hello"',
        bytes: Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
        requireMask: false,
        events: [text('Hello')],
      },
      {
        name: 'a single-frame masked text message "Hello"',
        bytes: Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
        requireMask: true,
        events: [text('Hello')],
      },
      {
        name: 'a fragmented unmasked text message "Hel" + "lo"',
        bytes: Buffer.from([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]),
        requireMask: false,
        events: [text('Hello')],
      },
      {
        name: 'a fragmented masked text message "Hel" + "lo"',
        bytes: Buffer.concat([
          rawFrame({ opcode: OPCODE.TEXT, fin: false, payload: Buffer.from('Hel') }),
          rawFrame({ opcode: OPCODE.CONTINUATION, payload: Buffer.from('lo'), maskKey: Buffer.from([1, 2, 3, 4]) }),
        ]),
        requireMask: true,
        events: [text('Hello')],
      },
      {
        name: 'an unmasked Ping with body "Hello"',
        bytes: Buffer.from([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
        requireMask: false,
        events: [{ type: 'ping', data: hello }],
      },
      {
        name: 'a masked Pong with body "Hello"',
        bytes: Buffer.from([0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
        requireMask: true,
        events: [{ type: 'pong', data: hello }],
      },
      {
        name: 'a 256-byte unmasked binary message (16-bit length 0x7E 0x0100)',
        bytes: Buffer.concat([Buffer.from([0x82, 0x7e, 0x01, 0x00]), bytesOf(256)]),
        requireMask: false,
        events: [binary(bytesOf(256))],
      },
      {
        name: 'a 64 KiB unmasked binary message (64-bit length 0x7F 0x0000000000010000)',
        bytes: Buffer.concat([Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]), bytesOf(65536)]),
        requireMask: false,
        events: [binary(bytesOf(65536))],
      },
      {
        name: 'a 256-byte masked binary message',
        bytes: rawFrame({ opcode: OPCODE.BINARY, payload: bytesOf(256) }),
        requireMask: true,
        events: [binary(bytesOf(256))],
      },
      {
        name: 'a 64 KiB masked binary message',
        bytes: rawFrame({ opcode: OPCODE.BINARY, payload: bytesOf(65536) }),
        requireMask: true,
        events: [binary(bytesOf(65536))],
      },
    ];

    for (const vector of vectors) {
      it(`parses ${vector.name} the same way however it is split`, () => {
        everySplit((mode) => {
          const { events, error, parser } = feed(vector.bytes, mode, { requireMask: vector.requireMask });
          expect(error).to.equal(null);
          expect(plain(events)).to.deep.equal(plain(vector.events));
          expect(parser.state).to.equal('frame-head');
          expect(parser.messageInProgress).to.equal(false);
        });
      });
    }

    it('leaves trailing bytes of the next frame pending, and completes it when the rest arrives (RFC 6455 §5.2)', () => {
      const first = vectors[1]!.bytes;
      const next = rawFrame({ opcode: OPCODE.TEXT, payload: Buffer.from('again'), maskKey: Buffer.from([9, 8, 7, 6]) });
      for (const cut of [1, 2, 4, 6, next.length - 1]) {
        everySplit((mode) => {
          const { events, error, parser } = feed(Buffer.concat([first, next.subarray(0, cut)]), mode);
          expect(error).to.equal(null);
          expect(plain(events)).to.deep.equal(plain([text('Hello')]));
          expect(parser.state).to.equal(cut < 2 ? 'frame-head' : cut < 6 ? 'mask-key' : 'payload');
          const rest = parser.push(next.subarray(cut));
          expect(plain(rest.events)).to.deep.equal(plain([text('again')]));
        });
      }
    });

    it('reports each frame header, with its length encoding and masking key, when asked (for the trace)', () => {
      const bytes = Buffer.concat(vectors.filter((v) => v.requireMask).map((v) => v.bytes));
      everySplit((mode) => {
        const { events, error } = feed(bytes, mode, { emitFrameHeaders: true });
        expect(error).to.equal(null);
        const headers = events.flatMap((e) => (e.type === 'frame' ? [e.header] : []));
        expect(headers.map((h) => [h.opcode, h.fin, h.payloadLength, h.lengthEncoding])).to.deep.equal([
          [OPCODE.TEXT, true, 5, '7-bit'],
          [OPCODE.TEXT, false, 3, '7-bit'],
          [OPCODE.CONTINUATION, true, 2, '7-bit'],
          [OPCODE.PONG, true, 5, '7-bit'],
          [OPCODE.BINARY, true, 256, '16-bit'],
          [OPCODE.BINARY, true, 65536, '64-bit'],
        ]);
        expect(headers[0]!.maskKey!.equals(RFC_MASK_KEY)).to.equal(true);
        expect(headers.every((h) => h.masked && !h.rsv1 && !h.rsv2 && !h.rsv3)).to.equal(true);
        // Each header comes just before the message it starts or ends.
        expect(events.map((e) => e.type)).to.deep.equal(['frame', 'text', 'frame', 'frame', 'text', 'frame', 'pong', 'frame', 'binary', 'frame', 'binary']);
      });
    });

    it('reads extended lengths and masking keys with their high bits set, in network byte order, however they are split (RFC 6455 §5.2)', () => {
      // The parser gathers these fields into 32-bit words as their bytes
      // arrive: each row sets the top bit of some byte of the field.
      const key = Buffer.from([0xff, 0x80, 0x01, 0xfe]);
      const rows: readonly { length: bigint; encoding: '16-bit' | '64-bit' }[] = [
        { length: 0x8000n, encoding: '16-bit' },
        { length: 0xffffn, encoding: '16-bit' },
        { length: 0x1_0000n, encoding: '64-bit' },
        { length: 0x8000_0000n, encoding: '64-bit' },
        { length: 0xffff_ffffn, encoding: '64-bit' },
        { length: 0x1_0000_0000n, encoding: '64-bit' },
        { length: 0x80_8080_8080n, encoding: '64-bit' },
        { length: BigInt(Number.MAX_SAFE_INTEGER), encoding: '64-bit' },
      ];
      for (const row of rows) {
        const header = rawFrame({ opcode: OPCODE.BINARY, length: Number(row.length), lengthEncoding: row.encoding, length64: row.encoding === '64-bit' ? row.length : undefined, maskKey: key });
        everySplit((mode) => {
          const { events, error, parser } = feed(header, mode, { maxMessageBytes: Number.MAX_SAFE_INTEGER, emitFrameHeaders: true });
          expect(error).to.equal(null);
          expect(parser.state).to.equal('payload');
          const frame = events[0]?.type === 'frame' ? events[0].header : null;
          expect(frame?.payloadLength, `length 0x${row.length.toString(16)}`).to.equal(Number(row.length));
          expect(frame?.lengthEncoding).to.equal(row.encoding);
          expect(frame?.maskKey?.equals(key)).to.equal(true);
        });
      }
    });

    it('emits no frame events unless asked', () => {
      const { events } = feed(vectors[1]!.bytes, 'whole');
      expect(events.map((e) => e.type)).to.deep.equal(['text']);
    });
  });

  describe('messages and control frames', () => {
    it('delivers control frames that arrive between the fragments of a message, before the message (RFC 6455 §5.4)', () => {
      const bytes = Buffer.concat([
        rawFrame({ opcode: OPCODE.TEXT, fin: false, payload: Buffer.from('fragment one, ') }),
        rawFrame({ opcode: OPCODE.PING, payload: Buffer.from('p1') }),
        rawFrame({ opcode: OPCODE.CONTINUATION, fin: false, payload: Buffer.from('two, ') }),
        rawFrame({ opcode: OPCODE.PONG, payload: Buffer.alloc(0) }),
        rawFrame({ opcode: OPCODE.CONTINUATION, fin: true, payload: Buffer.from('three') }),
      ]);
      everySplit((mode) => {
        const { events, error } = feed(bytes, mode);
        expect(error).to.equal(null);
        expect(plain(events)).to.deep.equal(
          plain([
            { type: 'ping', data: Buffer.from('p1') },
            { type: 'pong', data: Buffer.alloc(0) },
            text('fragment one, two, three'),
          ]),
        );
      });
    });

    it('reports a message in progress from its first frame until its FIN frame (RFC 6455 §5.4)', () => {
      const parser = new FrameParser({ maxMessageBytes: 100, requireMask: true });
      parser.push(rawFrame({ opcode: OPCODE.BINARY, fin: false, payload: Buffer.from([1]) }));
      expect(parser.messageInProgress).to.equal(true);
      parser.push(rawFrame({ opcode: OPCODE.PING }));
      expect(parser.messageInProgress).to.equal(true);
      const last = parser.push(rawFrame({ opcode: OPCODE.CONTINUATION, payload: Buffer.from([2]) }));
      expect(parser.messageInProgress).to.equal(false);
      expect(plain(last.events)).to.deep.equal(plain([binary(Buffer.from([1, 2]))]));
    });

    it('delivers empty text and binary messages, also fragmented into empty frames', () => {
      const bytes = Buffer.concat([
        rawFrame({ opcode: OPCODE.TEXT }),
        rawFrame({ opcode: OPCODE.BINARY, fin: false }),
        rawFrame({ opcode: OPCODE.CONTINUATION, fin: false }),
        rawFrame({ opcode: OPCODE.CONTINUATION }),
      ]);
      everySplit((mode) => {
        const { events, error } = feed(bytes, mode);
        expect(error).to.equal(null);
        expect(plain(events)).to.deep.equal(plain([text(''), binary(Buffer.alloc(0))]));
      });
    });

    it('reads a Close frame\'s code and reason, and ignores every byte after it (RFC 6455 §5.5.1)', () => {
      const bytes = Buffer.concat([
        rawFrame({ opcode: OPCODE.CLOSE, payload: Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye ✓')]) }),
        rawFrame({ opcode: OPCODE.TEXT, payload: Buffer.from('late') }),
        Buffer.from([0xff, 0xff, 0xff]),
      ]);
      everySplit((mode) => {
        const { events, error, parser } = feed(bytes, mode);
        expect(error).to.equal(null);
        expect(events).to.deep.equal([{ type: 'close', code: 1000, reason: 'bye ✓' }]);
        expect(parser.state).to.equal('closed');
        expect(parser.push(Buffer.from([0x00, 0x01])).events).to.deep.equal([]);
      });
    });

    it('reads an empty Close frame as "no status code" (RFC 6455 §7.1.5)', () => {
      everySplit((mode) => {
        const { events } = feed(rawFrame({ opcode: OPCODE.CLOSE }), mode);
        expect(events).to.deep.equal([{ type: 'close', code: null, reason: '' }]);
      });
    });

    it('accepts a message of exactly maxMessageBytes, whole or in fragments (RFC 6455 §10.4)', () => {
      const whole = rawFrame({ opcode: OPCODE.BINARY, payload: bytesOf(1000) });
      const fragmented = Buffer.concat([
        rawFrame({ opcode: OPCODE.BINARY, fin: false, payload: bytesOf(1000).subarray(0, 600) }),
        rawFrame({ opcode: OPCODE.PING, payload: Buffer.alloc(125) }),
        rawFrame({ opcode: OPCODE.CONTINUATION, payload: bytesOf(1000).subarray(600) }),
      ]);
      everySplit((mode) => {
        for (const bytes of [whole, fragmented]) {
          const { events, error } = feed(bytes, mode, { maxMessageBytes: 1000 });
          expect(error).to.equal(null);
          expect(plain(events.filter((e) => e.type === 'binary'))).to.deep.equal(plain([binary(bytesOf(1000))]));
        }
      });
    });

    it('counts each empty fragment before the last as one byte of the message limit; the empty last one is free (RFC 6455 §5.4, §10.4)', () => {
      const empty = (opcode: number, fin: boolean) => rawFrame({ opcode, fin });
      // Autobahn 6.1.2's shape: a text message of three empty fragments.
      const three = Buffer.concat([empty(OPCODE.TEXT, false), empty(OPCODE.CONTINUATION, false), empty(OPCODE.CONTINUATION, true)]);
      // At a limit of 10: ten empty fragments then the empty last one fit; eleven do not.
      const emptyRun = (n: number) => Buffer.concat([empty(OPCODE.BINARY, false), ...Array.from({ length: n - 1 }, () => empty(OPCODE.CONTINUATION, false)), empty(OPCODE.CONTINUATION, true)]);
      // Five bytes, five empty fragments and one more byte: 11 > 10.
      const mixed = Buffer.concat([
        rawFrame({ opcode: OPCODE.TEXT, fin: false, payload: Buffer.from('abcde') }),
        ...Array.from({ length: 5 }, () => empty(OPCODE.CONTINUATION, false)),
        rawFrame({ opcode: OPCODE.CONTINUATION, payload: Buffer.from('x') }),
      ]);
      everySplit((mode) => {
        const ok3 = feed(three, mode, { maxMessageBytes: 10 });
        expect(ok3.error).to.equal(null);
        expect(plain(ok3.events)).to.deep.equal(plain([text('')]));
        const ok10 = feed(emptyRun(10), mode, { maxMessageBytes: 10 });
        expect(ok10.error).to.equal(null);
        expect(plain(ok10.events)).to.deep.equal(plain([binary(Buffer.alloc(0))]));
        const over = feed(emptyRun(11), mode, { maxMessageBytes: 10 });
        expect(over.error?.closeCode).to.equal(1009);
        expect(over.error?.message).to.match(/10 empty fragments counts? as one/);
        expect(over.events).to.deep.equal([]);
        expect(feed(mixed, mode, { maxMessageBytes: 10 }).error?.closeCode).to.equal(1009);
        expect(feed(mixed, mode, { maxMessageBytes: 11 }).error).to.equal(null);
      });
    });

    it('accepts every close code an endpoint may send (RFC 6455 §7.4, Autobahn 7.7.x)', () => {
      for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4001, 4008, 4999]) {
        const { events, error } = feed(rawFrame({ opcode: OPCODE.CLOSE, payload: Buffer.from([code >> 8, code & 0xff]) }), 'bytewise');
        expect(error, `code ${code}`).to.equal(null);
        expect(events).to.deep.equal([{ type: 'close', code, reason: '' }]);
      }
    });

    it('parses server frames (unmasked) with requireMask false, as a test client does (RFC 6455 §5.1)', () => {
      const bytes = Buffer.concat([encodeFrame(OPCODE.BINARY, bytesOf(300)), encodeClose(CLOSE.GOING_AWAY, 'drain')]);
      everySplit((mode) => {
        const { events, error } = feed(bytes, mode, { requireMask: false });
        expect(error).to.equal(null);
        expect(plain(events)).to.deep.equal(plain([binary(bytesOf(300)), { type: 'close', code: 1001, reason: 'drain' }]));
      });
    });

    it('never modifies the chunk it is given', () => {
      const bytes = rawFrame({ opcode: OPCODE.TEXT, payload: Buffer.from('unchanged input') });
      const copy = Buffer.from(bytes);
      new FrameParser({ maxMessageBytes: 100, requireMask: true }).push(bytes);
      expect(bytes.equals(copy)).to.equal(true);
    });

    it('delivers messages that do not share memory with each other or with the input', () => {
      const chunk = Buffer.concat([
        rawFrame({ opcode: OPCODE.BINARY, payload: Buffer.from([1, 2, 3]), masked: false }),
        rawFrame({ opcode: OPCODE.BINARY, payload: Buffer.from([4, 5, 6]), masked: false }),
      ]);
      const { events } = feed(chunk, 'whole', { requireMask: false });
      chunk.fill(0);
      expect(plain(events)).to.deep.equal(plain([binary(Buffer.from([1, 2, 3])), binary(Buffer.from([4, 5, 6]))]));
    });

    it('reassembles a large masked text message split across many chunks and frames', () => {
      const message = '€ and ✓ and 😀 '.repeat(20_000); // multi-byte characters land on every chunk boundary
      const payload = Buffer.from(message);
      const third = Math.floor(payload.length / 3);
      const bytes = Buffer.concat([
        rawFrame({ opcode: OPCODE.TEXT, fin: false, payload: payload.subarray(0, third) }),
        rawFrame({ opcode: OPCODE.CONTINUATION, fin: false, payload: payload.subarray(third, 2 * third) }),
        rawFrame({ opcode: OPCODE.CONTINUATION, payload: payload.subarray(2 * third) }),
      ]);
      for (const mode of ['whole', { seed: 7 }, { seed: 8 }] as const) {
        const { events, error } = feed(bytes, mode, { maxMessageBytes: payload.length });
        expect(error).to.equal(null);
        expect(events.length).to.equal(1);
        expect(events[0]!.type).to.equal('text');
        expect((events[0] as { data: Buffer }).data.toString()).to.equal(message);
      }
    });
  });

  describe('failures: each rule, its close code, in every split mode', () => {
    const ping = rawFrame({ opcode: OPCODE.PING, payload: Buffer.from('before') });
    const openText = rawFrame({ opcode: OPCODE.TEXT, fin: false, payload: Buffer.from('open') });
    const openBinary = rawFrame({ opcode: OPCODE.BINARY, fin: false, payload: Buffer.from([1]) });
    const closeWith = (code: number, reason: Buffer = Buffer.alloc(0)) =>
      rawFrame({ opcode: OPCODE.CLOSE, payload: Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]) });

    const rows: readonly { rule: string; code: number; bytes: Buffer; requireMask?: boolean; maxMessageBytes?: number }[] = [
      ...[0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => ({
        rule: `the reserved opcode 0x${opcode.toString(16)} arrives (RFC 6455 §5.2)`,
        code: 1002,
        bytes: rawFrame({ opcode }),
      })),
      ...([['RSV1', 0x40], ['RSV2', 0x20], ['RSV3', 0x10]] as const).map(([name, bit]) => ({
        rule: `${name} is set with no extension negotiated (RFC 6455 §5.2)`,
        code: 1002,
        bytes: rawFrame({ opcode: OPCODE.TEXT, rsv: bit, payload: hello }),
      })),
      { rule: 'RSV bits are set on a control frame (RFC 6455 §5.2)', code: 1002, bytes: rawFrame({ opcode: OPCODE.PING, rsv: 0x70 }) },
      { rule: 'a client frame is not masked (RFC 6455 §5.1)', code: 1002, bytes: rawFrame({ opcode: OPCODE.TEXT, payload: hello, masked: false }) },
      { rule: 'a client control frame is not masked (RFC 6455 §5.1)', code: 1002, bytes: rawFrame({ opcode: OPCODE.PING, masked: false }) },
      { rule: 'a server frame is masked, in a client (RFC 6455 §5.1)', code: 1002, bytes: rawFrame({ opcode: OPCODE.TEXT, payload: hello }), requireMask: false },
      { rule: 'a ping has a 126-byte payload (RFC 6455 §5.5)', code: 1002, bytes: rawFrame({ opcode: OPCODE.PING, payload: Buffer.alloc(126) }) },
      { rule: 'a pong announces a 64-bit length (RFC 6455 §5.5)', code: 1002, bytes: rawFrame({ opcode: OPCODE.PONG, length: 70000, lengthEncoding: '64-bit' }) },
      { rule: 'a close frame has a 126-byte payload (RFC 6455 §5.5)', code: 1002, bytes: closeWith(1000, Buffer.alloc(124, 0x61)) },
      { rule: 'a control frame is fragmented: ping with FIN=0 (RFC 6455 §5.5)', code: 1002, bytes: rawFrame({ opcode: OPCODE.PING, fin: false, payload: hello }) },
      { rule: 'a control frame is fragmented: pong with FIN=0 (RFC 6455 §5.5)', code: 1002, bytes: rawFrame({ opcode: OPCODE.PONG, fin: false }) },
      { rule: 'a control frame is fragmented: close with FIN=0 (RFC 6455 §5.5)', code: 1002, bytes: rawFrame({ opcode: OPCODE.CLOSE, fin: false, payload: Buffer.from([3, 232]) }) },
      { rule: 'a 16-bit length is below 126, not minimal (RFC 6455 §5.2)', code: 1002, bytes: rawFrame({ opcode: OPCODE.BINARY, payload: Buffer.alloc(125), lengthEncoding: '16-bit' }) },
      { rule: 'a 16-bit length is 0, not minimal (RFC 6455 §5.2)', code: 1002, bytes: rawFrame({ opcode: OPCODE.BINARY, lengthEncoding: '16-bit' }) },
      { rule: 'a 64-bit length is below 65536, not minimal (RFC 6455 §5.2)', code: 1002, bytes: rawFrame({ opcode: OPCODE.BINARY, payload: Buffer.alloc(65535), lengthEncoding: '64-bit' }) },
      { rule: 'a 64-bit length is 126, not minimal (RFC 6455 §5.2)', code: 1002, bytes: rawFrame({ opcode: OPCODE.BINARY, payload: Buffer.alloc(126), lengthEncoding: '64-bit' }) },
      { rule: 'a 64-bit length has its most significant bit set (RFC 6455 §5.2)', code: 1002, bytes: rawFrame({ opcode: OPCODE.BINARY, length64: 0x8000_0000_0001_0000n }) },
      { rule: 'a continuation frame arrives with no message open (RFC 6455 §5.4)', code: 1002, bytes: rawFrame({ opcode: OPCODE.CONTINUATION, payload: hello }) },
      { rule: 'a final continuation frame arrives after the message ended (RFC 6455 §5.4)', code: 1002, bytes: Buffer.concat([rawFrame({ opcode: OPCODE.TEXT, payload: hello }), rawFrame({ opcode: OPCODE.CONTINUATION })]) },
      { rule: 'a new text frame arrives while a text message is open (RFC 6455 §5.4)', code: 1002, bytes: Buffer.concat([openText, rawFrame({ opcode: OPCODE.TEXT, payload: hello })]) },
      { rule: 'a new binary frame arrives while a text message is open (RFC 6455 §5.4)', code: 1002, bytes: Buffer.concat([openText, ping, rawFrame({ opcode: OPCODE.BINARY })]) },
      { rule: 'a new text frame arrives while a binary message is open (RFC 6455 §5.4)', code: 1002, bytes: Buffer.concat([openBinary, rawFrame({ opcode: OPCODE.TEXT, fin: false })]) },
      { rule: 'a single frame is larger than maxMessageBytes (RFC 6455 §10.4)', code: 1009, bytes: rawFrame({ opcode: OPCODE.BINARY, payload: Buffer.alloc(101) }), maxMessageBytes: 100 },
      { rule: 'the fragments of a message add up to more than maxMessageBytes (RFC 6455 §10.4)', code: 1009, bytes: Buffer.concat([rawFrame({ opcode: OPCODE.TEXT, fin: false, payload: Buffer.alloc(60, 0x61) }), ping, rawFrame({ opcode: OPCODE.CONTINUATION, payload: Buffer.alloc(41, 0x61) })]), maxMessageBytes: 100 },
      { rule: 'a 64-bit length is far beyond any limit (RFC 6455 §10.4)', code: 1009, bytes: rawFrame({ opcode: OPCODE.BINARY, length64: 0x7fff_ffff_ffff_ffffn }) },
      { rule: 'a text message is not valid UTF-8 (RFC 6455 §8.1)', code: 1007, bytes: rawFrame({ opcode: OPCODE.TEXT, payload: Buffer.from([0x48, 0xc0, 0xaf]) }) },
      { rule: 'a text message holds an encoded surrogate (RFC 6455 §8.1, RFC 3629 §3)', code: 1007, bytes: rawFrame({ opcode: OPCODE.TEXT, payload: Buffer.from([0xed, 0xa0, 0x80]) }) },
      { rule: 'a text message ends inside a UTF-8 sequence (RFC 6455 §8.1)', code: 1007, bytes: rawFrame({ opcode: OPCODE.TEXT, payload: Buffer.from([0x61, 0xe2, 0x82]) }) },
      { rule: 'invalid UTF-8 spans two fragments of a text message (RFC 6455 §8.1)', code: 1007, bytes: Buffer.concat([rawFrame({ opcode: OPCODE.TEXT, fin: false, payload: Buffer.from([0x61, 0xf4]) }), rawFrame({ opcode: OPCODE.CONTINUATION, payload: Buffer.from([0x90, 0x80, 0x80]) })]) },
      { rule: 'a fragmented text message ends inside a UTF-8 sequence (RFC 6455 §8.1)', code: 1007, bytes: Buffer.concat([rawFrame({ opcode: OPCODE.TEXT, fin: false, payload: Buffer.from('ok') }), rawFrame({ opcode: OPCODE.CONTINUATION, payload: Buffer.from([0xf0, 0x9f, 0x98]) })]) },
      { rule: 'a close frame has a 1-byte payload (RFC 6455 §5.5.1)', code: 1002, bytes: rawFrame({ opcode: OPCODE.CLOSE, payload: Buffer.from([0x03]) }) },
      ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((code) => ({
        rule: `a close frame carries the code ${code}, which must not be sent (RFC 6455 §7.4)`,
        code: 1002,
        bytes: closeWith(code),
      })),
      { rule: 'a close reason is not valid UTF-8 (RFC 6455 §5.5.1, §8.1)', code: 1007, bytes: closeWith(1000, Buffer.from([0xce, 0xba, 0xed, 0xa0, 0x80])) },
      { rule: 'a close frame between fragments carries 1005 (RFC 6455 §5.4, §7.4.1)', code: 1002, bytes: Buffer.concat([openText, closeWith(1005)]) },
    ];

    for (const row of rows) {
      it(`fails with ${row.code} when ${row.rule}`, () => {
        let first: unknown[] | undefined;
        everySplit((mode) => {
          const options = { requireMask: row.requireMask ?? true, maxMessageBytes: row.maxMessageBytes ?? 1 << 20 };
          const { events, error, parser } = feed(row.bytes, mode, options);
          expect(error).to.be.instanceOf(WsProtocolError);
          expect(error!.closeCode).to.equal(row.code);
          expect(parser.state).to.equal('failed');
          // The events before the failure are the same however the input was cut.
          first ??= plain(events);
          expect(plain(events)).to.deep.equal(first);
          // Failure is sticky.
          const again = parser.push(rawFrame({ opcode: OPCODE.PING }));
          expect(again.error).to.equal(error);
          expect(again.events).to.deep.equal([]);
        });
      });
    }

    it('delivers the events completed before a failure in the same chunk', () => {
      const bytes = Buffer.concat([ping, rawFrame({ opcode: OPCODE.TEXT, payload: hello }), rawFrame({ opcode: 0x3 })]);
      const parser = new FrameParser({ maxMessageBytes: 100, requireMask: true });
      const result = parser.push(bytes);
      expect(result.error!.closeCode).to.equal(1002);
      expect(plain(result.events)).to.deep.equal(plain([{ type: 'ping', data: Buffer.from('before') }, text('Hello')]));
    });
  });

  describe('failing at the first byte that proves the rule broken', () => {
    it('fails with 1009 from the header alone, before any payload is sent (RFC 6455 §10.4)', () => {
      for (const [length, encoding] of [[101, '7-bit'], [70_000, '64-bit'], [1001, '16-bit']] as const) {
        const max = length - 1;
        const header = rawFrame({ opcode: OPCODE.BINARY, length, lengthEncoding: encoding });
        const withoutMaskKey = header.subarray(0, header.length - 4);
        everySplit((mode) => {
          const { error } = feed(withoutMaskKey, mode, { maxMessageBytes: max });
          expect(error?.closeCode).to.equal(1009);
        });
      }
    });

    it('accepts the header of a message of exactly maxMessageBytes and waits for its payload (RFC 6455 §10.4)', () => {
      const header = rawFrame({ opcode: OPCODE.BINARY, length: 1000 });
      const { error, parser } = feed(header, 'bytewise', { maxMessageBytes: 1000 });
      expect(error).to.equal(null);
      expect(parser.state).to.equal('payload');
    });

    it('fails with 1009 from the header of a continuation frame that would push the message over the limit (RFC 6455 §10.4)', () => {
      const first = rawFrame({ opcode: OPCODE.BINARY, fin: false, payload: Buffer.alloc(80) });
      const secondHeader = rawFrame({ opcode: OPCODE.CONTINUATION, length: 21 });
      const { error } = feed(Buffer.concat([first, secondHeader.subarray(0, 2)]), 'whole', { maxMessageBytes: 100 });
      expect(error?.closeCode).to.equal(1009);
    });

    it('fails with 1002 on the first byte alone when RSV or the opcode is wrong (RFC 6455 §5.2)', () => {
      for (const byte0 of [0xc1, 0x83, 0x09, 0x00]) {
        const result = new FrameParser({ maxMessageBytes: 100, requireMask: true }).push(Buffer.from([byte0]));
        expect(result.error?.closeCode, `byte 0x${byte0.toString(16)}`).to.equal(1002);
      }
    });

    it('fails with 1007 inside a frame whose payload has not all arrived, as soon as the UTF-8 is invalid (RFC 6455 §8.1, Autobahn 6.4.x)', () => {
      const payload = Buffer.concat([Buffer.from('κόσμε'), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from('edited'.repeat(100))]);
      const frame = rawFrame({ opcode: OPCODE.TEXT, payload });
      const headerLength = frame.length - payload.length;
      // Cut right after 0xf4 0x90: that byte already proves a code point above U+10FFFF.
      const proof = headerLength + Buffer.byteLength('κόσμε') + 2;
      everySplit((mode) => {
        expect(feed(frame.subarray(0, proof - 1), mode).error).to.equal(null);
        expect(feed(frame.subarray(0, proof), mode).error?.closeCode).to.equal(1007);
      });
    });

    it('fails with 1007 in the fragment that holds the invalid byte, before the message ends (RFC 6455 §8.1)', () => {
      const bytes = Buffer.concat([
        rawFrame({ opcode: OPCODE.TEXT, fin: false, payload: Buffer.from('valid') }),
        rawFrame({ opcode: OPCODE.CONTINUATION, fin: false, payload: Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80]) }),
      ]);
      everySplit((mode) => expect(feed(bytes, mode).error?.closeCode).to.equal(1007));
    });
  });

  describe('round trip: parse(encode(x)) = x', () => {
    const dataOpcode = fc.constantFrom(OPCODE.TEXT, OPCODE.BINARY);
    const controlOpcode = fc.constantFrom(OPCODE.PING, OPCODE.PONG);
    const maskKey = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Buffer.from(b));
    const message = fc.record({
      kind: fc.constant('message' as const),
      opcode: dataOpcode,
      text: fc.string({ unit: 'grapheme', maxLength: 300 }),
      // Mostly small payloads; now and then one across the 16-bit/64-bit length boundary.
      bytes: fc.oneof(
        { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 8 },
        { arbitrary: fc.uint8Array({ minLength: 65530, maxLength: 65540 }), weight: 1 },
      ),
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
      controls: fc.array(fc.tuple(controlOpcode, fc.uint8Array({ maxLength: 125 })), { maxLength: 3 }),
    });

    it('gives back every message, fragmented at random with control frames in between, masked with random keys, however the bytes are split (RFC 6455 §5.2–§5.4)', () => {
      fc.assert(
        fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), maskKey, fc.integer(), (messages, key, seed) => {
          const frames: Buffer[] = [];
          const expected: WsEvent[] = [];
          for (const m of messages) {
            const payload = m.opcode === OPCODE.TEXT ? Buffer.from(m.text) : Buffer.from(m.bytes);
            const cuts = [...new Set(m.cuts.map((c) => (payload.length === 0 ? 0 : c % payload.length)))].sort((a, b) => a - b);
            const bounds = [0, ...cuts.filter((c) => c > 0), payload.length];
            const controlEvents: WsEvent[] = [];
            for (let i = 0; i + 1 < bounds.length; i++) {
              const fin = i + 2 === bounds.length;
              const opcode = i === 0 ? m.opcode : OPCODE.CONTINUATION;
              frames.push(encodeFrame(opcode, payload.subarray(bounds[i], bounds[i + 1]), { fin, mask: key }));
              const control = m.controls[i];
              if (!fin && control) {
                frames.push(encodeFrame(control[0], Buffer.from(control[1]), { mask: key }));
                controlEvents.push({ type: control[0] === OPCODE.PING ? 'ping' : 'pong', data: Buffer.from(control[1]) });
              }
            }
            expected.push(...controlEvents, { type: m.opcode === OPCODE.TEXT ? 'text' : 'binary', data: payload });
          }
          const { events, error } = feed(Buffer.concat(frames), { seed }, { maxMessageBytes: 80_000 });
          expect(error).to.equal(null);
          expect(plain(events)).to.deep.equal(plain(expected));
        }),
        { seed: 6455, numRuns: 150, endOnFailure: true },
      );
    });

    it('gives back every close code and reason encodeClose writes (RFC 6455 §5.5.1)', () => {
      const allowedCode = fc.oneof(fc.integer({ min: 1000, max: 1003 }), fc.integer({ min: 1007, max: 1014 }), fc.integer({ min: 3000, max: 4999 }));
      fc.assert(
        fc.property(allowedCode, fc.string({ unit: 'grapheme', maxLength: 60 }), (code, reason) => {
          const frame = encodeClose(code, reason);
          const { events, error } = feed(frame, 'bytewise', { requireMask: false });
          expect(error).to.equal(null);
          const close = events[0] as { code: number; reason: string };
          expect(close.code).to.equal(code);
          expect(reason.startsWith(close.reason)).to.equal(true);
        }),
        { seed: 1000, numRuns: 200, endOnFailure: true },
      );
    });

    it('never throws on random bytes: it returns events or a WsProtocolError', () => {
      const random = seededRandom(99);
      for (let run = 0; run < 300; run++) {
        const bytes = Buffer.alloc(Math.floor(random() * 200));
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
        for (const requireMask of [true, false]) {
          const { error } = feed(bytes, { seed: run }, { requireMask, maxMessageBytes: 150, emitFrameHeaders: run % 2 === 0 });
          if (error !== null) expect(error).to.be.instanceOf(WsProtocolError);
        }
      }
    });
  });

  it('refuses a negative or fractional maxMessageBytes', () => {
    expect(() => new FrameParser({ maxMessageBytes: -1, requireMask: true })).to.throw(RangeError);
    expect(() => new FrameParser({ maxMessageBytes: 1.5, requireMask: true })).to.throw(RangeError);
  });
});
