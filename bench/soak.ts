/**
 * The soak (issue 8): the real server process under mixed honest and hostile
 * load for a long time, sampled from outside, failing when memory, open file
 * descriptors or event-loop delay keep growing. Not part of the test suite.
 *
 *   npm run soak -- [--minutes N] [--quick] [--sample-seconds S] [--json PATH]
 *
 * --minutes N      how long the load runs (default 20)
 * --quick          one minute (a smoke run)
 * --sample-seconds every how many seconds to sample (default 5)
 * --json PATH      also write every sample and the verdict as JSON
 *
 * What runs, at once, against one server (`node dist/bin/server.js` with a
 * temporary config and data folder), all over TLS on loopback:
 *
 *   honest   20 chat users (127.0.0.2–21), each sending a message every
 *            ~1.5 s into one room and reading everything; the time from send
 *            to ack is recorded. A /healthz probe every second.
 *   hostile  from 127.0.0.100 and up:
 *            - slowloris heads (60 connections trickling field lines) and
 *              stalled bodies (20), reopened whenever the server cuts them;
 *            - garbage: a connection every 100 ms sending seeded random bytes;
 *            - never-reading WebSockets: echo clients sending 1 MB without
 *              reading, and chat members of the busy room that never read;
 *            - a pipelining client (2,000 requests, never reading) every 10 s;
 *            - a ping flood every 10 s; wrong-password logins (throttled);
 *            - a reconnect storm: 40 WebSockets of one user dropped and
 *              reopened at once every 15 s.
 *
 * Every `--sample-seconds` it reads, for the server process: RSS
 * (/proc/PID/status VmRSS), open file descriptors (/proc/PID/fd), and from
 * /metrics the event-loop delay p99 (chat_event_loop_delay_p99_seconds,
 * over the last minute), the V8 heap and the open connections.
 *
 * Verdict: for each series, the median of the last third of the samples is
 * compared with the median of the middle third (the first third is warm-up).
 * A series "keeps growing" when the last third's median exceeds the middle
 * third's by more than both its relative and its absolute tolerance. Any
 * growing series, a server that dies, or honest users starved (fewer than
 * 95% of their sends acknowledged) is exit status 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench
const DIST = join(HERE, '..');
const REPO_ROOT = join(DIST, '..');

// ─── arguments ──────────────────────────────────────────────────────────────

interface Args {
  readonly minutes: number;
  readonly sampleSeconds: number;
  readonly json: string | null;
}

function parseArgs(argv: readonly string[]): Args {
  let minutes = 20;
  let sampleSeconds = 5;
  let json: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') minutes = 1;
    else if (a === '--minutes') minutes = Number(argv[++i]);
    else if (a === '--sample-seconds') sampleSeconds = Number(argv[++i]);
    else if (a === '--json') json = argv[++i] ?? null;
    else {
      process.stderr.write(`unknown argument ${a}\nusage: npm run soak -- [--minutes N] [--quick] [--sample-seconds S] [--json PATH]\n`);
      process.exit(2);
    }
  }
  if (!(minutes > 0) || !(sampleSeconds > 0)) {
    process.stderr.write('--minutes and --sample-seconds must be positive numbers\n');
    process.exit(2);
  }
  return { minutes, sampleSeconds, json };
}

// ─── small helpers ──────────────────────────────────────────────────────────

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** mulberry32: seeded, so a run's garbage can be replayed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A counter per event name, printed at the end. */
const counts = new Map<string, number>();
function count(name: string, by = 1): void {
  counts.set(name, (counts.get(name) ?? 0) + by);
}

// ─── the server process ─────────────────────────────────────────────────────

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly dir: string;
}

async function startServer(maxLifetimeMs: number): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-soak-'));
  const port = await freePort();
  const conf = [
    'host = 127.0.0.1',
    `port = ${port}`,
    `data_dir = ${join(dir, 'data')}`,
    `public_dir = ${join(REPO_ROOT, 'public')}`,
    'log_level = warn',
    'access_log = off',
    // Cheap hashing: the soak is about the reactor, not scrypt.
    'password_hash_cost = 14',
    // Short deadlines, so hostile clients are cut and come back many times in a run.
    'header_timeout = 3s',
    'body_timeout = 3s',
    'keepalive_timeout = 5s',
    'tls_handshake_timeout = 3s',
    'ws_ping_interval = 5s',
    'ws_pong_timeout = 3s',
    'ws_close_timeout = 2s',
    'ws_max_buffered_bytes = 256KiB',
    'ws_echo_path = /echo',
    'ws_echo_max_message_bytes = 64KiB',
    'sweep_interval = 250ms',
  ].join('\n');
  const confPath = join(dir, 'server.conf');
  writeFileSync(confPath, conf + '\n');
  const guard = pathToFileURL(join(DIST, 'bench', 'lib', 'orphan-guard.js')).href;
  const child = spawn(process.execPath, ['--import', guard, join(DIST, 'bin', 'server.js'), '--config', confPath], {
    cwd: dir,
    env: { ...process.env, SECRET_KEY: 'soak-secret-key-that-is-at-least-32-bytes', BENCH_CHILD_MAX_MS: String(maxLifetimeMs) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stop();
      process.exit(130);
    });
  }
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[server] ${d.toString()}`));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening: ${out}`)));
    setTimeout(() => reject(new Error('the server did not start in 20 s')), 20_000).unref();
  });
  return { child, port, dir };
}

// ─── HTTPS and WebSocket clients ────────────────────────────────────────────

interface Answer {
  readonly status: number;
  readonly text: string;
}

function httpsRequest(port: number, method: string, path: string, options: { body?: unknown; token?: string; localAddress?: string } = {}): Promise<Answer> {
  const body = options.body === undefined ? '' : JSON.stringify(options.body);
  const headers: Record<string, string | number> = { 'Content-Length': Buffer.byteLength(body) };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method, path, headers, rejectUnauthorized: false, agent: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end(body);
  });
}

function openWs(port: number, path: string, token: string | null, localAddress?: string): WebSocket {
  const protocols = token === null ? [] : ['chat.v1', `bearer.${token}`];
  const ws = new WebSocket(`wss://127.0.0.1:${port}${path}`, protocols, {
    rejectUnauthorized: false,
    handshakeTimeout: 10_000,
    ...(localAddress ? { localAddress } : {}),
  });
  ws.on('error', () => count('ws client errors'));
  return ws;
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('close', () => reject(new Error('closed before open')));
  });
}

/** A raw TLS connection from `localAddress`; errors are expected (the server cuts hostile clients). */
function rawTls(port: number, localAddress: string): tls.TLSSocket {
  // localAddress is passed on to net.connect (the typings of tls.ConnectionOptions leave it out).
  const local: object = { localAddress };
  const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false, ...local });
  s.on('error', () => count('hostile socket errors'));
  return s;
}

let hostileAddressIndex = 0;
/** Hostile clients rotate over 127.0.0.100–149, each address under max_connections_per_ip. */
function hostileAddress(): string {
  hostileAddressIndex = (hostileAddressIndex + 1) % 50;
  return `127.0.0.${100 + hostileAddressIndex}`;
}

// ─── honest load ────────────────────────────────────────────────────────────

const ROOM = 'soak';
const ackLatencies: number[] = [];
let honestSends = 0;
let honestAcks = 0;
let honestErrors = 0;
const probeLatencies: number[] = [];
let probeFailures = 0;

interface User {
  readonly username: string;
  readonly password: string;
  readonly token: string;
  readonly address: string;
}

async function register(port: number, i: number, address: string): Promise<User> {
  const username = `soak_${process.pid % 10_000}_${i}`;
  const password = `soak password ${i} ok`;
  const res = await httpsRequest(port, 'POST', '/register', { body: { username, password }, localAddress: address });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${res.text}`);
  return { username, password, token: (JSON.parse(res.text) as { token: string }).token, address };
}

/** The room everyone talks in, made by its first user. */
async function createRoom(port: number, owner: User): Promise<void> {
  const ws = openWs(port, '/ws', owner.token, owner.address);
  await opened(ws);
  const reply = await new Promise<{ type: string }>((resolve) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; ref?: string };
      if (msg.ref === 'create') resolve(msg);
    });
    ws.send(JSON.stringify({ type: 'create_room', room: ROOM, ref: 'create' }));
  });
  ws.close();
  if (reply.type !== 'joined') throw new Error(`create_room ${ROOM}: ${JSON.stringify(reply)}`);
}

/** One honest chat user: joins the room, sends every ~1.5 s, reads everything, reconnects if dropped. */
function honestUser(port: number, user: User, until: () => boolean, seed: number): Promise<void> {
  const rnd = seededRandom(seed);
  return (async () => {
    while (!until()) {
      const ws = openWs(port, '/ws', user.token, user.address);
      const pending = new Map<string, number>();
      let closed = false;
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { type: string; ref?: string };
        if (msg.ref !== undefined && pending.has(msg.ref)) {
          if (msg.type === 'ack') {
            honestAcks++;
            ackLatencies.push(performance.now() - pending.get(msg.ref)!);
          } else if (msg.type !== 'joined') {
            honestErrors++;
            count(`honest error replies (${(msg as { code?: string }).code ?? msg.type})`);
          }
          pending.delete(msg.ref);
        }
      });
      ws.on('close', () => {
        closed = true;
      });
      try {
        await opened(ws);
      } catch {
        count('honest connect failures');
        await sleep(1000);
        continue;
      }
      ws.send(JSON.stringify({ type: 'join', room: ROOM, ref: 'join' }));
      pending.set('join', performance.now());
      let n = 0;
      while (!until() && !closed) {
        await sleep(1000 + rnd() * 1000);
        if (closed || ws.readyState !== WebSocket.OPEN) break;
        const ref = `s${n++}`;
        pending.set(ref, performance.now());
        honestSends++;
        ws.send(JSON.stringify({ type: 'send', room: ROOM, text: `hello ${n} from ${user.username} ${'x'.repeat(Math.floor(rnd() * 200))}`, ref }));
      }
      // At the end, give the last sends time to be acked; a connection the server dropped is reopened.
      if (until() && !closed) await sleep(2000);
      else count('honest reconnects');
      ws.terminate();
    }
  })();
}

async function healthProbe(port: number, until: () => boolean): Promise<void> {
  while (!until()) {
    const t0 = performance.now();
    try {
      const res = await httpsRequest(port, 'GET', '/healthz', { localAddress: '127.0.0.30' });
      if (res.status === 200) probeLatencies.push(performance.now() - t0);
      else probeFailures++;
    } catch {
      probeFailures++;
    }
    await sleep(1000);
  }
}

// ─── hostile load ───────────────────────────────────────────────────────────

/** Keep `n` slowloris heads open: a field line every 500 ms; reopened when cut. */
function slowlorisHeads(port: number, n: number, until: () => boolean): void {
  const one = () => {
    if (until()) return;
    const s = rawTls(port, hostileAddress());
    let timer: NodeJS.Timeout | null = null;
    s.resume(); // reads the 408, so it sees the server's close at once
    s.once('secureConnect', () => {
      s.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
      let i = 0;
      timer = setInterval(() => s.write(`X-Slow-${i++}: y\r\n`), 500);
    });
    s.once('close', () => {
      if (timer) clearInterval(timer);
      count('slowloris heads cut');
      setTimeout(one, 100);
    });
  };
  for (let i = 0; i < n; i++) setTimeout(one, i * 20);
}

/** Keep `n` stalled bodies open; reopened when cut. */
function stalledBodies(port: number, n: number, until: () => boolean): void {
  const one = () => {
    if (until()) return;
    const s = rawTls(port, hostileAddress());
    s.resume();
    s.once('secureConnect', () => s.write('POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"username":'));
    s.once('close', () => {
      count('stalled bodies cut');
      setTimeout(one, 100);
    });
  };
  for (let i = 0; i < n; i++) setTimeout(one, i * 50);
}

/** A connection every `everyMs` sending seeded random bytes (some after a valid start). */
function garbage(port: number, everyMs: number, until: () => boolean): void {
  const rnd = seededRandom(20_260_101);
  const prefixes = ['', 'GET / HTTP/1.1\r\n', 'POST /login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'];
  const timer = setInterval(() => {
    if (until()) {
      clearInterval(timer);
      return;
    }
    const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 600) }, () => Math.floor(rnd() * 256)));
    const prefix = prefixes[Math.floor(rnd() * prefixes.length)]!;
    const s = rawTls(port, hostileAddress());
    s.once('secureConnect', () => {
      s.write(Buffer.concat([Buffer.from(prefix, 'latin1'), bytes]));
      setTimeout(() => s.destroy(), 2000);
    });
    s.once('close', () => count('garbage connections'));
    s.resume();
  }, everyMs);
}

/**
 * A client that never reads cannot notice that the server dropped it (the
 * reset waits behind its unread bytes), so each lives NEVER_READING_LIFETIME_MS
 * — longer than ws_ping_interval + ws_pong_timeout, by which the server has
 * dropped it — and is then replaced.
 */
const NEVER_READING_LIFETIME_MS = 15_000;

/** Echo WebSockets that send 1 MB and never read; replaced every NEVER_READING_LIFETIME_MS. */
function neverReadingEcho(port: number, n: number, until: () => boolean): void {
  const one = () => {
    if (until()) return;
    const ws = openWs(port, '/echo', null, hostileAddress());
    ws.once('open', () => {
      (ws as unknown as { _socket: net.Socket })._socket.pause();
      for (let i = 0; i < 64; i++) ws.send(Buffer.alloc(16 * 1024, 0x61));
    });
    setTimeout(() => {
      ws.terminate();
      count('never-reading echo clients replaced');
      one();
    }, NEVER_READING_LIFETIME_MS);
  };
  for (let i = 0; i < n; i++) setTimeout(one, i * 200);
}

/** Members of the busy room that never read what it broadcasts; replaced every NEVER_READING_LIFETIME_MS. */
function neverReadingMembers(port: number, user: User, n: number, until: () => boolean): void {
  const one = () => {
    if (until()) return;
    const ws = openWs(port, '/ws', user.token, hostileAddress());
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'join', room: ROOM }));
      setTimeout(() => (ws as unknown as { _socket?: net.Socket })._socket?.pause(), 500);
    });
    setTimeout(() => {
      ws.terminate();
      count('never-reading members replaced');
      one();
    }, NEVER_READING_LIFETIME_MS);
  };
  for (let i = 0; i < n; i++) setTimeout(one, i * 300);
}

/** Every `everyMs`: 2,000 pipelined requests, never reading the answers. */
function pipeliner(port: number, everyMs: number, until: () => boolean): void {
  // index.html: 2,000 answers are megabytes, more than the socket buffers hold.
  const requests = Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(2000), 'latin1');
  const timer = setInterval(() => {
    if (until()) {
      clearInterval(timer);
      return;
    }
    const s = rawTls(port, hostileAddress());
    s.once('secureConnect', () => {
      s.pause();
      s.write(requests);
    });
    s.once('close', () => count('pipeliners cut'));
    // Like any client that never reads, it may not notice the cut: give up after 20 s.
    setTimeout(() => s.destroy(), 20_000);
  }, everyMs);
}

/** Every `everyMs`: an echo WebSocket sends 5,000 pings, reads the pongs, then leaves. */
function pingFlood(port: number, everyMs: number, until: () => boolean): void {
  const timer = setInterval(() => {
    if (until()) {
      clearInterval(timer);
      return;
    }
    const ws = openWs(port, '/echo', null, hostileAddress());
    ws.once('open', () => {
      const payload = Buffer.alloc(125, 0x70);
      for (let i = 0; i < 5000; i++) ws.ping(payload);
      let pongs = 0;
      ws.on('pong', () => {
        if (++pongs === 5000) {
          count('ping floods answered');
          ws.terminate();
        }
      });
      setTimeout(() => ws.terminate(), 8000);
    });
  }, everyMs);
}

/** Wrong-password logins from hostile addresses (throttled per address and per account). */
function passwordGuessing(port: number, victim: string, everyMs: number, until: () => boolean): void {
  let i = 0;
  const timer = setInterval(() => {
    if (until()) {
      clearInterval(timer);
      return;
    }
    httpsRequest(port, 'POST', '/login', { body: { username: i % 2 === 0 ? victim : `nobody_${i}`, password: `guess ${i++}` }, localAddress: hostileAddress() })
      .then((r) => count(`password guesses answered ${r.status}`))
      .catch(() => count('password guesses failed'));
  }, everyMs);
}

/** Every `everyMs`: drop `n` WebSockets of one user and reopen them all at once. */
function reconnectStorm(port: number, user: User, n: number, everyMs: number, until: () => boolean): void {
  let sockets: WebSocket[] = [];
  const storm = async () => {
    for (const ws of sockets) ws.terminate();
    sockets = Array.from({ length: n }, () => openWs(port, '/ws', user.token, '127.0.0.40'));
    const results = await Promise.allSettled(sockets.map(opened));
    count('storm connections opened', results.filter((r) => r.status === 'fulfilled').length);
    count('storm connections refused', results.filter((r) => r.status === 'rejected').length);
  };
  const timer = setInterval(() => {
    if (until()) {
      clearInterval(timer);
      for (const ws of sockets) ws.terminate();
      return;
    }
    void storm();
  }, everyMs);
}

// ─── sampling ───────────────────────────────────────────────────────────────

interface Sample {
  readonly atSeconds: number;
  readonly rssBytes: number;
  readonly fds: number;
  readonly loopP99Seconds: number;
  readonly heapBytes: number;
  readonly openConnections: number;
}

function readRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function takeSample(server: Server, startedAt: number): Promise<Sample> {
  const pid = server.child.pid!;
  const metrics = await httpsRequest(server.port, 'GET', '/metrics', { localAddress: '127.0.0.1' });
  return {
    atSeconds: (performance.now() - startedAt) / 1000,
    rssBytes: readRss(pid),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    loopP99Seconds: metricValue(metrics.text, 'chat_event_loop_delay_p99_seconds'),
    heapBytes: metricValue(metrics.text, 'process_heap_used_bytes'),
    openConnections: metricValue(metrics.text, 'chat_connections_open'),
  };
}

// ─── the verdict ────────────────────────────────────────────────────────────

interface Series {
  readonly name: string;
  readonly unit: string;
  readonly scale: number;
  readonly of: (s: Sample) => number;
  /** Growth allowed: the larger of relative × middle median and absolute (in the series' own unit). */
  readonly relative: number;
  readonly absolute: number;
}

const SERIES: readonly Series[] = [
  { name: 'RSS', unit: 'MiB', scale: 1 / (1024 * 1024), of: (s) => s.rssBytes, relative: 0.1, absolute: 24 * 1024 * 1024 },
  { name: 'V8 heap', unit: 'MiB', scale: 1 / (1024 * 1024), of: (s) => s.heapBytes, relative: 0.15, absolute: 16 * 1024 * 1024 },
  { name: 'open fds', unit: '', scale: 1, of: (s) => s.fds, relative: 0.2, absolute: 60 },
  { name: 'event-loop p99', unit: 'ms', scale: 1000, of: (s) => s.loopP99Seconds, relative: 0.5, absolute: 0.02 },
];

interface SeriesVerdict {
  readonly name: string;
  readonly first: number;
  readonly middleMedian: number;
  readonly lastMedian: number;
  readonly max: number;
  readonly allowed: number;
  readonly growing: boolean;
  readonly unit: string;
}

function judge(samples: readonly Sample[]): SeriesVerdict[] {
  const third = Math.floor(samples.length / 3);
  const middle = samples.slice(third, 2 * third);
  const last = samples.slice(2 * third);
  return SERIES.map((s) => {
    const mid = median(middle.map(s.of));
    const end = median(last.map(s.of));
    const allowed = Math.max(s.relative * mid, s.absolute);
    return {
      name: s.name,
      unit: s.unit,
      first: s.of(samples[0]!) * s.scale,
      middleMedian: mid * s.scale,
      lastMedian: end * s.scale,
      max: Math.max(...samples.map(s.of)) * s.scale,
      allowed: allowed * s.scale,
      growing: end - mid > allowed,
    };
  });
}

// ─── main ───────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const durationMs = args.minutes * 60_000;
  const server = await startServer(durationMs + 5 * 60_000);
  const startedAt = performance.now();
  const deadline = startedAt + durationMs;
  const done = () => performance.now() >= deadline;
  let serverDied: string | null = null;
  server.child.once('exit', (code, signal) => {
    serverDied = `the server exited (code ${code}, signal ${signal})`;
  });
  process.stdout.write(`soak: server pid ${server.child.pid} on port ${server.port}; ${args.minutes} min, a sample every ${args.sampleSeconds} s\n`);

  // Accounts first (from their own addresses: the per-address auth limits apply to each).
  const users: User[] = [];
  for (let i = 0; i < 20; i++) users.push(await register(server.port, i, `127.0.0.${2 + i}`));
  const stormUser = await register(server.port, 100, '127.0.0.41');
  const lurker = await register(server.port, 101, '127.0.0.42');

  await createRoom(server.port, users[0]!);
  const honest = [...users.map((u, i) => honestUser(server.port, u, done, i + 1)), healthProbe(server.port, done)];
  slowlorisHeads(server.port, 60, done);
  stalledBodies(server.port, 20, done);
  garbage(server.port, 100, done);
  neverReadingEcho(server.port, 5, done);
  neverReadingMembers(server.port, lurker, 3, done);
  pipeliner(server.port, 10_000, done);
  pingFlood(server.port, 10_000, done);
  passwordGuessing(server.port, users[0]!.username, 500, done);
  reconnectStorm(server.port, stormUser, 40, 15_000, done);

  const samples: Sample[] = [];
  while (!done() && serverDied === null) {
    await sleep(args.sampleSeconds * 1000);
    if (done()) break; // a sample after the deadline would see the load already stopping
    try {
      const s = await takeSample(server, startedAt);
      samples.push(s);
      process.stdout.write(
        `t=${s.atSeconds.toFixed(0).padStart(5)}s rss=${(s.rssBytes / 1048576).toFixed(1)}MiB heap=${(s.heapBytes / 1048576).toFixed(1)}MiB fds=${s.fds} ` +
          `loop_p99=${(s.loopP99Seconds * 1000).toFixed(1)}ms conns=${s.openConnections} acks=${honestAcks}/${honestSends} ack_p99=${percentile(ackLatencies.slice(-2000), 99).toFixed(0)}ms\n`,
      );
    } catch (err) {
      count('samples failed');
      process.stderr.write(`sample failed: ${(err as Error).message}\n`);
    }
  }
  await Promise.race([Promise.all(honest), sleep(15_000)]);
  const metricsText = serverDied === null ? (await httpsRequest(server.port, 'GET', '/metrics').catch(() => ({ text: '' }))).text : '';

  // ── report ──
  const verdicts = samples.length >= 6 ? judge(samples) : [];
  const ackRate = honestSends === 0 ? 0 : honestAcks / honestSends;
  const lines: string[] = [];
  lines.push('', `soak over ${args.minutes} min, ${samples.length} samples (every ${args.sampleSeconds} s); verdict compares the median of the last third with the middle third`);
  lines.push('series           first     middle-median  last-median   max        allowed growth  verdict');
  for (const v of verdicts) {
    const f = (n: number) => `${n.toFixed(v.unit === 'ms' ? 2 : 1)}${v.unit}`.padEnd(12);
    lines.push(`${v.name.padEnd(16)} ${f(v.first)} ${f(v.middleMedian)}  ${f(v.lastMedian)}  ${f(v.max)} ${f(v.allowed)}    ${v.growing ? 'GROWING' : 'flat'}`);
  }
  lines.push(
    `honest chat: ${honestAcks}/${honestSends} sends acked (${(ackRate * 100).toFixed(2)}%), ${honestErrors} error replies; ack latency p50 ${percentile(ackLatencies, 50).toFixed(1)} ms, p95 ${percentile(ackLatencies, 95).toFixed(1)} ms, p99 ${percentile(ackLatencies, 99).toFixed(1)} ms, max ${percentile(ackLatencies, 100).toFixed(1)} ms`,
  );
  lines.push(`honest /healthz: ${probeLatencies.length} answered, ${probeFailures} failed; p50 ${percentile(probeLatencies, 50).toFixed(1)} ms, p99 ${percentile(probeLatencies, 99).toFixed(1)} ms, max ${percentile(probeLatencies, 100).toFixed(1)} ms`);
  lines.push('client-side counts: ' + [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join('; '));
  const serverCounts = metricsText
    .split('\n')
    .filter((l) => /^chat_(connections_refused_total|connection_timeouts_total|ws_slow_consumers_total|ws_connections_closed_total|rate_limited_total|tls_handshake_failures_total|connections_accepted_total|messages_stored_total)/.test(l));
  lines.push('server counters:', ...serverCounts.map((l) => `  ${l}`));
  const failures: string[] = [];
  if (serverDied !== null) failures.push(serverDied);
  if (samples.length < 6) failures.push(`only ${samples.length} samples: too few to judge`);
  for (const v of verdicts) if (v.growing) failures.push(`${v.name} keeps growing: ${v.middleMedian.toFixed(2)} → ${v.lastMedian.toFixed(2)} ${v.unit}`);
  if (ackRate < 0.95) failures.push(`honest users starved: only ${(ackRate * 100).toFixed(1)}% of sends acked`);
  lines.push(failures.length === 0 ? 'SOAK PASSED' : `SOAK FAILED: ${failures.join('; ')}`);
  process.stdout.write(lines.join('\n') + '\n');

  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ minutes: args.minutes, samples, verdicts, honest: { sends: honestSends, acks: honestAcks, errors: honestErrors, ackP50: percentile(ackLatencies, 50), ackP99: percentile(ackLatencies, 99), ackMax: percentile(ackLatencies, 100), probes: probeLatencies.length, probeFailures }, counts: Object.fromEntries(counts), serverCounts, failures }, null, 2));
  }
  server.child.kill('SIGTERM');
  await sleep(500);
  rmSync(server.dir, { recursive: true, force: true });
  process.exit(failures.length === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
