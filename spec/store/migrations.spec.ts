/**
 * Numbered migrations (lib/store/migrations.ts): applied once each, in order,
 * recorded in schema_migrations; a database newer than the code, or written
 * by another branch, is refused.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { appliedMigrations, checkMigrationList, migrate, MIGRATIONS, type Migration } from '../../lib/store/migrations.js';
import { StoreError } from '../../lib/store/store-error.js';

const FIXED = () => new Date('2026-01-02T03:04:05.678Z');

const V1: Migration = { version: 1, name: 'first', up: 'CREATE TABLE a (x INTEGER)' };
const V2: Migration = { version: 2, name: 'second', up: 'CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (1), (2);' };

function tables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

function expectStoreError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(StoreError);
    expect((err as StoreError).code).to.equal(code);
    return;
  }
  expect.fail(`expected a StoreError ${code}`);
}

describe('store/migrations', () => {
  let db: Database.Database;
  beforeEach(() => {
    db = new Database(':memory:');
  });
  afterEach(() => db.close());

  it('applies every migration to a new database and records each with its name and time', () => {
    const report = migrate(db, [V1, V2], FIXED);
    expect(report).to.deep.equal({ applied: [1, 2], version: 2 });
    expect(appliedMigrations(db)).to.deep.equal([
      { version: 1, name: 'first', applied_at: '2026-01-02T03:04:05.678Z' },
      { version: 2, name: 'second', applied_at: '2026-01-02T03:04:05.678Z' },
    ]);
    expect(tables(db)).to.include.members(['a', 'b', 'schema_migrations']);
  });

  it('applies nothing the second time', () => {
    migrate(db, [V1, V2], FIXED);
    expect(migrate(db, [V1, V2], FIXED)).to.deep.equal({ applied: [], version: 2 });
    expect((db.prepare('SELECT COUNT(*) AS n FROM b').get() as { n: number }).n).to.equal(2);
  });

  it('applies only the new migration when one is appended (how a later issue adds its tables)', () => {
    migrate(db, [V1], FIXED);
    expect(migrate(db, [V1, V2], FIXED)).to.deep.equal({ applied: [2], version: 2 });
  });

  it('rolls back a failing migration whole: neither its changes nor its record remain', () => {
    const broken: Migration = { version: 2, name: 'broken', up: 'CREATE TABLE c (z INTEGER); INSERT INTO nowhere VALUES (1);' };
    migrate(db, [V1], FIXED);
    expect(() => migrate(db, [V1, broken], FIXED)).to.throw(/nowhere/);
    expect(tables(db)).not.to.include('c');
    expect(appliedMigrations(db).map((m) => m.version)).to.deep.equal([1]);
  });

  it('refuses a database whose schema is newer than the code (schema_too_new)', () => {
    migrate(db, [V1, V2], FIXED);
    expectStoreError(() => migrate(db, [V1], FIXED), 'schema_too_new');
  });

  it('refuses a database whose recorded migration has another name (schema_mismatch)', () => {
    migrate(db, [V1], FIXED);
    expectStoreError(() => migrate(db, [{ ...V1, name: 'other-branch' }], FIXED), 'schema_mismatch');
  });

  it('refuses a migration list with a gap or out of order (a programming error)', () => {
    expect(() => checkMigrationList([V2])).to.throw(/expected 1/);
    expect(() => checkMigrationList([V1, { ...V2, version: 3 }])).to.throw(/expected 2/);
    expect(() => checkMigrationList(MIGRATIONS)).not.to.throw();
  });

  it("creates the accounts tables of issue 4 from the project's own MIGRATIONS", () => {
    migrate(db, MIGRATIONS, FIXED);
    expect(tables(db)).to.include.members(['users', 'revoked_tokens', 'audit_log']);
    const columns = (db.prepare("SELECT name FROM pragma_table_info('users')").all() as { name: string }[]).map((c) => c.name);
    expect(columns).to.deep.equal(['id', 'username', 'username_key', 'display_name', 'password_hash', 'token_version', 'disabled', 'created_at']);
  });
});
