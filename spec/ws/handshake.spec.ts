import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { HttpError } from '../../lib/http/http-error.js';
import type { BodyFraming, HeaderField, RequestHead } from '../../lib/http/request-head.js';
import { acceptKey, handshakeResponse, parseHandshake, type ParsedHandshake } from '../../lib/ws/handshake.js';

/** The key of RFC 6455 §1.3 and §4.2.2. */
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

const VALID_HEADERS: readonly HeaderField[] = [
  ['host', 'chat.example.com'],
  ['upgrade', 'websocket'],
  ['connection', 'Upgrade'],
  ['sec-websocket-key', RFC_KEY],
  ['origin', 'https://chat.example.com'],
  ['sec-websocket-protocol', 'chat.v1, bearer.abc'],
  ['sec-websocket-version', '13'],
];

interface HeadOptions {
  readonly method?: string;
  readonly version?: '1.0' | '1.1';
  readonly framing?: BodyFraming;
  /** Header names to leave out. */
  readonly without?: readonly string[];
  /** Header lines to set, replacing any of the same name. */
  readonly set?: readonly HeaderField[];
  /** Header lines to add after the others. */
  readonly add?: readonly HeaderField[];
}

function head(options: HeadOptions = {}): RequestHead {
  const replaced = new Set([...(options.without ?? []), ...(options.set ?? []).map(([name]) => name)]);
  const headers = [...VALID_HEADERS.filter(([name]) => !replaced.has(name)), ...(options.set ?? []), ...(options.add ?? [])];
  return {
    method: options.method ?? 'GET',
    target: '/ws',
    version: options.version ?? '1.1',
    headers,
    framing: options.framing ?? { kind: 'none' },
    keepAlive: true,
    expectContinue: false,
    upgrade: 'websocket',
  };
}

function parsed(options: HeadOptions = {}): ParsedHandshake {
  const result = parseHandshake(head(options));
  if (result instanceof HttpError) throw new Error(`refused: ${result.status} ${result.message}`);
  return result;
}

describe('ws/handshake', () => {
  describe('acceptKey', () => {
    it('computes the Sec-WebSocket-Accept of RFC 6455 §1.3\'s example', () => {
      // RFC 6455 §1.3: "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
      expect(acceptKey(RFC_KEY)).to.equal('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    });

    it('agrees with node:crypto\'s SHA-1 on random keys (RFC 6455 §4.2.2 item 5.4)', () => {
      for (let i = 0; i < 50; i++) {
        const key = randomBytes(16).toString('base64');
        const expected = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        expect(acceptKey(key)).to.equal(expected);
      }
    });
  });

  describe('parseHandshake: a valid request', () => {
    it('returns the key, the offered subprotocols in order, the extensions and the origin (RFC 6455 §4.2.1)', () => {
      expect(parsed({ add: [['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits']] })).to.deep.equal({
        key: RFC_KEY,
        protocols: ['chat.v1', 'bearer.abc'],
        extensions: ['permessage-deflate; client_max_window_bits'],
        origin: 'https://chat.example.com',
      });
    });

    it('matches the Upgrade and Connection tokens without regard to case, within a list (RFC 6455 §4.2.1 items 3–4)', () => {
      const result = parsed({ set: [['upgrade', 'h2c, WebSocket'], ['connection', 'keep-alive, UPGRADE']] });
      expect(result.key).to.equal(RFC_KEY);
    });

    it('keeps subprotocol tokens as sent, case and all, across several header lines (RFC 6455 §4.1 item 10)', () => {
      const result = parsed({ set: [['sec-websocket-protocol', 'Chat.V1']], add: [['sec-websocket-protocol', 'chat.v1']] });
      expect(result.protocols).to.deep.equal(['Chat.V1', 'chat.v1']);
    });

    it('accepts a request with no Origin, no subprotocol and no extension', () => {
      expect(parsed({ without: ['origin', 'sec-websocket-protocol'] })).to.deep.equal({
        key: RFC_KEY,
        protocols: [],
        extensions: [],
        origin: undefined,
      });
    });

    it('accepts Content-Length: 0', () => {
      expect(parsed({ framing: { kind: 'length', length: 0 } }).key).to.equal(RFC_KEY);
    });
  });

  describe('parseHandshake: refusals, each with its status', () => {
    const rows: readonly { rule: string; options: HeadOptions; status: number; headers?: Record<string, string> }[] = [
      { rule: 'the method is POST (RFC 6455 §4.2.1 item 1)', options: { method: 'POST' }, status: 405, headers: { Allow: 'GET' } },
      { rule: 'the method is HEAD (RFC 6455 §4.2.1 item 1)', options: { method: 'HEAD' }, status: 405, headers: { Allow: 'GET' } },
      { rule: 'the method is a lower-case "get" (RFC 9110 §9.1: methods are case-sensitive)', options: { method: 'get' }, status: 405, headers: { Allow: 'GET' } },
      { rule: 'the request is HTTP/1.0 (RFC 6455 §4.2.1 item 1)', options: { version: '1.0' }, status: 400 },
      { rule: 'Host is missing (RFC 6455 §4.2.1 item 2)', options: { without: ['host'] }, status: 400 },
      { rule: 'Host is empty (RFC 6455 §4.2.1 item 2)', options: { set: [['host', '']] }, status: 400 },
      { rule: 'Host is sent twice (RFC 9112 §3.2)', options: { add: [['host', 'other.example']] }, status: 400 },
      { rule: 'it is a plain GET with no upgrade at all (RFC 6455 §4.2.1 item 3)', options: { without: ['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version'] }, status: 400 },
      { rule: 'Upgrade is missing (RFC 6455 §4.2.1 item 3)', options: { without: ['upgrade'] }, status: 400 },
      { rule: 'Upgrade names another protocol (RFC 6455 §4.2.1 item 3)', options: { set: [['upgrade', 'h2c']] }, status: 400 },
      { rule: 'Upgrade holds "websocket" only as part of a token (RFC 6455 §4.2.1 item 3)', options: { set: [['upgrade', 'websocketx']] }, status: 400 },
      { rule: 'Connection does not list upgrade (RFC 6455 §4.2.1 item 4)', options: { set: [['connection', 'keep-alive']] }, status: 400 },
      { rule: 'Connection is missing (RFC 6455 §4.2.1 item 4)', options: { without: ['connection'] }, status: 400 },
      { rule: 'Sec-WebSocket-Version is missing (RFC 6455 §4.2.1 item 6)', options: { without: ['sec-websocket-version'] }, status: 400 },
      { rule: 'the version is 8 (RFC 6455 §4.4)', options: { set: [['sec-websocket-version', '8']] }, status: 426, headers: { 'Sec-WebSocket-Version': '13' } },
      { rule: 'the version is 14 (RFC 6455 §4.4)', options: { set: [['sec-websocket-version', '14']] }, status: 426, headers: { 'Sec-WebSocket-Version': '13' } },
      { rule: 'several versions are listed (RFC 6455 §4.1 item 9)', options: { set: [['sec-websocket-version', '13, 8']] }, status: 426, headers: { 'Sec-WebSocket-Version': '13' } },
      { rule: 'the version is another version even when the key is bad too (RFC 6455 §4.4)', options: { set: [['sec-websocket-version', '7'], ['sec-websocket-key', 'nope']] }, status: 426, headers: { 'Sec-WebSocket-Version': '13' } },
      { rule: 'Sec-WebSocket-Key is missing (RFC 6455 §4.2.1 item 5)', options: { without: ['sec-websocket-key'] }, status: 400 },
      { rule: 'Sec-WebSocket-Key is sent twice (RFC 6455 §11.3.1)', options: { add: [['sec-websocket-key', RFC_KEY]] }, status: 400 },
      { rule: 'Sec-WebSocket-Key decodes to 15 bytes (RFC 6455 §4.2.1 item 5)', options: { set: [['sec-websocket-key', Buffer.alloc(15, 1).toString('base64')]] }, status: 400 },
      { rule: 'Sec-WebSocket-Key decodes to 17 bytes (RFC 6455 §4.2.1 item 5)', options: { set: [['sec-websocket-key', Buffer.alloc(17, 1).toString('base64')]] }, status: 400 },
      { rule: 'Sec-WebSocket-Key is not base64 (RFC 6455 §4.2.1 item 5)', options: { set: [['sec-websocket-key', 'not base64 at all!!!!!==']] }, status: 400 },
      { rule: 'Sec-WebSocket-Key lacks its padding (RFC 4648 §3.2)', options: { set: [['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ']] }, status: 400 },
      { rule: 'Sec-WebSocket-Key uses the URL-safe alphabet (RFC 4648 §5)', options: { set: [['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZ-_']] }, status: 400 },
      { rule: 'Sec-WebSocket-Key has non-zero padding bits, a non-canonical spelling (RFC 4648 §3.5)', options: { set: [['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZR==']] }, status: 400 },
      { rule: 'a subprotocol is not a token (RFC 6455 §4.1 item 10)', options: { set: [['sec-websocket-protocol', 'chat v1']] }, status: 400 },
      { rule: 'a subprotocol is offered twice (RFC 6455 §4.1 item 10)', options: { set: [['sec-websocket-protocol', 'chat.v1, chat.v1']] }, status: 400 },
      { rule: 'the request has a body (RFC 6455 §4.2.2: what follows the head are frames)', options: { framing: { kind: 'length', length: 5 } }, status: 400 },
      { rule: 'the request has a chunked body', options: { framing: { kind: 'chunked' } }, status: 400 },
    ];

    for (const row of rows) {
      it(`answers ${row.status} when ${row.rule}`, () => {
        const result = parseHandshake(head(row.options));
        expect(result).to.be.instanceOf(HttpError);
        const error = result as HttpError;
        expect(error.status).to.equal(row.status);
        expect(error.code).to.equal(row.status === 405 ? 'method_not_allowed' : 'bad_request');
        expect(error.headers).to.deep.equal(row.headers ?? {});
      });
    }
  });

  describe('handshakeResponse', () => {
    it('writes the 101 head of RFC 6455 §4.2.2 with the chosen subprotocol, and no extensions (§9.1)', () => {
      expect(handshakeResponse(RFC_KEY, 'chat.v1').toString('latin1')).to.equal(
        'HTTP/1.1 101 Switching Protocols\r\n' +
          'Upgrade: websocket\r\n' +
          'Connection: Upgrade\r\n' +
          'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
          'Sec-WebSocket-Protocol: chat.v1\r\n' +
          '\r\n',
      );
    });

    it('leaves out Sec-WebSocket-Protocol when none was chosen, and adds extra headers', () => {
      const text = handshakeResponse(RFC_KEY, null, { 'X-Request-Id': 'abc123' }).toString('latin1');
      expect(text).to.not.include('Sec-WebSocket-Protocol');
      expect(text).to.not.include('Sec-WebSocket-Extensions');
      expect(text.endsWith('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Request-Id: abc123\r\n\r\n')).to.equal(true);
    });

    it('refuses header names or values that would break the response head', () => {
      expect(() => handshakeResponse(RFC_KEY, null, { 'X-Bad': 'a\r\nSet-Cookie: x' })).to.throw(RangeError);
      expect(() => handshakeResponse(RFC_KEY, null, { 'X Bad': 'a' })).to.throw(RangeError);
      expect(() => handshakeResponse(RFC_KEY, 'chat v1')).to.throw(RangeError);
    });
  });
});
