/**
 * Attacks on authentication, over the wire (issue 8): password guessing,
 * user enumeration, forged JWTs (RFC 8725), tokens that should no longer
 * work, cross-site WebSocket hijacking, and secrets leaking into logs, URLs
 * or error bodies.
 *
 * The enumeration timing is measured and printed (`[measure] …`); the test
 * asserts identical answers byte for byte (but the Date) and only a generous
 * bound on the timing difference.
 */
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { CHAT_TEST_CONFIG, ChatClient, registerUser, refusedStatus, type Account } from '../helpers/chat-client.js';
import { WebSocket } from 'ws';
import { b64u } from '../jwt/forge.js';
import { formatStats, httpCall, report, stableHead, statsOf, waitFor, type CallAnswer } from './attack-kit.js';

/** Every token and password these tests handle: none may ever appear in a log line, metric or error body. */
const SECRETS = new Set<string>();
function secret<T extends string>(value: T): T {
  SECRETS.add(value);
  return value;
}

/** The part of a token that is secret on its own: its signature (the header and payload are only base64 of JSON). */
function signatureOf(token: string): string {
  return token.split('.')[2] ?? token;
}

describe('hardening: password guessing is throttled per address and per account (API.md, live server)', function () {
  this.timeout(30_000);
  let live: LiveServer;

  before(async () => {
    live = await startServer(
      { ...CHAT_TEST_CONFIG, auth_burst: 5, auth_rate_per_minute: 1, login_failures_per_account: 3 },
      { app: true },
    );
  });
  after(() => live.close());

  const login = (username: string, password: string, localAddress: string) => httpCall(live, 'POST', '/login', { body: { username, password: secret(password) }, localAddress });

  it('answers a sixth attempt from one address within a minute with 429 rate_limited and Retry-After, while another address logs in (auth_burst, auth_rate_per_minute)', async () => {
    const victim = await registerUser(live.port);
    const statuses: number[] = [];
    let last: CallAnswer | null = null;
    for (let i = 0; i < 6; i++) {
      last = await login(`nobody${i}_x`, `wrong-password-${i}`, '127.0.0.50');
      statuses.push(last.status);
    }
    expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 429]);
    expect(last!.json.error.code).to.equal('rate_limited');
    const retryAfter = Number(last!.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${last!.headers.get('retry-after')}`).to.equal(true);
    // Another address is not affected by this one's bucket.
    expect((await login(victim.username, victim.password, '127.0.0.51')).status).to.equal(200);
    report('per-address throttle', `attempt 6 from one address → 429 with Retry-After ${retryAfter} s`);
  });

  it('answers the fourth failed login for one username with 429 from any address — the right password included — and the same for a username that does not exist (login_failures_per_account)', async () => {
    const victim = await registerUser(live.port);
    const ghost = 'ghost_user_that_does_not_exist';
    const answers = new Map<string, CallAnswer[]>();
    for (const name of [victim.username, ghost]) {
      const seen: CallAnswer[] = [];
      // Three failures, each from its own address, so only the per-account table can count them.
      for (let i = 0; i < 3; i++) seen.push(await login(name, `wrong-guess-${i}`, `127.0.0.${60 + i + (name === ghost ? 10 : 0)}`));
      seen.push(await login(name, name === ghost ? 'whatever-password' : victim.password, `127.0.0.${64 + (name === ghost ? 10 : 0)}`));
      answers.set(name, seen);
    }
    for (const [name, seen] of answers) {
      expect(seen.map((a) => a.status), name).to.deep.equal([401, 401, 401, 429]);
      expect(seen[3]!.json.error.code).to.equal('rate_limited');
      expect(Number(seen[3]!.headers.get('retry-after'))).to.be.at.least(1);
    }
    // The 429 for a real user and for a ghost look the same: it does not reveal who exists.
    const real = answers.get(victim.username)![3]!;
    const fake = answers.get(ghost)![3]!;
    expect(real.body.toString()).to.equal(fake.body.toString());
    expect([...real.headers.keys()].sort()).to.deep.equal([...fake.headers.keys()].sort());
    report('per-account throttle', `failure 4 for one username (from a fresh address) → 429, Retry-After ${real.headers.get('retry-after')} s (real user) / ${fake.headers.get('retry-after')} s (no such user)`);
  });
});

describe('hardening: authentication attacks over the wire (live server)', function () {
  this.timeout(60_000);
  let live: LiveServer;
  let alice: Account;
  /** Every HTTP answer these tests got, to check no body ever carries a secret. */
  const answers: CallAnswer[] = [];

  before(async () => {
    live = await startServer({ ...CHAT_TEST_CONFIG, login_failures_per_account: 1000 }, { app: true });
    alice = await registerUser(live.port);
    secret(alice.token);
    secret(alice.password);
  });
  after(() => live.close());

  async function call(method: string, target: string, options: Parameters<typeof httpCall>[3] = {}): Promise<CallAnswer> {
    const a = await httpCall(live, method, target, options);
    answers.push(a);
    return a;
  }

  describe('user enumeration (API.md /login)', () => {
    it('answers an unknown user and a wrong password with the same status, body and headers, in about the same time', async () => {
      const N = 20;
      const unknown: number[] = [];
      const wrong: number[] = [];
      let firstUnknown: CallAnswer | null = null;
      let firstWrong: CallAnswer | null = null;
      // Warm up both paths (the dummy hash is made once).
      await call('POST', '/login', { body: { username: 'warm_up_nobody', password: 'warm-up-password' } });
      await call('POST', '/login', { body: { username: alice.username, password: 'warm-up-password' } });
      for (let i = 0; i < N; i++) {
        // Interleaved, so drift in the machine's load hits both alike.
        const u = await call('POST', '/login', { body: { username: `nobody_${i}_zz`, password: secret(`guess-number-${i}`) } });
        const w = await call('POST', '/login', { body: { username: alice.username, password: secret(`guess-number-${i}`) } });
        unknown.push(u.ms);
        wrong.push(w.ms);
        firstUnknown ??= u;
        firstWrong ??= w;
        expect(u.status).to.equal(401);
        expect(w.status).to.equal(401);
        expect(stableHead(u.head)).to.equal(stableHead(w.head));
        expect(u.body.toString()).to.equal(w.body.toString());
      }
      expect(firstUnknown!.json.error.code).to.equal('invalid_credentials');
      expect(firstUnknown!.headers.get('www-authenticate')).to.equal('Bearer');
      const su = statsOf(unknown);
      const sw = statsOf(wrong);
      const diff = su.mean - sw.mean;
      report('login timing, unknown user', formatStats(su).replace('honest ', ''));
      report('login timing, wrong password', formatStats(sw).replace('honest ', ''));
      report('user enumeration by timing', `mean(unknown) − mean(wrong password) = ${diff.toFixed(2)} ms over ${N} interleaved pairs (median difference ${(su.p50 - sw.p50).toFixed(2)} ms)`);
      // Generous: a real leak (no hash for unknown users) is a whole hash time, tens of ms at cost 14 and ~10x at the default cost.
      expect(Math.abs(su.p50 - sw.p50)).to.be.below(Math.max(25, 0.5 * sw.p50));
    });

    it('answers a username that could never exist (bad characters, too long) like any unknown user', async () => {
      const normal = await call('POST', '/login', { body: { username: 'nobody_at_all', password: 'some-password-1' } });
      for (const username of ["' OR 1=1 --", 'x'.repeat(300), 'ab', 'émile']) {
        const odd = await call('POST', '/login', { body: { username, password: 'some-password-1' } });
        expect(odd.status, username).to.equal(401);
        expect(stableHead(odd.head)).to.equal(stableHead(normal.head));
        expect(odd.body.toString()).to.equal(normal.body.toString());
      }
    });
  });

  describe('forged tokens (RFC 8725 §2.1, §3.1, §3.8)', () => {
    /** Claims exactly like the server's own, for alice. */
    function claims(overrides: Record<string, unknown> = {}): string {
      const now = Math.floor(Date.now() / 1000);
      const real = JSON.parse(Buffer.from(alice.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
      return JSON.stringify({ ...real, iat: now, exp: now + 600, jti: `forged-${Math.random().toString(36).slice(2)}`, ...overrides });
    }
    function mac(algorithm: 'sha256' | 'sha512', input: string, key: Buffer | string): string {
      return createHmac(algorithm, key).update(input, 'ascii').digest('base64url');
    }
    function token(header: string, payload: string, signature: (input: string) => string): string {
      const input = `${b64u(header)}.${b64u(payload)}`;
      return secret(`${input}.${signature(input)}`);
    }

    const key = () => live.server.secret;
    const certPem = () => readFileSync(join(live.dataDir, 'tls-cert.pem'), 'utf8');

    const ATTACKS: readonly (readonly [string, () => string])[] = [
      ['alg "none" with an empty signature', () => token('{"alg":"none","typ":"JWT"}', claims(), () => '')],
      ['alg "None" with an empty signature', () => token('{"alg":"None","typ":"JWT"}', claims(), () => '')],
      ['alg "none" with the signature segment missing', () => `${b64u('{"alg":"none","typ":"JWT"}')}.${b64u(claims())}`],
      ['alg HS512 MACed with the server secret', () => token('{"alg":"HS512","typ":"JWT"}', claims(), (i) => mac('sha512', i, key()))],
      ['alg RS256 MACed with the server secret (algorithm confusion)', () => token('{"alg":"RS256","typ":"JWT"}', claims(), (i) => mac('sha256', i, key()))],
      ['alg ES256 MACed with the server certificate as the key (public-key confusion)', () => token('{"alg":"ES256","typ":"JWT"}', claims(), (i) => mac('sha256', i, certPem()))],
      ['alg HS256 MACed with the server certificate as the key', () => token('{"alg":"HS256","typ":"JWT"}', claims(), (i) => mac('sha256', i, certPem()))],
      ['our header and claims with no signature', () => token('{"alg":"HS256","typ":"JWT"}', claims(), () => '')],
      ['our header and claims with the signature of another token', () => token('{"alg":"HS256","typ":"JWT"}', claims({ sub: '999' }), () => signatureOf(alice.token))],
      ['a token of another issuer, correctly signed', () => token('{"alg":"HS256","typ":"JWT"}', claims({ iss: 'someone-else' }), (i) => mac('sha256', i, key()))],
      ['a token with an audience, correctly signed', () => token('{"alg":"HS256","typ":"JWT"}', claims({ aud: 'other-service' }), (i) => mac('sha256', i, key()))],
      ['a token signed with another key', () => token('{"alg":"HS256","typ":"JWT"}', claims(), (i) => mac('sha256', i, 'another-secret-key-of-32-bytes-or-more'))],
      ['a header with a "jku" pointing elsewhere, correctly signed', () => token('{"alg":"HS256","typ":"JWT","jku":"https://evil.example/keys"}', claims(), (i) => mac('sha256', i, key()))],
      ['a header with an embedded "jwk", correctly signed', () => token('{"alg":"HS256","typ":"JWT","jwk":{"kty":"oct","k":"AAAA"}}', claims(), (i) => mac('sha256', i, key()))],
      ['a header with "kid" path traversal, correctly signed', () => token('{"alg":"HS256","typ":"JWT","kid":"../../../../dev/null"}', claims(), (i) => mac('sha256', i, key()))],
      ['an expired token, correctly signed', () => token('{"alg":"HS256","typ":"JWT"}', claims({ exp: Math.floor(Date.now() / 1000) - 3600 }), (i) => mac('sha256', i, key()))],
      ['a token of an old token version, correctly signed', () => token('{"alg":"HS256","typ":"JWT"}', claims({ ver: -1 }), (i) => mac('sha256', i, key()))],
    ];

    it('accepts a token forged correctly with the server key (the control: the forger is right, so the refusals below mean something)', async () => {
      const good = token('{"alg":"HS256","typ":"JWT"}', claims(), (i) => mac('sha256', i, key()));
      expect((await call('GET', '/me', { token: good })).status).to.equal(200);
    });

    for (const [name, make] of ATTACKS) {
      it(`refuses ${name} with 401 on HTTP and on the WebSocket handshake`, async () => {
        const forged = make();
        const me = await call('GET', '/me', { token: forged });
        expect(me.status).to.equal(401);
        expect(['invalid_token', 'token_expired']).to.include(me.json.error.code);
        expect(me.headers.get('www-authenticate')).to.match(/^Bearer error="(invalid_token)"/);
        expect(me.body.toString()).not.to.include(signatureOf(forged) || '\u0000');
        expect(await refusedStatus(live.port, { protocols: ['chat.v1', `bearer.${forged}`] })).to.equal(401);
        expect(await refusedStatus(live.port, { protocols: ['chat.v1'], headers: { Authorization: `Bearer ${forged}` } })).to.equal(401);
      });
    }
  });

  describe('tokens that stopped being good', () => {
    it('refuses the tokens of a disabled user on HTTP and WS, and closes their open WebSocket with 1008', async () => {
      const bob = await registerUser(live.port);
      secret(bob.token);
      const ws = await ChatClient.open(live.port, bob.token);
      expect(live.app!.accounts.setDisabled(bob.id, true)).to.equal(true);
      const closed = await ws.closed(5000);
      expect(closed.code).to.equal(1008);
      expect(closed.reason).not.to.include(signatureOf(bob.token));
      expect((await call('GET', '/me', { token: bob.token })).status).to.equal(401);
      expect((await call('POST', '/token', { token: bob.token })).status).to.equal(401);
      expect(await refusedStatus(live.port, { protocols: ['chat.v1', `bearer.${bob.token}`] })).to.equal(401);
      // Only the right password learns that the account is disabled.
      expect((await call('POST', '/login', { body: { username: bob.username, password: bob.password } })).status).to.equal(403);
      expect((await call('POST', '/login', { body: { username: bob.username, password: 'not-the-password' } })).status).to.equal(401);
    });

    it('refuses a token after logout on HTTP and WS, and closes the WebSocket opened with it with 1008; the user\'s other token still works', async () => {
      const carol = await registerUser(live.port);
      const other = secret((await call('POST', '/login', { body: { username: carol.username, password: carol.password } })).json.token as string);
      secret(carol.token);
      const ws = await ChatClient.open(live.port, carol.token);
      const stays = await ChatClient.open(live.port, other);
      expect((await call('POST', '/logout', { token: carol.token })).status).to.equal(204);
      expect((await ws.closed(5000)).code).to.equal(1008);
      expect((await call('GET', '/me', { token: carol.token })).status).to.equal(401);
      expect((await call('POST', '/token', { token: carol.token })).status).to.equal(401);
      expect(await refusedStatus(live.port, { protocols: ['chat.v1', `bearer.${carol.token}`] })).to.equal(401);
      // A WebSocket may not bring a logged-out token back to life with refresh either.
      const reply = await stays.request({ type: 'refresh', token: carol.token });
      expect(reply.type).to.equal('error');
      expect(stays.isOpen).to.equal(true);
      expect((await call('GET', '/me', { token: other })).status).to.equal(200);
      await stays.close();
    });
  });

  describe('cross-site WebSocket hijacking (RFC 6455 §10.2)', () => {
    const foreign = () => [
      'https://evil.example',
      'null',
      `http://127.0.0.1:${live.port}`, // same host, another scheme
      `https://127.0.0.1:${live.port}.evil.example`,
      `https://127.0.0.1:${live.port + 1}`,
      `https://localhost:${live.port}`, // the Host sent is 127.0.0.1:<port>
      `https://127.0.0.1:${live.port}/`,
      'https://127.0.0.1',
    ];

    it('refuses a handshake with a valid token from a foreign Origin with 403, whichever way the token comes', async () => {
      for (const origin of foreign()) {
        expect(await refusedStatus(live.port, { origin, protocols: ['chat.v1', `bearer.${alice.token}`] }), origin).to.equal(403);
        expect(await refusedStatus(live.port, { origin, protocols: ['chat.v1'], headers: { Authorization: `Bearer ${alice.token}` } }), origin).to.equal(403);
      }
    });

    it('opens the WebSocket for the server\'s own origin (the control)', async () => {
      const c = await ChatClient.open(live.port, alice.token, { origin: `https://127.0.0.1:${live.port}` });
      expect(c.hello.type).to.equal('hello');
      await c.close();
    });
  });

  describe('secrets never leak', () => {
    it('does not take a token from the URL (RFC 6750 §2.3 is not offered): 401 on HTTP and WS', async () => {
      const me = await call('GET', `/me?access_token=${alice.token}`);
      expect(me.status).to.equal(401);
      expect(me.json.error.code).to.equal('unauthorized');
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`wss://127.0.0.1:${live.port}/ws?access_token=${alice.token}&token=${alice.token}`, ['chat.v1'], { rejectUnauthorized: false });
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          ws.terminate();
        });
        ws.on('open', () => {
          ws.terminate();
          reject(new Error('the handshake was accepted with a token in the URL'));
        });
        ws.on('error', reject);
      });
      expect(status).to.equal(401);
    });

    it('never writes a token or password into the log, the metrics, the audit log or an error body', async () => {
      // A few more answers that carry tokens in the request: malformed ones.
      for (const t of [`${alice.token}x`, `${alice.token}.`, `${alice.token} extra`]) await call('GET', '/me', { headers: [`Authorization: Bearer ${secret(t)}`] });
      await waitFor(() => live.logLines.length > 0, 1000, 'some log lines');
      const metrics = live.server.metrics.render();
      const audit = JSON.stringify(live.app!.accounts.store.prepare('SELECT * FROM audit_log').all());
      const checked = [...SECRETS].filter((s) => s.length >= 8);
      expect(checked.length).to.be.greaterThan(30);
      for (const s of checked) {
        const parts = s.includes('.') ? [signatureOf(s), s] : [s];
        for (const part of parts.filter((p) => p.length >= 8)) {
          for (const line of live.logLines) if (line.includes(part)) expect.fail(`a log line holds a secret: ${line.slice(0, 200)}`);
          expect(metrics.includes(part), 'metrics hold a secret').to.equal(false);
          expect(audit.includes(part), 'the audit log holds a secret').to.equal(false);
          for (const a of answers) if (a.body.toString('latin1').includes(part) && !isIssuedToken(a, s)) expect.fail(`an answer holds a secret: ${a.head.split('\r\n')[0]} ${a.body.toString().slice(0, 200)}`);
        }
      }
      report('secrets in logs', `${checked.length} tokens and passwords checked against ${live.logLines.length} log lines, the metrics, the audit log and ${answers.length} responses: none found`);
    });

    /** A login answer legitimately carries the token it issues. */
    function isIssuedToken(a: CallAnswer, s: string): boolean {
      return a.status === 200 && a.json?.token === s;
    }
  });
});
