/**
 * Throttling of the account endpoints (API.md "HTTP endpoints": "/register,
 * /login and /token are rate-limited per client address, and failed logins
 * per username too — unknown usernames alike"). First the pure tables with a
 * passed-in clock, then the live server's 429s (RFC 6585 §4) with
 * Retry-After (RFC 9110 §10.2.3).
 */
import { expect } from 'chai';
import { accountThrottleKey, AuthThrottle, LOGIN_FAILURE_WINDOW_MS, retryAfterSeconds, type ThrottleLimits } from '../../lib/accounts/throttle.js';
import { mountAccounts, type AccountsModule } from '../../lib/accounts/routes.js';
import { HashGate } from '../../lib/accounts/hash-gate.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { call, GOOD_PASSWORD, register, uniqueName, type ApiResponse } from './api-client.js';

const LIMITS: ThrottleLimits = { auth_rate_per_minute: 6, auth_burst: 3, login_failures_per_account: 2, max_tracked_addresses: 100 };
const T0 = 1_700_000_000_000;

describe('accounts/throttle (pure, clock passed in)', () => {
  it('admits auth_burst requests per address at once, then refuses with the wait until the next token', () => {
    const t = new AuthThrottle(LIMITS);
    for (let i = 0; i < 3; i++) expect(t.admitAddress('192.0.2.1', T0)).to.deep.equal({ allowed: true });
    // 6 per minute: one token every 10 s.
    expect(t.admitAddress('192.0.2.1', T0)).to.deep.equal({ allowed: false, kind: 'auth_address', retryAfterSeconds: 10 });
    expect(t.admitAddress('192.0.2.2', T0).allowed, 'another address has its own bucket').to.equal(true);
    expect(t.admitAddress('192.0.2.1', T0 + 10_000).allowed).to.equal(true);
    expect(t.admitAddress('192.0.2.1', T0 + 10_000).allowed).to.equal(false);
  });

  it('counts only failures per account: checking takes nothing', () => {
    const t = new AuthThrottle(LIMITS);
    for (let i = 0; i < 10; i++) expect(t.checkAccount('alice', T0).allowed).to.equal(true);
    t.recordFailure('alice', T0);
    expect(t.checkAccount('alice', T0).allowed).to.equal(true);
    t.recordFailure('alice', T0);
    const refused = t.checkAccount('alice', T0);
    // 2 failures per 15 minutes: the next try in 7.5 minutes.
    expect(refused).to.deep.equal({ allowed: false, kind: 'login_account', retryAfterSeconds: LOGIN_FAILURE_WINDOW_MS / 2 / 1000 });
    expect(t.checkAccount('bob', T0).allowed).to.equal(true);
    expect(t.checkAccount('alice', T0 + LOGIN_FAILURE_WINDOW_MS / 2).allowed).to.equal(true);
  });

  it('keys an account by its username in lower case, and any string that cannot be a username by a bounded hash', () => {
    expect(accountThrottleKey('Alice.B')).to.equal('alice.b');
    const long = accountThrottleKey('x'.repeat(60_000));
    expect(long).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(accountThrottleKey('NOT A NAME')).to.equal(accountThrottleKey('not a name'));
  });

  it('holds at most max_tracked_addresses entries per table (DESIGN.md: bounded tables)', () => {
    const t = new AuthThrottle({ ...LIMITS, max_tracked_addresses: 5 });
    for (let i = 0; i < 50; i++) {
      t.admitAddress(`198.51.100.${i}`, T0);
      t.recordFailure(`user${i}`, T0);
    }
    expect(t.size).to.deep.equal({ addresses: 5, accounts: 5 });
  });

  it('forgets buckets that are full again at the sweep', () => {
    const t = new AuthThrottle(LIMITS);
    t.admitAddress('192.0.2.9', T0);
    t.recordFailure('carol', T0);
    t.prune(T0 + 1000);
    expect(t.size).to.deep.equal({ addresses: 1, accounts: 1 });
    t.prune(T0 + LOGIN_FAILURE_WINDOW_MS);
    expect(t.size).to.deep.equal({ addresses: 0, accounts: 0 });
  });

  it('applies changed limits (server.conf is live)', () => {
    const t = new AuthThrottle(LIMITS);
    for (let i = 0; i < 3; i++) t.admitAddress('192.0.2.1', T0);
    expect(t.admitAddress('192.0.2.1', T0).allowed).to.equal(false);
    t.update({ ...LIMITS, auth_rate_per_minute: 60 });
    expect(t.admitAddress('192.0.2.1', T0 + 1000).allowed).to.equal(true);
  });

  it('audits a throttled key at most once a minute', () => {
    const t = new AuthThrottle(LIMITS);
    expect(t.shouldAudit('auth_address', '192.0.2.1', T0)).to.equal(true);
    expect(t.shouldAudit('auth_address', '192.0.2.1', T0 + 59_000)).to.equal(false);
    expect(t.shouldAudit('login_account', '192.0.2.1', T0 + 1)).to.equal(true);
    expect(t.shouldAudit('auth_address', '192.0.2.1', T0 + 60_000)).to.equal(true);
  });

  it('never answers Retry-After 0 (RFC 9110 §10.2.3 delay-seconds), rounding up', () => {
    expect([0, 1, 999, 1000, 1001].map(retryAfterSeconds)).to.deep.equal([1, 1, 1, 1, 2]);
  });
});

function expectRateLimited(res: ApiResponse): number {
  expect(res.status, res.body.toString()).to.equal(429);
  expect(res.json.error.code).to.equal('rate_limited');
  const retryAfter = res.headers.get('retry-after');
  expect(retryAfter).to.match(/^[1-9][0-9]*$/);
  return Number(retryAfter);
}

describe('accounts throttling per client address (live server)', function () {
  let live: LiveServer;
  let accounts: AccountsModule;
  before(async () => {
    live = await startServer(
      { password_hash_cost: 14, auth_burst: 3, auth_rate_per_minute: 1, login_failures_per_account: 1000 },
      { prepare: (s) => void (accounts = mountAccounts(s)) },
    );
  });
  after(() => live.close());

  it('answers 429 rate_limited with Retry-After once auth_burst requests are spent, on /login, /register and /token alike', async () => {
    const login = { body: { username: uniqueName(), password: 'not the password' } };
    for (let i = 0; i < 3; i++) expect((await call(live, 'POST', '/login', login)).status).to.equal(401);
    const refused = expectRateLimited(await call(live, 'POST', '/login', login));
    // One request per minute: the next token comes within 60 s.
    expect(refused).to.be.within(1, 60);
    expectRateLimited(await call(live, 'POST', '/register', { body: { username: uniqueName(), password: GOOD_PASSWORD } }));
    expectRateLimited(await call(live, 'POST', '/token'));
    // Other routes are not behind this limit.
    expect((await call(live, 'GET', '/me')).status).to.equal(401);
  });

  it('audits the throttling once, counts each refusal in chat_rate_limited_total{kind="auth_address"}', async () => {
    const throttled = accounts.audit.latest(100).filter((r) => r.event === 'throttled');
    expect(throttled).to.have.length(1);
    expect(JSON.parse(throttled[0]!.detail)).to.deep.equal({ kind: 'auth_address', path: '/login' });
    const metrics = (await call(live, 'GET', '/metrics')).body.toString();
    expect(metrics).to.match(/^chat_rate_limited_total\{kind="auth_address"\} 3$/m);
  });
});

describe('accounts throttling of failed logins per username (live server)', function () {
  let live: LiveServer;
  before(async () => {
    live = await startServer(
      { password_hash_cost: 14, auth_burst: 100_000, auth_rate_per_minute: 100_000, login_failures_per_account: 2 },
      { prepare: (s) => void mountAccounts(s) },
    );
  });
  after(() => live.close());

  it('answers 429 after login_failures_per_account failures, even with the right password then, in any case of the name', async () => {
    const { username } = await register(live, uniqueName('Erin'));
    for (let i = 0; i < 2; i++) expect((await call(live, 'POST', '/login', { body: { username, password: 'wrong password!' } })).status).to.equal(401);
    const retry = expectRateLimited(await call(live, 'POST', '/login', { body: { username: username.toUpperCase(), password: GOOD_PASSWORD } }));
    expect(retry).to.be.within(1, 15 * 60);
  });

  it('throttles an unknown username exactly the same way, so a 429 does not reveal whether a user exists', async () => {
    const { username: known } = await register(live);
    const unknown = uniqueName('nobody');
    const answers: ApiResponse[] = [];
    for (const username of [known, unknown]) {
      for (let i = 0; i < 2; i++) await call(live, 'POST', '/login', { body: { username, password: 'wrong password!' } });
      answers.push(await call(live, 'POST', '/login', { body: { username, password: 'wrong password!' } }));
    }
    const [a, b] = answers as [ApiResponse, ApiResponse];
    expectRateLimited(a);
    expectRateLimited(b);
    expect(b.body.toString()).to.equal(a.body.toString());
    expect(Math.abs(Number(a.headers.get('retry-after')) - Number(b.headers.get('retry-after')))).to.be.at.most(1);
  });

  it('leaves other usernames alone', async () => {
    const victim = await register(live);
    const bystander = await register(live);
    for (let i = 0; i < 3; i++) await call(live, 'POST', '/login', { body: { username: victim.username, password: 'wrong password!' } });
    expect((await call(live, 'POST', '/login', { body: { username: bystander.username, password: GOOD_PASSWORD } })).status).to.equal(200);
  });

  it('counts wrong current passwords of PUT /me against the same username', async () => {
    const { username, token } = await register(live);
    const change = { current_password: 'wrong password!', new_password: 'a much better passphrase 42' };
    for (let i = 0; i < 2; i++) expect((await call(live, 'PUT', '/me', { token, body: change })).status).to.equal(403);
    expectRateLimited(await call(live, 'PUT', '/me', { token, body: change }));
    expectRateLimited(await call(live, 'POST', '/login', { body: { username, password: GOOD_PASSWORD } }));
  });
});

describe('accounts hash gate under the live server', function () {
  let live: LiveServer;
  before(async () => {
    // One hash at a time and no queue: a second login during a first is refused.
    live = await startServer(
      { password_hash_cost: 14, auth_burst: 100_000, auth_rate_per_minute: 100_000, login_failures_per_account: 1000 },
      { prepare: (s) => void mountAccounts(s, { hashGate: new HashGate(1, 0) }) },
    );
  });
  after(() => live.close());

  it('answers 429 rate_limited with Retry-After when the hashing queue is full, and serves again once it drains', async () => {
    const { username } = await register(live);
    const body = { username, password: GOOD_PASSWORD };
    const answers = await Promise.all([1, 2, 3].map(() => call(live, 'POST', '/login', { body })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses[0]).to.equal(200);
    expect(statuses).to.include(429);
    for (const a of answers.filter((x) => x.status === 429)) expectRateLimited(a);
    expect((await call(live, 'POST', '/login', { body })).status).to.equal(200);
    const metrics = (await call(live, 'GET', '/metrics')).body.toString();
    expect(metrics).to.match(/^chat_rate_limited_total\{kind="password_hashing"\} [1-9]/m);
  });
});
