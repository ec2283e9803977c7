/**
 * The browser client (public/) in Debian's Chromium against the real server,
 * started in this process: two people in two browser contexts register, chat
 * both ways, see presence and typing, use a private room and a direct
 * message; one of them drops off the network, messages arrive meanwhile, and
 * after the reconnect each is shown exactly once; markup injected through a
 * message, a display name or a room name stays text. Screenshots of the login
 * screen and a busy chat, light and dark, desktop and phone, go to
 * spec-output/screenshots/.
 *
 * The steps share one server and one browser and run in order: each `it`
 * continues the story of the one before.
 */
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { CHAT_TEST_CONFIG, ChatClient, PASSWORD, api, type Msg } from '../helpers/chat-client.js';
import {
  DESKTOP,
  PHONE,
  baseUrl,
  dropSocketsOf,
  eventually,
  launchChromium,
  openPage,
  screenshotPath,
  sessionOf,
  shownMessages,
  type OpenPage,
} from '../helpers/browser.js';

/** The payloads of the injection step: each would set window.__pwned and open a dialog if it ran. */
const SCRIPT_PAYLOAD = '<script>window.__pwned = "script"; alert("script")</script>';
const IMG_PAYLOAD = '<img src=x onerror="window.__pwned = \'img\'; alert(\'img\')">';
const NAME_PAYLOAD = '<img src=x onerror="window.__pwned=\'name\';alert(1)">';
const FLOOD = 60;

async function registerInUi(page: Page, username: string, displayName: string): Promise<void> {
  await page.click('#tab-register');
  await page.fill('#register-username', username);
  await page.fill('#register-display-name', displayName);
  await page.fill('#register-password', PASSWORD);
  await page.click('#register-form button[type="submit"]');
  await page.locator('#app-screen').waitFor({ state: 'visible' });
  await page.locator('#link-status[data-state="open"]').waitFor();
}

/** Type a message into the composer and press Enter. */
async function say(page: Page, text: string): Promise<void> {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

async function texts(page: Page): Promise<string[]> {
  return (await shownMessages(page)).map((m) => m.text);
}

async function openRoom(page: Page, room: string): Promise<void> {
  await page.click(`#room-list [data-room="${room}"]`);
  await eventually(async () => expect(await page.locator('#history-status').textContent()).not.to.equal('Loading messages…'));
}

async function registerWithName(port: number, username: string, displayName: string): Promise<{ token: string }> {
  const res = await api(port, 'POST', '/register', { body: { username, password: PASSWORD, display_name: displayName } });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${res.text}`);
  return { token: res.json.token as string };
}

function count<T>(list: readonly T[], value: T): number {
  return list.filter((x) => x === value).length;
}

describe('browser: the chat client in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | undefined;
  let live: LiveServer;
  let alice: OpenPage;
  let bob: OpenPage;
  let carol: ChatClient;
  const pages: OpenPage[] = [];
  const clients: ChatClient[] = [];

  async function newPerson(viewport: { width: number; height: number } = DESKTOP): Promise<OpenPage> {
    const opened = await openPage(browser!, baseUrl(live), { viewport });
    pages.push(opened);
    return opened;
  }

  async function client(token: string): Promise<ChatClient> {
    const c = await ChatClient.open(live.port, token);
    clients.push(c);
    return c;
  }

  before(async function () {
    browser = await launchChromium(this);
    live = await startServer({ ...CHAT_TEST_CONFIG, max_text_chars: 1000 }, { app: true });
  });

  after(async () => {
    for (const c of clients) c.cut();
    await browser?.close();
    await live?.close();
  });

  it('shows the server’s validation messages next to the field they are about', async () => {
    const { page } = await newPerson();
    await page.click('#tab-register');
    await page.fill('#register-username', 'x');
    await page.fill('#register-password', PASSWORD);
    await page.click('#register-form button[type="submit"]');
    await eventually(async () => expect(await page.locator('#register-username-error').textContent()).to.match(/^Username must be 3–32 characters/));
    expect(await page.locator('#register-username').getAttribute('aria-invalid')).to.equal('true');

    await page.fill('#register-username', 'valid_name');
    await page.fill('#register-password', 'password');
    await page.click('#register-form button[type="submit"]');
    await eventually(async () => expect(await page.locator('#register-password-error').textContent()).to.match(/too common/));
    expect(await page.locator('#register-username-error').textContent()).to.equal('');

    await page.click('#tab-login');
    await page.fill('#login-username', 'nobody_here');
    await page.fill('#login-password', 'not the password');
    await page.click('#login-form button[type="submit"]');
    await eventually(async () => expect(await page.locator('#login-form .form-error').textContent()).to.equal('Wrong username or password.'));
  });

  it('registers two people in two browser contexts; both land in #general', async () => {
    alice = await newPerson();
    bob = await newPerson();
    await registerInUi(alice.page, 'alice', 'Alice Liddell');
    await registerInUi(bob.page, 'bob', 'Bob Stone');
    for (const { page } of [alice, bob]) {
      await eventually(async () => expect(await page.locator('#room-title').textContent()).to.equal('#general'));
      expect(await page.locator('#room-list [data-room="general"]').getAttribute('aria-current')).to.equal('true');
    }
    // The token is kept for this tab's session only.
    expect((await sessionOf(alice.page)).user.username).to.equal('alice');
  });

  it('exchanges messages both ways, with author, time and grouping; Shift+Enter makes a new line', async () => {
    await say(alice.page, 'Hello Bob!');
    await say(alice.page, 'Are you there?');
    await eventually(async () => expect(await texts(bob.page)).to.include.members(['Hello Bob!', 'Are you there?']));

    await bob.page.fill('#composer-input', 'Hi Alice.');
    await bob.page.press('#composer-input', 'Shift+Enter');
    await bob.page.type('#composer-input', 'Two lines.');
    await bob.page.press('#composer-input', 'Enter');
    await eventually(async () => expect(await texts(alice.page)).to.include('Hi Alice.\nTwo lines.'));

    const shown = await shownMessages(alice.page);
    expect(shown.map((m) => [m.author, m.text])).to.deep.equal([
      ['alice', 'Hello Bob!'],
      ['alice', 'Are you there?'],
      ['bob', 'Hi Alice.\nTwo lines.'],
    ]);
    expect(shown.every((m) => m.id !== null && !m.pending)).to.equal(true);
    // One header per run of one author: the second message continues the first.
    const rows = alice.page.locator('#message-list li.msg');
    expect(await rows.nth(0).getAttribute('class')).not.to.include('msg--cont');
    expect(await rows.nth(1).getAttribute('class')).to.include('msg--cont');
    expect(await rows.nth(2).getAttribute('class')).not.to.include('msg--cont');
    expect(await rows.nth(2).locator('.author').textContent()).to.equal('Bob Stone');
    expect(await rows.nth(2).locator('time').getAttribute('datetime')).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Every send carried a cmid, so a resend after a reconnect is idempotent.
    const sends = alice.watch.sent.filter((m) => m.type === 'send');
    expect(sends).to.have.length(2);
    expect(sends.every((m) => typeof m.cmid === 'string' && (m.cmid as string).length > 0)).to.equal(true);
  });

  it('shows who is online in the room and who is typing; typing is sent at most every 3 s', async () => {
    await eventually(async () => expect(await bob.page.locator('#member-list [data-user="alice"] .avatar').getAttribute('class')).to.include('online'));
    expect(await bob.page.locator('#room-meta').textContent()).to.equal('Public room · 2 members · 2 online');

    const before = alice.watch.sent.length;
    await alice.page.fill('#composer-input', 'I am wri');
    await alice.page.fill('#composer-input', 'I am writing');
    await alice.page.fill('#composer-input', 'I am writing something');
    await eventually(async () => expect(await bob.page.locator('#typing').textContent()).to.equal('Alice Liddell is typing…'));
    expect(alice.watch.sent.slice(before).filter((m) => m.type === 'typing')).to.have.length(1);

    await alice.page.press('#composer-input', 'Enter');
    await eventually(async () => expect(await bob.page.locator('#typing').textContent()).to.equal(''));
  });

  it('creates a private room, refuses a wrong password at its field, joins with the right one, leaves it and deletes it', async () => {
    await alice.page.click('#new-room-button');
    await alice.page.fill('#create-name', 'secret-plans');
    await alice.page.fill('#create-password', 'open sesame');
    await alice.page.click('#create-form button[type="submit"]');
    await eventually(async () => expect(await alice.page.locator('#room-title').textContent()).to.equal('#secret-plans'));
    expect(await alice.page.locator('#room-list [data-room="secret-plans"] .room-icon').getAttribute('class')).to.include('private');
    expect(await alice.page.locator('#delete-button').isVisible()).to.equal(true);
    // A private room is not listed to others.
    expect(await bob.page.locator('#room-list [data-room="secret-plans"]').count()).to.equal(0);

    await bob.page.click('#join-private-button');
    await bob.page.fill('#join-name', 'secret-plans');
    await bob.page.fill('#join-password', 'open says me');
    await bob.page.click('#join-form button[type="submit"]');
    await eventually(async () => expect(await bob.page.locator('#join-password-error').textContent()).to.equal('That password is not right for this room.'));
    await bob.page.fill('#join-password', 'open sesame');
    await bob.page.click('#join-form button[type="submit"]');
    await eventually(async () => expect(await bob.page.locator('#room-title').textContent()).to.equal('#secret-plans'));
    expect(await bob.page.locator('#join-dialog').isVisible()).to.equal(false);
    expect(await bob.page.locator('#delete-button').isVisible()).to.equal(false);
    await eventually(async () => expect(await alice.page.locator('#member-list [data-user="bob"]').count()).to.equal(1));

    await bob.page.click('#leave-button');
    await bob.page.click('#confirm-ok');
    await eventually(async () => expect(await bob.page.locator('#room-list [data-room="secret-plans"]').count()).to.equal(0));
    expect(await bob.page.locator('#room-title').textContent()).to.equal('#general');
    await eventually(async () => expect(await alice.page.locator('#member-list [data-user="bob"]').count()).to.equal(0));

    await alice.page.click('#delete-button');
    await alice.page.click('#confirm-ok');
    await eventually(async () => expect(await alice.page.locator('#room-list [data-room="secret-plans"]').count()).to.equal(0));
    expect(await alice.page.locator('#room-title').textContent()).to.equal('#general');
  });

  it('starts a direct message from a name; the other side gets it with an unread count', async () => {
    await bob.page.click('#member-list [data-user="alice"]');
    await eventually(async () => expect(await bob.page.locator('#room-title').textContent()).to.equal('Alice Liddell'));
    await say(bob.page, 'Psst, a direct message.');
    const dm = 'dm:alice:bob';
    await eventually(async () => expect(await alice.page.locator(`#room-list [data-room="${dm}"] .badge`).textContent()).to.equal('1'));
    // The first message of a new DM goes `to` the user; the server makes the room.
    expect(bob.watch.sent.find((m) => m.type === 'send' && m.text === 'Psst, a direct message.')).to.include({ to: 'alice' });

    await openRoom(alice.page, dm);
    await eventually(async () => expect(await texts(alice.page)).to.deep.equal(['Psst, a direct message.']));
    await eventually(async () => expect(await alice.page.locator(`#room-list [data-room="${dm}"] .badge`).isVisible()).to.equal(false));
    await eventually(() => expect(alice.watch.sent.some((m) => m.type === 'read' && m.room === dm)).to.equal(true));
  });

  it('after the server drops a socket, reconnects, resumes every room with since and shows each message once', async () => {
    const carolAccount = await registerWithName(live.port, 'carol', 'Carol Nguyen');
    carol = await client(carolAccount.token);
    await carol.request({ type: 'join', room: 'general' });
    await openRoom(bob.page, 'general');

    // While `refusing`, the server turns bob's handshakes away (as if he were
    // off the network), so the test decides when he is back.
    const accounts = live.app!.accounts;
    const authenticate = accounts.authenticateToken.bind(accounts);
    let refusing = true;
    accounts.authenticateToken = async (token, now) => {
      const result = await authenticate(token, now);
      return refusing && result.ok && result.user.username === 'bob' ? { ok: false, code: 'invalid_token', reason: 'bad_signature' } : result;
    };
    // A message whose ack is lost: the server commits it, then the line drops before the ack.
    const LOST_ACK = 'Sent just as the line dropped';
    const commits = live.app!.chat.service().commits;
    const enqueue = commits.enqueue.bind(commits);
    let droppedBeforeAck = false;
    commits.enqueue = (send) =>
      enqueue(
        send.text !== LOST_ACK
          ? send
          : {
              ...send,
              done: (result) => {
                droppedBeforeAck = dropSocketsOf(live, 'bob') > 0;
                send.done(result);
              },
            },
      );
    try {
      await say(bob.page, LOST_ACK);
      await eventually(async () => expect(await bob.page.locator('#link-status').getAttribute('data-state')).to.equal('waiting'));
    } finally {
      commits.enqueue = enqueue;
    }
    expect(droppedBeforeAck, 'the socket was dropped between commit and ack').to.equal(true);
    expect(await bob.page.locator('#link-banner').isVisible()).to.equal(true);
    // The other side sees bob go offline.
    await eventually(async () => expect(await alice.page.locator('#member-list [data-user="bob"]').getAttribute('class')).to.include('offline'));

    // Written while offline: shown at once, pending.
    await say(bob.page, 'Written while offline');
    const pending = (await shownMessages(bob.page)).filter((m) => m.pending).map((m) => [m.text, m.status]);
    expect(pending).to.deep.equal([
      [LOST_ACK, 'Waiting for the connection…'],
      ['Written while offline', 'Waiting for the connection…'],
    ]);

    await bob.page.mouse.move(640, 30);
    await bob.page.screenshot({ path: screenshotPath('reconnecting-desktop-light'), animations: 'disabled' });

    // Meanwhile: more than one page of messages in #general, and a DM.
    for (let i = 1; i <= FLOOD; i++) carol.send({ type: 'send', room: 'general', text: `Flood ${i}`, cmid: `flood-${i}` });
    await carol.take(FLOOD, (m) => m.type === 'ack');
    await say(alice.page, 'Are you back?');

    const sentBefore = bob.watch.sent.length;
    refusing = false;
    accounts.authenticateToken = authenticate;
    // "Retry now" skips the rest of the backoff (shown while waiting for the next attempt).
    await eventually(async () => {
      const state = await bob.page.locator('#link-status').getAttribute('data-state');
      if (state === 'waiting') await bob.page.locator('#retry-button').click({ timeout: 500 });
      expect(state).to.equal('open');
    }, 10_000);
    await eventually(async () => {
      const shown = await shownMessages(bob.page);
      const all = shown.map((m) => m.text);
      for (let i = 1; i <= FLOOD; i++) expect(count(all, `Flood ${i}`), `Flood ${i}`).to.equal(1);
      expect(count(all, LOST_ACK)).to.equal(1);
      expect(count(all, 'Written while offline')).to.equal(1);
      expect(shown.filter((m) => m.pending)).to.deep.equal([]);
      const ids = shown.map((m) => Number(m.id));
      expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).to.equal(ids.length);
    }, 10_000);

    // The resume: `join {since}` for the held rooms, page by page, and the outbox resent with its cmids.
    const after = bob.watch.sent.slice(sentBefore);
    const generalJoins = after.filter((m) => m.type === 'join' && m.room === 'general');
    expect(generalJoins.length).to.be.at.least(2);
    expect(generalJoins.every((m) => typeof m.since === 'number')).to.equal(true);
    const lostSends = bob.watch.sent.filter((m) => m.type === 'send' && m.text === LOST_ACK);
    expect(lostSends).to.have.length(2);
    expect(lostSends[1]!.cmid).to.equal(lostSends[0]!.cmid);
    // Stored once: the others got one `message` each.
    const carolGot = (text: string) => carol.log.filter((m: Msg) => m.type === 'message' && m.text === text).length;
    expect(carolGot(LOST_ACK)).to.equal(1);
    expect(carolGot('Written while offline')).to.equal(1);
    // The DM that came meanwhile is counted as unread.
    await eventually(async () => expect(await bob.page.locator('#room-list [data-room="dm:alice:bob"] .badge').textContent()).to.equal('1'));
    await eventually(async () => expect(await alice.page.locator('#member-list [data-user="bob"]').getAttribute('class')).not.to.include('offline'));
  });

  it('renders script and img markup from a message, a display name and a room name as text; nothing runs', async () => {
    const mallory = await registerWithName(live.port, 'mallory', NAME_PAYLOAD);
    const m = await client(mallory.token);
    await m.request({ type: 'join', room: 'general' });
    await m.request({ type: 'send', room: 'general', text: SCRIPT_PAYLOAD });
    await m.request({ type: 'send', room: 'general', text: IMG_PAYLOAD });
    await m.request({ type: 'send', room: 'general', text: 'See https://example.com/?q=<b>x</b> for details' });
    await m.request({ type: 'send', to: 'bob', text: IMG_PAYLOAD });
    await say(bob.page, IMG_PAYLOAD);

    await openRoom(alice.page, 'general');
    await eventually(async () => expect(await texts(alice.page)).to.include.members([SCRIPT_PAYLOAD, IMG_PAYLOAD, 'See https://example.com/?q=<b>x</b> for details']));
    await eventually(async () => expect(await texts(bob.page)).to.include.members([SCRIPT_PAYLOAD, IMG_PAYLOAD]));
    await openRoom(bob.page, 'dm:bob:mallory');
    await eventually(async () => expect(await texts(bob.page)).to.deep.equal([IMG_PAYLOAD]));
    expect(await bob.page.locator('#room-title').textContent()).to.equal(NAME_PAYLOAD);
    expect(await bob.page.locator('#member-list [data-user="mallory"] .member-name').textContent()).to.equal(NAME_PAYLOAD);
    await openRoom(bob.page, 'general');

    // A room name is checked by the server; the refusal is shown at the field, as text.
    await alice.page.click('#new-room-button');
    await alice.page.fill('#create-name', NAME_PAYLOAD);
    await alice.page.click('#create-form button[type="submit"]');
    await eventually(async () => expect(await alice.page.locator('#create-name-error').textContent()).to.match(/^The name must be 1–64 characters/));
    await alice.page.keyboard.press('Escape');

    for (const { page, watch } of [alice, bob]) {
      expect(await page.locator('#message-list img, #message-list script, #message-list a, #room-list img, #member-list img').count()).to.equal(0);
      expect(await page.evaluate('window.__pwned')).to.equal(undefined);
      expect(watch.dialogs).to.deep.equal([]);
    }
  });

  it('loads older history when scrolled to the top, keeping the reader’s place', async () => {
    const erin = await newPerson();
    await registerInUi(erin.page, 'erin', 'Erin');
    await eventually(async () => expect((await shownMessages(erin.page)).length).to.equal(50));
    expect(await texts(erin.page)).not.to.include('Hello Bob!');
    await erin.page.evaluate(`document.getElementById('scroller').scrollTop = 0`);
    await eventually(async () => expect((await texts(erin.page))[0]).to.equal('Hello Bob!'));
    expect(await erin.page.locator('#history-status').textContent()).to.equal('This is the beginning of #general.');
    const history = erin.watch.sent.filter((m) => m.type === 'history');
    expect(history.length).to.be.at.least(1);
    expect(history[0]).to.have.property('before').that.is.a('number');
    // Still where the reader was, not thrown to the top.
    expect(Number(await erin.page.evaluate(`document.getElementById('scroller').scrollTop`))).to.be.greaterThan(0);

    // Log out: the token is revoked and this tab forgets it.
    const { token } = await sessionOf(erin.page);
    await erin.page.click('#logout-button');
    await erin.page.locator('#auth-screen').waitFor({ state: 'visible' });
    expect(await erin.page.evaluate(`sessionStorage.getItem('chat.session')`)).to.equal(null);
    expect((await api(live.port, 'GET', '/me', { token })).status).to.equal(401);
  });

  it('refuses a message longer than max_text_chars in the composer, saying by how much', async () => {
    await alice.page.fill('#composer-input', 'x'.repeat(1003));
    await alice.page.press('#composer-input', 'Enter');
    expect(await alice.page.locator('#composer-error').textContent()).to.equal('This message is 3 characters too long (the limit is 1000).');
    expect(await alice.page.locator('#composer-count').textContent()).to.equal('1003 / 1000');
    expect(await alice.page.locator('#composer-input').inputValue()).to.have.length(1003);
    await alice.page.fill('#composer-input', '');
  });

  it('writes screenshots of the login screen and a busy chat: light and dark, desktop and phone (and the phone’s room list)', async () => {
    // The cast: two more people, a room with a conversation, a DM waiting for alice, bob typing.
    const dan = await client((await registerWithName(live.port, 'dan', 'Dan Okafor')).token);
    await alice.page.click('#new-room-button');
    await alice.page.fill('#create-name', 'design-review');
    await alice.page.click('#create-form button[type="submit"]');
    await eventually(async () => expect(await alice.page.locator('#room-title').textContent()).to.equal('#design-review'));
    await alice.page.click('#new-room-button');
    await alice.page.fill('#create-name', 'leads');
    await alice.page.fill('#create-password', 'only leads');
    await alice.page.click('#create-form button[type="submit"]');
    await eventually(async () => expect(await alice.page.locator('#room-title').textContent()).to.equal('#leads'));
    await openRoom(alice.page, 'design-review');
    await carol.request({ type: 'join', room: 'design-review' });
    await dan.request({ type: 'join', room: 'design-review' });
    // A reload keeps this tab's login and its open room; the new public room is under Discover.
    await bob.page.reload();
    await bob.page.locator('#link-status[data-state="open"]').waitFor();
    expect(await bob.page.locator('#room-title').textContent()).to.equal('#general');
    expect(await bob.page.locator('#room-list [data-room="design-review"]').getAttribute('aria-label')).to.equal('design-review, 3 members, select to join');
    await openRoom(bob.page, 'design-review');

    const line = async (who: ChatClient | Page, text: string) => {
      if (who instanceof ChatClient) await who.request({ type: 'send', room: 'design-review', text });
      else {
        const before = (await shownMessages(who)).filter((m) => m.text === text).length;
        await say(who, text);
        await eventually(async () => expect((await shownMessages(who)).filter((m) => m.text === text && !m.pending)).to.have.length(before + 1));
      }
    };
    await line(dan, 'Morning all! The new onboarding flow is up on staging.');
    await line(carol, 'Nice. I will run through it on my phone after standup.');
    await line(alice.page, 'Looks great on desktop. Two things:\n1. the progress bar jumps at step 3\n2. the Skip link is hard to see in dark mode');
    await line(dan, 'Good catches, both are on my list.');
    await line(bob.page, 'I can take the dark-mode contrast one.');
    await line(carol, 'Step 3 is the address form: the jump is the validation message pushing the layout down.');
    await line(carol, 'Reserving space for it under the field should fix it.');
    await line(dan, 'Makes sense. I will have a build by this afternoon.');
    await line(alice.page, 'Then let us ship on Thursday if QA is happy.');
    await carol.request({ type: 'send', to: 'alice', text: 'Could you look at the pricing page copy later?' });
    await carol.request({ type: 'send', room: 'general', text: 'Lunch at 12:30 today?' });
    await eventually(async () => expect(await alice.page.locator('#room-list [data-room="dm:alice:carol"] .badge').textContent()).to.equal('1'));
    // No passing notices in the pictures.
    await eventually(async () => expect(await alice.page.locator('#toasts .toast').count()).to.equal(0), 7000);
    await bob.page.fill('#composer-input', 'Sounds good');
    await eventually(async () => expect(await alice.page.locator('#typing').textContent()).to.equal('Bob Stone is typing…'));

    const shots: string[] = [];
    for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
      await alice.page.setViewportSize(viewport);
      await alice.page.mouse.move(viewport.width / 2, 30); // no hover highlight on a message
      for (const scheme of ['light', 'dark'] as const) {
        await alice.page.emulateMedia({ colorScheme: scheme });
        const path = screenshotPath(`chat-${size}-${scheme}`);
        await alice.page.screenshot({ path, animations: 'disabled' });
        shots.push(path);
      }
    }
    // On a phone, the room list is the other pane.
    await alice.page.click('#back-button');
    for (const scheme of ['light', 'dark'] as const) {
      await alice.page.emulateMedia({ colorScheme: scheme });
      const path = screenshotPath(`rooms-phone-${scheme}`);
      await alice.page.screenshot({ path, animations: 'disabled' });
      shots.push(path);
    }
    const login = await newPerson();
    for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
      await login.page.setViewportSize(viewport);
      for (const scheme of ['light', 'dark'] as const) {
        await login.page.emulateMedia({ colorScheme: scheme });
        const path = screenshotPath(`login-${size}-${scheme}`);
        await login.page.screenshot({ path, animations: 'disabled' });
        shots.push(path);
      }
    }
    expect(shots).to.have.length(10);
    await bob.page.fill('#composer-input', '');
  });

  it('needs no inline script or style: no CSP violation and no uncaught error on any page', () => {
    for (const { watch } of pages) {
      expect(watch.cspViolations).to.deep.equal([]);
      expect(watch.pageErrors).to.deep.equal([]);
    }
  });
});
