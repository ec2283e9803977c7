/**
 * Slow and greedy clients against a live server (issue 8): each attack must be
 * cut off by the limit meant for it, its server-side buffer must stay bounded
 * while it lasts, and an honest client on the side must keep getting answers.
 *
 * The honest client's latency is measured and printed (`[measure] …`); it is
 * asserted only against a generous bound (HONEST_BOUND_MS), and a refusal or
 * a timeout of the honest client fails the test outright.
 *
 * Attackers connect from loopback addresses other than the honest client's
 * (127.0.0.10 and up), as they would from the internet: the per-address limits
 * apply to them, not to the honest client.
 */
import { expect } from 'chai';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { connect, parseResponses, type RawClient } from '../helpers/raw-client.js';
import { WsRawClient, OP } from '../helpers/ws-raw-client.js';
import { CHAT_TEST_CONFIG, ChatClient, registerUser } from '../helpers/chat-client.js';
import { BufferWatch, HonestProbe, formatStats, loopbackAddresses, metric, report, serverSideOf, sleep, statsOf, waitFor, type LatencyStats } from './attack-kit.js';

/** A generous bound on one honest request while under attack, on a shared CI machine. */
const HONEST_BOUND_MS = 2000;

function expectHonestServed(stats: LatencyStats, boundMs = HONEST_BOUND_MS): void {
  expect(stats.count, 'the honest client got no answer at all').to.be.greaterThan(0);
  expect(stats.failures, 'an honest request was refused or timed out').to.equal(0);
  expect(stats.max, 'an honest request took too long').to.be.below(boundMs);
}

describe('hardening: slow and greedy HTTP clients (live server)', function () {
  this.timeout(30_000);
  const HEADER_TIMEOUT = 800;
  const BODY_TIMEOUT = 800;
  let live: LiveServer;

  before(async () => {
    live = await startServer({
      header_timeout: HEADER_TIMEOUT,
      body_timeout: BODY_TIMEOUT,
      keepalive_timeout: 5000,
      sweep_interval: 100,
      connection_rate: 100_000,
      connection_burst: 100_000,
    });
  });
  after(() => live.close());

  async function attackers(n: number): Promise<RawClient[]> {
    const from = loopbackAddresses(10, 10);
    return Promise.all(Array.from({ length: n }, (_, i) => connect(live.port, { tls: true, localAddress: from[i % from.length]! })));
  }

  it('cuts 50 slowloris heads (a field line every 100 ms) with 408 after header_timeout, while an honest client is served', async () => {
    const probe = new HonestProbe(live.port).start();
    const slow = await attackers(50);
    const started = performance.now();
    for (const a of slow) a.send('GET / HTTP/1.1\r\nHost: localhost\r\n');
    let n = 0;
    const timer = setInterval(() => {
      n++;
      for (const a of slow) a.send(`X-Slow-${n}: y\r\n`);
    }, 100);
    try {
      const closedAt = await Promise.all(slow.map(async (a) => (await a.closed(5000), performance.now() - started)));
      const stats = await probe.stop();
      report('slowloris heads x50', `cut after ${Math.min(...closedAt).toFixed(0)}–${Math.max(...closedAt).toFixed(0)} ms (header_timeout ${HEADER_TIMEOUT} ms); ${formatStats(stats)}`);
      for (const a of slow) expect(parseResponses(a.received())[0]?.status).to.equal(408);
      expect(Math.max(...closedAt)).to.be.below(HEADER_TIMEOUT + 2500);
      expectHonestServed(stats);
    } finally {
      clearInterval(timer);
      for (const a of slow) a.destroy();
    }
  });

  it('cuts 50 stalled bodies with 408 after body_timeout, while an honest client is served', async () => {
    const probe = new HonestProbe(live.port).start();
    const slow = await attackers(50);
    const started = performance.now();
    for (const a of slow) a.send('POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":');
    try {
      const closedAt = await Promise.all(slow.map(async (a) => (await a.closed(5000), performance.now() - started)));
      const stats = await probe.stop();
      report('stalled bodies x50', `cut after ${Math.min(...closedAt).toFixed(0)}–${Math.max(...closedAt).toFixed(0)} ms (body_timeout ${BODY_TIMEOUT} ms); ${formatStats(stats)}`);
      for (const a of slow) expect(parseResponses(a.received())[0]?.status).to.equal(408);
      expect(Math.max(...closedAt)).to.be.below(BODY_TIMEOUT + 2500);
      expectHonestServed(stats);
    } finally {
      for (const a of slow) a.destroy();
    }
  });

  // body_timeout is a stall timeout, and the whole body must also arrive within
  // BODY_DEADLINE_FACTOR (3) × body_timeout of its first byte (sweep-policy.ts):
  // without that, a body trickled one byte per (body_timeout − ε) would hold its
  // connection for max_body_bytes × body_timeout.
  it('cuts a body trickled one byte per 0.6 × body_timeout within a few body_timeouts (no unbounded trickle)', async () => {
    const [a] = await attackers(1);
    a!.send('POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n');
    const timer = setInterval(() => a!.send('a'), BODY_TIMEOUT * 0.6);
    try {
      await a!.closed(BODY_TIMEOUT * 5);
    } finally {
      clearInterval(timer);
      a!.destroy();
    }
  });

  it('keeps the buffer of a client pipelining 5,000 requests without reading bounded, and cuts it by the send timeout (body_timeout)', async () => {
    const probe = new HonestProbe(live.port).start();
    const [greedy] = await attackers(1);
    const client = greedy!;
    client.socket.pause(); // never read a response
    const watch = new BufferWatch(live, client.socket);
    const requests = Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(5000), 'latin1');
    const started = performance.now();
    client.send(requests);
    try {
      await waitFor(() => client.isClosed || (serverSideOf(live, client.socket) === undefined && performance.now() - started > 100), 8000, 'the server to cut the pipelining client');
      const cutAfter = performance.now() - started;
      const max = watch.stop();
      const stats = await probe.stop();
      const served = metric(live, 'chat_http_requests_total', { status: '200' });
      report('pipelining 5,000 requests without reading', `server-side buffer max ${(max / 1024).toFixed(1)} KiB over ${watch.samples} samples; cut after ${cutAfter.toFixed(0)} ms (send timeout = body_timeout ${BODY_TIMEOUT} ms); 200s served so far ${served}; ${formatStats(stats)}`);
      // One response (index.html) plus the stream's high-water mark, TLS records included: far below what 5,000 answers would take.
      expect(max).to.be.below(1024 * 1024);
      expect(watch.samples).to.be.greaterThan(0);
      expect(cutAfter).to.be.below(6000);
      expectHonestServed(stats);
    } finally {
      watch.stop();
      client.destroy();
    }
  });
});

describe('hardening: slow and greedy WebSocket clients (live server)', function () {
  this.timeout(40_000);
  const MAX_BUFFERED = 64 * 1024;
  const MAX_MESSAGE = 4096;
  const PING_INTERVAL = 700;
  const PONG_TIMEOUT = 500;
  let live: LiveServer;

  before(async () => {
    live = await startServer(
      {
        ...CHAT_TEST_CONFIG,
        ws_max_buffered_bytes: MAX_BUFFERED,
        ws_max_message_bytes: MAX_MESSAGE,
        ws_ping_interval: PING_INTERVAL,
        ws_pong_timeout: PONG_TIMEOUT,
        ws_close_timeout: 1500,
        ws_echo_path: '/echo',
        ws_echo_max_message_bytes: 64 * 1024,
        sweep_interval: 100,
      },
      { app: true },
    );
  });
  after(() => live.close());

  /** An honest chat user asking `rooms` again and again; resolves with the latencies when stopped. */
  async function honestChatter(): Promise<{ stop: () => Promise<LatencyStats> }> {
    const user = await registerUser(live.port);
    const c = await ChatClient.open(live.port, user.token);
    // A member of the flooded room: it receives every broadcast and reads them.
    await c.request({ type: 'join', room: 'general' });
    const samples: number[] = [];
    let failures = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const t0 = performance.now();
        try {
          await c.request({ type: 'rooms' }, 5000);
          samples.push(performance.now() - t0);
        } catch {
          failures++;
        }
        c.drainQueue();
        await sleep(25);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        await c.close();
        return statsOf(samples, failures);
      },
    };
  }

  async function rawChat(token: string): Promise<WsRawClient> {
    const ws = await WsRawClient.open(live.port, { tls: true, path: '/ws', headers: [`Sec-WebSocket-Protocol: chat.v1, bearer.${token}`] });
    const hello = JSON.parse((await ws.nextMessage('text')).toString()) as { type: string };
    expect(hello.type).to.equal('hello');
    return ws;
  }

  it('closes a chat client that never reads the broadcasts it is sent with 4008, its buffer bounded by ws_max_buffered_bytes', async () => {
    // Long keepalive for this test: otherwise the missed pong (next test) cuts the attacker before its buffer fills.
    const config = live.server.currentConfig;
    live.server.reload({ ...config, ws_ping_interval: 60_000 });
    const attacker = await registerUser(live.port);
    const sender = await registerUser(live.port);
    const a = await rawChat(attacker.token);
    await a.text(JSON.stringify({ type: 'join', room: 'general', ref: 'j' }));
    while (!(JSON.parse((await a.nextMessage('text')).toString()) as { ref?: string }).ref) {
      // skip presence notices until the joined reply
    }
    a.pauseReading();
    const watch = new BufferWatch(live, a.socket, 5);
    const honest = await honestChatter();
    const s = await ChatClient.open(live.port, sender.token);
    await s.request({ type: 'join', room: 'general' });
    const before4008 = metric(live, 'chat_ws_slow_consumers_total');
    const text = 'x'.repeat(3000);
    let sent = 0;
    try {
      // Flood until the server gives up on the attacker (bounded: at most 6,000 messages, ~18 MB).
      // Bursts of 10 (30 KB): an honest reader of the room keeps up with them.
      while (metric(live, 'chat_ws_slow_consumers_total') === before4008 && sent < 6000) {
        for (let i = 0; i < 10; i++) s.send({ type: 'send', room: 'general', text });
        sent += 10;
        await s.take(10, (m) => m.type === 'ack' || m.type === 'error', 15_000);
        s.drainQueue();
      }
      const max = watch.stop();
      expect(metric(live, 'chat_ws_slow_consumers_total'), 'no client was closed as a slow consumer').to.equal(before4008 + 1);
      a.resumeReading();
      const close = await a.closeFrameReceived(10_000);
      const stats = await honest.stop();
      report('chat client that never reads broadcasts', `closed with ${close.code} after ${sent} messages of 3,000 chars; server-side buffer max ${(max / 1024).toFixed(1)} KiB (ws_max_buffered_bytes ${MAX_BUFFERED / 1024} KiB); ${formatStats(stats)}`);
      expect(close.code).to.equal(4008);
      // The high-water mark plus one message frame and its TLS record overhead.
      expect(max).to.be.below(MAX_BUFFERED + 3 * 4096 + 2048);
      expectHonestServed(stats);
    } finally {
      watch.stop();
      a.destroy();
      await s.close();
      live.server.reload(config);
    }
  });

  it('stops reading from an echo client that sends without reading (buffer bounded) and drops it when it misses the pong (ws_pong_timeout)', async () => {
    const probe = new HonestProbe(live.port).start();
    const a = await WsRawClient.open(live.port, { tls: true, path: '/echo' });
    a.pauseReading();
    const watch = new BufferWatch(live, a.socket, 5);
    const started = performance.now();
    // 400 × 8 KiB = 3.2 MB offered; the server reads only while it can write.
    void a.send(Buffer.concat(Array.from({ length: 400 }, () => a.frame({ opcode: OP.BINARY, payload: Buffer.alloc(8192, 0x61) }))));
    try {
      await waitFor(() => serverSideOf(live, a.socket) === undefined, 10_000, 'the server to drop the echo client');
      const cutAfter = performance.now() - started;
      const max = watch.stop();
      const stats = await probe.stop();
      report('echo client that never reads', `server-side buffer max ${(max / 1024).toFixed(1)} KiB; dropped after ${cutAfter.toFixed(0)} ms (ws_ping_interval ${PING_INTERVAL} + ws_pong_timeout ${PONG_TIMEOUT} ms); ${formatStats(stats)}`);
      expect(max).to.be.below(MAX_BUFFERED + 2 * 8192 + 4096);
      expect(cutAfter).to.be.below(PING_INTERVAL + PONG_TIMEOUT + 4000);
      expectHonestServed(stats);
    } finally {
      watch.stop();
      a.destroy();
    }
  });

  it('closes a message of endless 1-byte fragments with 1009 once it passes ws_max_message_bytes (RFC 6455 §10.4)', async () => {
    const user = await registerUser(live.port);
    const probe = new HonestProbe(live.port).start();
    const a = await rawChat(user.token);
    const started = performance.now();
    await a.sendFrames({ opcode: OP.TEXT, payload: 'a', fin: false });
    let fragments = 1;
    try {
      while (a.closeFrame === null && a.isOpen && fragments < 3 * MAX_MESSAGE) {
        await a.send(Buffer.concat(Array.from({ length: 256 }, () => a.frame({ opcode: OP.CONTINUATION, payload: 'a', fin: false }))));
        fragments += 256;
        await sleep(1);
      }
      const close = await a.closeFrameReceived(5000);
      const stats = await probe.stop();
      report('endless 1-byte fragments', `closed with ${close.code} after ${fragments} fragments in ${(performance.now() - started).toFixed(0)} ms (ws_max_message_bytes ${MAX_MESSAGE}); ${formatStats(stats)}`);
      expect(close.code).to.equal(1009);
      expect(fragments).to.be.within(MAX_MESSAGE, MAX_MESSAGE + 512);
      expectHonestServed(stats);
    } finally {
      a.destroy();
    }
  });

  it('holds a message of 65,535 one-byte fragments in memory close to its size, not ~100 bytes per fragment (fixed in lib/ws/frame-parser.ts)', () => {
    // A child process with --expose-gc, so the heap can be measured after a collection.
    const parserUrl = new URL('../../lib/ws/frame-parser.js', import.meta.url).href;
    const encoderUrl = new URL('../../lib/ws/frame-encoder.js', import.meta.url).href;
    const script = `
      const { FrameParser } = await import(${JSON.stringify(parserUrl)});
      const { encodeFrame } = await import(${JSON.stringify(encoderUrl)});
      const mask = Buffer.from([1, 2, 3, 4]);
      const frames = [encodeFrame(1, Buffer.from('a'), { fin: false, mask })];
      for (let i = 1; i < 65535; i++) frames.push(encodeFrame(0, Buffer.from('a'), { fin: false, mask }));
      const stream = Buffer.concat(frames);
      const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
      global.gc(); const before = used();
      const keep = [];
      for (let k = 0; k < 8; k++) {
        const p = new FrameParser({ maxMessageBytes: 65536, requireMask: true });
        for (let at = 0; at < stream.length; at += 16384) { const r = p.push(stream.subarray(at, at + 16384)); if (r.error) throw r.error; }
        keep.push(p);
      }
      global.gc();
      console.log(JSON.stringify({ perParser: (used() - before) / keep.length, wire: stream.length }));
    `;
    const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) });
    expect(run.status, run.stderr).to.equal(0);
    const { perParser, wire } = JSON.parse(run.stdout) as { perParser: number; wire: number };
    report('memory of a 64 KiB message sent as 65,535 one-byte fragments', `${(perParser / 1024).toFixed(0)} KiB held per connection for ${(wire / 1024).toFixed(0)} KiB sent (was ~7,800 KiB before the fix)`);
    expect(perParser).to.be.below(512 * 1024);
  });

  it('closes a message of endless empty fragments with 1009 once they count past ws_max_message_bytes, one byte each (RFC 6455 §5.4, §10.4)', async () => {
    const user = await registerUser(live.port);
    const probe = new HonestProbe(live.port).start();
    const a = await rawChat(user.token);
    a.autoPong = true;
    const started = performance.now();
    await a.sendFrames({ opcode: OP.TEXT, payload: 'a', fin: false });
    let fragments = 1;
    try {
      // Empty fragments hold no memory, but a message of endless ones must still end (it was bounded by nothing).
      while (a.closeFrame === null && a.isOpen && fragments < 5 * MAX_MESSAGE) {
        await a.send(Buffer.concat(Array.from({ length: 256 }, () => a.frame({ opcode: OP.CONTINUATION, fin: false }))));
        fragments += 256;
        await sleep(1);
      }
      const close = await a.closeFrameReceived(5000);
      const stats = await probe.stop();
      report('endless empty fragments', `closed with ${close.code} after ${fragments} fragments in ${(performance.now() - started).toFixed(0)} ms (ws_max_message_bytes ${MAX_MESSAGE}); ${formatStats(stats)}`);
      expect(close.code).to.equal(1009);
      expect(fragments).to.be.within(MAX_MESSAGE, MAX_MESSAGE + 512);
      expectHonestServed(stats);
    } finally {
      a.destroy();
    }
  });

  it('still accepts a message with a few empty fragments in it (Autobahn 6.1.x)', async () => {
    const user = await registerUser(live.port);
    const a = await rawChat(user.token);
    try {
      await a.sendFrames(
        { opcode: OP.TEXT, payload: '', fin: false },
        { opcode: OP.CONTINUATION, payload: '{"type":', fin: false },
        { opcode: OP.CONTINUATION, payload: '', fin: false },
        { opcode: OP.CONTINUATION, payload: '"nonsense"}', fin: false },
        { opcode: OP.CONTINUATION, payload: '', fin: true },
      );
      const reply = JSON.parse((await a.nextMessage('text')).toString()) as { type: string; code?: string };
      // The message arrived whole: an unknown type is answered with an error, and the connection stays open.
      expect(reply.type).to.equal('error');
      expect(a.isOpen).to.equal(true);
    } finally {
      a.destroy();
    }
  });

  it('answers a ping flood from a client that reads (10,000 pings of 125 bytes) and keeps serving others', async () => {
    const probe = new HonestProbe(live.port).start();
    const a = await WsRawClient.open(live.port, { tls: true, path: '/echo' });
    const payload = Buffer.alloc(125, 0x70);
    const started = performance.now();
    try {
      for (let i = 0; i < 20; i++) {
        await a.send(Buffer.concat(Array.from({ length: 500 }, () => a.frame({ opcode: OP.PING, payload }))));
      }
      await a.until(() => a.events.filter((e) => e.event.type === 'pong').length === 10_000, 'every pong', 15_000);
      const elapsed = performance.now() - started;
      const stats = await probe.stop();
      report('ping flood (reading)', `10,000 pings answered with 10,000 pongs in ${elapsed.toFixed(0)} ms; ${formatStats(stats)}`);
      expect(a.isOpen).to.equal(true);
      expectHonestServed(stats);
    } finally {
      a.destroy();
    }
  });

  it('keeps the buffer of a ping flood that never reads its pongs bounded, and drops the client at the pong timeout', async () => {
    const probe = new HonestProbe(live.port).start();
    const a = await WsRawClient.open(live.port, { tls: true, path: '/echo' });
    a.pauseReading();
    const watch = new BufferWatch(live, a.socket, 5);
    const payload = Buffer.alloc(125, 0x70);
    const started = performance.now();
    // 40,000 pings ≈ 5.2 MB offered.
    void a.send(Buffer.concat(Array.from({ length: 40_000 }, () => a.frame({ opcode: OP.PING, payload }))));
    try {
      await waitFor(() => serverSideOf(live, a.socket) === undefined, 10_000, 'the server to drop the ping flooder');
      const cutAfter = performance.now() - started;
      const max = watch.stop();
      const stats = await probe.stop();
      report('ping flood (never reading)', `server-side buffer max ${(max / 1024).toFixed(1)} KiB for 5.2 MB of pings offered; dropped after ${cutAfter.toFixed(0)} ms; ${formatStats(stats)}`);
      expect(max).to.be.below(MAX_BUFFERED + 64 * 1024);
      expectHonestServed(stats);
    } finally {
      watch.stop();
      a.destroy();
    }
  });

  it('closes with 1009 at once a frame announcing 2^62 bytes, before any payload (RFC 6455 §10.4)', async () => {
    for (const path of ['/echo', '/ws']) {
      const user = await registerUser(live.port);
      const a = path === '/ws' ? await rawChat(user.token) : await WsRawClient.open(live.port, { tls: true, path });
      const started = performance.now();
      await a.send(a.frame({ opcode: OP.BINARY, length: 2n ** 62n, payload: Buffer.alloc(0) }));
      const seen = await a.closed(3000);
      const after = performance.now() - started;
      report(`2^62-byte frame header on ${path}`, `closed with ${seen.code} after ${after.toFixed(1)} ms`);
      expect(seen.code).to.equal(1009);
      expect(after).to.be.below(1000);
    }
  });
});

describe('hardening: thousands of connections from many loopback addresses (live server)', function () {
  this.timeout(40_000);
  const PER_IP = 50;
  const HANDSHAKE_TIMEOUT = 2500;
  let live: LiveServer;

  before(async () => {
    live = await startServer({
      max_connections_per_ip: PER_IP,
      max_connections: 5000,
      connection_rate: 100_000,
      connection_burst: 100_000,
      tls_handshake_timeout: HANDSHAKE_TIMEOUT,
      sweep_interval: 100,
      log_level: 'info',
    });
  });
  after(() => live.close());

  /** Connections from `addresses` the server has decided on: in its registry, or refused (any reason; the honest client is never refused). */
  const decided = (addresses: readonly string[], refusedBefore: number) =>
    [...live.server.connections].filter((c) => addresses.includes(c.peer.ip)).length + metric(live, 'chat_connections_refused_total') - refusedBefore;

  /**
   * Open TCP connections (no TLS handshake: the cheapest attack); resolves once
   * the server has decided on every one (admitted or refused: the kernel
   * completes a handshake before the server accepts it) and the client has seen
   * each refusal.
   */
  async function flood(addresses: readonly string[], perAddress: number, expectOpen: number): Promise<net.Socket[]> {
    const refusedBefore = metric(live, 'chat_connections_refused_total');
    const sockets: net.Socket[] = [];
    const connected: Promise<void>[] = [];
    for (const localAddress of addresses) {
      for (let i = 0; i < perAddress; i++) {
        const s = net.connect({ port: live.port, host: '127.0.0.1', localAddress });
        s.on('error', () => {
          // a refusal is a reset or a FIN: the test counts open sockets
        });
        sockets.push(s);
        connected.push(new Promise((r) => { s.once('connect', () => r()); s.once('close', () => r()); }));
      }
      await sleep(5);
    }
    await Promise.all(connected);
    const total = addresses.length * perAddress;
    await waitFor(() => decided(addresses, refusedBefore) === total, 15_000, `the server to admit or refuse all ${total} connections`);
    await waitFor(() => sockets.filter((s) => !s.destroyed && s.readyState === 'open').length <= expectOpen, 5000, 'the refused connections to close');
    return sockets;
  }

  it('admits max_connections_per_ip from each of 20 addresses (2,000 attempts), refuses the rest at once, serves an honest client, then sweeps the idle ones', async () => {
    const probe = new HonestProbe(live.port).start();
    const addresses = loopbackAddresses(10, 20);
    const refusedBefore = metric(live, 'chat_connections_refused_total', { reason: 'max_connections_per_ip' });
    const started = performance.now();
    const sockets = await flood(addresses, 100, 20 * PER_IP);
    try {
      const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
      const refused = metric(live, 'chat_connections_refused_total', { reason: 'max_connections_per_ip' }) - refusedBefore;
      const perAddress = addresses.map((a) => [...live.server.connections].filter((c) => c.peer.ip === a).length);
      const registry = live.server.connections.size;
      const floodStats = await probe.stop();
      report('2,000 connections from 20 addresses', `${open} held open, ${refused} refused (max_connections_per_ip ${PER_IP}), registry ${registry}, per address max ${Math.max(...perAddress)}; ${formatStats(floodStats)}`);
      expect(refused).to.equal(2000 - 20 * PER_IP);
      expect(open).to.equal(20 * PER_IP);
      expect(Math.max(...perAddress)).to.equal(PER_IP);
      // 3 s here: the 2,000 connections are opened by this very process, on the event loop the server shares.
      expectHonestServed(floodStats, 3000);
      // The held connections never start TLS: the sweep closes them after tls_handshake_timeout.
      await waitFor(() => [...live.server.connections].every((c) => !addresses.includes(c.peer.ip)), HANDSHAKE_TIMEOUT + 5000, 'the sweep to close the idle connections');
      report('2,000 connections from 20 addresses', `all held connections closed by the sweep ${(performance.now() - started).toFixed(0)} ms after the flood began (tls_handshake_timeout ${HANDSHAKE_TIMEOUT} ms)`);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('refuses connections over max_connections from any address, and serves again once the flood is gone', async () => {
    const config = live.server.currentConfig;
    live.server.reload({ ...config, max_connections: 300, max_connections_per_ip: 1000 });
    const refusedBefore = metric(live, 'chat_connections_refused_total', { reason: 'max_connections' });
    const sockets = await flood(loopbackAddresses(40, 20), 20, 300);
    try {
      const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
      const refused = metric(live, 'chat_connections_refused_total', { reason: 'max_connections' }) - refusedBefore;
      report('400 connections against max_connections 300', `${open} held open, ${refused} refused (max_connections), registry ${live.server.connections.size}`);
      expect(live.server.connections.size).to.be.at.most(300);
      expect(open).to.equal(300);
      expect(refused).to.equal(100);
      for (const s of sockets) s.destroy();
      await waitFor(() => live.server.connections.size === 0, 5000, 'the registry to empty');
      const probe = new HonestProbe(live.port).start();
      await sleep(300);
      expectHonestServed(await probe.stop());
    } finally {
      for (const s of sockets) s.destroy();
      live.server.reload(config);
    }
  });
});
