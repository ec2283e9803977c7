/**
 * The echo endpoint seen by an independent, well-behaved client: the `ws`
 * package (a devDependency, never used at run time). Where the raw-socket
 * suite (conformance.spec.ts) sends what a polite client won't, this one
 * checks that someone else's implementation of RFC 6455 and ours agree on
 * the ordinary things: the handshake, echo of text and binary, ping/pong,
 * the closing handshake, many messages in order. Over ws:// and wss://.
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { seededRandom } from '../helpers/splits.js';

const ECHO_PATH = '/echo';

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // Our test server's certificate is self-signed (first start).
    const ws = new WebSocket(url, { rejectUnauthorized: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message in time')), 5000);
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      resolve({ data: data as Buffer, isBinary });
    });
  });
}

function closeEvent(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no close in time')), 5000);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
}

for (const transport of [{ tls: false, scheme: 'ws' }, { tls: true, scheme: 'wss' }]) {
  describe(`ws/conformance: the ws package as an independent client over ${transport.scheme}://`, () => {
    let live: LiveServer;
    let url: string;
    before(async () => {
      live = await startServer({ tls: transport.tls, ws_echo_path: ECHO_PATH, log_level: 'warn' });
      url = `${transport.scheme}://127.0.0.1:${live.port}${ECHO_PATH}`;
    });
    after(() => live.close());

    it('opens (the ws package checks our Sec-WebSocket-Accept, RFC 6455 §4.1) and negotiates no extension though it offers permessage-deflate', async () => {
      const ws = await open(url);
      // ws offers permessage-deflate by default; we decline every extension (§9.1).
      expect(ws.extensions).to.equal('');
      expect(ws.protocol).to.equal('');
      ws.terminate();
    });

    it('echoes a text message as text, character for character', async () => {
      const ws = await open(url);
      const message = 'Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞';
      ws.send(message);
      const got = await nextMessage(ws);
      expect(got.isBinary).to.equal(false);
      expect(got.data.toString('utf8')).to.equal(message);
      ws.terminate();
    });

    it('echoes a binary message as binary, byte for byte, at 7-, 16- and 64-bit lengths', async () => {
      const ws = await open(url);
      const rnd = seededRandom(7);
      for (const size of [0, 1, 125, 126, 65535, 65536, 300_000]) {
        const data = Buffer.from(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
        ws.send(data);
        const got = await nextMessage(ws);
        expect(got.isBinary, `size ${size}`).to.equal(true);
        expect(got.data.equals(data), `size ${size}`).to.equal(true);
      }
      ws.terminate();
    });

    it('answers the ping of the ws package with a pong of the same payload (§5.5.2)', async () => {
      const ws = await open(url);
      const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
      ws.ping(Buffer.from('are you there?'));
      expect((await pong).toString()).to.equal('are you there?');
      ws.terminate();
    });

    it('closes cleanly when the ws package closes: our Close echoes its code and we end TCP (§7.1.1)', async () => {
      const ws = await open(url);
      const closed = closeEvent(ws);
      ws.close(1000, 'bye');
      const { code } = await closed;
      expect(code).to.equal(1000);
    });

    it('echoes a close code from the private range (4000–4999) back to the ws package', async () => {
      const ws = await open(url);
      const closed = closeEvent(ws);
      ws.close(4321, 'private');
      expect((await closed).code).to.equal(4321);
    });

    it('echoes 1000 messages in the order they were sent, text and binary alternating', async () => {
      const ws = await open(url);
      const count = 1000;
      const received: string[] = [];
      const done = new Promise<void>((resolve) => {
        ws.on('message', (data, isBinary) => {
          received.push(`${isBinary ? 'b' : 't'}:${(data as Buffer).toString('utf8')}`);
          if (received.length === count) resolve();
        });
      });
      const sent: string[] = [];
      for (let i = 0; i < count; i++) {
        if (i % 2 === 0) {
          ws.send(`message ${i}`);
          sent.push(`t:message ${i}`);
        } else {
          ws.send(Buffer.from(`message ${i}`), { binary: true });
          sent.push(`b:message ${i}`);
        }
      }
      await done;
      expect(received).to.deep.equal(sent);
      const closed = closeEvent(ws);
      ws.close(1000);
      expect((await closed).code).to.equal(1000);
    });

    it('closes with 1001 when the server drains, and the ws package sees a clean close', async () => {
      const own = await startServer({ tls: transport.tls, ws_echo_path: ECHO_PATH, log_level: 'warn', drain_timeout: 3000 });
      try {
        const ws = await open(`${transport.scheme}://127.0.0.1:${own.port}${ECHO_PATH}`);
        const closed = closeEvent(ws);
        const started = performance.now();
        await own.server.drain();
        const { code } = await closed;
        expect(code).to.equal(1001);
        // ws answers our Close at once, so the drain does not wait for its deadline.
        expect(performance.now() - started).to.be.below(2000);
      } finally {
        await own.close();
      }
    });
  });
}
