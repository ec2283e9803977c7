/**
 * A conformance suite modelled on the server cases of the Autobahn TestSuite,
 * run against the live server's echo endpoint (`ws_echo_path`) over real
 * sockets, once with `tls = off` (ws://) and once with TLS (wss://).
 *
 * Case numbers follow Autobahn's where a case has a counterpart there
 * (1.1.1 …); cases of our own are marked "x". Like Autobahn's "OK" criteria,
 * each case asserts the exact outcome: the echo (or pong) expected, and then
 * either a normal close we start ourselves, or the exact close code the
 * server must fail the connection with, followed by the server closing TCP
 * (RFC 6455 §7.1.1). Every frame the server sends is also checked against
 * RFC 6455 §5 by the client's own parser (`serverFrameError`).
 *
 * The raw client (spec/helpers/ws-raw-client.ts) sends what a polite client
 * library refuses to send; the `ws` package, a well-behaved independent
 * client, has its own suite in conformance-ws-client.spec.ts.
 */
import { expect } from 'chai';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { OP, WsRawClient, chop, closePayload, sleep, type FrameSpec } from '../helpers/ws-raw-client.js';
import { seededRandom } from '../helpers/splits.js';
import { FrameParser } from '../../lib/ws/frame-parser.js';

const ECHO_PATH = '/echo';
const KiB = 1024;
const MiB = 1024 * KiB;
/** The echo endpoint's message limit in this suite: above the 4 MiB messages of section 9. */
const MAX_MESSAGE = 5 * MiB;
/** A short pause between writes, like Autobahn's "chopped with delays". */
const PAUSE_MS = 2;

// ─── outcomes ───────────────────────────────────────────────────────────────

/** The next event must be a `type` message with exactly these bytes. */
async function expectEcho(c: WsRawClient, type: 'text' | 'binary', data: Buffer | string): Promise<void> {
  const want = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const got = await c.nextMessage(type);
  if (!got.equals(want)) {
    throw new Error(`echo differs: got ${got.length} bytes, want ${want.length} (first difference at ${firstDifference(got, want)})`);
  }
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** The next event must be a Pong carrying exactly `payload` (§5.5.2, §5.5.3). */
async function expectPong(c: WsRawClient, payload: Buffer | string = ''): Promise<void> {
  const event = await c.next();
  expect(event.type, `expected a pong; ${c.summary()}`).to.equal('pong');
  if (event.type === 'pong') expect(event.data.toString('hex')).to.equal(Buffer.from(payload).toString('hex'));
}

/**
 * The server fails the connection (§7.1.7): nothing else arrives first, then
 * a Close with exactly `code`, then the server ends TCP.
 */
async function expectFailure(c: WsRawClient, code: number): Promise<void> {
  const seen = await c.closed();
  expect(seen.before.map((e) => e.type), `unexpected frames before the Close; ${c.summary()}`).to.deep.equal([]);
  expect(seen.code, `close code; ${c.summary()}`).to.equal(code);
  expect(seen.fin, 'the server ends TCP in order (FIN), it does not reset it').to.equal(true);
  expect(c.bytesAfterClose(), 'bytes sent after the Close frame (§5.5.1)').to.equal(0);
  expect(c.serverFrameError).to.equal(null);
}

/**
 * The connection is still healthy: we start a normal close (§7.1.2), nothing
 * else arrives first, the server echoes 1000 and then closes TCP (§7.1.1).
 */
async function closeNormally(c: WsRawClient, code = 1000, reason = ''): Promise<void> {
  await c.close(code, reason);
  const seen = await c.closed();
  expect(seen.before.map((e) => e.type), `unexpected frames before the Close; ${c.summary()}`).to.deep.equal([]);
  expect(seen.code, `close code; ${c.summary()}`).to.equal(code);
  expect(seen.fin).to.equal(true);
  expect(c.bytesAfterClose(), 'bytes sent after the Close frame (§5.5.1)').to.equal(0);
  expect(c.serverFrameError).to.equal(null);
}

// ─── payloads ───────────────────────────────────────────────────────────────

const stars = (n: number) => '*'.repeat(n);
const fe = (n: number) => Buffer.alloc(n, 0xfe);
const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

/** Seeded bytes, so a failing case can be replayed. */
function randomBytes(n: number, seed: number): Buffer {
  const rnd = seededRandom(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}

/** Valid UTF-8 of exactly `n` bytes: ASCII with 2-, 3- and 4-byte characters mixed in. */
function utf8Text(n: number): Buffer {
  const piece = Buffer.from('Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞 ', 'utf8');
  const out = Buffer.alloc(n, 0x2a);
  let at = 0;
  while (at + piece.length <= n) at += piece.copy(out, at);
  return out;
}

const text = (payload: Buffer | string, fin = true): FrameSpec => ({ opcode: OP.TEXT, payload, fin });
const cont = (payload: Buffer | string, fin = true): FrameSpec => ({ opcode: OP.CONTINUATION, payload, fin });
const ping = (payload: Buffer | string = ''): FrameSpec => ({ opcode: OP.PING, payload });

/** Each frame in its own write, with a pause between. */
async function frameWise(c: WsRawClient, specs: readonly FrameSpec[]): Promise<void> {
  for (const spec of specs) {
    await c.sendFrames(spec);
    await sleep(PAUSE_MS);
  }
}

/** All frames' bytes in 1-byte writes. */
async function chopped(c: WsRawClient, specs: readonly FrameSpec[], pauseMs = 0): Promise<void> {
  await c.sendInPieces(Buffer.concat(specs.map((s) => c.frame(s))), 1, pauseMs);
}

// ─── the cases ──────────────────────────────────────────────────────────────

interface Case {
  /** Autobahn's case number, or "x.…" for cases of our own. */
  readonly id: string;
  /** The rule, as a sentence, with its section. */
  readonly rule: string;
  readonly run: (c: WsRawClient) => Promise<void>;
  /** Time allowed (ms), for the large ones. */
  readonly timeout?: number;
}

interface Section {
  readonly title: string;
  readonly cases: readonly Case[];
}

const FRAMING_LENGTHS = [0, 125, 126, 127, 128, 65535, 65536] as const;

const section1: Section = {
  title: '1 framing: text and binary messages at every length boundary (RFC 6455 §5.2)',
  cases: [
    ...FRAMING_LENGTHS.map((n, i): Case => ({
      id: `1.1.${i + 1}`,
      rule: `echoes a text message of ${n} bytes (${n <= 125 ? '7-bit' : n <= 65535 ? '16-bit' : '64-bit'} length)`,
      run: async (c) => {
        await c.text(stars(n));
        await expectEcho(c, 'text', stars(n));
        await closeNormally(c);
      },
    })),
    {
      id: '1.1.8',
      rule: 'echoes a 65536-byte text message sent in chops of 997 bytes',
      run: async (c) => {
        await c.sendInPieces(c.frame(text(stars(65536))), 997);
        await expectEcho(c, 'text', stars(65536));
        await closeNormally(c);
      },
    },
    ...FRAMING_LENGTHS.map((n, i): Case => ({
      id: `1.2.${i + 1}`,
      rule: `echoes a binary message of ${n} bytes (${n <= 125 ? '7-bit' : n <= 65535 ? '16-bit' : '64-bit'} length)`,
      run: async (c) => {
        await c.binary(fe(n));
        await expectEcho(c, 'binary', fe(n));
        await closeNormally(c);
      },
    })),
    {
      id: '1.2.8',
      rule: 'echoes a 65536-byte binary message sent in chops of 997 bytes',
      run: async (c) => {
        await c.sendInPieces(c.frame({ opcode: OP.BINARY, payload: fe(65536) }), 997);
        await expectEcho(c, 'binary', fe(65536));
        await closeNormally(c);
      },
    },
    {
      id: 'x.1.1',
      rule: 'fails with 1002 on a client frame that is not masked (§5.1)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.TEXT, payload: 'Hello', masked: false });
        await expectFailure(c, 1002);
      },
    },
    {
      id: 'x.1.2',
      rule: 'fails with 1002 on a 16-bit length that fits in 7 bits ("the minimal number of bytes MUST be used", §5.2)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.TEXT, payload: 'Hello', lengthEncoding: '16-bit' });
        await expectFailure(c, 1002);
      },
    },
    {
      id: 'x.1.3',
      rule: 'fails with 1002 on a 64-bit length that fits in 16 bits (§5.2)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.BINARY, payload: fe(200), lengthEncoding: '64-bit' });
        await expectFailure(c, 1002);
      },
    },
    {
      id: 'x.1.4',
      rule: 'echoes two messages sent in one write, in order (§5.4)',
      run: async (c) => {
        await c.sendFrames(text('first'), { opcode: OP.BINARY, payload: fe(3) });
        await expectEcho(c, 'text', 'first');
        await expectEcho(c, 'binary', fe(3));
        await closeNormally(c);
      },
    },
  ],
};

const pingPayload = hex('00 ff fe fd fc fb 00 ff');

const section2: Section = {
  title: '2 pings and pongs (RFC 6455 §5.5.2, §5.5.3)',
  cases: [
    {
      id: '2.1',
      rule: 'answers a ping without payload with an empty pong',
      run: async (c) => {
        await c.ping();
        await expectPong(c);
        await closeNormally(c);
      },
    },
    {
      id: '2.2',
      rule: 'answers a ping with a text payload with a pong of the same payload',
      run: async (c) => {
        await c.ping('Hello, world!');
        await expectPong(c, 'Hello, world!');
        await closeNormally(c);
      },
    },
    {
      id: '2.3',
      rule: 'answers a ping with a binary payload with a pong of the same bytes',
      run: async (c) => {
        await c.ping(pingPayload);
        await expectPong(c, pingPayload);
        await closeNormally(c);
      },
    },
    {
      id: '2.4',
      rule: 'answers a ping with a 125-byte payload, the largest a control frame may carry (§5.5)',
      run: async (c) => {
        await c.ping(fe(125));
        await expectPong(c, fe(125));
        await closeNormally(c);
      },
    },
    {
      id: '2.5',
      rule: 'fails with 1002 on a ping with a 126-byte payload (§5.5: "125 bytes or less")',
      run: async (c) => {
        await c.ping(fe(126));
        await expectFailure(c, 1002);
      },
    },
    {
      id: '2.6',
      rule: 'answers a 125-byte ping sent in 1-byte writes with pauses',
      run: async (c) => {
        await chopped(c, [ping(fe(125))], 1);
        await expectPong(c, fe(125));
        await closeNormally(c);
      },
    },
    {
      id: '2.7',
      rule: 'ignores an unsolicited pong without payload (§5.5.3: "A response to an unsolicited Pong frame is not expected")',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.PONG });
        await closeNormally(c);
      },
    },
    {
      id: '2.8',
      rule: 'ignores an unsolicited pong with a payload (§5.5.3)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.PONG, payload: 'unsolicited pong payload' });
        await closeNormally(c);
      },
    },
    {
      id: '2.9',
      rule: "answers a ping that follows an unsolicited pong with the ping's payload",
      run: async (c) => {
        await c.sendFrames({ opcode: OP.PONG, payload: 'unsolicited pong payload' }, ping('ping payload'));
        await expectPong(c, 'ping payload');
        await closeNormally(c);
      },
    },
    {
      id: '2.10',
      rule: 'answers 10 pings in a row with 10 pongs, in order',
      run: async (c) => {
        await c.sendFrames(...Array.from({ length: 10 }, (_, i) => ping(`payload-${i}`)));
        for (let i = 0; i < 10; i++) await expectPong(c, `payload-${i}`);
        await closeNormally(c);
      },
    },
    {
      id: '2.11',
      rule: 'answers 10 pings sent in 1-byte writes with 10 pongs, in order',
      run: async (c) => {
        await chopped(c, Array.from({ length: 10 }, (_, i) => ping(`payload-${i}`)));
        for (let i = 0; i < 10; i++) await expectPong(c, `payload-${i}`);
        await closeNormally(c);
      },
    },
    {
      id: 'x.2.1',
      rule: 'fails with 1002 on a ping whose 126-byte length is only announced (checked from the header, §5.5)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.PING, length: 126 });
        await expectFailure(c, 1002);
      },
    },
  ],
};

const section3: Section = {
  title: '3 reserved bits: RSV1-3 set with no extension negotiated fail with 1002 (RFC 6455 §5.2)',
  cases: [
    {
      id: '3.1',
      rule: 'fails with 1002 on a text frame with RSV=1',
      run: async (c) => {
        await c.sendFrames({ ...text('Hello, world!'), rsv: 1 });
        await expectFailure(c, 1002);
      },
    },
    {
      id: '3.2',
      rule: 'echoes a text, then fails with 1002 on a text with RSV=2 and does not answer the ping after it (frame-wise)',
      run: async (c) => {
        await frameWise(c, [text('Hello, world!'), { ...text('Hello, world!'), rsv: 2 }, ping()]);
        await expectEcho(c, 'text', 'Hello, world!');
        await expectFailure(c, 1002);
      },
    },
    {
      id: '3.3',
      rule: 'echoes a text, then fails with 1002 on a text with RSV=3 (all frames in one write)',
      run: async (c) => {
        await c.sendFrames(text('Hello, world!'), { ...text('Hello, world!'), rsv: 3 }, ping());
        await expectEcho(c, 'text', 'Hello, world!');
        await expectFailure(c, 1002);
      },
    },
    {
      id: '3.4',
      rule: 'echoes a text, then fails with 1002 on a text with RSV=4 (1-byte writes)',
      run: async (c) => {
        await chopped(c, [text('Hello, world!'), { ...text('Hello, world!'), rsv: 4 }, ping()]);
        await expectEcho(c, 'text', 'Hello, world!');
        await expectFailure(c, 1002);
      },
    },
    {
      id: '3.5',
      rule: 'fails with 1002 on a binary frame with RSV=5',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.BINARY, payload: fe(8), rsv: 5 });
        await expectFailure(c, 1002);
      },
    },
    {
      id: '3.6',
      rule: 'fails with 1002 on a ping with RSV=6, without answering it',
      run: async (c) => {
        await c.sendFrames({ ...ping(pingPayload), rsv: 6 });
        await expectFailure(c, 1002);
      },
    },
    {
      id: '3.7',
      rule: 'fails with 1002 on a close frame with RSV=7',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.CLOSE, payload: closePayload(1000), rsv: 7 });
        await expectFailure(c, 1002);
      },
    },
  ],
};

const RESERVED_DATA_OPCODES = [0x3, 0x4, 0x5, 0x6, 0x7] as const;
const RESERVED_CONTROL_OPCODES = [0xb, 0xc, 0xd, 0xe, 0xf] as const;

function reservedOpcodeCases(group: 1 | 2, opcodes: readonly number[]): Case[] {
  const kind = group === 1 ? 'non-control' : 'control';
  return opcodes.flatMap((op, i): Case[] => [
    {
      id: `4.${group}.${i + 1}`,
      rule: `fails with 1002 on a frame with the reserved ${kind} opcode 0x${op.toString(16)}${i % 2 === 1 ? ' and a payload' : ''}`,
      run: async (c) => {
        await c.sendFrames({ opcode: op, payload: i % 2 === 1 ? 'reserved opcode payload' : '' });
        await expectFailure(c, 1002);
      },
    },
    {
      id: `4.${group}.${i + 1}b`,
      rule: `echoes a text, then fails with 1002 on the reserved ${kind} opcode 0x${op.toString(16)} and ignores the ping after it`,
      run: async (c) => {
        await c.sendFrames(text('Hello, world!'), { opcode: op, payload: fe(4) }, ping());
        await expectEcho(c, 'text', 'Hello, world!');
        await expectFailure(c, 1002);
      },
    },
  ]);
}

const section4: Section = {
  title: '4 reserved opcodes fail with 1002 (RFC 6455 §5.2: "If an unknown opcode is received")',
  cases: [...reservedOpcodeCases(1, RESERVED_DATA_OPCODES), ...reservedOpcodeCases(2, RESERVED_CONTROL_OPCODES)],
};

const section5: Section = {
  title: '5 fragmentation (RFC 6455 §5.4)',
  cases: [
    {
      id: '5.1',
      rule: 'fails with 1002 on a ping fragmented into 2 frames (§5.5: "Control frames themselves MUST NOT be fragmented")',
      run: async (c) => {
        await c.sendFrames({ ...ping('fragment1'), fin: false }, cont('fragment2'));
        await expectFailure(c, 1002);
      },
    },
    {
      id: '5.2',
      rule: 'fails with 1002 on a pong fragmented into 2 frames (§5.5)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.PONG, payload: 'fragment1', fin: false }, cont('fragment2'));
        await expectFailure(c, 1002);
      },
    },
    {
      id: '5.3',
      rule: 'echoes a text message sent in 2 fragments as one message',
      run: async (c) => {
        await c.sendFrames(text('fragment1', false), cont('fragment2'));
        await expectEcho(c, 'text', 'fragment1fragment2');
        await closeNormally(c);
      },
    },
    {
      id: '5.4',
      rule: 'echoes a text message of 2 fragments sent frame-wise with a pause',
      run: async (c) => {
        await frameWise(c, [text('fragment1', false), cont('fragment2')]);
        await expectEcho(c, 'text', 'fragment1fragment2');
        await closeNormally(c);
      },
    },
    {
      id: '5.5',
      rule: 'echoes a text message of 2 fragments sent in 1-byte writes with pauses',
      run: async (c) => {
        await chopped(c, [text('fragment1', false), cont('fragment2')], 1);
        await expectEcho(c, 'text', 'fragment1fragment2');
        await closeNormally(c);
      },
    },
    {
      id: '5.6',
      rule: 'answers a ping between 2 fragments, then echoes the message ("Control frames MAY be injected in the middle of a fragmented message")',
      run: async (c) => {
        await c.sendFrames(text('fragment1', false), ping('ping payload'), cont('fragment2'));
        await expectPong(c, 'ping payload');
        await expectEcho(c, 'text', 'fragment1fragment2');
        await closeNormally(c);
      },
    },
    {
      id: '5.7',
      rule: 'answers a ping between 2 fragments sent frame-wise with pauses',
      run: async (c) => {
        await frameWise(c, [text('fragment1', false), ping('ping payload'), cont('fragment2')]);
        await expectPong(c, 'ping payload');
        await expectEcho(c, 'text', 'fragment1fragment2');
        await closeNormally(c);
      },
    },
    {
      id: '5.8',
      rule: 'answers a ping between 2 fragments, everything in 1-byte writes',
      run: async (c) => {
        await chopped(c, [text('fragment1', false), ping('ping payload'), cont('fragment2')]);
        await expectPong(c, 'ping payload');
        await expectEcho(c, 'text', 'fragment1fragment2');
        await closeNormally(c);
      },
    },
    {
      id: '5.9',
      rule: 'fails with 1002 on a final continuation frame with no message begun',
      run: async (c) => {
        await c.sendFrames(cont('non-continuation payload'), text('Hello, world!'));
        await expectFailure(c, 1002);
      },
    },
    {
      id: '5.10',
      rule: 'fails with 1002 on a final continuation frame with no message begun (1-byte writes)',
      run: async (c) => {
        await chopped(c, [cont('non-continuation payload'), text('Hello, world!')]);
        await expectFailure(c, 1002);
      },
    },
    {
      id: '5.12',
      rule: 'fails with 1002 on a non-final continuation frame with no message begun',
      run: async (c) => {
        await c.sendFrames(cont('non-continuation payload', false), text('Hello, world!'));
        await expectFailure(c, 1002);
      },
    },
    {
      id: '5.15',
      rule: 'echoes a message of 2 fragments, then fails with 1002 on continuations that follow it',
      run: async (c) => {
        await c.sendFrames(text('fragment1', false), cont('fragment2'), cont('fragment3', false), cont('fragment4'));
        await expectEcho(c, 'text', 'fragment1fragment2');
        await expectFailure(c, 1002);
      },
    },
    {
      id: '5.16',
      rule: 'fails with 1002 on a message that starts with continuation frames',
      run: async (c) => {
        await c.sendFrames(cont('fragment1', false), text('fragment2', false), cont('fragment3'));
        await expectFailure(c, 1002);
      },
    },
    {
      id: '5.18',
      rule: 'fails with 1002 on a new text frame while a text message is open (§5.4: fragments MUST NOT be interleaved)',
      run: async (c) => {
        await c.sendFrames(text('fragment1', false), text('fragment2'));
        await expectFailure(c, 1002);
      },
    },
    {
      id: 'x.5.1',
      rule: 'fails with 1002 on a new binary frame while a text message is open (§5.4)',
      run: async (c) => {
        await c.sendFrames(text('fragment1', false), { opcode: OP.BINARY, payload: fe(3) });
        await expectFailure(c, 1002);
      },
    },
    {
      id: '5.19',
      rule: 'answers 2 pings between 5 fragments sent with pauses, then echoes the message',
      run: async (c) => {
        await frameWise(c, [text('fragment1', false), cont('fragment2', false), ping('pongme 1!'), cont('fragment3', false), cont('fragment4', false), ping('pongme 2!'), cont('fragment5')]);
        await expectPong(c, 'pongme 1!');
        await expectPong(c, 'pongme 2!');
        await expectEcho(c, 'text', 'fragment1fragment2fragment3fragment4fragment5');
        await closeNormally(c);
      },
    },
    {
      id: 'x.5.2',
      rule: 'echoes a binary message sent in 3 fragments as one message',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.BINARY, payload: fe(100), fin: false }, cont(randomBytes(300, 5), false), cont(fe(1)));
        await expectEcho(c, 'binary', Buffer.concat([fe(100), randomBytes(300, 5), fe(1)]));
        await closeNormally(c);
      },
    },
    {
      id: 'x.5.3',
      rule: 'fails with 1002 on a fragmented close frame (§5.5)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.CLOSE, payload: closePayload(1000), fin: false }, cont(''));
        await expectFailure(c, 1002);
      },
    },
    {
      id: 'x.5.4',
      rule: 'echoes a text message sent as 1000 fragments of 1 byte each',
      run: async (c) => {
        const message = utf8Text(1000);
        const frames = [...message].map((b, i): FrameSpec => ({ opcode: i === 0 ? OP.TEXT : OP.CONTINUATION, payload: Buffer.from([b]), fin: i === 999 }));
        await c.sendFrames(...frames);
        await expectEcho(c, 'text', message);
        await closeNormally(c);
      },
    },
    {
      id: 'x.5.5',
      rule: 'echoes a text message whose fragments are empty (an empty first, middle and last fragment)',
      run: async (c) => {
        await c.sendFrames(text('', false), cont('abc', false), cont('', false), cont('def', false), cont(''));
        await expectEcho(c, 'text', 'abcdef');
        await closeNormally(c);
      },
    },
  ],
};

// Section 6: UTF-8. The vectors are Autobahn's (after Markus Kuhn's UTF-8 decoder capability and stress test).

interface Utf8Vector {
  readonly id: string;
  readonly what: string;
  readonly bytes: Buffer;
  readonly valid: boolean;
}

/** "κόσμε" as Autobahn spells it, with ό as U+1F79 (3 bytes): κ ό σ μ ε = ce ba | e1 bd b9 | cf 83 | ce bc | ce b5. */
const KOSME = hex('ceba e1bdb9 cf83 cebc ceb5');

const UTF8_VECTORS: readonly Utf8Vector[] = [
  { id: '6.2', what: '"Hello-µ@ßöäüàá-UTF-8!!"', bytes: Buffer.from('Hello-µ@ßöäüàá-UTF-8!!', 'utf8'), valid: true },
  { id: '6.3', what: '"κόσμε" + a surrogate (ED A0 80) + "edited"', bytes: Buffer.concat([KOSME, hex('eda080'), Buffer.from('edited')]), valid: false },
  { id: '6.5', what: '"κόσμε"', bytes: KOSME, valid: true },
  { id: '6.5b', what: 'a 4-byte character U+1D11E (F0 9D 84 9E) between ASCII', bytes: Buffer.from('a𝄞b', 'utf8'), valid: true },
  { id: '6.7.1', what: 'U+0000, the first 1-byte character', bytes: hex('00'), valid: true },
  { id: '6.7.2', what: 'U+0080, the first 2-byte character', bytes: hex('c280'), valid: true },
  { id: '6.7.3', what: 'U+0800, the first 3-byte character', bytes: hex('e0a080'), valid: true },
  { id: '6.7.4', what: 'U+10000, the first 4-byte character', bytes: hex('f0908080'), valid: true },
  { id: '6.8.1', what: 'a 5-byte sequence (F8 88 80 80 80)', bytes: hex('f888808080'), valid: false },
  { id: '6.8.2', what: 'a 6-byte sequence (FC 84 80 80 80 80)', bytes: hex('fc8480808080'), valid: false },
  { id: '6.9.1', what: 'U+007F, the last 1-byte character', bytes: hex('7f'), valid: true },
  { id: '6.9.2', what: 'U+07FF, the last 2-byte character', bytes: hex('dfbf'), valid: true },
  { id: '6.9.3', what: 'U+FFFF, the last 3-byte character', bytes: hex('efbfbf'), valid: true },
  { id: '6.9.4', what: 'U+10FFFF, the last character', bytes: hex('f48fbfbf'), valid: true },
  { id: '6.10.1', what: 'F7 BF BF BF, above U+10FFFF', bytes: hex('f7bfbfbf'), valid: false },
  { id: '6.10.2', what: 'FB BF BF BF BF, a 5-byte form', bytes: hex('fbbfbfbfbf'), valid: false },
  { id: '6.10.3', what: 'FD BF BF BF BF BF, a 6-byte form', bytes: hex('fdbfbfbfbfbf'), valid: false },
  { id: '6.11.1', what: 'U+D7FF, just below the surrogates', bytes: hex('ed9fbf'), valid: true },
  { id: '6.11.2', what: 'U+E000, just above the surrogates', bytes: hex('ee8080'), valid: true },
  { id: '6.11.3', what: 'U+FFFD', bytes: hex('efbfbd'), valid: true },
  { id: '6.11.4', what: 'U+10FFFF', bytes: hex('f48fbfbf'), valid: true },
  { id: '6.11.5', what: 'U+110000 (F4 90 80 80)', bytes: hex('f4908080'), valid: false },
  { id: '6.12.1', what: 'a lone first continuation byte 80', bytes: hex('80'), valid: false },
  { id: '6.12.2', what: 'a lone last continuation byte BF', bytes: hex('bf'), valid: false },
  { id: '6.12.3', what: 'continuation bytes 80 BF 80', bytes: hex('80bf80'), valid: false },
  { id: '6.12.8', what: 'every continuation byte 80–BF', bytes: Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i)), valid: false },
  { id: '6.13.1', what: 'lonely 2-byte start bytes, each followed by a space', bytes: Buffer.from(Array.from({ length: 32 }, (_, i) => [0xc0 + i, 0x20]).flat()), valid: false },
  { id: '6.13.2', what: 'lonely 3-byte start bytes, each followed by a space', bytes: Buffer.from(Array.from({ length: 16 }, (_, i) => [0xe0 + i, 0x20]).flat()), valid: false },
  { id: '6.13.3', what: 'lonely 4-byte start bytes, each followed by a space', bytes: Buffer.from(Array.from({ length: 8 }, (_, i) => [0xf0 + i, 0x20]).flat()), valid: false },
  { id: '6.14.1', what: 'a 2-byte sequence missing its last byte (C2)', bytes: hex('c2'), valid: false },
  { id: '6.14.2', what: 'a 3-byte sequence missing its last byte (E0 A0)', bytes: hex('e0a0'), valid: false },
  { id: '6.14.3', what: 'a 4-byte sequence missing its last byte (F0 90 80)', bytes: hex('f09080'), valid: false },
  { id: '6.14.4', what: 'U+07FF missing its last byte (DF)', bytes: hex('df'), valid: false },
  { id: '6.14.5', what: 'U+FFFF missing its last byte (EF BF)', bytes: hex('efbf'), valid: false },
  { id: '6.14.6', what: 'U+10FFFF missing its last byte (F4 8F BF)', bytes: hex('f48fbf'), valid: false },
  { id: '6.15', what: 'all the incomplete sequences above, concatenated', bytes: hex('c2 e0a0 f09080 df efbf f48fbf'), valid: false },
  { id: '6.16.1', what: 'the impossible byte FE', bytes: hex('fe'), valid: false },
  { id: '6.16.2', what: 'the impossible byte FF', bytes: hex('ff'), valid: false },
  { id: '6.16.3', what: 'FE FE FF FF', bytes: hex('fefeffff'), valid: false },
  { id: '6.17.1', what: 'an overlong "/" in 2 bytes (C0 AF)', bytes: hex('c0af'), valid: false },
  { id: '6.17.2', what: 'an overlong "/" in 3 bytes (E0 80 AF)', bytes: hex('e080af'), valid: false },
  { id: '6.17.3', what: 'an overlong "/" in 4 bytes (F0 80 80 AF)', bytes: hex('f08080af'), valid: false },
  { id: '6.18.1', what: 'the largest overlong 2-byte form (C1 BF)', bytes: hex('c1bf'), valid: false },
  { id: '6.18.2', what: 'the largest overlong 3-byte form (E0 9F BF)', bytes: hex('e09fbf'), valid: false },
  { id: '6.18.3', what: 'the largest overlong 4-byte form (F0 8F BF BF)', bytes: hex('f08fbfbf'), valid: false },
  { id: '6.18.4', what: 'an overlong NUL (C0 80)', bytes: hex('c080'), valid: false },
  { id: '6.19.1', what: 'the single surrogate U+D800 (ED A0 80)', bytes: hex('eda080'), valid: false },
  { id: '6.19.2', what: 'the single surrogate U+DB7F (ED AD BF)', bytes: hex('edadbf'), valid: false },
  { id: '6.19.3', what: 'the single surrogate U+DC00 (ED B0 80)', bytes: hex('edb080'), valid: false },
  { id: '6.19.4', what: 'the single surrogate U+DFFF (ED BF BF)', bytes: hex('edbfbf'), valid: false },
  { id: '6.20.1', what: 'the surrogate pair U+D800 U+DC00', bytes: hex('eda080 edb080'), valid: false },
  { id: '6.20.2', what: 'the surrogate pair U+DBFF U+DFFF', bytes: hex('edafbf edbfbf'), valid: false },
  { id: '6.21.1', what: 'the noncharacter U+FFFE (valid UTF-8)', bytes: hex('efbfbe'), valid: true },
  { id: '6.21.2', what: 'the noncharacter U+1FFFE (valid UTF-8)', bytes: hex('f09fbfbe'), valid: true },
  { id: '6.21.3', what: 'the noncharacter U+10FFFE (valid UTF-8)', bytes: hex('f48fbfbe'), valid: true },
  { id: '6.22', what: 'U+FDD0–U+FDEF, noncharacters (valid UTF-8)', bytes: Buffer.from(String.fromCodePoint(...Array.from({ length: 32 }, (_, i) => 0xfdd0 + i)), 'utf8'), valid: true },
];

function utf8Cases(): Case[] {
  const cases: Case[] = [];
  for (const v of UTF8_VECTORS) {
    const outcome = v.valid ? 'echoes' : 'fails with 1007 on';
    cases.push({
      id: `${v.id}.a`,
      rule: `${outcome} ${v.what} in one frame`,
      run: async (c) => {
        await c.text(v.bytes);
        if (v.valid) {
          await expectEcho(c, 'text', v.bytes);
          await closeNormally(c);
        } else {
          await expectFailure(c, 1007);
        }
      },
    });
    cases.push({
      id: `${v.id}.b`,
      rule: `${outcome} ${v.what} fragmented at every byte boundary (one frame per byte)`,
      run: async (c) => {
        const frames = [...v.bytes].map((b, i): FrameSpec => ({ opcode: i === 0 ? OP.TEXT : OP.CONTINUATION, payload: Buffer.from([b]), fin: i === v.bytes.length - 1 }));
        await c.sendFrames(...frames);
        if (v.valid) {
          await expectEcho(c, 'text', v.bytes);
          await closeNormally(c);
        } else {
          await expectFailure(c, 1007);
        }
      },
    });
  }
  // 6.6: every prefix of "κόσμε" as a whole message: valid exactly when it ends between characters.
  const boundaries = new Set([2, 5, 7, 9, 11]);
  for (let n = 1; n <= KOSME.length; n++) {
    const prefix = KOSME.subarray(0, n);
    const valid = boundaries.has(n);
    cases.push({
      id: `6.6.${n}`,
      rule: `${valid ? 'echoes' : 'fails with 1007 on'} the first ${n} bytes of "κόσμε"${valid ? '' : ' (the message ends inside a character)'}`,
      run: async (c) => {
        await c.text(prefix);
        if (valid) {
          await expectEcho(c, 'text', prefix);
          await closeNormally(c);
        } else {
          await expectFailure(c, 1007);
        }
      },
    });
  }
  // A valid multi-byte character cut between fragments is not an error: validation runs across fragments.
  cases.push({
    id: '6.2.2',
    rule: 'echoes a text whose 2- and 4-byte characters are cut between 2 fragments',
    run: async (c) => {
      const bytes = Buffer.from('ß𝄞', 'utf8'); // c3 9f f0 9d 84 9e
      await c.sendFrames(text(bytes.subarray(0, 1), false), cont(bytes.subarray(1, 4), false), cont(bytes.subarray(4)));
      await expectEcho(c, 'text', bytes);
      await closeNormally(c);
    },
  });
  // 6.4: fail fast. The close must come while the message is still open: we never send its end.
  cases.push(
    {
      id: '6.4.1',
      rule: 'fails with 1007 as soon as a fragment with an invalid sequence arrives, before the message ends (§8.1, fail fast)',
      run: async (c) => {
        await c.sendFrames(text(KOSME, false), cont(hex('f4908080'), false));
        // The final fragment ("edited") is never sent.
        await expectFailure(c, 1007);
      },
    },
    {
      id: '6.4.2',
      rule: 'fails with 1007 when the first invalid byte arrives, even though its sequence began in the fragment before',
      run: async (c) => {
        await c.sendFrames(text(Buffer.concat([KOSME, hex('f4')]), false), cont(hex('90'), false));
        await expectFailure(c, 1007);
      },
    },
    {
      id: '6.4.3',
      rule: 'fails with 1007 on invalid bytes in the first part of a frame whose rest never comes',
      run: async (c) => {
        const payload = Buffer.concat([KOSME, hex('f4908080'), Buffer.from('edited')]);
        const frame = c.frame(text(payload));
        // The header, "κόσμε" and the invalid sequence; the rest of the frame is never sent.
        await c.send(frame.subarray(0, frame.length - 'edited'.length));
        await expectFailure(c, 1007);
      },
    },
    {
      id: '6.4.4',
      rule: 'fails with 1007 on invalid bytes in the first fragment of a message, the connection failing while the message is open',
      run: async (c) => {
        await c.sendFrames(text(Buffer.concat([Buffer.from('ok '), hex('c0af')]), false));
        await expectFailure(c, 1007);
      },
    },
    {
      id: 'x.6.1',
      rule: 'fails with 1007 on an invalid byte in the first 1-byte write of a large frame, long before its end',
      run: async (c) => {
        const frame = c.frame(text(Buffer.concat([hex('ff'), Buffer.from(stars(100_000))])));
        // The 14-byte header (64-bit length + mask) and the first payload byte only.
        await c.send(frame.subarray(0, 15));
        await expectFailure(c, 1007);
      },
    },
  );
  return cases;
}

const section6: Section = {
  title: '6 UTF-8 in text messages: valid echoed, invalid fail with 1007 (RFC 6455 §5.6, §8.1)',
  cases: [
    {
      id: '6.1.1',
      rule: 'echoes an empty text message',
      run: async (c) => {
        await c.text('');
        await expectEcho(c, 'text', '');
        await closeNormally(c);
      },
    },
    {
      id: '6.1.2',
      rule: 'echoes an empty text message in 3 empty fragments',
      run: async (c) => {
        await c.sendFrames(text('', false), cont('', false), cont(''));
        await expectEcho(c, 'text', '');
        await closeNormally(c);
      },
    },
    ...utf8Cases(),
  ],
};

const VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] as const;
const INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] as const;

const section7: Section = {
  title: '7 the closing handshake (RFC 6455 §5.5.1, §7)',
  cases: [
    {
      id: '7.1.1',
      rule: 'echoes a text, then answers a normal close with 1000 and closes TCP',
      run: async (c) => {
        await c.text('Hello World!');
        await expectEcho(c, 'text', 'Hello World!');
        await closeNormally(c);
      },
    },
    {
      id: '7.1.2',
      rule: 'answers the first of two close frames once and ignores the second (§5.5.1)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.CLOSE, payload: closePayload(1000) }, { opcode: OP.CLOSE, payload: closePayload(1000) });
        // expectFailure checks that no byte follows the one Close: not a second Close either.
        await expectFailure(c, 1000);
      },
    },
    {
      id: '7.1.3',
      rule: 'does not answer a ping sent after the close (§5.5.1: nothing after a Close)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.CLOSE, payload: closePayload(1000) }, ping('ping after close'));
        await expectFailure(c, 1000);
      },
    },
    {
      id: '7.1.4',
      rule: 'ignores a text message sent after the close (data after close ignored)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.CLOSE, payload: closePayload(1000) }, text('text after close'));
        await expectFailure(c, 1000);
      },
    },
    {
      id: '7.1.5',
      rule: 'answers a close between the fragments of a message and drops the message',
      run: async (c) => {
        await c.sendFrames(text('fragment1', false), { opcode: OP.CLOSE, payload: closePayload(1000) }, cont('fragment2'));
        await expectFailure(c, 1000);
      },
    },
    {
      id: '7.1.6',
      rule: 'echoes a 256 KiB text, then answers the close that follows and not the ping after it',
      run: async (c) => {
        const big = utf8Text(256 * KiB);
        await c.sendFrames(text(big), { opcode: OP.CLOSE, payload: closePayload(1000) }, ping('ping after close'));
        await expectEcho(c, 'text', big);
        await expectFailure(c, 1000);
      },
    },
    {
      id: '7.3.1',
      rule: 'answers a close with an empty payload with 1000 (1005 must not be sent, §7.4.1)',
      run: async (c) => {
        await c.close();
        await expectFailure(c, 1000);
      },
    },
    {
      id: '7.3.2',
      rule: 'fails with 1002 on a close with a 1-byte payload (§5.5.1: the body starts with a 2-byte code)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.CLOSE, payload: hex('03') });
        await expectFailure(c, 1002);
      },
    },
    {
      id: '7.3.3',
      rule: 'answers a close 1000 without reason with 1000',
      run: (c) => closeNormally(c, 1000),
    },
    {
      id: '7.3.4',
      rule: 'answers a close 1000 with a reason with 1000',
      run: (c) => closeNormally(c, 1000, 'Hello World!'),
    },
    {
      id: '7.3.5',
      rule: 'answers a close 1000 with a 123-byte reason, the largest that fits (§5.5)',
      run: (c) => closeNormally(c, 1000, stars(123)),
    },
    {
      id: '7.3.6',
      rule: 'fails with 1002 on a close 1000 with a 124-byte reason (a 126-byte control payload, §5.5)',
      run: async (c) => {
        await c.close(1000, stars(124));
        await expectFailure(c, 1002);
      },
    },
    {
      id: '7.5.1',
      rule: 'fails with 1007 on a close whose reason is not UTF-8 (§5.5.1, §8.1)',
      run: async (c) => {
        await c.close(1000, Buffer.concat([KOSME, hex('eda080'), Buffer.from('edited')]));
        await expectFailure(c, 1007);
      },
    },
    ...VALID_CLOSE_CODES.map((code, i): Case => ({
      id: `7.7.${i + 1}`,
      rule: `echoes the valid close code ${code} (§7.4)`,
      run: (c) => closeNormally(c, code),
    })),
    ...INVALID_CLOSE_CODES.map((code, i): Case => ({
      id: `7.9.${i + 1}`,
      rule: `fails with 1002 on the close code ${code}, which may not be sent (§7.4.1, §7.4.2)`,
      run: async (c) => {
        await c.close(code);
        await expectFailure(c, 1002);
      },
    })),
    {
      id: 'x.7.1',
      rule: 'closes TCP itself, promptly, once both Close frames have crossed (§7.1.1: "the server SHOULD close the underlying TCP connection first")',
      run: async (c) => {
        const sent = performance.now();
        await c.close(1000);
        await c.closed();
        // We never end our side: the FIN is the server's.
        expect(c.finReceived).to.equal(true);
        expect(c.tcpClosedAt! - sent).to.be.below(1000);
      },
    },
  ],
};

const section9: Section = {
  title: '9 limits and large messages (RFC 6455 §10.4; ws_echo_max_message_bytes)',
  cases: [
    ...([
      ['text', 1 * MiB],
      ['binary', 1 * MiB],
      ['text', 4 * MiB],
      ['binary', 4 * MiB],
    ] as const).map(([type, size], i): Case => ({
      id: `9.${type === 'text' ? 1 : 2}.${i < 2 ? 3 : 5}`,
      rule: `echoes a ${size / MiB} MiB ${type} message`,
      timeout: 15_000,
      run: async (c) => {
        const payload = type === 'text' ? utf8Text(size) : randomBytes(size, size);
        await c.sendFrames({ opcode: type === 'text' ? OP.TEXT : OP.BINARY, payload });
        await expectEcho(c, type, payload);
        await closeNormally(c);
      },
    })),
    {
      id: '9.4.x',
      rule: 'echoes a 4 MiB binary message sent in 64 KiB fragments',
      timeout: 15_000,
      run: async (c) => {
        const payload = randomBytes(4 * MiB, 94);
        const pieces = chop(payload, 64 * KiB);
        await c.sendFrames(...pieces.map((p, i): FrameSpec => ({ opcode: i === 0 ? OP.BINARY : OP.CONTINUATION, payload: p, fin: i === pieces.length - 1 })));
        await expectEcho(c, 'binary', payload);
        await closeNormally(c);
      },
    },
    {
      id: 'x.9.1',
      rule: 'echoes a message of exactly ws_echo_max_message_bytes',
      timeout: 15_000,
      run: async (c) => {
        const payload = randomBytes(MAX_MESSAGE, 91);
        await c.binary(payload);
        await expectEcho(c, 'binary', payload);
        await closeNormally(c);
      },
    },
    {
      id: 'x.9.2',
      rule: 'fails with 1009 from the header of a frame one byte over the limit, its payload never sent (§10.4)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.BINARY, length: MAX_MESSAGE + 1 });
        await expectFailure(c, 1009);
      },
    },
    {
      id: 'x.9.3',
      rule: 'fails with 1009 from the header of a text frame announcing 2^62 bytes',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.TEXT, length: 2n ** 62n });
        await expectFailure(c, 1009);
      },
    },
    {
      id: 'x.9.4',
      rule: 'fails with 1009 from the header of a fragment that takes the message over the limit (§10.4: "after reassembly")',
      timeout: 15_000,
      run: async (c) => {
        await c.sendFrames({ opcode: OP.BINARY, payload: randomBytes(3 * MiB, 94), fin: false });
        await c.sendFrames({ opcode: OP.CONTINUATION, length: 3 * MiB });
        await expectFailure(c, 1009);
      },
    },
    {
      id: 'x.9.6',
      rule: 'echoes a 2 MiB message and two small ones sent right behind it in one write: replies wait for the buffer to drain, no 4008',
      timeout: 15_000,
      run: async (c) => {
        const big = randomBytes(2 * MiB, 96);
        await c.sendFrames({ opcode: OP.BINARY, payload: big }, text('right behind'), text('and another'));
        await expectEcho(c, 'binary', big);
        await expectEcho(c, 'text', 'right behind');
        await expectEcho(c, 'text', 'and another');
        await closeNormally(c);
      },
    },
    {
      id: 'x.9.5',
      rule: 'fails with 1002 on a 64-bit length whose most significant bit is set (§5.2)',
      run: async (c) => {
        await c.sendFrames({ opcode: OP.BINARY, length: 2n ** 63n });
        await expectFailure(c, 1002);
      },
    },
  ],
};

const section10: Section = {
  title: '10 delivery whatever the TCP segmentation',
  cases: [
    {
      id: '10.1.1',
      rule: 'echoes a 64 KiB text message sent in 1-byte TCP writes',
      timeout: 20_000,
      run: async (c) => {
        const payload = utf8Text(64 * KiB);
        await c.sendInPieces(c.frame(text(payload)), 1);
        await expectEcho(c, 'text', payload);
        await closeNormally(c);
      },
    },
  ],
};

// Section x.fuzz: seeded random frame sequences, the server checked against a model. The model
// is the sans-IO FrameParser itself fed the same bytes, plus the echo rules: text and binary come
// back, pings get pongs, a Close gets its code back (1000 for none), an error gets its close code.
// What this checks is everything between the parser and the wire: connection.ts and the hand-off.

/**
 * One random frame sequence: a well-formed conversation (messages, fragments,
 * pings and pongs between them) with, now and then, one of the mistakes of
 * sections 2–7 thrown in.
 */
function randomFrames(seed: number): FrameSpec[] {
  const rnd = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const chance = (p: number) => rnd() < p;
  const texts = ['', 'a', 'κόσμε', 'Hello-µ@ßöäüàá-UTF-8!!', '𝄞', stars(130)];
  const frames: FrameSpec[] = [];
  let open: 'text' | 'binary' | null = null;
  const dataPayload = (kind: 'text' | 'binary', i: number) =>
    kind === 'text' ? Buffer.from(pick(texts), 'utf8') : randomBytes(Math.floor(rnd() * 300), seed * 100 + i);
  const control = (i: number): FrameSpec =>
    chance(0.7) ? { opcode: OP.PING, payload: randomBytes(Math.floor(rnd() * 126), seed * 100 + i) } : { opcode: OP.PONG, payload: randomBytes(Math.floor(rnd() * 20), i) };
  const mistakes: readonly ((i: number) => FrameSpec)[] = [
    () => ({ opcode: pick([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) }),
    () => ({ opcode: OP.TEXT, payload: 'x', rsv: 1 + Math.floor(rnd() * 7) }),
    () => ({ opcode: OP.BINARY, payload: fe(3), masked: false }),
    () => ({ opcode: OP.BINARY, payload: fe(5), lengthEncoding: '16-bit' }),
    () => ({ opcode: OP.PING, payload: 'p', fin: false }),
    () => ({ opcode: OP.PING, payload: fe(126) }),
    () => ({ opcode: open === null ? OP.CONTINUATION : OP.TEXT, payload: 'misplaced' }),
    () => ({ opcode: open === 'binary' ? OP.BINARY : OP.TEXT, payload: randomBytes(4, seed), fin: open === null }),
    () => ({ opcode: OP.CLOSE, payload: closePayload(pick([0, 999, 1004, 1005, 1006, 1015, 2000, 5000])) }),
    () => ({ opcode: OP.CLOSE, payload: closePayload(1000, hex('eda080')) }),
    () => ({ opcode: OP.CLOSE, payload: hex('03') }),
  ];
  const steps = 1 + Math.floor(rnd() * 10);
  for (let i = 0; i < steps; i++) {
    if (chance(0.12)) {
      frames.push(pick(mistakes)(i));
      break; // the server fails here; anything after it is never read
    }
    if (chance(0.25)) {
      frames.push(control(i));
    } else if (open !== null) {
      const fin = chance(0.5);
      frames.push({ opcode: OP.CONTINUATION, payload: dataPayload(open, i), fin });
      if (fin) open = null;
    } else {
      const kind = chance(0.6) ? 'text' : 'binary';
      const fin = chance(0.6);
      frames.push({ opcode: kind === 'text' ? OP.TEXT : OP.BINARY, payload: dataPayload(kind, i), fin });
      if (!fin) open = kind;
    }
  }
  // End with a close (between fragments too, §5.4), so that every sequence has an outcome.
  frames.push({ opcode: OP.CLOSE, payload: chance(0.2) ? Buffer.alloc(0) : closePayload(pick([1000, 1001, 3000, 4999]), 'bye') });
  return frames;
}

/** What the echo endpoint must send back for `input`, by the model. */
function expectedReplies(input: Buffer): string[] {
  const parser = new FrameParser({ maxMessageBytes: MAX_MESSAGE, requireMask: true });
  const { events, error } = parser.push(input);
  const out: string[] = [];
  for (const event of events) {
    if (event.type === 'text' || event.type === 'binary') out.push(`${event.type}:${event.data.toString('hex')}`);
    else if (event.type === 'ping') out.push(`pong:${event.data.toString('hex')}`);
    else if (event.type === 'close') return [...out, `close:${event.code ?? 1000}`];
  }
  if (error) return [...out, `close:${error.closeCode}`];
  throw new Error('the sequence ends with a Close, so the model always ends in a close');
}

const sectionFuzz: Section = {
  title: 'x.fuzz seeded random frame sequences: the live server answers exactly as the model says',
  cases: Array.from({ length: 40 }, (_, i): Case => ({
    id: `x.fuzz.${i + 1}`,
    rule: `answers random frame sequence #${i + 1} as the parser model predicts, then closes TCP`,
    run: async (c) => {
      const input = Buffer.concat(randomFrames(i + 1).map((f) => c.frame(f)));
      const want = expectedReplies(input);
      // Half the cases in one write, half in random small writes.
      if (i % 2 === 0) await c.send(input);
      else await c.sendInPieces(input, 1 + (i % 7));
      await c.closed();
      const got = c.events.map(({ event }) => (event.type === 'close' ? `close:${event.code ?? 'none'}` : `${event.type}:${event.data.toString('hex')}`));
      expect(got).to.deep.equal(want);
      expect(c.bytesAfterClose()).to.equal(0);
      expect(c.finReceived).to.equal(true);
      expect(c.serverFrameError).to.equal(null);
    },
  })),
};

const SECTIONS: readonly Section[] = [section1, section2, section3, section4, section5, section6, section7, section9, section10, sectionFuzz];

for (const transport of [{ tls: false, name: 'ws:// (tls = off)' }, { tls: true, name: 'wss:// (TLS)' }]) {
  describe(`ws/conformance: Autobahn-style server cases over ${transport.name}`, function () {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ tls: transport.tls, ws_echo_path: ECHO_PATH, ws_echo_max_message_bytes: MAX_MESSAGE, log_level: 'warn' });
    });
    after(() => live.close());

    for (const section of SECTIONS) {
      describe(section.title, () => {
        for (const testCase of section.cases) {
          it(`${testCase.id} ${testCase.rule}`, async function () {
            this.timeout(testCase.timeout ?? 8_000);
            const c = await WsRawClient.open(live.port, { tls: transport.tls, path: ECHO_PATH });
            try {
              await testCase.run(c);
            } finally {
              c.destroy();
            }
          });
        }
      });
    }

    it('still serves a new connection after every case above (the server survived them all)', async () => {
      const c = await WsRawClient.open(live.port, { tls: transport.tls, path: ECHO_PATH });
      await c.text('still here');
      await expectEcho(c, 'text', 'still here');
      await closeNormally(c);
    });
  });
}
