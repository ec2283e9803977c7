/**
 * The audit record of security events (issue 4): registrations, logins that
 * succeed and fail, logouts, password changes, throttling. One row per event
 * in `audit_log`, written with the change it records.
 *
 * What a row never holds (STYLE.md habit 15): a password, a token, a hash.
 * `detail` is a small JSON object of fixed, code-chosen keys. A failed login
 * for a username that does not exist records no username at all: people
 * sometimes type their password into the username field, and the audit log
 * must not become a list of passwords.
 */
import type Database from 'better-sqlite3';

/** The events, as data. */
export const AUDIT_EVENTS = [
  'register',
  'login_success',
  'login_failure',
  'logout',
  'password_change',
  'throttled',
  // The admin command (bin/admin.ts); `ip` is 'admin-cli' for these.
  'admin_disable',
  'admin_enable',
  'admin_reset_password',
  'admin_delete_room',
  'admin_backup',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

/** Values `detail` may carry: short, code-chosen, never secrets. */
export type AuditDetail = Readonly<Record<string, string | number | boolean>>;

export interface AuditEntry {
  readonly event: AuditEvent;
  readonly userId: number | null;
  readonly username: string | null;
  readonly ip: string;
  readonly detail?: AuditDetail;
  readonly at: Date;
}

/** A row as read back (tests, a future admin command). */
export interface AuditRow {
  readonly id: number;
  readonly at: string;
  readonly event: AuditEvent;
  readonly user_id: number | null;
  readonly username: string | null;
  readonly ip: string;
  readonly detail: string;
}

export class AuditLog {
  private readonly insert: Database.Statement<[string, string, number | null, string | null, string, string]>;
  private readonly recent: Database.Statement<[number], AuditRow>;

  constructor(db: Database.Database) {
    this.insert = db.prepare<[string, string, number | null, string | null, string, string]>(
      'INSERT INTO audit_log (at, event, user_id, username, ip, detail) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.recent = db.prepare<[number], AuditRow>('SELECT id, at, event, user_id, username, ip, detail FROM audit_log ORDER BY id DESC LIMIT ?');
  }

  record(entry: AuditEntry): void {
    this.insert.run(entry.at.toISOString(), entry.event, entry.userId, entry.username, entry.ip, JSON.stringify(entry.detail ?? {}));
  }

  /** The newest `limit` rows, newest first. */
  latest(limit: number): AuditRow[] {
    return this.recent.all(limit);
  }
}
