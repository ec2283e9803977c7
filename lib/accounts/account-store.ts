/**
 * The accounts' rows in SQLite: users and revoked token ids. Every query is a
 * statement prepared once, with bound parameters.
 *
 * Synchronous on purpose: better-sqlite3 runs each statement on the calling
 * thread, and these are single-row look-ups by primary or unique key, far
 * quicker than one turn of a network round trip. The slow part of accounts,
 * password hashing, is not here (password-hash.ts runs it off the loop).
 */
import type Database from 'better-sqlite3';

/** A user as the rest of the server sees it (never with the password hash). */
export interface User {
  readonly id: number;
  /** As typed at registration. */
  readonly username: string;
  readonly display_name: string;
  /** When the account was made, as `toISOString()` wrote it. */
  readonly created_at: string;
  /** Copied into tokens as `ver`; raised by a password change. */
  readonly token_version: number;
  readonly disabled: boolean;
}

/** API.md: `user` is `{ id, username, display_name, created_at }`. */
export interface PublicUser {
  readonly id: number;
  readonly username: string;
  readonly display_name: string;
  readonly created_at: string;
}

export function publicUser(user: User): PublicUser {
  return { id: user.id, username: user.username, display_name: user.display_name, created_at: user.created_at };
}

/** A user with the stored password hash, for the two places that check a password. */
export interface UserWithCredentials {
  readonly user: User;
  readonly passwordHash: string;
}

export interface NewUser {
  readonly username: string;
  readonly usernameKey: string;
  readonly displayName: string;
  readonly passwordHash: string;
  readonly createdAt: Date;
}

/** What `insertUser` found. */
export type InsertResult = { readonly ok: true; readonly user: User } | { readonly ok: false; readonly reason: 'username_taken' };

interface UserRow {
  readonly id: number;
  readonly username: string;
  readonly display_name: string;
  readonly created_at: string;
  readonly token_version: number;
  readonly disabled: number;
  readonly password_hash: string;
}

const USER_COLUMNS = 'id, username, display_name, created_at, token_version, disabled, password_hash';

/** SQLite's extended result code for a UNIQUE constraint (https://sqlite.org/rescode.html#constraint_unique). */
const SQLITE_CONSTRAINT_UNIQUE = 'SQLITE_CONSTRAINT_UNIQUE';

function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    display_name: row.display_name,
    created_at: row.created_at,
    token_version: row.token_version,
    disabled: row.disabled !== 0,
  };
}

export class AccountStore {
  private readonly byId: Database.Statement<[number], UserRow>;
  private readonly byKey: Database.Statement<[string], UserRow>;
  private readonly insert: Database.Statement<[string, string, string, string, string], UserRow>;
  private readonly setDisplayName: Database.Statement<[string, number]>;
  private readonly setPassword: Database.Statement<[string, number, number], { token_version: number }>;
  private readonly replaceHash: Database.Statement<[string, number, string]>;
  private readonly setDisabledFlag: Database.Statement<[number, number]>;
  private readonly revoke: Database.Statement<[string, number, number]>;
  private readonly revoked: Database.Statement<[string], { one: number }>;
  private readonly purge: Database.Statement<[number]>;

  constructor(readonly db: Database.Database) {
    this.byId = db.prepare<[number], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`);
    this.byKey = db.prepare<[string], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username_key = ?`);
    this.insert = db.prepare<[string, string, string, string, string], UserRow>(
      `INSERT INTO users (username, username_key, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
    );
    this.setDisplayName = db.prepare<[string, number]>('UPDATE users SET display_name = ? WHERE id = ?');
    // Compare-and-set on the version: of two password changes made with the
    // same token, only the first succeeds (the second's token is stale by then).
    this.setPassword = db.prepare<[string, number, number], { token_version: number }>(
      'UPDATE users SET password_hash = ?, token_version = token_version + 1 WHERE id = ? AND token_version = ? RETURNING token_version',
    );
    // Compare-and-set: only replaces the hash the caller verified, so a
    // rehash can never undo a password change that happened meanwhile.
    this.replaceHash = db.prepare<[string, number, string]>('UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?');
    this.setDisabledFlag = db.prepare<[number, number]>('UPDATE users SET disabled = ? WHERE id = ?');
    this.revoke = db.prepare<[string, number, number]>('INSERT OR IGNORE INTO revoked_tokens (jti, user_id, expires_at) VALUES (?, ?, ?)');
    this.revoked = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM revoked_tokens WHERE jti = ?');
    this.purge = db.prepare<[number]>('DELETE FROM revoked_tokens WHERE expires_at < ?');
  }

  findById(id: number): User | null {
    const row = this.byId.get(id);
    return row === undefined ? null : toUser(row);
  }

  /** Look a user up by the lower-cased username (validation.ts `usernameKey`). */
  findByKey(usernameKey: string): UserWithCredentials | null {
    const row = this.byKey.get(usernameKey);
    return row === undefined ? null : { user: toUser(row), passwordHash: row.password_hash };
  }

  findCredentialsById(id: number): UserWithCredentials | null {
    const row = this.byId.get(id);
    return row === undefined ? null : { user: toUser(row), passwordHash: row.password_hash };
  }

  /** Insert a user; a username taken in any case is reported, not thrown. */
  insertUser(input: NewUser): InsertResult {
    try {
      const row = this.insert.get(input.username, input.usernameKey, input.displayName, input.passwordHash, input.createdAt.toISOString())!;
      return { ok: true, user: toUser(row) };
    } catch (err) {
      if ((err as { code?: unknown }).code === SQLITE_CONSTRAINT_UNIQUE) return { ok: false, reason: 'username_taken' };
      throw err;
    }
  }

  updateDisplayName(id: number, displayName: string): User | null {
    this.setDisplayName.run(displayName, id);
    return this.findById(id);
  }

  /**
   * Store a new password hash and raise the token version in one statement,
   * so no moment exists where the new password works and old tokens do too.
   * Only when the version is still `expectedVersion`; returns the user as it
   * now is, or null when the version had moved on.
   */
  changePassword(id: number, passwordHash: string, expectedVersion: number): User | null {
    const row = this.setPassword.get(passwordHash, id, expectedVersion);
    return row === undefined ? null : this.findById(id);
  }

  /** Replace `oldHash` by `newHash` (a rehash at today's cost); false if the hash changed meanwhile. */
  rehash(id: number, oldHash: string, newHash: string): boolean {
    return this.replaceHash.run(newHash, id, oldHash).changes === 1;
  }

  setDisabled(id: number, disabled: boolean): boolean {
    return this.setDisabledFlag.run(disabled ? 1 : 0, id).changes === 1;
  }

  /** Remember `jti` as revoked until `expiresAtMs`. Revoking twice is harmless. */
  revokeToken(jti: string, userId: number, expiresAtMs: number): void {
    this.revoke.run(jti, userId, expiresAtMs);
  }

  isRevoked(jti: string): boolean {
    return this.revoked.get(jti) !== undefined;
  }

  /** Forget revocations of tokens that expired before `beforeMs`; returns how many. */
  purgeRevoked(beforeMs: number): number {
    return this.purge.run(beforeMs).changes;
  }
}
