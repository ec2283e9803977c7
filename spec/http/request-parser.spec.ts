/**
 * Vectors for the HTTP/1.1 request parser (lib/http/request-parser.ts).
 *
 * Every vector is fed whole, byte by byte and at seeded random splits
 * (ALL_SPLITS); all modes must give the same summary — the heads, each body
 * concatenated, the trailers, the error's status and code, the final state and
 * the bytes held at an upgrade — and that summary must match the vector.
 */
import { expect } from 'chai';
import { HttpError, type ErrorCode } from '../../lib/http/http-error.js';
import type { HeaderField, RequestHead } from '../../lib/http/request-head.js';
import {
  MAX_CHUNK_EXT_BYTES_PER_MESSAGE,
  MAX_CHUNK_LINE_BYTES,
  MAX_LEADING_EMPTY_LINES,
  RequestParser,
  type ParseEvent,
  type ParserState,
  type RequestParserLimits,
} from '../../lib/http/request-parser.js';
import { ALL_SPLITS, describeSplit, seededRandom, split, type SplitMode } from '../helpers/splits.js';

const LIMITS: RequestParserLimits = { maxRequestLineBytes: 128, maxHeaderBytes: 512, maxHeaderCount: 16, maxBodyBytes: 1024 };

// --- Feeding and summarising -------------------------------------------------------

interface MessageSummary {
  readonly head: RequestHead;
  body: string;
  /** null until message-end. */
  trailers: readonly HeaderField[] | null;
}

interface Summary {
  readonly messages: MessageSummary[];
  readonly error: { readonly status: number; readonly code: ErrorCode; readonly close: boolean } | null;
  readonly state: ParserState;
  /** What takeUnconsumed() returned at the end, latin1. */
  readonly unconsumed: string;
}

/** Fold events into messages, checking their order: head, body*, message-end. */
function addEvents(messages: MessageSummary[], events: readonly ParseEvent[]): void {
  for (const event of events) {
    const last = messages.at(-1);
    const open = last !== undefined && last.trailers === null;
    if (event.type === 'head') {
      if (open) throw new Error('a head event before the previous message ended');
      messages.push({ head: event.head, body: '', trailers: null });
    } else if (!open) {
      throw new Error(`a ${event.type} event outside a message`);
    } else if (event.type === 'body') {
      if (event.chunk.length === 0) throw new Error('an empty body event');
      last.body += event.chunk.toString('latin1');
    } else {
      last.trailers = event.trailers;
    }
  }
}

/** Feed `pieces` to a fresh parser, checking stickiness after an error, and summarise. */
function feed(pieces: readonly Buffer[], limits: RequestParserLimits): Summary {
  const parser = new RequestParser(limits);
  const messages: MessageSummary[] = [];
  let error: HttpError | null = null;
  for (const piece of pieces) {
    const result = parser.push(piece);
    if (error !== null) {
      // Habit 5: once failed, the same error and no events, for good.
      if (result.error !== error || result.events.length > 0) throw new Error('the failure was not sticky');
      continue;
    }
    addEvents(messages, result.events);
    error = result.error;
  }
  if (error !== null && !(error instanceof HttpError)) throw new Error('the error is not an HttpError');
  return {
    messages,
    error: error === null ? null : { status: error.status, code: error.code, close: error.close },
    state: parser.state,
    unconsumed: parser.takeUnconsumed().toString('latin1'),
  };
}

function run(input: Buffer, mode: SplitMode, limits: RequestParserLimits = LIMITS): Summary {
  return feed(split(input, mode), limits);
}

/** Run every split mode, require identical summaries, return the one summary. */
function runAllSplits(input: Buffer, limits: RequestParserLimits = LIMITS): Summary {
  const whole = run(input, 'whole', limits);
  for (const mode of ALL_SPLITS) {
    expect(run(input, mode, limits), `fed ${describeSplit(mode)}`).to.deep.equal(whole);
  }
  return whole;
}

// --- Vectors ---------------------------------------------------------------------

type ExpectedMessage = Partial<Pick<RequestHead, 'method' | 'target' | 'version' | 'headers' | 'framing' | 'keepAlive' | 'expectContinue' | 'upgrade'>> & {
  /** Default ''. */
  readonly body?: string;
  /** Default []; checked when the message ended. */
  readonly trailers?: readonly HeaderField[];
  /** Default true. */
  readonly ended?: boolean;
};

interface Vector {
  /** A sentence stating the rule and its section. */
  readonly name: string;
  /** latin1: each character is one byte. */
  readonly input: string;
  readonly limits?: Partial<RequestParserLimits>;
  /** Default none. */
  readonly messages?: readonly ExpectedMessage[];
  /** Default: no error. */
  readonly error?: { readonly status: number; readonly code: ErrorCode };
  readonly state?: ParserState;
  readonly unconsumed?: string;
}

const HEAD_KEYS = ['method', 'target', 'version', 'headers', 'framing', 'keepAlive', 'expectContinue', 'upgrade'] as const;

function check(summary: Summary, vector: Vector): void {
  const expected = vector.messages ?? [];
  expect(summary.messages.length, 'number of messages').to.equal(expected.length);
  expected.forEach((want, i) => {
    const got = summary.messages[i]!;
    for (const key of HEAD_KEYS) {
      if (want[key] !== undefined) expect(got.head[key], `message ${i} ${key}`).to.deep.equal(want[key]);
    }
    expect(got.body, `message ${i} body`).to.equal(want.body ?? '');
    if (want.ended ?? true) expect(got.trailers, `message ${i} trailers`).to.deep.equal(want.trailers ?? []);
    else expect(got.trailers, `message ${i} must not have ended`).to.equal(null);
  });
  if (vector.error === undefined) {
    expect(summary.error, 'error').to.equal(null);
  } else {
    // Every parse error loses framing: the connection must close after answering it.
    expect(summary.error).to.deep.equal({ ...vector.error, close: true });
    expect(summary.state).to.equal('failed');
  }
  if (vector.state !== undefined) expect(summary.state, 'state').to.equal(vector.state);
  expect(summary.unconsumed, 'unconsumed').to.equal(vector.unconsumed ?? '');
}

function runVectors(vectors: readonly Vector[]): void {
  for (const vector of vectors) {
    it(vector.name, () => {
      const limits = { ...LIMITS, ...vector.limits };
      check(runAllSplits(Buffer.from(vector.input, 'latin1'), limits), vector);
    });
  }
}

/** A request head from its lines: each line CRLF-terminated, then the empty line. */
function head(...lines: string[]): string {
  return lines.map((line) => `${line}\r\n`).join('') + '\r\n';
}

const BAD_REQUEST = { status: 400, code: 'bad_request' } as const;
const URI_TOO_LONG = { status: 414, code: 'bad_request' } as const;
const FIELDS_TOO_LARGE = { status: 431, code: 'bad_request' } as const;
const PAYLOAD_TOO_LARGE = { status: 413, code: 'payload_too_large' } as const;
const EXPECTATION_FAILED = { status: 417, code: 'bad_request' } as const;
const NOT_IMPLEMENTED = { status: 501, code: 'not_implemented' } as const;
const VERSION_NOT_SUPPORTED = { status: 505, code: 'bad_request' } as const;

const GET_A = head('GET /a HTTP/1.1', 'Host: a');
const NO_BODY = { framing: { kind: 'none' } } as const;

// --- Tests -------------------------------------------------------------------------

describe('http/request-parser', () => {
  describe('request-line', () => {
    runVectors([
      {
        name: 'accepts a simple GET with a Host field and reports every part of its head (RFC 9112 §3)',
        input: head('GET /index.html?x=1 HTTP/1.1', 'Host: example.com'),
        messages: [
          {
            method: 'GET',
            target: '/index.html?x=1',
            version: '1.1',
            headers: [['host', 'example.com']],
            framing: { kind: 'none' },
            keepAlive: true,
            expectContinue: false,
            upgrade: null,
          },
        ],
        state: 'request-line',
      },
      {
        name: 'accepts any token as a method and keeps its case, leaving unknown methods to the router (RFC 9110 §9.1)',
        input: head('get / HTTP/1.1', 'Host: a') + head('PROPFIND /x HTTP/1.1', 'Host: a') + head("X!#$%&'*+-.^_`|~9 / HTTP/1.1", 'Host: a'),
        messages: [{ method: 'get' }, { method: 'PROPFIND' }, { method: "X!#$%&'*+-.^_`|~9" }],
      },
      { name: 'refuses a method that is not a token (RFC 9110 §5.6.2)', input: head('GE(T / HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a method with a non-ASCII byte (RFC 9110 §5.6.2)', input: head('G\xc9T / HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a request-line that starts with a space (empty method) (RFC 9112 §3)', input: head(' / HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses two spaces between method and request-target (RFC 9112 §3)', input: head('GET  / HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a tab where the single SP must be (RFC 9112 §3)', input: head('GET\t/ HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a space after the HTTP-version (RFC 9112 §3)', input: head('GET / HTTP/1.1 ', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a space inside the request-target (RFC 9112 §3)', input: head('GET /a b HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses an HTTP/0.9-style request-line without a version (RFC 9112 §3)', input: 'GET /\r\n\r\n', error: BAD_REQUEST },
      { name: 'accepts HTTP/1.0, where Host is optional (RFC 9112 §3.2)', input: head('GET / HTTP/1.0'), messages: [{ version: '1.0', headers: [], keepAlive: false }], state: 'closed' },
      { name: 'answers 505 to the well-formed but unsupported version HTTP/2.0 (RFC 9110 §15.6.6)', input: head('GET / HTTP/2.0', 'Host: a'), error: VERSION_NOT_SUPPORTED },
      { name: 'answers 505 to the HTTP/2 connection preface (RFC 9110 §15.6.6)', input: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', error: VERSION_NOT_SUPPORTED },
      { name: 'answers 505 to HTTP/0.9 written as a version (RFC 9110 §15.6.6)', input: head('GET / HTTP/0.9', 'Host: a'), error: VERSION_NOT_SUPPORTED },
      { name: 'answers 505 to HTTP/3.0 and HTTP/1.2 (RFC 9110 §15.6.6)', input: head('GET / HTTP/1.2', 'Host: a'), error: VERSION_NOT_SUPPORTED },
      ...['HTTP/1.1x', 'http/1.1', 'HTTP/1', 'HTTP/1.', 'HTTP/1.1.1', 'HTTP/11.1', 'HTTP/1,1', 'HTTPS/1.1', 'HTTP/\xb9.1'].map(
        (version): Vector => ({
          name: `refuses the malformed HTTP-version ${JSON.stringify(version)} with 400 (RFC 9112 §2.3)`,
          input: head(`GET / ${version}`, 'Host: a'),
          error: BAD_REQUEST,
        }),
      ),
    ]);
  });

  describe('request-target', () => {
    runVectors([
      { name: 'accepts an origin-form target with a query (RFC 9112 §3.2.1)', input: head("GET /a/b;c?d=e&f=/g?h!$'()*+,:@~ HTTP/1.1", 'Host: a'), messages: [{ target: "/a/b;c?d=e&f=/g?h!$'()*+,:@~" }] },
      { name: 'accepts an absolute-form target (RFC 9112 §3.2.2)', input: head('GET http://example.com:8080/p?q HTTP/1.1', 'Host: example.com:8080'), messages: [{ target: 'http://example.com:8080/p?q' }] },
      { name: 'accepts an absolute-form target with an IP-literal and no path (RFC 9112 §3.2.2)', input: head('GET https://[::1] HTTP/1.1', 'Host: [::1]'), messages: [{ target: 'https://[::1]' }] },
      { name: 'refuses an absolute-form target with an empty host (RFC 9110 §4.2.1)', input: head('GET http:///p HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses an absolute-form target with userinfo (RFC 9110 §4.2.4)', input: head('GET http://user:pw@a/ HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a target that is neither origin-, absolute-, authority- nor asterisk-form (RFC 9112 §3.2)', input: head('GET a/b HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses an absolute-URI without an authority as a target (RFC 9112 §3.2.2)', input: head('GET mailto:x@y HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'accepts the authority-form with CONNECT (RFC 9112 §3.2.3)', input: head('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443'), messages: [{ method: 'CONNECT', target: 'example.com:443' }] },
      { name: 'refuses the authority-form with any method but CONNECT (RFC 9112 §3.2.3)', input: head('GET example.com:443 HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses CONNECT with an origin-form target (RFC 9112 §3.2.3)', input: head('CONNECT /x HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses CONNECT to a host without a port (RFC 9112 §3.2.3)', input: head('CONNECT example.com HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'accepts the asterisk-form with OPTIONS (RFC 9112 §3.2.4)', input: head('OPTIONS * HTTP/1.1', 'Host: a'), messages: [{ method: 'OPTIONS', target: '*' }] },
      { name: 'refuses the asterisk-form with any method but OPTIONS (RFC 9112 §3.2.4)', input: head('GET * HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a non-ASCII byte in the request-target (RFC 9112 §3.2)', input: head('GET /caf\xe9 HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a control character in the request-target (RFC 9112 §3.2)', input: head('GET /a\x01b HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses DEL in the request-target (RFC 9112 §3.2)', input: head('GET /a\x7f HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses NUL in the request-target (RFC 9112 §3.2)', input: head('GET /a\x00 HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a fragment in the request-target (RFC 9112 §3.2, RFC 9110 §4.2.5)', input: head('GET /a#b HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
    ]);
  });

  describe('line endings and empty lines', () => {
    runVectors([
      { name: 'ignores a few empty lines before the request-line (RFC 9112 §2.2)', input: '\r\n'.repeat(MAX_LEADING_EMPTY_LINES) + GET_A, messages: [{ target: '/a' }] },
      { name: 'refuses an endless run of empty lines before the request-line (RFC 9112 §2.2)', input: '\r\n'.repeat(MAX_LEADING_EMPTY_LINES + 1) + GET_A, error: BAD_REQUEST },
      { name: 'refuses a bare LF as an empty line before the request-line (RFC 9112 §2.2)', input: '\n' + GET_A, error: BAD_REQUEST },
      { name: 'refuses LF-only line endings (RFC 9112 §2.2, strict)', input: 'GET / HTTP/1.1\nHost: a\n\n', error: BAD_REQUEST },
      { name: 'refuses one LF-only field line among CRLF lines (RFC 9112 §2.2, strict)', input: 'GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses an LF-only end of the header section (RFC 9112 §2.2, strict)', input: 'GET / HTTP/1.1\r\nHost: a\r\n\n', error: BAD_REQUEST },
      { name: 'refuses CR-only line endings at once, without waiting for an LF (RFC 9112 §2.2)', input: 'GET / HTTP/1.1\rHost: a\r\r', error: BAD_REQUEST },
      { name: 'refuses a bare CR inside the request-line (RFC 9112 §2.2)', input: head('GET /\r HTTP/1.1', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses a bare CR inside a field value (RFC 9112 §2.2, RFC 9110 §5.5)', input: head('GET / HTTP/1.1', 'Host: a', 'X: a\rb'), error: BAD_REQUEST },
      { name: 'refuses LF CR as a line ending (RFC 9112 §2.2)', input: 'GET / HTTP/1.1\n\rHost: a\r\n\r\n', error: BAD_REQUEST },
      { name: 'waits, without error, for the rest of a line that ends in CR (RFC 9112 §2.2)', input: 'GET / HTTP/1.1\r', state: 'request-line' },
    ]);
  });

  describe('field lines', () => {
    runVectors([
      {
        name: 'lower-cases field names, trims OWS from values and keeps order and duplicates (RFC 9110 §5.1, §5.5, §5.3)',
        input: head('GET / HTTP/1.1', 'Host: a', 'X-Thing:  one \t', 'x-thing:two', 'Empty:', 'Spaces:   '),
        messages: [{ headers: [['host', 'a'], ['x-thing', 'one'], ['x-thing', 'two'], ['empty', ''], ['spaces', '']] }],
      },
      {
        name: 'keeps inner SP, HTAB and obs-text bytes of a field value (RFC 9110 §5.5)',
        input: head('GET / HTTP/1.1', 'Host: a', 'X: a b\tc \x80\xff"\\'),
        messages: [{ headers: [['host', 'a'], ['x', 'a b\tc \x80\xff"\\']] }],
      },
      {
        name: 'accepts a tab as the OWS before Transfer-Encoding: chunked (RFC 9110 §5.6.3)',
        input: head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding:\tchunked') + '0\r\n\r\n',
        messages: [{ framing: { kind: 'chunked' } }],
      },
      { name: 'refuses a space between field name and colon, as in "Transfer-Encoding : chunked" (RFC 9112 §5.1)', input: head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding : chunked') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses a tab between field name and colon (RFC 9112 §5.1)', input: head('GET / HTTP/1.1', 'Host\t: a'), error: BAD_REQUEST },
      { name: 'refuses obs-fold, a field line that starts with SP (RFC 9112 §5.2)', input: head('GET / HTTP/1.1', 'Host: a', 'X: one', ' two'), error: BAD_REQUEST },
      { name: 'refuses Transfer-Encoding continued by obs-fold with HTAB (RFC 9112 §5.2)', input: head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding:', '\tchunked') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses whitespace between the request-line and the first field line (RFC 9112 §2.2)', input: head('GET / HTTP/1.1', ' Host: a'), error: BAD_REQUEST },
      { name: 'refuses a field line without a colon (RFC 9112 §5)', input: head('GET / HTTP/1.1', 'Host: a', 'X-No-Colon'), error: BAD_REQUEST },
      { name: 'refuses an empty field name (RFC 9110 §5.1)', input: head('GET / HTTP/1.1', 'Host: a', ': v'), error: BAD_REQUEST },
      { name: 'refuses a field name that is not a token (RFC 9110 §5.1)', input: head('GET / HTTP/1.1', 'Host: a', 'X(y): v'), error: BAD_REQUEST },
      { name: 'refuses a non-ASCII byte in a field name (RFC 9110 §5.1)', input: head('GET / HTTP/1.1', 'Host: a', 'X\xe9: v'), error: BAD_REQUEST },
      { name: 'refuses NUL in a field name (RFC 9110 §5.1)', input: head('GET / HTTP/1.1', 'Host: a', 'Transfer-Encoding\x00: chunked'), error: BAD_REQUEST },
      { name: 'refuses NUL in a field value (RFC 9110 §5.5)', input: head('GET / HTTP/1.1', 'Host: a', 'X: a\x00b'), error: BAD_REQUEST },
      { name: 'refuses DEL (0x7F) in a field value (RFC 9110 §5.5)', input: head('GET / HTTP/1.1', 'Host: a', 'X: a\x7fb'), error: BAD_REQUEST },
      { name: 'refuses other control characters in a field value (RFC 9110 §5.5)', input: head('GET / HTTP/1.1', 'Host: a', 'X: a\x0bb'), error: BAD_REQUEST },
      { name: 'refuses a control character as the last byte of a field value (RFC 9110 §5.5)', input: head('GET / HTTP/1.1', 'Host: a', 'X: ab\x01'), error: BAD_REQUEST },
    ]);
  });

  describe('Host', () => {
    runVectors([
      { name: 'refuses an HTTP/1.1 request without Host (RFC 9112 §3.2)', input: head('GET / HTTP/1.1'), error: BAD_REQUEST },
      { name: 'refuses two Host field lines (RFC 9112 §3.2)', input: head('GET / HTTP/1.1', 'Host: a', 'Host: a'), error: BAD_REQUEST },
      { name: 'refuses two Host field lines in HTTP/1.0 too (RFC 9112 §3.2)', input: head('GET / HTTP/1.0', 'Host: a', 'Host: b'), error: BAD_REQUEST },
      { name: 'accepts an empty Host (RFC 9112 §3.2)', input: head('GET / HTTP/1.1', 'Host:'), messages: [{ headers: [['host', '']] }] },
      {
        name: 'accepts a reg-name, an IPv4 address and an IP-literal, each with a port, as Host (RFC 9112 §3.2, RFC 3986 §3.2.2)',
        input: head('GET / HTTP/1.1', 'Host: chat.example-1.com:8443') + head('GET / HTTP/1.1', 'Host: 127.0.0.1:80') + head('GET / HTTP/1.1', 'Host: [2001:db8::1]:443') + head('GET / HTTP/1.1', 'Host: ex%41mple'),
        messages: [{}, {}, {}, {}],
      },
      ...['a b', 'a/b', 'user@a', 'a:b', 'a:80:80', '[::1', '[]', 'ex%zzample', 'a\xe9'].map(
        (host): Vector => ({ name: `refuses the invalid Host ${JSON.stringify(host)} (RFC 9112 §3.2)`, input: head('GET / HTTP/1.1', `Host: ${host}`), error: BAD_REQUEST }),
      ),
    ]);
  });

  describe('body framing', () => {
    const post = (...fields: string[]): string => head('POST /m HTTP/1.1', 'Host: a', ...fields);
    runVectors([
      { name: 'reads exactly Content-Length bytes of body (RFC 9112 §6.2)', input: post('Content-Length: 5') + 'hello', messages: [{ framing: { kind: 'length', length: 5 }, body: 'hello' }] },
      { name: 'ends a Content-Length: 0 request at once (RFC 9112 §6.2)', input: post('Content-Length: 0'), messages: [{ framing: { kind: 'length', length: 0 } }] },
      { name: 'waits for the rest of a Content-Length body (RFC 9112 §6.2)', input: post('Content-Length: 5') + 'hel', messages: [{ body: 'hel', ended: false }], state: 'body-length' },
      { name: 'gives a request with neither Content-Length nor Transfer-Encoding no body (RFC 9112 §6.3)', input: post() + GET_A, messages: [NO_BODY, { target: '/a' }] },
      { name: 'accepts leading zeros in Content-Length (RFC 9110 §8.6)', input: post('Content-Length: 005') + 'hello', messages: [{ framing: { kind: 'length', length: 5 }, body: 'hello' }] },
      { name: 'accepts Content-Length repeated as an identical comma list, as one value (RFC 9110 §8.6)', input: post('Content-Length: 5, 5') + 'hello', messages: [{ framing: { kind: 'length', length: 5 }, body: 'hello' }] },
      { name: 'accepts identical Content-Length field lines, as one value (RFC 9110 §8.6)', input: post('Content-Length: 5', 'Content-Length: 5') + 'hello', messages: [{ framing: { kind: 'length', length: 5 }, body: 'hello' }] },
      { name: 'refuses two Content-Length field lines with different values (RFC 9112 §6.3)', input: post('Content-Length: 5', 'Content-Length: 6') + 'hello!', error: BAD_REQUEST },
      { name: 'refuses a Content-Length list with different values (RFC 9112 §6.3)', input: post('Content-Length: 5, 6') + 'hello!', error: BAD_REQUEST },
      ...['+5', '-1', '5 5', '0x5', '5.0', '1e3', '5,', ',5', '', 'five', '\xb5'].map(
        (value): Vector => ({ name: `refuses Content-Length ${JSON.stringify(value)}: it must be 1*DIGIT (RFC 9110 §8.6, RFC 9112 §6.3)`, input: post(`Content-Length: ${value}`) + 'hello', error: BAD_REQUEST }),
      ),
      { name: 'refuses a Content-Length too large to be a safe integer with 400 (RFC 9112 §6.3)', input: post('Content-Length: 99999999999999999999'), error: BAD_REQUEST, limits: { maxBodyBytes: Number.MAX_SAFE_INTEGER } },
      { name: 'refuses Content-Length 2^53, the first unsafe integer, with 400 (RFC 9112 §6.3)', input: post('Content-Length: 9007199254740992'), error: BAD_REQUEST, limits: { maxBodyBytes: Number.MAX_SAFE_INTEGER } },
      { name: 'refuses Content-Length 2^53 - 1 over the body limit with 413, not 400 (RFC 9110 §15.5.14)', input: post('Content-Length: 9007199254740991'), error: PAYLOAD_TOO_LARGE },
      { name: 'refuses Content-Length together with Transfer-Encoding (RFC 9112 §6.1, smuggling)', input: post('Content-Length: 5', 'Transfer-Encoding: chunked') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses Transfer-Encoding together with Content-Length in the other order (RFC 9112 §6.1, smuggling)', input: post('Transfer-Encoding: chunked', 'Content-Length: 0') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)', input: head('POST / HTTP/1.0', 'Transfer-Encoding: chunked') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses Transfer-Encoding: chunked on two field lines (RFC 9112 §6.1)', input: post('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses chunked listed twice in one Transfer-Encoding (RFC 9112 §6.1)', input: post('Transfer-Encoding: chunked, chunked') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses Transfer-Encoding: xchunked, whose final coding is not chunked (RFC 9112 §6.3)', input: post('Transfer-Encoding: xchunked') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses a Transfer-Encoding whose final coding is not chunked (RFC 9112 §6.3)', input: post('Transfer-Encoding: chunked, gzip') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses Transfer-Encoding: gzip alone, which leaves the length unknown (RFC 9112 §6.3)', input: post('Transfer-Encoding: gzip') + 'x', error: BAD_REQUEST },
      { name: 'answers 501 to a transfer coding before chunked that we do not implement (RFC 9112 §6.1)', input: post('Transfer-Encoding: gzip, chunked') + '0\r\n\r\n', error: NOT_IMPLEMENTED },
      { name: 'answers 501 to a coding with a quoted parameter holding a comma, parsed as one coding (RFC 9110 §5.6.4)', input: post('Transfer-Encoding: gzip;q="a,b", chunked') + '0\r\n\r\n', error: NOT_IMPLEMENTED },
      { name: 'refuses parameters on chunked (RFC 9112 §7.1)', input: post('Transfer-Encoding: chunked;a=b') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses an empty Transfer-Encoding (RFC 9112 §6.1)', input: post('Transfer-Encoding:') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses empty elements in Transfer-Encoding: no leniency in framing fields (RFC 9112 §6.1)', input: post('Transfer-Encoding: , chunked') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses a trailing empty element in Transfer-Encoding (RFC 9112 §6.1)', input: post('Transfer-Encoding: chunked,') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'refuses a quoted "chunked" (RFC 9112 §6.1)', input: post('Transfer-Encoding: "chunked"') + '0\r\n\r\n', error: BAD_REQUEST },
      { name: 'accepts chunked in any letter case (RFC 9112 §7)', input: post('Transfer-Encoding: ChUnKeD') + '0\r\n\r\n', messages: [{ framing: { kind: 'chunked' } }] },
    ]);
  });

  describe('chunked transfer coding', () => {
    const chunked = head('POST /c HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked');
    runVectors([
      {
        name: 'decodes chunks with extensions and hands over the trailers separately from the head (RFC 9112 §7.1, §7.1.1, §7.1.2)',
        input: chunked + '5;name=value;q="a \\"b\\"";flag\r\nhello\r\n6 ; x = y\r\n world\r\n0;last\r\nX-Checksum: abc\r\nX-Other:  2 \r\n\r\n' + GET_A,
        messages: [
          { headers: [['host', 'a'], ['transfer-encoding', 'chunked']], framing: { kind: 'chunked' }, body: 'hello world', trailers: [['x-checksum', 'abc'], ['x-other', '2']] },
          { target: '/a' },
        ],
      },
      { name: 'reads chunk-size hex digits in either case, with leading zeros (RFC 9112 §7.1)', input: chunked + '0000a\r\n0123456789\r\nB\r\nabcdefghijk\r\n000\r\n\r\n', messages: [{ body: '0123456789abcdefghijk' }] },
      { name: 'accepts 16 chunk-size digits (RFC 9112 §7.1)', input: chunked + '0000000000000003\r\nabc\r\n0\r\n\r\n', messages: [{ body: 'abc' }] },
      { name: 'refuses a chunk-size of 17 digits, even leading zeros (RFC 9112 §7.1: prevent overflow)', input: chunked + '00000000000000003\r\nabc\r\n0\r\n\r\n', messages: [{ ended: false }], error: BAD_REQUEST },
      { name: 'waits for the rest of a chunked body (RFC 9112 §7.1)', input: chunked + '5\r\nhel', messages: [{ body: 'hel', ended: false }], state: 'chunk-data' },
      { name: 'refuses chunk-data not followed by CRLF (RFC 9112 §7.1)', input: chunked + '5\r\nhelloX\r\n0\r\n\r\n', messages: [{ body: 'hello', ended: false }], error: BAD_REQUEST },
      { name: 'refuses chunk-data followed by a bare LF (RFC 9112 §7.1)', input: chunked + '5\r\nhello\n0\r\n\r\n', messages: [{ body: 'hello', ended: false }], error: BAD_REQUEST },
      { name: 'refuses chunk-data followed by CR and not LF (RFC 9112 §7.1)', input: chunked + '5\r\nhello\r0\r\n\r\n', messages: [{ body: 'hello', ended: false }], error: BAD_REQUEST },
      { name: 'refuses a chunk-size line ending in a bare LF (RFC 9112 §7.1, §2.2)', input: chunked + '5\nhello\r\n0\r\n\r\n', messages: [{ ended: false }], error: BAD_REQUEST },
      ...['g', '', ' 5', '5 ', '-5', '0x5', '5;', '5;=v', '5;a=', '5; a=b c', '5;a b', '5;a="open', '5;a="\x01"', '5;a=b;', '5,a'].map(
        (line): Vector => ({
          name: `refuses the chunk-size line ${JSON.stringify(line)} (RFC 9112 §7.1, §7.1.1)`,
          input: chunked + `${line}\r\nhello\r\n0\r\n\r\n`,
          messages: [{ ended: false }],
          error: BAD_REQUEST,
        }),
      ),
      { name: 'accepts BWS around ";" and "=" in chunk extensions and quoted-pairs in their values (RFC 9112 §7.1.1)', input: chunked + '5 \t; a \t= "x\\\ty" ;b\r\nhello\r\n0\r\n\r\n', messages: [{ body: 'hello' }] },
      { name: 'refuses a malformed trailer field line (RFC 9112 §7.1.2)', input: chunked + '0\r\nX : y\r\n\r\n', messages: [{ ended: false }], error: BAD_REQUEST },
      { name: 'refuses obs-fold in the trailer section (RFC 9112 §7.1.2, §5.2)', input: chunked + '0\r\nX: y\r\n z\r\n\r\n', messages: [{ ended: false }], error: BAD_REQUEST },
      {
        name: 'refuses too many chunk-extension bytes in one message (RFC 9112 §7.1.1)',
        input: chunked + `1;x=${'e'.repeat(MAX_CHUNK_LINE_BYTES - 8)}\r\nA\r\n`.repeat(Math.ceil(MAX_CHUNK_EXT_BYTES_PER_MESSAGE / (MAX_CHUNK_LINE_BYTES - 5)) + 1) + '0\r\n\r\n',
        limits: { maxBodyBytes: 1024 },
        messages: [{ body: 'AAAA', ended: false }],
        error: BAD_REQUEST,
      },
      { name: 'refuses a chunk-size line longer than the chunk line limit (RFC 9112 §7.1.1)', input: chunked + `1;x=${'e'.repeat(MAX_CHUNK_LINE_BYTES)}\r\nA\r\n0\r\n\r\n`, messages: [{ ended: false }], error: BAD_REQUEST },
    ]);
  });

  describe('persistence and pipelining', () => {
    runVectors([
      {
        name: 'yields every event of three pipelined requests in order (RFC 9112 §9.3.2)',
        input: GET_A + head('POST /b HTTP/1.1', 'Host: a', 'Content-Length: 3') + 'abc' + head('PUT /c HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked') + '2\r\nde\r\n0\r\n\r\n',
        messages: [{ method: 'GET', target: '/a' }, { method: 'POST', target: '/b', body: 'abc' }, { method: 'PUT', target: '/c', body: 'de' }],
        state: 'request-line',
      },
      { name: 'keeps an HTTP/1.1 connection open by default (RFC 9112 §9.3)', input: GET_A + GET_A, messages: [{ keepAlive: true }, { keepAlive: true }] },
      { name: 'ignores requests after one with Connection: close (RFC 9112 §9.6)', input: head('GET / HTTP/1.1', 'Host: a', 'Connection: close') + GET_A, messages: [{ keepAlive: false }], state: 'closed' },
      { name: 'reads Connection as a case-insensitive list (RFC 9112 §9.3, RFC 9110 §7.6.1)', input: head('GET / HTTP/1.1', 'Host: a', 'Connection: keep-alive, CLOSE'), messages: [{ keepAlive: false }], state: 'closed' },
      { name: 'closes an HTTP/1.0 connection without keep-alive after one request (RFC 9112 §9.3)', input: head('GET / HTTP/1.0') + head('GET /2 HTTP/1.0'), messages: [{ keepAlive: false }], state: 'closed' },
      { name: 'keeps an HTTP/1.0 connection open with Connection: keep-alive (RFC 9112 §9.3)', input: head('GET / HTTP/1.0', 'Connection: Keep-Alive') + head('GET /2 HTTP/1.0'), messages: [{ keepAlive: true }, { target: '/2', keepAlive: false }], state: 'closed' },
      { name: 'lets close win over keep-alive in HTTP/1.0 (RFC 9112 §9.3)', input: head('GET / HTTP/1.0', 'Connection: keep-alive', 'Connection: close'), messages: [{ keepAlive: false }] },
    ]);
  });

  describe('Expect', () => {
    runVectors([
      { name: 'reports Expect: 100-continue, in any case (RFC 9110 §10.1.1)', input: head('POST / HTTP/1.1', 'Host: a', 'Expect: 100-Continue', 'Content-Length: 2') + 'ok', messages: [{ expectContinue: true, body: 'ok' }] },
      { name: 'ignores 100-continue in an HTTP/1.0 request (RFC 9110 §10.1.1)', input: head('POST / HTTP/1.0', 'Expect: 100-continue', 'Content-Length: 2') + 'ok', messages: [{ expectContinue: false, body: 'ok' }] },
      { name: 'answers 417 to any other expectation (RFC 9110 §10.1.1)', input: head('POST / HTTP/1.1', 'Host: a', 'Expect: 200-ok', 'Content-Length: 2') + 'ok', error: EXPECTATION_FAILED },
      { name: 'answers 417 when 100-continue comes with another expectation (RFC 9110 §10.1.1)', input: head('POST / HTTP/1.1', 'Host: a', 'Expect: 100-continue, x', 'Content-Length: 2') + 'ok', error: EXPECTATION_FAILED },
    ]);
  });

  describe('Upgrade', () => {
    const upgrade = head('GET /ws HTTP/1.1', 'Host: a', 'Connection: keep-alive, Upgrade', 'Upgrade: websocket');
    const frame = '\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58'; // a masked "Hello" text frame (RFC 6455 §5.7)
    runVectors([
      { name: 'pauses after an upgrade request and holds every later byte untouched (RFC 9110 §7.8)', input: upgrade + frame, messages: [{ upgrade: 'websocket' }], state: 'paused-for-upgrade', unconsumed: frame },
      { name: 'holds even bytes that look like HTTP after an upgrade request (RFC 9110 §7.8)', input: upgrade + GET_A, messages: [{ upgrade: 'websocket' }], state: 'paused-for-upgrade', unconsumed: GET_A },
      { name: 'ignores Upgrade unless Connection lists "upgrade" (RFC 9110 §7.8)', input: head('GET / HTTP/1.1', 'Host: a', 'Upgrade: websocket') + GET_A, messages: [{ upgrade: null }, { target: '/a' }] },
      { name: 'ignores Upgrade in an HTTP/1.0 request (RFC 9110 §7.8)', input: head('GET / HTTP/1.0', 'Connection: upgrade', 'Upgrade: websocket'), messages: [{ upgrade: null }], state: 'closed' },
      { name: 'joins repeated Upgrade fields into one list (RFC 9110 §7.8, §5.3)', input: head('GET / HTTP/1.1', 'Host: a', 'Connection: upgrade', 'Upgrade: h2c', 'Upgrade: websocket'), messages: [{ upgrade: 'h2c, websocket' }], state: 'paused-for-upgrade' },
      { name: 'pauses only after the upgrade request\'s body (RFC 9110 §7.8)', input: head('POST / HTTP/1.1', 'Host: a', 'Connection: upgrade', 'Upgrade: x', 'Content-Length: 3') + 'abcdef', messages: [{ body: 'abc' }], state: 'paused-for-upgrade', unconsumed: 'def' },
    ]);

    it('hands over the bytes after an upgrade request exactly, however they arrive (RFC 9110 §7.8, STYLE habit 10)', () => {
      for (const mode of ALL_SPLITS) {
        const parser = new RequestParser(LIMITS);
        const events: ParseEvent[] = [];
        for (const piece of split(Buffer.from(upgrade + frame, 'latin1'), mode)) {
          const result = parser.push(piece);
          expect(result.error).to.equal(null);
          events.push(...result.events);
        }
        expect(events.map((e) => e.type), describeSplit(mode)).to.deep.equal(['head', 'message-end']);
        expect(parser.takeUnconsumed().toString('latin1'), describeSplit(mode)).to.equal(frame);
        expect(parser.takeUnconsumed().length, 'takeUnconsumed forgets what it returned').to.equal(0);
        // Later bytes are held too, never parsed.
        expect(parser.push(Buffer.from('\x88\x80', 'latin1')).events).to.deep.equal([]);
        expect(parser.takeUnconsumed().toString('latin1')).to.equal('\x88\x80');
      }
    });

    it('parses the held bytes as HTTP when the upgrade is refused and resume() is called (RFC 9110 §7.8)', () => {
      const input = Buffer.from(upgrade + GET_A + head('POST /b HTTP/1.1', 'Host: a', 'Content-Length: 2') + 'hi', 'latin1');
      const results = ALL_SPLITS.map((mode) => {
        const parser = new RequestParser(LIMITS);
        const messages: MessageSummary[] = [];
        for (const piece of split(input, mode)) addEvents(messages, parser.push(piece).events);
        expect(parser.state).to.equal('paused-for-upgrade');
        const resumed = parser.resume();
        expect(resumed.error).to.equal(null);
        addEvents(messages, resumed.events);
        return { messages, state: parser.state };
      });
      for (const result of results) expect(result).to.deep.equal(results[0]);
      expect(results[0]!.messages.map((m) => [m.head.target, m.body, m.trailers])).to.deep.equal([
        ['/ws', '', []],
        ['/a', '', []],
        ['/b', 'hi', []],
      ]);
      expect(results[0]!.state).to.equal('request-line');
    });

    it('stops after a refused upgrade whose request said Connection: close (RFC 9112 §9.6)', () => {
      const parser = new RequestParser(LIMITS);
      parser.push(Buffer.from(head('GET / HTTP/1.1', 'Host: a', 'Connection: close, upgrade', 'Upgrade: websocket') + GET_A));
      expect(parser.state).to.equal('paused-for-upgrade');
      expect(parser.resume()).to.deep.equal({ events: [], error: null });
      expect(parser.state).to.equal('closed');
    });
  });

  describe('limits', () => {
    /** A request-line of exactly `length` bytes (without CRLF). */
    const requestLine = (length: number): string => {
      const fixed = 'GET / HTTP/1.1'.length;
      return `GET /${'a'.repeat(length - fixed)} HTTP/1.1`;
    };
    /** A header section (field lines with CRLFs, not the final CRLF) of exactly `bytes` bytes. */
    const fieldsOfSize = (bytes: number): string[] => {
      const host = 'Host: a';
      const overhead = host.length + 2 + 'X: '.length + 2;
      return [host, `X: ${'v'.repeat(bytes - overhead)}`];
    };
    const { maxRequestLineBytes: maxLine, maxHeaderBytes: maxHeader, maxHeaderCount: maxCount, maxBodyBytes: maxBody } = LIMITS;
    const chunked = head('POST /c HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked');
    const fill = (n: number): string => 'z'.repeat(n);

    runVectors([
      { name: 'accepts a request-line of exactly maxRequestLineBytes (RFC 9112 §3)', input: head(requestLine(maxLine), 'Host: a'), messages: [{ method: 'GET' }] },
      { name: 'answers 414 to a request-line one byte over maxRequestLineBytes (RFC 9112 §3, RFC 9110 §15.5.15)', input: head(requestLine(maxLine + 1), 'Host: a'), error: URI_TOO_LONG },
      { name: 'answers 414 as soon as the request-line passes the limit, before its CRLF (RFC 9112 §3)', input: requestLine(maxLine + 1), error: URI_TOO_LONG },
      { name: 'waits at exactly maxRequestLineBytes and its CR, since the LF may follow (RFC 9112 §3)', input: requestLine(maxLine) + '\r', state: 'request-line' },
      { name: 'accepts a header section of exactly maxHeaderBytes (RFC 9112 §5)', input: head('GET / HTTP/1.1', ...fieldsOfSize(maxHeader)), messages: [{ method: 'GET' }] },
      { name: 'answers 431 to a header section one byte over maxHeaderBytes (RFC 6585 §5)', input: head('GET / HTTP/1.1', ...fieldsOfSize(maxHeader + 1)), error: FIELDS_TOO_LARGE },
      { name: 'answers 431 as soon as the header section passes maxHeaderBytes, before the line ends (RFC 6585 §5)', input: 'GET / HTTP/1.1\r\nHost: a\r\nX: ' + fill(maxHeader), error: FIELDS_TOO_LARGE },
      { name: 'accepts exactly maxHeaderCount field lines (RFC 6585 §5)', input: head('GET / HTTP/1.1', 'Host: a', ...Array.from({ length: maxCount - 1 }, (_, i) => `X-${i}: ${i}`)), messages: [{ method: 'GET' }] },
      { name: 'answers 431 to one field line more than maxHeaderCount (RFC 6585 §5)', input: head('GET / HTTP/1.1', 'Host: a', ...Array.from({ length: maxCount }, (_, i) => `X-${i}: ${i}`)), error: FIELDS_TOO_LARGE },
      { name: 'accepts a Content-Length of exactly maxBodyBytes (RFC 9112 §6.2)', input: head('POST / HTTP/1.1', 'Host: a', `Content-Length: ${maxBody}`) + fill(maxBody), messages: [{ body: fill(maxBody) }] },
      { name: 'answers 413 at the head to a Content-Length one over maxBodyBytes, before any body (RFC 9110 §15.5.14)', input: head('POST / HTTP/1.1', 'Host: a', `Content-Length: ${maxBody + 1}`), error: PAYLOAD_TOO_LARGE },
      { name: 'accepts a chunked body of exactly maxBodyBytes (RFC 9112 §7.1)', input: chunked + `${(maxBody - 1).toString(16)}\r\n${fill(maxBody - 1)}\r\n1\r\nz\r\n0\r\n\r\n`, messages: [{ body: fill(maxBody) }] },
      { name: 'answers 413 when a chunk-size takes the body one byte over maxBodyBytes (RFC 9110 §15.5.14)', input: chunked + `${(maxBody - 1).toString(16)}\r\n${fill(maxBody - 1)}\r\n2\r\nzz\r\n0\r\n\r\n`, messages: [{ body: fill(maxBody - 1), ended: false }], error: PAYLOAD_TOO_LARGE },
      { name: 'answers 413 at the chunk-size digit that proves the body too big, before its line ends (RFC 9112 §7.1)', input: chunked + (maxBody + 1).toString(16), messages: [{ ended: false }], error: PAYLOAD_TOO_LARGE },
      { name: 'answers 413 to a huge chunk-size without overflowing (RFC 9112 §7.1)', input: chunked + 'ffffffffffffffff\r\n', messages: [{ ended: false }], error: PAYLOAD_TOO_LARGE },
      { name: 'accepts a trailer section of exactly maxHeaderBytes (RFC 9112 §7.1.2)', input: chunked + '0\r\n' + head(...fieldsOfSize(maxHeader)), messages: [{ trailers: [['host', 'a'], ['x', 'v'.repeat(maxHeader - 14)]] }] },
      { name: 'answers 431 to a trailer section one byte over maxHeaderBytes (RFC 9112 §7.1.2)', input: chunked + '0\r\n' + head(...fieldsOfSize(maxHeader + 1)), messages: [{ ended: false }], error: FIELDS_TOO_LARGE },
      { name: 'answers 431 to one trailer field line more than maxHeaderCount (RFC 9112 §7.1.2)', input: chunked + '0\r\n' + head(...Array.from({ length: maxCount + 1 }, (_, i) => `X-${i}: ${i}`)), messages: [{ ended: false }], error: FIELDS_TOO_LARGE },
    ]);
  });

  describe('parser state', () => {
    it('is sticky after an error: the same error and no events for every later push (STYLE habit 5)', () => {
      const parser = new RequestParser(LIMITS);
      const first = parser.push(Buffer.from('GET / HTTP/1.1\nHost: a\n\n'));
      expect(first.error).to.be.instanceOf(HttpError);
      expect(first.error?.status).to.equal(400);
      expect(parser.state).to.equal('failed');
      const later = parser.push(Buffer.from(GET_A));
      expect(later.events).to.deep.equal([]);
      expect(later.error).to.equal(first.error);
      expect(parser.resume().error).to.equal(first.error);
      expect(parser.idle).to.equal(false);
    });

    it('returns the events completed before an error together with the error (STYLE habit 5)', () => {
      const parser = new RequestParser(LIMITS);
      const result = parser.push(Buffer.from(GET_A + 'GET / HTTP/9.9\r\n'));
      expect(result.events.map((e) => e.type)).to.deep.equal(['head', 'message-end']);
      expect(result.error?.status).to.equal(505);
    });

    it('reports idle only between messages, and whether it is in a head or a body (for the connection\'s timeouts)', () => {
      const parser = new RequestParser(LIMITS);
      const at = (): [ParserState, boolean, boolean, boolean] => [parser.state, parser.idle, parser.inHead, parser.inBody];
      expect(at()).to.deep.equal(['request-line', true, false, false]);
      parser.push(Buffer.from('\r\n'));
      expect(at(), 'after an empty line').to.deep.equal(['request-line', false, true, false]);
      parser.push(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\n'));
      expect(at()).to.deep.equal(['header-lines', false, true, false]);
      parser.push(Buffer.from('Transfer-Encoding: chunked\r\n\r\n'));
      expect(at()).to.deep.equal(['chunk-size', false, false, true]);
      parser.push(Buffer.from('2\r\n'));
      expect(at()).to.deep.equal(['chunk-data', false, false, true]);
      parser.push(Buffer.from('ab'));
      expect(at()).to.deep.equal(['chunk-data-crlf', false, false, true]);
      parser.push(Buffer.from('\r\n0\r\n'));
      expect(at()).to.deep.equal(['trailer-lines', false, false, true]);
      const end = parser.push(Buffer.from('\r\n'));
      expect(end.events).to.deep.equal([{ type: 'message-end', trailers: [] }]);
      expect(at()).to.deep.equal(['request-line', true, false, false]);
      parser.push(Buffer.from('G'));
      expect(at()).to.deep.equal(['request-line', false, true, false]);
    });

    it('names the broken rule in its error message and never echoes what the client sent (STYLE habits 11, 15)', () => {
      const SECRET = 'Bearer-s3cr3t';
      const cases: readonly (readonly [input: string, wording: RegExp])[] = [
        [head('GET / HTTP/1.1', 'Host: a', `Authorization: ${SECRET}`, ' folded'), /folding/],
        [head('GET / HTTP/1.1', 'Host: a', `Authorization : ${SECRET}`), /between a field name and its colon/],
        [head('GET / HTTP/1.1', 'Host: a', `Authorization: ${SECRET}\x00`), /control character/],
        [head(`GET /${SECRET}#frag HTTP/1.1`, 'Host: a'), /fragment/],
        [head('GET / HTTP/1.1', `Host: ${SECRET}@a`), /Host/],
        [head('POST / HTTP/1.1', 'Host: a', `Content-Length: ${SECRET}`), /Content-Length/],
        [head('POST / HTTP/1.1', 'Host: a', `Transfer-Encoding: ${SECRET}`), /final transfer coding/],
        [`GET /${SECRET} HTTP/1.1\nHost: a\n\n`, /bare LF/],
      ];
      for (const [input, wording] of cases) {
        const { error } = new RequestParser(LIMITS).push(Buffer.from(input, 'latin1'));
        expect(error?.message, JSON.stringify(input)).to.match(wording);
        expect(error?.message).not.to.include(SECRET);
      }
    });

    it('returns nothing from takeUnconsumed() when not paused for an upgrade', () => {
      const parser = new RequestParser(LIMITS);
      parser.push(Buffer.from(GET_A + 'GET /partial'));
      expect(parser.takeUnconsumed().length).to.equal(0);
      expect(parser.resume()).to.deep.equal({ events: [], error: null });
    });
  });

  describe('fuzz', () => {
    const STATUSES = new Set([400, 413, 414, 417, 431, 501, 505]);
    const TEMPLATES = [
      GET_A,
      head('POST /m HTTP/1.1', 'Host: a', 'Content-Length: 5') + 'hello' + GET_A,
      head('POST /c HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked') + '5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n',
      head('GET /ws HTTP/1.1', 'Host: a', 'Connection: upgrade', 'Upgrade: websocket') + '\x81\x00',
      head('GET / HTTP/1.0', 'Connection: keep-alive', 'Expect: 100-continue') + GET_A,
    ];
    const ALPHABET = ' \t\r\n:;,="\\/0123456789abcdefABCDEF\x00\x7f\x80\xffGETPOSTHP.-';

    /** A seeded mutation of a template: replace, insert or delete a few bytes. */
    function mutate(template: string, rnd: () => number): Buffer {
      const bytes = [...Buffer.from(template, 'latin1')];
      const edits = 1 + Math.floor(rnd() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * (bytes.length + 1));
        const byte = ALPHABET.charCodeAt(Math.floor(rnd() * ALPHABET.length));
        const kind = rnd();
        if (kind < 0.4) bytes[Math.min(at, bytes.length - 1)] = byte;
        else if (kind < 0.8) bytes.splice(at, 0, byte);
        else bytes.splice(at, 1);
      }
      return Buffer.from(bytes);
    }

    function checkAnyInput(input: Buffer, label: string): void {
      let whole: Summary;
      try {
        whole = run(input, 'whole', LIMITS);
      } catch (thrown) {
        throw new Error(`${label}: the parser threw ${String(thrown)} for ${JSON.stringify(input.toString('latin1'))}`);
      }
      if (whole.error !== null) expect(STATUSES.has(whole.error.status), `${label}: status ${whole.error.status}`).to.equal(true);
      for (const mode of ['bytewise', { seed: input.length }] as const) {
        expect(run(input, mode, LIMITS), `${label} fed ${describeSplit(mode)}: ${JSON.stringify(input.toString('latin1'))}`).to.deep.equal(whole);
      }
    }

    it('gives events or an HttpError, never another exception, and the same result for every split, on seeded random bytes (STYLE habit 14)', () => {
      const rnd = seededRandom(20240601);
      for (let n = 0; n < 300; n++) {
        const length = Math.floor(rnd() * 160);
        const input = Buffer.from(Array.from({ length }, () => Math.floor(rnd() * 256)));
        checkAnyInput(input, `random input ${n}`);
      }
    });

    it('gives events or an HttpError, and the same result for every split, on seeded mutations of valid requests (STYLE habit 14)', () => {
      const rnd = seededRandom(7);
      let errors = 0;
      for (let n = 0; n < 1500; n++) {
        const input = mutate(TEMPLATES[n % TEMPLATES.length]!, rnd);
        checkAnyInput(input, `mutation ${n}`);
        if (run(input, 'whole').error !== null) errors++;
      }
      // The mutations must reach both the accepting and the refusing paths to mean anything.
      expect(errors).to.be.greaterThan(300).and.lessThan(1500);
    });
  });
});
