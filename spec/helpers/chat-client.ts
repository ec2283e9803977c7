/**
 * A chat client for integration tests: the account calls over HTTPS
 * (register, login, logout, token, password change) and a WebSocket wrapper
 * (the `ws` package, a client written by others, so our server is checked
 * against a second implementation of RFC 6455) that queues every incoming
 * JSON message and hands them out with `next(predicate)` within a timeout.
 *
 * Nothing here keeps state between servers: every test makes its own users.
 */
import https from 'node:https';
import { WebSocket } from 'ws';

// any: tests read protocol messages field by field and assert on each.
export type Msg = Record<string, any>;

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  // any: a parsed JSON body whose fields the test asserts.
    readonly json: any;
  /** The body as text (for answers that are not JSON, such as /metrics). */
  readonly text: string;
}

/** One HTTPS request to the live server (self-signed certificate accepted), one connection each. */
export function api(port: number, method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<ApiAnswer> {
  const body = options.body === undefined ? '' : JSON.stringify(options.body);
  const headers: Record<string, string | number> = { 'Content-Length': Buffer.byteLength(body) };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path, headers, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = res.headers['content-type']?.startsWith('application/json') ?? false;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: isJson && text !== '' ? (JSON.parse(text) as unknown) : undefined, text });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
    req.end(body);
  });
}

export const PASSWORD = 'correct horse battery staple';

/**
 * server.conf overrides for chat tests: cheap password hashing, and the
 * per-address limits (auth, new connections) and the per-user send rate set
 * high, so only the tests that are about a limit meet one.
 */
export const CHAT_TEST_CONFIG = {
  password_hash_cost: 14,
  auth_rate_per_minute: 100_000,
  auth_burst: 100_000,
  connection_rate: 100_000,
  connection_burst: 100_000,
  send_rate_per_second: 10_000,
  send_burst: 10_000,
} as const;

export interface Account {
  readonly id: number;
  readonly username: string;
  readonly password: string;
  token: string;
}

let userCounter = 0;
/** A fresh username (unique within this test process). */
export function freshName(prefix = 'u'): string {
  userCounter += 1;
  return `${prefix}${process.pid % 10_000}_${userCounter}`;
}

let roomCounter = 0;
/** A fresh room name (unique within this test process). */
export function freshRoom(prefix = 'room'): string {
  roomCounter += 1;
  return `${prefix}-${process.pid % 10_000}-${roomCounter}`;
}

export async function registerUser(port: number, username = freshName()): Promise<Account> {
  const res = await api(port, 'POST', '/register', { body: { username, password: PASSWORD } });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.json)}`);
  return { id: res.json.user.id as number, username, password: PASSWORD, token: res.json.token as string };
}

/** A second token for the same user (a second login). */
export async function loginUser(port: number, account: Account): Promise<string> {
  const res = await api(port, 'POST', '/login', { body: { username: account.username, password: account.password } });
  if (res.status !== 200) throw new Error(`login ${account.username}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.token as string;
}

export interface WsOpenOptions {
  /** Subprotocols to offer (default: chat.v1 and bearer.<token>). */
  readonly protocols?: string[];
  readonly headers?: Record<string, string>;
  readonly origin?: string;
}

/** The HTTP status of a refused handshake (or a thrown error if it was accepted). */
export function refusedStatus(port: number, options: WsOpenOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, options.protocols ?? [], {
      rejectUnauthorized: false,
      headers: options.headers ?? {},
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      handshakeTimeout: 5000,
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the handshake was accepted'));
    });
    ws.on('error', (err) => reject(err));
  });
}

const DEFAULT_WAIT_MS = 5000;

/** One WebSocket to /ws with every incoming message queued. */
export class ChatClient {
  /** Every message received, in order (consumed or not). */
  readonly log: Msg[] = [];
  /** Messages not yet taken by next(). */
  private queue: Msg[] = [];
  private waiters = new Set<() => void>();
  private closeInfo: { code: number; reason: string } | null = null;
  private refCounter = 0;
  hello!: Msg;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const msg = isBinary ? { type: '<binary>' } : (JSON.parse(data.toString()) as Msg);
      this.log.push(msg);
      this.queue.push(msg);
      this.notify();
    });
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.notify();
    });
    ws.on('error', () => {
      // a reset shows up as a close (code 1006) for the test's purpose
    });
  }

  /** Open a connection with `token` and wait for `hello`. */
  static async open(port: number, token: string | null, options: WsOpenOptions = {}): Promise<ChatClient> {
    const protocols = options.protocols ?? (token === null ? ['chat.v1'] : ['chat.v1', `bearer.${token}`]);
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, protocols, {
      rejectUnauthorized: false,
      headers: options.headers ?? {},
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      handshakeTimeout: 5000,
    });
    const client = new ChatClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    client.hello = await client.next((m) => m.type === 'hello');
    return client;
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(value: Msg): void {
    this.ws.send(JSON.stringify(value));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Send `value` with a fresh `ref` and resolve with the reply carrying it. */
  request(value: Msg, timeoutMs = DEFAULT_WAIT_MS): Promise<Msg> {
    this.refCounter += 1;
    const ref = `r${this.refCounter}`;
    this.send({ ...value, ref });
    return this.next((m) => m.ref === ref, timeoutMs);
  }

  /** Take the first queued message matching `predicate`, waiting up to `timeoutMs` for it. */
  next(predicate: (m: Msg) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.queue.findIndex(predicate);
        if (i >= 0) {
          const [m] = this.queue.splice(i, 1);
          cleanup();
          resolve(m!);
        } else if (this.closeInfo) {
          cleanup();
          reject(new Error(`connection closed (${this.closeInfo.code}) while waiting; unread: ${this.describeQueue()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for a message; unread: ${this.describeQueue()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Take `n` queued messages matching `predicate`, in order. */
  async take(n: number, predicate: (m: Msg) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<Msg[]> {
    const out: Msg[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) out.push(await this.next(predicate, Math.max(1, deadline - Date.now())));
    return out;
  }

  /** The queued (unconsumed) messages matching `predicate`, removed from the queue. */
  drainQueue(predicate: (m: Msg) => boolean = () => true): Msg[] {
    const taken = this.queue.filter(predicate);
    this.queue = this.queue.filter((m) => !predicate(m));
    return taken;
  }

  /**
   * Wait `ms`, then return the messages matching `predicate` that arrived
   * meanwhile (for "X does not get Y"). Pair it with a round trip first
   * (`request`) so the wait is not the only thing standing between the
   * server's write and the assertion.
   */
  async within(ms: number, predicate: (m: Msg) => boolean): Promise<Msg[]> {
    const start = this.log.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.log.slice(start).filter(predicate);
  }

  /** Resolves with the close code and reason once the connection is closed. */
  closed(timeoutMs = DEFAULT_WAIT_MS): Promise<{ code: number; reason: string }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.closeInfo) {
          cleanup();
          resolve(this.closeInfo);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`the connection was not closed in time; unread: ${this.describeQueue()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** A polite close, waiting for it to complete. */
  async close(): Promise<void> {
    if (this.closeInfo) return;
    this.ws.close(1000);
    await this.closed().catch(() => this.ws.terminate());
  }

  /** Cut the TCP connection without a closing handshake (a dropped network). */
  cut(): void {
    this.ws.terminate();
  }

  private describeQueue(): string {
    return JSON.stringify(this.queue.slice(0, 8)).slice(0, 800);
  }
}

/** Open connections are closed after each test; call `track` for each. */
export class ClientPool {
  private readonly clients: ChatClient[] = [];

  constructor(private readonly port: () => number) {}

  async open(token: string, options: WsOpenOptions = {}): Promise<ChatClient> {
    const c = await ChatClient.open(this.port(), token, options);
    this.clients.push(c);
    return c;
  }

  track(c: ChatClient): ChatClient {
    this.clients.push(c);
    return c;
  }

  closeAll(): void {
    for (const c of this.clients.splice(0)) c.cut();
  }
}

/** True when `ts` is exactly what Date#toISOString writes (API.md "Times"). */
export function isIsoTime(ts: unknown): boolean {
  return typeof ts === 'string' && !Number.isNaN(Date.parse(ts)) && new Date(ts).toISOString() === ts;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `condition` every 10 ms until it holds, or fail after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs = DEFAULT_WAIT_MS, what = 'a condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export interface Sent {
  readonly id: number;
  readonly text: string;
  readonly ts: string;
}

/**
 * Send `n` messages to `room` at once (pipelined) and resolve with their
 * acks, in order. The `message` echoes the sender gets are left in its queue
 * (drainQueue them when they are in the way).
 */
export async function sendMany(c: ChatClient, room: string, n: number, prefix = 'm'): Promise<Sent[]> {
  const refs: string[] = [];
  const texts: string[] = [];
  for (let i = 0; i < n; i++) {
    const ref = `${prefix}-${i}`;
    refs.push(ref);
    texts.push(`${prefix} ${i}`);
    c.send({ type: 'send', room, text: texts[i], ref });
  }
  const wanted = new Set(refs);
  const acks = await c.take(n, (m) => (m.type === 'ack' || m.type === 'error') && wanted.has(m.ref), 15_000);
  return acks.map((a, i) => {
    if (a.type !== 'ack') throw new Error(`send ${i} refused: ${JSON.stringify(a)}`);
    if (a.ref !== refs[i]) throw new Error(`acks out of order: ${a.ref} where ${refs[i]} was expected`);
    return { id: a.id as number, text: texts[i]!, ts: a.ts as string };
  });
}
