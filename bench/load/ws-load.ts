/**
 * The load generator: a separate process (pinned to the load CPU by the
 * runner) that opens WebSocket connections with the `ws` package and drives
 * them on the runner's orders, received over IPC (see protocol.ts). The same
 * generator drives our server and the peer, so any cost of the client is the
 * same on both sides; the runner measures only the server process.
 *
 * Echo load at a fixed offered rate: a 1 ms tick sends every message that is
 * due by the clock (rate × elapsed), round-robin over the pool's connections,
 * so the offered rate does not depend on how fast echoes come back (an open
 * loop). Each message is a distinct text, and its echo is checked byte for
 * byte against what was sent on that connection, in order.
 *
 * Broadcast load: one connection sends at a fixed rate (the same 1 ms tick);
 * every connection of the pool receives each message; each delivery is
 * checked (bytes, and order per receiver) and timed from its send.
 *
 * Handshakes: bare TLS connections (node:tls), opened, handshaken and closed,
 * optionally offering a session ticket so the server can resume.
 */
import { performance } from 'node:perf_hooks';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import { summarize } from '../lib/stats.js';
import type {
  BroadcastReply,
  BroadcastRequest,
  CloseRequest,
  EchoReply,
  EchoRequest,
  HandshakeReply,
  HandshakeRequest,
  LoadReply,
  LoadRequest,
  OpenRequest,
} from './protocol.js';

interface Sent {
  readonly text: string;
  readonly at: number;
}

interface Client {
  readonly ws: WebSocket;
  /** Messages sent and not yet echoed, oldest first (an echo server answers in order). */
  readonly pending: Sent[];
  pendingHead: number;
  closedCode: number | null;
  /** Broadcast: the sequence number of the last message this connection received. */
  lastSeq: number;
}

/** The running echo job's hooks, or null between jobs. */
interface EchoJob {
  received: number;
  wrong: number;
  wrongSample: string | null;
  closed: number;
  closeCodes: number[];
  rtts: Float64Array;
  rttCount: number;
}

/** The running broadcast job, or null. */
interface BroadcastJob {
  readonly filler: string;
  /** Send time of each sequence number (performance.now(), ms). */
  readonly sentAt: Float64Array;
  received: number;
  wrong: number;
  wrongSample: string | null;
  closed: number;
  closeCodes: number[];
  latencies: Float64Array;
  latencyCount: number;
}

const pools = new Map<string, Client[]>();
let job: EchoJob | null = null;
let broadcastJob: BroadcastJob | null = null;

function reply(message: LoadReply): void {
  process.send!(message);
}

function onMessage(client: Client, data: WebSocket.RawData, isBinary: boolean): void {
  if (broadcastJob !== null) {
    onBroadcast(broadcastJob, client, data as Buffer, isBinary);
    return;
  }
  const now = performance.now();
  const j = job;
  if (!j) return; // an echo that arrived after its job timed out
  const expected = client.pending[client.pendingHead];
  if (expected === undefined) {
    j.wrong++;
    j.wrongSample ??= `unexpected message (nothing pending): ${String(data).slice(0, 80)}`;
    return;
  }
  client.pendingHead++;
  if (client.pendingHead > 1024) {
    client.pending.splice(0, client.pendingHead);
    client.pendingHead = 0;
  }
  const text = isBinary ? null : (data as Buffer).toString('utf8');
  if (text !== expected.text) {
    j.wrong++;
    j.wrongSample ??= `sent ${JSON.stringify(expected.text.slice(0, 40))}…, got ${isBinary ? 'a binary message' : JSON.stringify((text ?? '').slice(0, 40))}…`;
  }
  j.received++;
  if (j.rttCount < j.rtts.length) j.rtts[j.rttCount++] = (now - expected.at) * 1000;
}

function openOne(url: string, localAddress: string, timeoutMs: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress, rejectUnauthorized: false, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const client: Client = { ws, pending: [], pendingHead: 0, closedCode: null, lastSeq: -1 };
    const fail = (err: Error) => {
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
      ws.on('message', (data, isBinary) => onMessage(client, data, isBinary));
      ws.once('close', (code) => {
        client.closedCode = code;
        const j = job ?? broadcastJob;
        if (j) {
          j.closed++;
          if (j.closeCodes.length < 16) j.closeCodes.push(code);
        }
      });
      resolve(client);
    });
  });
}

async function open(req: OpenRequest): Promise<void> {
  const started = performance.now();
  const pool = pools.get(req.pool) ?? [];
  pools.set(req.pool, pool);
  const errors = new Set<string>();
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < req.count) {
      const i = next++;
      try {
        pool.push(await openOne(req.url, req.sources[i % req.sources.length]!, req.timeoutMs));
      } catch (err) {
        failed++;
        if (errors.size < 5) errors.add((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.count) }, worker));
  reply({ type: 'opened', id: req.id, opened: req.count - failed, failed, ms: performance.now() - started, errors: [...errors] });
}

const TICK_MS = 1;

async function echo(req: EchoRequest): Promise<void> {
  const clients = (pools.get(req.pool) ?? []).filter((c) => c.closedCode === null);
  if (clients.length === 0) throw new Error(`pool ${req.pool} has no open connections`);
  const total = Math.round(req.rate * req.seconds);
  const j: EchoJob = { received: 0, wrong: 0, wrongSample: null, closed: 0, closeCodes: [], rtts: new Float64Array(total), rttCount: 0 };
  for (const c of clients) {
    c.pending.length = 0;
    c.pendingHead = 0;
  }
  job = j;
  const filler = 'x'.repeat(req.payloadBytes);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let sent = 0; // slots of the schedule passed
  let issued = 0; // messages actually sent (a slot whose connection closed sends nothing)
  let maxLag = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * req.rate) / 1000));
      if (due - sent > 1) maxLag = Math.max(maxLag, ((due - sent - 1) * 1000) / req.rate);
      while (sent < due) {
        const client = clients[sent % clients.length]!;
        if (client.closedCode === null) {
          const tag = `${sent}:`;
          const text = tag + filler.slice(tag.length);
          client.pending.push({ text, at: performance.now() });
          client.ws.send(text);
          issued++;
        }
        sent++;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  const sendEnd = performance.now();
  // Wait for the last echoes (or give up after drainMs: lost echoes are reported, not hidden).
  const deadline = sendEnd + req.drainMs;
  while (j.received < issued && performance.now() < deadline && clients.some((c) => c.closedCode === null)) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = performance.now() - start;
  job = null;
  const rtt = summarize(j.rtts.subarray(0, j.rttCount));
  const result: EchoReply = {
    type: 'echoed',
    id: req.id,
    sent: issued,
    received: j.received,
    wrong: j.wrong,
    wrongSample: j.wrongSample,
    closedDuringRun: j.closed,
    closeCodes: j.closeCodes,
    rtt: { p50: rtt.p50, p90: rtt.p90, p99: rtt.p99, p999: rtt.p999, max: rtt.max, mean: rtt.mean },
    achievedRate: (issued * 1000) / (sendEnd - start),
    maxSendLagMs: maxLag,
    generatorCpuShare: (cpu.user + cpu.system) / 1000 / elapsedMs,
  };
  reply(result);
}

/** The text of broadcast message `seq`: its number, a colon, filler up to the payload size. */
function broadcastText(seq: number, filler: string): string {
  const tag = `${seq}:`;
  return tag + filler.slice(tag.length);
}

function onBroadcast(j: BroadcastJob, client: Client, data: Buffer, isBinary: boolean): void {
  const now = performance.now();
  const text = isBinary ? '' : data.toString('latin1'); // the texts are ASCII
  const seq = Number.parseInt(text, 10);
  const expected = Number.isInteger(seq) && seq >= 0 && seq < j.sentAt.length ? broadcastText(seq, j.filler) : null;
  if (expected === null || text !== expected || seq <= client.lastSeq) {
    j.wrong++;
    j.wrongSample ??= isBinary
      ? 'a binary message'
      : `got ${JSON.stringify(text.slice(0, 40))}… after #${client.lastSeq}${expected === null ? ' (no such message was sent)' : ''}`;
    return;
  }
  client.lastSeq = seq;
  j.received++;
  if (j.latencyCount < j.latencies.length) j.latencies[j.latencyCount++] = (now - j.sentAt[seq]!) * 1000;
}

async function broadcast(req: BroadcastRequest): Promise<void> {
  const clients = (pools.get(req.pool) ?? []).filter((c) => c.closedCode === null);
  if (clients.length === 0) throw new Error(`pool ${req.pool} has no open connections`);
  const sender = clients[0]!;
  const total = Math.round(req.rate * req.seconds);
  const j: BroadcastJob = {
    filler: 'x'.repeat(req.payloadBytes),
    sentAt: new Float64Array(total),
    received: 0,
    wrong: 0,
    wrongSample: null,
    closed: 0,
    closeCodes: [],
    latencies: new Float64Array(total * clients.length),
    latencyCount: 0,
  };
  for (const c of clients) c.lastSeq = -1;
  broadcastJob = j;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let sent = 0;
  let maxLag = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * req.rate) / 1000));
      if (due - sent > 1) maxLag = Math.max(maxLag, ((due - sent - 1) * 1000) / req.rate);
      while (sent < due && sender.closedCode === null) {
        j.sentAt[sent] = performance.now();
        sender.ws.send(broadcastText(sent, j.filler));
        sent++;
      }
      if (sent >= total || sender.closedCode !== null) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  const expected = sent * clients.length;
  const deadline = performance.now() + req.drainMs;
  while (j.received + j.wrong < expected && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = performance.now() - start;
  broadcastJob = null;
  const lat = summarize(j.latencies.subarray(0, j.latencyCount));
  const result: BroadcastReply = {
    type: 'broadcasted',
    id: req.id,
    receivers: clients.length,
    sent,
    deliveriesExpected: expected,
    deliveriesReceived: j.received,
    wrong: j.wrong,
    wrongSample: j.wrongSample,
    closedDuringRun: j.closed,
    closeCodes: j.closeCodes,
    latency: { p50: lat.p50, p90: lat.p90, p99: lat.p99, p999: lat.p999, max: lat.max, mean: lat.mean },
    maxSendLagMs: maxLag,
    generatorCpuShare: (cpu.user + cpu.system) / 1000 / elapsedMs,
  };
  reply(result);
}

/** A TCP connection to the server from one of our 127.0.0.x source addresses (node:tls's own options have no localAddress). */
function tcpFrom(req: HandshakeRequest, localAddress: string) {
  return netConnect({ host: req.host, port: req.port, localAddress });
}

/**
 * One TLS connection: handshake, then close_notify and FIN. Resolves whether
 * the server resumed the offered session; `onSession` receives the tickets the
 * server sends (TLS 1.3 sends them after the handshake, RFC 8446 §4.6.1).
 */
function handshakeOnce(req: HandshakeRequest, localAddress: string, session: Buffer | undefined, onSession: (s: Buffer) => void): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const tcp = tcpFrom(req, localAddress);
    const socket: TLSSocket = tlsConnect({ socket: tcp, rejectUnauthorized: false, session });
    let failure: Error | null = null;
    const fail = (err: Error) => {
      failure ??= err;
      socket.destroy();
    };
    const timer = setTimeout(() => fail(new Error(`no handshake within ${req.timeoutMs} ms`)), req.timeoutMs);
    let secured = false;
    let reused = false;
    socket.on('session', onSession);
    socket.once('secureConnect', () => {
      secured = true;
      reused = socket.isSessionReused();
      socket.end();
    });
    socket.on('data', () => {});
    // An error may surface on the TCP socket (a refused connect) or on the TLS one.
    tcp.once('error', fail);
    socket.once('error', fail);
    socket.once('close', () => {
      clearTimeout(timer);
      // Only a handshake that completed counts, whatever happened after it.
      if (secured) resolve(reused);
      else reject(failure ?? new Error('the connection closed before the handshake completed'));
    });
  });
}

async function handshakes(req: HandshakeRequest): Promise<void> {
  let session: Buffer | undefined;
  if (req.resume) {
    // One full handshake, kept open until the server's ticket arrives.
    session = await new Promise<Buffer>((resolve, reject) => {
      const socket = tlsConnect({ socket: tcpFrom(req, req.sources[0]!), rejectUnauthorized: false });
      const timer = setTimeout(() => socket.destroy(new Error('the server sent no session ticket')), req.timeoutMs);
      socket.once('session', (s: Buffer) => {
        clearTimeout(timer);
        socket.end();
        resolve(s);
      });
      socket.on('data', () => {});
      socket.once('error', reject);
    });
  }
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const errors = new Set<string>();
  let next = 0;
  let completed = 0;
  let failed = 0;
  let resumed = 0;
  const worker = async () => {
    while (next < req.count) {
      const i = next++;
      try {
        // Keep offering the newest ticket, as a client that reconnects would.
        const reused = await handshakeOnce(req, req.sources[i % req.sources.length]!, session, (s) => {
          if (req.resume) session = s;
        });
        completed++;
        if (reused) resumed++;
      } catch (err) {
        failed++;
        if (errors.size < 5) errors.add((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.count) }, worker));
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const result: HandshakeReply = { type: 'handshaken', id: req.id, completed, failed, resumed, ms, errors: [...errors], generatorCpuShare: (cpu.user + cpu.system) / 1000 / ms };
  reply(result);
}

async function close(req: CloseRequest): Promise<void> {
  const pool = pools.get(req.pool) ?? [];
  pools.delete(req.pool);
  let closed = 0;
  for (const c of pool) {
    if (c.closedCode === null) closed++;
    c.ws.terminate();
  }
  reply({ type: 'closed', id: req.id, closed });
}

process.on('message', (raw) => {
  const req = raw as LoadRequest;
  const run =
    req.type === 'open'
      ? open(req)
      : req.type === 'echo'
        ? echo(req)
        : req.type === 'broadcast'
          ? broadcast(req)
          : req.type === 'handshakes'
            ? handshakes(req)
            : close(req);
  run.catch((err: unknown) => reply({ type: 'error', id: req.id, message: err instanceof Error ? err.message : String(err) }));
});
// The runner is gone: so are we.
process.on('disconnect', () => process.exit(0));
