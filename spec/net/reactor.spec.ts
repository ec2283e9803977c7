/**
 * The reactor against real sockets: admission caps, the connection rate, the
 * one sweep's timeouts, and garbage that must not hurt the server.
 */
import { expect } from 'chai';
import net from 'node:net';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { connect, parseResponses, readResponses, request } from '../helpers/raw-client.js';
import { seededRandom } from '../helpers/splits.js';

/** Resolves true if the server closed the TCP connection without any TLS or HTTP byte. */
function refusedAtOnce(port: number, localAddress?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let got = 0;
    s.on('data', (d) => (got += d.length));
    s.on('error', () => {});
    s.on('close', () => resolve(got === 0));
    s.setTimeout(1500, () => {
      s.destroy();
      resolve(false);
    });
  });
}

describe('net/reactor (live server)', function () {
  describe('admission', () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ max_connections_per_ip: 3, max_connections: 5, connection_rate: 1000, connection_burst: 1000 });
    });
    after(() => live.close());

    it('refuses the (N+1)th connection from one address at once, and counts it', async () => {
      const open = await Promise.all([0, 1, 2].map(() => connect(live.port, { tls: true })));
      expect(await refusedAtOnce(live.port)).to.equal(true);
      // another loopback address is another client
      const other = await connect(live.port, { tls: true, localAddress: '127.0.0.2' });
      other.send('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect((await readResponses(other, 1))[0]!.status).to.equal(200);
      const metrics = await request(live.port, true, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n').catch(() => null);
      // the metrics request itself may be refused (cap 3 on 127.0.0.1): read it from 127.0.0.3 instead
      void metrics;
      const watcher = await connect(live.port, { tls: true, localAddress: '127.0.0.3' });
      watcher.send('GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n');
      const text = (await readResponses(watcher, 1))[0]!.body.toString();
      expect(text).to.match(/chat_connections_refused_total\{reason="max_connections_per_ip"\} [1-9]/);
      for (const c of [...open, other, watcher]) c.destroy();
    });

    it('refuses connections over max_connections from any address', async () => {
      const open = await Promise.all([2, 3, 4, 5, 6].map((n) => connect(live.port, { tls: true, localAddress: `127.0.0.${n}` })));
      expect(await refusedAtOnce(live.port, '127.0.0.7')).to.equal(true);
      for (const c of open) c.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const again = await connect(live.port, { tls: true, localAddress: '127.0.0.7' });
      again.destroy();
    });
  });

  describe('connection rate', () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ connection_rate: 1, connection_burst: 3 });
    });
    after(() => live.close());

    it('refuses new connections from an address past its token bucket, but not from others', async () => {
      for (let i = 0; i < 3; i++) (await connect(live.port, { tls: true, localAddress: '127.0.0.9' }).catch(() => null))?.destroy();
      expect(await refusedAtOnce(live.port, '127.0.0.9')).to.equal(true);
      const other = await connect(live.port, { tls: true, localAddress: '127.0.0.10' });
      other.destroy();
    });
  });

  describe('the sweep', () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ header_timeout: 400, keepalive_timeout: 400, tls_handshake_timeout: 400, body_timeout: 400, sweep_interval: 100 });
    });
    after(() => live.close());

    it('closes a client that never completes the TLS handshake after tls_handshake_timeout', async () => {
      const s = net.connect({ port: live.port, host: '127.0.0.1' });
      s.on('error', () => {});
      const started = Date.now();
      await new Promise((r) => s.on('close', r));
      expect(Date.now() - started).to.be.within(300, 3000);
    });

    it('closes a silent client after header_timeout', async () => {
      const client = await connect(live.port, { tls: true });
      const data = await client.closed(3000);
      expect(data.length).to.equal(0);
    });

    it('answers a slowloris head with 408 and closes it after header_timeout, however it trickles', async () => {
      const client = await connect(live.port, { tls: true });
      client.send('GET / HTTP/1.1\r\n');
      const timer = setInterval(() => client.send('X: y\r\n'), 100);
      try {
        const data = await client.closed(3000);
        expect(parseResponses(data)[0]!.status).to.equal(408);
      } finally {
        clearInterval(timer);
      }
    });

    it('closes a stalled body after body_timeout with 408', async () => {
      const client = await connect(live.port, { tls: true });
      client.send('POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc');
      const data = await client.closed(3000);
      expect(parseResponses(data)[0]!.status).to.equal(408);
    });

    it('closes an idle keep-alive connection after keepalive_timeout', async () => {
      const client = await connect(live.port, { tls: true });
      client.send('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await readResponses(client, 1);
      const started = Date.now();
      await client.closed(3000);
      expect(Date.now() - started).to.be.within(200, 3000);
    });
  });

  describe('hostile bytes', () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ tls: false, connection_rate: 1000, connection_burst: 1000 });
    });
    after(() => live.close());

    it('survives seeded random bytes and garbage heads, and still serves', async function () {
      this.timeout(30_000);
      const rnd = seededRandom(2026);
      const garbage: Buffer[] = [
        Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'), // a TLS ClientHello to a plain port
        Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\x00\r\n\r\n'),
        Buffer.from('\r\n\r\n\r\n\r\n'),
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        Buffer.from('GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n'),
      ];
      for (let i = 0; i < 60; i++) {
        const len = 1 + Math.floor(rnd() * 600);
        garbage.push(Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256))));
      }
      for (const bytes of garbage) {
        const c = await connect(live.port, { tls: false });
        c.send(bytes);
        await Promise.race([c.closed(1500).catch(() => null), new Promise((r) => setTimeout(r, 150))]);
        c.destroy();
      }
      const res = await request(live.port, false, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect(res.status).to.equal(200);
    });
  });

  describe('trust_proxy and admission', () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ tls: false, trust_proxy: ['127.0.0.20'], max_connections_per_ip: 2, connection_rate: 1, connection_burst: 2 });
    });
    after(() => live.close());

    it('exempts a trusted proxy from the per-address cap and rate: every client arrives from its address', async () => {
      const fromProxy = await Promise.all([0, 1, 2, 3, 4].map(() => connect(live.port, { tls: false, localAddress: '127.0.0.20' })));
      for (const c of fromProxy) {
        c.send('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
        expect((await readResponses(c, 1))[0]!.status).to.equal(200);
      }
      // anyone else is still limited
      await Promise.all([0, 1].map(() => connect(live.port, { tls: false, localAddress: '127.0.0.21' })));
      expect(await refusedAtOnce(live.port, '127.0.0.21')).to.equal(true);
      for (const c of fromProxy) c.destroy();
    });
  });

  describe('trust_proxy', () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ tls: false, trust_proxy: ['127.0.0.1'], metrics_token: 'metrics-token-for-the-test' });
    });
    after(() => live.close());

    it('takes the client address from X-Forwarded-For sent by a listed proxy: /metrics then needs the token', async () => {
      const denied = await request(live.port, false, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n');
      expect(denied.status).to.equal(403);
      expect(JSON.parse(denied.body.toString()).error.code).to.equal('forbidden');
      const allowed = await request(live.port, false, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 203.0.113.5\r\nAuthorization: Bearer metrics-token-for-the-test\r\n\r\n');
      expect(allowed.status).to.equal(200);
      const direct = await request(live.port, false, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect(direct.status).to.equal(200);
    });
  });
});
