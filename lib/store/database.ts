/**
 * Opening the SQLite database (better-sqlite3) with the settings the server
 * relies on, then bringing its schema up to date (migrations.ts).
 *
 * The settings, and why:
 *
 * - `busy_timeout = 5000` ms, set first: when another process holds the
 *   write lock (an admin command, `sqlite3 .backup`), a statement waits up to
 *   this long instead of failing at once with SQLITE_BUSY.
 * - `journal_mode = WAL`: readers never block the writer nor the writer the
 *   readers, so a backup or an admin query can read while the server writes
 *   (https://sqlite.org/wal.html). The mode is stored in the file.
 * - `synchronous = NORMAL`: in WAL mode, a commit is written to the WAL file
 *   before `COMMIT` returns, but SQLite only calls fsync at checkpoints. A
 *   crash of the *process* (kill -9, an uncaught exception) therefore loses
 *   nothing that was committed: the bytes are in the operating system's page
 *   cache, which survives the process, and the WAL is replayed at the next
 *   open. Only a crash of the *machine* (power loss, kernel panic) can lose
 *   the last commits before the next checkpoint — never corrupt the file
 *   ("WAL mode is always consistent with synchronous=NORMAL, but WAL mode
 *   does lose durability", https://sqlite.org/pragma.html#pragma_synchronous).
 *   API.md promises that an acknowledged message survives a crash of the
 *   process, which NORMAL keeps; FULL would fsync on every commit and cost
 *   several milliseconds per message on ordinary disks.
 * - `foreign_keys = ON`: SQLite does not enforce REFERENCES without it, and
 *   the setting is per connection, so it is set at every open.
 *
 * Every query elsewhere is a prepared statement with bound parameters; no
 * value is ever spliced into SQL text.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate, type Migration, type MigrationReport } from './migrations.js';
import { StoreError } from './store-error.js';

/** How long a statement waits for another connection's lock before failing (ms). */
export const BUSY_TIMEOUT_MS = 5000;

/** The path better-sqlite3 reads as a private in-memory database (for unit tests). */
export const IN_MEMORY = ':memory:';

export interface OpenOptions {
  /** The schema to bring the database up to; the project's MIGRATIONS by default. */
  readonly migrations?: readonly Migration[];
  readonly busyTimeoutMs?: number;
}

export interface OpenedDatabase {
  readonly db: Database.Database;
  readonly migrations: MigrationReport;
}

/**
 * Open (creating if needed) the database at `path`, apply the settings above
 * and the migrations. Throws a StoreError when the file cannot be used or its
 * schema is newer than this code; the server then refuses to start.
 */
export function openDatabase(path: string, options: OpenOptions = {}): OpenedDatabase {
  const inMemory = path === IN_MEMORY;
  let db: Database.Database;
  try {
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    // The database holds password hashes and sealed messages: owner only, like the key files.
    if (!inMemory) chmodSync(path, 0o600);
  } catch (err) {
    throw new StoreError('open_failed', `cannot open the database ${path}: ${describe(err)}`, { cause: err });
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? BUSY_TIMEOUT_MS}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    // An in-memory database has no file, hence no WAL: it answers "memory".
    if (!inMemory && mode !== 'wal') throw new StoreError('open_failed', `the database ${path} cannot use WAL mode (it reports "${String(mode)}")`);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const report = migrate(db, options.migrations ?? MIGRATIONS);
    return { db, migrations: report };
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError('open_failed', `cannot prepare the database ${path}: ${describe(err)}`, { cause: err });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
