/**
 * The account endpoints of API.md ("HTTP endpoints"), and the accounts
 * module the rest of the server uses (the WebSocket layer authenticates with
 * it; the chat layer adds its tables to its database).
 *
 *   POST /register  {username, password, display_name?} → 201 {token, expires_at, user}
 *   POST /login     {username, password}                → 200 {token, expires_at, user}
 *   GET  /me                                            → 200 {user}
 *   PUT  /me        {display_name} | {current_password, new_password}
 *                                                       → 200 {user} (+ {token, expires_at})
 *   POST /logout                                        → 204
 *   POST /token                                         → 200 {token, expires_at}
 *
 * Each handler reads as numbered steps: admission (throttles) first, then the
 * body, then the work. Every refusal is an HttpError (lib/http/http-error.ts)
 * carrying its status and API.md code; the HTTP connection turns it into the
 * response. Anything else thrown — a database fault — becomes 500 `internal`
 * there, with the error in the log and no detail for the client.
 *
 * Using it: `mountAccounts(server)` before `server.start()` (tests do this)
 * or from a module mount. The database opens at start, or at the first use
 * of `module.store`, whichever comes first.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { ChatServer } from '../app/chat-server.js';
import type { Config } from '../config/schema.js';
import { MINUTE, SECOND } from '../config/schema.js';
import { HttpError } from '../http/http-error.js';
import { readJsonObject } from '../http/json-body.js';
import { jsonResponse, type Response } from '../http/response.js';
import type { Counter } from '../metrics/metrics.js';
import type { Request } from '../http/router.js';
import type { IssuedToken, TokenClaims } from '../jwt/claims.js';
import { openDatabase } from '../store/database.js';
import { AccountStore, publicUser, type User } from './account-store.js';
import { AuditLog, type AuditDetail, type AuditEvent } from './audit.js';
import { AuthService, type AuthResult, type RevocationListener } from './auth-service.js';
import { bearerCredentials, unauthorized } from './bearer.js';
import { dummyHash, hashPassword, needsRehash, retainHashWorkers, verifyPassword } from './password-hash.js';
import { accountThrottleKey, AuthThrottle, retryAfterSeconds, type ThrottleDecision } from './throttle.js';
import { HashGate } from './hash-gate.js';
import { isInvalid, usernameKey, validateDisplayName, validatePassword, validateUsername, type Invalid } from './validation.js';
import { loadCommonPasswords } from './common-passwords.js';

/** How often the module's one sweep runs: prune throttle tables, purge expired revocations. */
export const ACCOUNTS_SWEEP_INTERVAL_MS = MINUTE;

/** A rough time for one hash at OWASP's cost, to estimate Retry-After when the hash gate is full. */
const EXPECTED_HASH_MS = SECOND;

/** The file name of the database inside `data_dir` when `db_path` is empty (schema.ts). */
export const DEFAULT_DB_FILE = 'chat.db';

/** What the rest of the server gets from the accounts module. */
export interface AccountsModule {
  /** The database (open after start). The chat layer adds its tables through migrations.ts. */
  readonly store: Database.Database;
  readonly accounts: AccountStore;
  readonly audit: AuditLog;
  /** The checks of auth-service.ts: signature, claims, session age, revoked `jti`, user, version, disabled. */
  authenticateToken(token: string, now: number): Promise<AuthResult>;
  /** Called when tokens stop being good (logout, password change, disabled user); returns the unsubscribe function. */
  onRevoked(listener: RevocationListener): () => void;
  /** Disable or enable a user; a disabled user's tokens are refused and their listeners told. */
  setDisabled(userId: number, disabled: boolean): boolean;
}

export interface AccountsOptions {
  /** The gate in front of password hashing; sized from the machine by default (hash-gate.ts). */
  readonly hashGate?: HashGate;
}

/** Register the routes on `server` and return the module. */
export function mountAccounts(server: ChatServer, options: AccountsOptions = {}): AccountsModule {
  const gate = options.hashGate ?? new HashGate();
  const module = new Accounts(server, gate);
  // The hashing threads follow the gate and end with the server (password-hash.ts).
  const releaseHashWorkers = retainHashWorkers(gate.concurrency, server.log);
  server.route('POST', '/register', (req) => module.register(req));
  server.route('POST', '/login', (req) => module.login(req));
  server.route('GET', '/me', (req) => module.me(req));
  server.route('PUT', '/me', (req) => module.updateMe(req));
  server.route('POST', '/logout', (req) => module.logout(req));
  server.route('POST', '/token', (req) => module.refresh(req));
  server.moduleMounts.push(() => module.open());
  server.shutdownHooks.push(() => module.close());
  server.shutdownHooks.push(releaseHashWorkers);
  return module;
}

/** The database file: `db_path`, or chat.db in `data_dir` (schema.ts). */
export function databasePath(server: ChatServer): string {
  const c = server.currentConfig;
  return c.db_path === '' ? join(server.path(c.data_dir), DEFAULT_DB_FILE) : server.path(c.db_path);
}

/** The value of a validator, or 400 `validation_failed` naming the field. */
function valid(result: string | Invalid): string {
  if (isInvalid(result)) throw new HttpError(400, 'validation_failed', result.message, { field: result.field });
  return result;
}

/** A body field that must be a string (login's, and `current_password`), else 400 `validation_failed`. */
function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string') throw new HttpError(400, 'validation_failed', `${field} must be a string`, { field });
  return value;
}

/** API.md: `{token, expires_at}` with `expires_at` as toISOString writes it. */
function tokenFields(issued: IssuedToken): { token: string; expires_at: string } {
  return { token: issued.token, expires_at: issued.expiresAt.toISOString() };
}

/** `auth_time` for a password given at `now` (ms): a NumericDate in seconds. */
function secondsOf(now: number): number {
  return Math.floor(now / SECOND);
}

/** The same answer for an unknown user and a wrong password (API.md `/login`). */
const INVALID_CREDENTIALS_MESSAGE = 'wrong username or password';

class Accounts implements AccountsModule {
  private opened: { db: Database.Database; accounts: AccountStore; audit: AuditLog; sweep: NodeJS.Timeout } | null = null;
  private closed = false;
  private readonly auth: AuthService;
  private readonly throttle: AuthThrottle;
  private readonly rateLimited: Counter;

  constructor(
    private readonly server: ChatServer,
    private readonly gate: HashGate,
  ) {
    const m = server.metrics;
    const failures = m.counter('chat_auth_failures_total', 'Refused logins and tokens, by reason.');
    this.rateLimited = m.counter('chat_rate_limited_total', 'Requests refused by a rate limit (HTTP 429 or a WebSocket rate_limited error), by kind of limit.');
    this.throttle = new AuthThrottle(server.currentConfig);
    this.auth = new AuthService({
      accounts: () => this.accounts,
      secret: () => server.secret,
      config: () => server.currentConfig,
      failures,
      log: server.log,
    });
  }

  // ── the module ───────────────────────────────────────────────────────────

  /**
   * Open the database, apply migrations, start the sweep. Idempotent. A
   * database that cannot be used throws a StoreError, and the server does not
   * start.
   */
  open(): void {
    if (this.opened !== null) return;
    if (this.closed) throw new Error('the accounts module was shut down');
    const path = databasePath(this.server);
    const { db, migrations } = openDatabase(path);
    if (migrations.applied.length > 0) this.server.log.info('database migrated', { path, applied: migrations.applied, version: migrations.version });
    // Read now, so no request pays for it, and a missing list stops the start.
    loadCommonPasswords();
    // Made once per cost; the first login of an unknown user should not pay for it.
    dummyHash(this.config.password_hash_cost).catch((err: unknown) => this.logError('dummy hash failed', err));
    const sweep = setInterval(() => this.sweep(), ACCOUNTS_SWEEP_INTERVAL_MS);
    sweep.unref();
    this.opened = { db, accounts: new AccountStore(db), audit: new AuditLog(db), sweep };
  }

  close(): void {
    this.closed = true;
    if (this.opened === null) return;
    clearInterval(this.opened.sweep);
    this.opened.db.close();
    this.opened = null;
  }

  private get parts(): NonNullable<Accounts['opened']> {
    if (this.opened === null) this.open();
    return this.opened!;
  }

  get store(): Database.Database {
    return this.parts.db;
  }

  get accounts(): AccountStore {
    return this.parts.accounts;
  }

  get audit(): AuditLog {
    return this.parts.audit;
  }

  authenticateToken(token: string, now: number): Promise<AuthResult> {
    return this.auth.authenticateToken(token, now);
  }

  onRevoked(listener: RevocationListener): () => void {
    return this.auth.onRevoked(listener);
  }

  setDisabled(userId: number, disabled: boolean): boolean {
    const changed = this.accounts.setDisabled(userId, disabled);
    if (changed && disabled) this.auth.emit({ userId, reason: 'disabled' });
    return changed;
  }

  private get config(): Config {
    return this.server.currentConfig;
  }

  /** The one periodic pass: throttle tables and expired revocations. */
  private sweep(): void {
    const now = Date.now();
    this.throttle.prune(now);
    try {
      const purged = this.auth.purgeRevoked(now);
      if (purged > 0) this.server.log.debug('purged expired revocations', { purged });
    } catch (err) {
      this.logError('purging expired revocations failed', err);
    }
  }

  private logError(msg: string, err: unknown): void {
    this.server.log.error(msg, { err: err instanceof Error ? err : new Error(String(err)) });
  }

  // ── POST /register ───────────────────────────────────────────────────────

  async register(req: Request): Promise<Response> {
    // 1. Admission: the per-address bucket.
    this.admitAddress(req, Date.now());
    // 2. The body, field by field (API.md's rules, validation.ts).
    const body = readJsonObject(req);
    const username = valid(validateUsername(body.username));
    const password = valid(validatePassword(body.password, username));
    const displayName = body.display_name === undefined ? username : valid(validateDisplayName(body.display_name));
    // 3. A taken name is refused before the expensive hash; the UNIQUE index
    //    catches two registrations racing for the same name.
    const key = usernameKey(username);
    if (this.accounts.findByKey(key) !== null) throw usernameTaken();
    const passwordHash = await this.hashing(req, () => hashPassword(password, this.config.password_hash_cost));
    const now = Date.now();
    const inserted = this.accounts.insertUser({ username, usernameKey: key, displayName, passwordHash, createdAt: new Date(now) });
    if (!inserted.ok) throw usernameTaken();
    const user = inserted.user;
    // 4. Registered and logged in: the password was given now.
    const issued = this.auth.issue(user, secondsOf(now), now);
    this.record('register', req, user);
    return jsonResponse(201, { ...tokenFields(issued), user: publicUser(user) });
  }

  // ── POST /login ──────────────────────────────────────────────────────────

  async login(req: Request): Promise<Response> {
    // 1. Admission: the per-address bucket, then the body.
    const started = Date.now();
    this.admitAddress(req, started);
    const body = readJsonObject(req);
    const username = requireString(body, 'username');
    const password = requireString(body, 'password');
    // 2. The per-username failure bucket — for any name, existing or not.
    const throttleKey = accountThrottleKey(username);
    this.checkAccount(req, throttleKey, started);
    // 3. Verify against the user's hash, or against a dummy hash of the same
    //    cost when there is no such user: the same work, the same time.
    const found = isInvalid(validateUsername(username)) ? null : this.accounts.findByKey(usernameKey(username));
    const stored = found?.passwordHash ?? (await dummyHash(this.config.password_hash_cost));
    const matches = await this.hashing(req, () => verifyPassword(password, stored));
    const now = Date.now();
    // 4. A failure, identical whatever its cause (API.md: 401 `invalid_credentials`).
    if (found === null || !matches) {
      this.throttle.recordFailure(throttleKey, now);
      this.auth.countFailure('invalid_credentials');
      this.record('login_failure', req, found?.user ?? null, { reason: found === null ? 'unknown_user' : 'wrong_password' });
      throw unauthorized('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    }
    const user = found.user;
    // Only someone who knows the password learns that the account is disabled.
    if (user.disabled) {
      this.auth.countFailure('disabled');
      this.record('login_failure', req, user, { reason: 'disabled' });
      throw new HttpError(403, 'forbidden', 'this account is disabled');
    }
    // 5. Success. A hash made at an older cost is replaced in the background.
    if (needsRehash(found.passwordHash, this.config.password_hash_cost)) this.rehashLater(user.id, password, found.passwordHash);
    const issued = this.auth.issue(user, secondsOf(now), now);
    this.record('login_success', req, user);
    return jsonResponse(200, { ...tokenFields(issued), user: publicUser(user) });
  }

  /** Through the hash gate like any hash; when the gate is full it waits for the next login. */
  private rehashLater(userId: number, password: string, oldHash: string): void {
    this.gate
      .run(() => hashPassword(password, this.config.password_hash_cost))
      ?.then((newHash) => this.accounts.rehash(userId, oldHash, newHash))
      .catch((err: unknown) => this.logError('password rehash failed', err));
  }

  // ── GET /me ──────────────────────────────────────────────────────────────

  async me(req: Request): Promise<Response> {
    const { user } = await this.authenticate(req);
    return jsonResponse(200, { user: publicUser(user) });
  }

  // ── PUT /me ──────────────────────────────────────────────────────────────

  async updateMe(req: Request): Promise<Response> {
    // 1. Who is asking.
    const { user } = await this.authenticate(req);
    // 2. Which change: a display name, or a password, never both (API.md).
    const body = readJsonObject(req);
    const changesName = Object.hasOwn(body, 'display_name');
    const changesPassword = Object.hasOwn(body, 'current_password') || Object.hasOwn(body, 'new_password');
    if (changesName && changesPassword) {
      throw new HttpError(400, 'bad_request', 'change either display_name, or the password with current_password and new_password, not both at once');
    }
    if (!changesName && !changesPassword) {
      throw new HttpError(400, 'bad_request', 'send display_name, or current_password and new_password');
    }
    if (changesName) {
      const displayName = valid(validateDisplayName(body.display_name));
      const updated = this.accounts.updateDisplayName(user.id, displayName) ?? gone();
      return jsonResponse(200, { user: publicUser(updated) });
    }
    return this.changePassword(req, user, body);
  }

  /**
   * A password change:
   *   1. the fields (the new password by API.md's rules);
   *   2. the per-username failure bucket, so a stolen token cannot be used to
   *      guess the password without limit;
   *   3. the current password, else 403 `invalid_credentials`;
   *   4. the new hash and a raised token version in one statement: every
   *      earlier token of this user is refused from then on;
   *   5. a token for the new version, and the news to open WebSockets.
   */
  private async changePassword(req: Request, user: User, body: Record<string, unknown>): Promise<Response> {
    const current = requireString(body, 'current_password');
    const next = valid(validatePassword(body.new_password, user.username, 'new_password'));
    const throttleKey = accountThrottleKey(user.username);
    this.checkAccount(req, throttleKey, Date.now());
    const found = this.accounts.findCredentialsById(user.id) ?? gone();
    if (!(await this.hashing(req, () => verifyPassword(current, found.passwordHash)))) {
      this.throttle.recordFailure(throttleKey, Date.now());
      this.auth.countFailure('wrong_current_password');
      this.record('login_failure', req, user, { reason: 'wrong_current_password' });
      throw new HttpError(403, 'invalid_credentials', 'the current password is wrong');
    }
    const passwordHash = await this.hashing(req, () => hashPassword(next, this.config.password_hash_cost));
    const updated = this.accounts.changePassword(user.id, passwordHash, found.user.token_version);
    // Another change won the race: this request's token is stale now.
    if (updated === null) throw unauthorized('invalid_token', 'the token is no longer valid');
    const now = Date.now();
    const issued = this.auth.issue(updated, secondsOf(now), now);
    this.record('password_change', req, updated);
    this.auth.emit({ userId: updated.id, reason: 'password_changed' });
    return jsonResponse(200, { user: publicUser(updated), ...tokenFields(issued) });
  }

  // ── POST /logout ─────────────────────────────────────────────────────────

  async logout(req: Request): Promise<Response> {
    const { user, claims } = await this.authenticate(req);
    // RFC 7519 §4.1.7: the `jti` names this token; it is refused until it would have expired.
    this.auth.revokeToken(claims, user.id);
    this.record('logout', req, user);
    return jsonResponse(204, null);
  }

  // ── POST /token ──────────────────────────────────────────────────────────

  async refresh(req: Request): Promise<Response> {
    // 1. Admission, then the token as for any route.
    this.admitAddress(req, Date.now());
    const { user, claims } = await this.authenticate(req);
    // 2. API.md: the fresh token is "for the same login": same `auth_time`,
    //    so `exp` stays capped at auth_time + session_max_age; once that has
    //    passed, an unexpired token gets 401 `invalid_token`.
    const now = Date.now();
    if (this.auth.sessionEnded(claims.auth_time, now)) {
      this.auth.countFailure('session_ended');
      throw unauthorized('invalid_token', 'this login is too old to refresh: log in again');
    }
    return jsonResponse(200, tokenFields(this.auth.issue(user, claims.auth_time, now)));
  }

  // ── shared steps ─────────────────────────────────────────────────────────

  /** The bearer token of `req`, checked; else the matching 401. */
  private async authenticate(req: Request): Promise<{ user: User; claims: TokenClaims }> {
    const credentials = bearerCredentials(req.head);
    if (credentials.kind === 'none') {
      this.auth.countFailure('missing_token');
      throw unauthorized('unauthorized', 'send Authorization: Bearer <token>');
    }
    if (credentials.kind === 'malformed') {
      this.auth.countFailure('malformed_header');
      throw unauthorized('invalid_token', 'the Authorization header is not "Bearer <token>"');
    }
    const result = await this.auth.authenticateToken(credentials.token, Date.now());
    if (!result.ok) throw unauthorized(result.code, result.code === 'token_expired' ? 'the token has expired: log in again' : 'the token is not valid');
    return result;
  }

  /** Run a password hash through the gate (hash-gate.ts); a full queue is 429. */
  private hashing<T>(req: Request, job: () => Promise<T>): Promise<T> {
    const pending = this.gate.run(job);
    if (pending !== null) return pending;
    const waitMs = ((this.gate.load.waiting + 1) / this.gate.concurrency) * EXPECTED_HASH_MS;
    return this.refuse(req, { allowed: false, kind: 'password_hashing', retryAfterSeconds: retryAfterSeconds(waitMs) }, 'gate', null, Date.now());
  }

  private admitAddress(req: Request, now: number): void {
    this.throttle.update(this.config);
    const decision = this.throttle.admitAddress(req.client.group, now);
    if (!decision.allowed) this.refuse(req, decision, req.client.group, null, now);
  }

  private checkAccount(req: Request, throttleKey: string, now: number): void {
    this.throttle.update(this.config);
    const decision = this.throttle.checkAccount(throttleKey, now);
    if (!decision.allowed) this.refuse(req, decision, throttleKey, throttleKey, now);
  }

  /** 429 `rate_limited` with Retry-After (RFC 6585 §4, RFC 9110 §10.2.3); counted, and audited once a minute per key. */
  private refuse(req: Request, decision: Exclude<ThrottleDecision, { allowed: true }>, key: string, accountKey: string | null, now: number): never {
    this.rateLimited.inc({ kind: decision.kind });
    if (this.throttle.shouldAudit(decision.kind, key, now)) {
      // Name the account only when it exists (see audit.ts on typed-in passwords).
      const user = accountKey === null ? null : (this.accounts.findByKey(accountKey)?.user ?? null);
      this.record('throttled', req, user, { kind: decision.kind, path: req.path });
      this.server.log.warn('auth requests throttled', { kind: decision.kind, ip: req.client.ip, path: req.path });
    }
    throw new HttpError(429, 'rate_limited', 'too many attempts: wait and try again', {
      headers: { 'Retry-After': String(decision.retryAfterSeconds) },
    });
  }

  private record(event: AuditEvent, req: Request, user: User | null, detail?: AuditDetail): void {
    this.audit.record({ event, userId: user?.id ?? null, username: user?.username ?? null, ip: req.client.ip, detail, at: new Date() });
  }
}

function usernameTaken(): HttpError {
  return new HttpError(409, 'username_taken', 'that username is taken');
}

/** The authenticated user vanished between two statements (no route deletes users today). */
function gone(): never {
  throw unauthorized('invalid_token', 'the token is no longer valid');
}
