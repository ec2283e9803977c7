/**
 * The peer for the chat benchmark (issues 5 and 9): the part of the chat
 * contract of ../shared/API.md that the benchmark's workload uses, written the
 * way a competent Node developer would build it on the usual stack —
 * `node:https` for the HTTP API, the `ws` package for /ws, `better-sqlite3` for
 * storage, `jose` for the tokens, node:crypto's asynchronous scrypt for
 * passwords. Nothing in it is deliberately slow, and nothing is tuned beyond
 * the usual idioms either:
 *
 *   - every `send` is one INSERT in its own (implicit) transaction, in WAL mode
 *     with synchronous = NORMAL (the usual durable-enough SQLite setting; our
 *     server uses the same pragmas, plus group commit);
 *   - `ack` is sent once the INSERT returned, then the `message` goes to every
 *     member connection with `client.send(JSON.stringify(message))`, the
 *     broadcast idiom of the `ws` README (no frame pre-encoding);
 *   - rooms keep, in memory, the set of online member connections; the
 *     database is the source of truth for membership.
 *
 * What it implements: POST /register, POST /login, GET /healthz; /ws with
 * subprotocol chat.v1 and a bearer token (header or `bearer.` subprotocol);
 * `hello`, `create_room` (public rooms), `join` (members and the newest 50
 * messages, or the oldest 50 after `since`), `leave`, `send` (to a room, with
 * `cmid`), `history`, `typing`, presence (joined/left, online/offline),
 * a per-user send rate (token bucket), `error` replies with API.md's codes.
 * Not implemented (the workload does not use them): private rooms, direct
 * messages, `read`/`rooms`/`refresh`/`delete_room`, /me, /logout, /token,
 * static files, message encryption at rest (ours encrypts every message:
 * that work is in our numbers and not in the peer's).
 *
 *   SECRET_KEY=… node dist/bench/peers/chat-peer.js --tls on|off --cert FILE --key FILE
 *       --data-dir DIR [--cost 14] [--port 0] [--send-rate 10000] [--send-burst 10000]
 *
 * Prints `chat peer listening on https://127.0.0.1:PORT` once it accepts connections.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { randomBytes, randomUUID, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

// ── arguments ──────────────────────────────────────────────────────────────

interface PeerArgs {
  tls: boolean;
  cert: string;
  key: string;
  dataDir: string;
  cost: number;
  port: number;
  sendRate: number;
  sendBurst: number;
}

function parseArgs(argv: readonly string[]): PeerArgs {
  const args: PeerArgs = { tls: true, cert: '', key: '', dataDir: '', cost: 14, port: 0, sendRate: 10_000, sendBurst: 10_000 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--tls') args.tls = value === 'on';
    else if (flag === '--cert') args.cert = value;
    else if (flag === '--key') args.key = value;
    else if (flag === '--data-dir') args.dataDir = value;
    else if (flag === '--cost') args.cost = Number(value);
    else if (flag === '--port') args.port = Number(value);
    else if (flag === '--send-rate') args.sendRate = Number(value);
    else if (flag === '--send-burst') args.sendBurst = Number(value);
    else throw new Error(`unknown argument ${flag}`);
  }
  if (args.tls && (args.cert === '' || args.key === '')) throw new Error('--tls on needs --cert and --key');
  if (args.dataDir === '') throw new Error('--data-dir is required');
  if (!Number.isInteger(args.cost) || args.cost < 10 || args.cost > 20) throw new Error('--cost must be 10–20');
  return args;
}

const args = parseArgs(process.argv.slice(2));
const secretText = process.env.SECRET_KEY ?? '';
if (Buffer.byteLength(secretText, 'utf8') < 32) throw new Error('SECRET_KEY must be at least 32 bytes');
const jwtKey = new TextEncoder().encode(secretText);

// ── settings (our server's defaults, API.md) ───────────────────────────────

const ISSUER = 'chat-from-scratch';
const TOKEN_TTL_SECONDS = 3600;
const CLOCK_TOLERANCE_SECONDS = 30;
const MAX_BODY_BYTES = 64 * 1024;
const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_TEXT_CHARS = 4000;
const HISTORY_LIMIT_MAX = 100;
const PAGE = 50;
const SUBPROTOCOL = 'chat.v1';

// ── storage ────────────────────────────────────────────────────────────────

mkdirSync(args.dataDir, { recursive: true });
const db = new Database(join(args.dataDir, 'peer.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.exec(`
CREATE TABLE IF NOT EXISTS users (
  id            INTEGER PRIMARY KEY,
  username      TEXT NOT NULL,
  username_key  TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  token_version INTEGER NOT NULL DEFAULT 0,
  created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL,
  name_key   TEXT NOT NULL UNIQUE,
  owner_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memberships (
  room_id   INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  joined_at TEXT NOT NULL,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memberships_user ON memberships (user_id);
CREATE TABLE IF NOT EXISTS messages (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  room_id    INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  text       TEXT NOT NULL,
  cmid       TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_room ON messages (room_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS messages_cmid ON messages (user_id, room_id, cmid) WHERE cmid IS NOT NULL;
INSERT OR IGNORE INTO rooms (name, name_key, created_at) VALUES ('general', 'general', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
`);

interface UserRow {
  id: number;
  username: string;
  display_name: string;
  password_hash: string;
  token_version: number;
  created_at: string;
}
interface RoomRow {
  id: number;
  name: string;
}
interface MessageRow {
  id: number;
  from: string;
  text: string;
  ts: string;
}

const sql = {
  userByKey: db.prepare<[string], UserRow>('SELECT id, username, display_name, password_hash, token_version, created_at FROM users WHERE username_key = ?'),
  userById: db.prepare<[number], UserRow>('SELECT id, username, display_name, password_hash, token_version, created_at FROM users WHERE id = ?'),
  insertUser: db.prepare('INSERT INTO users (username, username_key, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)'),
  roomByKey: db.prepare<[string], RoomRow>('SELECT id, name FROM rooms WHERE name_key = ?'),
  insertRoom: db.prepare('INSERT INTO rooms (name, name_key, owner_id, created_at) VALUES (?, ?, ?, ?)'),
  roomNames: db.prepare<[number], RoomRow>('SELECT r.id, r.name FROM rooms r JOIN memberships m ON m.room_id = r.id WHERE m.user_id = ?'),
  isMember: db.prepare<[number, number], { one: number }>('SELECT 1 AS one FROM memberships WHERE room_id = ? AND user_id = ?'),
  addMember: db.prepare('INSERT OR IGNORE INTO memberships (room_id, user_id, joined_at) VALUES (?, ?, ?)'),
  removeMember: db.prepare('DELETE FROM memberships WHERE room_id = ? AND user_id = ?'),
  members: db.prepare<[number], { id: number; username: string; display_name: string }>(
    'SELECT u.id, u.username, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.room_id = ? ORDER BY u.username_key',
  ),
  newest: db.prepare<[number, number, number], MessageRow>(
    'SELECT m.id, u.username AS "from", m.text, m.created_at AS ts FROM messages m JOIN users u ON u.id = m.user_id WHERE m.room_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?',
  ),
  after: db.prepare<[number, number, number], MessageRow>(
    'SELECT m.id, u.username AS "from", m.text, m.created_at AS ts FROM messages m JOIN users u ON u.id = m.user_id WHERE m.room_id = ? AND m.id > ? ORDER BY m.id ASC LIMIT ?',
  ),
  byCmid: db.prepare<[number, number, string], { id: number; created_at: string }>('SELECT id, created_at FROM messages WHERE user_id = ? AND room_id = ? AND cmid = ?'),
  insertMessage: db.prepare('INSERT INTO messages (room_id, user_id, text, cmid, created_at) VALUES (?, ?, ?, ?, ?)'),
};

// ── passwords (scrypt N = 2^cost, r = 8, p = 1, as our server stores them) ──

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

const scryptOptions = (cost: number): ScryptOptions => ({ N: 2 ** cost, r: 8, p: 1, maxmem: 2 * 128 * 8 * 2 ** cost });

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password.normalize('NFC'), salt, 32, scryptOptions(args.cost));
  return `scrypt$ln=${args.cost},r=8,p=1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$ln=(\d+),r=8,p=1\$([^$]+)\$([^$]+)$/.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[3]!, 'base64');
  const derived = await scryptAsync(password.normalize('NFC'), Buffer.from(m[2]!, 'base64'), expected.length, scryptOptions(Number(m[1])));
  return timingSafeEqual(derived, expected);
}

/** Verified against for unknown usernames, so they take as long as a wrong password. */
const dummyHash = hashPassword(randomBytes(16).toString('hex'));

/** The shipped list of common passwords (API.md), one a line, '#' comments. */
const commonPasswords = new Set(
  readFileSync(fileURLToPath(new URL('../../../lib/accounts/common-passwords.txt', import.meta.url)), 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.toLowerCase()),
);

// ── tokens (HS256 JWT with jose) ───────────────────────────────────────────

interface AuthUser {
  id: number;
  username: string;
  display_name: string;
  created_at: string;
}

async function issueToken(user: UserRow): Promise<{ token: string; expires_at: string }> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + TOKEN_TTL_SECONDS;
  const token = await new SignJWT({ name: user.username, ver: user.token_version, auth_time: now })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(user.id))
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .setIssuer(ISSUER)
    .sign(jwtKey);
  return { token, expires_at: new Date(exp * 1000).toISOString() };
}

type TokenCheck = { ok: true; user: AuthUser; exp: number } | { ok: false; code: 'invalid_token' | 'token_expired' };

async function checkToken(token: string): Promise<TokenCheck> {
  try {
    const { payload } = await jwtVerify(token, jwtKey, { algorithms: ['HS256'], issuer: ISSUER, clockTolerance: CLOCK_TOLERANCE_SECONDS });
    const user = sql.userById.get(Number(payload.sub));
    if (!user || user.username !== payload.name || user.token_version !== payload.ver) return { ok: false, code: 'invalid_token' };
    return { ok: true, user: publicUser(user), exp: payload.exp! };
  } catch (err) {
    return { ok: false, code: err instanceof joseErrors.JWTExpired ? 'token_expired' : 'invalid_token' };
  }
}

function publicUser(u: UserRow): AuthUser {
  return { id: u.id, username: u.username, display_name: u.display_name, created_at: u.created_at };
}

// ── HTTP API ───────────────────────────────────────────────────────────────

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      reject(new ApiError(415, 'unsupported_media_type', 'send Content-Type: application/json'));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'payload_too_large', 'the body is too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        resolve(value as Record<string, unknown>);
      } catch {
        reject(new ApiError(400, 'invalid_json', 'the body must be a JSON object'));
      }
    });
    req.on('error', reject);
  });
}

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
const codePoints = (s: string): number => [...s].length;

function invalid(field: string, message: string): ApiError {
  return new ApiError(400, 'validation_failed', message, { field });
}

async function register(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readJson(req);
  const { username, password } = body;
  if (typeof username !== 'string' || !USERNAME.test(username)) throw invalid('username', 'username must be 3–32 characters of A–Z a–z 0–9 _ . -');
  if (typeof password !== 'string' || codePoints(password) < 8 || codePoints(password) > 256) throw invalid('password', 'password must be 8–256 characters');
  if (password.toLowerCase() === username.toLowerCase()) throw invalid('password', 'password must not be the username');
  if (commonPasswords.has(password.toLowerCase())) throw invalid('password', 'password is too common: choose another');
  let displayName = username;
  if (body.display_name !== undefined) {
    if (typeof body.display_name !== 'string') throw invalid('display_name', 'display_name must be a string');
    displayName = body.display_name.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
    if (codePoints(displayName) < 1 || codePoints(displayName) > 64 || /\p{Cc}/u.test(displayName)) throw invalid('display_name', 'display_name must be 1–64 characters, no control characters');
  }
  const key = username.toLowerCase();
  if (sql.userByKey.get(key)) throw new ApiError(409, 'username_taken', 'that username is taken');
  const hash = await hashPassword(password);
  try {
    sql.insertUser.run(username, key, displayName, hash, new Date().toISOString());
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ApiError(409, 'username_taken', 'that username is taken');
    throw err;
  }
  const user = sql.userByKey.get(key)!;
  sendJson(res, 201, { ...(await issueToken(user)), user: publicUser(user) });
}

async function login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readJson(req);
  const { username, password } = body;
  if (typeof username !== 'string') throw invalid('username', 'username must be a string');
  if (typeof password !== 'string') throw invalid('password', 'password must be a string');
  const user = sql.userByKey.get(username.toLowerCase());
  const ok = await verifyPassword(password, user?.password_hash ?? (await dummyHash));
  if (!user || !ok) throw new ApiError(401, 'invalid_credentials', 'wrong username or password', {}, { 'WWW-Authenticate': 'Bearer' });
  sendJson(res, 200, { ...(await issueToken(user)), user: publicUser(user) });
}

const ROUTES: Record<string, Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>>> = {
  '/register': { POST: register },
  '/login': { POST: login },
  '/healthz': { GET: async (_req, res) => sendJson(res, 200, { status: 'ok' }) },
  '/ws': {},
};

function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  const route = ROUTES[path];
  const handler = route?.[req.method ?? ''];
  const run = async () => {
    if (!route) throw new ApiError(404, 'not_found', 'no such resource');
    if (!handler) {
      // A plain GET /ws (no upgrade) is a bad handshake; other methods on a known path: 405 with Allow.
      if (path === '/ws' && (req.method === 'GET' || req.method === 'HEAD')) throw new ApiError(400, 'bad_request', 'this is a WebSocket endpoint');
      throw new ApiError(405, 'method_not_allowed', 'method not allowed here', {}, { Allow: path === '/ws' ? 'GET' : Object.keys(route).join(', ') });
    }
    await handler(req, res);
  };
  run().catch((err: unknown) => {
    if (err instanceof ApiError) {
      sendJson(res, err.status, { error: { code: err.code, message: err.message, ...err.extra } }, err.headers);
      return;
    }
    process.stderr.write(`chat peer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'internal error' } });
  });
}

// ── WebSocket: /ws ─────────────────────────────────────────────────────────

/** One open /ws connection. */
interface Conn {
  readonly ws: WebSocket;
  readonly user: AuthUser;
}

/** A user's send rate, shared by their connections (API.md: per user). */
interface Bucket {
  tokens: number;
  at: number;
}

/** Online users: their open connections. */
const online = new Map<number, Set<Conn>>();
/** Per room: the open connections of its members. */
const roomConns = new Map<number, Set<Conn>>();
const buckets = new Map<number, Bucket>();

const wss = new WebSocketServer({
  noServer: true,
  maxPayload: MAX_MESSAGE_BYTES,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
});

function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code, message } });
  const lines = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
}

async function onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', () => socket.destroy());
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/ws') return refuseUpgrade(socket, 404, 'not_found', 'no such resource');
  if (req.method !== 'GET') return refuseUpgrade(socket, 405, 'method_not_allowed', 'use GET', { Allow: 'GET' });
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `${args.tls ? 'https' : 'http'}://${req.headers.host ?? ''}`) return refuseUpgrade(socket, 403, 'forbidden', 'origin not allowed');
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  if (!protocols.includes(SUBPROTOCOL)) return refuseUpgrade(socket, 400, 'bad_request', 'offer the WebSocket subprotocol chat.v1');
  const bearer = protocols.find((p) => p.startsWith('bearer.'));
  const header = req.headers.authorization;
  const token = bearer ? bearer.slice('bearer.'.length) : header?.startsWith('Bearer ') ? header.slice(7) : null;
  if (!token) return refuseUpgrade(socket, 401, 'unauthorized', 'log in first: a token is required', { 'WWW-Authenticate': 'Bearer' });
  const result = await checkToken(token);
  if (!result.ok) return refuseUpgrade(socket, 401, result.code, 'the token is not valid', { 'WWW-Authenticate': `Bearer error="invalid_token"` });
  wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, result.user, result.exp));
}

function reply(conn: Conn, message: Record<string, unknown>): void {
  conn.ws.send(JSON.stringify(message));
}

function sendError(conn: Conn, ref: unknown, code: string, message: string, extra: Record<string, unknown> = {}): void {
  reply(conn, { type: 'error', ...(typeof ref === 'string' ? { ref } : {}), code, message, ...extra });
}

/** Send `message` to every open connection in the room, except those of user `except`. */
function broadcast(roomId: number, message: Record<string, unknown>, except?: number): void {
  const conns = roomConns.get(roomId);
  if (!conns) return;
  for (const client of conns) {
    if (client.user.id !== except && client.ws.readyState === WebSocket.OPEN) client.ws.send(JSON.stringify(message));
  }
}

function addToRoom(roomId: number, conn: Conn): void {
  let set = roomConns.get(roomId);
  if (!set) roomConns.set(roomId, (set = new Set()));
  set.add(conn);
}

function onConnection(ws: WebSocket, user: AuthUser, exp: number): void {
  const conn: Conn = { ws, user };
  let mine = online.get(user.id);
  const first = mine === undefined;
  if (!mine) online.set(user.id, (mine = new Set()));
  mine.add(conn);
  const rooms = sql.roomNames.all(user.id);
  for (const room of rooms) addToRoom(room.id, conn);
  reply(conn, {
    type: 'hello',
    user,
    server_time: new Date().toISOString(),
    token_expires_at: new Date(exp * 1000).toISOString(),
    limits: { max_message_bytes: MAX_MESSAGE_BYTES, max_text_chars: MAX_TEXT_CHARS, history_limit_max: HISTORY_LIMIT_MAX, send_rate_per_second: args.sendRate, send_burst: args.sendBurst },
  });
  if (first) for (const room of rooms) broadcast(room.id, { type: 'presence', room: room.name, user: user.username, state: 'online' }, user.id);

  ws.on('error', () => ws.terminate());
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      ws.close(1003, 'this protocol uses text frames');
      return;
    }
    onClientMessage(conn, data.toString());
  });
  ws.on('close', () => {
    mine!.delete(conn);
    for (const set of roomConns.values()) set.delete(conn);
    if (mine!.size > 0) return;
    online.delete(user.id);
    for (const room of sql.roomNames.all(user.id)) broadcast(room.id, { type: 'presence', room: room.name, user: user.username, state: 'offline' }, user.id);
  });
}

function takeToken(userId: number): boolean {
  const now = Date.now();
  let b = buckets.get(userId);
  if (!b) buckets.set(userId, (b = { tokens: args.sendBurst, at: now }));
  b.tokens = Math.min(args.sendBurst, b.tokens + ((now - b.at) * args.sendRate) / 1000);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function roomName(value: unknown): string {
  if (typeof value !== 'string' || !ROOM_NAME.test(value)) throw new ClientError('bad_request', '"room" must be 1–64 characters of A–Z a–z 0–9 _ -');
  return value;
}

function memberRoom(conn: Conn, value: unknown): RoomRow {
  const room = sql.roomByKey.get(roomName(value).toLowerCase());
  if (!room) throw new ClientError('not_found', 'no such room');
  if (!sql.isMember.get(room.id, conn.user.id)) throw new ClientError('not_member', 'you are not a member of this room');
  return room;
}

function optionalInteger(value: unknown, min: number): number | null {
  if (value === undefined) return null;
  if (!Number.isSafeInteger(value) || (value as number) < min) throw new ClientError('bad_request', 'a number field is not a valid integer');
  return value as number;
}

function onClientMessage(conn: Conn, text: string): void {
  let msg: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    msg = value as Record<string, unknown>;
  } catch {
    sendError(conn, undefined, 'bad_request', 'a message must be one JSON object');
    return;
  }
  const ref = msg.ref;
  if (ref !== undefined && (typeof ref !== 'string' || codePoints(ref) < 1 || codePoints(ref) > 64)) {
    sendError(conn, undefined, 'bad_request', '"ref" must be a string of 1 to 64 characters');
    return;
  }
  if (!takeToken(conn.user.id)) {
    sendError(conn, ref, 'rate_limited', 'slow down', { retry_after_ms: Math.ceil(1000 / args.sendRate) });
    return;
  }
  const withRef = typeof ref === 'string' ? { ref } : {};
  try {
    switch (msg.type) {
      case 'create_room': {
        const name = roomName(msg.room);
        if (msg.private === true) throw new ClientError('bad_request', 'private rooms are not implemented by this peer');
        try {
          sql.insertRoom.run(name, name.toLowerCase(), conn.user.id, new Date().toISOString());
        } catch (err) {
          if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ClientError('room_exists', 'a room with this name exists');
          throw err;
        }
        const room = sql.roomByKey.get(name.toLowerCase())!;
        joinRoom(conn, room, null, withRef);
        return;
      }
      case 'join': {
        const room = sql.roomByKey.get(roomName(msg.room).toLowerCase());
        if (!room) throw new ClientError('not_found', 'no such room');
        joinRoom(conn, room, optionalInteger(msg.since, 0), withRef);
        return;
      }
      case 'leave': {
        const room = memberRoom(conn, msg.room);
        sql.removeMember.run(room.id, conn.user.id);
        for (const c of online.get(conn.user.id) ?? []) roomConns.get(room.id)?.delete(c);
        reply(conn, { type: 'left', ...withRef, room: room.name });
        broadcast(room.id, { type: 'presence', room: room.name, user: conn.user.username, state: 'left' }, conn.user.id);
        return;
      }
      case 'send': {
        if (msg.to !== undefined) throw new ClientError('bad_request', 'direct messages are not implemented by this peer');
        const room = memberRoom(conn, msg.room);
        const body = msg.text;
        if (typeof body !== 'string') throw new ClientError('bad_request', '"text" must be a string');
        if (/^\p{White_Space}*$/u.test(body)) throw new ClientError('bad_request', '"text" must have a character that is not white space');
        if (codePoints(body) > MAX_TEXT_CHARS) throw new ClientError('too_long', `"text" is longer than ${MAX_TEXT_CHARS} characters`);
        const cmid = msg.cmid;
        if (cmid !== undefined && (typeof cmid !== 'string' || codePoints(cmid) < 1 || codePoints(cmid) > 64)) throw new ClientError('bad_request', '"cmid" must be 1–64 characters');
        if (typeof cmid === 'string') {
          const earlier = sql.byCmid.get(conn.user.id, room.id, cmid);
          if (earlier) {
            reply(conn, { type: 'ack', ...withRef, id: earlier.id, ts: earlier.created_at });
            return;
          }
        }
        const ts = new Date().toISOString();
        const id = Number(sql.insertMessage.run(room.id, conn.user.id, body, cmid ?? null, ts).lastInsertRowid);
        reply(conn, { type: 'ack', ...withRef, id, ts });
        broadcast(room.id, { type: 'message', room: room.name, id, from: conn.user.username, text: body, ts });
        return;
      }
      case 'history': {
        const room = memberRoom(conn, msg.room);
        const limit = optionalInteger(msg.limit, 1) ?? PAGE;
        if (limit > HISTORY_LIMIT_MAX) throw new ClientError('bad_request', `limit must be 1–${HISTORY_LIMIT_MAX}`);
        const rows = sql.newest.all(room.id, optionalInteger(msg.before, 1) ?? Number.MAX_SAFE_INTEGER, limit + 1);
        reply(conn, { type: 'history', ...withRef, room: room.name, messages: rows.slice(0, limit).reverse().map((m) => ({ id: m.id, room: room.name, from: m.from, text: m.text, ts: m.ts })), has_more: rows.length > limit });
        return;
      }
      case 'typing': {
        const room = memberRoom(conn, msg.room);
        broadcast(room.id, { type: 'typing', room: room.name, user: conn.user.username }, conn.user.id);
        return;
      }
      default:
        throw new ClientError(typeof msg.type === 'string' ? 'unknown_type' : 'bad_request', typeof msg.type === 'string' ? 'unknown message type' : 'a message needs a string "type"');
    }
  } catch (err) {
    if (err instanceof ClientError) return sendError(conn, ref, err.code, err.message);
    process.stderr.write(`chat peer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    sendError(conn, ref, 'internal', 'internal error');
  }
}

function joinRoom(conn: Conn, room: RoomRow, since: number | null, withRef: Record<string, unknown>): void {
  const user = conn.user;
  const added = sql.addMember.run(room.id, user.id, new Date().toISOString()).changes > 0;
  if (added) {
    for (const c of online.get(user.id) ?? []) addToRoom(room.id, c);
    broadcast(room.id, { type: 'presence', room: room.name, user: user.username, state: 'joined' }, user.id);
  }
  const rows = since === null ? sql.newest.all(room.id, Number.MAX_SAFE_INTEGER, PAGE + 1) : sql.after.all(room.id, since, PAGE + 1);
  const page = since === null ? rows.slice(0, PAGE).reverse() : rows.slice(0, PAGE);
  reply(conn, {
    type: 'joined',
    ...withRef,
    room: room.name,
    members: sql.members.all(room.id).map((m) => ({ username: m.username, display_name: m.display_name, online: online.has(m.id) })),
    messages: page.map((m) => ({ id: m.id, room: room.name, from: m.from, text: m.text, ts: m.ts })),
    has_more: rows.length > PAGE,
  });
}

// ── the server ─────────────────────────────────────────────────────────────

const server = args.tls
  ? https.createServer({ cert: readFileSync(args.cert), key: readFileSync(args.key), minVersion: 'TLSv1.2' }, onRequest)
  : http.createServer(onRequest);
server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
  onUpgrade(req, socket, head).catch((err: unknown) => {
    process.stderr.write(`chat peer: upgrade failed: ${err instanceof Error ? err.message : String(err)}\n`);
    socket.destroy();
  });
});

server.listen({ host: '127.0.0.1', port: args.port, backlog: 1024 }, () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`chat peer listening on ${args.tls ? 'https' : 'http'}://127.0.0.1:${port}\n`);
});

process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  server.close(() => {
    db.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 2000).unref();
});
