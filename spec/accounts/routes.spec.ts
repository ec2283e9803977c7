/**
 * The account endpoints of API.md over real TLS sockets against the live
 * server: every route, every error of the account rows, tokens (RFC 7519),
 * the 401 challenges (RFC 6750 §3), revocation by logout and by password
 * change, POST /token and session_max_age, and the audit record.
 *
 * Throttling and database faults have their own servers (throttle-live.spec.ts,
 * store-live.spec.ts) so that their limits do not leak into these tests.
 */
import { expect } from 'chai';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { call, GOOD_PASSWORD, payloadOf, register, uniqueName, type ApiResponse } from './api-client.js';
import { mountAccounts, type AccountsModule } from '../../lib/accounts/routes.js';
import { signHs256, verifyHs256 } from '../../lib/jwt/hs256.js';
import { base64urlEncode } from '../../lib/jwt/base64url.js';
import { randomBytes, scryptSync } from 'node:crypto';
import type { RevocationEvent } from '../../lib/accounts/auth-service.js';

/** Generous address limits: these tests are not about throttling. */
const ROOMY = { password_hash_cost: 14, auth_rate_per_minute: 100_000, auth_burst: 100_000, login_failures_per_account: 1000 } as const;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function expectError(res: ApiResponse, status: number, code: string): void {
  expect(res.status, res.body.toString()).to.equal(status);
  expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
  expect(res.json.error.code).to.equal(code);
  expect(res.json.error.message).to.be.a('string').and.not.equal('');
}

/** The headers of a response that may differ between two identical answers. */
function stableHeaders(res: ApiResponse): [string, string][] {
  return [...res.headers.entries()].filter(([name]) => name !== 'date');
}

describe('accounts routes (live server, API.md "HTTP endpoints")', function () {
  let live: LiveServer;
  let accounts: AccountsModule;
  before(async () => {
    live = await startServer(ROOMY, {
      prepare: (s) => {
        accounts = mountAccounts(s);
      },
    });
  });
  after(() => live.close());

  const verify = (token: string) =>
    verifyHs256(token, live.server.secret, { now: Date.now(), issuer: live.server.currentConfig.token_issuer, leewaySeconds: 0 });

  describe('POST /register', () => {
    it('answers 201 {token, expires_at, user} with the user shape of API.md', async () => {
      const username = uniqueName('Alice');
      const res = await call(live, 'POST', '/register', { body: { username, password: GOOD_PASSWORD, display_name: '  Alice A.  ' } });
      expect(res.status).to.equal(201);
      expect(Object.keys(res.json).sort()).to.deep.equal(['expires_at', 'token', 'user']);
      expect(Object.keys(res.json.user).sort()).to.deep.equal(['created_at', 'display_name', 'id', 'username']);
      expect(res.json.user.username).to.equal(username);
      expect(res.json.user.display_name).to.equal('Alice A.');
      expect(res.json.user.id).to.be.a('number');
      expect(res.json.user.created_at).to.match(ISO);
      expect(res.json.expires_at).to.match(ISO);
      expect(res.headers.get('cache-control')).to.equal('no-store');
    });

    it('issues a token that verifies with the server key and carries the claims of API.md "Tokens" (RFC 7519 §4.1)', async () => {
      const before = Math.floor(Date.now() / 1000);
      const { token, user, username } = await register(live);
      const verified = verify(token);
      expect(verified.ok).to.equal(true);
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
      expect(header).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
      const claims = payloadOf(token);
      expect(claims.sub).to.equal(String(user.id));
      expect(claims.name).to.equal(username);
      expect(claims.iss).to.equal(live.server.currentConfig.token_issuer);
      expect(claims.ver).to.equal(0);
      expect(claims.jti).to.match(/^[A-Za-z0-9_-]{16,}$/);
      expect(claims.auth_time).to.be.within(before, before + 60);
      expect((claims.exp as number) - (claims.iat as number)).to.equal(live.server.currentConfig.token_ttl / 1000);
    });

    it('answers expires_at as the token exp written by toISOString', async () => {
      const res = await call(live, 'POST', '/register', { body: { username: uniqueName(), password: GOOD_PASSWORD } });
      expect(res.json.expires_at).to.equal(new Date((payloadOf(res.json.token).exp as number) * 1000).toISOString());
    });

    it('defaults display_name to the username', async () => {
      const username = uniqueName('Bob');
      const res = await call(live, 'POST', '/register', { body: { username, password: GOOD_PASSWORD } });
      expect(res.json.user.display_name).to.equal(username);
    });

    it('answers 409 username_taken for a username taken in another case', async () => {
      const username = uniqueName('Carol');
      await register(live, username);
      const res = await call(live, 'POST', '/register', { body: { username: username.toUpperCase(), password: GOOD_PASSWORD } });
      expectError(res, 409, 'username_taken');
    });

    const name = 'valid_name';
    const validationCases: { readonly title: string; readonly body: Record<string, unknown>; readonly field: string }[] = [
      { title: 'a username shorter than 3 characters', body: { username: 'ab', password: GOOD_PASSWORD }, field: 'username' },
      { title: 'a username longer than 32 characters', body: { username: 'a'.repeat(33), password: GOOD_PASSWORD }, field: 'username' },
      { title: 'a username with a character outside A–Z a–z 0–9 _ . -', body: { username: 'ali ce', password: GOOD_PASSWORD }, field: 'username' },
      { title: 'a username that is not a string', body: { username: 42, password: GOOD_PASSWORD }, field: 'username' },
      { title: 'a missing username', body: { password: GOOD_PASSWORD }, field: 'username' },
      { title: 'a password shorter than 8 characters', body: { username: name, password: 'short1!' }, field: 'password' },
      { title: 'a password longer than 256 characters', body: { username: name, password: 'x'.repeat(257) }, field: 'password' },
      { title: 'a password that is the username in another case', body: { username: 'Valid_Name_9', password: 'VALID_NAME_9' }, field: 'password' },
      { title: 'a password from the common-password list', body: { username: name, password: 'Password1' }, field: 'password' },
      { title: 'a missing password', body: { username: name }, field: 'password' },
      { title: 'a display_name of white space only', body: { username: name, password: GOOD_PASSWORD, display_name: ' \u3000 ' }, field: 'display_name' },
      { title: 'a display_name longer than 64 characters', body: { username: name, password: GOOD_PASSWORD, display_name: 'é'.repeat(65) }, field: 'display_name' },
      { title: 'a display_name with a control character', body: { username: name, password: GOOD_PASSWORD, display_name: 'a\u0007b' }, field: 'display_name' },
      { title: 'a display_name that is not a string', body: { username: name, password: GOOD_PASSWORD, display_name: null }, field: 'display_name' },
    ];
    for (const c of validationCases) {
      it(`answers 400 validation_failed with field "${c.field}" for ${c.title}`, async () => {
        const res = await call(live, 'POST', '/register', { body: c.body });
        expectError(res, 400, 'validation_failed');
        expect(res.json.error.field).to.equal(c.field);
        // API.md "Errors": no password ever reaches a client.
        if (typeof c.body.password === 'string') expect(res.body.toString()).not.to.include(c.body.password);
      });
    }

    it('counts lengths in code points: a 64-character display name of astral characters is accepted', async () => {
      const res = await call(live, 'POST', '/register', { body: { username: uniqueName(), password: GOOD_PASSWORD, display_name: '😀'.repeat(64) } });
      expect(res.status).to.equal(201);
      expect([...res.json.user.display_name as string].length).to.equal(64);
    });

    it('answers 415 unsupported_media_type for a body that is not application/json (RFC 9110 §15.5.16)', async () => {
      const res = await call(live, 'POST', '/register', { rawBody: 'username=a&password=b', contentType: 'application/x-www-form-urlencoded' });
      expectError(res, 415, 'unsupported_media_type');
    });

    it('answers 400 invalid_json for a body that is not JSON', async () => {
      const res = await call(live, 'POST', '/register', { rawBody: '{"username": "x",' });
      expectError(res, 400, 'invalid_json');
    });

    it('answers 400 bad_request for JSON that is not an object', async () => {
      const res = await call(live, 'POST', '/register', { rawBody: '["alice", "secret"]' });
      expectError(res, 400, 'bad_request');
    });

    it('answers GET /register with 405 and Allow: POST (RFC 9110 §15.5.6)', async () => {
      const res = await call(live, 'GET', '/register');
      expectError(res, 405, 'method_not_allowed');
      expect(res.headers.get('allow')).to.equal('POST');
    });
  });

  describe('POST /login', () => {
    it('answers 200 {token, expires_at, user} for the right password, matching the username in any case', async () => {
      const { username, user } = await register(live, uniqueName('Dave'));
      const res = await call(live, 'POST', '/login', { body: { username: username.toLowerCase(), password: GOOD_PASSWORD } });
      expect(res.status).to.equal(200);
      expect(Object.keys(res.json).sort()).to.deep.equal(['expires_at', 'token', 'user']);
      expect(res.json.user).to.deep.include({ id: user.id, username });
      expect(verify(res.json.token).ok).to.equal(true);
    });

    it('answers an unknown user and a wrong password identically: 401 invalid_credentials, same body and headers', async () => {
      const { username } = await register(live);
      const wrong = await call(live, 'POST', '/login', { body: { username, password: 'not the password at all' } });
      const unknown = await call(live, 'POST', '/login', { body: { username: uniqueName('nobody'), password: 'not the password at all' } });
      expectError(wrong, 401, 'invalid_credentials');
      expect(unknown.status).to.equal(wrong.status);
      expect(unknown.body.toString()).to.equal(wrong.body.toString());
      expect(stableHeaders(unknown)).to.deep.equal(stableHeaders(wrong));
      // RFC 6750 §3.1: no credentials were given, so no error code in the challenge.
      expect(wrong.headers.get('www-authenticate')).to.equal('Bearer');
    });

    it('spends a password hash on an unknown user too (the dummy hash), so timing does not tell', async () => {
      // Without the dummy hash an unknown user is answered in well under a
      // millisecond of work; with it, at least one scrypt at cost 14.
      const started = Date.now();
      for (let i = 0; i < 3; i++) await call(live, 'POST', '/login', { body: { username: uniqueName('ghost'), password: 'whatever-password' } });
      const unknownMs = (Date.now() - started) / 3;
      const t0 = Date.now();
      scryptSync('x', 'salt-salt-salt16', 32, { N: 2 ** 14, r: 8, p: 1 });
      const oneHashMs = Date.now() - t0;
      expect(unknownMs).to.be.greaterThan(oneHashMs * 0.5);
    });

    it('answers 400 validation_failed when username or password is not a string', async () => {
      const a = await call(live, 'POST', '/login', { body: { password: 'x' } });
      expectError(a, 400, 'validation_failed');
      expect(a.json.error.field).to.equal('username');
      const b = await call(live, 'POST', '/login', { body: { username: 'someone', password: 12345678 } });
      expectError(b, 400, 'validation_failed');
      expect(b.json.error.field).to.equal('password');
    });

    it('answers GET /login with 405 and Allow: POST', async () => {
      const res = await call(live, 'GET', '/login');
      expectError(res, 405, 'method_not_allowed');
      expect(res.headers.get('allow')).to.equal('POST');
    });
  });

  describe('GET /me', () => {
    it('answers 200 {user} for a valid token', async () => {
      const { token, user, username } = await register(live);
      const res = await call(live, 'GET', '/me', { token });
      expect(res.status).to.equal(200);
      expect(Object.keys(res.json)).to.deep.equal(['user']);
      expect(res.json.user).to.deep.include({ id: user.id, username, display_name: username });
    });

    it('answers HEAD /me like GET, without a body (RFC 9110 §9.3.2)', async () => {
      const { token } = await register(live);
      const res = await call(live, 'HEAD', '/me', { token });
      expect(res.status).to.equal(200);
      expect(res.body.length).to.equal(0);
    });

    it('answers no token with 401 unauthorized and WWW-Authenticate: Bearer, no error code (RFC 6750 §3.1)', async () => {
      const res = await call(live, 'GET', '/me');
      expectError(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate')).to.equal('Bearer');
    });

    it('treats another authentication scheme as no token (RFC 6750 §3.1)', async () => {
      const res = await call(live, 'GET', '/me', { headers: ['Authorization: Basic YWxpY2U6c2VjcmV0'] });
      expectError(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate')).to.equal('Bearer');
    });

    it('answers a bad token with 401 invalid_token and error="invalid_token" (RFC 6750 §3.1)', async () => {
      const { token } = await register(live);
      const [h, p, s] = token.split('.') as [string, string, string];
      const tampered = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
      for (const bad of [tampered, 'not-a-jwt', `${h}.${p}`]) {
        const res = await call(live, 'GET', '/me', { token: bad });
        expectError(res, 401, 'invalid_token');
        expect(res.headers.get('www-authenticate')).to.equal('Bearer error="invalid_token"');
      }
    });

    it('answers a malformed Authorization: Bearer value with 401 invalid_token', async () => {
      const res = await call(live, 'GET', '/me', { headers: ['Authorization: Bearer a b'] });
      expectError(res, 401, 'invalid_token');
      expect(res.headers.get('www-authenticate')).to.match(/^Bearer error="invalid_token"/);
    });

    it('answers an expired token with 401 token_expired (RFC 7519 §4.1.4)', async () => {
      const { user, username } = await register(live);
      const now = Math.floor(Date.now() / 1000);
      const expired = signHs256(
        { sub: String(user.id), name: username, iat: now - 7200, exp: now - 3600, jti: base64urlEncode(randomBytes(16)), iss: live.server.currentConfig.token_issuer, ver: 0, auth_time: now - 7200 },
        live.server.secret,
      );
      const res = await call(live, 'GET', '/me', { token: expired });
      expectError(res, 401, 'token_expired');
      expect(res.headers.get('www-authenticate')).to.match(/^Bearer error="invalid_token"/);
    });

    it('answers a token signed with another key with 401 invalid_token', async () => {
      const { user, username } = await register(live);
      const now = Math.floor(Date.now() / 1000);
      const forged = signHs256(
        { sub: String(user.id), name: username, iat: now, exp: now + 600, jti: base64urlEncode(randomBytes(16)), iss: live.server.currentConfig.token_issuer, ver: 0, auth_time: now },
        Buffer.from('another-key-that-is-at-least-32-bytes-long'),
      );
      expectError(await call(live, 'GET', '/me', { token: forged }), 401, 'invalid_token');
    });
  });

  describe('PUT /me', () => {
    it('changes the display name (trimmed) and answers 200 {user}', async () => {
      const { token } = await register(live);
      const res = await call(live, 'PUT', '/me', { token, body: { display_name: '\tNew Name ' } });
      expect(res.status).to.equal(200);
      expect(Object.keys(res.json)).to.deep.equal(['user']);
      expect(res.json.user.display_name).to.equal('New Name');
      const me = await call(live, 'GET', '/me', { token });
      expect(me.json.user.display_name).to.equal('New Name');
    });

    it('changes the password: 200 {user, token, expires_at}; every older token is refused, the new one and the new password work', async () => {
      const { token: first, username } = await register(live);
      const second = (await call(live, 'POST', '/login', { body: { username, password: GOOD_PASSWORD } })).json.token as string;
      const newPassword = 'a much better passphrase 42';
      const res = await call(live, 'PUT', '/me', { token: first, body: { current_password: GOOD_PASSWORD, new_password: newPassword } });
      expect(res.status).to.equal(200);
      expect(Object.keys(res.json).sort()).to.deep.equal(['expires_at', 'token', 'user']);
      expect(payloadOf(res.json.token).ver).to.equal(1);
      for (const old of [first, second]) expectError(await call(live, 'GET', '/me', { token: old }), 401, 'invalid_token');
      expect((await call(live, 'GET', '/me', { token: res.json.token })).status).to.equal(200);
      expectError(await call(live, 'POST', '/login', { body: { username, password: GOOD_PASSWORD } }), 401, 'invalid_credentials');
      expect((await call(live, 'POST', '/login', { body: { username, password: newPassword } })).status).to.equal(200);
    });

    it('answers a wrong current_password with 403 invalid_credentials and changes nothing', async () => {
      const { token } = await register(live);
      const res = await call(live, 'PUT', '/me', { token, body: { current_password: 'wrong wrong wrong', new_password: 'a much better passphrase 42' } });
      expectError(res, 403, 'invalid_credentials');
      expect((await call(live, 'GET', '/me', { token })).status).to.equal(200);
    });

    it('answers a body with both display_name and passwords with 400 bad_request', async () => {
      const { token } = await register(live);
      const res = await call(live, 'PUT', '/me', { token, body: { display_name: 'X', current_password: GOOD_PASSWORD, new_password: 'a much better passphrase 42' } });
      expectError(res, 400, 'bad_request');
    });

    it('answers a body with neither with 400 bad_request', async () => {
      const { token } = await register(live);
      expectError(await call(live, 'PUT', '/me', { token, body: {} }), 400, 'bad_request');
    });

    it('answers a new password that breaks the rules with 400 validation_failed, field new_password', async () => {
      const { token, username } = await register(live);
      for (const newPassword of ['short', username.toUpperCase(), 'iloveyou']) {
        const res = await call(live, 'PUT', '/me', { token, body: { current_password: GOOD_PASSWORD, new_password: newPassword } });
        expectError(res, 400, 'validation_failed');
        expect(res.json.error.field).to.equal('new_password');
      }
    });

    it('answers a bad display_name with 400 validation_failed, field display_name', async () => {
      const { token } = await register(live);
      const res = await call(live, 'PUT', '/me', { token, body: { display_name: '   ' } });
      expectError(res, 400, 'validation_failed');
      expect(res.json.error.field).to.equal('display_name');
    });

    it('answers without a token 401 with WWW-Authenticate: Bearer', async () => {
      const res = await call(live, 'PUT', '/me', { body: { display_name: 'X' } });
      expectError(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate')).to.equal('Bearer');
    });

    it('answers DELETE /me with 405 and the allowed methods', async () => {
      const res = await call(live, 'DELETE', '/me');
      expectError(res, 405, 'method_not_allowed');
      expect(res.headers.get('allow')!.split(', ').sort()).to.deep.equal(['GET', 'HEAD', 'PUT']);
    });
  });

  describe('POST /logout', () => {
    it('answers 204 with no body, then refuses that token with 401 invalid_token; other tokens of the user still work', async () => {
      const { token, username } = await register(live);
      const other = (await call(live, 'POST', '/login', { body: { username, password: GOOD_PASSWORD } })).json.token as string;
      const res = await call(live, 'POST', '/logout', { token });
      expect(res.status).to.equal(204);
      expect(res.body.length).to.equal(0);
      expect(res.headers.has('content-length')).to.equal(false);
      const after = await call(live, 'GET', '/me', { token });
      expectError(after, 401, 'invalid_token');
      expect(after.headers.get('www-authenticate')).to.equal('Bearer error="invalid_token"');
      expectError(await call(live, 'POST', '/logout', { token }), 401, 'invalid_token');
      expect((await call(live, 'GET', '/me', { token: other })).status).to.equal(200);
    });

    it('keeps the revoked jti until the token would have expired', async () => {
      const { token } = await register(live);
      await call(live, 'POST', '/logout', { token });
      const { jti, exp } = payloadOf(token) as { jti: string; exp: number };
      const row = accounts.store.prepare('SELECT expires_at FROM revoked_tokens WHERE jti = ?').get(jti) as { expires_at: number };
      expect(row.expires_at).to.equal(exp * 1000);
    });

    it('answers without a token 401 unauthorized', async () => {
      expectError(await call(live, 'POST', '/logout'), 401, 'unauthorized');
    });
  });

  describe('POST /token', () => {
    it('answers 200 {token, expires_at}: a fresh token for the same login (same auth_time, new jti)', async () => {
      const { token } = await register(live);
      await new Promise((r) => setTimeout(r, 1100)); // so iat differs
      const res = await call(live, 'POST', '/token', { token });
      expect(res.status).to.equal(200);
      expect(Object.keys(res.json).sort()).to.deep.equal(['expires_at', 'token']);
      const a = payloadOf(token);
      const b = payloadOf(res.json.token);
      expect(b.auth_time).to.equal(a.auth_time);
      expect(b.jti).not.to.equal(a.jti);
      expect(b.iat as number).to.be.greaterThan(a.iat as number);
      expect(b.sub).to.equal(a.sub);
      expect((await call(live, 'GET', '/me', { token: res.json.token })).status).to.equal(200);
      expect((await call(live, 'GET', '/me', { token })).status).to.equal(200);
    });

    it('answers no token 401 unauthorized and a logged-out token 401 invalid_token', async () => {
      expectError(await call(live, 'POST', '/token'), 401, 'unauthorized');
      const { token } = await register(live);
      await call(live, 'POST', '/logout', { token });
      expectError(await call(live, 'POST', '/token', { token }), 401, 'invalid_token');
    });
  });

  describe('authenticateToken (for the WebSocket layer)', () => {
    it('accepts a good token with the user and its claims', async () => {
      const { token, user, username } = await register(live);
      const result = await accounts.authenticateToken(token, Date.now());
      expect(result.ok).to.equal(true);
      if (!result.ok) return;
      expect(result.user).to.deep.include({ id: user.id, username, disabled: false, token_version: 0 });
      expect(result.claims.jti).to.equal(payloadOf(token).jti);
    });

    it('refuses a tampered token, an expired one, a logged-out one, an older version and a disabled user, each with its code and reason', async () => {
      const { token, user, username } = await register(live);
      const tampered = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
      expect(await accounts.authenticateToken(tampered, Date.now())).to.deep.equal({ ok: false, code: 'invalid_token', reason: 'bad_signature' });
      const late = Date.now() + 2 * 3600_000;
      expect(await accounts.authenticateToken(token, late)).to.deep.equal({ ok: false, code: 'token_expired', reason: 'expired' });

      const loggedIn = (await call(live, 'POST', '/login', { body: { username, password: GOOD_PASSWORD } })).json.token as string;
      await call(live, 'POST', '/logout', { token: loggedIn });
      expect(await accounts.authenticateToken(loggedIn, Date.now())).to.deep.equal({ ok: false, code: 'invalid_token', reason: 'revoked' });

      const changed = await call(live, 'PUT', '/me', { token, body: { current_password: GOOD_PASSWORD, new_password: 'yet another passphrase 7' } });
      expect(await accounts.authenticateToken(token, Date.now())).to.deep.equal({ ok: false, code: 'invalid_token', reason: 'stale_version' });

      const fresh = changed.json.token as string;
      expect((await accounts.authenticateToken(fresh, Date.now())).ok).to.equal(true);
      expect(accounts.setDisabled(user.id, true)).to.equal(true);
      expect(await accounts.authenticateToken(fresh, Date.now())).to.deep.equal({ ok: false, code: 'invalid_token', reason: 'disabled' });
      expectError(await call(live, 'GET', '/me', { token: fresh }), 401, 'invalid_token');
      accounts.setDisabled(user.id, false);
      expect((await accounts.authenticateToken(fresh, Date.now())).ok).to.equal(true);
    });

    it('tells onRevoked listeners about a logout (with the jti), a password change and a disabled user', async () => {
      const events: RevocationEvent[] = [];
      const unsubscribe = accounts.onRevoked((e) => events.push(e));
      try {
        const { token, user } = await register(live);
        await call(live, 'POST', '/logout', { token });
        const again = (await call(live, 'POST', '/login', { body: { username: payloadOf(token).name, password: GOOD_PASSWORD } })).json.token as string;
        await call(live, 'PUT', '/me', { token: again, body: { current_password: GOOD_PASSWORD, new_password: 'yet another passphrase 8' } });
        accounts.setDisabled(user.id, true);
        const mine = events.filter((e) => e.userId === user.id);
        expect(mine).to.deep.equal([
          { userId: user.id, jti: payloadOf(token).jti, reason: 'logout' },
          { userId: user.id, reason: 'password_changed' },
          { userId: user.id, reason: 'disabled' },
        ]);
      } finally {
        unsubscribe();
      }
    });

    it('refuses a disabled user at login with 403 forbidden only after the right password', async () => {
      const { username, user } = await register(live);
      accounts.setDisabled(user.id, true);
      expectError(await call(live, 'POST', '/login', { body: { username, password: 'wrong wrong wrong' } }), 401, 'invalid_credentials');
      expectError(await call(live, 'POST', '/login', { body: { username, password: GOOD_PASSWORD } }), 403, 'forbidden');
    });
  });

  describe('audit record and metrics', () => {
    it('records register, login_success, login_failure, logout and password_change, never a password or token', async () => {
      const { token, username, user } = await register(live);
      await call(live, 'POST', '/login', { body: { username, password: 'the wrong password' } });
      const login = await call(live, 'POST', '/login', { body: { username, password: GOOD_PASSWORD } });
      await call(live, 'POST', '/logout', { token: login.json.token });
      await call(live, 'PUT', '/me', { token, body: { current_password: GOOD_PASSWORD, new_password: 'the newest passphrase 9' } });
      const rows = accounts.audit.latest(1000).filter((r) => r.user_id === user.id).reverse();
      expect(rows.map((r) => r.event)).to.deep.equal(['register', 'login_failure', 'login_success', 'logout', 'password_change']);
      for (const r of rows) {
        expect(r.ip).to.equal('127.0.0.1');
        expect(r.username).to.equal(username);
        expect(r.at).to.match(ISO);
        expect(() => JSON.parse(r.detail)).not.to.throw();
      }
      const all = JSON.stringify(accounts.audit.latest(10_000));
      for (const secret of [GOOD_PASSWORD, 'the wrong password', 'the newest passphrase 9', token, login.json.token]) expect(all).not.to.include(secret);
    });

    it('records a failed login for an unknown user without the typed username', async () => {
      const typed = uniqueName('Typo');
      await call(live, 'POST', '/login', { body: { username: typed, password: 'some password here' } });
      const row = accounts.audit.latest(20).find((r) => r.event === 'login_failure' && r.user_id === null);
      expect(row).to.not.equal(undefined);
      expect(row!.username).to.equal(null);
      expect(JSON.stringify(accounts.audit.latest(10_000))).not.to.include(typed);
    });

    it('counts refusals in chat_auth_failures_total{reason} with bounded reasons', async () => {
      await call(live, 'GET', '/me');
      await call(live, 'POST', '/login', { body: { username: uniqueName(), password: 'some password here' } });
      const metrics = (await call(live, 'GET', '/metrics')).body.toString();
      expect(metrics).to.match(/^chat_auth_failures_total\{reason="missing_token"\} [1-9]/m);
      expect(metrics).to.match(/^chat_auth_failures_total\{reason="invalid_credentials"\} [1-9]/m);
    });
  });
});

describe('POST /token and session_max_age (live server, API.md "Tokens")', function () {
  let live: LiveServer;
  before(async () => {
    // One-second sessions: a token's exp is capped at auth_time + 1 s.
    live = await startServer({ ...ROOMY, session_max_age: 1000, token_ttl: 1000 }, { prepare: (s) => void mountAccounts(s) });
  });
  after(() => live.close());

  it('caps exp at auth_time + session_max_age', async () => {
    const { token } = await register(live);
    const claims = payloadOf(token) as { exp: number; auth_time: number };
    expect(claims.exp).to.equal(claims.auth_time + 1);
  });

  it('refuses POST /token with 401 invalid_token once auth_time + session_max_age has passed, for a token still within its leeway', async () => {
    const { token } = await register(live);
    const { auth_time: authTime } = payloadOf(token) as { auth_time: number };
    while (Math.floor(Date.now() / 1000) < authTime + 1) await new Promise((r) => setTimeout(r, 50));
    // The token is past exp but within token_leeway (30 s): still accepted elsewhere ...
    expect((await call(live, 'GET', '/me', { token })).status).to.equal(200);
    // ... but the login is too old for a fresh token.
    const res = await call(live, 'POST', '/token', { token });
    expectError(res, 401, 'invalid_token');
    expect(res.headers.get('www-authenticate')).to.equal('Bearer error="invalid_token"');
  });
});
