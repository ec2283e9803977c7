/**
 * One WebSocket connection after the opening handshake: the only file of
 * lib/ws that touches a socket (STYLE.md habit 1). It feeds bytes to the
 * sans-IO FrameParser, answers pings, runs the closing handshake, and writes
 * frames with backpressure.
 *
 * The closing handshake (RFC 6455 §5.5.1, §7.1.2–§7.1.4), from this side:
 *
 *   peer closes first                     we close first
 *   ───────────────                       ──────────────
 *   client ── Close(code) ──► server      server ── Close(code) ──► client
 *   client ◄── Close(code) ── server      (phase ws-closing: wait ws_close_timeout)
 *   server closes TCP                     server ◄── Close ── client
 *                                         server closes TCP
 *
 * "The server SHOULD close the underlying TCP connection first" (§7.1.1), so
 * the server ends TCP once both Close frames have crossed. A peer that never
 * answers our Close is cut off by the sweep (reactor.ts) after
 * `ws_close_timeout`. A protocol error "fails the connection" (§7.1.7): we send
 * a Close with the error's code and close TCP without waiting.
 *
 * Backpressure (DESIGN.md): while our outgoing buffer needs draining we stop
 * reading from this client, so a client that sends faster than it reads only
 * slows itself down. Frames written to it by others (broadcasts) while its
 * buffer is full pile up; past `ws_max_buffered_bytes` it is closed with 4008
 * (API.md: slow consumer). Frames marked droppable (typing notices) are
 * dropped first, as soon as the buffer needs draining.
 */
import type net from 'node:net';
import type { Connection, ConnectionOwner, Reactor } from '../net/reactor.js';
import type { TimeoutReason } from '../net/sweep-policy.js';
import type { Logger } from '../log/logger.js';
import type { Counter } from '../metrics/metrics.js';
import { FrameParser, type WsEvent } from './frame-parser.js';
import { encodeClose, encodeFrame } from './frame-encoder.js';
import { closeReplyCode, closeCodeName } from './close.js';
import { CLOSE, OPCODE } from './constants.js';
import { describeFrame, parseFrameHeader } from './trace.js';
import type { WsProtocolError } from './ws-error.js';

/** What the application does with a connection (the echo endpoint, the chat). */
export interface WsHandler {
  /** The connection is open (the 101 is written). */
  onOpen?(ws: WebSocketConnection): void;
  /** A complete text message; its bytes are valid UTF-8 (§8.1). */
  onText(ws: WebSocketConnection, data: Buffer): void;
  /** A complete binary message. */
  onBinary(ws: WebSocketConnection, data: Buffer): void;
  /** Once, when the TCP connection is gone: the code received or sent, or 1006 when there was none (§7.1.5). */
  onClose?(ws: WebSocketConnection, code: number, reason: string): void;
  /** A drain began; default: close with 1001 "going away". */
  onDrain?(ws: WebSocketConnection): void;
}

/**
 * Every connection keeps its options for its whole life, so one object serves
 * all the connections opened under one configuration (chat-server.ts): an
 * object per connection would be memory per idle connection (issue 9).
 */
export interface WsOptions {
  readonly maxMessageBytes: number;
  /** Read at every send, so a reload applies to open connections. */
  readonly maxBufferedBytes: () => number;
  readonly log: Logger;
  readonly metrics: WsMetrics;
  /** Log every frame, annotated field by field (`trace = ws`). */
  readonly trace: boolean;
  /** Show payload text in the trace (`trace_payloads = on`). */
  readonly tracePayloads: boolean;
}

export interface WsMetrics {
  readonly closed: Counter;
  readonly messagesIn: Counter;
  readonly framesOut: Counter;
  readonly dropped: Counter;
  readonly slowConsumers: Counter;
}

export type WsState = 'open' | 'closing' | 'closed';

/** The labels of chat_ws_messages_received_total, one frozen object each: the registry finds their series by identity (metrics.ts). */
const TEXT_LABELS = Object.freeze({ type: 'text' });
const BINARY_LABELS = Object.freeze({ type: 'binary' });

/**
 * Connections corked during this turn of the event loop. One nextTick
 * uncorks them all: a broadcast to 1,000 members costs one callback, not
 * 1,000 closures, and each socket still gets one write (one TLS record) for
 * everything it was sent this turn.
 */
const corkedThisTurn: WebSocketConnection[] = [];

function uncorkAll(): void {
  const batch = corkedThisTurn.splice(0);
  for (const ws of batch) ws.uncork();
}

/**
 * The stream's listeners are functions shared by every connection, not
 * closures made for each: a closure and its context cost every idle
 * connection a hundred bytes or more (issue 9). Node calls a listener with
 * the stream as `this`; the stream carries its connection under this symbol.
 */
const WS_CONNECTION = Symbol('WebSocketConnection');
type WsStream = net.Socket & { [WS_CONNECTION]?: WebSocketConnection };

function connectionOf(stream: net.Socket): WebSocketConnection {
  return (stream as WsStream)[WS_CONNECTION]!;
}

/** An empty queue of parsed events, shared, so that an idle connection holds no array of its own. */
const NO_PENDING: readonly WsEvent[] = Object.freeze([]);

export class WebSocketConnection implements ConnectionOwner {
  state: WsState = 'open';
  /** Whatever the application keeps per connection (the user, their rooms). */
  data: unknown = null;
  private readonly parser: FrameParser;
  private sentClose = false;
  private closeCode = CLOSE.ABNORMAL as number;
  private closeReason = '';
  private corked = false;
  /** Events parsed but not handled yet (from `pendingAt` on): they wait while our outgoing buffer needs draining. */
  private pending: readonly WsEvent[] = NO_PENDING;
  private pendingAt = 0;
  /** The parser's error, to act on once the events before it are handled. */
  private pendingError: WsProtocolError | null = null;

  constructor(
    readonly conn: Connection,
    private readonly reactor: Reactor,
    private readonly handler: WsHandler,
    private readonly options: WsOptions,
  ) {
    this.parser = new FrameParser({ maxMessageBytes: options.maxMessageBytes, requireMask: true, emitFrameHeaders: options.trace });
    conn.owner = this;
    conn.pingSentAt = null;
    reactor.setPhase(conn, 'ws-open');
    (conn.stream as WsStream)[WS_CONNECTION] = this;
    conn.stream.on('data', WebSocketConnection.onStreamData);
    conn.stream.on('drain', WebSocketConnection.onStreamDrain);
    // 'close' is emitted once per socket: `on` spares the wrapper `once` would keep (issue 9).
    conn.stream.on('close', WebSocketConnection.onStreamClose);
  }

  // The shared listeners (see WS_CONNECTION). Static, so that they may call the connection's private methods.
  private static onStreamData(this: net.Socket, chunk: Buffer): void {
    connectionOf(this).receive(chunk);
  }

  private static onStreamDrain(this: net.Socket): void {
    connectionOf(this).drained();
  }

  private static onStreamClose(this: net.Socket): void {
    connectionOf(this).closed();
  }

  /** Start reading: call after the 101 is written, with the bytes that came with the handshake. */
  start(unconsumed: Buffer): void {
    this.callHandler(() => this.handler.onOpen?.(this));
    if (unconsumed.length > 0) this.receive(unconsumed);
    // Not while our buffer is full: then 'drain' resumes reading.
    if (this.state !== 'closed' && !this.conn.stream.writableNeedDrain) this.conn.stream.resume();
  }

  get id(): number {
    return this.conn.id;
  }

  // ── reading ────────────────────────────────────────────────────────────

  private receive(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.conn.since = this.reactor.now; // any byte is a sign of life
    const { events, error } = this.parser.push(chunk);
    this.pending = this.pendingAt < this.pending.length ? [...this.pending.slice(this.pendingAt), ...events] : events;
    this.pendingAt = 0;
    this.pendingError = error;
    this.handlePending();
  }

  /**
   * Handle the parsed events in order, but stop while our outgoing buffer
   * needs draining ('drain' goes on): the replies to this client's own
   * messages wait, as its unread bytes wait in the kernel. So a client that
   * sends faster than it reads only slows itself down — one chunk may hold
   * many messages, and their replies must not pile up into a 4008 meant for
   * clients that cannot keep up with what others send them.
   */
  private handlePending(): void {
    const stream = this.conn.stream;
    while (this.pendingAt < this.pending.length) {
      if (stream.writableNeedDrain) {
        stream.pause();
        return;
      }
      this.handle(this.pending[this.pendingAt++]!);
      if ((this.state as WsState) === 'closed') return;
    }
    this.pending = NO_PENDING;
    this.pendingAt = 0;
    const error = this.pendingError;
    this.pendingError = null;
    if (error) this.fail(error.closeCode, error.message);
  }

  private handle(event: WsEvent): void {
    switch (event.type) {
      case 'text':
        this.options.metrics.messagesIn.inc(TEXT_LABELS);
        if (this.options.trace) this.traceMessage('text', event.data);
        if (this.state === 'open') this.callHandler(() => this.handler.onText(this, event.data));
        return;
      case 'binary':
        this.options.metrics.messagesIn.inc(BINARY_LABELS);
        if (this.options.trace) this.traceMessage('binary', event.data);
        if (this.state === 'open') this.callHandler(() => this.handler.onBinary(this, event.data));
        return;
      case 'ping':
        // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong
        // frame in response ... [with] identical 'Application data'".
        // Not after our Close: nothing may follow it (§5.5.1).
        if (!this.sentClose) this.writeFrame(encodeFrame(OPCODE.PONG, event.data), false);
        return;
      case 'pong':
        // §5.5.3: a Pong answers our ping (or is a unidirectional heartbeat); either way the peer is alive.
        this.conn.pingSentAt = null;
        return;
      case 'close':
        if (this.options.trace) this.options.log.info('trace ws close', { conn: this.conn.id, direction: 'in', code: event.code ?? 'none (1005, §7.1.5)', name: event.code === null ? 'no status' : closeCodeName(event.code), ...(this.options.tracePayloads ? { reason: event.reason } : {}) });
        return this.receivedClose(event.code, event.reason);
      case 'frame':
        this.options.log.info('trace ws', { conn: this.conn.id, frame: describeFrame('in', event.header, undefined, this.options.tracePayloads) });
        return;
    }
  }

  /**
   * Run application code. A handler that throws is a bug of ours, not the
   * peer's: it must not escape into the socket's 'data' event (that would end
   * the process, DESIGN.md "errors stay in their connection"). The connection
   * fails with 1011, "an unexpected condition that prevented it from
   * fulfilling the request" (§7.4.1); the error goes to the log only.
   */
  private callHandler(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.options.log.error('websocket handler failed', { conn: this.conn.id, err: err instanceof Error ? err : new Error(String(err)) });
      this.fail(CLOSE.INTERNAL_ERROR, 'internal error');
    }
  }

  /** §5.5.1: the peer's Close. Answer it if we have not sent ours, then close TCP. */
  private receivedClose(code: number | null, reason: string): void {
    if (!this.sentClose) {
      this.closeCode = code ?? CLOSE.NO_STATUS;
      this.closeReason = reason;
      this.sentClose = true;
      this.writeFrame(encodeClose(closeReplyCode(code)), false);
    }
    this.endTcp();
  }

  // ── writing ────────────────────────────────────────────────────────────

  /** Send a text message (a string, or bytes already known to be UTF-8). */
  sendText(text: string | Buffer, droppable = false): boolean {
    const payload = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    return this.sendFrame(encodeFrame(OPCODE.TEXT, payload), droppable);
  }

  sendBinary(data: Buffer): boolean {
    return this.sendFrame(encodeFrame(OPCODE.BINARY, data), false);
  }

  /**
   * Send an already-encoded frame: a broadcast encodes once and hands the same
   * bytes to every member (DESIGN.md "encode once, write many").
   * Returns false if the frame was not sent (dropped, or the connection is closing).
   */
  sendFrame(frame: Buffer, droppable = false): boolean {
    if (this.state !== 'open') return false;
    const stream = this.conn.stream;
    if (stream.writableNeedDrain) {
      if (droppable) {
        this.options.metrics.dropped.inc();
        return false;
      }
      if (stream.writableLength + frame.length > this.options.maxBufferedBytes()) {
        this.options.metrics.slowConsumers.inc();
        this.close(CLOSE.SLOW_CONSUMER, 'slow consumer: reconnect and resume');
        return false;
      }
    }
    this.writeFrame(frame, true);
    return true;
  }

  /** Our outgoing buffer has drained: handle the events that waited for it, then read again. */
  private drained(): void {
    if (this.state === 'closed') return;
    this.handlePending();
    const stream = this.conn.stream;
    if ((this.state as WsState) !== 'closed' && !stream.writableNeedDrain && stream.isPaused()) stream.resume();
  }

  /** Called once per turn by uncorkAll(): send what this turn wrote. */
  uncork(): void {
    this.corked = false;
    this.conn.stream.uncork();
  }

  /** Write frame bytes; a burst in one turn of the event loop leaves in one batch (cork until next tick). */
  private writeFrame(frame: Buffer, pauseIfFull: boolean): void {
    const stream = this.conn.stream;
    if (stream.destroyed || !stream.writable) return;
    if (this.options.trace) this.traceOut(frame);
    if (!this.corked) {
      this.corked = true;
      stream.cork();
      corkedThisTurn.push(this);
      if (corkedThisTurn.length === 1) process.nextTick(uncorkAll);
    }
    this.options.metrics.framesOut.inc();
    const ok = stream.write(frame);
    // Our buffer is full: stop reading this client until it drains (it cannot make us buffer more by sending more).
    if (!ok && pauseIfFull) stream.pause();
  }

  /** A complete incoming message, after reassembly (§5.4): its size, and its text only with `trace_payloads = on`. */
  private traceMessage(type: 'text' | 'binary', data: Buffer): void {
    const payload = !this.options.tracePayloads ? {} : type === 'text' ? { text: data.toString('utf8') } : { hex: data.subarray(0, 64).toString('hex') };
    this.options.log.info('trace ws message', { conn: this.conn.id, direction: 'in', type, bytes: data.length, ...payload });
  }

  private traceOut(frame: Buffer): void {
    const parsed = parseFrameHeader(frame);
    if (parsed) {
      this.options.log.info('trace ws', {
        conn: this.conn.id,
        frame: describeFrame('out', parsed.header, frame.subarray(parsed.headerLength), this.options.tracePayloads),
      });
    }
  }

  // ── closing ────────────────────────────────────────────────────────────

  /** Start the closing handshake (§7.1.2): send Close, wait for the peer's. */
  close(code: number, reason = ''): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.sentClose = true;
    this.closeCode = code;
    this.closeReason = reason;
    this.writeFrame(encodeClose(code, reason), false);
    this.reactor.setPhase(this.conn, 'ws-closing');
  }

  /** Fail the connection (§7.1.7): Close with the error's code, then close TCP without waiting. */
  private fail(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.options.log.debug('websocket failed', { conn: this.conn.id, code, reason });
    if (!this.sentClose) {
      this.sentClose = true;
      this.closeCode = code;
      this.closeReason = reason;
      this.writeFrame(encodeClose(code, reason), false);
    }
    this.endTcp();
  }

  /** Both Close frames have crossed, or the connection failed: close TCP after our bytes are out. */
  private endTcp(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const stream = this.conn.stream;
    stream.off('data', WebSocketConnection.onStreamData);
    stream.end();
    // If the peer does not close its side, the sweep's close timeout destroys the socket.
    this.reactor.setPhase(this.conn, 'ws-closing');
  }

  private closed(): void {
    const wasClean = this.state === 'closed' && this.sentClose;
    this.state = 'closed';
    const code = wasClean || this.sentClose ? this.closeCode : CLOSE.ABNORMAL;
    this.options.metrics.closed.inc({ code: String(code), name: closeCodeName(code) });
    try {
      this.handler.onClose?.(this, code, this.closeReason);
    } catch (err) {
      // The connection is gone already: nothing to close, only to log.
      this.options.log.error('websocket close handler failed', { conn: this.conn.id, err: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  // ── the reactor speaks ─────────────────────────────────────────────────

  onTimeout(reason: TimeoutReason): void {
    // 'pong': the peer did not answer our ping — it is gone or stuck; 'close':
    // it never answered our Close. Either way there is no one to talk to.
    this.options.log.debug('websocket timeout', { conn: this.conn.id, reason });
    this.conn.raw.destroy();
  }

  onPingDue(): void {
    if (this.state !== 'open') return;
    this.conn.pingSentAt = this.reactor.now;
    this.writeFrame(encodeFrame(OPCODE.PING, Buffer.alloc(0)), false);
  }

  onDrain(): void {
    if (this.handler.onDrain) this.handler.onDrain(this);
    else this.close(CLOSE.GOING_AWAY, 'server shutting down');
  }
}
