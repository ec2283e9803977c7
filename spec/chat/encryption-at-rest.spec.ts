/**
 * Message text encrypted at rest (issue 5; lib/chat/message-crypto.ts), seen
 * from outside: the database files never hold the text, and a row changed
 * behind the server's back — a flipped byte, or sealed text moved to another
 * message — is refused: left out of history and join, logged, counted.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { CHAT_TEST_CONFIG, ChatClient, api, freshRoom, registerUser, type Msg } from '../helpers/chat-client.js';

describe('chat: message text encrypted at rest', function () {
  this.timeout(20_000);
  let live: LiveServer;
  let c: ChatClient;
  before(async () => {
    live = await startServer(CHAT_TEST_CONFIG, { app: true });
    const a = await registerUser(live.port);
    c = await ChatClient.open(live.port, a.token);
  });
  after(async () => {
    c.cut();
    await live.close();
  });

  /** The bytes of the database and its write-ahead log, where the newest commits are. */
  function databaseBytes(): Buffer {
    const base = join(live.dataDir, 'chat.db');
    return Buffer.concat([base, `${base}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p)));
  }

  it('the database files hold the room name but never the message text', async () => {
    const room = freshRoom('AtRestRoom');
    await c.request({ type: 'create_room', room });
    const secret = `ZebraQuokka-${randomBytes(8).toString('hex')}`;
    const ack = await c.request({ type: 'send', room, text: `the password is ${secret}` });
    expect(ack.type).to.equal('ack');
    const bytes = databaseBytes();
    expect(bytes.includes(Buffer.from(room, 'utf8')), 'the search finds plaintext columns').to.equal(true);
    expect(bytes.includes(Buffer.from(secret, 'utf8'))).to.equal(false);
    expect(bytes.includes(Buffer.from(secret, 'utf16le'))).to.equal(false);
    expect(bytes.includes(Buffer.from(secret.slice(0, 11), 'utf8'))).to.equal(false);
    // and the server still reads it back
    const h = await c.request({ type: 'history', room });
    expect((h.messages as Msg[]).map((m) => m.text)).to.deep.equal([`the password is ${secret}`]);
  });

  it('refuses a row whose sealed bytes were changed, or moved to another message: not delivered, logged', async () => {
    const room = freshRoom('tamper');
    await c.request({ type: 'create_room', room });
    const ids: number[] = [];
    for (const text of ['one', 'two', 'three', 'four', 'five']) ids.push((await c.request({ type: 'send', room, text })).id);
    const [, flipped, swapA, swapB] = ids as [number, number, number, number, number];

    // Behind the running server's back, as an attacker with the file would.
    const db = new Database(join(live.dataDir, 'chat.db'));
    try {
      db.pragma('busy_timeout = 5000');
      const get = db.prepare('SELECT sealed FROM messages WHERE id = ?').pluck();
      const set = db.prepare('UPDATE messages SET sealed = ? WHERE id = ?');
      const row = Buffer.from(get.get(flipped) as Buffer);
      row[row.length - 20]! ^= 0x01; // a ciphertext byte
      expect(set.run(row, flipped).changes).to.equal(1);
      const a = get.get(swapA) as Buffer;
      const b = get.get(swapB) as Buffer;
      set.run(b, swapA);
      set.run(a, swapB);
    } finally {
      db.close();
    }

    const h = await c.request({ type: 'history', room });
    expect((h.messages as Msg[]).map((m) => m.text)).to.deep.equal(['one', 'five']);
    const j = await c.request({ type: 'join', room, since: 0 });
    expect((j.messages as Msg[]).map((m) => m.id)).to.deep.equal([ids[0], ids[4]]);
    for (const m of [...(h.messages as Msg[]), ...(j.messages as Msg[])]) expect(['one', 'five']).to.include(m.text);

    const refused = live.logLines.map((l) => JSON.parse(l) as Msg).filter((l) => /failed authentication/.test(String(l.msg)));
    expect(refused.map((l) => l.message_id)).to.include.members([flipped, swapA, swapB]);
    expect(refused.every((l) => l.level === 'error')).to.equal(true);
    const metrics = await api(live.port, 'GET', '/metrics');
    expect(metrics.status).to.equal(200);
    const counted = /^chat_messages_tampered_total (\d+)$/m.exec(metrics.text);
    expect(counted, 'the tampered counter is exported').to.not.equal(null);
    expect(Number(counted![1])).to.be.at.least(3);
  });
});
