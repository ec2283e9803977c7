/**
 * Delivery guarantees over real sockets (issue 5 "Done means"; API.md
 * "Message ids grow strictly across the server … Within a room every
 * connection sees messages in id order", `join` with `since`, drain):
 *
 * - many concurrent senders: every connection sees every message once, ids strictly increasing;
 * - a dropped connection resumes with `since` and loses nothing;
 * - a drain commits (acks) what was queued, then says going_away, then closes with 1001.
 */
import { expect } from 'chai';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { CHAT_TEST_CONFIG, ChatClient, ClientPool, api, freshRoom, registerUser, sleep, waitUntil, type Msg } from '../helpers/chat-client.js';

describe('chat delivery: ordering, resume, drain', function () {
  this.timeout(30_000);
  let live: LiveServer;
  const pool = new ClientPool(() => live.port);

  before(async () => {
    live = await startServer(CHAT_TEST_CONFIG, { app: true });
  });
  after(async () => {
    pool.closeAll();
    await live.close();
  });
  afterEach(() => pool.closeAll());

  async function metrics(): Promise<string> {
    const res = await api(live.port, 'GET', '/metrics');
    expect(res.status).to.equal(200);
    return res.text;
  }

  async function users(n: number): Promise<{ username: string; token: string; c: ChatClient }[]> {
    return Promise.all(
      Array.from({ length: n }, async () => {
        const a = await registerUser(live.port);
        return { username: a.username, token: a.token, c: await pool.open(a.token) };
      }),
    );
  }

  it('5 concurrent senders × 100 messages: every member connection sees all 500 once, ids strictly increasing', async () => {
    const SENDERS = 5;
    const EACH = 100;
    const senders = await users(SENDERS);
    const [listener] = await users(1);
    const room = freshRoom('order');
    await senders[0]!.c.request({ type: 'create_room', room });
    for (const s of [...senders.slice(1), listener!]) expect((await s.c.request({ type: 'join', room })).type).to.equal('joined');
    const extra = await pool.open(senders[1]!.token); // a second connection of one sender
    const receivers = [...senders.map((s) => s.c), listener!.c, extra];
    const total = SENDERS * EACH;

    // All at once: each sender writes its 100 sends without waiting, interleaved across senders.
    for (let i = 0; i < EACH; i++) {
      for (const [k, s] of senders.entries()) s.c.send({ type: 'send', room, text: `s${k} n${i}`, ref: `s${k}-${i}` });
    }
    const acks = new Map<string, number>();
    await Promise.all(
      senders.map(async (s, k) => {
        const got = await s.c.take(EACH, (m) => m.type === 'ack' || m.type === 'error', 20_000);
        got.forEach((a, i) => {
          expect(a, JSON.stringify(a)).to.include({ type: 'ack', ref: `s${k}-${i}` }); // acks in the order sent
          acks.set(`s${k} n${i}`, a.id);
        });
      }),
    );
    expect(new Set(acks.values()).size).to.equal(total);

    for (const [r, c] of receivers.entries()) {
      const msgs = await c.take(total, (m) => m.type === 'message', 20_000);
      const ids = msgs.map((m) => m.id as number);
      for (let i = 1; i < ids.length; i++) expect(ids[i], `receiver ${r} at ${i}`).to.be.greaterThan(ids[i - 1]!);
      expect(new Set(msgs.map((m) => m.text)).size).to.equal(total);
      for (const m of msgs) expect(m.id, m.text).to.equal(acks.get(m.text));
      // each sender's own messages keep its order
      for (let k = 0; k < SENDERS; k++) {
        const mine = msgs.filter((m) => m.text.startsWith(`s${k} `)).map((m) => m.text);
        expect(mine).to.deep.equal(Array.from({ length: EACH }, (_, i) => `s${k} n${i}`));
      }
      await sleep(0);
      expect(c.drainQueue((m) => m.type === 'message')).to.deep.equal([]);
    }
    const h = await listener!.c.request({ type: 'history', room, limit: 100 });
    expect((h.messages as Msg[]).map((m) => m.id)).to.deep.equal([...acks.values()].sort((x, y) => x - y).slice(-100));
  });

  /**
   * Pages `join … since` until has_more is false; returns every message, and
   * checks each page is in id order and starts after the one before.
   */
  async function resume(c: ChatClient, room: string, since: number): Promise<Msg[]> {
    const out: Msg[] = [];
    for (let pages = 0; pages < 100; pages++) {
      const r = await c.request({ type: 'join', room, since });
      expect(r.type, JSON.stringify(r)).to.equal('joined');
      const msgs = r.messages as Msg[];
      expect(msgs.length).to.be.at.most(50);
      for (const m of msgs) {
        expect(m.id).to.be.greaterThan(since);
        since = m.id;
      }
      out.push(...msgs);
      if (!r.has_more) return out;
      expect(msgs).to.have.length(50);
    }
    throw new Error('has_more never ended');
  }

  it('a dropped connection resumes with join since = the last id received: nothing lost, nothing twice', async () => {
    const [reader, w1, w2] = await users(3);
    const room = freshRoom('resume');
    await reader!.c.request({ type: 'create_room', room });
    for (const w of [w1!, w2!]) await w.c.request({ type: 'join', room });
    const acked: number[] = [];
    const writer = async (w: { c: ChatClient }, tag: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const a = await w.c.request({ type: 'send', room, text: `${tag} ${i}` });
        expect(a.type).to.equal('ack');
        acked.push(a.id);
        if (i % 10 === 0) await sleep(1);
      }
    };
    // 1. the reader receives a first stretch live
    await Promise.all([writer(w1!, 'a', 20), writer(w2!, 'b', 20)]);
    const live1 = await reader!.c.take(40, (m) => m.type === 'message');
    const lastSeen = live1.at(-1)!.id as number;
    // 2. its connection is cut while the others keep sending (more than two pages' worth)
    reader!.c.cut();
    await Promise.all([writer(w1!, 'c', 60), writer(w2!, 'd', 60)]);
    // 3. it comes back and resumes
    const again = await pool.open(reader!.token);
    const resumed = await resume(again, room, lastSeen);
    const seen = [...live1, ...resumed].map((m) => m.id as number);
    expect(new Set(seen).size, 'no duplicates').to.equal(seen.length);
    expect([...seen].sort((x, y) => x - y)).to.deep.equal([...acked].sort((x, y) => x - y));
    expect(resumed.length).to.equal(120);
  });

  it('resume while the others keep sending: joined pages and live messages together hold every message, each page in order', async () => {
    const [reader, w1] = await users(2);
    const room = freshRoom('resume2');
    await reader!.c.request({ type: 'create_room', room });
    await w1!.c.request({ type: 'join', room });
    const acked: number[] = [];
    let sending = true;
    const writer = (async () => {
      let i = 0;
      while (sending) {
        const a = await w1!.c.request({ type: 'send', room, text: `w ${i++}` });
        acked.push(a.id);
      }
    })();
    await waitUntil(() => acked.length >= 30, 10_000, '30 acks');
    const first = reader!.c.drainQueue((m) => m.type === 'message');
    expect(first.length).to.be.greaterThan(0);
    const lastSeen = first.at(-1)!.id as number;
    reader!.c.cut();
    await waitUntil(() => acked.length >= 150, 10_000, '150 acks');
    const again = await pool.open(reader!.token);
    const resumed = await resume(again, room, lastSeen);
    await waitUntil(() => acked.length >= resumed.length + 40, 10_000, '40 more acks');
    sending = false;
    await writer;
    const lastAck = acked.at(-1)!;
    await again.next((m) => m.type === 'message' && m.id === lastAck);
    const liveAfter = again.log.filter((m) => m.type === 'message');
    const ids = new Set([...first, ...resumed, ...liveAfter].map((m) => m.id as number));
    expect([...ids].sort((x, y) => x - y)).to.deep.equal([...acked].sort((x, y) => x - y));
    // live messages on the new connection are in id order, and each was either in a page or after it
    const liveIds = liveAfter.map((m) => m.id as number);
    for (let i = 1; i < liveIds.length; i++) expect(liveIds[i]).to.be.greaterThan(liveIds[i - 1]!);
  });

  it('a client that cannot keep up is closed with 4008 (typing dropped first) and resumes with since, losing nothing', async () => {
    const [reader, writer] = await users(2);
    const room = freshRoom('slow');
    await reader!.c.request({ type: 'create_room', room });
    await writer!.c.request({ type: 'join', room });
    reader!.c.ws.pause(); // stop reading: the server's buffer for it grows
    const slowConsumers = async () => Number(/^chat_ws_slow_consumers_total (\d+)$/m.exec(await metrics())?.[1] ?? 0);
    const before = await slowConsumers();
    let after = before;
    const acked: number[] = [];
    let typings = 0;
    const big = 'x'.repeat(live.server.currentConfig.max_text_chars - 10);
    for (let batch = 0; batch < 40; batch++) {
      for (let i = 0; i < 100; i++) {
        writer!.c.send({ type: 'send', room, text: `${batch}/${i} ${big}`, ref: `b${batch}-${i}` });
        if (i % 5 === 0) {
          writer!.c.send({ type: 'typing', room });
          typings += 1;
        }
      }
      const acks = await writer!.c.take(100, (m) => m.type === 'ack' || m.type === 'error', 10_000);
      for (const a of acks) {
        expect(a.type).to.equal('ack');
        acked.push(a.id);
      }
      writer!.c.drainQueue();
      after = await slowConsumers();
      if (after > before) break;
    }
    expect(after, 'the reader was closed as a slow consumer').to.equal(before + 1);
    reader!.c.ws.resume();
    expect((await reader!.c.closed(10_000)).code).to.equal(4008);
    const got = reader!.c.log.filter((m) => m.type === 'message');
    const gotTypings = reader!.c.log.filter((m) => m.type === 'typing').length;
    expect(gotTypings, 'typing notices were dropped while it was behind').to.be.below(typings);
    const ids = got.map((m) => m.id as number);
    expect(ids).to.deep.equal(acked.slice(0, ids.length)); // a prefix, in order
    expect(ids.length).to.be.below(acked.length);
    const again = await pool.open(reader!.token);
    const rest = await resume(again, room, ids.at(-1) ?? 0);
    expect([...ids, ...rest.map((m) => m.id as number)]).to.deep.equal(acked);
  });

  it('drain: a send queued just before is acked, then going_away {reconnect_after_ms}, then close 1001 — on every WebSocket', async () => {
    const own = await startServer(CHAT_TEST_CONFIG, { app: true });
    const clients: ChatClient[] = [];
    try {
      const mk = async () => {
        const a = await registerUser(own.port);
        const c = await ChatClient.open(own.port, a.token);
        clients.push(c);
        return c;
      };
      const [a, b, idle] = [await mk(), await mk(), await mk()];
      const room = freshRoom('drain');
      await a.request({ type: 'create_room', room });
      await b.request({ type: 'join', room });
      // Start the drain right after the server queued a's send for the group commit, before that commit ran.
      const service = own.app!.chat.service();
      const enqueue = service.commits.enqueue.bind(service.commits);
      let draining: Promise<void> | null = null;
      service.commits.enqueue = (send) => {
        enqueue(send);
        expect(service.commits.pending).to.equal(1);
        draining ??= own.server.drain();
      };
      a.send({ type: 'send', room, text: 'last words', ref: 'lw' });
      for (const c of [a, b, idle]) {
        const bye = await c.next((m) => m.type === 'going_away');
        expect(Object.keys(bye).sort()).to.deep.equal(['reconnect_after_ms', 'type']);
        expect(bye.reconnect_after_ms).to.be.a('number').greaterThan(0);
        expect(Number.isInteger(bye.reconnect_after_ms)).to.equal(true);
        expect((await c.closed()).code).to.equal(1001);
      }
      // the ack and the message came before going_away
      const types = a.log.filter((m) => m.ref === 'lw' || m.type === 'message' || m.type === 'going_away').map((m) => m.type);
      expect(types).to.deep.equal(['ack', 'message', 'going_away']);
      expect(b.log.filter((m) => m.type === 'message' || m.type === 'going_away').map((m) => m.type)).to.deep.equal(['message', 'going_away']);
      await draining;
      // committed: it is in the database the drain closed
      const db = new Database(join(own.dataDir, 'chat.db'), { readonly: true });
      try {
        const n = db.prepare('SELECT COUNT(*) FROM messages m JOIN rooms r ON r.id = m.room_id WHERE r.name = ?').pluck().get(room);
        expect(n).to.equal(1);
      } finally {
        db.close();
      }
      // jittered: not every client is told the same delay (three draws from thousands of values)
      const delays = [a, b, idle].map((c) => c.log.find((m) => m.type === 'going_away')!.reconnect_after_ms as number);
      expect(new Set(delays).size).to.be.greaterThan(1);
    } finally {
      for (const c of clients) c.cut();
      await own.close();
    }
  });
});
