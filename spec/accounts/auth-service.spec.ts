/**
 * Token checks in order (lib/accounts/auth-service.ts) on an in-memory
 * database with a passed-in clock: the cases the live server cannot reach
 * quickly (a lowered session_max_age, the revocation purge margin, listener
 * faults).
 */
import { expect } from 'chai';
import type Database from 'better-sqlite3';
import { openDatabase } from '../../lib/store/database.js';
import { AccountStore, type User } from '../../lib/accounts/account-store.js';
import { AuthService, REVOCATION_MARGIN_MS, AUTH_FAILURE_REASONS } from '../../lib/accounts/auth-service.js';
import { defaultConfig } from '../../lib/config/parse.js';
import type { Config } from '../../lib/config/schema.js';
import { MINUTE, SECOND, SPEC_BY_KEY, type DurationSpec } from '../../lib/config/schema.js';
import { MetricsRegistry } from '../../lib/metrics/metrics.js';
import { createLogger } from '../../lib/log/logger.js';

const KEY = Buffer.from('spec-key-spec-key-spec-key-spec-key!');
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('accounts/auth-service', () => {
  let db: Database.Database;
  let store: AccountStore;
  let config: Config;
  let service: AuthService;
  let metrics: MetricsRegistry;
  let logLines: string[];
  let user: User;

  beforeEach(() => {
    db = openDatabase(':memory:').db;
    store = new AccountStore(db);
    config = defaultConfig();
    metrics = new MetricsRegistry();
    logLines = [];
    service = new AuthService({
      accounts: () => store,
      secret: () => KEY,
      config: () => config,
      failures: metrics.counter('chat_auth_failures_total', 'x'),
      log: createLogger({ level: 'debug', write: (l) => logLines.push(l) }),
    });
    const r = store.insertUser({ username: 'Alice', usernameKey: 'alice', displayName: 'Alice', passwordHash: 'h', createdAt: new Date(NOW) });
    if (!r.ok) throw new Error('insert failed');
    user = r.user;
  });
  afterEach(() => db.close());

  it('issues a token that it accepts, for the same user and claims', async () => {
    const issued = service.issue(user, NOW / SECOND, NOW);
    const result = await service.authenticateToken(issued.token, NOW);
    expect(result).to.deep.equal({ ok: true, user, claims: issued.claims });
  });

  it('caps exp at auth_time + session_max_age (API.md "POST /token")', () => {
    const authTime = NOW / SECOND - (config.session_max_age - 10 * MINUTE) / SECOND;
    const issued = service.issue(user, authTime, NOW);
    expect(issued.claims.exp).to.equal(authTime + config.session_max_age / SECOND);
    expect(issued.claims.exp - issued.claims.iat).to.equal(10 * 60);
  });

  it('answers token_expired for a token whose login became too old when session_max_age was lowered', async () => {
    const issued = service.issue(user, NOW / SECOND, NOW);
    config = { ...config, session_max_age: 10 * MINUTE };
    expect(await service.authenticateToken(issued.token, NOW + 11 * MINUTE)).to.deep.equal({ ok: false, code: 'token_expired', reason: 'session_ended' });
    expect(service.sessionEnded(issued.claims.auth_time, NOW + 11 * MINUTE)).to.equal(true);
  });

  it('refuses a token of another issuer (RFC 8725 §3.8) and one whose user is gone', async () => {
    const issued = service.issue(user, NOW / SECOND, NOW);
    config = { ...config, token_issuer: 'someone-else' };
    expect(await service.authenticateToken(issued.token, NOW)).to.deep.equal({ ok: false, code: 'invalid_token', reason: 'bad_issuer' });
    config = defaultConfig();
    db.prepare('DELETE FROM users WHERE id = ?').run(user.id);
    expect(await service.authenticateToken(issued.token, NOW)).to.deep.equal({ ok: false, code: 'invalid_token', reason: 'unknown_user' });
  });

  it('counts each refusal by its reason, from a bounded set', async () => {
    await service.authenticateToken('garbage', NOW);
    const text = metrics.render();
    expect(text).to.match(/chat_auth_failures_total\{reason="malformed"\} 1/);
    expect(new Set(AUTH_FAILURE_REASONS).size).to.equal(AUTH_FAILURE_REASONS.length);
  });

  it('keeps a revoked jti REVOCATION_MARGIN_MS past exp, as long as token_leeway can still accept it', async () => {
    const issued = service.issue(user, NOW / SECOND, NOW);
    service.revokeToken(issued.claims, user.id);
    const expMs = issued.claims.exp * SECOND;
    expect(service.purgeRevoked(expMs + REVOCATION_MARGIN_MS - 1)).to.equal(0);
    expect(await service.authenticateToken(issued.token, NOW)).to.deep.include({ ok: false, reason: 'revoked' });
    expect(service.purgeRevoked(expMs + REVOCATION_MARGIN_MS + 1)).to.equal(1);
    // The margin is token_leeway's largest allowed value.
    expect(REVOCATION_MARGIN_MS).to.equal((SPEC_BY_KEY.get('token_leeway') as DurationSpec).max);
  });

  it('tells every revocation listener even when one throws, and logs the fault', () => {
    const seen: string[] = [];
    service.onRevoked(() => {
      throw new Error('boom');
    });
    const off = service.onRevoked((e) => seen.push(e.reason));
    service.emit({ userId: user.id, reason: 'password_changed' });
    off();
    service.emit({ userId: user.id, reason: 'disabled' });
    expect(seen).to.deep.equal(['password_changed']);
    expect(logLines.filter((l) => l.includes('revocation listener failed'))).to.have.length(2);
  });
});
