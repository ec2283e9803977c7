/**
 * The chat benchmark's load generator: a separate process (pinned to the load
 * CPU by the runner) that plays every user of a chat room against one server —
 * ours or the peer, the same code for both — on the runner's orders over IPC
 * (chat-protocol.ts):
 *
 *   register  POST /register for N users over one keep-alive HTTPS client;
 *   connect   one /ws connection per user (chat.v1, `Authorization: Bearer`),
 *             spread over several 127.0.0.x source addresses, each open once
 *             its `hello` arrived;
 *   join      one user creates the room, every user joins it;
 *   load      acked sends by a few of the users, at a fixed offered rate (open
 *             loop) or as fast as every member receives them (closed loop),
 *             while every connection counts what it receives.
 *
 * Every message text is `B<job>.<seq>.xxx…`, so a delivery names its send; the
 * latency of a delivery is its receipt time minus its send time, both read
 * here (one clock). Message frames are recognised without JSON.parse (both
 * servers write `{"type":"message",…` with `"id":` before `"text":"`), which
 * keeps the generator's cost per delivery small and the same for both
 * servers; every other frame is parsed.
 */
import { performance } from 'node:perf_hooks';
import http from 'node:http';
import https from 'node:https';
import WebSocket from 'ws';
import { summarize } from '../lib/stats.js';
import type {
  ChatLoadReply,
  ChatLoadRequest,
  CloseRequest,
  ConnectRequest,
  JoinRequest,
  LoadReply,
  LoadRequest,
  Percentiles,
  RegisterRequest,
} from './chat-protocol.js';

interface Client {
  readonly ws: WebSocket;
  readonly index: number;
  closedCode: number | null;
  /** The id of the last `message` this connection received (API.md: ids grow within a room). */
  lastId: number;
  /** Replies awaited by `ref` (join, create_room). */
  readonly waiters: Map<string, (msg: Record<string, unknown>) => void>;
}

interface Pool {
  readonly tokens: string[];
  readonly clients: Client[];
}

interface Job {
  readonly id: number;
  readonly mode: 'rate' | 'closed';
  readonly members: number;
  readonly capacity: number;
  readonly sendAt: Float64Array;
  readonly senderOf: Uint16Array;
  readonly delivered: Uint32Array;
  readonly lat: Float64Array;
  latCount: number;
  readonly ackLat: Float64Array;
  ackCount: number;
  sent: number;
  acked: number;
  complete: number;
  received: number;
  outOfOrder: number;
  errorFrames: number;
  errorSample: string | null;
  closed: number;
  closeCodes: number[];
  /** Closed mode: called when message `seq` has reached every member. */
  onComplete: ((seq: number) => void) | null;
}

const pools = new Map<string, Pool>();
let job: Job | null = null;
let jobSerial = 0;
let strayDeliveries = 0;

const MESSAGE_PREFIX = Buffer.from('{"type":"message",');
const PRESENCE_PREFIX = Buffer.from('{"type":"presence",');
const ID_MARK = Buffer.from('"id":');
const TEXT_MARK = Buffer.from('"text":"B');
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Most delivery latencies kept per job (8 bytes each). */
const LATENCY_CAP = 3_000_000;
/** Most sends per closed-loop job. */
const CLOSED_SEND_CAP = 400_000;

function reply(message: ChatLoadReply): void {
  process.send!(message);
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** The decimal number at `pos`, and where it ends; -1 when there are no digits. */
function readInt(data: Buffer, pos: number): { value: number; end: number } {
  let value = 0;
  let end = pos;
  while (end < data.length) {
    const c = data[end]!;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    value = value * 10 + (c - DIGIT_0);
    end++;
  }
  return { value: end === pos ? -1 : value, end };
}

// ── receiving ──────────────────────────────────────────────────────────────

function onFrame(client: Client, data: Buffer): void {
  const now = performance.now();
  if (startsWith(data, MESSAGE_PREFIX)) {
    const idAt = data.indexOf(ID_MARK);
    const textAt = data.indexOf(TEXT_MARK);
    if (idAt < 0 || textAt < 0) {
      strayDeliveries++;
      return;
    }
    const id = readInt(data, idAt + ID_MARK.length).value;
    const jobId = readInt(data, textAt + TEXT_MARK.length);
    const seq = readInt(data, jobId.end + 1).value;
    onDelivery(client, id, jobId.value, seq, now);
    return;
  }
  if (startsWith(data, PRESENCE_PREFIX)) return; // presence of other users: not measured
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
  } catch {
    strayDeliveries++;
    return;
  }
  switch (msg.type) {
    case 'message': {
      // A server that orders its fields differently still works, at JSON.parse's cost.
      const m = /^B(\d+)\.(\d+)\./.exec(String(msg.text));
      onDelivery(client, Number(msg.id), m ? Number(m[1]) : -1, m ? Number(m[2]) : -1, now);
      return;
    }
    case 'ack': {
      const j = job;
      const ref = String(msg.ref ?? '');
      const dot = ref.indexOf('.');
      if (j && dot > 0 && Number(ref.slice(0, dot)) === j.id) {
        const seq = Number(ref.slice(dot + 1));
        j.acked++;
        if (j.ackCount < j.ackLat.length) j.ackLat[j.ackCount++] = (now - j.sendAt[seq]!) * 1000;
      }
      return;
    }
    case 'error': {
      const waiter = typeof msg.ref === 'string' ? client.waiters.get(msg.ref) : undefined;
      if (waiter) {
        client.waiters.delete(msg.ref as string);
        waiter(msg);
        return;
      }
      if (job) {
        job.errorFrames++;
        job.errorSample ??= JSON.stringify(msg).slice(0, 200);
      }
      return;
    }
    default: {
      const waiter = typeof msg.ref === 'string' ? client.waiters.get(msg.ref) : undefined;
      if (waiter) {
        client.waiters.delete(msg.ref as string);
        waiter(msg);
      }
      if (msg.type === 'hello') client.waiters.get('hello')?.(msg);
    }
  }
}

function onDelivery(client: Client, id: number, jobId: number, seq: number, now: number): void {
  const j = job;
  if (j && id <= client.lastId) j.outOfOrder++;
  client.lastId = id;
  if (!j || jobId !== j.id || seq < 0 || seq >= j.sent) {
    strayDeliveries++;
    return;
  }
  j.received++;
  if (j.latCount < LATENCY_CAP) j.lat[j.latCount++] = (now - j.sendAt[seq]!) * 1000;
  if (++j.delivered[seq]! === j.members) {
    j.complete++;
    j.onComplete?.(seq);
  }
}

// ── register ───────────────────────────────────────────────────────────────

function postJson(agent: http.Agent, origin: string, path: string, body: unknown, source: string): Promise<{ status: number; headers: Record<string, unknown>; json: Record<string, unknown> | null }> {
  const payload = JSON.stringify(body);
  const url = new URL(path, origin);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        localAddress: source,
        ...(url.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: Record<string, unknown> | null = null;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

async function register(req: RegisterRequest): Promise<void> {
  const started = performance.now();
  const pool: Pool = pools.get(req.pool) ?? { tokens: [], clients: [] };
  pools.set(req.pool, pool);
  const agent = new (req.origin.startsWith('https:') ? https : http).Agent({ keepAlive: true, maxSockets: req.concurrency });
  const errors = new Set<string>();
  let next = 0;
  let failed = 0;
  let retried = 0;
  const worker = async () => {
    while (next < req.count) {
      const i = next++;
      const username = `${req.prefix}${i}`;
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await postJson(agent, req.origin, '/register', { username, password: req.password }, req.source);
          if (res.status === 201 && typeof res.json?.token === 'string') {
            pool.tokens[i] = res.json.token;
            break;
          }
          if (res.status === 429 && attempt < 30) {
            retried++;
            const wait = Math.min(5, Number(res.headers['retry-after']) || 1);
            await new Promise((r) => setTimeout(r, wait * 1000));
            continue;
          }
          throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.json).slice(0, 120)}`);
        } catch (err) {
          const message = (err as Error).message;
          // A keep-alive connection the server closed just as we reused it: try again.
          if (attempt < 3 && /ECONNRESET|socket hang up/.test(message)) continue;
          failed++;
          if (errors.size < 5) errors.add(message);
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.count) }, worker));
  agent.destroy();
  reply({ type: 'registered', id: req.id, registered: req.count - failed, failed, retried, ms: performance.now() - started, errors: [...errors] });
}

// ── connect ────────────────────────────────────────────────────────────────

function openOne(url: string, token: string, index: number, localAddress: string, timeoutMs: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['chat.v1'], {
      headers: { Authorization: `Bearer ${token}` },
      localAddress,
      rejectUnauthorized: false,
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      skipUTF8Validation: true,
    });
    const client: Client = { ws, index, closedCode: null, lastId: 0, waiters: new Map() };
    const timer = setTimeout(() => fail(new Error('no hello in time')), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(err);
    };
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode} instead of 101`)));
    ws.once('open', () => {
      ws.off('error', fail);
      ws.on('error', () => {}); // the 'close' that follows is what we count
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) onFrame(client, data);
      });
      ws.once('close', (code) => {
        client.closedCode = code;
        if (job) {
          job.closed++;
          if (job.closeCodes.length < 16) job.closeCodes.push(code);
        }
      });
      client.waiters.set('hello', () => {
        client.waiters.delete('hello');
        clearTimeout(timer);
        resolve(client);
      });
    });
  });
}

async function connect(req: ConnectRequest): Promise<void> {
  const started = performance.now();
  const pool = pools.get(req.pool);
  if (!pool) throw new Error(`no pool ${req.pool}`);
  const errors = new Set<string>();
  let next = req.from;
  let failed = 0;
  const worker = async () => {
    while (next < req.to) {
      const i = next++;
      const token = pool.tokens[i];
      if (token === undefined) {
        failed++;
        errors.add(`user ${i} has no token`);
        continue;
      }
      try {
        pool.clients.push(await openOne(req.url, token, i, req.sources[i % req.sources.length]!, req.timeoutMs));
      } catch (err) {
        failed++;
        if (errors.size < 5) errors.add((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.to - req.from) }, worker));
  reply({ type: 'connected', id: req.id, opened: req.to - req.from - failed, failed, ms: performance.now() - started, errors: [...errors] });
}

// ── join ───────────────────────────────────────────────────────────────────

function request(client: Client, ref: string, message: Record<string, unknown>, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.waiters.delete(ref);
      reject(new Error(`no answer to ${String(message.type)} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.waiters.set(ref, (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
    client.ws.send(JSON.stringify({ ...message, ref }));
  });
}

async function joinAll(req: JoinRequest): Promise<void> {
  const started = performance.now();
  const clients = (pools.get(req.pool)?.clients ?? []).filter((c) => c.closedCode === null);
  if (clients.length === 0) throw new Error(`pool ${req.pool} has no open connections`);
  const errors = new Set<string>();
  let failed = 0;
  let lastMemberCount = 0;
  const created = await request(clients[0]!, 'create', { type: 'create_room', room: req.room });
  if (created.type !== 'joined' && created.code !== 'room_exists') throw new Error(`create_room answered ${JSON.stringify(created).slice(0, 200)}`);
  let next = 1;
  const worker = async () => {
    while (next < clients.length) {
      const c = clients[next++]!;
      try {
        const r = await request(c, 'join', { type: 'join', room: req.room });
        if (r.type !== 'joined') throw new Error(`join answered ${JSON.stringify(r).slice(0, 200)}`);
        lastMemberCount = (r.members as unknown[]).length;
      } catch (err) {
        failed++;
        if (errors.size < 5) errors.add((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, clients.length) }, worker));
  reply({ type: 'joined', id: req.id, joined: clients.length - failed, failed, ms: performance.now() - started, lastMemberCount, errors: [...errors] });
}

// ── load ───────────────────────────────────────────────────────────────────

function percentiles(values: Float64Array): Percentiles {
  const s = summarize(values);
  return { count: s.count, p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999, max: s.max, mean: s.mean };
}

async function load(req: LoadRequest): Promise<void> {
  const clients = (pools.get(req.pool)?.clients ?? []).filter((c) => c.closedCode === null);
  if (clients.length < req.senders) throw new Error(`pool ${req.pool} has ${clients.length} open connections, fewer than ${req.senders} senders`);
  const senders = clients.slice(0, req.senders);
  const capacity = req.mode === 'rate' ? Math.ceil(req.rate * req.seconds) + 1 : CLOSED_SEND_CAP;
  const id = ++jobSerial;
  const j: Job = {
    id,
    mode: req.mode,
    members: clients.length,
    capacity,
    sendAt: new Float64Array(capacity),
    senderOf: new Uint16Array(capacity),
    delivered: new Uint32Array(capacity),
    lat: new Float64Array(Math.min(LATENCY_CAP, capacity * clients.length)),
    latCount: 0,
    ackLat: new Float64Array(capacity),
    ackCount: 0,
    sent: 0,
    acked: 0,
    complete: 0,
    received: 0,
    outOfOrder: 0,
    errorFrames: 0,
    errorSample: null,
    closed: 0,
    closeCodes: [],
    onComplete: null,
  };
  const filler = 'x'.repeat(Math.max(0, req.textChars));
  const roomJson = JSON.stringify(req.room);
  const send = (senderIndex: number): void => {
    const sender = senders[senderIndex]!;
    if (sender.closedCode !== null || j.sent >= j.capacity) return;
    const seq = j.sent++;
    const head = `B${id}.${seq}.`;
    const text = head + filler.slice(head.length);
    j.senderOf[seq] = senderIndex;
    j.sendAt[seq] = performance.now();
    sender.ws.send(`{"type":"send","ref":"${id}.${seq}","room":${roomJson},"text":"${text}"}`);
  };

  job = j;
  const strayBefore = strayDeliveries;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let maxLag = 0;
  let snapshot = { acked: 0, received: 0, at: start };
  if (req.mode === 'rate') {
    const total = capacity - 1;
    let slot = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - start) * req.rate) / 1000));
        // How late the oldest due send goes out: slot k is due once k + 1 slots of time have passed.
        if (slot < due) maxLag = Math.max(maxLag, now - start - ((slot + 1) * 1000) / req.rate);
        while (slot < due) send(slot++ % senders.length);
        if (slot >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    snapshot = { acked: j.acked, received: j.received, at: performance.now() };
  } else {
    const end = start + req.seconds * 1000;
    j.onComplete = (seq) => {
      if (performance.now() < end) send(j.senderOf[seq]!);
    };
    for (let w = 0; w < req.window; w++) for (let s = 0; s < senders.length; s++) send(s);
    await new Promise((r) => setTimeout(r, req.seconds * 1000));
    snapshot = { acked: j.acked, received: j.received, at: performance.now() };
    j.onComplete = null;
  }
  const sendPhaseMs = snapshot.at - start;
  // The last deliveries (or give up after drainMs: lost ones are reported, not hidden).
  const deadline = performance.now() + req.drainMs;
  while ((j.complete < j.sent || j.acked < j.sent) && performance.now() < deadline && clients.some((c) => c.closedCode === null)) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const jobMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  job = null;
  const result: LoadReply = {
    type: 'loaded',
    id: req.id,
    members: j.members,
    sent: j.sent,
    acked: j.acked,
    complete: j.complete,
    deliveriesExpected: j.sent * j.members,
    deliveriesReceived: j.received,
    stray: strayDeliveries - strayBefore,
    outOfOrder: j.outOfOrder,
    errorFrames: j.errorFrames,
    errorSample: j.errorSample,
    closedDuringRun: j.closed,
    closeCodes: j.closeCodes,
    delivery: percentiles(j.lat.subarray(0, j.latCount)),
    ack: percentiles(j.ackLat.subarray(0, j.ackCount)),
    achievedSendRate: (j.sent * 1000) / sendPhaseMs,
    ackedPerSecond: (snapshot.acked * 1000) / sendPhaseMs,
    deliveriesPerSecond: (snapshot.received * 1000) / sendPhaseMs,
    sendPhaseMs,
    jobMs,
    maxSendLagMs: maxLag,
    generatorCpuShare: (cpu.user + cpu.system) / 1000 / jobMs,
  };
  reply(result);
}

// ── close ──────────────────────────────────────────────────────────────────

/** Drop every connection of the pool; its users' tokens stay, for another `connect`. */
function close(req: CloseRequest): void {
  const pool = pools.get(req.pool);
  let closed = 0;
  for (const c of pool?.clients ?? []) {
    if (c.closedCode === null) closed++;
    c.ws.terminate();
  }
  if (pool) pool.clients.length = 0;
  reply({ type: 'closed', id: req.id, closed });
}

process.on('message', (raw) => {
  const req = raw as ChatLoadRequest;
  const run = async () => {
    switch (req.type) {
      case 'register':
        return register(req);
      case 'connect':
        return connect(req);
      case 'join':
        return joinAll(req);
      case 'load':
        return load(req);
      case 'close':
        return close(req);
    }
  };
  run().catch((err: unknown) => reply({ type: 'error', id: req.id, message: err instanceof Error ? err.message : String(err) }));
});
// The runner is gone: so are we.
process.on('disconnect', () => process.exit(0));
