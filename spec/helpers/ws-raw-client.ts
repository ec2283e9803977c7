/**
 * A raw WebSocket client for tests, over node:net or node:tls: it performs the
 * opening handshake by hand (RFC 6455 §4.1) and then sends exactly the bytes a
 * test asks for — including what a polite client library refuses to send
 * (STYLE.md habit 14): unmasked frames, reserved opcodes and RSV bits,
 * non-minimal or impossible lengths, a header with no payload, fragmented
 * control frames, a frame cut into many TCP writes with pauses between them.
 *
 * What the server sends back is read with the project's own FrameParser in
 * client mode (`requireMask: false`), so every server frame is also checked
 * against RFC 6455 §5: a masked server frame, a bad close code or a close
 * reason that is not UTF-8 shows up as `serverFrameError`.
 *
 * The handshake's Sec-WebSocket-Accept is checked with node:crypto, not with
 * lib/ws/handshake.ts, so the two computations check each other.
 */
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { FrameParser, type WsEvent } from '../../lib/ws/frame-parser.js';
import type { WsProtocolError } from '../../lib/ws/ws-error.js';
import { seededRandom } from './splits.js';

/** RFC 6455 §1.3. Written out here rather than imported, so a typo in constants.ts cannot hide. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

// ─── frames, built by hand ──────────────────────────────────────────────────

export interface FrameSpec {
  /** Any value 0–15, the reserved ones included (§5.2). */
  readonly opcode: number;
  readonly payload?: Buffer | string;
  /** FIN (default true). */
  readonly fin?: boolean;
  /** RSV1–3 as a 3-bit number, Autobahn's way: 4 = RSV1, 2 = RSV2, 1 = RSV3 (default 0). */
  readonly rsv?: number;
  /** Masked (default true, as a client must, §5.3). */
  readonly masked?: boolean;
  /** The masking key (default: from the client's seeded generator, or RFC 6455 §5.7's key with buildFrame). */
  readonly maskKey?: Buffer;
  /**
   * The payload length written in the header, when it is not the payload's:
   * then the header announces this length and only `payload` follows (a
   * header with no payload, for limits checked from the header, §10.4).
   */
  readonly length?: number | bigint;
  /** Force a length form, even a non-minimal one (§5.2 says the minimal one MUST be used). */
  readonly lengthEncoding?: '7-bit' | '16-bit' | '64-bit';
}

/** The masking key of RFC 6455 §5.7's examples. */
const RFC_MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** The bytes of one frame, exactly as `spec` says, valid or not (RFC 6455 §5.2). */
export function buildFrame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload, 'utf8') : (spec.payload ?? Buffer.alloc(0));
  const masked = spec.masked ?? true;
  const key = spec.maskKey ?? RFC_MASK_KEY;
  const length = BigInt(spec.length ?? payload.length);
  const encoding = spec.lengthEncoding ?? (length <= 125n ? '7-bit' : length <= 0xffffn ? '16-bit' : '64-bit');

  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  if (encoding === '7-bit') {
    head.push(maskBit | Number(length & 0x7fn));
  } else if (encoding === '16-bit') {
    head.push(maskBit | 126, Number((length >> 8n) & 0xffn), Number(length & 0xffn));
  } else {
    head.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((length >> shift) & 0xffn));
  }
  if (masked) head.push(...key);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i % 4]!;
  return Buffer.concat([Buffer.from(head), body]);
}

/** A Close payload: the 2-byte code, then the reason bytes (§5.5.1). */
export function closePayload(code: number, reason: Buffer | string = ''): Buffer {
  const r = typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason;
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

/** Cut `bytes` into pieces of `size` bytes (the last may be shorter). */
export function chop(bytes: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, Math.min(at + size, bytes.length)));
  return pieces;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ─── the client ─────────────────────────────────────────────────────────────

export interface WsConnectOptions {
  readonly tls: boolean;
  readonly path?: string;
  readonly host?: string;
  /** Sec-WebSocket-Key; default: 16 seeded random bytes, base64. */
  readonly key?: string;
  /** Extra request header lines, e.g. ['Origin: http://evil.example']. */
  readonly headers?: readonly string[];
  /** Bytes sent in the same TCP write as the request head (frames before the 101 arrives: the hand-off). */
  readonly afterHead?: Buffer;
  /** Answer every ping with a pong of the same payload (default false: tests look at pings themselves). */
  readonly autoPong?: boolean;
  /** Seed of the masking keys (default 1). */
  readonly seed?: number;
  readonly timeoutMs?: number;
}

export interface Received {
  readonly event: Exclude<WsEvent, { type: 'frame' }>;
  /** performance.now() when it was parsed. */
  readonly at: number;
}

export interface CloseSeen {
  /** The code of the server's Close frame; null if it had no payload; undefined if no Close frame came. */
  readonly code: number | null | undefined;
  readonly reason: string;
  /** The server ended TCP (FIN, after close_notify with TLS) rather than resetting it. */
  readonly fin: boolean;
  /** Events received, in order, before the server's Close frame (pongs included). */
  readonly before: readonly Received['event'][];
}

export class WsRawClient {
  /** Everything the server sent after the 101, as parsed events, in order. */
  readonly events: Received[] = [];
  /** Set if the server sent something a client must refuse (§5.1, §5.5.1…). */
  serverFrameError: WsProtocolError | null = null;
  /** The server's Close frame, when it came. */
  closeFrame: { readonly code: number | null; readonly reason: string; readonly at: number } | null = null;
  /** When the TCP connection closed (performance.now()), or null while open. */
  tcpClosedAt: number | null = null;
  /** The server sent FIN (an orderly end); false if the connection was reset or is still open. */
  finReceived = false;
  autoPong: boolean;

  private readonly parser = new FrameParser({ maxMessageBytes: 256 * 1024 * 1024, requireMask: false });
  /** Every byte received after the 101, as it came (the parser ignores what follows a Close; tests may not). */
  private readonly rawChunks: Buffer[] = [];
  private readonly random: () => number;
  private cursor = 0;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly socket: net.Socket,
    /** The status line and headers of the server's answer (names in lower case). */
    readonly response: { readonly status: number; readonly headers: Map<string, string>; readonly head: string },
    options: WsConnectOptions,
  ) {
    this.autoPong = options.autoPong ?? false;
    this.random = seededRandom(options.seed ?? 1);
  }

  /**
   * Open a TCP or TLS connection and perform the opening handshake (RFC 6455
   * §4.1). Rejects unless the answer is a 101 with the right
   * Sec-WebSocket-Accept.
   */
  static async open(port: number, options: WsConnectOptions): Promise<WsRawClient> {
    const { socket, head, rest } = await handshake(port, options);
    if (head.status !== 101) {
      socket.destroy();
      throw new Error(`expected 101, got ${head.status}: ${head.head.split('\r\n')[0]}`);
    }
    const expected = createHash('sha1').update(head.key + GUID, 'latin1').digest('base64');
    if (head.headers.get('sec-websocket-accept') !== expected) {
      socket.destroy();
      throw new Error(`wrong Sec-WebSocket-Accept: ${head.headers.get('sec-websocket-accept')} (expected ${expected})`);
    }
    const client = new WsRawClient(socket, head, options);
    client.attach(rest);
    return client;
  }

  private attach(rest: Buffer): void {
    const s = this.socket;
    s.on('data', (chunk: Buffer) => this.receive(chunk));
    s.on('end', () => {
      this.finReceived = true;
      this.notify();
    });
    s.on('close', () => {
      this.tcpClosedAt = performance.now();
      this.notify();
    });
    if (rest.length > 0) this.receive(rest);
    s.resume();
  }

  private receive(chunk: Buffer): void {
    this.rawChunks.push(chunk);
    if (this.serverFrameError) return;
    const { events, error } = this.parser.push(chunk);
    const at = performance.now();
    for (const event of events) {
      if (event.type === 'frame') continue;
      this.events.push({ event, at });
      if (event.type === 'close' && this.closeFrame === null) this.closeFrame = { code: event.code, reason: event.reason, at };
      if (event.type === 'ping' && this.autoPong && this.closeFrame === null) void this.send(this.frame({ opcode: OP.PONG, payload: event.data }));
    }
    if (error) this.serverFrameError = error;
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  get isOpen(): boolean {
    return this.tcpClosedAt === null;
  }

  // ── sending ──────────────────────────────────────────────────────────

  /** Build a frame, masked with this client's next seeded key unless the spec gives one. */
  frame(spec: FrameSpec): Buffer {
    const maskKey = spec.maskKey ?? Buffer.from([0, 0, 0, 0].map(() => Math.floor(this.random() * 256)));
    return buildFrame({ ...spec, maskKey });
  }

  /** One TCP (or TLS) write; resolves when the bytes are handed to the kernel. Never rejects: a closed socket is what tests look at afterwards. */
  send(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) return resolve();
      this.socket.write(bytes, () => resolve());
    });
  }

  /** Frames, each built with `frame()`, all in one write. */
  sendFrames(...specs: FrameSpec[]): Promise<void> {
    return this.send(Buffer.concat(specs.map((s) => this.frame(s))));
  }

  /**
   * `bytes` in several writes of `pieceSize` bytes, each waited for, with
   * `pauseMs` between them (0: no timer, but still one write at a time).
   */
  async sendInPieces(bytes: Buffer, pieceSize: number, pauseMs = 0): Promise<void> {
    for (const piece of chop(bytes, pieceSize)) {
      if (!this.isOpen) return;
      await this.send(piece);
      if (pauseMs > 0) await sleep(pauseMs);
    }
  }

  text(text: string | Buffer, fin = true): Promise<void> {
    return this.sendFrames({ opcode: OP.TEXT, payload: text, fin });
  }

  binary(data: Buffer, fin = true): Promise<void> {
    return this.sendFrames({ opcode: OP.BINARY, payload: data, fin });
  }

  ping(payload: Buffer | string = Buffer.alloc(0)): Promise<void> {
    return this.sendFrames({ opcode: OP.PING, payload });
  }

  /** A Close frame; no code → an empty payload. */
  close(code?: number, reason: Buffer | string = ''): Promise<void> {
    return this.sendFrames({ opcode: OP.CLOSE, payload: code === undefined ? Buffer.alloc(0) : closePayload(code, reason) });
  }

  /** Stop reading: the kernel's buffers fill and the server's writes back up. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ── waiting ──────────────────────────────────────────────────────────

  /** Resolves when `predicate()` holds; rejects after `timeoutMs` with `what` and a summary. */
  until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate()) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; ${this.summary()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The next event not yet taken by next(); rejects if the connection closes or the time runs out first. */
  async next(timeoutMs = 5000): Promise<Received['event']> {
    await this.until(() => this.events.length > this.cursor || this.tcpClosedAt !== null || this.serverFrameError !== null, 'the next frame', timeoutMs);
    if (this.events.length > this.cursor) return this.events[this.cursor++]!.event;
    throw new Error(`connection closed before the next frame; ${this.summary()}`);
  }

  /** The next event, which must be a text or binary message; returns its bytes. */
  async nextMessage(type: 'text' | 'binary', timeoutMs = 5000): Promise<Buffer> {
    const event = await this.next(timeoutMs);
    if (event.type !== type) throw new Error(`expected a ${type} message, got ${describeEvent(event)}; ${this.summary()}`);
    return event.data;
  }

  /**
   * Wait for the server's Close frame and for the server to close TCP
   * (§7.1.1: the server closes first). Resolves with what came, whatever it
   * is; tests assert on it.
   */
  async closed(timeoutMs = 5000): Promise<CloseSeen> {
    await this.until(() => this.tcpClosedAt !== null, 'the server to close TCP', timeoutMs);
    const before: Received['event'][] = [];
    for (const { event } of this.events.slice(this.cursor)) {
      if (event.type === 'close') break;
      before.push(event);
    }
    return { code: this.closeFrame === null ? undefined : this.closeFrame.code, reason: this.closeFrame?.reason ?? '', fin: this.finReceived, before };
  }

  /** Wait for the server's Close frame only (TCP may stay open, e.g. while the server waits for our reply). */
  async closeFrameReceived(timeoutMs = 5000): Promise<{ code: number | null; reason: string }> {
    await this.until(() => this.closeFrame !== null || this.tcpClosedAt !== null, "the server's Close frame", timeoutMs);
    if (this.closeFrame === null) throw new Error(`TCP closed without a Close frame; ${this.summary()}`);
    return { code: this.closeFrame.code, reason: this.closeFrame.reason };
  }

  /**
   * How many bytes the server sent after its Close frame — there must be none:
   * "after sending a Close frame, the endpoint MUST NOT send any more data
   * frames" (§5.5.1), and no pong either. null if no Close frame came. Our
   * parser stops at the Close, so this walks the raw bytes frame by frame.
   */
  bytesAfterClose(): number | null {
    const raw = Buffer.concat(this.rawChunks);
    let at = 0;
    while (at + 2 <= raw.length) {
      const opcode = raw[at]! & 0x0f;
      let length = raw[at + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (at + 4 > raw.length) return null;
        length = raw.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (at + 10 > raw.length) return null;
        length = Number(raw.readBigUInt64BE(at + 2));
        header = 10;
      }
      if ((raw[at + 1]! & 0x80) !== 0) header += 4;
      at += header + length;
      if (opcode === OP.CLOSE) return at <= raw.length ? raw.length - at : null;
    }
    return null;
  }

  summary(): string {
    const events = this.events.map((e) => describeEvent(e.event));
    return (
      `received [${events.slice(0, 20).join(', ')}${events.length > 20 ? `, … ${events.length - 20} more` : ''}], ` +
      `tcp ${this.tcpClosedAt === null ? 'open' : this.finReceived ? 'closed by FIN' : 'reset'}` +
      (this.serverFrameError ? `, server frame error: ${this.serverFrameError.message}` : '')
    );
  }
}

export function describeEvent(event: Received['event']): string {
  switch (event.type) {
    case 'close':
      return `close(${event.code ?? 'none'}${event.reason ? ` "${event.reason.slice(0, 40)}"` : ''})`;
    default:
      return `${event.type}(${event.data.length} bytes)`;
  }
}

// ─── the opening handshake, by hand (§4.1) ──────────────────────────────────

export interface HandshakeAnswer {
  readonly status: number;
  readonly headers: Map<string, string>;
  /** The response head as received, for error messages. */
  readonly head: string;
  readonly key: string;
}

/** Connect; resolves once the transport (and TLS) is up. */
export function connectTransport(port: number, useTls: boolean, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket: net.Socket = useTls
      ? tls.connect({ port, host, servername: 'localhost', rejectUnauthorized: false })
      : net.connect({ port, host });
    socket.setNoDelay(true);
    socket.on('error', () => {
      /* a reset shows as 'close' without 'end'; the tests read finReceived */
    });
    const onClose = () => reject(new Error('connection closed before it was established'));
    socket.once('close', onClose);
    socket.once(useTls ? 'secureConnect' : 'connect', () => {
      socket.off('close', onClose);
      resolve(socket);
    });
  });
}

let keySeed = 1000;

/** A fresh Sec-WebSocket-Key: base64 of 16 (seeded) random bytes (§4.1 item 7). */
export function makeKey(): string {
  const rnd = seededRandom(keySeed++);
  return Buffer.from(Array.from({ length: 16 }, () => Math.floor(rnd() * 256))).toString('base64');
}

/** The request head of a client's opening handshake (§4.1), with `headers` added. */
export function handshakeRequest(port: number, key: string, path = '/', headers: readonly string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...headers,
    '',
    '',
  ].join('\r\n');
}

async function handshake(port: number, options: WsConnectOptions): Promise<{ socket: net.Socket; head: HandshakeAnswer; rest: Buffer }> {
  const socket = await connectTransport(port, options.tls, options.host);
  const key = options.key ?? makeKey();
  const request = Buffer.from(handshakeRequest(port, key, options.path ?? '/', options.headers ?? []), 'latin1');
  socket.write(options.afterHead ? Buffer.concat([request, options.afterHead]) : request);
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`no handshake answer; received ${JSON.stringify(buffered.toString('latin1'))}`)), options.timeoutMs ?? 5000);
    const fail = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n', 0, 'latin1');
      if (end === -1) return;
      cleanup();
      // Stop the flow until the client attaches its own reader, so no frame is lost between the two.
      socket.pause();
      const headText = buffered.subarray(0, end).toString('latin1');
      const lines = headText.split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
      resolve({ socket, head: { status: Number(lines[0]!.split(' ')[1]), headers, head: headText, key }, rest: buffered.subarray(end + 4) });
    };
    const onClose = () => fail(new Error(`closed during the handshake; received ${JSON.stringify(buffered.toString('latin1'))}`));
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
