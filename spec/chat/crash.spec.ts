/**
 * "An ack means the message is committed to the database: a crash of the
 * process after the ack loses nothing" (API.md), on the real process: a
 * client keeps sends in flight and records acks; the server is killed with
 * SIGKILL right after some acks arrive; restarted on the same data folder,
 * its history holds every acknowledged message, with its id, text and time.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/live-server.js';
import { ChatClient, api, freshRoom, loginUser, registerUser, type Msg } from '../helpers/chat-client.js';

const SECRET_KEY = 'crash-test-secret-with-at-least-32-bytes!!';

interface Spawned {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly output: () => string;
}

async function spawnServer(dir: string): Promise<Spawned> {
  const conf = join(dir, 'server.conf');
  writeFileSync(
    conf,
    [
      'port = 0',
      `data_dir = ${join(dir, 'data')}`,
      `public_dir = ${join(REPO_ROOT, 'public')}`,
      'password_hash_cost = 14',
      'send_rate_per_second = 10000',
      'send_burst = 10000',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'bin', 'server.js'), '--config', conf], {
    env: { ...process.env, SECRET_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15_000);
    const check = () => {
      const m = /chat server listening on https:\/\/localhost:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`server exited: ${out}`));
    });
  });
  return { child, port, exited, output: () => out };
}

describe('chat durability: an acknowledged message survives kill -9 (real process)', function () {
  this.timeout(40_000);
  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chat-crash-'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('after SIGKILL right after some acks, the restarted server has every acknowledged message in history', async () => {
    const first = await spawnServer(dir);
    children.push(first.child);
    const account = await registerUser(first.port);
    const c = await ChatClient.open(first.port, account.token);
    const room = freshRoom('crash');
    expect((await c.request({ type: 'create_room', room })).type).to.equal('joined');

    // Keep 20 sends in flight; kill the process in the same tick as the 300th ack arrives.
    const KILL_AFTER = 300;
    const IN_FLIGHT = 20;
    const acked = new Map<number, { text: string; ts: string }>();
    const texts = new Map<string, string>();
    let sent = 0;
    const sendOne = () => {
      const ref = `k${sent}`;
      const text = `durable ${sent} ${'é'.repeat(sent % 7)}`;
      texts.set(ref, text);
      sent += 1;
      c.send({ type: 'send', room, text, ref });
    };
    let killedAt = 0;
    const refused: Msg[] = [];
    c.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      if (killedAt > 0) return;
      if (m.type === 'error') {
        refused.push(m);
        first.child.kill('SIGKILL'); // fail fast: every send here should be acked
        killedAt = sent;
        return;
      }
      if (m.type !== 'ack') return;
      acked.set(m.id, { text: texts.get(m.ref)!, ts: m.ts });
      if (acked.size === KILL_AFTER) {
        first.child.kill('SIGKILL');
        killedAt = sent;
        return;
      }
      sendOne();
    });
    for (let i = 0; i < IN_FLIGHT; i++) sendOne();
    const { signal } = await first.exited;
    expect(signal).to.equal('SIGKILL');
    expect(refused).to.deep.equal([]);
    expect(acked.size).to.equal(KILL_AFTER);
    expect(killedAt).to.be.greaterThan(KILL_AFTER); // sends were still in flight when it died
    c.cut();

    // Restart on the same data folder (and the same SECRET_KEY, which keys the at-rest encryption).
    const second = await spawnServer(dir);
    children.push(second.child);
    const token = await loginUser(second.port, account);
    const again = await ChatClient.open(second.port, token);
    const stored = new Map<number, Msg>();
    let before: number | undefined;
    for (let page = 0; page < 20; page++) {
      const h = await again.request({ type: 'history', room, limit: 100, ...(before !== undefined ? { before } : {}) });
      expect(h.type, JSON.stringify(h)).to.equal('history');
      for (const m of h.messages as Msg[]) stored.set(m.id, m);
      if (!h.has_more) break;
      before = (h.messages as Msg[])[0]!.id;
    }
    for (const [id, a] of acked) {
      const m = stored.get(id);
      expect(m, `acknowledged message ${id} is missing`).to.not.equal(undefined);
      expect({ text: m!.text, ts: m!.ts, from: m!.from }).to.deep.equal({ text: a.text, ts: a.ts, from: account.username });
    }
    // Nothing beyond what was sent, and ids keep growing after the restart.
    expect(stored.size).to.be.at.most(killedAt);
    const next = await again.request({ type: 'send', room, text: 'after the crash' });
    expect(next.id).to.be.greaterThan(Math.max(...stored.keys()));
    again.cut();
    const health = await api(second.port, 'GET', '/healthz');
    expect(health.status).to.equal(200);
    second.child.kill('SIGKILL');
    await second.exited;
  });
});
