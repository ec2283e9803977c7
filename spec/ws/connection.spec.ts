/**
 * lib/ws/connection.ts on a live server, with timers shrunk so the tests run
 * in about a second: keepalive pings from the one sweep (RFC 6455 §5.5.2), the
 * pong timeout, the close timeout of a closing handshake we started (§7.1.1,
 * via a drain's 1001), backpressure (a client that does not read stops being
 * read, its buffer bounded), the slow-consumer close 4008 (API.md), droppable
 * frames, and one write for a burst of frames.
 */
import { expect } from 'chai';
import { startServer, type ConfigOverrides, type LiveServer } from '../helpers/live-server.js';
import { OP, WsRawClient, sleep } from '../helpers/ws-raw-client.js';
import type { Connection } from '../../lib/net/reactor.js';
import { WebSocketConnection, type WsOptions } from '../../lib/ws/connection.js';
import { encodeFrame } from '../../lib/ws/frame-encoder.js';
import { OPCODE } from '../../lib/ws/constants.js';

const ECHO_PATH = '/echo';
const KiB = 1024;
const MiB = 1024 * KiB;

/** The timers of these tests (ms); the sweep's precision is SWEEP. */
const PING_INTERVAL = 300;
const PONG_TIMEOUT = 300;
const CLOSE_TIMEOUT = 300;
const SWEEP = 100;
/** A deadline is seen by the sweep up to one sweep late; allow two, and the event loop's delays on a busy machine. */
const SLACK = 2 * SWEEP + 250;

const TINY_TIMERS: ConfigOverrides = {
  ws_echo_path: ECHO_PATH,
  ws_ping_interval: PING_INTERVAL,
  ws_pong_timeout: PONG_TIMEOUT,
  ws_close_timeout: CLOSE_TIMEOUT,
  sweep_interval: SWEEP,
  log_level: 'warn',
};

/** The server's record of the connection `c` (matched by its port), and the WebSocketConnection that owns it. */
function serverSide(live: LiveServer, c: WsRawClient): { conn: Connection; ws: WebSocketConnection } {
  for (const conn of live.server.connections) {
    if (conn.raw.remotePort === c.socket.localPort && conn.owner instanceof WebSocketConnection) return { conn, ws: conn.owner };
  }
  throw new Error('no server-side WebSocket connection for this client');
}

function counter(live: LiveServer, name: string): number {
  // The registry returns the counter already registered under this name.
  return live.server.metrics.counter(name, '').get();
}

describe('ws/connection: keepalive from the sweep (RFC 6455 §5.5.2, ws_ping_interval, ws_pong_timeout)', () => {
  let live: LiveServer;
  before(async () => {
    live = await startServer({ tls: false, ...TINY_TIMERS });
  });
  after(() => live.close());

  it('pings a connection that has been quiet for ws_ping_interval, with an empty payload', async () => {
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    const opened = performance.now();
    const event = await c.next(3000);
    const after = performance.now() - opened;
    expect(event.type).to.equal('ping');
    if (event.type === 'ping') expect(event.data.length).to.equal(0);
    expect(after).to.be.at.least(PING_INTERVAL - 20);
    expect(after).to.be.below(PING_INTERVAL + SLACK);
    c.destroy();
  });

  it('keeps a connection open that answers every ping with a pong, pinging it again each interval', async () => {
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH, autoPong: true });
    await sleep(4 * PING_INTERVAL);
    expect(c.isOpen, c.summary()).to.equal(true);
    const pings = c.events.filter((e) => e.event.type === 'ping').length;
    expect(pings).to.be.within(2, 5);
    // Still healthy: it echoes.
    c.autoPong = false;
    c.events.splice(0); // forget the pings
    await c.text('still here');
    expect((await c.nextMessage('text')).toString()).to.equal('still here');
    c.destroy();
  });

  it('closes a connection that does not answer the ping within ws_pong_timeout', async () => {
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    await c.until(() => c.events.some((e) => e.event.type === 'ping'), 'a ping', 3000);
    const pingAt = c.events.find((e) => e.event.type === 'ping')!.at;
    await c.closed(3000);
    const waited = c.tcpClosedAt! - pingAt;
    expect(waited).to.be.at.least(PONG_TIMEOUT - 20);
    expect(waited).to.be.below(PONG_TIMEOUT + SLACK);
    c.destroy();
  });

  it('does not ping a connection that keeps sending: any frame is a sign of life', async () => {
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    for (let i = 0; i < 10; i++) {
      await c.text(`message ${i}`);
      await sleep(PING_INTERVAL / 3);
    }
    const types = c.events.map((e) => e.event.type);
    expect(types).to.deep.equal(Array(10).fill('text'));
    expect(c.isOpen).to.equal(true);
    c.destroy();
  });

  it('answers a client ping even while a ping of its own is outstanding, and a late pong still counts', async () => {
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    await c.until(() => c.events.some((e) => e.event.type === 'ping'), 'a ping', 3000);
    await c.ping('mine');
    await c.until(() => c.events.some((e) => e.event.type === 'pong'), 'our pong', 2000);
    // The pong for the server's ping, late but within ws_pong_timeout; later pings are answered at once.
    await c.sendFrames({ opcode: OP.PONG });
    c.autoPong = true;
    // Past the first ping's deadline, however late the sweep sees it.
    await sleep(PONG_TIMEOUT + SLACK);
    expect(c.isOpen, c.summary()).to.equal(true);
    c.destroy();
  });
});

describe('ws/connection: the closing handshake we start (RFC 6455 §7.1.1–§7.1.3, ws_close_timeout)', () => {
  it('cuts a client that never answers our Close (a drain\'s 1001) after ws_close_timeout, long before drain_timeout', async () => {
    const live = await startServer({ tls: false, ...TINY_TIMERS, ws_ping_interval: 60_000, drain_timeout: 10_000 });
    try {
      const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
      const drainStarted = performance.now();
      const drained = live.server.drain();
      const close = await c.closeFrameReceived(2000);
      expect(close.code).to.equal(1001);
      const closeAt = c.closeFrame!.at;
      await c.closed(3000);
      const waited = c.tcpClosedAt! - closeAt;
      expect(waited).to.be.at.least(CLOSE_TIMEOUT - 20);
      expect(waited).to.be.below(CLOSE_TIMEOUT + SLACK);
      await drained;
      expect(performance.now() - drainStarted).to.be.below(2000);
    } finally {
      await live.close();
    }
  });

  it('sends no data frame after its Close, then ends TCP as soon as the client answers (§5.5.1)', async () => {
    const live = await startServer({ tls: false, ws_echo_path: ECHO_PATH, log_level: 'warn', ws_close_timeout: 5000, drain_timeout: 10_000 });
    try {
      const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
      const drained = live.server.drain();
      expect((await c.closeFrameReceived(2000)).code).to.equal(1001);
      // A message that crosses our Close: "after sending a Close frame, the endpoint MUST NOT send any more data frames".
      await c.text('crossing the close');
      await c.ping('and a ping');
      await sleep(50);
      const replied = performance.now();
      await c.close(1001);
      const seen = await c.closed(3000);
      expect(seen.fin).to.equal(true);
      expect(c.tcpClosedAt! - replied, 'closed on the reply, not on ws_close_timeout').to.be.below(1000);
      expect(c.events.map((e) => e.event.type)).to.deep.equal(['close']);
      // Our parser stops at the server's Close; the raw bytes show nothing came after it (no echo, no pong).
      expect(c.bytesAfterClose()).to.equal(0);
      await drained;
    } finally {
      await live.close();
    }
  });
});

for (const tls of [false, true]) {
  describe(`ws/connection: backpressure (DESIGN.md; ws_max_buffered_bytes) over ${tls ? 'TLS' : 'TCP'}`, () => {
    it('stops reading from a client that does not read, keeps its buffer bounded, and loses nothing', async function () {
      this.timeout(20_000);
      const live = await startServer({ tls, ws_echo_path: ECHO_PATH, log_level: 'warn' });
      try {
        const c = await WsRawClient.open(live.port, { tls, path: ECHO_PATH });
        const { conn } = serverSide(live, c);
        c.pauseReading();
        const count = 200;
        const messages = Array.from({ length: count }, (_, i) => Buffer.alloc(64 * KiB, i & 0xff));
        let maxBuffered = 0;
        let sawPaused = false;
        const sampler = setInterval(() => {
          maxBuffered = Math.max(maxBuffered, conn.stream.writableLength);
          if (conn.stream.isPaused()) sawPaused = true;
        }, 2);
        // 12.5 MiB toward a client that reads nothing: the writes are not awaited (the server stops reading us).
        for (const m of messages) void c.binary(m);
        await sleep(800);
        clearInterval(sampler);
        expect(sawPaused, 'the server paused reading this client').to.equal(true);
        expect(maxBuffered, 'bytes queued in the server for this client').to.be.at.most(live.server.currentConfig.ws_max_buffered_bytes);
        expect(c.closeFrame, 'an echo client that waits for us is not a slow consumer').to.equal(null);

        // Now read: every echo arrives, intact and in order.
        c.resumeReading();
        for (let i = 0; i < count; i++) {
          const got = await c.nextMessage('binary', 10_000);
          expect(got.equals(messages[i]!), `message ${i}`).to.equal(true);
        }
        await c.close(1000);
        expect((await c.closed()).code).to.equal(1000);

        // And the server serves others still.
        const other = await WsRawClient.open(live.port, { tls, path: ECHO_PATH });
        await other.text('fine');
        expect((await other.nextMessage('text')).toString()).to.equal('fine');
        other.destroy();
      } finally {
        await live.close();
      }
    });
  });
}

describe('ws/connection: slow consumers and droppable frames (API.md 4008)', () => {
  let live: LiveServer;
  const MAX_BUFFERED = 256 * KiB;
  before(async () => {
    live = await startServer({ tls: false, ws_echo_path: ECHO_PATH, log_level: 'warn', ws_max_buffered_bytes: MAX_BUFFERED, ws_close_timeout: 300, sweep_interval: 100 });
  });
  after(() => live.close());

  it('closes with 4008 a client whose unread frames would take the buffer past ws_max_buffered_bytes, never buffering more', async function () {
    this.timeout(15_000);
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    const { conn, ws } = serverSide(live, c);
    c.pauseReading();
    const before = counter(live, 'chat_ws_slow_consumers_total');
    // Encoded once, written many times (DESIGN.md: encode once, write many).
    const frame = encodeFrame(OPCODE.BINARY, Buffer.alloc(64 * KiB, 0x5a));
    let accepted = 0;
    let maxBuffered = 0;
    // One frame per turn of the loop, as broadcasts would come, until the kernel's buffers are full
    // and ours reaches the mark. Bounded: 64 MiB at most.
    for (let i = 0; i < 1024; i++) {
      if (!ws.sendFrame(frame)) break;
      accepted++;
      maxBuffered = Math.max(maxBuffered, conn.stream.writableLength);
      await new Promise((r) => setImmediate(r));
    }
    expect(accepted).to.be.below(1024);
    expect(ws.state).to.equal('closing');
    expect(maxBuffered).to.be.at.most(MAX_BUFFERED);
    expect(counter(live, 'chat_ws_slow_consumers_total')).to.equal(before + 1);
    // Closing: nothing more is accepted.
    expect(ws.sendFrame(frame)).to.equal(false);

    // The client reads at last: every frame accepted, then the Close 4008.
    c.resumeReading();
    for (let i = 0; i < accepted; i++) await c.nextMessage('binary', 10_000);
    const close = await c.closeFrameReceived();
    expect(close.code).to.equal(4008);
    await c.close(4008);
    expect((await c.closed()).fin).to.equal(true);
  });

  it('sends a droppable frame when nothing is waiting in the buffer', async () => {
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    const { ws } = serverSide(live, c);
    expect(ws.sendFrame(encodeFrame(OPCODE.TEXT, Buffer.from('typing')), true)).to.equal(true);
    expect((await c.nextMessage('text')).toString()).to.equal('typing');
    c.destroy();
  });

  it('drops a droppable frame while the buffer needs draining, and still sends the frames that are not droppable', async () => {
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    const { conn, ws } = serverSide(live, c);
    const dropped = counter(live, 'chat_ws_frames_dropped_total');
    // In one turn of the loop: a 128 KiB frame fills the buffer past its high-water mark…
    expect(ws.sendBinary(Buffer.alloc(128 * KiB, 1))).to.equal(true);
    expect(conn.stream.writableNeedDrain).to.equal(true);
    // …so a typing notice is shed, while a message is queued.
    expect(ws.sendFrame(encodeFrame(OPCODE.TEXT, Buffer.from('typing')), true)).to.equal(false);
    expect(ws.sendText('a message')).to.equal(true);
    expect(counter(live, 'chat_ws_frames_dropped_total')).to.equal(dropped + 1);
    expect((await c.nextMessage('binary')).length).to.equal(128 * KiB);
    expect((await c.nextMessage('text')).toString()).to.equal('a message');
    await c.close(1000);
    const seen = await c.closed();
    expect(seen.before).to.deep.equal([]);
    expect(seen.code).to.equal(1000);
  });

  it('writes a burst of frames sent in one turn of the loop in one batch (cork/uncork: one writev)', async () => {
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    const { conn, ws } = serverSide(live, c);
    // Count the socket's calls into libuv. With tls = off the stream is the TCP socket itself.
    const socket = conn.stream as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const calls = { write: 0, writev: 0 };
    const { _write: write, _writev: writev } = socket;
    socket._write = function (this: unknown, ...a: unknown[]) {
      calls.write++;
      return write.apply(this, a);
    };
    socket._writev = function (this: unknown, ...a: unknown[]) {
      calls.writev++;
      return writev.apply(this, a);
    };
    try {
      for (let i = 0; i < 50; i++) ws.sendText(`burst ${i}`);
      for (let i = 0; i < 50; i++) expect((await c.nextMessage('text')).toString()).to.equal(`burst ${i}`);
      expect(calls).to.deep.equal({ write: 0, writev: 1 });
    } finally {
      socket._write = write;
      socket._writev = writev;
      c.destroy();
    }
  });

  it('survives a client that vanishes with data in flight: no crash, and the server still serves', async () => {
    const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    const { ws } = serverSide(live, c);
    void c.binary(Buffer.alloc(1 * MiB, 3));
    c.socket.resetAndDestroy();
    for (let i = 0; i < 20; i++) ws.sendBinary(Buffer.alloc(64 * KiB));
    await sleep(50);
    const other = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    await other.text('fine');
    expect((await other.nextMessage('text')).toString()).to.equal('fine');
    other.destroy();
  });
});

describe('ws/connection: errors stay in their connection (DESIGN.md)', () => {
  let live: LiveServer;
  before(async () => {
    live = await startServer({ tls: false, ws_echo_path: ECHO_PATH, log_level: 'error' }, {
      prepare: (server) => {
        // A test endpoint whose handler throws on "boom": an application bug.
        server.moduleMounts.push((s) =>
          s.mountWebSocket({
            path: '/throws',
            options: s.wsOptions((cfg) => cfg.ws_max_message_bytes),
            admit: () => ({
              ok: true,
              protocol: null,
              handler: {
                onText: (ws, data) => {
                  if (data.toString() === 'boom') throw new Error('handler bug');
                  ws.sendText(data);
                },
                onBinary: () => undefined,
              },
            }),
          }),
        );
      },
    });
  });
  after(() => live.close());

  it('closes with 1011 a connection whose handler throws, logs the error, and goes on serving the others (§7.4.1)', async () => {
    const bystander = await WsRawClient.open(live.port, { tls: false, path: '/throws' });
    const c = await WsRawClient.open(live.port, { tls: false, path: '/throws' });
    await c.text('fine');
    expect((await c.nextMessage('text')).toString()).to.equal('fine');
    await c.text('boom');
    const seen = await c.closed();
    expect(seen.code).to.equal(1011);
    expect(live.logLines.some((line) => line.includes('handler bug'))).to.equal(true);
    await bystander.text('still here');
    expect((await bystander.nextMessage('text')).toString()).to.equal('still here');
    bystander.destroy();
  });
});

describe('ws/connection: one options object per configuration, rebuilt by a reload (issue 9)', () => {
  let live: LiveServer;
  const SMALL = 2 * KiB;
  const LARGE = 4 * KiB;
  before(async () => {
    live = await startServer({ tls: false, ws_echo_path: ECHO_PATH, log_level: 'warn', ws_echo_max_message_bytes: SMALL });
  });
  after(() => live.close());

  /** What the connection keeps for life: the sharing of this object is the rule under test, so the test reads the private field. */
  function optionsOf(ws: WebSocketConnection): WsOptions {
    return (ws as unknown as { readonly options: WsOptions }).options;
  }

  it('gives every connection opened under one configuration the same frozen options; after a reload new connections get the new limits and open ones keep theirs', async () => {
    const first = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    const second = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
    const before = optionsOf(serverSide(live, first).ws);
    expect(optionsOf(serverSide(live, second).ws)).to.equal(before);
    expect(Object.isFrozen(before)).to.equal(true);
    expect(before.maxMessageBytes).to.equal(SMALL);

    const config = live.server.currentConfig;
    live.server.reload({ ...config, ws_echo_max_message_bytes: LARGE, ws_max_buffered_bytes: 2 * MiB });
    try {
      const third = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH });
      const after = optionsOf(serverSide(live, third).ws);
      expect(after).to.not.equal(before);
      expect(after.maxMessageBytes).to.equal(LARGE);
      // ws_max_buffered_bytes is read at every send: open connections see the reloaded value too.
      expect(before.maxBufferedBytes()).to.equal(2 * MiB);
      expect(after.maxBufferedBytes()).to.equal(2 * MiB);

      // Over the wire: a 3 KiB message fits the new limit, not the one the first connection opened with (RFC 6455 §10.4).
      const message = Buffer.alloc(3 * KiB, 0x61);
      await third.text(message);
      expect((await third.nextMessage('text')).equals(message)).to.equal(true);
      await first.text(message);
      expect((await first.closed()).code).to.equal(1009);
      third.destroy();
      second.destroy();
    } finally {
      live.server.reload(config);
    }
  });
});
