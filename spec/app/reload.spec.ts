/**
 * SIGHUP reload on the real process: limits change while a WebSocket stays
 * open; a new certificate is seen by new TLS connections while the old one
 * keeps working; a bad file keeps the running configuration.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import WebSocket from 'ws';
import { REPO_ROOT } from '../helpers/live-server.js';
import { spawnServer, waitForOutput } from '../helpers/spawned-server.js';
import { createSelfSignedCertificate } from '../../lib/net/self-signed-cert.js';

function peerCertificateCN(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.destroy();
      resolve(String(Array.isArray(cn) ? cn[0] : cn));
    });
    s.on('error', reject);
  });
}

describe('app: SIGHUP reload (real process)', function () {
  this.timeout(30_000);
  let dir: string;
  let child: ChildProcess | null = null;
  let output: () => string = () => '';
  let port = 0;
  const conf = () => join(dir, 'server.conf');
  const certA = createSelfSignedCertificate({ commonName: 'cert-a', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 2 });
  const certB = createSelfSignedCertificate({ commonName: 'cert-b', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 2 });

  function writeConf(extra: string): void {
    writeFileSync(
      conf(),
      `port = 0\ndata_dir = ${join(dir, 'data')}\npublic_dir = ${join(REPO_ROOT, 'public')}\nws_echo_path = /echo\n` +
        `cert_file = ${join(dir, 'cert.pem')}\nkey_file = ${join(dir, 'key.pem')}\nlog_level = info\n${extra}`,
    );
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chat-reload-'));
    writeFileSync(join(dir, 'cert.pem'), certA.certPem);
    writeFileSync(join(dir, 'key.pem'), certA.keyPem, { mode: 0o600 });
    writeConf('max_connections_per_ip = 100\n');
    const spawned = await spawnServer(conf(), { secret: 'reload-test-secret-with-at-least-32-bytes!!' });
    child = spawned.child;
    output = spawned.output;
    port = spawned.port;
  });

  afterEach(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function openEcho(): Promise<WebSocket> {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/echo`, { rejectUnauthorized: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return ws;
  }

  async function echo(ws: WebSocket, text: string): Promise<string> {
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send(text);
    return reply;
  }

  it('applies a new per-address cap to new connections while an open WebSocket keeps working', async () => {
    const ws = await openEcho();
    expect(await echo(ws, 'before')).to.equal('before');
    writeConf('max_connections_per_ip = 1\n');
    child!.kill('SIGHUP');
    await waitForOutput(output, /"msg":"reloaded".*max_connections_per_ip/);
    // the open WebSocket is the one connection allowed from 127.0.0.1: a new one is refused
    const refused = await openEcho().then(
      (extra) => {
        extra.terminate();
        return false;
      },
      () => true,
    );
    expect(refused).to.equal(true);
    expect(await echo(ws, 'after')).to.equal('after');
    ws.close();
  });

  it('serves a rotated certificate to new TLS connections; the open one keeps working', async () => {
    expect(await peerCertificateCN(port)).to.equal('cert-a');
    const ws = await openEcho();
    writeFileSync(join(dir, 'cert.pem'), certB.certPem);
    writeFileSync(join(dir, 'key.pem'), certB.keyPem, { mode: 0o600 });
    child!.kill('SIGHUP');
    await waitForOutput(output, /"msg":"reloaded"/);
    expect(await peerCertificateCN(port)).to.equal('cert-b');
    expect(await echo(ws, 'still here')).to.equal('still here');
    ws.close();
  });

  it('keeps the running configuration when the new file has a problem, and says why', async () => {
    writeConf('max_connections_per_ip = lots\n');
    child!.kill('SIGHUP');
    await waitForOutput(output, /"msg":"reload refused: the running configuration is kept"/);
    expect(output()).to.match(/server\.conf:\d+: max_connections_per_ip/);
    const ws = await openEcho();
    expect(await echo(ws, 'ok')).to.equal('ok');
    ws.close();
  });

  it('reports keys that need a restart and keeps their running value', async () => {
    writeConf('max_connections_per_ip = 100\nstatic_cache_max_bytes = 1MiB\n');
    child!.kill('SIGHUP');
    await waitForOutput(output, /"need_restart":\["static_cache_max_bytes"\]/);
  });
});
