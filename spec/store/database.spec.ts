/**
 * Opening the database (lib/store/database.ts): WAL, busy_timeout,
 * synchronous = NORMAL, foreign keys; refusals at start; and, against the
 * live server, a second connection reading while the server writes and a
 * database fault answered 500 `internal` with no detail (API.md "Errors").
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BUSY_TIMEOUT_MS, openDatabase } from '../../lib/store/database.js';
import { MIGRATIONS } from '../../lib/store/migrations.js';
import { StoreError } from '../../lib/store/store-error.js';
import { databasePath, mountAccounts, type AccountsModule } from '../../lib/accounts/routes.js';
import { REPO_ROOT, startServer, type LiveServer } from '../helpers/live-server.js';
import { ChatServer } from '../../lib/app/chat-server.js';
import { defaultConfig } from '../../lib/config/parse.js';
import type { Config } from '../../lib/config/schema.js';
import { silentLogger } from '../../lib/log/logger.js';
import { call, register } from '../accounts/api-client.js';

/** SQLite's numbering of `PRAGMA synchronous` (https://sqlite.org/pragma.html#pragma_synchronous). */
const SYNCHRONOUS_NORMAL = 1;

describe('store/database', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chat-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens a new file in WAL mode with busy_timeout, synchronous = NORMAL and foreign keys on, creating its folder', () => {
    const { db, migrations } = openDatabase(join(dir, 'nested', 'chat.db'));
    try {
      expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
      expect(db.pragma('busy_timeout', { simple: true })).to.equal(BUSY_TIMEOUT_MS);
      expect(db.pragma('synchronous', { simple: true })).to.equal(SYNCHRONOUS_NORMAL);
      expect(db.pragma('foreign_keys', { simple: true })).to.equal(1);
      expect(migrations).to.deep.equal({ applied: MIGRATIONS.map((m) => m.version), version: MIGRATIONS.length });
    } finally {
      db.close();
    }
  });

  it('enforces foreign keys: a revocation for a user that does not exist is refused', () => {
    const { db } = openDatabase(join(dir, 'chat.db'));
    try {
      expect(() => db.prepare('INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (?, ?, ?)').run('j', 999, 0)).to.throw(/FOREIGN KEY/);
    } finally {
      db.close();
    }
  });

  it('keeps the data and applies nothing when opened again', () => {
    const path = join(dir, 'chat.db');
    openDatabase(path).db.close();
    const { db, migrations } = openDatabase(path);
    db.close();
    expect(migrations.applied).to.deep.equal([]);
  });

  it('refuses to open a database newer than the code, with a clear StoreError', () => {
    const path = join(dir, 'chat.db');
    const newer = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'from-the-future', up: 'CREATE TABLE future (x INTEGER)' }];
    openDatabase(path, { migrations: newer }).db.close();
    expect(() => openDatabase(path)).to.throw(StoreError, /newer server/);
  });

  it('makes the server refuse to start when the database is newer than the code', async () => {
    const dbPath = join(dir, 'newer.db');
    openDatabase(dbPath, { migrations: [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'later', up: 'SELECT 1' }] }).db.close();
    const config: Config = { ...defaultConfig(), host: '127.0.0.1', port: 0, data_dir: join(dir, 'data'), db_path: dbPath, public_dir: join(REPO_ROOT, 'public') };
    const server = new ChatServer({ config, log: silentLogger, secretKeyEnv: 'a-test-secret-that-is-at-least-32-bytes-long', baseDir: REPO_ROOT });
    mountAccounts(server);
    try {
      await server.start();
      expect.fail('the server started');
    } catch (err) {
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('schema_too_new');
    } finally {
      server.destroy();
    }
  });

  it('refuses a path that cannot be a database (open_failed)', () => {
    const path = join(dir, 'a-folder');
    mkdirSync(path);
    try {
      openDatabase(path);
      expect.fail('expected open_failed');
    } catch (err) {
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('open_failed');
    }
  });
});

describe('store under the live server', function () {
  let live: LiveServer;
  let accounts: AccountsModule;
  before(async () => {
    live = await startServer({ password_hash_cost: 14 }, { prepare: (s) => void (accounts = mountAccounts(s)) });
  });
  after(() => live.close());

  it('puts the database at data_dir/chat.db when db_path is empty', () => {
    expect(databasePath(live.server)).to.equal(join(live.dataDir, 'chat.db'));
    expect(accounts.store.name).to.equal(join(live.dataDir, 'chat.db'));
  });

  it('records the migrations at start', () => {
    const rows = accounts.store.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(rows).to.deep.equal(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  });

  it('lets a second connection (a backup, an admin command) read while the server holds a write transaction (WAL)', async () => {
    const { username } = await register(live);
    const reader = new Database(databasePath(live.server), { readonly: true });
    try {
      expect(reader.pragma('journal_mode', { simple: true })).to.equal('wal');
      const count = reader.prepare('SELECT COUNT(*) AS n FROM users');
      const before = (count.get() as { n: number }).n;
      accounts.store.exec('BEGIN IMMEDIATE');
      try {
        accounts.store.prepare("INSERT INTO users (username, username_key, display_name, password_hash, created_at) VALUES ('wal_probe', 'wal_probe', 'w', 'x', 'now')").run();
        // The reader is not blocked, and sees the last committed state.
        expect((count.get() as { n: number }).n).to.equal(before);
      } finally {
        accounts.store.exec('ROLLBACK');
      }
      const row = reader.prepare('SELECT username FROM users WHERE username_key = ?').get(username.toLowerCase());
      expect(row).to.deep.equal({ username });
    } finally {
      reader.close();
    }
  });

  it('answers a database fault with 500 internal, no detail for the client, and the error in the log', async () => {
    // A separate server: this one's database is closed under it.
    let brokenAccounts: AccountsModule | undefined;
    const broken = await startServer({ password_hash_cost: 14 }, { prepare: (s) => void (brokenAccounts = mountAccounts(s)) });
    try {
      const { token } = await register(broken);
      const dbFile = brokenAccounts!.store.name;
      brokenAccounts!.store.close();
      const res = await call(broken, 'GET', '/me', { token });
      expect(res.status).to.equal(500);
      expect(res.json).to.deep.equal({ error: { code: 'internal', message: 'internal error' } });
      const text = res.body.toString();
      for (const leak of ['SQLITE', 'database', dbFile, 'stack', 'at ']) expect(text).not.to.include(leak);
      const logged = broken.logLines.map((l) => JSON.parse(l) as { level: string; msg: string; err?: { message: string } });
      const line = logged.find((l) => l.level === 'error' && l.msg === 'request handler failed');
      expect(line?.err?.message).to.match(/database connection is not open/);
    } finally {
      await broken.close();
    }
  });
});
