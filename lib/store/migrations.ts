/**
 * The database schema, as numbered migrations (rules as data: STYLE.md
 * habit 3), and the code that brings a database up to date at start.
 *
 * Each migration runs once, in its own transaction, and is recorded in
 * `schema_migrations` (version, name, applied_at). A database whose newest
 * recorded version is beyond this code's newest is refused: an older server
 * must not write into tables whose meaning it does not know (for example
 * after a rollback of the code without a restore of the database).
 *
 * Adding a migration: append `{ version: <last + 1>, name, up }` to
 * MIGRATIONS. Never edit one that has shipped; write a new one instead. The
 * chat layer adds its tables this way.
 */
import type Database from 'better-sqlite3';
import { StoreError } from './store-error.js';

export interface Migration {
  /** 1, 2, 3, … with no gap: the order they run in. */
  readonly version: number;
  /** A short kebab-case label; recorded, and checked against the database at start. */
  readonly name: string;
  /** SQL run as one script inside the migration's transaction. */
  readonly up: string;
}

/**
 * The accounts schema (issue 4).
 *
 * - `users.username` is kept as typed; `username_key` (lower case) is what
 *   makes it unique and what login looks up (API.md: usernames are "unique and
 *   matched … without regard to case").
 * - `token_version` is copied into every token as `ver`; raising it refuses
 *   every older token at once (a password change).
 * - `revoked_tokens` holds the `jti` of logged-out tokens until they would
 *   have expired anyway (`expires_at`, ms since the epoch); a periodic purge
 *   removes older rows.
 * - `audit_log` records security events; `detail` is a JSON object and never
 *   holds a password or a token.
 */
const ACCOUNTS_V1 = `
CREATE TABLE users (
  id             INTEGER PRIMARY KEY,
  username       TEXT    NOT NULL,
  username_key   TEXT    NOT NULL UNIQUE,
  display_name   TEXT    NOT NULL,
  password_hash  TEXT    NOT NULL,
  token_version  INTEGER NOT NULL DEFAULT 0,
  disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at     TEXT    NOT NULL
);

CREATE TABLE revoked_tokens (
  jti         TEXT    PRIMARY KEY,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY,
  at        TEXT    NOT NULL,
  event     TEXT    NOT NULL,
  user_id   INTEGER NULL,
  username  TEXT    NULL,
  ip        TEXT    NOT NULL,
  detail    TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
`;

/**
 * Migration 2: the chat's rooms, memberships (with read markers) and messages
 * (text sealed by lib/chat/message-crypto.ts), and the room `general`.
 * AUTOINCREMENT keys: ids are never reused, not even after a room is deleted (API.md).
 */
const CHAT_V2 = `
CREATE TABLE rooms (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  name           TEXT    NOT NULL,
  name_key       TEXT    NOT NULL UNIQUE,
  kind           TEXT    NOT NULL CHECK (kind IN ('public', 'private', 'dm')),
  password_hash  TEXT    NULL,
  owner_id       INTEGER NULL REFERENCES users (id) ON DELETE SET NULL,
  created_at     TEXT    NOT NULL
);

CREATE TABLE memberships (
  room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  joined_at   TEXT    NOT NULL,
  read_up_to  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE messages (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  sealed      BLOB    NOT NULL,
  cmid        TEXT    NULL,
  created_at  TEXT    NOT NULL
);
CREATE INDEX messages_room ON messages (room_id, id);
CREATE UNIQUE INDEX messages_cmid ON messages (user_id, room_id, cmid) WHERE cmid IS NOT NULL;

INSERT INTO rooms (name, name_key, kind, created_at) VALUES ('general', 'general', 'public', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
`;

/** Every migration this code knows, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'accounts', up: ACCOUNTS_V1 },
  { version: 2, name: 'chat', up: CHAT_V2 },
];

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL,
  applied_at  TEXT    NOT NULL
)`;

/** A row of `schema_migrations`. */
export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly applied_at: string;
}

/** A programming error in MIGRATIONS (not a database fault): versions must run 1, 2, 3, … */
export function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${JSON.stringify(m.name)} has version ${m.version}; expected ${i + 1}`);
  });
}

/** The migrations recorded in `db`, oldest first (empty for a new database). */
export function appliedMigrations(db: Database.Database): AppliedMigration[] {
  db.exec(CREATE_MIGRATIONS_TABLE);
  return db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as AppliedMigration[];
}

export interface MigrationReport {
  /** Versions applied by this call, in order (empty when the database was up to date). */
  readonly applied: readonly number[];
  /** The schema version now. */
  readonly version: number;
}

/**
 * Bring `db` up to the newest of `migrations`.
 *
 * 1. Refuse a database that is newer than this code, or whose recorded
 *    migrations have other names than ours (a different branch wrote it).
 * 2. Apply each missing migration in its own `BEGIN IMMEDIATE` transaction:
 *    the write lock is taken first, so two processes starting at once cannot
 *    both apply it; the version is checked again inside the transaction.
 * 3. Record it in `schema_migrations` in that same transaction, so a crash
 *    leaves either the whole migration and its record, or neither.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[], now: () => Date = () => new Date()): MigrationReport {
  checkMigrationList(migrations);
  const known = migrations.length;

  // 1. What the database has.
  const recorded = appliedMigrations(db);
  for (const row of recorded) {
    if (row.version > known) {
      throw new StoreError(
        'schema_too_new',
        `the database is at schema version ${recorded.at(-1)!.version} but this server knows only up to ${known}: run a newer server or restore a matching backup`,
      );
    }
    const ours = migrations[row.version - 1]!;
    if (ours.name !== row.name) {
      throw new StoreError('schema_mismatch', `schema version ${row.version} in the database is "${row.name}" but this server's is "${ours.name}"`);
    }
  }

  // 2–3. What is missing.
  const currentVersion = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  const recordedVersion = recorded.at(-1)?.version ?? 0;
  for (const m of migrations) {
    if (m.version <= recordedVersion) continue;
    const applyOne = db.transaction(() => {
      const { v } = currentVersion.get() as { v: number };
      if (v >= m.version) return false; // another process applied it meanwhile
      db.exec(m.up);
      record.run(m.version, m.name, now().toISOString());
      return true;
    });
    if (applyOne.immediate()) applied.push(m.version);
  }
  const { v } = currentVersion.get() as { v: number };
  return { applied, version: v };
}
