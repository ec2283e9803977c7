/**
 * Graceful drain, on the real process (bin/server.ts) and in-process:
 * SIGTERM → stop accepting, /healthz 503, in-flight requests finish, idle
 * keep-alive connections close, exit 0 within drain_timeout; a second signal
 * exits at once.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startServer } from '../helpers/live-server.js';
import { connect, parseResponses, readResponses } from '../helpers/raw-client.js';
import { spawnServer, type SpawnedServer } from '../helpers/spawned-server.js';
import { jsonResponse } from '../../lib/http/response.js';

function spawnWithConf(dir: string, extraConf = ''): Promise<SpawnedServer> {
  const conf = join(dir, 'server.conf');
  writeFileSync(conf, `port = 0\ndata_dir = ${join(dir, 'data')}\npublic_dir = ${join(REPO_ROOT, 'public')}\n${extraConf || 'drain_timeout = 3s\n'}`);
  return spawnServer(conf);
}

describe('app: graceful drain', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chat-drain-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the real process prints its URL, then on SIGTERM closes idle keep-alive connections and exits 0', async () => {
    const s = await spawnWithConf(dir);
    const client = await connect(s.port, { tls: true });
    client.send('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect((await readResponses(client, 1))[0]!.status).to.equal(200);
    const started = Date.now();
    s.child.kill('SIGTERM');
    await client.closed(5000);
    const { code } = await s.exited;
    expect(code).to.equal(0);
    expect(Date.now() - started).to.be.below(3000 + 2000);
    expect(s.output()).to.match(/"msg":"draining"/);
  });

  it('the real process exits at once on a second signal', async () => {
    const s = await spawnWithConf(dir, 'drain_timeout = 20s\nkeepalive_timeout = 60s\n');
    // a connection in the middle of a request head keeps the drain waiting
    const client = await connect(s.port, { tls: true });
    client.send('GET /healthz HTTP/1.1\r\n');
    await new Promise((r) => setTimeout(r, 100));
    s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.child.exitCode).to.equal(null);
    s.child.kill('SIGTERM');
    const { code } = await s.exited;
    expect(code).to.equal(1);
    client.destroy();
  });

  it('the real process refuses to start with a bad config file, naming file, line and key', async () => {
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, 'port = 0\nmax_conections = 5\n');
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'bin', 'server.js'), '--config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).to.equal(78); // sysexits EX_CONFIG
    expect(err).to.include('bad.conf:2');
    expect(err).to.include('max_connections');
  });

  it('in-process: an in-flight request finishes with Connection: close, idle connections close, the listener stops accepting', async () => {
    let release: () => void = () => {};
    const live = await startServer({ drain_timeout: 5000 }, {
      prepare: (s) => {
        s.route('GET', '/spec-slow', () => new Promise((resolve) => (release = () => resolve(jsonResponse(200, { done: true })))));
      },
    });
    try {
      const slow = await connect(live.port, { tls: true });
      const other = await connect(live.port, { tls: true });
      other.send('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await readResponses(other, 1);
      slow.send('GET /spec-slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await new Promise((r) => setTimeout(r, 50));
      const drained = live.server.drain();
      // the idle keep-alive connection is closed
      await other.closed(2000);
      // the in-flight request completes, with Connection: close
      release();
      const all = await slow.closed(3000);
      const [res] = parseResponses(all);
      expect(res!.status).to.equal(200);
      expect(res!.headers.get('connection')).to.equal('close');
      await drained;
      // the listener is closed
      const refused = await connect(live.port, { tls: true }).then(
        (c) => {
          c.destroy();
          return false;
        },
        () => true,
      );
      expect(refused).to.equal(true);
    } finally {
      await live.close();
    }
  });

  it('in-process: a request completed during a drain gets 503: /healthz {"status":"draining"}, an API route `draining`', async () => {
    const live = await startServer({ drain_timeout: 5000 }, {
      prepare: (s) => {
        s.route('GET', '/spec-api', () => jsonResponse(200, { ok: true }));
      },
    });
    try {
      // Two clients in the middle of a request head: a drain waits for them.
      const a = await connect(live.port, { tls: true });
      const b = await connect(live.port, { tls: true });
      a.send('GET /healthz HTTP/1.1\r\n');
      b.send('GET /spec-api HTTP/1.1\r\n');
      await new Promise((r) => setTimeout(r, 50));
      const drained = live.server.drain();
      a.send('Host: localhost\r\n\r\n');
      b.send('Host: localhost\r\n\r\n');
      const [health] = parseResponses(await a.closed(3000));
      expect(health!.status).to.equal(503);
      expect(JSON.parse(health!.body.toString())).to.deep.equal({ status: 'draining' });
      expect(health!.headers.get('connection')).to.equal('close');
      const [api] = parseResponses(await b.closed(3000));
      expect(api!.status).to.equal(503);
      expect(JSON.parse(api!.body.toString()).error.code).to.equal('draining');
      await drained;
    } finally {
      await live.close();
    }
  });
});
