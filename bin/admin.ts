/**
 * The admin command: `npm run admin -- <command> [arguments] [--config PATH]`.
 *
 * It opens the same SQLite database as the server (WAL mode and a busy
 * timeout let both work at once), so it can be used while the server runs:
 * the server notices a disabled user or a reset password within a few
 * seconds and closes that user's WebSockets (1008), and refuses their tokens
 * at once. Every action is written to the audit record.
 */
import { existsSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { loadConfig, defaultConfig, ConfigError, formatProblem } from '../lib/config/parse.js';
import { databasePath } from '../lib/config/check-config.js';
import type { Config } from '../lib/config/schema.js';
import { openDatabase } from '../lib/store/database.js';
import { AccountStore } from '../lib/accounts/account-store.js';
import { AuditLog, type AuditEvent } from '../lib/accounts/audit.js';
import { hashPassword } from '../lib/accounts/password-hash.js';
import { usernameKey, validatePassword, isInvalid } from '../lib/accounts/validation.js';
import { loadCommonPasswords } from '../lib/accounts/common-passwords.js';

const USAGE = `usage: npm run admin -- <command> [arguments] [--config PATH]

  users [--limit N]             list users, newest first
  find <text>                   users whose username contains <text>
  disable <username>            refuse the user's tokens and close their WebSockets
  enable <username>             undo disable
  reset-password <username>     set a new random password (printed once) and revoke every token;
                                with --password-stdin, read the new password from standard input
  rooms                         list rooms with member and message counts
  delete-room <name>            delete a room and its messages (members are told on their next message)
  backup <file>                 an online backup of the database to <file> (restore: stop the server,
                                copy the file over the database path, start)
  audit [--limit N]             the newest audit records
`;

interface Args {
  readonly command: string;
  readonly rest: string[];
  readonly configPath: string;
  readonly limit: number;
  readonly passwordStdin: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const rest: string[] = [];
  let configPath = 'server.conf';
  let limit = 50;
  let passwordStdin = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') configPath = argv[++i] ?? fail('--config needs a path');
    else if (a === '--limit') limit = Number(argv[++i]);
    else if (a === '--password-stdin') passwordStdin = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else rest.push(a);
  }
  if (!Number.isInteger(limit) || limit < 1) fail('--limit needs a positive integer');
  const command = rest.shift();
  if (command === undefined) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  return { command, rest, configPath: resolve(configPath), limit, passwordStdin };
}

function fail(message: string): never {
  process.stderr.write(`admin: ${message}\n`);
  process.exit(1);
}

function readConfig(path: string): Config {
  if (!existsSync(path)) return defaultConfig();
  try {
    return loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError) fail(`${path}:\n${err.problems.map((p) => '  ' + formatProblem(p)).join('\n')}`);
    throw err;
  }
}

function table(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)\n';
  const cols = Object.keys(rows[0]!);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  return line(cols) + line(widths.map((w) => '-'.repeat(w))) + rows.map((r) => line(cols.map((c) => String(r[c] ?? '')))).join('');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const config = readConfig(args.configPath);
  const dbPath = resolve(databasePath(config));
  if (!existsSync(dbPath)) fail(`no database at ${dbPath} (start the server once, or check data_dir/db_path in ${args.configPath})`);
  const { db } = openDatabase(dbPath);
  const accounts = new AccountStore(db);
  const audit = new AuditLog(db);
  const record = (event: AuditEvent, userId: number | null, username: string | null, detail: Record<string, string | number | boolean> = {}) =>
    audit.record({ event, userId, username, ip: 'admin-cli', detail, at: new Date() });
  const userNamed = (name: string | undefined) => {
    if (!name) fail(`${args.command} needs a username`);
    const found = accounts.findByKey(usernameKey(name));
    if (!found) fail(`no user named ${JSON.stringify(name)}`);
    return found.user;
  };

  try {
    switch (args.command) {
      case 'users':
      case 'find': {
        const like = args.command === 'find' ? `%${(args.rest[0] ?? fail('find needs some text')).toLowerCase().replace(/[%_\\]/g, '\\$&')}%` : '%';
        const rows = db
          .prepare(`SELECT id, username, display_name, created_at, CASE disabled WHEN 1 THEN 'disabled' ELSE 'active' END AS status FROM users WHERE username_key LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT ?`)
          .all(like, args.limit) as Record<string, unknown>[];
        process.stdout.write(table(rows));
        return;
      }
      case 'disable':
      case 'enable': {
        const user = userNamed(args.rest[0]);
        const disabled = args.command === 'disable';
        accounts.setDisabled(user.id, disabled);
        record(disabled ? 'admin_disable' : 'admin_enable', user.id, user.username);
        process.stdout.write(`${user.username} is now ${disabled ? 'disabled: their tokens are refused and a running server closes their WebSockets within a few seconds' : 'enabled'}\n`);
        return;
      }
      case 'reset-password': {
        const user = userNamed(args.rest[0]);
        loadCommonPasswords();
        const password = args.passwordStdin ? await readStdin() : randomBytes(12).toString('base64url');
        const checked = validatePassword(password, user.username);
        if (isInvalid(checked)) fail(checked.message);
        const hash = await hashPassword(password, config.password_hash_cost);
        if (!accounts.changePassword(user.id, hash, user.token_version)) fail('the user changed while we worked; try again');
        record('admin_reset_password', user.id, user.username);
        process.stdout.write(args.passwordStdin ? `password of ${user.username} reset; every earlier token is revoked\n` : `new password for ${user.username}: ${password}\n(shown once; every earlier token is revoked)\n`);
        return;
      }
      case 'rooms': {
        const rows = db
          .prepare(
            `SELECT r.name, r.kind, COALESCE(u.username, '') AS owner,
                    (SELECT COUNT(*) FROM memberships m WHERE m.room_id = r.id) AS members,
                    (SELECT COUNT(*) FROM messages x WHERE x.room_id = r.id) AS messages, r.created_at
             FROM rooms r LEFT JOIN users u ON u.id = r.owner_id ORDER BY r.kind, r.name_key LIMIT ?`,
          )
          .all(args.limit) as Record<string, unknown>[];
        process.stdout.write(table(rows));
        return;
      }
      case 'delete-room': {
        const name = args.rest[0] ?? fail('delete-room needs a room name');
        if (name.toLowerCase() === 'general') fail('the room general cannot be deleted');
        const room = db.prepare('SELECT id, name FROM rooms WHERE name_key = ?').get(name.toLowerCase()) as { id: number; name: string } | undefined;
        if (!room) fail(`no room named ${JSON.stringify(name)}`);
        db.prepare('DELETE FROM rooms WHERE id = ?').run(room.id);
        record('admin_delete_room', null, null, { room: room.name });
        process.stdout.write(`room ${room.name} deleted\n`);
        return;
      }
      case 'backup': {
        const target = resolve(args.rest[0] ?? fail('backup needs a file name'));
        if (existsSync(target)) fail(`${target} exists; choose a new file name`);
        // SQLite's online backup API: a consistent copy while the server keeps writing.
        await db.backup(target);
        record('admin_backup', null, null, { bytes: statSync(target).size });
        process.stdout.write(`backup written to ${target} (${statSync(target).size} bytes)\nrestore: stop the server, copy it over ${dbPath} (and remove ${dbPath}-wal and -shm), start\n`);
        return;
      }
      case 'audit': {
        const rows = audit.latest(args.limit).map((r) => ({ id: r.id, at: r.at, event: r.event, user: r.username ?? '', ip: r.ip, detail: r.detail }));
        process.stdout.write(table(rows));
        return;
      }
      default:
        process.stderr.write(`admin: unknown command ${JSON.stringify(args.command)}\n\n${USAGE}`);
        process.exit(2);
    }
  } finally {
    db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`admin: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
