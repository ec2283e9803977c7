/**
 * An incremental, sans-IO parser for the frames a WebSocket client sends,
 * which also puts fragmented messages back together. Bytes go in, in pieces
 * cut anywhere; events come out (a whole text or binary message, a ping, a
 * pong, a close), or one WsProtocolError carrying the close code to fail the
 * connection with (RFC 6455 §7.1.7). It holds no socket and sets no timer.
 *
 * Follows RFC 6455:
 *   §5.1  client frames are masked, server frames are not
 *   §5.2  base framing: one state per field of the diagram in constants.ts
 *   §5.3  unmasking
 *   §5.4  fragmentation: reassembly, control frames in between
 *   §5.5  control frames: ≤ 125 bytes, never fragmented; §5.5.1 Close payload
 *   §5.6  data frames; §8.1 text must be UTF-8, checked as bytes arrive
 *   §10.4 limits: the message size is checked from the frame header
 *
 * States, in the order a frame is read:
 *
 *   'frame-head' ─▶ ('length-16' | 'length-64') ─▶ 'mask-key' ─▶ 'payload' ─▶ 'frame-head' …
 *        2 bytes       2 or 8 bytes, if len says     4 bytes      len bytes
 *
 *   and two final states: 'closed' (a Close frame was read; later bytes are
 *   ignored, §5.5.1) and 'failed' (sticky: every later push returns the
 *   same error).
 *
 * Memory follows the bytes that arrived, not what a header promises: a
 * 14-byte header cannot make the server reserve megabytes (§10.4; see
 * PREALLOCATE_MAX_BYTES). The chunks pushed in are only read, never
 * modified or kept. Between frames a parser holds no Buffer at all: the
 * extended length and the masking key are gathered into number fields as
 * their bytes arrive, because every idle connection has a parser and each
 * Buffer would cost it some 200 bytes (issue 9).
 */
import {
  CLOSE,
  FIN_BIT,
  KNOWN_OPCODES,
  LENGTH_16_MARKER,
  LENGTH_64_MARKER,
  LENGTH_MASK,
  MASK_BIT,
  MASK_KEY_BYTES,
  MAX_16BIT_LENGTH,
  MAX_7BIT_LENGTH,
  MAX_CONTROL_PAYLOAD,
  OPCODE,
  OPCODE_MASK,
  RSV1_BIT,
  RSV2_BIT,
  RSV3_BIT,
  RSV_MASK,
  isControlOpcode,
} from './constants.js';
import { validateClosePayload } from './close.js';
import { copyMaskedWord, maskOctet } from './mask.js';
import { Utf8Validator } from './utf8-validator.js';
import { WsProtocolError } from './ws-error.js';

export interface FrameParserOptions {
  /**
   * The largest message (the sum of its fragments' payloads) accepted. A frame
   * header that proves a message would exceed it fails with 1009 before its
   * payload arrives (§10.4). An empty fragment that is not the last one counts
   * as one byte, so a message cannot go on for ever in empty fragments either.
   */
  readonly maxMessageBytes: number;
  /**
   * true on a server: every client frame must be masked (§5.1: "The server
   * MUST close the connection upon receiving a frame that is not masked").
   * false to parse a server's frames in a test client, where the rule is the
   * mirror image: "A client MUST close a connection if it detects a masked
   * frame" (§5.1). Either way a frame with the wrong MASK bit fails with 1002.
   */
  readonly requireMask: boolean;
  /** Also emit a 'frame' event per frame header, for the protocol trace. Off by default: no per-frame allocation. */
  readonly emitFrameHeaders?: boolean;
}

export type LengthEncoding = '7-bit' | '16-bit' | '64-bit';

/** The fields of one frame header (§5.2), as read off the wire. */
export interface FrameHeader {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payloadLength: number;
  /** Which form carried the length: "Payload len" itself, or the 16- or 64-bit extended length. */
  readonly lengthEncoding: LengthEncoding;
  readonly maskKey: Buffer | null;
}

export type WsEvent =
  /** A complete text message, already validated as UTF-8. */
  | { readonly type: 'text'; readonly data: Buffer }
  | { readonly type: 'binary'; readonly data: Buffer }
  | { readonly type: 'ping'; readonly data: Buffer }
  | { readonly type: 'pong'; readonly data: Buffer }
  /** `code` null: the Close frame had no payload, reported as 1005 (§7.1.5). */
  | { readonly type: 'close'; readonly code: number | null; readonly reason: string }
  /** Only with `emitFrameHeaders`: a frame header was read, before its payload. */
  | { readonly type: 'frame'; readonly header: FrameHeader };

export interface FrameParseResult {
  /** What the bytes completed, in order (those before an error included). */
  readonly events: readonly WsEvent[];
  /** Set once the connection must fail; the same error from then on. */
  readonly error: WsProtocolError | null;
}

export type FrameParserState = 'frame-head' | 'length-16' | 'length-64' | 'mask-key' | 'payload' | 'closed' | 'failed';

/**
 * A payload up to this size gets its whole buffer when its first byte arrives,
 * and is unmasked straight into it however it is split: one copy. A bigger
 * payload that arrives in several pieces is unmasked into one buffer per
 * piece, joined when its message ends, so that memory grows only with bytes
 * received. (A payload that arrives in one chunk is always one copy.)
 */
const PREALLOCATE_MAX_BYTES = 64 * 1024;

/**
 * Every Buffer costs the heap about a hundred bytes of bookkeeping whatever its
 * size, so a message sent as 1-byte fragments (7 bytes each on the wire) would
 * make us hold ~100 bytes per byte the limit allows: 64 KiB of message, 8 MB
 * of memory. Pieces smaller than this, after a message's first few, are
 * copied into shared blocks of COALESCE_BLOCK_BYTES instead, so memory stays
 * close to the message bytes however the peer fragments them (§10.4).
 */
const COALESCE_BELOW_BYTES = 4 * 1024;
const COALESCE_BLOCK_BYTES = 16 * 1024;
/** The first pieces of a message are kept as they are: most messages are one frame, and need no copy. */
const UNCOALESCED_PIECES = 8;

const NO_EVENTS: readonly WsEvent[] = Object.freeze([]);

export class FrameParser {
  private readonly maxMessageBytes: number;
  private readonly requireMask: boolean;
  private readonly emitFrameHeaders: boolean;

  private current: FrameParserState = 'frame-head';
  private failure: WsProtocolError | null = null;

  // The frame being read (§5.2).
  private firstByteRead = false;
  private fin = false;
  private rsv = 0;
  private opcode = 0;
  private masked = false;
  private payloadLength = 0;
  private lengthEncoding: LengthEncoding = '7-bit';
  /** The frame's masking key as one word (see mask.ts). */
  private maskKey = 0;
  /**
   * The multi-byte field being read (an extended length or the masking key;
   * a field may be split across chunks): its bytes so far, in network byte
   * order (§5.2), and how many there were. A 64-bit length is read as two
   * 32-bit words; `lengthHigh` keeps the first. Words are kept as int32, the
   * form V8 stores inside the object without a box (mask.ts); read one as
   * unsigned with `>>> 0`.
   */
  private fieldValue = 0;
  private fieldFilled = 0;
  private lengthHigh = 0;

  // The frame's payload.
  private payloadReceived = 0;
  /** The whole payload's buffer, when it was allocated at once (see PREALLOCATE_MAX_BYTES). */
  private frameBuffer: Buffer | null = null;

  // The message being reassembled (§5.4): open from its first frame's header until its FIN frame ends.
  private messageOpcode: typeof OPCODE.TEXT | typeof OPCODE.BINARY | null = null;
  private messagePieces: Buffer[] = [];
  /** The block small pieces are being copied into (see COALESCE_BELOW_BYTES), and how much of it is filled. */
  private block: Buffer | null = null;
  private blockFill = 0;
  /** Payload bytes of the message's finished frames. */
  private messageBytes = 0;
  /**
   * Finished empty fragments of the message that were not its last. Each counts
   * as one byte against maxMessageBytes: they hold no memory, but a message
   * that never ends in empty fragments would otherwise be bounded by nothing.
   */
  private emptyFragments = 0;
  private readonly utf8 = new Utf8Validator();

  constructor(options: FrameParserOptions) {
    if (!Number.isSafeInteger(options.maxMessageBytes) || options.maxMessageBytes < 0) {
      throw new RangeError('maxMessageBytes must be a non-negative integer');
    }
    this.maxMessageBytes = options.maxMessageBytes;
    this.requireMask = options.requireMask;
    this.emitFrameHeaders = options.emitFrameHeaders ?? false;
  }

  get state(): FrameParserState {
    return this.current;
  }

  /** A text or binary message has begun and not yet ended. */
  get messageInProgress(): boolean {
    return this.messageOpcode !== null;
  }

  /**
   * Feed the next bytes from the peer. The chunk is only read, never
   * modified or kept.
   */
  push(chunk: Buffer): FrameParseResult {
    if (this.failure !== null) return { events: NO_EVENTS, error: this.failure };

    const events: WsEvent[] = [];
    let at = 0;
    while (at < chunk.length) {
      let step: number | WsProtocolError;
      switch (this.current) {
        case 'frame-head':
          step = this.readFrameHead(chunk, at, events);
          break;
        case 'length-16':
          step = this.readLength16(chunk, at, events);
          break;
        case 'length-64':
          step = this.readLength64(chunk, at, events);
          break;
        case 'mask-key':
          step = this.readMaskKey(chunk, at, events);
          break;
        case 'payload':
          step = this.readPayload(chunk, at, events);
          break;
        case 'closed':
          // "After sending a Close frame, the endpoint MUST NOT send any more
          // data frames" (§5.5.1); whatever the peer sends anyway is
          // discarded, not an error.
          return { events: events.length === 0 ? NO_EVENTS : events, error: null };
        case 'failed':
          // Not reached: fail() returns at once.
          return { events, error: this.failure };
      }
      if (step instanceof WsProtocolError) return this.fail(step, events);
      at = step;
    }
    return { events: events.length === 0 ? NO_EVENTS : events, error: null };
  }

  // ─── 'frame-head': FIN, RSV1–3, opcode | MASK, Payload len ───────────────

  private readFrameHead(chunk: Buffer, at: number, events: WsEvent[]): number | WsProtocolError {
    // Each byte is checked as soon as it arrives: a bad first byte fails the
    // connection without waiting for the second (STYLE.md habit 7).
    if (!this.firstByteRead) {
      const error = this.readFirstByte(chunk[at]!);
      if (error) return error;
      this.firstByteRead = true;
      at++;
      if (at === chunk.length) return at;
    }
    const error = this.readSecondByte(chunk[at]!, events);
    return error ?? at + 1;
  }

  /** Byte 0: FIN, RSV1–3, opcode (§5.2). */
  private readFirstByte(byte: number): WsProtocolError | null {
    this.fin = (byte & FIN_BIT) !== 0;
    this.rsv = byte & RSV_MASK;
    this.opcode = byte & OPCODE_MASK;

    // 1. RSV1–3 "MUST be 0 unless an extension is negotiated that defines
    //    meanings for non-zero values. If a nonzero value is received and none
    //    of the negotiated extensions defines the meaning of such a nonzero
    //    value, the receiving endpoint MUST _Fail the WebSocket Connection_."
    //    (§5.2) We negotiate no extension (§9.1).
    if (this.rsv !== 0) return protocolError('a reserved bit (RSV1-3) is set and no extension was negotiated');

    // 2. "If an unknown opcode is received, the receiving endpoint MUST _Fail
    //    the WebSocket Connection_." (§5.2) 0x3–0x7 and 0xB–0xF are reserved.
    if (!KNOWN_OPCODES.has(this.opcode)) return protocolError(`reserved opcode 0x${this.opcode.toString(16)}`);

    if (isControlOpcode(this.opcode)) {
      // 3. "Control frames themselves MUST NOT be fragmented." (§5.5)
      if (!this.fin) return protocolError('a control frame is fragmented (FIN=0)');
    } else if (this.opcode === OPCODE.CONTINUATION) {
      // 4. A continuation frame continues a message already begun (§5.4).
      if (this.messageOpcode === null) return protocolError('a continuation frame with no message to continue');
    } else if (this.messageOpcode !== null) {
      // 5. "The fragments of one message MUST NOT be interleaved between the
      //    fragments of another message unless an extension has been
      //    negotiated" (§5.4): a new text or binary frame must wait for FIN.
      return protocolError('a new message began before the previous one ended');
    }
    return null;
  }

  /** Byte 1: MASK, Payload len (§5.2). */
  private readSecondByte(byte: number, events: WsEvent[]): WsProtocolError | null {
    this.masked = (byte & MASK_BIT) !== 0;
    const length7 = byte & LENGTH_MASK;

    // 6. Masking goes one way only (§5.1): client to server always, server
    //    to client never. See FrameParserOptions.requireMask.
    if (this.masked !== this.requireMask) {
      return protocolError(this.requireMask ? 'a client frame is not masked' : 'a server frame is masked');
    }

    // 7. "All control frames MUST have a payload length of 125 bytes or less"
    //    (§5.5): that is, no extended length.
    if (isControlOpcode(this.opcode) && length7 > MAX_CONTROL_PAYLOAD) {
      return protocolError('a control frame payload is longer than 125 bytes');
    }

    this.firstByteRead = false;
    this.fieldValue = 0;
    this.fieldFilled = 0;
    // 8. "Payload len": 0–125 is the length; 126 and 127 announce an extended length.
    if (length7 === LENGTH_16_MARKER) {
      this.current = 'length-16';
      return null;
    }
    if (length7 === LENGTH_64_MARKER) {
      this.current = 'length-64';
      return null;
    }
    return this.lengthKnown(length7, '7-bit', events);
  }

  // ─── 'length-16' and 'length-64': the extended payload length ────────────

  private readLength16(chunk: Buffer, at: number, events: WsEvent[]): number | WsProtocolError {
    at = this.gather(chunk, at, 2);
    if (this.fieldFilled < 2) return at;
    const length = this.fieldValue;
    // 9. "The minimal number of bytes MUST be used to encode the length" (§5.2).
    if (length <= MAX_7BIT_LENGTH) return protocolError(`16-bit length ${length} should have used the 7-bit form`);
    return this.lengthKnown(length, '16-bit', events) ?? at;
  }

  private readLength64(chunk: Buffer, at: number, events: WsEvent[]): number | WsProtocolError {
    if (this.fieldFilled < 4) {
      at = this.gather(chunk, at, 4);
      if (this.fieldFilled < 4) return at;
      // The high word is complete; the low word is gathered from zero.
      this.lengthHigh = this.fieldValue;
      this.fieldValue = 0;
    }
    at = this.gather(chunk, at, 8);
    if (this.fieldFilled < 8) return at;
    const high = this.lengthHigh >>> 0;
    const low = this.fieldValue >>> 0;
    // 10. A 64-bit length: "the most significant bit MUST be 0" (§5.2).
    if (high >= 0x8000_0000) return protocolError('64-bit length has its most significant bit set');
    // Exact up to 2^53; anything larger is far beyond any message limit, and
    // is refused with 1009 just the same.
    const length = high * 2 ** 32 + low;
    // 11. "The minimal number of bytes MUST be used to encode the length" (§5.2).
    if (length <= MAX_16BIT_LENGTH) return protocolError(`64-bit length ${length} should have used a shorter form`);
    return this.lengthKnown(length, '64-bit', events) ?? at;
  }

  /** The payload length is read: check the limit, then go on to the masking key or the payload. */
  private lengthKnown(length: number, encoding: LengthEncoding, events: WsEvent[]): WsProtocolError | null {
    this.payloadLength = length;
    this.lengthEncoding = encoding;

    // 12. The message limit, from the header, before any payload arrives
    //     (§10.4: "implementations ... SHOULD impose a limit on frame sizes
    //     and the total message size after reassembly from multiple frames").
    //     Control frames (≤ 125 bytes) belong to no message. An empty fragment
    //     before the last counts as one byte (see emptyFragments): the RFC
    //     allows empty fragments (§5.4), not messages of endless ones.
    if (!isControlOpcode(this.opcode)) {
      const cost = length === 0 && !this.fin ? 1 : length;
      if (this.messageBytes + this.emptyFragments + cost > this.maxMessageBytes) {
        return new WsProtocolError(
          CLOSE.MESSAGE_TOO_BIG,
          this.emptyFragments > 0
            ? `message would be larger than ${this.maxMessageBytes} bytes (each of its ${this.emptyFragments} empty fragments counts as one)`
            : `message would be larger than ${this.maxMessageBytes} bytes`,
        );
      }
    }

    if (this.masked) {
      this.current = 'mask-key';
      this.fieldValue = 0;
      this.fieldFilled = 0;
      return null;
    }
    return this.headerComplete(events);
  }

  // ─── 'mask-key': "Masking-key: 0 or 4 bytes" (§5.2, §5.3) ───────────────

  private readMaskKey(chunk: Buffer, at: number, events: WsEvent[]): number | WsProtocolError {
    at = this.gather(chunk, at, MASK_KEY_BYTES);
    if (this.fieldFilled < MASK_KEY_BYTES) return at;
    this.maskKey = this.fieldValue;
    return this.headerComplete(events) ?? at;
  }

  /** The whole header is read: open the message if this frame starts one, then read the payload. */
  private headerComplete(events: WsEvent[]): WsProtocolError | null {
    if (this.emitFrameHeaders) events.push({ type: 'frame', header: this.header() });
    if (this.opcode === OPCODE.TEXT || this.opcode === OPCODE.BINARY) {
      this.messageOpcode = this.opcode;
      this.utf8.reset();
    }
    this.current = 'payload';
    this.payloadReceived = 0;
    this.frameBuffer = null;
    // An empty payload ends the frame here, with no more bytes to wait for.
    return this.payloadLength === 0 ? this.frameComplete(events) : null;
  }

  // ─── 'payload': "Payload data" (§5.2) ───────────────────────────────────

  private readPayload(chunk: Buffer, at: number, events: WsEvent[]): number | WsProtocolError {
    const count = Math.min(this.payloadLength - this.payloadReceived, chunk.length - at);

    // Where these bytes go (see PREALLOCATE_MAX_BYTES): the frame's own
    // buffer, allocated with its first bytes if the whole payload is small
    // (every control frame is, §5.5) or already here; otherwise a buffer for
    // just this piece of a large data frame.
    let target: Buffer;
    let targetStart: number;
    if (
      this.frameBuffer === null &&
      (isControlOpcode(this.opcode) || this.payloadLength <= PREALLOCATE_MAX_BYTES || count === this.payloadLength)
    ) {
      this.frameBuffer = Buffer.allocUnsafe(this.payloadLength);
    }
    if (this.frameBuffer !== null) {
      target = this.frameBuffer;
      targetStart = this.payloadReceived;
    } else {
      target = Buffer.allocUnsafe(count);
      targetStart = 0;
    }

    // Unmask while copying (§5.3): the key index continues from the payload
    // bytes already received.
    if (this.masked) copyMaskedWord(chunk, at, target, targetStart, count, this.maskKey, this.payloadReceived);
    else chunk.copy(target, targetStart, at, at + count);

    // Text is checked as it arrives, so invalid UTF-8 fails the connection at
    // once, even in the middle of a large frame (§8.1).
    if (this.messageOpcode === OPCODE.TEXT && !isControlOpcode(this.opcode)) {
      if (!this.utf8.push(target, targetStart, targetStart + count)) {
        return new WsProtocolError(CLOSE.INVALID_PAYLOAD, 'text message is not valid UTF-8');
      }
    }

    if (this.frameBuffer === null) this.addPiece(target);
    this.payloadReceived += count;
    at += count;
    if (this.payloadReceived < this.payloadLength) return at;
    return this.frameComplete(events) ?? at;
  }

  /** A frame's payload is all here: deliver what it completes, then expect the next frame. */
  private frameComplete(events: WsEvent[]): WsProtocolError | null {
    const frameBuffer = this.frameBuffer;
    this.frameBuffer = null;
    this.current = 'frame-head';
    if (isControlOpcode(this.opcode)) return this.controlFrameComplete(frameBuffer ?? Buffer.alloc(0), events);

    // A data frame (§5.6) or one fragment of a message (§5.4). Its payload is
    // in its own buffer, or was put into messagePieces piece by piece.
    if (frameBuffer !== null) this.addPiece(frameBuffer);
    this.messageBytes += this.payloadLength;
    if (this.payloadLength === 0 && !this.fin) this.emptyFragments++;
    // "FIN: Indicates that this is the final fragment in a message." (§5.2)
    return this.fin ? this.messageComplete(events) : null;
  }

  /** Control frames (§5.5) are answered on their own, even between the fragments of a message (§5.4). */
  private controlFrameComplete(payload: Buffer, events: WsEvent[]): WsProtocolError | null {
    switch (this.opcode) {
      case OPCODE.PING:
        events.push({ type: 'ping', data: payload });
        return null;
      case OPCODE.PONG:
        events.push({ type: 'pong', data: payload });
        return null;
      default: {
        // OPCODE.CLOSE: the payload rules are in close.ts (§5.5.1).
        const close = validateClosePayload(payload);
        if (close instanceof WsProtocolError) return close;
        events.push({ type: 'close', code: close.code, reason: close.reason });
        this.current = 'closed';
        this.dropMessage();
        return null;
      }
    }
  }

  /** The FIN frame of a message ended: deliver the message whole. */
  private messageComplete(events: WsEvent[]): WsProtocolError | null {
    const isText = this.messageOpcode === OPCODE.TEXT;
    // A text message must also end between characters, not inside one (§8.1).
    if (isText && !this.utf8.end()) {
      return new WsProtocolError(CLOSE.INVALID_PAYLOAD, 'text message ends inside a UTF-8 sequence');
    }
    this.sealBlock();
    const pieces = this.messagePieces;
    // One piece (the usual case) is the message itself; more are joined once.
    const data = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, this.messageBytes);
    events.push({ type: isText ? 'text' : 'binary', data });
    this.dropMessage();
    return null;
  }

  /**
   * Read the field's bytes up to its `size`th into `fieldValue`, most
   * significant first (§5.2: "Multibyte length quantities are expressed in
   * network byte order"), across as many chunks as it takes. At most four
   * bytes go into one word: a 64-bit length is gathered as two.
   */
  private gather(chunk: Buffer, at: number, size: number): number {
    const end = Math.min(at + size - this.fieldFilled, chunk.length);
    let value = this.fieldValue;
    for (let i = at; i < end; i++) value = (value << 8) | chunk[i]!;
    this.fieldValue = value;
    this.fieldFilled += end - at;
    return end;
  }

  private header(): FrameHeader {
    return {
      fin: this.fin,
      rsv1: (this.rsv & RSV1_BIT) !== 0,
      rsv2: (this.rsv & RSV2_BIT) !== 0,
      rsv3: (this.rsv & RSV3_BIT) !== 0,
      opcode: this.opcode,
      masked: this.masked,
      payloadLength: this.payloadLength,
      lengthEncoding: this.lengthEncoding,
      maskKey: this.masked ? Buffer.from([0, 1, 2, 3].map((j) => maskOctet(this.maskKey, j))) : null,
    };
  }

  /** Keep one piece of the message being reassembled, coalescing small ones (see COALESCE_BELOW_BYTES). */
  private addPiece(piece: Buffer): void {
    if (piece.length >= COALESCE_BELOW_BYTES || (this.block === null && this.messagePieces.length < UNCOALESCED_PIECES)) {
      this.sealBlock();
      this.messagePieces.push(piece);
      return;
    }
    if (this.block === null || this.blockFill + piece.length > this.block.length) {
      this.sealBlock();
      this.block = Buffer.allocUnsafe(COALESCE_BLOCK_BYTES);
      this.blockFill = 0;
    }
    piece.copy(this.block, this.blockFill);
    this.blockFill += piece.length;
  }

  /** The filled part of the current block becomes a piece; the next small piece starts a new block. */
  private sealBlock(): void {
    if (this.block !== null && this.blockFill > 0) this.messagePieces.push(this.block.subarray(0, this.blockFill));
    this.block = null;
    this.blockFill = 0;
  }

  private dropMessage(): void {
    this.messageOpcode = null;
    this.messagePieces = [];
    this.block = null;
    this.blockFill = 0;
    this.messageBytes = 0;
    this.emptyFragments = 0;
  }

  private fail(error: WsProtocolError, events: WsEvent[]): FrameParseResult {
    this.current = 'failed';
    this.failure = error;
    this.frameBuffer = null;
    this.dropMessage();
    return { events, error };
  }
}

function protocolError(message: string): WsProtocolError {
  return new WsProtocolError(CLOSE.PROTOCOL_ERROR, message);
}
