/**
 * The browser client at the edges of a session, in Chromium against a live
 * server with tight numbers: a send refused with `rate_limited` is shown on
 * the message and goes out after `retry_after_ms`; the token is refreshed
 * before it expires (POST /token, then `refresh` on the socket), and once the
 * login is older than `session_max_age` the server's close 4001 brings the
 * login screen back with the reason.
 */
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { CHAT_TEST_CONFIG, ChatClient, PASSWORD } from '../helpers/chat-client.js';
import { baseUrl, eventually, launchChromium, openPage, sessionOf, shownMessages, type OpenPage } from '../helpers/browser.js';

const TOKEN_TTL_MS = 4000;
const SESSION_MAX_AGE_MS = 10_000;

describe('browser: rate limits and token lifetimes in Chromium', function () {
  this.timeout(40_000);
  let browser: Browser | undefined;
  let live: LiveServer;
  let dave: OpenPage;
  let registeredAt = 0;
  const clients: ChatClient[] = [];

  before(async function () {
    browser = await launchChromium(this);
    live = await startServer(
      { ...CHAT_TEST_CONFIG, send_rate_per_second: 2, send_burst: 8, token_ttl: TOKEN_TTL_MS, session_max_age: SESSION_MAX_AGE_MS, token_leeway: 0 },
      { app: true },
    );
    dave = await openPage(browser, baseUrl(live));
    await dave.page.click('#tab-register');
    await dave.page.fill('#register-username', 'dave');
    await dave.page.fill('#register-password', PASSWORD);
    await dave.page.click('#register-form button[type="submit"]');
    registeredAt = Date.now();
    await dave.page.locator('#link-status[data-state="open"]').waitFor();
    await eventually(async () => expect(await dave.page.locator('#room-title').textContent()).to.equal('#general'));
  });

  after(async () => {
    for (const c of clients) c.cut();
    await browser?.close();
    await live?.close();
  });

  it('shows rate_limited on the message it refused, then sends it after retry_after_ms', async () => {
    // Typing first (its `typing` notice spends a token while there are some).
    await dave.page.fill('#composer-input', 'Hello, anyone?');
    await eventually(() => expect(dave.watch.sent.some((m) => m.type === 'typing')).to.equal(true));
    // Then another connection of the same user empties the shared bucket (API.md: the rate is per user).
    const other = await ChatClient.open(live.port, (await sessionOf(dave.page)).token);
    clients.push(other);
    for (let i = 0; i < 10; i++) other.send({ type: 'rooms' });
    await other.next((m) => m.type === 'error' && m.code === 'rate_limited');

    await dave.page.press('#composer-input', 'Enter');
    await eventually(async () => {
      const [shown] = await shownMessages(dave.page);
      expect(shown?.status).to.match(/^Sending too fast: trying again in \d+ s…$/);
    });
    const refused = dave.watch.received.find((m) => m.type === 'error' && m.code === 'rate_limited');
    expect(refused).to.have.property('retry_after_ms').that.is.a('number');
    expect(refused).to.have.property('ref').that.is.a('string');
    await eventually(async () => {
      const shown = await shownMessages(dave.page);
      expect(shown.map((m) => [m.text, m.pending])).to.deep.equal([['Hello, anyone?', false]]);
    });
    // The same send went out twice, with one cmid, and was stored once.
    const sends = dave.watch.sent.filter((m) => m.type === 'send');
    expect(sends).to.have.length(2);
    expect(sends[1]!.cmid).to.equal(sends[0]!.cmid);
    await eventually(() => expect(dave.watch.received.filter((m) => m.type === 'message' && m.text === 'Hello, anyone?')).to.have.length(1));
  });

  it('refreshes the token before it expires, and after close 4001 shows the login screen saying why', async () => {
    // Past the first token's lifetime, still connected: POST /token, then `refresh` on the socket.
    const wait = registeredAt + TOKEN_TTL_MS + 500 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    expect(await dave.page.locator('#link-status').getAttribute('data-state')).to.equal('open');
    expect(dave.watch.sent.filter((m) => m.type === 'refresh').length).to.be.at.least(1);
    expect(dave.watch.received.filter((m) => m.type === 'refreshed').length).to.be.at.least(1);

    // The login cannot outlive session_max_age: the server closes with 4001 and the client logs out.
    await dave.page.locator('#auth-screen').waitFor({ state: 'visible', timeout: SESSION_MAX_AGE_MS + 5000 });
    expect(Date.now() - registeredAt).to.be.at.least(SESSION_MAX_AGE_MS - 1000);
    expect(await dave.page.locator('#auth-notice').textContent()).to.equal('Your session has expired. Please log in again.');
    expect(await dave.page.evaluate(`sessionStorage.getItem('chat.session')`)).to.equal(null);
    expect(dave.watch.pageErrors).to.deep.equal([]);
    expect(dave.watch.cspViolations).to.deep.equal([]);
  });
});
