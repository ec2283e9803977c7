/**
 * The chat protocol over real sockets (API.md "WebSocket: /ws"), row by row:
 * several users, several connections per user, each a `ws` client speaking
 * TLS to the whole application started in this process on port 0.
 *
 * "X does not get Y" is checked behind a barrier, not a sleep: the server
 * writes to one connection in order, so once a later reply (or a later
 * broadcast) has arrived, anything the server wrote before it has too.
 */
import { expect } from 'chai';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { issueToken } from '../../lib/jwt/claims.js';
import {
  CHAT_TEST_CONFIG,
  ClientPool,
  api,
  freshRoom,
  isIsoTime,
  loginUser,
  refusedStatus,
  registerUser,
  sendMany,
  waitUntil,
  type Account,
  type ChatClient,
  type Msg,
} from '../helpers/chat-client.js';

const MESSAGE_KEYS = ['from', 'id', 'room', 'text', 'ts', 'type'];

describe('chat over real sockets (API.md "WebSocket: /ws")', function () {
  this.timeout(20_000);
  let live: LiveServer;
  const pool = new ClientPool(() => live.port);

  before(async () => {
    live = await startServer(CHAT_TEST_CONFIG, { app: true });
  });
  after(async () => {
    pool.closeAll();
    await live.close();
  });
  /** Open chat connections on the server (every test starts and ends with none). */
  const sessions = () => live.app!.chat.service().connectedSessions;
  afterEach(async () => {
    pool.closeAll();
    await waitUntil(() => sessions() === 0, 5000, 'every connection of the test to be gone');
  });

  /** A new user with one open connection. */
  async function user(): Promise<{ a: Account; c: ChatClient }> {
    const a = await registerUser(live.port);
    return { a, c: await pool.open(a.token) };
  }

  /** Another connection of the same user (same token). */
  function another(a: Account): Promise<ChatClient> {
    return pool.open(a.token);
  }

  /** A round trip: everything the server wrote to `c` before it has arrived. */
  function barrier(c: ChatClient): Promise<Msg> {
    return c.request({ type: 'rooms' });
  }

  async function createRoom(c: ChatClient, extra: Msg = {}): Promise<string> {
    const room = freshRoom();
    const r = await c.request({ type: 'create_room', room, ...extra });
    expect(r.type, JSON.stringify(r)).to.equal('joined');
    return room;
  }

  async function join(c: ChatClient, room: string, extra: Msg = {}): Promise<Msg> {
    const r = await c.request({ type: 'join', room, ...extra });
    expect(r.type, JSON.stringify(r)).to.equal('joined');
    return r;
  }

  async function expectError(c: ChatClient, msg: Msg, code: string): Promise<Msg> {
    const r = await c.request(msg);
    expect(r, JSON.stringify(r)).to.include({ type: 'error', code });
    expect(r.message).to.be.a('string').and.not.equal('');
    return r;
  }

  async function roomEntry(c: ChatClient, name: string): Promise<Msg | undefined> {
    const r = await c.request({ type: 'rooms' });
    return (r.rooms as Msg[]).find((x) => x.name === name);
  }

  // ── hello ──────────────────────────────────────────────────────────────

  describe('hello', () => {
    it('comes right after the upgrade with user, server_time, token_expires_at and the five limits', async () => {
      const a = await registerUser(live.port);
      const reg = await api(live.port, 'POST', '/login', { body: { username: a.username, password: a.password } });
      const before = Date.now();
      const c = await pool.open(reg.json.token);
      const h = c.hello;
      expect(c.log[0]).to.equal(h); // the first message
      expect(Object.keys(h).sort()).to.deep.equal(['limits', 'server_time', 'token_expires_at', 'type', 'user']);
      expect(h.user).to.deep.equal(reg.json.user);
      expect(Object.keys(h.user).sort()).to.deep.equal(['created_at', 'display_name', 'id', 'username']);
      expect(isIsoTime(h.server_time)).to.equal(true);
      expect(Math.abs(Date.parse(h.server_time) - before)).to.be.below(5000);
      expect(h.token_expires_at).to.equal(reg.json.expires_at);
      const cfg = live.server.currentConfig;
      expect(h.limits).to.deep.equal({
        max_message_bytes: cfg.ws_max_message_bytes,
        max_text_chars: cfg.max_text_chars,
        history_limit_max: cfg.history_limit_max,
        send_rate_per_second: cfg.send_rate_per_second,
        send_burst: cfg.send_burst,
      });
    });
  });

  // ── create_room ────────────────────────────────────────────────────────

  describe('create_room', () => {
    it('creates a public room: the creator joins it and is its only member', async () => {
      const { a, c } = await user();
      const room = freshRoom('Pub');
      const r = await c.request({ type: 'create_room', room });
      expect(r).to.deep.equal({ type: 'joined', ref: r.ref, room, members: [{ username: a.username, display_name: a.username, online: true }], messages: [], has_more: false });
      expect(await roomEntry(c, room)).to.deep.equal({ name: room, private: false, members: 1, online: 1, joined: true, unread: 0 });
      const { c: other } = await user();
      expect(await roomEntry(other, room)).to.deep.equal({ name: room, private: false, members: 1, online: 1, joined: false, unread: 0 });
    });

    it('creates a private room with a password, listed only to its members', async () => {
      const { c } = await user();
      const room = await createRoom(c, { private: true, password: 'sesame' });
      expect(await roomEntry(c, room)).to.include({ private: true, joined: true, members: 1 });
      const { c: other } = await user();
      expect(await roomEntry(other, room)).to.equal(undefined);
    });

    it('refuses a private room without a non-empty password with bad_request', async () => {
      const { c } = await user();
      await expectError(c, { type: 'create_room', room: freshRoom(), private: true }, 'bad_request');
      await expectError(c, { type: 'create_room', room: freshRoom(), private: true, password: '' }, 'bad_request');
      await expectError(c, { type: 'create_room', room: freshRoom(), private: true, password: 42 }, 'bad_request');
      await expectError(c, { type: 'create_room', room: freshRoom(), private: 'yes', password: 'x' }, 'bad_request');
    });

    it('refuses a password on a public room with bad_request (docs/protocol.md: "a public room must not have one")', async () => {
      const { c } = await user();
      await expectError(c, { type: 'create_room', room: freshRoom(), password: 'x' }, 'bad_request');
    });

    it('refuses names that break the rules (1–64 of A–Z a–z 0–9 _ -; dm: reserved) with bad_request', async () => {
      const { c } = await user();
      for (const room of ['', 'a'.repeat(65), 'has space', 'dot.ted', 'dm:x:y', 'dm:aaa:bbb', 'caf\u00e9', 'emoji\u{1F600}', 'new\nline', 7, null]) {
        await expectError(c, { type: 'create_room', room }, 'bad_request');
      }
      await expectError(c, { type: 'create_room' }, 'bad_request');
      const longest = `${freshRoom('L')}-`.padEnd(64, 'x');
      expect((await c.request({ type: 'create_room', room: longest })).type).to.equal('joined');
      expect((await c.request({ type: 'create_room', room: 'Z' + freshRoom().slice(1) })).type).to.equal('joined');
    });

    it('answers room_exists for a name taken in any case, general included', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const { c: other } = await user();
      await expectError(other, { type: 'create_room', room: room.toUpperCase() }, 'room_exists');
      await expectError(other, { type: 'create_room', room }, 'room_exists');
      await expectError(other, { type: 'create_room', room: 'GENERAL' }, 'room_exists');
    });
  });

  // ── join ───────────────────────────────────────────────────────────────

  describe('join', () => {
    it('answers joined {room, members, messages, has_more} and tells the other members with presence joined', async () => {
      const { a, c } = await user();
      const room = await createRoom(c);
      const c2 = await another(a); // a second device of the owner
      const { a: b, c: bc } = await user();
      const r = await join(bc, room);
      expect(Object.keys(r).sort()).to.deep.equal(['has_more', 'members', 'messages', 'ref', 'room', 'type']);
      expect(r.room).to.equal(room);
      const expected = [
        { username: a.username, display_name: a.username, online: true },
        { username: b.username, display_name: b.username, online: true },
      ].sort((x, y) => x.username.toLowerCase().localeCompare(y.username.toLowerCase()));
      expect(r.members).to.have.deep.members(expected);
      expect(r.messages).to.deep.equal([]);
      expect(r.has_more).to.equal(false);
      for (const x of [c, c2]) expect(await x.next((m) => m.type === 'presence')).to.deep.equal({ type: 'presence', room, user: b.username, state: 'joined' });
      // the joiner hears nothing about itself
      await barrier(bc);
      expect(bc.log.filter((m) => m.type === 'presence' && m.user === b.username)).to.deep.equal([]);
    });

    it('shows offline members as online: false', async () => {
      const { a, c } = await user();
      const room = await createRoom(c);
      await c.close();
      await waitUntil(() => sessions() === 0, 3000, 'the owner to go offline');
      const { c: bc } = await user();
      const r = await join(bc, room);
      const entry = (r.members as Msg[]).find((m) => m.username === a.username);
      expect(entry).to.deep.equal({ username: a.username, display_name: a.username, online: false });
    });

    it('matches the name without regard to case and answers with the name as created', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const { c: bc } = await user();
      expect((await join(bc, room.toUpperCase())).room).to.equal(room);
    });

    it('lets a member join again without the password and without presence', async () => {
      const { c } = await user();
      const room = await createRoom(c, { private: true, password: 'sesame' });
      const { c: bc } = await user();
      await join(bc, room, { password: 'sesame' });
      await c.next((m) => m.type === 'presence' && m.state === 'joined');
      await join(bc, room);
      await join(bc, room, { password: 'not the password' });
      // The owner hears of bc's join once only: a message sent after both re-joins arrives with no presence before it.
      await bc.request({ type: 'send', room, text: 'after' });
      await c.next((m) => m.type === 'message' && m.text === 'after');
      expect(c.log.filter((m) => m.type === 'presence' && m.state === 'joined')).to.have.length(1);
      // membership lasts across connections: a new connection needs no password either
      const owner = await join(c, room);
      expect(owner.room).to.equal(room);
    });

    it('runs a connection\'s messages in order: a send right behind a create_room or join with a password finds the room and the membership', async () => {
      const { c } = await user();
      const room = freshRoom();
      c.send({ type: 'create_room', room, private: true, password: 'sesame', ref: 'c' });
      c.send({ type: 'send', room, text: 'first', ref: 's' });
      c.send({ type: 'history', room, ref: 'h' });
      const { c: bc } = await user();
      // An ack follows the commit (group commit), so a later request's reply may overtake it; every other reply keeps its place.
      await c.next((m) => m.ref === 's' && m.type === 'ack');
      await c.next((m) => m.ref === 'h');
      expect(c.log.filter((m) => m.ref !== undefined && m.type !== 'ack').map((m) => `${m.ref}:${m.type}`)).to.deep.equal(['c:joined', 'h:history']);
      bc.send({ type: 'join', room, password: 'wrong', ref: 'j0' });
      bc.send({ type: 'join', room, password: 'sesame', ref: 'j1' });
      bc.send({ type: 'send', room, text: 'second', ref: 's' });
      bc.send({ type: 'rooms', ref: 'r' });
      await bc.next((m) => m.ref === 's' && m.type === 'ack');
      await bc.next((m) => m.ref === 'r');
      expect(bc.log.filter((m) => m.ref !== undefined && m.type !== 'ack').map((m) => `${m.ref}:${m.type}`)).to.deep.equal(['j0:error', 'j1:joined', 'r:rooms']);
      expect((await c.next((m) => m.type === 'message' && m.text === 'second')).room).to.equal(room);
    });

    it('refuses a non-member of a private room with a wrong or missing password (wrong_password)', async () => {
      const { c } = await user();
      const room = await createRoom(c, { private: true, password: 'sesame' });
      const { c: bc } = await user();
      await expectError(bc, { type: 'join', room, password: 'Sesame' }, 'wrong_password');
      await expectError(bc, { type: 'join', room }, 'wrong_password');
      expect(await roomEntry(bc, room)).to.equal(undefined);
      await expectError(bc, { type: 'history', room }, 'not_member');
    });

    it('answers not_found for a room that does not exist, bad_request for a bad name', async () => {
      const { c } = await user();
      await expectError(c, { type: 'join', room: freshRoom('nope') }, 'not_found');
      await expectError(c, { type: 'join', room: 'no spaces' }, 'bad_request');
      await expectError(c, { type: 'join', room: freshRoom(), since: -1 }, 'bad_request');
      await expectError(c, { type: 'join', room: freshRoom(), since: 1.5 }, 'bad_request');
      await expectError(c, { type: 'join', room: freshRoom(), since: '3' }, 'bad_request');
    });

    it('without since: the newest 50, oldest first, has_more when older ones exist', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const sent = await sendMany(c, room, 120);
      const { c: bc } = await user();
      const r = await join(bc, room);
      expect((r.messages as Msg[]).map((m) => m.id)).to.deep.equal(sent.slice(70).map((s) => s.id));
      expect(r.has_more).to.equal(true);
      const first = r.messages[0] as Msg;
      expect(Object.keys(first).sort()).to.deep.equal(['from', 'id', 'room', 'text', 'ts']);
      expect(first).to.deep.equal({ id: sent[70]!.id, room, from: c.hello.user.username, text: sent[70]!.text, ts: sent[70]!.ts });
      // and a room of 50 or fewer has no more
      const small = await createRoom(c);
      await sendMany(c, small, 50);
      const rs = await join(bc, small);
      expect(rs.messages).to.have.length(50);
      expect(rs.has_more).to.equal(false);
    });

    it('with since: the oldest 50 after it; joining again with the last id received pages to the end', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const sent = await sendMany(c, room, 120);
      const { c: bc } = await user();
      await join(bc, room);
      const got: number[] = [];
      let since = sent[0]!.id;
      const pages: number[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await join(bc, room, { since });
        const ids = (r.messages as Msg[]).map((m) => m.id as number);
        pages.push(ids.length);
        got.push(...ids);
        if (!r.has_more) break;
        since = ids.at(-1)!;
      }
      expect(pages).to.deep.equal([50, 50, 19]);
      expect(got).to.deep.equal(sent.slice(1).map((s) => s.id));
      const end = await join(bc, room, { since: sent.at(-1)!.id });
      expect(end.messages).to.deep.equal([]);
      expect(end.has_more).to.equal(false);
      const all = await join(bc, room, { since: 0 });
      expect((all.messages as Msg[]).map((m) => m.id)).to.deep.equal(sent.slice(0, 50).map((s) => s.id));
    });
  });

  // ── leave ──────────────────────────────────────────────────────────────

  describe('leave', () => {
    it('answers left {room}, tells the others, and ends the membership on every connection', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const { a: b, c: b1 } = await user();
      const b2 = await another(b);
      await join(b1, room);
      await c.next((m) => m.type === 'presence' && m.state === 'joined');
      const r = await b1.request({ type: 'leave', room });
      expect(r).to.deep.equal({ type: 'left', ref: r.ref, room });
      expect(await c.next((m) => m.type === 'presence')).to.deep.equal({ type: 'presence', room, user: b.username, state: 'left' });
      // messages stop arriving on both of b's connections
      await c.request({ type: 'send', room, text: 'after leaving' });
      await barrier(b1);
      await barrier(b2);
      expect([...b1.log, ...b2.log].filter((m) => m.type === 'message')).to.deep.equal([]);
      await expectError(b2, { type: 'history', room }, 'not_member');
      await expectError(b1, { type: 'send', room, text: 'x' }, 'not_member');
      await expectError(b1, { type: 'leave', room }, 'not_member');
      expect(await roomEntry(b2, room)).to.include({ joined: false, members: 1 });
    });

    it('answers not_found for a room that does not exist', async () => {
      const { c } = await user();
      await expectError(c, { type: 'leave', room: freshRoom('nope') }, 'not_found');
    });
  });

  // ── delete_room ────────────────────────────────────────────────────────

  describe('delete_room', () => {
    it('is for the owner only: forbidden for another member', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const { c: bc } = await user();
      await join(bc, room);
      await expectError(bc, { type: 'delete_room', room }, 'forbidden');
      expect(await roomEntry(c, room)).to.include({ members: 2 });
    });

    it('is forbidden for anyone on general and on a DM', async () => {
      const { c } = await user();
      const { a: b, c: bc } = await user();
      await expectError(c, { type: 'delete_room', room: 'general' }, 'forbidden');
      await expectError(c, { type: 'delete_room', room: 'General' }, 'forbidden');
      const ack = await c.request({ type: 'send', to: b.username, text: 'hi' });
      const dm = (await bc.next((m) => m.type === 'message' && m.id === ack.id)).room as string;
      await expectError(c, { type: 'delete_room', room: dm }, 'forbidden');
      await expectError(bc, { type: 'delete_room', room: dm }, 'forbidden');
    });

    it('answers not_member to a non-member for a private room and not_found for no room', async () => {
      const { c } = await user();
      const room = await createRoom(c, { private: true, password: 'p' });
      const { c: bc } = await user();
      await expectError(bc, { type: 'delete_room', room }, 'not_member');
      await expectError(bc, { type: 'delete_room', room: freshRoom('nope') }, 'not_found');
      expect(await roomEntry(c, room)).to.include({ joined: true });
    });

    it('tells every member connection room_deleted; the room is gone; its ids are never used again', async () => {
      const { a, c } = await user();
      const c2 = await another(a);
      const room = await createRoom(c);
      const { c: bc } = await user();
      const { c: outsider } = await user();
      await join(bc, room);
      const sent = await sendMany(c, room, 5);
      const r = await c.request({ type: 'delete_room', room });
      expect(r).to.deep.equal({ type: 'room_deleted', ref: r.ref, room });
      expect(await c2.next((m) => m.type === 'room_deleted')).to.deep.equal({ type: 'room_deleted', room });
      expect(await bc.next((m) => m.type === 'room_deleted')).to.deep.equal({ type: 'room_deleted', room });
      await barrier(outsider);
      expect(outsider.log.filter((m) => m.type === 'room_deleted')).to.deep.equal([]);
      await expectError(bc, { type: 'join', room }, 'not_found');
      await expectError(bc, { type: 'history', room }, 'not_found');
      expect(await roomEntry(c, room)).to.equal(undefined);
      // the name is free again; the new room starts empty and its ids are above every earlier one
      await c.request({ type: 'create_room', room });
      const after = await c.request({ type: 'send', room, text: 'new room' });
      expect(after.id).to.be.greaterThan(Math.max(...sent.map((s) => s.id)));
      const h = await c.request({ type: 'history', room });
      expect((h.messages as Msg[]).map((m) => m.text)).to.deep.equal(['new room']);
    });
  });

  // ── send ───────────────────────────────────────────────────────────────

  describe('send', () => {
    it('answers ack {ref, id, ts} and gives every member connection, the sender\'s included, message {room, id, from, text, ts}', async () => {
      const { a, c } = await user();
      const c2 = await another(a);
      const room = await createRoom(c);
      const { a: b, c: b1 } = await user();
      const b2 = await another(b);
      const { c: outsider } = await user();
      await join(b1, room);
      const ack = await c.request({ type: 'send', room, text: 'hello 👋' });
      expect(Object.keys(ack).sort()).to.deep.equal(['id', 'ref', 'ts', 'type']);
      expect(ack.id).to.be.a('number').greaterThan(0);
      expect(isIsoTime(ack.ts)).to.equal(true);
      for (const x of [c, c2, b1, b2]) {
        const m = await x.next((m) => m.type === 'message');
        expect(Object.keys(m).sort()).to.deep.equal(MESSAGE_KEYS);
        expect(m).to.deep.equal({ type: 'message', room, id: ack.id, from: a.username, text: 'hello 👋', ts: ack.ts });
      }
      // the ack comes before the sender's own copy
      const ackAt = c.log.findIndex((m) => m.type === 'ack');
      const msgAt = c.log.findIndex((m) => m.type === 'message');
      expect(ackAt).to.be.below(msgAt);
      await barrier(outsider);
      expect(outsider.log.filter((m) => m.type === 'message')).to.deep.equal([]);
    });

    it('answers not_member to a non-member (a public room not joined) and not_found for no room', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const { c: bc } = await user();
      await expectError(bc, { type: 'send', room, text: 'x' }, 'not_member');
      await expectError(bc, { type: 'send', room: freshRoom('nope'), text: 'x' }, 'not_found');
      await barrier(c);
      expect(c.log.filter((m) => m.type === 'message')).to.deep.equal([]);
    });

    it('needs exactly one of room or to (bad_request for both and for neither)', async () => {
      const { c } = await user();
      const { a: b } = await user();
      const room = await createRoom(c);
      await expectError(c, { type: 'send', room, to: b.username, text: 'x' }, 'bad_request');
      await expectError(c, { type: 'send', text: 'x' }, 'bad_request');
      await expectError(c, { type: 'send', room, text: 42 }, 'bad_request');
      await expectError(c, { type: 'send', room }, 'bad_request');
    });

    it('refuses empty and white-space-only text with bad_request (Unicode White_Space)', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      for (const text of ['', ' ', '   \t\n\r', '\u3000', '\u00a0', '\u2028\u2029', '\u200a\u205f', '\u0085', '\u1680']) {
        await expectError(c, { type: 'send', room, text }, 'bad_request');
      }
      // U+200B ZERO WIDTH SPACE and U+FEFF are not White_Space: such text is accepted
      for (const text of ['\u200b', ' \ufeff ', ' x ']) {
        expect((await c.request({ type: 'send', room, text })).type).to.equal('ack');
      }
      const h = await c.request({ type: 'history', room });
      expect((h.messages as Msg[]).map((m) => m.text)).to.deep.equal(['\u200b', ' \ufeff ', ' x ']);
    });

    it('counts max_text_chars in code points: too_long past it, emoji count as one', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const max = live.server.currentConfig.max_text_chars;
      expect((await c.request({ type: 'send', room, text: '😀'.repeat(max) })).type).to.equal('ack');
      expect((await c.request({ type: 'send', room, text: 'a'.repeat(max) })).type).to.equal('ack');
      await expectError(c, { type: 'send', room, text: '😀'.repeat(max + 1) }, 'too_long');
      await expectError(c, { type: 'send', room, text: 'a'.repeat(max + 1) }, 'too_long');
      const h = await c.request({ type: 'history', room });
      expect(h.messages).to.have.length(2);
      expect(h.messages[0].text).to.equal('😀'.repeat(max));
    });

    it('with a repeated cmid: the original ack, nothing stored, nothing delivered', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const { c: bc } = await user();
      await join(bc, room);
      const first = await c.request({ type: 'send', room, text: 'once', cmid: 'abc-1' });
      await bc.next((m) => m.type === 'message' && m.id === first.id);
      const again = await c.request({ type: 'send', room, text: 'once', cmid: 'abc-1' });
      expect({ id: again.id, ts: again.ts }).to.deep.equal({ id: first.id, ts: first.ts });
      // two repeats queued in one turn of the event loop are deduplicated too
      c.send({ type: 'send', room, text: 'twice', cmid: 'abc-2', ref: 'x1' });
      c.send({ type: 'send', room, text: 'twice', cmid: 'abc-2', ref: 'x2' });
      const x1 = await c.next((m) => m.ref === 'x1');
      const x2 = await c.next((m) => m.ref === 'x2');
      expect(x1.type).to.equal('ack');
      expect(x2).to.deep.equal({ ...x1, ref: 'x2' });
      const marker = await c.request({ type: 'send', room, text: 'marker' });
      await bc.next((m) => m.type === 'message' && m.id === marker.id);
      expect(bc.log.filter((m) => m.type === 'message').map((m) => m.text)).to.deep.equal(['once', 'twice', 'marker']);
      const h = await bc.request({ type: 'history', room });
      expect((h.messages as Msg[]).map((m) => m.text)).to.deep.equal(['once', 'twice', 'marker']);
      // the same cmid in another room, or from another user, is a new message
      const other = await createRoom(c);
      const elsewhere = await c.request({ type: 'send', room: other, text: 'once', cmid: 'abc-1' });
      expect(elsewhere.id).to.not.equal(first.id);
      const byB = await bc.request({ type: 'send', room, text: 'mine', cmid: 'abc-1' });
      expect(byB.id).to.be.greaterThan(marker.id);
    });

    it('refuses a cmid that is not a string of 1 to 64 code points with bad_request', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      await expectError(c, { type: 'send', room, text: 'x', cmid: '' }, 'bad_request');
      await expectError(c, { type: 'send', room, text: 'x', cmid: 'c'.repeat(65) }, 'bad_request');
      await expectError(c, { type: 'send', room, text: 'x', cmid: 12 }, 'bad_request');
      expect((await c.request({ type: 'send', room, text: 'x', cmid: '🔑'.repeat(64) })).type).to.equal('ack');
      expect((await c.request({ type: 'send', room, text: 'x', cmid: 'c'.repeat(64) })).type).to.equal('ack');
    });
  });

  // ── history ────────────────────────────────────────────────────────────

  describe('history', () => {
    it('pages backwards with before and limit, each page oldest first, has_more until the start', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const sent = await sendMany(c, room, 60);
      const def = await c.request({ type: 'history', room });
      expect(Object.keys(def).sort()).to.deep.equal(['has_more', 'messages', 'ref', 'room', 'type']);
      expect(def.room).to.equal(room);
      expect((def.messages as Msg[]).map((m) => m.id)).to.deep.equal(sent.slice(10).map((s) => s.id));
      expect(def.has_more).to.equal(true);
      expect(def.messages[0]).to.deep.equal({ id: sent[10]!.id, room, from: c.hello.user.username, text: sent[10]!.text, ts: sent[10]!.ts });
      const got: number[] = [];
      let before: number | undefined;
      for (let i = 0; i < 10; i++) {
        const r = await c.request({ type: 'history', room, limit: 25, ...(before !== undefined ? { before } : {}) });
        const ids = (r.messages as Msg[]).map((m) => m.id as number);
        expect(ids).to.deep.equal([...ids].sort((x, y) => x - y));
        got.unshift(...ids);
        if (!r.has_more) break;
        before = ids[0];
      }
      expect(got).to.deep.equal(sent.map((s) => s.id));
      const exact = await c.request({ type: 'history', room, before: sent[3]!.id, limit: 3 });
      expect((exact.messages as Msg[]).map((m) => m.id)).to.deep.equal(sent.slice(0, 3).map((s) => s.id));
      expect(exact.has_more).to.equal(false);
      const max = await c.request({ type: 'history', room, limit: 100 });
      expect(max.messages).to.have.length(60);
    });

    it('refuses limit 0, 101 and non-integers with bad_request', async () => {
      const { c } = await user();
      for (const limit of [0, 101, -1, 2.5, '10', null]) await expectError(c, { type: 'history', room: 'general', limit }, 'bad_request');
      await expectError(c, { type: 'history', room: 'general', before: 0 }, 'bad_request');
    });

    it('is for members only (not_member), not_found for no room', async () => {
      const { c } = await user();
      await expectError(c, { type: 'history', room: 'general' }, 'not_member');
      await expectError(c, { type: 'history', room: freshRoom('nope') }, 'not_found');
      await join(c, 'general');
      expect((await c.request({ type: 'history', room: 'general' })).type).to.equal('history');
    });
  });

  // ── typing ─────────────────────────────────────────────────────────────

  describe('typing', () => {
    it('relays typing {room, user} to the other users\' connections, not to the sender\'s, and stores nothing', async () => {
      const { a, c } = await user();
      const c2 = await another(a);
      const room = await createRoom(c);
      const { a: b, c: b1 } = await user();
      const b2 = await another(b);
      await join(b1, room);
      c.send({ type: 'typing', room });
      for (const x of [b1, b2]) expect(await x.next((m) => m.type === 'typing')).to.deep.equal({ type: 'typing', room, user: a.username });
      await barrier(c);
      await barrier(c2);
      expect([...c.log, ...c2.log].filter((m) => m.type === 'typing')).to.deep.equal([]);
      const h = await b1.request({ type: 'history', room });
      expect(h.messages).to.deep.equal([]);
      expect(await roomEntry(b1, room)).to.include({ unread: 0 });
      // a typing with a ref has no reply
      c.send({ type: 'typing', room, ref: 't1' });
      await b1.next((m) => m.type === 'typing');
      await barrier(c);
      expect(c.log.filter((m) => m.ref === 't1')).to.deep.equal([]);
    });

    it('is not_member for a non-member', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const { c: bc } = await user();
      await expectError(bc, { type: 'typing', room }, 'not_member');
      await barrier(c);
      expect(c.log.filter((m) => m.type === 'typing')).to.deep.equal([]);
    });
  });

  // ── read and unread ────────────────────────────────────────────────────

  describe('read and rooms.unread', () => {
    it('a new member starts with everything earlier read; unread counts other users\' messages only, the same on every device', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      await sendMany(c, room, 3, 'before');
      const { a: b, c: b1 } = await user();
      const b2 = await another(b);
      await join(b1, room);
      expect(await roomEntry(b1, room)).to.include({ unread: 0 });
      const later = await sendMany(c, room, 4, 'later');
      await b1.request({ type: 'send', room, text: 'mine' });
      for (const x of [b1, b2]) expect(await roomEntry(x, room)).to.include({ unread: 4 });
      expect(await roomEntry(c, room)).to.include({ unread: 1 });
      // read up to the second of the four, from one device; the other sees it
      b1.send({ type: 'read', room, id: later[1]!.id, ref: 'rd' });
      expect(await roomEntry(b1, room)).to.include({ unread: 2 });
      expect(await roomEntry(b2, room)).to.include({ unread: 2 });
      expect(b1.log.filter((m) => m.ref === 'rd')).to.deep.equal([]); // read has no reply
      // never back
      b2.send({ type: 'read', room, id: later[0]!.id });
      expect(await roomEntry(b2, room)).to.include({ unread: 2 });
      expect(await roomEntry(b1, room)).to.include({ unread: 2 });
      // past the newest: all read, and a later message is unread again
      b2.send({ type: 'read', room, id: 2 ** 52 });
      expect(await roomEntry(b1, room)).to.include({ unread: 0 });
      await c.request({ type: 'send', room, text: 'newer' });
      expect(await roomEntry(b1, room)).to.include({ unread: 1 });
    });

    it('read is not_member for a non-member and bad_request without a valid id', async () => {
      const { c } = await user();
      const room = await createRoom(c);
      const { c: bc } = await user();
      await expectError(bc, { type: 'read', room, id: 1 }, 'not_member');
      await expectError(c, { type: 'read', room }, 'bad_request');
      await expectError(c, { type: 'read', room, id: -1 }, 'bad_request');
      await expectError(c, { type: 'read', room, id: 'x' }, 'bad_request');
    });
  });

  // ── rooms ──────────────────────────────────────────────────────────────

  describe('rooms', () => {
    it('lists public rooms to everyone, private rooms and DMs to their members, with member and online counts', async () => {
      const { a, c } = await user();
      const { a: b, c: bc } = await user();
      const { c: outsider } = await user();
      const pub = await createRoom(c);
      const priv = await createRoom(c, { private: true, password: 'pw' });
      await join(bc, pub);
      await join(bc, priv, { password: 'pw' });
      const ack = await c.request({ type: 'send', to: b.username, text: 'dm' });
      const dm = (await bc.next((m) => m.type === 'message' && m.id === ack.id)).room as string;
      const r = await outsider.request({ type: 'rooms' });
      expect(Object.keys(r).sort()).to.deep.equal(['ref', 'rooms', 'type']);
      const names = (r.rooms as Msg[]).map((x) => x.name);
      expect(names).to.include.members(['general', pub]);
      expect(names).to.not.include(priv);
      expect(names).to.not.include(dm);
      for (const x of r.rooms as Msg[]) expect(Object.keys(x).sort()).to.deep.equal(['joined', 'members', 'name', 'online', 'private', 'unread']);
      expect((r.rooms as Msg[]).find((x) => x.name === pub)).to.deep.equal({ name: pub, private: false, members: 2, online: 2, joined: false, unread: 0 });
      expect(await roomEntry(bc, priv)).to.deep.equal({ name: priv, private: true, members: 2, online: 2, joined: true, unread: 0 });
      expect(await roomEntry(bc, dm)).to.deep.equal({ name: dm, private: true, members: 2, online: 2, joined: true, unread: 1 });
      expect(await roomEntry(c, dm)).to.include({ joined: true, unread: 0 });
      // a second connection of one user is still one online member; a user gone offline is not counted
      await another(a);
      expect(await roomEntry(outsider, pub)).to.include({ members: 2, online: 2 });
      const open = sessions();
      await bc.close();
      await waitUntil(() => sessions() === open - 1, 3000, 'b to go offline');
      expect(await roomEntry(outsider, pub)).to.include({ members: 2, online: 1 });
    });
  });

  // ── refresh ────────────────────────────────────────────────────────────

  describe('refresh', () => {
    it('answers refreshed {expires_at} for a fresh token of the same user; a logout of that new token closes the connection (1008)', async () => {
      const { a, c } = await user();
      const fresh = await api(live.port, 'POST', '/token', { token: a.token });
      expect(fresh.status).to.equal(200);
      const r = await c.request({ type: 'refresh', token: fresh.json.token });
      expect(r).to.deep.equal({ type: 'refreshed', ref: r.ref, expires_at: fresh.json.expires_at });
      expect(isIsoTime(r.expires_at)).to.equal(true);
      const bystander = await pool.open(await loginUser(live.port, a));
      expect((await api(live.port, 'POST', '/logout', { token: fresh.json.token })).status).to.equal(204);
      expect((await c.closed()).code).to.equal(1008);
      expect((await bystander.request({ type: 'rooms' })).type).to.equal('rooms');
    });

    it('answers forbidden for another user\'s token, invalid_token for garbage, token_expired for an expired token', async () => {
      const { a, c } = await user();
      const { a: b } = await user();
      await expectError(c, { type: 'refresh', token: b.token }, 'forbidden');
      await expectError(c, { type: 'refresh', token: 'garbage' }, 'invalid_token');
      await expectError(c, { type: 'refresh', token: a.token.slice(0, -2) + (a.token.endsWith('AA') ? 'BB' : 'AA') }, 'invalid_token');
      const cfg = live.server.currentConfig;
      const longAgo = Date.now() - 3_600_000;
      const expired = issueToken(live.server.secret, {
        userId: a.id,
        username: a.username,
        tokenVersion: 0,
        authTime: Math.floor(longAgo / 1000),
        now: longAgo,
        ttlSeconds: 60,
        sessionMaxAgeSeconds: cfg.session_max_age / 1000,
        issuer: cfg.token_issuer,
      });
      await expectError(c, { type: 'refresh', token: expired.token }, 'token_expired');
      await expectError(c, { type: 'refresh' }, 'bad_request');
      // the connection is still open and its token still the old one
      expect((await c.request({ type: 'rooms' })).type).to.equal('rooms');
    });
  });

  // ── ref, unknown types, bad frames ─────────────────────────────────────

  describe('ref and malformed messages', () => {
    it('repeats ref on every reply, and sends none when the message had none', async () => {
      const { c } = await user();
      const room = freshRoom();
      const withRef: Msg[] = [
        { type: 'create_room', room },
        { type: 'join', room },
        { type: 'send', room, text: 'r' },
        { type: 'history', room },
        { type: 'rooms' },
        { type: 'leave', room },
        { type: 'join', room: freshRoom('nope') },
      ];
      for (const m of withRef) {
        const r = await c.request(m);
        expect(r.ref, JSON.stringify(r)).to.be.a('string');
      }
      const emoji = '🦊'.repeat(64);
      c.send({ type: 'rooms', ref: emoji });
      expect((await c.next((m) => m.type === 'rooms')).ref).to.equal(emoji);
      c.drainQueue();
      const start = c.log.length;
      c.send({ type: 'rooms' });
      c.send({ type: 'history', room: 'general' }); // an error reply
      c.send({ type: 'join', room: 'general' });
      c.send({ type: 'send', room: 'general', text: 'no ref' });
      await c.next((m) => m.type === 'message' && m.text === 'no ref');
      const replies = c.log.slice(start);
      expect(replies.map((m) => m.type)).to.deep.equal(['rooms', 'error', 'joined', 'ack', 'message']);
      for (const m of replies) expect(m, JSON.stringify(m)).to.not.have.property('ref');
    });

    it('refuses a ref that is not a string of 1 to 64 code points with bad_request (and no ref)', async () => {
      const { c } = await user();
      for (const ref of ['x'.repeat(65), '', 12, null, ['a']]) {
        c.send({ type: 'rooms', ref });
        const r = await c.next((m) => m.type !== 'presence');
        expect(r, JSON.stringify(ref)).to.include({ type: 'error', code: 'bad_request' });
        expect(r).to.not.have.property('ref');
      }
    });

    it('answers unknown_type for an unknown type, bad_request for a missing one', async () => {
      const { c } = await user();
      const r = await expectError(c, { type: 'dance' }, 'unknown_type');
      expect(r.ref).to.be.a('string');
      await expectError(c, { text: 'no type' }, 'bad_request');
      await expectError(c, { type: 7 }, 'bad_request');
    });

    it('answers an error for invalid JSON and for JSON that is not an object, and keeps the connection open', async () => {
      const { c } = await user();
      for (const raw of ['not json', '{"type":"rooms"', '[1,2]', '"rooms"', 'null', '']) {
        c.sendRaw(raw);
        const r = await c.next(() => true);
        expect(r, raw).to.include({ type: 'error', code: 'bad_request' });
        expect(r).to.not.have.property('ref');
      }
      expect((await c.request({ type: 'rooms' })).type).to.equal('rooms');
      expect(c.isOpen).to.equal(true);
    });

    it('closes the connection with 1003 on a binary frame', async () => {
      const { c } = await user();
      c.sendRaw(Buffer.from(JSON.stringify({ type: 'rooms' })), true);
      expect((await c.closed()).code).to.equal(1003);
    });
  });

  // ── direct messages ────────────────────────────────────────────────────

  describe('direct messages', () => {
    it('go to dm:<a>:<b> (lower case, sorted); both users are members from the first message', async () => {
      const aName = `Zed${Date.now() % 100000}`;
      const bName = `amy${Date.now() % 100000}`;
      const a = await registerUser(live.port, aName);
      const b = await registerUser(live.port, bName);
      const [a1, a2, b1] = await Promise.all([pool.open(a.token), pool.open(a.token), pool.open(b.token)]);
      const dm = `dm:${bName.toLowerCase()}:${aName.toLowerCase()}`;
      const ack = await a1.request({ type: 'send', to: bName.toUpperCase(), text: 'psst' });
      expect(ack.type).to.equal('ack');
      for (const x of [a1, a2, b1]) expect(await x.next((m) => m.type === 'message')).to.deep.equal({ type: 'message', room: dm, id: ack.id, from: aName, text: 'psst', ts: ack.ts });
      expect(await roomEntry(b1, dm)).to.deep.equal({ name: dm, private: true, members: 2, online: 2, joined: true, unread: 1 });
      // history, read, send with room, join: as on any room, for both
      for (const x of [a1, b1]) {
        const h = await x.request({ type: 'history', room: dm });
        expect((h.messages as Msg[]).map((m) => m.id)).to.deep.equal([ack.id]);
      }
      b1.send({ type: 'read', room: dm, id: ack.id });
      expect(await roomEntry(b1, dm)).to.include({ unread: 0 });
      const back = await b1.request({ type: 'send', room: dm.toUpperCase(), text: 'hi back' });
      expect(back.type).to.equal('ack');
      expect((await a2.next((m) => m.type === 'message' && m.id === back.id)).room).to.equal(dm);
      const j = await join(a1, dm);
      expect((j.members as Msg[]).map((m) => m.username).sort()).to.deep.equal([aName, bName].sort());
      expect((j.messages as Msg[]).map((m) => m.text)).to.deep.equal(['psst', 'hi back']);
      // the same DM in the other direction, by `to`
      const third = await b1.request({ type: 'send', to: aName, text: 'third' });
      expect((await a1.next((m) => m.type === 'message' && m.id === third.id)).room).to.equal(dm);
    });

    it('a participant who left the DM joins it again as a member, and the next DM makes them a member again', async () => {
      const { c } = await user();
      const { a: b, c: bc } = await user();
      const first = await c.request({ type: 'send', to: b.username, text: 'one' });
      const dm = (await bc.next((m) => m.type === 'message' && m.id === first.id)).room as string;
      expect((await bc.request({ type: 'leave', room: dm })).type).to.equal('left');
      await expectError(bc, { type: 'history', room: dm }, 'not_member');
      const j = await join(bc, dm);
      expect((j.messages as Msg[]).map((m) => m.text)).to.deep.equal(['one']);
      const second = await c.request({ type: 'send', room: dm, text: 'two' });
      expect((await bc.next((m) => m.type === 'message' && m.id === second.id)).text).to.equal('two');
      await bc.request({ type: 'leave', room: dm });
      const third = await c.request({ type: 'send', to: b.username, text: 'three' });
      expect((await bc.next((m) => m.type === 'message' && m.id === third.id)).room).to.equal(dm);
    });

    it('anyone else gets not_member for the DM name, whether or not that DM exists', async () => {
      const { a, c } = await user();
      const { a: b, c: bc } = await user();
      const { a: d } = await user();
      const { c: x } = await user();
      const ack = await c.request({ type: 'send', to: b.username, text: 'secret' });
      const dm = (await bc.next((m) => m.type === 'message' && m.id === ack.id)).room as string;
      const never = `dm:${[a.username.toLowerCase(), d.username.toLowerCase()].sort().join(':')}`;
      const nobody = 'dm:nobody-1:nobody-2';
      for (const room of [dm, never, nobody]) {
        await expectError(x, { type: 'history', room }, 'not_member');
        await expectError(x, { type: 'send', room, text: 'hi' }, 'not_member');
        await expectError(x, { type: 'read', room, id: 1 }, 'not_member');
        await expectError(x, { type: 'typing', room }, 'not_member');
        await expectError(x, { type: 'join', room }, 'not_member');
        await expectError(x, { type: 'leave', room }, 'not_member');
      }
      expect(await roomEntry(x, dm)).to.equal(undefined);
      await barrier(bc);
      expect(bc.log.filter((m) => m.type === 'message')).to.have.length(1);
    });

    it('a DM to yourself is bad_request; to a user who does not exist, not_found', async () => {
      const { a, c } = await user();
      await expectError(c, { type: 'send', to: a.username, text: 'me' }, 'bad_request');
      await expectError(c, { type: 'send', to: a.username.toUpperCase(), text: 'me' }, 'bad_request');
      await expectError(c, { type: 'send', to: 'nobody_here_9', text: 'hi' }, 'not_found');
      await expectError(c, { type: 'send', to: 'x', text: 'hi' }, 'bad_request'); // not a username at all
      const self = `dm:${a.username.toLowerCase()}:${a.username.toLowerCase()}`;
      await expectError(c, { type: 'history', room: self }, 'bad_request');
    });
  });

  // ── presence ───────────────────────────────────────────────────────────

  describe('presence online and offline', () => {
    it('a user with several connections is online from the first until the last one closes', async () => {
      const { c: watcher } = await user();
      const room = await createRoom(watcher);
      const a = await registerUser(live.port);
      const a1 = await pool.open(a.token);
      await join(a1, room);
      await watcher.next((m) => m.type === 'presence' && m.state === 'joined');
      const n0 = sessions();
      await a1.close();
      expect(await watcher.next((m) => m.type === 'presence')).to.deep.equal({ type: 'presence', room, user: a.username, state: 'offline' });
      const b1 = await pool.open(a.token);
      expect(await watcher.next((m) => m.type === 'presence')).to.deep.equal({ type: 'presence', room, user: a.username, state: 'online' });
      const b2 = await pool.open(a.token);
      await waitUntil(() => sessions() === n0 + 1, 3000, 'the second connection');
      await b1.close();
      await waitUntil(() => sessions() === n0, 3000, 'the first connection to be gone');
      // still online: a message from a's remaining connection arrives with no presence before it
      const ack = await b2.request({ type: 'send', room, text: 'still here' });
      await watcher.next((m) => m.type === 'message' && m.id === ack.id);
      expect(watcher.drainQueue((m) => m.type === 'presence')).to.deep.equal([]);
      b2.cut(); // a dropped connection counts too
      expect(await watcher.next((m) => m.type === 'presence')).to.deep.equal({ type: 'presence', room, user: a.username, state: 'offline' });
    });
  });

  // ── the handshake, logout and password change ──────────────────────────

  describe('/ws handshake and revocation', () => {
    it('refuses a handshake without chat.v1 (400), without a token (401), with a bad token (401)', async () => {
      const { a } = await user();
      expect(await refusedStatus(live.port, { protocols: [`bearer.${a.token}`] })).to.equal(400);
      expect(await refusedStatus(live.port, { protocols: ['chat.v2', `bearer.${a.token}`] })).to.equal(400);
      expect(await refusedStatus(live.port, { protocols: ['chat.v1'] })).to.equal(401);
      expect(await refusedStatus(live.port, { protocols: ['chat.v1', 'bearer.garbage'] })).to.equal(401);
      expect(await refusedStatus(live.port, { protocols: ['chat.v1'], headers: { Authorization: 'Bearer garbage' } })).to.equal(401);
    });

    it('accepts Authorization: Bearer with chat.v1 offered alone, and answers chat.v1', async () => {
      const { a } = await user();
      const c = await pool.open(a.token, { protocols: ['chat.v1'], headers: { Authorization: `Bearer ${a.token}` } });
      expect(c.ws.protocol).to.equal('chat.v1');
      expect(c.hello.user.username).to.equal(a.username);
    });

    it('refuses a foreign Origin with 403 and accepts the server\'s own', async () => {
      const { a } = await user();
      expect(await refusedStatus(live.port, { protocols: ['chat.v1', `bearer.${a.token}`], origin: 'https://evil.example' })).to.equal(403);
      const ok = await pool.open(a.token, { origin: `https://127.0.0.1:${live.port}` });
      expect(ok.hello.type).to.equal('hello');
    });

    it('POST /logout closes the WebSockets opened with that token (1008), not the others', async () => {
      const { a, c } = await user();
      const c2 = await another(a);
      const other = await pool.open(await loginUser(live.port, a));
      expect((await api(live.port, 'POST', '/logout', { token: a.token })).status).to.equal(204);
      expect((await c.closed()).code).to.equal(1008);
      expect((await c2.closed()).code).to.equal(1008);
      expect((await other.request({ type: 'rooms' })).type).to.equal('rooms');
    });

    it('a password change closes every WebSocket of that user (1008), not other users\'', async () => {
      const { a, c } = await user();
      const c2 = await pool.open(await loginUser(live.port, a));
      const { c: bystander } = await user();
      const res = await api(live.port, 'PUT', '/me', { token: a.token, body: { current_password: a.password, new_password: 'a whole new passphrase' } });
      expect(res.status).to.equal(200);
      expect((await c.closed()).code).to.equal(1008);
      expect((await c2.closed()).code).to.equal(1008);
      expect((await bystander.request({ type: 'rooms' })).type).to.equal('rooms');
      // the token from the change works
      const fresh = await pool.open(res.json.token);
      expect(fresh.hello.user.username).to.equal(a.username);
    });
  });
});
