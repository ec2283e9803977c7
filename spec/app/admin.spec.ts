/**
 * The admin command against a running server (bin/admin.ts), and a backup
 * restored by copying it in place.
 */
import { expect } from 'chai';
import { execFile, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import WebSocket from 'ws';
import { REPO_ROOT } from '../helpers/live-server.js';
import { spawnServer } from '../helpers/spawned-server.js';

const SECRET = 'admin-test-secret-with-at-least-32-bytes-ok';

function admin(conf: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'dist', 'bin', 'admin.js'), ...args, '--config', conf], { env: { ...process.env, SECRET_KEY: SECRET } }, (error, out, err) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

function api(port: number, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request(
      { host: '127.0.0.1', port, method, path, rejectUnauthorized: false, headers: { ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

describe('app: the admin command (real process)', function () {
  this.timeout(60_000);
  let dir: string;
  let conf: string;
  let child: ChildProcess | null = null;
  let port = 0;

  async function startServer(): Promise<void> {
    const spawned = await spawnServer(conf, { secret: SECRET });
    child = spawned.child;
    port = spawned.port;
  }

  async function stopServer(): Promise<void> {
    if (!child) return;
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    child = null;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chat-admin-'));
    conf = join(dir, 'server.conf');
    writeFileSync(conf, `port = 0\ndata_dir = ${join(dir, 'data')}\npublic_dir = ${join(REPO_ROOT, 'public')}\npassword_hash_cost = 14\ndrain_timeout = 2s\n`);
    await startServer();
  });
  after(async () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists and finds users', async () => {
    expect((await api(port, 'POST', '/register', { username: 'alice', password: 'correct horse battery' })).status).to.equal(201);
    expect((await api(port, 'POST', '/register', { username: 'bob_the_builder', password: 'correct horse battery' })).status).to.equal(201);
    const users = await admin(conf, 'users');
    expect(users.code).to.equal(0);
    expect(users.out).to.match(/alice/).and.match(/bob_the_builder/);
    const found = await admin(conf, 'find', 'BUILD');
    expect(found.out).to.include('bob_the_builder').and.not.include('alice');
  });

  it('disable closes the user\'s live WebSocket with 1008 within a few seconds and refuses their token; enable undoes it', async () => {
    const login = await api(port, 'POST', '/login', { username: 'alice', password: 'correct horse battery' });
    const token = login.json.token as string;
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, ['chat.v1', `bearer.${token}`], { rejectUnauthorized: false });
    await new Promise((resolve, reject) => {
      ws.once('message', resolve); // hello
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    const started = Date.now();
    const result = await admin(conf, 'disable', 'Alice');
    expect(result.code).to.equal(0);
    expect(await closed).to.equal(1008);
    expect(Date.now() - started).to.be.below(5000);
    expect((await api(port, 'GET', '/me', undefined, token)).status).to.equal(401);
    // the right password of a disabled account: refused (403), never a token
    const refused = await api(port, 'POST', '/login', { username: 'alice', password: 'correct horse battery' });
    expect(refused.status).to.equal(403);
    expect(refused.json).to.not.have.property('token');
    expect((await admin(conf, 'enable', 'alice')).code).to.equal(0);
    expect((await api(port, 'POST', '/login', { username: 'alice', password: 'correct horse battery' })).status).to.equal(200);
  });

  it('reset-password prints a new password that works, and revokes earlier tokens', async () => {
    const before = await api(port, 'POST', '/login', { username: 'bob_the_builder', password: 'correct horse battery' });
    const result = await admin(conf, 'reset-password', 'bob_the_builder');
    expect(result.code).to.equal(0);
    const password = /new password for bob_the_builder: (\S+)/.exec(result.out)![1]!;
    expect((await api(port, 'GET', '/me', undefined, before.json.token as string)).status).to.equal(401);
    expect((await api(port, 'POST', '/login', { username: 'bob_the_builder', password })).status).to.equal(200);
  });

  it('refuses unknown users and commands with a clear message and a non-zero exit', async () => {
    const missing = await admin(conf, 'disable', 'nobody_here');
    expect(missing.code).to.not.equal(0);
    expect(missing.err).to.include('no user named "nobody_here"');
    const unknown = await admin(conf, 'explode');
    expect(unknown.code).to.equal(2);
    expect(unknown.err).to.include('unknown command');
  });

  it('writes every action to the audit record', async () => {
    const audit = await admin(conf, 'audit', '--limit', '20');
    expect(audit.out).to.include('admin_disable').and.include('admin_enable').and.include('admin_reset_password');
    expect(audit.out).to.not.include('correct horse battery');
  });

  it('makes an online backup that restores by copying it in place', async () => {
    const backup = join(dir, 'backup.db');
    const result = await admin(conf, 'backup', backup);
    expect(result.code).to.equal(0);
    expect(existsSync(backup)).to.equal(true);
    // a user made after the backup is gone after the restore; the ones before remain
    expect((await api(port, 'POST', '/register', { username: 'carol', password: 'correct horse battery' })).status).to.equal(201);
    await stopServer();
    const db = join(dir, 'data', 'chat.db');
    for (const f of [`${db}-wal`, `${db}-shm`]) if (existsSync(f)) unlinkSync(f);
    copyFileSync(backup, db);
    await startServer();
    expect((await api(port, 'POST', '/login', { username: 'carol', password: 'correct horse battery' })).status).to.equal(401);
    expect((await api(port, 'POST', '/login', { username: 'alice', password: 'correct horse battery' })).status).to.equal(200);
  });

  it('lists and deletes rooms', async () => {
    const rooms = await admin(conf, 'rooms');
    expect(rooms.out).to.include('general');
    const refused = await admin(conf, 'delete-room', 'general');
    expect(refused.code).to.not.equal(0);
  });
});
