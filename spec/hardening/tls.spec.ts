/**
 * TLS (issue 8): only TLS 1.2 and 1.3, no weak cipher suites, no
 * client-initiated renegotiation, and a deadline on the handshake — each shown
 * against a live server with a client that really offers the weak thing (so a
 * refusal is the server's, counted in chat_tls_handshake_failures_total, and
 * not the client library refusing to send it).
 *
 * The handshake deadline for a client that connects and says nothing is in
 * spec/net/reactor.spec.ts ("closes a client that never completes the TLS
 * handshake after tls_handshake_timeout"); here a client sends half a
 * ClientHello and stalls (a TLS slowloris) while an honest client is served.
 *
 * testssl.sh is run by hand against a real server process, not here; its
 * findings are in docs/security.md.
 */
import { expect } from 'chai';
import net from 'node:net';
import tls from 'node:tls';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { HonestProbe, formatStats, metric, report, waitFor } from './attack-kit.js';

interface Handshake {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly protocol?: string | null;
  readonly cipher?: string;
  readonly socket?: tls.TLSSocket;
}

describe('hardening: TLS versions, cipher suites, renegotiation and handshake deadline (live server)', function () {
  this.timeout(20_000);
  const HANDSHAKE_TIMEOUT = 800;
  let live: LiveServer;

  before(async () => {
    live = await startServer({ tls_handshake_timeout: HANDSHAKE_TIMEOUT, sweep_interval: 100 });
  });
  after(() => live.close());

  function handshake(options: tls.ConnectionOptions): Promise<Handshake> {
    return new Promise((resolve) => {
      const socket = tls.connect({ port: live.port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false, ...options });
      socket.once('secureConnect', () => resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name, socket }));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code, message: err.message }));
    });
  }

  /** A refusal that the server made: it answered the ClientHello with an alert, and counted the failure. */
  async function expectServerRefusal(options: tls.ConnectionOptions, alert: string, what: string): Promise<void> {
    const failuresBefore = metric(live, 'chat_tls_handshake_failures_total');
    const result = await handshake(options);
    result.socket?.destroy();
    expect(result.ok, `${what} was accepted (${result.protocol} ${result.cipher})`).to.equal(false);
    expect(result.code, `${what}: ${result.message}`).to.equal(alert);
    await waitFor(() => metric(live, 'chat_tls_handshake_failures_total') > failuresBefore, 2000, 'the server to count the failed handshake');
  }

  it('accepts TLS 1.3, and TLS 1.2 with an ECDHE key exchange and an AEAD cipher (the control)', async () => {
    const v13 = await handshake({});
    const v12 = await handshake({ maxVersion: 'TLSv1.2' });
    v13.socket?.destroy();
    v12.socket?.destroy();
    report('TLS negotiated', `TLS 1.3: ${v13.protocol} ${v13.cipher}; TLS 1.2: ${v12.protocol} ${v12.cipher}`);
    expect(v13.protocol).to.equal('TLSv1.3');
    expect(v12.protocol).to.equal('TLSv1.2');
    expect(v12.cipher).to.match(/^ECDHE-.*(GCM|CHACHA20-POLY1305)/);
  });

  it('accepts each TLS 1.2 suite of TLS_CIPHERS that the ECDSA certificate can use, and each TLS 1.3 suite', async () => {
    for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
      const r = await handshake({ maxVersion: 'TLSv1.2', ciphers: cipher });
      r.socket?.destroy();
      expect(r.cipher, `${cipher}: ${r.message}`).to.equal(cipher);
    }
    for (const suite of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
      const r = await handshake({ minVersion: 'TLSv1.3', ciphers: suite });
      r.socket?.destroy();
      expect(r.cipher, `${suite}: ${r.message}`).to.equal(suite);
    }
  });

  for (const [version, max] of [['TLS 1.1', 'TLSv1.1'], ['TLS 1.0', 'TLSv1']] as const) {
    it(`refuses a ${version} client with a protocol_version alert (RFC 8996)`, async () => {
      // SECLEVEL=0 lets our own client really offer the old protocol.
      await expectServerRefusal({ minVersion: 'TLSv1', maxVersion: max, ciphers: 'DEFAULT@SECLEVEL=0' }, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', version);
    });
  }

  const WEAK = [
    ['RC4, 3DES, NULL, EXPORT and anonymous suites', 'RC4:3DES:NULL:EXPORT:aNULL:@SECLEVEL=0'],
    ['ECDHE-ECDSA with NULL, 3DES or RC4', 'ECDHE-ECDSA-NULL-SHA:ECDHE-ECDSA-DES-CBC3-SHA:ECDHE-ECDSA-RC4-SHA:@SECLEVEL=0'],
    ['static RSA key exchange (no forward secrecy)', 'AES128-SHA:AES256-SHA:AES128-GCM-SHA256:@SECLEVEL=0'],
    ['anonymous Diffie-Hellman (no authentication)', 'ADH-AES128-SHA:AECDH-AES128-SHA:@SECLEVEL=0'],
    ['CBC suites (LUCKY13; TLS_CIPHERS in lib/net/reactor.ts)', 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA'],
    ['AES-CCM and ARIA suites (not in TLS_CIPHERS)', 'ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES256-CCM8:ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-ARIA128-GCM-SHA256'],
  ] as const;

  for (const [name, ciphers] of WEAK) {
    it(`refuses a TLS 1.2 client offering only ${name} with a handshake_failure alert`, async () => {
      await expectServerRefusal({ maxVersion: 'TLSv1.2', ciphers }, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', name);
    });
  }

  it('refuses a client-initiated renegotiation on TLS 1.2 with a no_renegotiation alert, and no second handshake happens (RFC 5746, SSL_OP_NO_RENEGOTIATION)', async () => {
    const first = await handshake({ maxVersion: 'TLSv1.2' });
    const socket = first.socket!;
    let renegotiated = false;
    const error = new Promise<NodeJS.ErrnoException>((resolve) => socket.once('error', resolve));
    socket.renegotiate({ rejectUnauthorized: false }, (err) => {
      if (!err) renegotiated = true;
    });
    // The renegotiation's ClientHello goes out with the next write.
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const err = await Promise.race([error, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    socket.destroy();
    expect(err, 'the renegotiation did not fail').to.not.equal(null);
    expect(err!.message).to.match(/no renegotiation/i);
    expect(renegotiated).to.equal(false);
  });

  it('cuts a client that sends half a ClientHello and stalls after tls_handshake_timeout, while an honest client is served', async () => {
    const probe = new HonestProbe(live.port).start();
    const stalled: net.Socket[] = [];
    const started = performance.now();
    for (let i = 0; i < 30; i++) {
      const s = net.connect({ port: live.port, host: '127.0.0.1', localAddress: `127.0.0.${100 + (i % 5)}` });
      s.on('error', () => {
        // a reset is a close for this test
      });
      // A TLS record header announcing a 512-byte handshake message, then 4 bytes of it (RFC 8446 §5.1).
      s.on('connect', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])));
      stalled.push(s);
    }
    try {
      const closedAfter = await Promise.all(stalled.map((s) => new Promise<number>((r) => s.once('close', () => r(performance.now() - started)))));
      const stats = await probe.stop();
      report('half a ClientHello x30', `cut after ${Math.min(...closedAfter).toFixed(0)}–${Math.max(...closedAfter).toFixed(0)} ms (tls_handshake_timeout ${HANDSHAKE_TIMEOUT} ms); ${formatStats(stats)}`);
      expect(Math.max(...closedAfter)).to.be.below(HANDSHAKE_TIMEOUT + 2500);
      expect(Math.min(...closedAfter)).to.be.at.least(HANDSHAKE_TIMEOUT - 150);
      expect(stats.failures).to.equal(0);
      expect(stats.count).to.be.greaterThan(0);
      expect(stats.max).to.be.below(2000);
    } finally {
      for (const s of stalled) s.destroy();
    }
  });
});
