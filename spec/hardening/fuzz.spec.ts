/**
 * Property and fuzz tests for every parser that reads bytes an attacker
 * chooses (issue 8, "Property and fuzz tests"). Each property runs a fixed
 * number of cases from a fixed fast-check seed, so a failure replays exactly.
 *
 * What spec/http, spec/ws and spec/jwt already cover is not repeated here:
 * they test seeded random bytes and template mutations of the HTTP parser,
 * encode → parse of messages with random fragmentation, UTF-8 against
 * TextDecoder on mutated code points, base64url round trips over its own
 * alphabet, and one-character changes of a JWS. This file adds:
 *
 *   - HTTP: parse(serialize(requests)) = requests for generated valid requests
 *     (any method token, target, fields, Content-Length or chunked bodies with
 *     extensions and trailers, pipelined, split anywhere); the chunked decoder
 *     on generated near-valid chunked bodies; fast-check byte arrays.
 *   - WebSocket: frame headers with every field chosen at random (lengths up
 *     to 2^63, non-minimal forms, any opcode, RSV, MASK) and bit flips of valid
 *     frame streams → events or WsProtocolError with 1002/1007/1009 only;
 *     parse(encode(x)) = x for control frames and close frames between
 *     fragments, sticky failure.
 *   - UTF-8: arbitrary bytes and mutated strings, whole and split, against
 *     `new TextDecoder('utf-8', { fatal: true })`.
 *   - base64url: any string at all → null or the canonical decoding.
 *   - JWT: random tokens (with our header, our issuer, any claims, any key)
 *     never verify; multi-edit mutations of a valid token never verify.
 *   - chat: parseCommand on random JSON and on near-valid commands → a
 *     Command that obeys API.md's field rules, or a ProtocolError.
 *   - config: parseConfig on random text → problems, never a throw; a file
 *     with no problems gives values inside the schema's ranges.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { RequestParser, type ParseEvent, type RequestParserLimits } from '../../lib/http/request-parser.js';
import { HttpError } from '../../lib/http/http-error.js';
import type { HeaderField } from '../../lib/http/request-head.js';
import { FrameParser, type WsEvent } from '../../lib/ws/frame-parser.js';
import { WsProtocolError } from '../../lib/ws/ws-error.js';
import { encodeClose, encodeFrame } from '../../lib/ws/frame-encoder.js';
import { CLOSE, OPCODE } from '../../lib/ws/constants.js';
import { Utf8Validator, isValidUtf8 } from '../../lib/ws/utf8-validator.js';
import { base64urlDecode, base64urlEncode } from '../../lib/jwt/base64url.js';
import { signHs256, verifyHs256 } from '../../lib/jwt/hs256.js';
import { issueToken } from '../../lib/jwt/claims.js';
import { ProtocolError, ROOM_NAME, DM_ROOM_NAME, parseCommand, type Command } from '../../lib/chat/protocol.js';
import { parseConfig } from '../../lib/config/parse.js';
import { KEY_SPECS, type Config } from '../../lib/config/schema.js';
import { b64u, forge } from '../jwt/forge.js';

// ─── HTTP ────────────────────────────────────────────────────────────────────

const HTTP_LIMITS: RequestParserLimits = { maxRequestLineBytes: 8192, maxHeaderBytes: 16384, maxHeaderCount: 100, maxBodyBytes: 65536 };
/** Every status the parser may answer with (request-parser-head.ts STATUS). */
const PARSER_STATUSES = new Set([400, 413, 414, 417, 431, 501, 505]);

interface ParsedMessage {
  method: string;
  target: string;
  version: string;
  headers: HeaderField[];
  framing: string;
  body: string;
  trailers: HeaderField[];
}

interface Outcome {
  readonly messages: ParsedMessage[];
  readonly error: { status: number; code: string } | null;
}

/** Feed `pieces` to a fresh parser; collect whole messages (bodies as hex) and the error. Throws only if the parser does. */
function parseAll(pieces: readonly Buffer[], limits: RequestParserLimits = HTTP_LIMITS): Outcome {
  const parser = new RequestParser(limits);
  const messages: ParsedMessage[] = [];
  let current: ParsedMessage | null = null;
  let body: Buffer[] = [];
  const take = (events: readonly ParseEvent[]) => {
    for (const e of events) {
      if (e.type === 'head') {
        const h = e.head;
        current = { method: h.method, target: h.target, version: h.version, headers: h.headers.map(([n, v]) => [n, v] as const), framing: h.framing.kind, body: '', trailers: [] };
        body = [];
      } else if (e.type === 'body') {
        body.push(Buffer.from(e.chunk));
      } else {
        const m = current!;
        m.body = Buffer.concat(body).toString('hex');
        m.trailers = e.trailers.map(([n, v]) => [n, v] as const);
        messages.push(m);
        current = null;
      }
    }
  };
  for (const piece of pieces) {
    const { events, error } = parser.push(piece);
    take(events);
    if (error !== null) {
      expect(error, 'the parser failed with something other than an HttpError').to.be.instanceOf(HttpError);
      return { messages, error: { status: error.status, code: error.code } };
    }
  }
  return { messages, error: null };
}

/** Cut `bytes` at the given offsets (taken modulo its length, sorted, deduplicated). */
function cutAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  if (bytes.length === 0) return [bytes];
  const points = [...new Set(cuts.map((c) => c % bytes.length))].filter((c) => c > 0).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(at, p));
    at = p;
  }
  pieces.push(bytes.subarray(at));
  return pieces;
}

const DIGITS = '0123456789';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TCHARS = DIGITS + LETTERS + "!#$%&'*+-.^_`|~";
/** Field names that change framing or the connection: left out of random fields so the expected result stays simple. */
const SEMANTIC_FIELDS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'expect']);

const token = (max: number) => fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: max });
const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), token(12).filter((m) => m !== 'CONNECT'));
const target = fc.oneof(
  fc.string({ unit: fc.constantFrom(...(LETTERS + DIGITS + "-._~!$&'()*+,;=:@/%?")), maxLength: 60 }).map((s) => '/' + s),
  fc.constant('/'),
);
/** field-value characters (VCHAR, obs-text) with single inner SP/HTAB; no leading or trailing whitespace. */
const fieldValue = fc
  .array(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) }, { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) }, { weight: 2, arbitrary: fc.constantFrom(0x20, 0x09) }), { maxLength: 40 })
  .map((codes) => String.fromCharCode(...codes).replace(/^[ \t]+|[ \t]+$/g, ''));
const field = fc.tuple(token(20), fieldValue).filter(([n]) => !SEMANTIC_FIELDS.has(n.toLowerCase()));
const OWS_CHOICES = ['', ' ', '\t', '  '];
const ows = fc.constantFrom(...OWS_CHOICES);

/** A valid chunk-ext: `;name`, `;name=token` or `;name="quoted"` with optional BWS. */
const chunkExt = fc
  .tuple(ows, ows, token(8), fc.option(fc.tuple(ows, ows, fc.oneof(token(8), fc.string({ unit: fc.constantFrom(...(LETTERS + ' ,;=')), maxLength: 8 }).map((s) => `"${s}"`))), { nil: null }))
  .map(([a, b, name, value]) => `${a};${b}${name}${value === null ? '' : `${value[0]}=${value[1]}${value[2]}`}`);

type Body =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly bytes: Uint8Array }
  | { readonly kind: 'chunked'; readonly bytes: Uint8Array; readonly cuts: number[]; readonly exts: string[]; readonly zeros: number; readonly upper: boolean; readonly trailers: [string, string][] };

const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'length' as const, bytes })),
  fc.record({
    kind: fc.constant('chunked' as const),
    bytes: fc.uint8Array({ maxLength: 300 }),
    cuts: fc.array(fc.nat(), { maxLength: 6 }),
    exts: fc.array(chunkExt, { maxLength: 4 }),
    zeros: fc.nat({ max: 3 }),
    upper: fc.boolean(),
    trailers: fc.array(field, { maxLength: 3 }),
  }),
);

const request = fc.record({ method, target, host: fc.constantFrom('a', 'example.com:8443', '127.0.0.1', ''), fields: fc.array(field, { maxLength: 8 }), body });
type GeneratedRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** The request's bytes (RFC 9112 §2.1) and what the parser must give back for it. */
function serialize(r: GeneratedRequest): { bytes: Buffer; expected: ParsedMessage } {
  const headers: HeaderField[] = [['host', r.host], ...r.fields.map(([n, v]) => [n.toLowerCase(), v] as const)];
  let lines = `${r.method} ${r.target} HTTP/1.1\r\nHost: ${r.host}\r\n` + r.fields.map(([n, v]) => `${n}: ${v}\r\n`).join('');
  let payload = Buffer.alloc(0);
  let trailers: HeaderField[] = [];
  const b = r.body;
  if (b.kind === 'length') {
    lines += `Content-Length: ${b.bytes.length}\r\n`;
    headers.push(['content-length', String(b.bytes.length)]);
    payload = Buffer.from(b.bytes);
  } else if (b.kind === 'chunked') {
    lines += 'Transfer-Encoding: chunked\r\n';
    headers.push(['transfer-encoding', 'chunked']);
    const bytes = Buffer.from(b.bytes);
    const pieces = cutAt(bytes, b.cuts).filter((p) => p.length > 0);
    const parts: Buffer[] = [];
    pieces.forEach((p, i) => {
      const hex = p.length.toString(16);
      const size = '0'.repeat(Math.min(b.zeros, 16 - hex.length)) + (b.upper ? hex.toUpperCase() : hex);
      parts.push(Buffer.from(`${size}${b.exts[i % Math.max(1, b.exts.length)] ?? ''}\r\n`, 'latin1'), p, Buffer.from('\r\n'));
    });
    parts.push(Buffer.from(`${'0'.repeat(1 + b.zeros)}${b.exts[0] ?? ''}\r\n` + b.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n', 'latin1'));
    payload = Buffer.concat(parts);
    trailers = b.trailers.map(([n, v]) => [n.toLowerCase(), v] as const);
  }
  const framing = b.kind === 'none' ? 'none' : b.kind;
  const bytes = Buffer.concat([Buffer.from(lines + '\r\n', 'latin1'), payload]);
  const bodyHex = b.kind === 'none' ? '' : Buffer.from(b.bytes).toString('hex');
  return { bytes, expected: { method: r.method, target: r.target, version: '1.1', headers, framing, body: bodyHex, trailers } };
}

describe('hardening: property tests of the HTTP request parser and chunked decoder (RFC 9112)', () => {
  it('parses serialized valid requests back to the same requests, pipelined and split anywhere (RFC 9112 §2.1, §6, §7.1)', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), (requests, cuts) => {
        const serialized = requests.map(serialize);
        const stream = Buffer.concat(serialized.map((s) => s.bytes));
        const expected = serialized.map((s) => s.expected);
        expect(parseAll([stream])).to.deep.equal({ messages: expected, error: null });
        expect(parseAll(cutAt(stream, cuts))).to.deep.equal({ messages: expected, error: null });
      }),
      { seed: 9112, numRuns: 400 },
    );
  });

  it('answers arbitrary bytes with events or an HttpError of a known status, the same however they are split (STYLE habit 14)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 8 }), (raw, cuts) => {
        const bytes = Buffer.from(raw);
        const whole = parseAll([bytes]);
        if (whole.error) expect(PARSER_STATUSES.has(whole.error.status), String(whole.error.status)).to.equal(true);
        expect(parseAll(cutAt(bytes, cuts))).to.deep.equal(whole);
      }),
      { seed: 1, numRuns: 500 },
    );
  });

  it('answers near-HTTP token soup (methods, targets, colons, CR, LF, digits) with events or an HttpError, the same however split', () => {
    const pieces = fc.constantFrom('GET ', 'POST ', '/', ' HTTP/1.1', ' HTTP/1.0', 'HTTP/2.0', '\r\n', '\r', '\n', ' ', '\t', ':', 'Host: a', 'Content-Length: ', 'Transfer-Encoding: chunked', 'Connection: close', 'Expect: 100-continue', '0', '5', 'ff', ';x=y', '"', 'hello', '\x00', '\x7f', '\xff', ',');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 8 }), (parts, cuts) => {
        const bytes = Buffer.from(parts.join(''), 'latin1');
        const whole = parseAll([bytes]);
        if (whole.error) expect(PARSER_STATUSES.has(whole.error.status)).to.equal(true);
        expect(parseAll(cutAt(bytes, cuts))).to.deep.equal(whole);
      }),
      { seed: 2, numRuns: 1000 },
    );
  });

  it('decodes or refuses near-valid chunked bodies: never another exception, never more body bytes than the chunk sizes announced (RFC 9112 §7.1)', () => {
    const head = Buffer.from('POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', 'latin1');
    const piece = fc.oneof(
      fc.constantFrom('0', '1', '5', 'a', 'F', '10', '0000000000000000', 'ffffffffffffffff', '00000000000000001', '\r\n', '\r', '\n', ';', '=', '"', ' ', '\t', 'x', '\\', ';a=b', ';a="q\\"'),
      fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 6 }), (parts, cuts) => {
        const chunked = Buffer.from(parts.join(''), 'latin1');
        const bytes = Buffer.concat([head, chunked]);
        const whole = parseAll([bytes], { ...HTTP_LIMITS, maxBodyBytes: 4096 });
        if (whole.error) expect(PARSER_STATUSES.has(whole.error.status)).to.equal(true);
        for (const m of whole.messages) expect(m.body.length / 2).to.be.at.most(4096);
        expect(parseAll(cutAt(bytes, cuts), { ...HTTP_LIMITS, maxBodyBytes: 4096 })).to.deep.equal(whole);
      }),
      { seed: 71, numRuns: 1000 },
    );
  });
});

// ─── WebSocket frames ────────────────────────────────────────────────────────

/** The close codes a frame parser may fail with (RFC 6455 §7.4.1). */
const PARSER_CLOSE_CODES = new Set<number>([CLOSE.PROTOCOL_ERROR, CLOSE.INVALID_PAYLOAD, CLOSE.MESSAGE_TOO_BIG]);

type Summary = { events: string[]; error: number | null };

function describeEvent(e: WsEvent): string {
  switch (e.type) {
    case 'close':
      return `close ${e.code} ${JSON.stringify(e.reason)}`;
    case 'frame':
      return `frame ${e.header.opcode}`;
    default:
      return `${e.type} ${e.data.toString('hex')}`;
  }
}

function parseFrames(pieces: readonly Buffer[], maxMessageBytes = 1024, requireMask = true): Summary {
  const parser = new FrameParser({ maxMessageBytes, requireMask });
  const events: string[] = [];
  let error: number | null = null;
  for (const piece of pieces) {
    const result = parser.push(piece);
    events.push(...result.events.map(describeEvent));
    if (result.error !== null) {
      expect(result.error, 'the frame parser failed with something other than a WsProtocolError').to.be.instanceOf(WsProtocolError);
      expect(PARSER_CLOSE_CODES.has(result.error.closeCode), `close code ${result.error.closeCode}`).to.equal(true);
      // STYLE habit 5: failure is sticky.
      const again = parser.push(Buffer.from([0x81, 0x80, 0, 0, 0, 0]));
      expect(again.error).to.equal(result.error);
      expect(again.events).to.deep.equal([]);
      error = result.error.closeCode;
      break;
    }
  }
  return { events, error };
}

/** One frame header with every field chosen freely, valid or not (RFC 6455 §5.2). */
const rawHeader = fc.record({
  fin: fc.boolean(),
  rsv: fc.nat({ max: 7 }),
  opcode: fc.nat({ max: 15 }),
  masked: fc.boolean(),
  form: fc.constantFrom('7', '16', '64'),
  length: fc.oneof(fc.nat({ max: 200 }), fc.nat({ max: 70000 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
  payload: fc.uint8Array({ maxLength: 64 }),
});

function buildRawFrame(h: typeof rawHeader extends fc.Arbitrary<infer T> ? T : never): Buffer {
  const length = BigInt(h.length);
  const head: number[] = [(h.fin ? 0x80 : 0) | (h.rsv << 4) | h.opcode];
  const maskBit = h.masked ? 0x80 : 0;
  if (h.form === '7') head.push(maskBit | Number(length & 0x7fn));
  else if (h.form === '16') head.push(maskBit | 126, Number((length >> 8n) & 0xffn), Number(length & 0xffn));
  else {
    head.push(maskBit | 127);
    for (let s = 56n; s >= 0n; s -= 8n) head.push(Number((length >> s) & 0xffn));
  }
  if (h.masked) head.push(1, 2, 3, 4);
  return Buffer.concat([Buffer.from(head), Buffer.from(h.payload)]);
}

describe('hardening: property tests of the WebSocket frame parser (RFC 6455 §5)', () => {
  it('answers frames with every header field chosen at random with events or a WsProtocolError of 1002, 1007 or 1009, sticky, the same however split', () => {
    fc.assert(
      fc.property(fc.array(rawHeader, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (headers, cuts, requireMask) => {
        const bytes = Buffer.concat(headers.map(buildRawFrame));
        const whole = parseFrames([bytes], 1024, requireMask);
        expect(parseFrames(cutAt(bytes, cuts), 1024, requireMask)).to.deep.equal(whole);
      }),
      { seed: 6455, numRuns: 800 },
    );
  });

  it('fails with 1009 from the header alone for any data frame announcing more than the limit, before a payload byte (RFC 6455 §10.4)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1025n, max: (1n << 63n) - 1n }), fc.constantFrom(OPCODE.TEXT, OPCODE.BINARY), (length, opcode) => {
        const form = length <= 0xffffn ? '16' : '64';
        const header = buildRawFrame({ fin: true, rsv: 0, opcode, masked: true, form, length, payload: new Uint8Array(0) });
        expect(parseFrames([header]).error).to.equal(CLOSE.MESSAGE_TOO_BIG);
      }),
      { seed: 10, numRuns: 300 },
    );
  });

  it('answers bit flips, truncations and insertions in valid frame streams with events or a WsProtocolError, never another exception', () => {
    const valid = fc
      .array(fc.tuple(fc.constantFrom(OPCODE.TEXT, OPCODE.BINARY, OPCODE.PING, OPCODE.PONG), fc.string({ maxLength: 100 })), { minLength: 1, maxLength: 5 })
      .map((frames) => Buffer.concat(frames.map(([op, text]) => encodeFrame(op, Buffer.from(text).subarray(0, 125), { mask: Buffer.from([9, 8, 7, 6]) }))));
    const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate'), byte: fc.nat({ max: 255 }), bit: fc.nat({ max: 7 }) });
    fc.assert(
      fc.property(valid, fc.array(edit, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 5 }), (stream, edits, cuts) => {
        const bytes = [...stream];
        for (const e of edits) {
          const at = bytes.length === 0 ? 0 : e.at % bytes.length;
          if (e.kind === 'flip' && bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << e.bit);
          else if (e.kind === 'insert') bytes.splice(at, 0, e.byte);
          else if (e.kind === 'delete') bytes.splice(at, 1);
          else bytes.length = at;
        }
        const mutated = Buffer.from(bytes);
        expect(parseFrames(cutAt(mutated, cuts))).to.deep.equal(parseFrames([mutated]));
      }),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('gives back every message, ping, pong and close encoded with control frames between fragments: parse(encode(x)) = x (RFC 6455 §5.4, §5.5)', () => {
    const control = fc.tuple(fc.constantFrom(OPCODE.PING, OPCODE.PONG), fc.uint8Array({ maxLength: 125 }));
    const message = fc.record({
      opcode: fc.constantFrom(OPCODE.TEXT, OPCODE.BINARY),
      text: fc.string({ unit: 'grapheme', maxLength: 200 }),
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
      controls: fc.array(control, { maxLength: 3 }),
    });
    const closeCode = fc.oneof(fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011), fc.integer({ min: 3000, max: 4999 }));
    fc.assert(
      fc.property(fc.array(message, { maxLength: 4 }), fc.option(fc.tuple(closeCode, fc.string({ maxLength: 30 }))), fc.array(fc.nat(), { maxLength: 10 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), (messages, close, cuts, key) => {
        const mask = Buffer.from(key);
        const frames: Buffer[] = [];
        const expected: string[] = [];
        for (const m of messages) {
          const data = Buffer.from(m.text, 'utf8');
          const pieces = cutAt(data, m.cuts);
          pieces.forEach((piece, i) => {
            frames.push(encodeFrame(i === 0 ? m.opcode : OPCODE.CONTINUATION, piece, { fin: i === pieces.length - 1, mask }));
            const c = m.controls[i];
            if (c && i < pieces.length - 1) {
              frames.push(encodeFrame(c[0], Buffer.from(c[1]), { mask }));
              expected.push(`${c[0] === OPCODE.PING ? 'ping' : 'pong'} ${Buffer.from(c[1]).toString('hex')}`);
            }
          });
          expected.push(`${m.opcode === OPCODE.TEXT ? 'text' : 'binary'} ${data.toString('hex')}`);
        }
        if (close) {
          // encodeClose writes an unmasked server frame; mask a copy of its payload for the client direction.
          const serverFrame = encodeClose(close[0], close[1]);
          frames.push(encodeFrame(OPCODE.CLOSE, serverFrame.subarray(2), { mask }));
          const reason = serverFrame.subarray(4).toString('utf8');
          expected.push(`close ${close[0]} ${JSON.stringify(reason)}`);
        }
        const stream = Buffer.concat(frames);
        expect(parseFrames([stream], 1 << 20)).to.deep.equal({ events: expected, error: null });
        expect(parseFrames(cutAt(stream, cuts), 1 << 20)).to.deep.equal({ events: expected, error: null });
      }),
      { seed: 55, numRuns: 400 },
    );
  });
});

// ─── UTF-8 ───────────────────────────────────────────────────────────────────

const fatalDecoder = new TextDecoder('utf-8', { fatal: true });
function decoderAccepts(bytes: Uint8Array): boolean {
  try {
    fatalDecoder.decode(bytes);
    return true;
  } catch {
    return false; // TypeError: the encoded data was not valid
  }
}

describe('hardening: property tests of the UTF-8 validator against TextDecoder({ fatal: true }) (RFC 3629)', () => {
  function agree(bytes: Uint8Array, cuts: readonly number[]): void {
    const expected = decoderAccepts(bytes);
    expect(isValidUtf8(bytes), Buffer.from(bytes).toString('hex')).to.equal(expected);
    const v = new Utf8Validator();
    const pushed = cutAt(Buffer.from(bytes), cuts).every((p) => v.push(p));
    expect(pushed && v.end(), `split ${Buffer.from(bytes).toString('hex')}`).to.equal(expected);
  }

  it('agrees on arbitrary bytes, whole and split anywhere', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(), { maxLength: 6 }), agree), { seed: 3629, numRuns: 3000 });
  });

  it('agrees on arbitrary bytes drawn from the bytes that matter (lead, continuation, overlong, surrogate and out-of-range starts)', () => {
    const interesting = fc.constantFrom(0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff);
    fc.assert(fc.property(fc.array(interesting, { maxLength: 24 }).map((a) => Uint8Array.from(a)), fc.array(fc.nat(), { maxLength: 6 }), agree), { seed: 8, numRuns: 5000 });
  });

  it('agrees on valid strings of any code points with one byte changed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.nat(), fc.nat({ max: 255 }), fc.array(fc.nat(), { maxLength: 4 }), (text, at, byte, cuts) => {
        const bytes = Buffer.from(text, 'utf8');
        agree(bytes, cuts);
        if (bytes.length > 0) bytes[at % bytes.length] = byte;
        agree(bytes, cuts);
      }),
      { seed: 16, numRuns: 800 },
    );
  });
});

// ─── base64url ───────────────────────────────────────────────────────────────

describe('hardening: property tests of base64url (RFC 4648 §5, RFC 7515 §2)', () => {
  it('decodes any string at all to null or to the bytes whose encoding is exactly that string, never throwing', () => {
    const anyText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \r\n.\u0000\u00ff\u0100'), maxLength: 60 }),
    );
    fc.assert(
      fc.property(anyText, (text) => {
        const decoded = base64urlDecode(text);
        if (decoded !== null) expect(base64urlEncode(decoded)).to.equal(text);
        // Node's own decoder is lenient; whenever ours accepts, the two must agree.
        if (decoded !== null) expect(decoded.equals(Buffer.from(text, 'base64url'))).to.equal(true);
      }),
      { seed: 4648, numRuns: 5000 },
    );
  });
});

// ─── JWT ─────────────────────────────────────────────────────────────────────

describe('hardening: property tests of JWT verification (RFC 7519 §7.2, RFC 8725)', () => {
  const KEY = Buffer.from('hardening-test-key-of-at-least-32-bytes!', 'utf8');
  const NOW = Date.UTC(2026, 0, 1);
  const OPTIONS = { now: NOW, issuer: 'chat-from-scratch', leewaySeconds: 30 } as const;
  const good = issueToken(KEY, { userId: 7, username: 'alice', tokenVersion: 0, authTime: NOW / 1000, now: NOW, ttlSeconds: 3600, sessionMaxAgeSeconds: 86400, issuer: OPTIONS.issuer }).token;

  it('has a valid token to mutate (the control)', () => {
    expect(verifyHs256(good, KEY, OPTIONS).ok).to.equal(true);
  });

  it('never verifies a random token, even one with our header, our issuer and live times, unless it is MACed with our key', () => {
    const claims = fc.record({ iss: fc.constantFrom(OPTIONS.issuer, 'other', ''), exp: fc.constantFrom(NOW / 1000 + 60, NOW / 1000 - 60), iat: fc.constant(NOW / 1000), sub: fc.string() }, { requiredKeys: [] });
    const header = fc.constantFrom('{"alg":"HS256","typ":"JWT"}', '{"alg":"none"}', '{"alg":"HS512","typ":"JWT"}', '{"alg":"RS256"}', '{"alg":"hs256"}', '{"alg":"HS256","kid":"1"}', '{}');
    const forged = fc.tuple(header, claims, fc.uint8Array({ minLength: 32, maxLength: 40 }), fc.constantFrom('mac', 'empty', 'random')).map(([h, c, otherKey, sig]) => {
      const base = forge(h, JSON.stringify(c), Buffer.from(otherKey));
      const [hh, pp, ss] = base.split('.');
      return `${hh}.${pp}.${sig === 'mac' ? ss : sig === 'empty' ? '' : b64u(otherKey)}`;
    });
    const junk = fc.oneof(fc.string({ maxLength: 200 }), fc.tuple(fc.string(), fc.string(), fc.string()).map((p) => p.join('.')));
    fc.assert(
      fc.property(fc.oneof(forged, junk), (token) => {
        expect(verifyHs256(token, KEY, OPTIONS).ok, token).to.equal(false);
      }),
      { seed: 8725, numRuns: 2000 },
    );
  });

  it('never verifies a valid token after any 1–4 edits (change, insert, delete, swap of segments, case flip), whatever they are', () => {
    const edit = fc.record({ kind: fc.constantFrom('change', 'insert', 'delete', 'swap', 'case', 'pad', 'truncate'), at: fc.nat(), char: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ') });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let t = good;
        for (const e of edits) {
          const at = e.at % (t.length + 1);
          switch (e.kind) {
            case 'change':
              t = t.slice(0, at) + e.char + t.slice(at + 1);
              break;
            case 'insert':
              t = t.slice(0, at) + e.char + t.slice(at);
              break;
            case 'delete':
              t = t.slice(0, at) + t.slice(at + 1);
              break;
            case 'swap': {
              const [h, p, s] = t.split('.');
              t = [p, h, s].join('.');
              break;
            }
            case 'case':
              t = t.slice(0, at) + (t[at] ?? '').replace(/[a-z]/i, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())) + t.slice(at + 1);
              break;
            case 'pad':
              t = t + '=';
              break;
            case 'truncate':
              t = t.slice(0, at);
              break;
          }
        }
        fc.pre(t !== good);
        expect(verifyHs256(t, KEY, OPTIONS).ok, t).to.equal(false);
      }),
      { seed: 7515, numRuns: 2000 },
    );
  });

  it('never verifies our own claims re-signed with a different header alg, or with our MAC over a different header', () => {
    const payload = good.split('.')[1]!;
    const sig = good.split('.')[2]!;
    const headers = fc.oneof(
      fc.constantFrom('{"alg":"none","typ":"JWT"}', '{"alg":"HS512","typ":"JWT"}', '{"alg":"RS256","typ":"JWT"}', '{"alg":"ES256"}', '{"alg":"HS256","typ":"JWT","crit":["x"]}', '{"alg":"HS256","typ":"at+jwt"}', '{"alg":["HS256"]}'),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
    );
    fc.assert(
      fc.property(headers, (header) => {
        fc.pre(header !== '{"alg":"HS256","typ":"JWT"}');
        // Our MAC moved under another header (no re-signing), and the same header properly MACed with our key.
        expect(verifyHs256(`${b64u(header)}.${payload}.${sig}`, KEY, OPTIONS).ok).to.equal(false);
        const resigned = forge(header, Buffer.from(payload, 'base64url'), KEY);
        const parsed = (() => {
          try {
            return JSON.parse(header) as unknown;
          } catch {
            return null; // not JSON: the verifier must refuse it anyway
          }
        })();
        const isOurHeader = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && (parsed as Record<string, unknown>).alg === 'HS256';
        if (!isOurHeader) expect(verifyHs256(resigned, KEY, OPTIONS).ok, header).to.equal(false);
      }),
      { seed: 31, numRuns: 500 },
    );
  });

  it('verifies only what signHs256 made with the key: any claims object signed with another key is refused', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 6 }), fc.uint8Array({ minLength: 32, maxLength: 48 }), (claims, other) => {
        fc.pre(!Buffer.from(other).equals(KEY));
        const t = signHs256({ ...claims, iss: OPTIONS.issuer, exp: NOW / 1000 + 60, iat: NOW / 1000 }, Buffer.from(other));
        expect(verifyHs256(t, KEY, OPTIONS).ok).to.equal(false);
      }),
      { seed: 32, numRuns: 300 },
    );
  });
});

// ─── chat commands ───────────────────────────────────────────────────────────

const COMMAND_TYPES = ['create_room', 'join', 'leave', 'delete_room', 'send', 'history', 'typing', 'read', 'rooms', 'refresh'] as const;
const LIMITS = { maxTextChars: 50, historyLimitMax: 100 };

function codePointLength(s: string): number {
  return [...s].length;
}

/** The rules of API.md that any command parseCommand returns must obey. */
function checkCommand(c: Command): void {
  expect(COMMAND_TYPES).to.include(c.type);
  if (c.ref !== undefined) expect(codePointLength(c.ref)).to.be.within(1, 64);
  const room = (c as { room?: string | null }).room;
  if (typeof room === 'string') expect(ROOM_NAME.test(room) || DM_ROOM_NAME.test(room), room).to.equal(true);
  if (c.type === 'send') {
    expect((c.room === null) !== (c.to === null)).to.equal(true);
    expect(codePointLength(c.text)).to.be.within(1, LIMITS.maxTextChars);
    expect(/^\p{White_Space}*$/u.test(c.text)).to.equal(false);
    if (c.cmid !== null) expect(codePointLength(c.cmid)).to.be.within(1, 64);
  }
  if (c.type === 'history') expect(c.limit).to.be.within(1, LIMITS.historyLimitMax);
  if (c.type === 'create_room') expect(c.private === (c.password !== null)).to.equal(true);
}

function parseOutcome(text: string): 'command' | string {
  try {
    checkCommand(parseCommand(text, LIMITS));
    return 'command';
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
}

describe('hardening: property tests of the chat command parser (API.md "WebSocket: /ws")', () => {
  it('answers any JSON value with a Command obeying API.md, or a ProtocolError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => void parseOutcome(JSON.stringify(v) ?? 'null')), { seed: 100, numRuns: 2000 });
  });

  it('answers any text at all (not JSON, truncated, binary-ish) with a ProtocolError bad_request when it is not a JSON object', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const outcome = parseOutcome(text);
        let isObject = false;
        try {
          const v = JSON.parse(text) as unknown;
          isObject = typeof v === 'object' && v !== null && !Array.isArray(v);
        } catch {
          isObject = false; // not JSON at all
        }
        if (!isObject) expect(outcome).to.equal('bad_request');
      }),
      { seed: 101, numRuns: 2000 },
    );
  });

  it('answers near-valid commands (every type, every field with values of every JSON type, prototype keys) with a valid Command or a ProtocolError', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('general', 'dm:alice:bob', 'DM:Bob:alice', 'dm:a:b', ' ', '\u00a0\u2028', '', 'x'.repeat(65), 'room-1', "' OR 1=1 --", '__proto__', 'constructor'),
      fc.integer(),
      fc.double(),
      fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -1, 0, 1, 1.5, 1e308),
    );
    const fields = fc.dictionary(fc.constantFrom('room', 'to', 'text', 'cmid', 'ref', 'since', 'before', 'limit', 'id', 'private', 'password', 'token', '__proto__', 'constructor', 'toString'), value, { maxKeys: 7 });
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...COMMAND_TYPES), value), fields, (type, f) => {
        const text = JSON.stringify({ ...f, type });
        const outcome = parseOutcome(text);
        expect(['command', 'bad_request', 'unknown_type', 'too_long']).to.include(outcome);
      }),
      { seed: 102, numRuns: 4000 },
    );
  });

  it('answers deeply nested JSON (100,000 levels, within a 64 KiB-ish message) with a ProtocolError, not a stack overflow', () => {
    for (const text of ['['.repeat(100_000) + ']'.repeat(100_000), '{"a":'.repeat(30_000) + '1' + '}'.repeat(30_000), `{"type":"send","room":"general","text":${'['.repeat(50_000)}]}`]) {
      expect(parseOutcome(text)).to.equal('bad_request');
    }
  });
});

// ─── server.conf ─────────────────────────────────────────────────────────────

describe('hardening: property tests of the server.conf parser', () => {
  const keys = KEY_SPECS.map((s) => s.key);
  const valuePiece = fc.oneof(
    fc.constantFrom('0', '1', '-1', '8443', '65536', '10s', '250ms', '5m', '1h', '7d', '0s', '64KiB', '1MiB', '1GiB', '10 MiB', '1e3', 'on', 'off', 'true', 'false', 'yes', '', ' ', '#', ' # c', '=', ',', 'http://x', 'https://a.example:8443', '127.0.0.1', '::1', '10.0.0.0/8', '/echo', 'http,ws', 'debug', '\u0000', '\uFEFF', '\r'),
    fc.string({ maxLength: 20 }),
    fc.integer().map(String),
  );
  const line = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...keys), fc.constantFrom(' = ', '=', ' =', '\t=\t'), fc.array(valuePiece, { maxLength: 3 })).map(([k, eq, v]) => `${k}${eq}${v.join('')}`) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom('', '# comment', 'secret_key = x', 'max_conections = 5', '= 5', 'port', 'PORT = 1', '\uFEFFport = 1') },
  );

  it('answers any text with a config and a list of problems, never a throw; a file with no problems is inside every range of the schema', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), (lines, eol, bom) => {
        const text = (bom ? '\uFEFF' : '') + lines.join(eol);
        const { config, problems } = parseConfig(text, 'fuzz.conf');
        for (const p of problems) {
          expect(p.file).to.equal('fuzz.conf');
          expect(p.line).to.be.within(0, lines.length + 1);
          expect(p.message).to.be.a('string').and.not.equal('');
        }
        if (problems.length === 0) checkRanges(config);
      }),
      { seed: 2024, numRuns: 500 },
    );
  });

  it('answers arbitrary strings and binary-ish text with problems, never a throw', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const { problems } = parseConfig(text, 'fuzz.conf');
        expect(problems).to.be.an('array');
      }),
      { seed: 2025, numRuns: 800 },
    );
  });

  function checkRanges(config: Config): void {
    for (const spec of KEY_SPECS) {
      const v = (config as unknown as Record<string, unknown>)[spec.key];
      if (spec.type === 'integer' || spec.type === 'duration' || spec.type === 'size') {
        expect(v, spec.key).to.be.a('number');
        expect(Number.isSafeInteger(v), spec.key).to.equal(true);
        expect(v as number, spec.key).to.be.within(spec.min, spec.max);
      } else if (spec.type === 'boolean') expect(v, spec.key).to.be.a('boolean');
      else if (spec.type === 'enum') expect(spec.choices as readonly string[], spec.key).to.include(v);
      else if (spec.type === 'list') expect(v, spec.key).to.be.an('array');
      else expect(v, spec.key).to.be.a('string');
    }
  }
});
