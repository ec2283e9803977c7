/**
 * The chat's limits over real sockets, each on a server configured for it:
 * the per-user send rate (API.md: `send_rate_per_second`, `send_burst`,
 * every client message counts; `rate_limited` with `retry_after_ms`; a client
 * that keeps sending past it is closed with 1008 after `rate_limit_strikes`)
 * and the token lifetime (an unrefreshed token that expires closes with 4001).
 */
import { expect } from 'chai';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { CHAT_TEST_CONFIG, ClientPool, api, registerUser, sleep } from '../helpers/chat-client.js';

describe('chat limits', function () {
  this.timeout(20_000);

  describe('the per-user send rate (send_rate_per_second 1, send_burst 3, rate_limit_strikes 3)', () => {
    let live: LiveServer;
    const pool = new ClientPool(() => live.port);
    before(async () => {
      live = await startServer({ ...CHAT_TEST_CONFIG, send_rate_per_second: 1, send_burst: 3, rate_limit_strikes: 3 }, { app: true });
    });
    after(async () => {
      pool.closeAll();
      await live.close();
    });
    afterEach(() => pool.closeAll());

    it('answers rate_limited with retry_after_ms past the burst, counting every kind of message, and serves again after the wait', async () => {
      const a = await registerUser(live.port);
      const c = await pool.open(a.token);
      expect(c.hello.limits).to.include({ send_rate_per_second: 1, send_burst: 3 });
      const started = Date.now();
      expect((await c.request({ type: 'rooms' })).type).to.equal('rooms');
      expect((await c.request({ type: 'join', room: 'general' })).type).to.equal('joined');
      expect((await c.request({ type: 'send', room: 'general', text: 'x' })).type).to.equal('ack');
      const r = await c.request({ type: 'typing', room: 'general' }); // a message with no reply of its own gets this one
      expect(Date.now() - started).to.be.below(1000); // still inside the burst's time (a token a second)
      expect(r).to.include({ type: 'error', code: 'rate_limited' });
      expect(r.retry_after_ms).to.be.a('number').within(1, 1000);
      expect(Number.isInteger(r.retry_after_ms)).to.equal(true);
      await sleep(r.retry_after_ms + 20);
      expect((await c.request({ type: 'rooms' })).type).to.equal('rooms');
      expect(c.isOpen).to.equal(true);
    });

    it('is per user: a second connection of the same user shares the bucket, another user does not', async () => {
      const a = await registerUser(live.port);
      const [c1, c2] = [await pool.open(a.token), await pool.open(a.token)];
      const b = await registerUser(live.port);
      const other = await pool.open(b.token);
      for (let i = 0; i < 3; i++) expect((await c1.request({ type: 'rooms' })).type).to.equal('rooms');
      expect(await c2.request({ type: 'rooms' })).to.include({ type: 'error', code: 'rate_limited' });
      expect((await other.request({ type: 'rooms' })).type).to.equal('rooms');
    });

    it('is per user across reconnects: closing and opening again does not refill the bucket', async () => {
      const a = await registerUser(live.port);
      const c1 = await pool.open(a.token);
      for (let i = 0; i < 3; i++) expect((await c1.request({ type: 'rooms' })).type).to.equal('rooms');
      await c1.close();
      const c2 = await pool.open(a.token);
      expect(await c2.request({ type: 'rooms' })).to.include({ type: 'error', code: 'rate_limited' });
    });

    it('closes with 1008 a client that keeps sending through rate_limit_strikes rate_limited replies', async () => {
      const a = await registerUser(live.port);
      const c = await pool.open(a.token);
      for (let i = 0; i < 12; i++) c.send({ type: 'rooms', ref: `f${i}` });
      expect((await c.closed()).code).to.equal(1008);
      const limited = c.log.filter((m) => m.code === 'rate_limited');
      const served = c.log.filter((m) => m.type === 'rooms');
      expect(served).to.have.length(3);
      expect(limited).to.have.length(2); // the third strike closes instead of answering
      expect(limited.map((m) => m.ref)).to.deep.equal(['f3', 'f4']);
    });
  });

  describe('token expiry (token_ttl 4s, token_leeway 0)', () => {
    let live: LiveServer;
    const pool = new ClientPool(() => live.port);
    before(async () => {
      live = await startServer({ ...CHAT_TEST_CONFIG, token_ttl: 4000, token_leeway: 0 }, { app: true });
    });
    after(async () => {
      pool.closeAll();
      await live.close();
    });
    afterEach(() => pool.closeAll());

    it('closes an unrefreshed connection with 4001 when its token expires; a refreshed one stays open', async () => {
      const a = await registerUser(live.port);
      const stale = await pool.open(a.token);
      const kept = await pool.open(a.token);
      const expiresAt = Date.parse(stale.hello.token_expires_at);
      // exp is in whole seconds: 3 to 4 s from the registration
      expect(expiresAt - Date.now()).to.be.within(2500, 4100);
      // A fresh token from POST /token, asked for 2.1 s later (still before the first expires),
      // expires at least two seconds after the first: well clear of the sweep's one-second precision.
      await sleep(2100);
      const fresh = await api(live.port, 'POST', '/token', { token: a.token });
      expect(fresh.status).to.equal(200);
      const r = await kept.request({ type: 'refresh', token: fresh.json.token });
      expect(r).to.include({ type: 'refreshed', expires_at: fresh.json.expires_at });
      expect(Date.parse(r.expires_at)).to.be.at.least(expiresAt + 2000);
      const closed = await stale.closed(4000);
      expect(closed.code).to.equal(4001);
      expect(Date.now()).to.be.at.least(expiresAt);
      expect(kept.isOpen).to.equal(true);
      expect((await kept.request({ type: 'rooms' })).type).to.equal('rooms');
    });
  });
});
