/**
 * lib/ws/broadcast-endpoint.ts on a live server, over real sockets: every
 * complete message (RFC 6455 §5.4, fragments reassembled) reaches every open
 * connection on `ws_broadcast_path`, the sender included, text as text and
 * binary as binary, byte for byte and in one arrival order for all; a
 * connection leaves at close; the message limit (`ws_echo_max_message_bytes`)
 * closes with 1009 (§7.4.1); a receiver that cannot keep up is closed with
 * 4008 while the others go on (API.md); the path is off by default. The
 * config rules of the key are in spec/config/parse.spec.ts.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import WebSocket from 'ws';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { connect, readResponses } from '../helpers/raw-client.js';
import { OP, WsRawClient, handshakeRequest, makeKey, type FrameSpec } from '../helpers/ws-raw-client.js';
import { seededRandom } from '../helpers/splits.js';
import { broadcastEndpoint, type BroadcastEndpoint } from '../../lib/ws/broadcast-endpoint.js';
import { WebSocketConnection } from '../../lib/ws/connection.js';
import { defaultConfig } from '../../lib/config/parse.js';

const BROADCAST_PATH = '/broadcast';
const KiB = 1024;

interface Message {
  readonly type: 'text' | 'binary';
  readonly data: Buffer;
}

/** One line per message, for comparing sequences: the type, the length and a digest of the bytes. */
function fingerprint(m: Message): string {
  return `${m.type}:${m.data.length}:${createHash('sha256').update(m.data).digest('hex').slice(0, 16)}`;
}

function randomBytes(rnd: () => number, size: number): Buffer {
  return Buffer.from(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
}

/** The next `n` data messages `c` receives; fails on anything else (a Close, a pong, a bad server frame). */
async function receiveMessages(c: WsRawClient, n: number): Promise<Message[]> {
  const out: Message[] = [];
  while (out.length < n) {
    const event = await c.next();
    if (event.type !== 'text' && event.type !== 'binary') throw new Error(`expected a message, got ${event.type}; ${c.summary()}`);
    out.push({ type: event.type, data: event.data });
  }
  expect(c.serverFrameError, 'every server frame is valid for a client (§5.1: unmasked)').to.equal(null);
  return out;
}

/** Wait (bounded) until `predicate()` holds: the server's side of a close comes a moment after the client's. */
async function eventually(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function counter(live: LiveServer, name: string): number {
  // The registry returns the counter already registered under this name.
  return live.server.metrics.counter(name, '').get();
}

/**
 * What each of three senders sends, as frames and as the messages they make:
 * text with multi-byte characters, binary at every length form (§5.2: 7-,
 * 16- and 64-bit), empty messages, and a fragmented text message whose
 * fragments split a character (§5.4: only the whole message must be UTF-8).
 */
function senderScript(index: number): { readonly frames: FrameSpec[]; readonly messages: Message[] } {
  const rnd = seededRandom(100 + index);
  const frames: FrameSpec[] = [];
  const messages: Message[] = [];
  const text = (s: string) => {
    frames.push({ opcode: OP.TEXT, payload: s });
    messages.push({ type: 'text', data: Buffer.from(s, 'utf8') });
  };
  const binary = (size: number) => {
    // The first byte says who sent it, so per-sender order can be read back.
    const data = size === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([index]), randomBytes(rnd, size - 1)]);
    frames.push({ opcode: OP.BINARY, payload: data });
    messages.push({ type: 'binary', data });
  };
  text(`${index}: Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞`);
  binary(1);
  binary(125);
  text('');
  binary(126);
  binary(65_535);
  text(`${index}: ${'ü'.repeat(40_000)}`); // 80,000 bytes: the 64-bit length form
  binary(0);
  binary(65_536);
  const kappa = Buffer.from(`${index}: fragmented κόσμε`, 'utf8');
  const cut = kappa.indexOf(0xce) + 1; // inside the two bytes of κ
  frames.push({ opcode: OP.TEXT, payload: kappa.subarray(0, cut), fin: false }, { opcode: OP.CONTINUATION, payload: kappa.subarray(cut) });
  messages.push({ type: 'text', data: kappa });
  binary(200_000);
  return { frames, messages };
}

for (const tls of [false, true]) {
  describe(`ws/broadcast-endpoint: fan-out over ${tls ? 'wss' : 'ws'}:// (ws_broadcast_path)`, () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ tls, ws_broadcast_path: BROADCAST_PATH, log_level: 'warn' });
    });
    after(() => live.close());

    it('sends every message of every sender to every client on the path, sender included, type and bytes unchanged, in one order for all', async function () {
      this.timeout(20_000);
      const clients = await Promise.all([0, 1, 2].map((i) => WsRawClient.open(live.port, { tls, path: BROADCAST_PATH, seed: i + 1 })));
      try {
        const scripts = [0, 1, 2].map(senderScript);
        const total = scripts.reduce((n, s) => n + s.messages.length, 0);
        // All three send at once, each a script of frames in one write.
        await Promise.all(clients.map((c, i) => c.sendFrames(...scripts[i]!.frames)));
        const received = await Promise.all(clients.map((c) => receiveMessages(c, total)));

        // One reactor handles the messages one at a time: every receiver sees the same sequence…
        const sequences = received.map((r) => r.map(fingerprint));
        expect(sequences[1]).to.deep.equal(sequences[0]);
        expect(sequences[2]).to.deep.equal(sequences[0]);
        // …which holds every message of every sender, each sender's in the order it sent them, byte for byte.
        // Empty messages cannot say who sent them: they are counted apart.
        const empty = (type: Message['type']) => received[0]!.filter((m) => m.type === type && m.data.length === 0).length;
        expect([empty('text'), empty('binary')]).to.deep.equal([3, 3]);
        for (const [i, script] of scripts.entries()) {
          const own = script.messages.filter((m) => m.data.length > 0);
          const expected = new Set(own.map(fingerprint));
          const fromSender = received[0]!.filter((m) => expected.has(fingerprint(m)));
          expect(fromSender.map((m) => m.type), `sender ${i}: types`).to.deep.equal(own.map((m) => m.type));
          for (const [k, m] of fromSender.entries()) expect(m.data.equals(own[k]!.data), `sender ${i}, message ${k}`).to.equal(true);
        }
        // Nothing more: no stray frame after the last message.
        for (const c of clients) expect(c.events.length).to.equal(total);
      } finally {
        for (const c of clients) c.destroy();
      }
    });

    it('keeps text as text and binary as binary for an independent client (the ws package)', async () => {
      const url = `${tls ? 'wss' : 'ws'}://127.0.0.1:${live.port}${BROADCAST_PATH}`;
      const open = () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { rejectUnauthorized: false }); // the test server's certificate is self-signed
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        });
      const peers = await Promise.all([open(), open(), open()]);
      try {
        const inbox = peers.map(() => [] as { text: string | null; bytes: Buffer }[]);
        const allIn = peers.map(
          (ws, i) =>
            new Promise<void>((resolve) => {
              ws.on('message', (data, isBinary) => {
                const bytes = data as Buffer;
                inbox[i]!.push({ text: isBinary ? null : bytes.toString('utf8'), bytes });
                if (inbox[i]!.length === 6) resolve();
              });
            }),
        );
        for (const [i, ws] of peers.entries()) {
          ws.send(`text from ${i}: 𝄞`);
          ws.send(Buffer.from([0xff, i, 0x00, 0xfe]));
        }
        await Promise.all(allIn);
        for (const box of inbox) {
          expect(box.filter((m) => m.text !== null).map((m) => m.text).sort()).to.deep.equal(['text from 0: 𝄞', 'text from 1: 𝄞', 'text from 2: 𝄞']);
          expect(box.filter((m) => m.text === null).map((m) => m.bytes.toString('hex')).sort()).to.deep.equal(['ff0000fe', 'ff0100fe', 'ff0200fe']);
        }
      } finally {
        for (const ws of peers) ws.terminate();
      }
    });
  });
}

describe('ws/broadcast-endpoint: members join at the 101 and leave at close', () => {
  const OBSERVED_PATH = '/broadcast-observed';
  let live: LiveServer;
  let endpoint: BroadcastEndpoint;
  before(async () => {
    live = await startServer({ tls: false, ws_broadcast_path: BROADCAST_PATH, log_level: 'warn' }, {
      // A second instance, mounted by the test, so its member count can be read.
      prepare: (server) =>
        server.moduleMounts.push((s) => {
          endpoint = broadcastEndpoint(OBSERVED_PATH, s.wsOptions((c) => c.ws_echo_max_message_bytes));
          s.mountWebSocket(endpoint);
        }),
    });
  });
  after(() => live.close());

  it('removes a client that closed cleanly (1000) and one that vanished (TCP reset), and the others keep receiving', async () => {
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map((seed) => WsRawClient.open(live.port, { tls: false, path: OBSERVED_PATH, seed })));
    try {
      expect(endpoint.memberCount).to.equal(4);
      await d!.close(1000, 'bye');
      expect((await d!.closed()).code).to.equal(1000);
      await eventually(() => endpoint.memberCount === 3, 'the cleanly closed client to leave');
      c!.socket.resetAndDestroy();
      await eventually(() => endpoint.memberCount === 2, 'the reset client to leave');

      await a!.text('after the departures');
      await b!.binary(Buffer.from([1, 2, 3]));
      for (const x of [a!, b!]) {
        expect((await x.nextMessage('text')).toString()).to.equal('after the departures');
        expect([...(await x.nextMessage('binary'))]).to.deep.equal([1, 2, 3]);
      }

      // A newcomer is a member from its 101 on: it gets the next message, not the earlier ones.
      const e = await WsRawClient.open(live.port, { tls: false, path: OBSERVED_PATH, seed: 5 });
      expect(endpoint.memberCount).to.equal(3);
      await b!.text('welcome');
      for (const x of [a!, b!, e]) expect((await x.nextMessage('text')).toString()).to.equal('welcome');
      expect(e.events.length).to.equal(1);
      e.destroy();
    } finally {
      for (const x of [a, b, c, d]) x!.destroy();
    }
  });

  it('encodes a message once and hands the same frame bytes to every member (DESIGN.md "encode once, write many")', async () => {
    const clients = await Promise.all([1, 2, 3].map((seed) => WsRawClient.open(live.port, { tls: false, path: OBSERVED_PATH, seed })));
    await eventually(() => endpoint.memberCount === 3, 'three members');
    // Watch sendFrame, the one door every broadcast frame goes through.
    const proto = WebSocketConnection.prototype;
    const original = proto.sendFrame;
    const written: { id: number; frame: Buffer }[] = [];
    proto.sendFrame = function (this: WebSocketConnection, frame: Buffer, droppable?: boolean) {
      written.push({ id: this.id, frame });
      return original.call(this, frame, droppable);
    };
    try {
      await clients[0]!.text('once');
      for (const c of clients) expect((await c.nextMessage('text')).toString()).to.equal('once');
    } finally {
      proto.sendFrame = original;
      for (const c of clients) c.destroy();
    }
    expect(written).to.have.length(3);
    expect(new Set(written.map((w) => w.id)).size).to.equal(3);
    expect(written[1]!.frame).to.equal(written[0]!.frame); // the same Buffer object, not an equal copy
    expect(written[2]!.frame).to.equal(written[0]!.frame);
  });

  it('applies the Origin policy before admitting anyone, as on the echo path (RFC 6455 §10.2)', async () => {
    const client = await connect(live.port, { tls: false });
    client.send(handshakeRequest(live.port, makeKey(), BROADCAST_PATH, ['Origin: http://evil.example']));
    const [res] = await readResponses(client, 1);
    client.destroy();
    expect(res!.status).to.equal(403);
  });
});

describe('ws/broadcast-endpoint: limits', () => {
  it('closes with 1009 a sender whose message passes ws_echo_max_message_bytes, and the others get nothing of it (RFC 6455 §7.4.1)', async () => {
    const live = await startServer({ tls: false, ws_broadcast_path: BROADCAST_PATH, ws_echo_max_message_bytes: KiB, log_level: 'warn' });
    try {
      const cases: readonly { readonly rule: string; readonly frames: readonly FrameSpec[] }[] = [
        // Checked from the header, before any payload (§10.4).
        { rule: 'one frame announcing limit + 1 bytes', frames: [{ opcode: OP.BINARY, length: KiB + 1 }] },
        // The limit is on the whole message, all fragments together (§5.4).
        { rule: 'two fragments of 600 bytes', frames: [{ opcode: OP.TEXT, payload: 'a'.repeat(600), fin: false }, { opcode: OP.CONTINUATION, payload: 'b'.repeat(600) }] },
      ];
      const other = await WsRawClient.open(live.port, { tls: false, path: BROADCAST_PATH, seed: 9 });
      for (const { rule, frames } of cases) {
        const sender = await WsRawClient.open(live.port, { tls: false, path: BROADCAST_PATH, seed: 10 });
        // A message of exactly the limit goes through.
        await sender.binary(Buffer.alloc(KiB, 7));
        expect((await sender.nextMessage('binary')).length, rule).to.equal(KiB);
        expect((await other.nextMessage('binary')).length, rule).to.equal(KiB);

        await sender.sendFrames(...frames);
        const seen = await sender.closed();
        expect(seen.code, rule).to.equal(1009);
        expect(seen.before, rule).to.deep.equal([]);
      }
      // The other member received none of the refused messages: its next message is its own.
      await other.text('still here');
      expect((await other.nextMessage('text')).toString()).to.equal('still here');
      other.destroy();
    } finally {
      await live.close();
    }
  });

  it('closes with 4008 a member that cannot keep up (ws_max_buffered_bytes), while the others keep receiving every message', async function () {
    this.timeout(30_000);
    const live = await startServer({ tls: false, ws_broadcast_path: BROADCAST_PATH, ws_max_buffered_bytes: 64 * KiB, log_level: 'warn' });
    const [sender, reader, slow] = await Promise.all([1, 2, 3].map((seed) => WsRawClient.open(live.port, { tls: false, path: BROADCAST_PATH, seed })));
    try {
      slow!.pauseReading();
      const before = counter(live, 'chat_ws_slow_consumers_total');
      // One 16 KiB message at a time, each waited for by the two readers, until the
      // kernel's buffers towards `slow` are full and ours passes the mark. Bounded: 64 MiB.
      let sent = 0;
      for (; sent < 4096 && counter(live, 'chat_ws_slow_consumers_total') === before; sent++) {
        const message = Buffer.alloc(16 * KiB, sent & 0xff);
        message.writeUInt32BE(sent, 0);
        await sender!.binary(message);
        for (const c of [sender!, reader!]) expect((await c.nextMessage('binary')).readUInt32BE(0)).to.equal(sent);
      }
      expect(counter(live, 'chat_ws_slow_consumers_total')).to.equal(before + 1);
      expect(sent).to.be.below(4096);

      // The others go on.
      await sender!.text('after the slow one');
      for (const c of [sender!, reader!]) expect((await c.nextMessage('text')).toString()).to.equal('after the slow one');

      // The slow member reads at last: a prefix of the messages, in order, then the Close 4008.
      slow!.resumeReading();
      const close = await slow!.closeFrameReceived(10_000);
      expect(close.code).to.equal(4008);
      const got = slow!.events.filter((e) => e.event.type === 'binary').map((e) => (e.event as { data: Buffer }).data.readUInt32BE(0));
      expect(got).to.deep.equal(got.map((_, i) => i));
      expect(got.length).to.be.below(sent);
      expect(slow!.events.some((e) => e.event.type === 'text')).to.equal(false);
    } finally {
      for (const c of [sender, reader, slow]) c!.destroy();
      await live.close();
    }
  });
});

describe('ws/broadcast-endpoint: off by default', () => {
  it('has ws_broadcast_path empty by default, and then answers a handshake on /broadcast as any unknown path (404)', async () => {
    expect(defaultConfig().ws_broadcast_path).to.equal('');
    const live = await startServer({ tls: false, ws_echo_path: '/echo', log_level: 'warn' });
    try {
      const status = async (path: string) => {
        const client = await connect(live.port, { tls: false });
        client.send(handshakeRequest(live.port, makeKey(), path));
        const [res] = await readResponses(client, 1);
        client.destroy();
        return res!.status;
      };
      expect(await status(BROADCAST_PATH)).to.equal(404);
      expect(await status('/no-such-endpoint')).to.equal(404);
      expect(await status('/echo')).to.equal(101); // the echo path does not bring the broadcast path along
    } finally {
      await live.close();
    }
  });
});
