/**
 * The WebSocket to `/ws` (API.md "WebSocket: /ws"), kept alive.
 *
 * - Opens with `new WebSocket(url, ['chat.v1', 'bearer.' + token])`: browsers
 *   cannot set an Authorization header on a WebSocket.
 * - `request()` gives each client message a `ref` and resolves with the reply
 *   that repeats it (or rejects with the `error`); `notify()` is for messages
 *   that get no reply (`typing`, `read`).
 * - Outgoing messages pass a RateGate with the server's numbers, and a
 *   `rate_limited` reply is retried after its `retry_after_ms`.
 * - After a drop it reconnects with exponential backoff and jitter, or after
 *   `going_away.reconnect_after_ms` when the server is draining. What the
 *   reconnect must restore (rooms, unsent messages) is the caller's job, in
 *   `onHello`.
 * - Close 4001 (token expired), or a close or refused handshake whose token
 *   turns out to be bad, ends in `onAuthLost`: the caller shows the login.
 */

import { RateGate } from './rate-gate.js';

/** @typedef {import('./types.js').ServerMessage} ServerMessage */
/** @typedef {import('./types.js').ClientMessage} ClientMessage */
/** @typedef {Extract<ServerMessage, { type: 'hello' }>} Hello */

/**
 * `connecting`: a handshake is under way; `open`: `hello` arrived; `waiting`:
 * the next attempt is at `retryAt`; `offline`: the browser says there is no
 * network, the next attempt is when it comes back; `stopped`: logged out.
 * @typedef {'connecting' | 'open' | 'waiting' | 'offline' | 'stopped'} LinkState
 */

/**
 * @typedef {object} LinkStatus
 * @property {LinkState} state
 * @property {number | null} retryAt ms since the epoch, when `waiting`
 * @property {number} attempt consecutive failed attempts
 * @property {boolean} everOpened whether this is a reconnect rather than the first connection
 */

/** @typedef {'ok' | 'expired' | 'revoked' | 'unknown'} AuthCheck */

/**
 * @typedef {object} ConnectionHooks
 * @property {string} url
 * @property {() => string} token the current token, read at each attempt
 * @property {(hello: Hello) => void} onHello
 * @property {(message: ServerMessage) => void} onEvent everything that is not a reply
 * @property {(status: LinkStatus) => void} onStatus
 * @property {(why: 'expired' | 'revoked') => void} onAuthLost
 * @property {() => Promise<AuthCheck>} checkAuth asks the HTTP API whether the token is still good
 */

/** Close codes this client acts on (API.md "Close codes"). */
export const CLOSE = /** @type {const} */ ({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOKEN_EXPIRED: 4001,
  SLOW_CONSUMER: 4008,
});

const SUBPROTOCOL = 'chat.v1';
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** A reply that does not come in this time is given up on (a `rate_limited` for a frame too big to read its `ref`, say). */
const REPLY_TIMEOUT_MS = 20_000;
const MAX_RATE_RETRIES = 5;
/** Before `hello` says otherwise: well under the server's defaults. */
const DEFAULT_RATE = { perSecond: 5, burst: 10 };

/** An `error` reply, or a request that could not be answered. */
export class ChatError extends Error {
  /**
   * @param {string} code API.md's error code; `disconnected` and `timeout` are this client's
   * @param {string} message
   * @param {number | null} retryAfterMs
   */
  constructor(code, message, retryAfterMs = null) {
    super(message);
    this.name = 'ChatError';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * @typedef {object} Outgoing
 * @property {ClientMessage & { ref?: string }} message
 * @property {((reply: ServerMessage) => void) | null} resolve null for notify()
 * @property {(err: ChatError) => void} reject
 * @property {((retryAfterMs: number) => void) | null} onRateLimited
 * @property {number} retries
 * @property {ReturnType<typeof setTimeout> | null} timer
 */

/**
 * The delay before attempt `n` (0-based) after a drop: 1 s, 2 s, 4 s … 30 s,
 * each between half and all of that, so clients dropped together do not
 * come back together.
 * @param {number} attempt
 * @param {number} random in [0, 1)
 */
export function backoffMs(attempt, random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling * (0.5 + random * 0.5));
}

export class ChatConnection {
  /** @type {WebSocket | null} */
  #ws = null;
  /** `hello` arrived on #ws: messages may be written. */
  #ready = false;
  #attempt = 0;
  #everOpened = false;
  #stopped = true;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #retryTimer = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #pumpTimer = null;
  /** @type {number | null} */
  #goingAwayMs = null;
  #nextRef = 1;
  /** @type {Outgoing[]} */
  #queue = [];
  /** @type {Map<string, Outgoing>} */
  #awaiting = new Map();
  #gate = new RateGate(DEFAULT_RATE.perSecond, DEFAULT_RATE.burst, Date.now());
  /** @type {LinkStatus} */
  status = { state: 'stopped', retryAt: null, attempt: 0, everOpened: false };

  /** @param {ConnectionHooks} hooks */
  constructor(hooks) {
    this.hooks = hooks;
    this.onOnline = () => {
      if (this.status.state === 'offline' || this.status.state === 'waiting') this.retryNow();
    };
    this.onOffline = () => {
      // The socket may take a while to notice; the attempt after it will wait for 'online'.
      if (this.status.state === 'waiting') this.#setStatus('offline', null);
    };
  }

  start() {
    if (!this.#stopped) return;
    this.#stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.#connect();
  }

  /** Close for good (logout): nothing is retried. */
  stop() {
    this.#stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    const ws = this.#ws;
    this.#ws = null;
    this.#ready = false;
    if (ws) ws.close(CLOSE.NORMAL, 'bye');
    this.#failAll('stopped');
    this.#setStatus('stopped', null);
  }

  /** Skip the rest of the backoff. */
  retryNow() {
    if (this.#stopped || this.#ws) return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#connect();
  }

  get isOpen() {
    return this.#ready;
  }

  /**
   * Send a message and wait for the reply that carries its `ref`.
   * @param {ClientMessage} message
   * @param {{ onRateLimited?: (retryAfterMs: number) => void, urgent?: boolean }} [options]
   *   urgent: ahead of everything queued (a token refresh must not wait behind a resume)
   * @returns {Promise<ServerMessage>}
   */
  request(message, options = {}) {
    return new Promise((resolve, reject) => {
      if (!this.#ready) {
        reject(new ChatError('disconnected', 'Not connected.'));
        return;
      }
      const ref = `r${this.#nextRef++}`;
      this.#enqueue({ message: { ...message, ref }, resolve, reject, onRateLimited: options.onRateLimited ?? null, retries: 0, timer: null }, options.urgent ?? false);
    });
  }

  /**
   * Send a message that gets no reply. With `droppable`, it is left out when
   * the gate has no token for it right now (typing notices are best-effort).
   * @param {ClientMessage} message
   * @param {{ droppable?: boolean }} [options]
   */
  notify(message, options = {}) {
    if (!this.#ready) return;
    if (options.droppable && (this.#queue.length > 0 || this.#gate.available(Date.now()) < 2)) return;
    // No reply to wait for, so nobody to tell when it is dropped with the connection.
    const ignore = () => {};
    this.#enqueue({ message, resolve: null, reject: ignore, onRateLimited: null, retries: 0, timer: null });
  }

  // ── the socket ───────────────────────────────────────────────────────────

  #connect() {
    if (this.#stopped) return;
    if (navigator.onLine === false) {
      this.#setStatus('offline', null);
      return;
    }
    this.#setStatus('connecting', null);
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${scheme}//${location.host}${this.hooks.url}`;
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new WebSocket(url, [SUBPROTOCOL, `bearer.${this.hooks.token()}`]);
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.#ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
    });
    ws.addEventListener('message', (event) => {
      if (this.#ws !== ws || typeof event.data !== 'string') return;
      /** @type {ServerMessage} */
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.#receive(message);
    });
    ws.addEventListener('close', (event) => {
      if (this.#ws !== ws) return;
      void this.#closed(event.code, opened);
    });
  }

  /** @param {ServerMessage} message */
  #receive(message) {
    if (message.type === 'hello') {
      this.#ready = true;
      this.#attempt = 0;
      this.#goingAwayMs = null;
      const { send_rate_per_second: rate, send_burst: burst } = message.limits;
      // A little under the server's numbers: another tab of the same user shares its bucket.
      this.#gate.configure(Math.max(1, rate * 0.9), Math.max(1, burst - 2));
      this.#everOpened = true;
      this.#setStatus('open', null);
      this.hooks.onHello(message);
      this.#pump();
      return;
    }
    if (message.type === 'going_away') {
      this.#goingAwayMs = message.reconnect_after_ms;
      return;
    }
    const ref = 'ref' in message ? message.ref : undefined;
    const waiting = ref !== undefined ? this.#awaiting.get(ref) : undefined;
    if (waiting) {
      if (message.type === 'error' && message.code === 'rate_limited' && waiting.retries < MAX_RATE_RETRIES) {
        this.#retryLater(waiting, message.retry_after_ms ?? 1000);
        return;
      }
      this.#awaiting.delete(/** @type {string} */ (ref));
      if (waiting.timer) clearTimeout(waiting.timer);
      if (message.type === 'error') waiting.reject(new ChatError(message.code, message.message, message.retry_after_ms ?? null));
      else waiting.resolve?.(message);
      // A deletion is news for the room list as well as the reply to the one who asked.
      if (message.type === 'room_deleted') this.hooks.onEvent(message);
      return;
    }
    if (message.type === 'error' && message.code === 'rate_limited') this.#gate.drain();
    this.hooks.onEvent(message);
  }

  /**
   * @param {number} code
   * @param {boolean} opened
   */
  async #closed(code, opened) {
    this.#ws = null;
    this.#ready = false;
    this.#failAll('disconnected');
    if (this.#stopped) return;
    if (code === CLOSE.TOKEN_EXPIRED) {
      this.#stopped = true;
      this.#setStatus('stopped', null);
      this.hooks.onAuthLost('expired');
      return;
    }
    // A refused handshake looks like 1006 to page code, without the status: ask the HTTP API why.
    if (code === CLOSE.POLICY || !opened) {
      this.#setStatus('connecting', null);
      const check = await this.hooks.checkAuth();
      if (this.#stopped) return;
      if (check === 'expired' || check === 'revoked') {
        this.#stopped = true;
        this.#setStatus('stopped', null);
        this.hooks.onAuthLost(check);
        return;
      }
    }
    this.#scheduleRetry();
  }

  #scheduleRetry() {
    const delay = this.#goingAwayMs ?? backoffMs(this.#attempt, Math.random());
    this.#goingAwayMs = null;
    this.#attempt++;
    this.#setStatus('waiting', Date.now() + delay);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, delay);
  }

  /**
   * @param {LinkState} state
   * @param {number | null} retryAt
   */
  #setStatus(state, retryAt) {
    this.status = { state, retryAt, attempt: this.#attempt, everOpened: this.#everOpened };
    this.hooks.onStatus(this.status);
  }

  // ── the outgoing queue ───────────────────────────────────────────────────

  /**
   * @param {Outgoing} item
   * @param {boolean} [urgent] first in the queue rather than last
   */
  #enqueue(item, urgent = false) {
    if (urgent) this.#queue.unshift(item);
    else this.#queue.push(item);
    this.#pump();
  }

  #pump() {
    if (this.#pumpTimer) return;
    while (this.#queue.length > 0 && this.#ready && this.#ws) {
      const now = Date.now();
      if (!this.#gate.take(now)) {
        this.#pumpTimer = setTimeout(() => {
          this.#pumpTimer = null;
          this.#pump();
        }, this.#gate.waitMs(now));
        return;
      }
      const item = /** @type {Outgoing} */ (this.#queue.shift());
      const ref = item.message.ref;
      if (item.resolve && ref !== undefined) {
        this.#awaiting.set(ref, item);
        item.timer = setTimeout(() => {
          if (this.#awaiting.get(ref) !== item) return;
          this.#awaiting.delete(ref);
          item.reject(new ChatError('timeout', 'The server did not answer in time.'));
        }, REPLY_TIMEOUT_MS);
      }
      this.#ws.send(JSON.stringify(item.message));
    }
  }

  /**
   * @param {Outgoing} item
   * @param {number} retryAfterMs
   */
  #retryLater(item, retryAfterMs) {
    this.#gate.drain();
    item.retries++;
    if (item.timer) clearTimeout(item.timer);
    item.timer = null;
    item.onRateLimited?.(retryAfterMs);
    setTimeout(() => {
      const ref = item.message.ref;
      if (ref === undefined || this.#awaiting.get(ref) !== item) return; // the connection dropped meanwhile
      this.#awaiting.delete(ref);
      this.#enqueue(item);
    }, retryAfterMs);
  }

  /** @param {'disconnected' | 'stopped'} why */
  #failAll(why) {
    const error = new ChatError(why, why === 'stopped' ? 'Logged out.' : 'The connection was lost.');
    const items = [...this.#queue, ...this.#awaiting.values()];
    this.#queue = [];
    this.#awaiting.clear();
    if (this.#pumpTimer) clearTimeout(this.#pumpTimer);
    this.#pumpTimer = null;
    for (const item of items) {
      if (item.timer) clearTimeout(item.timer);
      item.reject(error);
    }
  }
}
