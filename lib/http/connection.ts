/**
 * One HTTP/1.1 connection: the only file of lib/http that touches a socket
 * (STYLE.md habit 1). It feeds bytes to the sans-IO RequestParser, queues the
 * complete requests, answers them strictly in order (RFC 9112 §9.3.2:
 * "A server MUST send its responses to those requests in the same order that
 * the requests were received"), and hands the socket to the WebSocket layer on
 * an upgrade, with every byte the parser has not consumed (habit 10).
 *
 * Flow for one request:
 *   1. bytes → parser.push() → 'head' / 'body' / 'message-end' events
 *   2. 'message-end' → a complete Request joins the queue
 *   3. pump(): the oldest request is routed (router.ts) and handled
 *   4. the response is serialised (response.ts) and written; if the socket's
 *      buffer is full we wait for 'drain' before the next one (backpressure)
 *   5. keep-alive → back to 1; else end the connection
 *
 * Bounds: at most `max_pipelined_requests` complete requests wait in the
 * queue — past that we stop reading; one response at a time is written. A
 * client that pipelines without reading ends up stalled in 'http-writing'
 * and the sweep closes it after `body_timeout`.
 *
 * Timeouts are the sweep's (reactor.ts): this file only moves the connection
 * between phases and says goodbye when told to.
 */
import { createReadStream } from 'node:fs';
import { RequestParser, type ParseEvent } from './request-parser.js';
import { HttpError } from './http-error.js';
import { headerValues, type RequestHead } from './request-head.js';
import { Router, splitTarget, type Request } from './router.js';
import { errorResponse, jsonResponse, serializeHead, serializeResponse, type HeadOptions, type Response, type ResponseHeaders } from './response.js';
import type { StaticFiles, StaticResponse } from './static-files.js';
import { forwardedClient, clientAddress, type AddressMatcher } from '../net/client-address.js';
import type { Connection, ConnectionOwner, Reactor } from '../net/reactor.js';
import type { TimeoutReason } from '../net/sweep-policy.js';
import type { Logger } from '../log/logger.js';
import type { Counter } from '../metrics/metrics.js';

export interface HttpLimits {
  readonly max_request_line_bytes: number;
  readonly max_header_bytes: number;
  readonly max_header_count: number;
  readonly max_body_bytes: number;
  readonly max_pipelined_requests: number;
  readonly access_log: boolean;
}

/** The WebSocket layer's answer to an upgrade request: it took the socket, or here is the refusal to send. */
export type UpgradeOutcome = { readonly kind: 'upgraded' } | { readonly kind: 'refused'; readonly response: Response };

export interface HttpServices {
  readonly reactor: Reactor;
  readonly router: Router;
  readonly staticFiles: StaticFiles;
  readonly limits: () => HttpLimits;
  readonly commonHeaders: () => ResponseHeaders;
  readonly trustProxy: () => AddressMatcher;
  readonly log: Logger;
  readonly requestsTotal: Counter;
  /** Called for a route of kind 'upgrade'. The HTTP connection has detached from the socket before the call. */
  readonly upgrade: (conn: Connection, req: Request, unconsumed: Buffer) => UpgradeOutcome | Promise<UpgradeOutcome>;
  /** The protocol trace for learners (`trace = http`), or null. */
  readonly traceHead?: ((conn: Connection, head: RequestHead) => void) | null;
}

interface PendingRequest {
  head: RequestHead;
  chunks: Buffer[];
  receivedAt: number;
  needsContinue: boolean;
}

type QueueItem = { readonly kind: 'request'; readonly req: Request } | { readonly kind: 'parse-error'; readonly error: HttpError };

export class HttpConnection implements ConnectionOwner {
  private readonly parser: RequestParser;
  private readonly queue: QueueItem[] = [];
  private current: PendingRequest | null = null;
  private busy = false;
  private closing = false;
  private detached = false;
  private draining = false;
  private requestsServed = 0;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onDrainEvent = () => this.drained();
  private waitingForDrain: (() => void) | null = null;

  constructor(
    private readonly conn: Connection,
    private readonly services: HttpServices,
  ) {
    const limits = services.limits();
    this.parser = new RequestParser({
      maxRequestLineBytes: limits.max_request_line_bytes,
      maxHeaderBytes: limits.max_header_bytes,
      maxHeaderCount: limits.max_header_count,
      maxBodyBytes: limits.max_body_bytes,
    });
    conn.owner = this;
    services.reactor.setPhase(conn, 'http-head');
    conn.stream.on('data', this.onData);
    conn.stream.on('drain', this.onDrainEvent);
  }

  // ── reading ────────────────────────────────────────────────────────────

  private receive(chunk: Buffer): void {
    if (this.detached || this.closing) return;
    const { events, error } = this.parser.push(chunk);
    this.handleEvents(events);
    if (error) this.failParse(error);
    this.afterRead();
  }

  private handleEvents(events: readonly ParseEvent[]): void {
    const reactor = this.services.reactor;
    for (const event of events) {
      switch (event.type) {
        case 'head': {
          this.current = { head: event.head, chunks: [], receivedAt: reactor.now, needsContinue: false };
          this.services.traceHead?.(this.conn, event.head);
          // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` waits for a
          // 100 before sending the body. Say it now unless responses are still owed
          // (it would overtake them); then it goes out when this request is next.
          if (event.head.expectContinue && event.head.framing.kind !== 'none') {
            if (this.queue.length === 0 && !this.busy) this.write(CONTINUE);
            else this.current.needsContinue = true;
          }
          break;
        }
        case 'body':
          this.current?.chunks.push(event.chunk);
          break;
        case 'message-end': {
          const p = this.current!;
          this.current = null;
          this.enqueueRequest(p);
          break;
        }
      }
    }
  }

  private enqueueRequest(p: PendingRequest): void {
    const target = splitTarget(p.head.target) ?? { path: p.head.target, query: '' };
    const peerIp = this.conn.peer.ip;
    const forwarded = headerValues(p.head, 'x-forwarded-for');
    const clientIp = forwarded.length > 0 ? forwardedClient(peerIp, forwarded, this.services.trustProxy()) : peerIp;
    const req: Request = {
      head: p.head,
      path: target.path,
      query: target.query,
      body: p.chunks.length === 1 ? p.chunks[0]! : Buffer.concat(p.chunks),
      client: clientIp === peerIp ? this.conn.peer : clientAddress(clientIp),
      secure: this.conn.secure,
      receivedAt: p.receivedAt,
    };
    this.queue.push({ kind: 'request', req });
  }

  private failParse(error: HttpError): void {
    this.current = null;
    this.queue.push({ kind: 'parse-error', error });
    // Framing is lost: read nothing more from this client.
    this.conn.stream.off('data', this.onData);
  }

  /** Phase bookkeeping and backpressure after each read, then serve what is queued. */
  private afterRead(): void {
    if (this.queue.length >= this.services.limits().max_pipelined_requests) this.conn.stream.pause();
    if (!this.busy) this.updateReadPhase(true);
    this.pump();
  }

  /** Between responses: are we waiting for a head, reading a body, or idle? */
  private updateReadPhase(progress: boolean): void {
    const reactor = this.services.reactor;
    const phase = this.conn.phase;
    if (this.current !== null) {
      // Body bytes are progress: `since` moves with them (body_timeout is a stall
      // timeout); the whole-body deadline counts from the phase's start.
      if (phase !== 'http-body') reactor.setPhase(this.conn, 'http-body');
      else if (progress) reactor.progress(this.conn);
    } else if (!this.parser.idle) {
      // Part of a head is here: header_timeout counts from its first byte, not the latest.
      if (phase !== 'http-head') reactor.setPhase(this.conn, 'http-head');
    } else if (phase !== 'http-idle' && phase !== 'http-head') {
      reactor.setPhase(this.conn, this.requestsServed === 0 ? 'http-head' : 'http-idle');
    }
  }

  // ── answering ──────────────────────────────────────────────────────────

  /** Answer queued requests one at a time, in order. */
  private pump(): void {
    while (!this.busy && !this.closing && !this.detached && this.queue.length > 0) {
      const item = this.queue.shift()!;
      if (this.queue.length < this.services.limits().max_pipelined_requests && this.conn.stream.isPaused()) this.conn.stream.resume();
      this.busy = true;
      this.services.reactor.setPhase(this.conn, 'http-busy');
      if (item.kind === 'parse-error') {
        if (this.services.limits().access_log) {
          // No method or path to show: the request could not be read (the message names the rule, never the bytes).
          this.services.log.info('request refused', { ip: this.conn.peer.ip, status: item.error.status, code: item.error.code, reason: item.error.message });
        }
        this.send(null, errorResponse(item.error), true, 0);
        continue;
      }
      let answering: Promise<void> | void;
      try {
        answering = this.serve(item.req);
      } catch (err) {
        this.internalError(err);
        continue;
      }
      answering?.catch((err: unknown) => this.internalError(err));
    }
    if (!this.busy && !this.closing && !this.detached) {
      if (this.current?.needsContinue) {
        this.current.needsContinue = false;
        this.write(CONTINUE);
      }
      if (this.draining && this.queue.length === 0 && this.current === null) this.end();
      else this.updateReadPhase(false);
    }
  }

  /**
   * Route one request and answer it. Returns a promise only when the answer
   * has to wait (a handler, the disk, an upgrade); a cached file or a routing
   * error is answered before it returns, without a promise or a microtask.
   */
  private serve(req: Request): Promise<void> | void {
    const started = this.services.reactor.now;
    const route = this.services.router.route(req.head.method, req.path);
    switch (route.kind) {
      case 'error':
        return this.send(req, errorResponse(route.error), route.error.close, started);
      case 'upgrade':
        return this.upgrade(req, started);
      case 'static':
        return this.serveStatic(req, started);
      case 'handler':
        return this.serveHandler(req, route.handler, started);
    }
  }

  private async serveHandler(req: Request, handler: (req: Request) => Response | Promise<Response>, started: number): Promise<void> {
    let response: Response;
    let close = false;
    try {
      response = await handler(req);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      response = errorResponse(err);
      close = err.close;
    }
    return this.send(req, response, close, started);
  }

  private async upgrade(req: Request, started: number): Promise<void> {
    if (req.head.upgrade === null) {
      // A plain request to a WebSocket path: the WebSocket layer answers it
      // (API.md: `HEAD /ws` gets what a plain `GET /ws` gets; `POST /ws` → 405).
      const outcome = await this.services.upgrade(this.conn, req, Buffer.alloc(0));
      if (outcome.kind === 'refused') this.send(req, outcome.response, false, started);
      return;
    }
    if (this.draining) {
      return this.send(req, errorResponse(DRAINING), true, started);
    }
    // Hand the socket over. The parser paused right after this request, so
    // everything it holds belongs to the WebSocket layer; the socket is paused
    // until the WebSocket layer reads it (or we take it back).
    this.detach();
    const unconsumed = this.parser.takeUnconsumed();
    const outcome = await this.services.upgrade(this.conn, req, unconsumed);
    if (outcome.kind === 'upgraded') {
      this.accessLog(req, 101, 0, started);
      this.services.requestsTotal.inc(statusLabels(101));
      return;
    }
    // Refused: this is still an HTTP connection. The refusal closes it — the
    // client may already be sending frames we must not read as HTTP.
    this.reattach();
    this.send(req, outcome.response, true, started);
  }

  /** A cached small file answers at once (no promise, no disk); anything else goes through serveStaticFromDisk. */
  private serveStatic(req: Request, started: number): Promise<void> | void {
    const cached = this.services.staticFiles.serveCached(req.head, req.path);
    if (cached !== null && cached.kind === 'buffer') return this.send(req, cached, false, started);
    return this.serveStaticFromDisk(req, started);
  }

  private async serveStaticFromDisk(req: Request, started: number): Promise<void> {
    let result: StaticResponse;
    try {
      result = await this.services.staticFiles.serve(req.head, req.path);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return this.send(req, errorResponse(err), false, started);
    }
    if (result.kind === 'buffer') {
      return this.send(req, { status: result.status, headers: result.headers, body: result.body }, false, started);
    }
    // A large file: stream it, pausing the file while the socket is full.
    const close = this.shouldClose(req);
    this.write(this.head(req, result.status, result.headers, result.size, close));
    if (req.head.method === 'HEAD') return this.finish(req, result.status, 0, started, close);
    const file = createReadStream(result.path, { start: 0, end: Math.max(0, result.size - 1), highWaterMark: 64 * 1024 });
    let sent = 0;
    file.on('data', (chunk) => {
      sent += chunk.length;
      if (!this.write(chunk as Buffer)) {
        file.pause();
        this.waitForDrain(() => file.resume());
      }
    });
    file.on('error', (err) => {
      this.services.log.error('static file read failed', { err, path: req.path });
      this.conn.raw.destroy(); // the head is out; the only honest signal left is a cut connection
    });
    file.on('end', () => {
      if (sent !== result.size) {
        this.conn.raw.destroy(); // the file shrank under us: the announced length would lie
        return;
      }
      this.finish(req, result.status, sent, started, close);
    });
  }

  private internalError(err: unknown): void {
    this.services.log.error('request handler failed', { err: err instanceof Error ? err : new Error(String(err)) });
    this.busy = false;
    this.send(null, errorResponse(new HttpError(500, 'internal', 'internal error')), true, this.services.reactor.now);
  }

  /** Write a whole response, then continue with the next request or close. */
  private send(req: Request | null, response: Response, forceClose: boolean, started: number): void {
    const close = forceClose || this.shouldClose(req);
    const isHead = req?.head.method === 'HEAD';
    const hasBody = !isHead && response.body.length > 0 && !(response.status === 304 || response.status === 204);
    const options = this.headOptions(req, response.body.length, close);
    if (!hasBody) this.write(serializeHead(response.status, response.headers, options));
    else if (response.body.length <= ONE_WRITE_MAX_BODY) this.write(serializeResponse(response.status, response.headers, options, response.body));
    else this.writev(serializeHead(response.status, response.headers, options), response.body);
    this.finish(req, response.status, hasBody ? response.body.length : 0, started, close);
  }

  private head(req: Request | null, status: number, headers: ResponseHeaders, length: number, close: boolean): Buffer {
    return serializeHead(status, headers, this.headOptions(req, length, close));
  }

  private headOptions(req: Request | null, length: number, close: boolean): HeadOptions {
    return { close, keepAliveFor10: !close && req?.head.version === '1.0', contentLength: length, common: this.services.commonHeaders() };
  }

  private shouldClose(req: Request | null): boolean {
    return req === null || !req.head.keepAlive || this.draining;
  }

  private finish(req: Request | null, status: number, bytes: number, started: number, close: boolean): void {
    this.requestsServed++;
    this.services.requestsTotal.inc(statusLabels(status));
    if (req) this.accessLog(req, status, bytes, started);
    const next = () => {
      this.busy = false;
      if (close) return this.end();
      if (req && req.head.upgrade !== null) {
        // We did not upgrade: go on parsing what came after it as HTTP.
        const { events, error } = this.parser.resume();
        this.handleEvents(events);
        if (error) this.failParse(error);
      }
      this.pump();
    };
    if (this.conn.stream.writableNeedDrain) this.waitForDrain(next);
    else next();
  }

  private accessLog(req: Request, status: number, bytes: number, started: number): void {
    if (!this.services.limits().access_log) return;
    // The path only: a query string is the client's and may hold anything.
    this.services.log.info('request', {
      ip: req.client.ip,
      method: req.head.method,
      path: req.path.length > 200 ? req.path.slice(0, 200) + '…' : req.path,
      status,
      bytes,
      ms: this.services.reactor.now - started,
    });
  }

  // ── writing ────────────────────────────────────────────────────────────

  private write(buf: Buffer): boolean {
    if (this.conn.stream.destroyed) return true;
    return this.conn.stream.write(buf);
  }

  /** Head and body in one syscall where the socket allows it. */
  private writev(a: Buffer, b: Buffer): void {
    const s = this.conn.stream;
    if (s.destroyed) return;
    s.cork();
    s.write(a);
    s.write(b);
    s.uncork();
  }

  private waitForDrain(then: () => void): void {
    this.services.reactor.setPhase(this.conn, 'http-writing');
    this.waitingForDrain = then;
  }

  private drained(): void {
    const then = this.waitingForDrain;
    if (!then) return;
    this.waitingForDrain = null;
    this.services.reactor.setPhase(this.conn, 'http-busy');
    then();
  }

  /** Close after everything written is flushed (TLS sends close_notify). */
  private end(): void {
    if (this.closing) return;
    this.closing = true;
    this.conn.stream.off('data', this.onData);
    this.conn.stream.end();
    // If the peer never finishes its side, the sweep destroys us after body_timeout.
    this.services.reactor.setPhase(this.conn, 'http-writing');
  }

  private detach(): void {
    this.detached = true;
    this.conn.stream.pause();
    this.conn.stream.off('data', this.onData);
    this.conn.stream.off('drain', this.onDrainEvent);
  }

  private reattach(): void {
    this.detached = false;
    this.conn.stream.resume();
    this.conn.owner = this;
    this.conn.stream.on('drain', this.onDrainEvent);
  }

  // ── the reactor speaks ─────────────────────────────────────────────────

  onTimeout(reason: TimeoutReason): void {
    if (this.closing || reason === 'send' || reason === 'keepalive' || reason === 'tls_handshake') {
      this.conn.raw.destroy();
      return;
    }
    // header or body: the client started a request and stalled (slowloris).
    // RFC 9110 §15.5.9: 408 "the server did not receive a complete request
    // message within the time that it was prepared to wait".
    if (this.parser.idle && this.current === null && this.queue.length === 0) {
      this.conn.raw.destroy(); // nothing was sent at all: no one to answer
      return;
    }
    this.conn.stream.off('data', this.onData);
    this.write(serializeHead(408, [['Content-Type', 'application/json; charset=utf-8'], ['Cache-Control', 'no-store']], { close: true, keepAliveFor10: false, contentLength: TIMEOUT_BODY.length, common: this.services.commonHeaders() }));
    this.write(TIMEOUT_BODY);
    this.services.requestsTotal.inc(statusLabels(408));
    this.end();
  }

  onPingDue(): void {
    // Not a WebSocket: nothing to ping.
  }

  onDrain(): void {
    this.draining = true;
    if (!this.busy && this.queue.length === 0 && this.current === null && this.parser.idle) this.end();
  }
}

/**
 * Bodies up to this size leave in the same Buffer as their head (one write,
 * one TLS record); larger ones after it, uncopied. 16 KiB is TLS's largest
 * record (RFC 8446 §5.1), the most one write can fill anyway.
 */
const ONE_WRITE_MAX_BODY = 16 * 1024;
/**
 * The labels of chat_http_requests_total, one frozen object per status (the
 * statuses are the server's own, a bounded set), so the metrics registry
 * finds the series by identity instead of rendering labels per request.
 */
const STATUS_LABELS = new Map<number, Readonly<{ status: number }>>();
function statusLabels(status: number): Readonly<{ status: number }> {
  let labels = STATUS_LABELS.get(status);
  if (labels === undefined) {
    labels = Object.freeze({ status });
    STATUS_LABELS.set(status, labels);
  }
  return labels;
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const DRAINING = new HttpError(503, 'draining', 'the server is shutting down; retry shortly', { headers: { 'Retry-After': '5' } });
const TIMEOUT_BODY = jsonResponse(408, { error: { code: 'bad_request', message: 'the request was not received in time' } }).body;
