/**
 * An incremental, sans-IO HTTP/1.1 request parser (STYLE.md habit 1): bytes in,
 * events or one HttpError out. It holds no socket, sets no timer, reads no
 * clock and logs nothing. Modelled on python-hyper/h11 and llhttp's strict
 * mode: every state is named, and anything that could let two parsers disagree
 * about where a request ends (request smuggling) is refused, never guessed.
 *
 * Follows RFC 9112 (HTTP/1.1 message syntax): §2.2 (line endings, leading empty
 * lines), §3 (request-line), §5 (field lines), §6 (body length), §7.1 (chunked),
 * §9.3 and §9.6 (persistence and close); and RFC 9110 for field semantics. The
 * grammar of one line lives in `request-parser-head.ts`, that of a chunk-size
 * line in `chunked-coding.ts`.
 *
 * The states of one request, in order:
 *
 *   request-line ─▶ header-lines ─┬─▶ (no body) ───────────────────────────┐
 *                                 ├─▶ body-length ─────────────────────────┤
 *                                 └─▶ chunk-size ─▶ chunk-data ─▶          │
 *                                       ▲    │      chunk-data-crlf ─┐     │
 *                                       └────┼───────────────────────┘     │
 *                                            └─(size 0)─▶ trailer-lines ───┤
 *                                                                          ▼
 *                                                   message-end: then one of
 *        request-line (persistent) · closed (Connection: close) · paused-for-upgrade
 *
 * and `failed` from anywhere, for good (habit 5).
 *
 * Line endings are CRLF only. RFC 9112 §2.2 allows a recipient to accept a bare
 * LF and says a bare CR MAY be replaced by SP; we accept neither, because a
 * front-end that reads lines differently from us is how requests get smuggled.
 */
import { HttpError } from './http-error.js';
import type { HeaderField, RequestHead } from './request-head.js';
import { STATUS, badRequest, buildRequestHead, parseError, parseFieldLine, parseRequestLine, type RequestLine } from './request-parser-head.js';
import { isValidChunkExtensions, scanChunkSize } from './chunked-coding.js';
import { CR, LF } from './token-chars.js';

export interface RequestParserLimits {
  /** 414 when the request-line (without its CRLF) is longer; detected before the CRLF arrives. */
  readonly maxRequestLineBytes: number;
  /** 431 when the header section (every field line with its CRLF; not the final empty line) is larger. Bounds the trailer section too. */
  readonly maxHeaderBytes: number;
  /** 431 when there are more field lines. Bounds the trailer section too. */
  readonly maxHeaderCount: number;
  /** 413 when Content-Length says more (at head time), or as soon as a chunk-size takes the chunked body past it. */
  readonly maxBodyBytes: number;
}

export type ParseEvent =
  | { readonly type: 'head'; readonly head: RequestHead }
  /** Decoded body bytes (de-chunked); a body may come in several events. May be a view of a pushed buffer: copy it to keep it past the next push if that buffer could be reused. */
  | { readonly type: 'body'; readonly chunk: Buffer }
  /** The request is complete. Trailers only for a chunked body, else []; they are not merged into the head (RFC 9110 §6.5.1). */
  | { readonly type: 'message-end'; readonly trailers: readonly HeaderField[] };

export interface ParseResult {
  readonly events: readonly ParseEvent[];
  /** Once non-null the parser has failed for good: every later push returns this same error and no events. */
  readonly error: HttpError | null;
}

export type ParserState =
  /** Leading empty lines, then the request-line (RFC 9112 §2.2, §3). */
  | 'request-line'
  /** Field lines up to the empty line (RFC 9112 §5). */
  | 'header-lines'
  /** A body of Content-Length bytes (RFC 9112 §6.2). */
  | 'body-length'
  /** chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1). */
  | 'chunk-size'
  | 'chunk-data'
  /** The CRLF that must follow chunk-data. */
  | 'chunk-data-crlf'
  /** The trailer section after the last chunk, up to the empty line (RFC 9112 §7.1.2). */
  | 'trailer-lines'
  /** A request with `upgrade !== null` has ended: bytes are held for takeUnconsumed() or resume(). */
  | 'paused-for-upgrade'
  /** A request that ends the connection has ended; later bytes are ignored (RFC 9112 §9.6). */
  | 'closed'
  /** A protocol error; sticky. */
  | 'failed';

/**
 * RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line SHOULD
 * ignore at least one empty line (CRLF) received prior to the request-line." A few, not
 * without end: an endless stream of CRLFs is not a client.
 */
export const MAX_LEADING_EMPTY_LINES = 4;

/** A chunk-size line (digits and chunk-ext, without CRLF) longer than this is refused. */
export const MAX_CHUNK_LINE_BYTES = 4096;

/**
 * The chunk-ext bytes of one message, all chunks together, beyond which we refuse it:
 * extensions are ignored, so without a cap a client could make us read them without end
 * while sending tiny chunks (Node's CVE-2024-22019).
 */
export const MAX_CHUNK_EXT_BYTES_PER_MESSAGE = 16 * 1024;

/** The two bytes that must follow each chunk's data (RFC 9112 §7.1). */
const CHUNK_END = [CR, LF] as const;

/** The CRLF after each field line counts towards maxHeaderBytes. */
const CRLF_LENGTH = 2;

const EMPTY_BUFFER = Buffer.alloc(0);
const NO_EVENTS: readonly ParseEvent[] = Object.freeze([]);

/** The states in which part of a request head has been received. */
const HEAD_STATES: ReadonlySet<ParserState> = new Set(['request-line', 'header-lines']);
/** The states in which a request body (or its trailers) is being received. */
const BODY_STATES: ReadonlySet<ParserState> = new Set(['body-length', 'chunk-size', 'chunk-data', 'chunk-data-crlf', 'trailer-lines']);

export class RequestParser {
  #state: ParserState = 'request-line';
  #error: HttpError | null = null;
  /** Received bytes not yet consumed, in every parsing state. Holds at most one partial line, or body bytes. */
  #input: Buffer = EMPTY_BUFFER;
  /** The bytes of #input before this offset are a partial line already judged by #takeLine (each byte is judged once). */
  #scanned = 0;
  /** Bytes received while paused for an upgrade. */
  #held: Buffer[] = [];

  // --- Per-message state, reset by #startMessage() ---
  #leadingEmptyLines = 0;
  #requestLine: RequestLine | null = null;
  #fields: HeaderField[] = [];
  /** Bytes of the current header or trailer section so far, CRLFs included. */
  #sectionBytes = 0;
  #head: RequestHead | null = null;
  /** Bytes left in the current Content-Length body or chunk-data. */
  #remaining = 0;
  /** Chunked: the body bytes announced by chunk-sizes so far. */
  #bodyBytes = 0;
  #chunkExtBytes = 0;
  /** chunk-data-crlf: how many of its two bytes have been seen. */
  #crlfSeen = 0;

  constructor(private readonly limits: RequestParserLimits) {}

  get state(): ParserState {
    return this.#state;
  }

  /**
   * True when no partial request is buffered: between messages, or `closed` (nothing more
   * will be parsed). Used by the connection for idle timeouts.
   */
  get idle(): boolean {
    return (this.#state === 'request-line' && this.#input.length === 0 && this.#leadingEmptyLines === 0) || this.#state === 'closed';
  }

  /** Part of a request head has arrived but not all of it (for the header timeout). */
  get inHead(): boolean {
    return HEAD_STATES.has(this.#state) && !this.idle;
  }

  /** A request body or its trailers is being received (for the body timeout). */
  get inBody(): boolean {
    return BODY_STATES.has(this.#state);
  }

  /** Feed bytes; returns the events they completed, in order. */
  push(chunk: Buffer): ParseResult {
    switch (this.#state) {
      case 'failed':
        return { events: NO_EVENTS, error: this.#error };
      case 'paused-for-upgrade':
        if (chunk.length > 0) this.#held.push(chunk);
        return { events: NO_EVENTS, error: null };
      case 'closed':
        // RFC 9112 §9.6, after a request with the "close" option (or an HTTP/1.0 request
        // without keep-alive, which does not persist either, §9.3): "The server MUST NOT
        // process any further requests received on that connection."
        return { events: NO_EVENTS, error: null };
      default:
        this.#input = this.#input.length === 0 ? chunk : Buffer.concat([this.#input, chunk]);
        return this.#run();
    }
  }

  /**
   * At an upgrade pause: return (and forget) every byte received after the
   * upgrade request's end — the first bytes of the new protocol (habit 10).
   * Empty in any other state.
   */
  takeUnconsumed(): Buffer {
    if (this.#state !== 'paused-for-upgrade') return EMPTY_BUFFER;
    const bytes = this.#held.length === 1 ? this.#held[0]! : Buffer.concat(this.#held);
    this.#held = [];
    return bytes;
  }

  /** The upgrade was refused: go on parsing the held bytes as HTTP. A no-op in any other state. */
  resume(): ParseResult {
    if (this.#state !== 'paused-for-upgrade') return { events: NO_EVENTS, error: this.#error };
    const keepAlive = this.#head?.keepAlive ?? false;
    this.#input = this.takeUnconsumed();
    this.#startMessage();
    if (!keepAlive) {
      this.#state = 'closed';
      this.#input = EMPTY_BUFFER;
      return { events: NO_EVENTS, error: null };
    }
    return this.#run();
  }

  // --- The loop ----------------------------------------------------------------

  /** Run the state machine over #input until it needs more bytes, pauses, or fails. */
  #run(): ParseResult {
    const events: ParseEvent[] = [];
    try {
      while (this.#step(events)) {
        // each step consumed something or changed state
      }
      return { events, error: null };
    } catch (thrown) {
      if (!(thrown instanceof HttpError)) throw thrown; // a bug in this file, not bad input
      this.#state = 'failed';
      this.#error = thrown;
      this.#input = EMPTY_BUFFER;
      this.#held = [];
      return { events, error: thrown };
    }
  }

  /** One step in the current state. False when more bytes are needed (or parsing has stopped). */
  #step(events: ParseEvent[]): boolean {
    switch (this.#state) {
      case 'request-line':
        return this.#readRequestLine();
      case 'header-lines':
        return this.#readHeaderLine(events);
      case 'body-length':
        return this.#readLengthBody(events);
      case 'chunk-size':
        return this.#readChunkSize();
      case 'chunk-data':
        return this.#readChunkData(events);
      case 'chunk-data-crlf':
        return this.#readChunkDataCrlf();
      case 'trailer-lines':
        return this.#readTrailerLine(events);
      case 'paused-for-upgrade':
      case 'closed':
      case 'failed':
        return false;
    }
  }

  // --- Head ------------------------------------------------------------------------

  #readRequestLine(): boolean {
    const line = this.#takeLine(this.limits.maxRequestLineBytes, () =>
      parseError(STATUS.URI_TOO_LONG, 'bad_request', `the request-line is longer than ${this.limits.maxRequestLineBytes} bytes`),
    );
    if (line === null) return false;
    if (line.length === 0) {
      // RFC 9112 §2.2: an empty line before the request-line is ignored, a few times.
      if (++this.#leadingEmptyLines > MAX_LEADING_EMPTY_LINES) throw badRequest('too many empty lines before the request-line');
      return true;
    }
    this.#requestLine = parseRequestLine(line);
    this.#state = 'header-lines';
    return true;
  }

  #readHeaderLine(events: ParseEvent[]): boolean {
    const line = this.#readSectionLine('header');
    if (line === null) return false;
    if (line.length > 0) {
      this.#fields.push(parseFieldLine(line));
      return true;
    }
    // The empty line: the header section is complete (RFC 9112 §2.1).
    const head = buildRequestHead(this.#requestLine!, this.#fields, this.limits.maxBodyBytes);
    this.#head = head;
    events.push({ type: 'head', head });
    switch (head.framing.kind) {
      case 'none':
        this.#endMessage(events, []);
        break;
      case 'length':
        this.#remaining = head.framing.length;
        this.#state = 'body-length';
        if (this.#remaining === 0) this.#endMessage(events, []);
        break;
      case 'chunked':
        this.#state = 'chunk-size';
        break;
    }
    return true;
  }

  /**
   * One line of a header or trailer section, with its limits checked: the section's
   * bytes (RFC 9112 §5 field lines plus CRLFs) and its number of field lines. Returns
   * null when the line is not complete, the empty Buffer for the section's last line.
   */
  #readSectionLine(section: 'header' | 'trailer'): Buffer | null {
    const { maxHeaderBytes, maxHeaderCount } = this.limits;
    // A field line costs its bytes plus CRLF; the budget for its content is what is left.
    const line = this.#takeLine(maxHeaderBytes - this.#sectionBytes - CRLF_LENGTH, () =>
      parseError(STATUS.REQUEST_HEADER_FIELDS_TOO_LARGE, 'bad_request', `the ${section} section is larger than ${maxHeaderBytes} bytes`),
    );
    if (line === null || line.length === 0) return line;
    if (this.#fields.length + 1 > maxHeaderCount) {
      throw parseError(STATUS.REQUEST_HEADER_FIELDS_TOO_LARGE, 'bad_request', `more than ${maxHeaderCount} ${section} fields`);
    }
    this.#sectionBytes += line.length + CRLF_LENGTH;
    return line;
  }

  // --- Body: Content-Length (RFC 9112 §6.2) -----------------------------------------

  #readLengthBody(events: ParseEvent[]): boolean {
    if (this.#input.length === 0) return false;
    this.#emitBody(events);
    if (this.#remaining === 0) this.#endMessage(events, []);
    return true;
  }

  /** Emit up to #remaining bytes of #input as a body event. */
  #emitBody(events: ParseEvent[]): void {
    const take = Math.min(this.#remaining, this.#input.length);
    if (take === 0) return;
    events.push({ type: 'body', chunk: this.#input.subarray(0, take) });
    this.#consume(take);
    this.#remaining -= take;
  }

  // --- Body: chunked (RFC 9112 §7.1) -----------------------------------------------

  #readChunkSize(): boolean {
    // 1. The digits, judged as they arrive: a size that takes the body past maxBodyBytes
    //    is refused at the digit that proves it (habit 7), before its line has ended.
    const scan = scanChunkSize(this.#input, this.limits.maxBodyBytes - this.#bodyBytes);
    switch (scan.kind) {
      case 'digits-so-far':
        return false;
      case 'no-digits':
        throw badRequest('a chunk-size must start with a hex digit');
      case 'too-many-digits':
        throw badRequest('a chunk-size has too many digits');
      case 'over-budget':
        throw parseError(STATUS.PAYLOAD_TOO_LARGE, 'payload_too_large', `the body is larger than ${this.limits.maxBodyBytes} bytes`);
      case 'size':
        break;
    }

    // 2. The whole line: CRLF-terminated, bounded, and a valid chunk-ext after the digits.
    const line = this.#takeLine(MAX_CHUNK_LINE_BYTES, () => badRequest('a chunk-size line is too long'));
    if (line === null) return false;
    const extensions = line.subarray(scan.end);
    this.#chunkExtBytes += extensions.length;
    if (this.#chunkExtBytes > MAX_CHUNK_EXT_BYTES_PER_MESSAGE) throw badRequest('too many chunk extension bytes');
    if (!isValidChunkExtensions(extensions.toString('latin1'))) throw badRequest('malformed chunk extension');

    // 3. Size 0 is the last-chunk; the trailer section follows.
    if (scan.size === 0) {
      this.#sectionBytes = 0;
      this.#fields = [];
      this.#state = 'trailer-lines';
    } else {
      this.#bodyBytes += scan.size;
      this.#remaining = scan.size;
      this.#state = 'chunk-data';
    }
    return true;
  }

  #readChunkData(events: ParseEvent[]): boolean {
    if (this.#input.length === 0) return false;
    this.#emitBody(events);
    if (this.#remaining === 0) {
      this.#crlfSeen = 0;
      this.#state = 'chunk-data-crlf';
    }
    return true;
  }

  /** chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF: exactly CR then LF, checked byte by byte. */
  #readChunkDataCrlf(): boolean {
    if (this.#input.length === 0) return false;
    if (this.#input[0] !== CHUNK_END[this.#crlfSeen]) throw badRequest('chunk-data must be followed by CRLF');
    this.#consume(1);
    if (++this.#crlfSeen === CHUNK_END.length) this.#state = 'chunk-size';
    return true;
  }

  /** trailer-section = *( field-line CRLF ), then CRLF (RFC 9112 §7.1.2): same grammar and limits as the header section. */
  #readTrailerLine(events: ParseEvent[]): boolean {
    const line = this.#readSectionLine('trailer');
    if (line === null) return false;
    if (line.length > 0) {
      this.#fields.push(parseFieldLine(line));
      return true;
    }
    this.#endMessage(events, this.#fields);
    return true;
  }

  // --- Between messages --------------------------------------------------------------

  /** Emit message-end and choose what follows (RFC 9112 §9.3, §9.6; RFC 9110 §7.8). */
  #endMessage(events: ParseEvent[], trailers: readonly HeaderField[]): void {
    events.push({ type: 'message-end', trailers });
    const head = this.#head!;
    if (head.upgrade !== null) {
      // The next bytes may already be the new protocol: hold them, untouched (habit 10).
      this.#state = 'paused-for-upgrade';
      if (this.#input.length > 0) this.#held.push(this.#input);
      this.#input = EMPTY_BUFFER;
      this.#scanned = 0;
      return; // #head is kept until resume(), which needs its keepAlive
    }
    this.#startMessage();
    if (!head.keepAlive) {
      this.#state = 'closed';
      this.#input = EMPTY_BUFFER;
    }
  }

  /** Reset the per-message state for the next request. */
  #startMessage(): void {
    this.#state = 'request-line';
    this.#leadingEmptyLines = 0;
    this.#requestLine = null;
    this.#fields = [];
    this.#sectionBytes = 0;
    this.#head = null;
    this.#remaining = 0;
    this.#bodyBytes = 0;
    this.#chunkExtBytes = 0;
    this.#crlfSeen = 0;
    this.#scanned = 0;
  }

  // --- Lines ---------------------------------------------------------------------------

  /**
   * Take one CRLF-terminated line from #input and return its content (without
   * CRLF), or null if its end has not arrived yet.
   *
   * The bytes are judged in order, and the first byte that proves the line bad
   * decides the error (habit 7), so the verdict is the same however the bytes
   * were split and comes as soon as it can:
   *
   *   - the line's content grows past `maxContent` → `tooLong()`;
   *   - a CR followed by anything but LF (a bare CR) → 400;
   *   - an LF not preceded by CR (a bare LF) → 400.
   *
   * RFC 9112 §2.2 lets a recipient accept a bare LF, and a bare CR be read as
   * SP; we do neither (strict, see the header comment).
   */
  #takeLine(maxContent: number, tooLong: () => HttpError): Buffer | null {
    const input = this.#input;
    // A content of at most `limit` bytes; an empty line is always allowed (a budget can be negative).
    const limit = Math.max(0, maxContent);
    for (let i = this.#scanned; i < input.length; i++) {
      const byte = input[i]!;
      if (byte === LF) {
        if (i === 0 || input[i - 1] !== CR) throw badRequest('a line ends with a bare LF; lines must end with CRLF');
        this.#consume(i + 1);
        return input.subarray(0, i - 1);
      }
      // Byte i is content unless it is a CR that the next byte turns into a CRLF.
      const overLimit = (i === limit && byte !== CR) || (i === limit + 1 && input[limit] === CR);
      if (overLimit) throw tooLong();
      if (i > 0 && input[i - 1] === CR) throw badRequest('a bare CR inside a line; lines must end with CRLF');
    }
    this.#scanned = input.length;
    return null;
  }

  #consume(count: number): void {
    this.#input = count === this.#input.length ? EMPTY_BUFFER : this.#input.subarray(count);
    this.#scanned = 0;
  }
}
