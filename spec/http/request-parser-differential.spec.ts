/**
 * A differential test of our request parser against another strict one:
 * Node's own llhttp (node:http with insecureHTTPParser off). Each corpus entry
 * is sent on a raw loopback socket, which is then half-closed; llhttp
 * "accepts" when at least one request was completed and no clientError was
 * raised, else it "rejects" (a truncated request is an error at end of input).
 * Our parser is fed the same bytes and judged the same way.
 *
 * Every disagreement must be listed in `intentionalDifferences` with the
 * reason; an unlisted one fails the test, and so does a listed one that no
 * longer differs (so the table stays true).
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { RequestParser, type RequestParserLimits } from '../../lib/http/request-parser.js';

type Verdict = 'accept' | 'reject';

interface Entry {
  /** Unique; also the key of intentionalDifferences. */
  readonly name: string;
  /** latin1: each character is one byte. */
  readonly input: string;
}

/** Roomy limits, so the corpus tests grammar and framing, not sizes (Node's limits differ from ours). */
const LIMITS: RequestParserLimits = { maxRequestLineBytes: 8190, maxHeaderBytes: 16_384, maxHeaderCount: 100, maxBodyBytes: 1 << 20 };

/** How long one exchange with the server may take before we give up on it. */
const EXCHANGE_TIMEOUT_MS = 3_000;

function head(...lines: string[]): string {
  return lines.map((line) => `${line}\r\n`).join('') + '\r\n';
}
const post = (...fields: string[]): string => head('POST /p HTTP/1.1', 'Host: a', ...fields);
const chunkedPost = (body: string): string => post('Transfer-Encoding: chunked') + body;
const GET = head('GET / HTTP/1.1', 'Host: a');
const INNER_REQUEST = head('GET /x HTTP/1.1', 'Host: a');

// --- The corpus ---------------------------------------------------------------------

const VALID: readonly Entry[] = [
  { name: 'simple GET', input: GET },
  { name: 'GET with a query', input: head('GET /a/b?c=d&e=f HTTP/1.1', 'Host: example.com') },
  { name: 'HEAD', input: head('HEAD / HTTP/1.1', 'Host: a') },
  { name: 'DELETE with Content-Length: 0', input: head('DELETE /x HTTP/1.1', 'Host: a', 'Content-Length: 0') },
  { name: 'lower-case method', input: head('get / HTTP/1.1', 'Host: a') },
  { name: 'POST with Content-Length', input: post('Content-Length: 5') + 'hello' },
  { name: 'POST with a binary body', input: post('Content-Length: 4') + '\x00\r\n\xff' },
  { name: 'POST chunked', input: chunkedPost('5\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunked with upper- and lower-case hex', input: chunkedPost('A\r\n0123456789\r\nb\r\n0123456789a\r\n0\r\n\r\n') },
  { name: 'chunked with extensions', input: chunkedPost('5;a=b;c="d e"\r\nhello\r\n0;z\r\n\r\n') },
  { name: 'chunked with trailers', input: chunkedPost('5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-Two: 2\r\n\r\n') },
  { name: 'chunk-size with leading zeros', input: chunkedPost('0005\r\nhello\r\n00\r\n\r\n') },
  { name: 'Transfer-Encoding in mixed case', input: post('Transfer-Encoding: Chunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding after a tab', input: post('Transfer-Encoding:\tchunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding with trailing OWS', input: post('Transfer-Encoding: chunked \t') + '0\r\n\r\n' },
  { name: 'Content-Length with leading zeros', input: post('Content-Length: 005') + 'hello' },
  { name: 'Content-Length: 0', input: post('Content-Length: 0') },
  { name: 'two pipelined GETs', input: GET + GET },
  { name: 'pipelined GET, POST and chunked PUT', input: GET + post('Content-Length: 2') + 'hi' + head('PUT /c HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked') + '1\r\nx\r\n0\r\n\r\n' },
  { name: 'HTTP/1.0 without Host', input: head('GET / HTTP/1.0') },
  { name: 'HTTP/1.0 keep-alive then a second request', input: head('GET / HTTP/1.0', 'Connection: keep-alive') + head('GET /2 HTTP/1.0') },
  { name: 'OPTIONS *', input: head('OPTIONS * HTTP/1.1', 'Host: a') },
  { name: 'absolute-form target', input: head('GET http://example.com/x?y HTTP/1.1', 'Host: example.com') },
  { name: 'CONNECT with authority-form', input: head('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443') },
  { name: 'WebSocket upgrade', input: head('GET /ws HTTP/1.1', 'Host: a', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==') },
  { name: 'Expect: 100-continue with a body', input: post('Expect: 100-continue', 'Content-Length: 2') + 'ok' },
  { name: 'empty field value', input: head('GET / HTTP/1.1', 'Host: a', 'X-Empty:') },
  { name: 'obs-text in a field value', input: head('GET / HTTP/1.1', 'Host: a', 'X-Latin: caf\xe9 \x80\xff') },
  { name: 'tab inside a field value', input: head('GET / HTTP/1.1', 'Host: a', 'X: a\tb') },
  { name: 'token characters in a field name', input: head('GET / HTTP/1.1', 'Host: a', "X-!#$%&'*+.^_`|~: 1") },
  { name: 'Host with a port', input: head('GET / HTTP/1.1', 'Host: example.com:8080') },
  { name: 'Host as an IPv6 literal', input: head('GET / HTTP/1.1', 'Host: [::1]:8443') },
  { name: 'empty Host', input: head('GET / HTTP/1.1', 'Host:') },
  { name: 'one leading empty line', input: '\r\n' + GET },
  { name: 'many fields', input: head('GET / HTTP/1.1', 'Host: a', ...Array.from({ length: 40 }, (_, i) => `X-Field-${i}: value ${i}`)) },
  { name: 'long field value', input: head('GET / HTTP/1.1', 'Host: a', `X-Long: ${'v'.repeat(4000)}`) },
  { name: 'Connection: close', input: head('GET / HTTP/1.1', 'Host: a', 'Connection: close') },
];

const INVALID: readonly Entry[] = [
  { name: 'LF-only line endings', input: 'GET / HTTP/1.1\nHost: a\n\n' },
  { name: 'one LF-only field line', input: 'GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n' },
  { name: 'CR-only line endings', input: 'GET / HTTP/1.1\rHost: a\r\r' },
  { name: 'bare CR in a field value', input: head('GET / HTTP/1.1', 'Host: a', 'X: a\rb') },
  { name: 'bare CR in the request-line', input: head('GET /\r HTTP/1.1', 'Host: a') },
  { name: 'HTTP/1.1 without Host', input: head('GET / HTTP/1.1') },
  { name: 'two Host fields', input: head('GET / HTTP/1.1', 'Host: a', 'Host: b') },
  { name: 'Host with a space', input: head('GET / HTTP/1.1', 'Host: a b') },
  { name: 'Host with userinfo', input: head('GET / HTTP/1.1', 'Host: u@a') },
  { name: 'space before the colon', input: head('GET / HTTP/1.1', 'Host : a') },
  { name: 'obs-fold', input: head('GET / HTTP/1.1', 'Host: a', 'X: one', ' two') },
  { name: 'whitespace before the first field', input: head('GET / HTTP/1.1', ' Host: a') },
  { name: 'NUL in a field value', input: head('GET / HTTP/1.1', 'Host: a', 'X: a\x00b') },
  { name: 'DEL in a field value', input: head('GET / HTTP/1.1', 'Host: a', 'X: a\x7fb') },
  { name: 'control character in a field value', input: head('GET / HTTP/1.1', 'Host: a', 'X: a\x01b') },
  { name: 'non-token field name', input: head('GET / HTTP/1.1', 'Host: a', 'X(y): 1') },
  { name: 'field line without a colon', input: head('GET / HTTP/1.1', 'Host: a', 'NoColon') },
  { name: 'empty field name', input: head('GET / HTTP/1.1', 'Host: a', ': v') },
  { name: 'non-token method', input: head('GE(T / HTTP/1.1', 'Host: a') },
  { name: 'two spaces in the request-line', input: head('GET  / HTTP/1.1', 'Host: a') },
  { name: 'tab in the request-line', input: head('GET\t/ HTTP/1.1', 'Host: a') },
  { name: 'space after the version', input: head('GET / HTTP/1.1 ', 'Host: a') },
  { name: 'request-line without a version', input: 'GET /\r\n\r\n' },
  { name: 'HTTP/2.0', input: head('GET / HTTP/2.0', 'Host: a') },
  { name: 'HTTP/1.2', input: head('GET / HTTP/1.2', 'Host: a') },
  { name: 'HTTP/0.9 as a version', input: head('GET / HTTP/0.9', 'Host: a') },
  { name: 'HTTP/1.1x', input: head('GET / HTTP/1.1x', 'Host: a') },
  { name: 'lower-case http/1.1', input: head('GET / http/1.1', 'Host: a') },
  { name: 'HTTP/1', input: head('GET / HTTP/1', 'Host: a') },
  { name: 'non-ASCII in the target', input: head('GET /caf\xe9 HTTP/1.1', 'Host: a') },
  { name: 'control character in the target', input: head('GET /a\x01 HTTP/1.1', 'Host: a') },
  { name: 'fragment in the target', input: head('GET /a#b HTTP/1.1', 'Host: a') },
  { name: 'asterisk-form with GET', input: head('GET * HTTP/1.1', 'Host: a') },
  { name: 'authority-form with GET', input: head('GET example.com:443 HTTP/1.1', 'Host: a') },
  { name: 'CONNECT with an origin-form target', input: head('CONNECT /x HTTP/1.1', 'Host: a') },
  { name: 'relative target', input: head('GET a/b HTTP/1.1', 'Host: a') },
  { name: 'a bare LF before the request-line', input: '\n' + GET },
  { name: 'five empty lines before the request-line', input: '\r\n'.repeat(5) + GET },
  { name: 'Expect: something-else', input: post('Expect: something-else', 'Content-Length: 2') + 'ok' },
  { name: 'chunk-size not hex', input: chunkedPost('g\r\nhello\r\n0\r\n\r\n') },
  { name: 'empty chunk-size', input: chunkedPost('\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk-size with a trailing space', input: chunkedPost('5 \r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk-size with a leading space', input: chunkedPost(' 5\r\nhello\r\n0\r\n\r\n') },
  { name: 'negative chunk-size', input: chunkedPost('-5\r\nhello\r\n0\r\n\r\n') },
  { name: 'empty chunk extension', input: chunkedPost('5;\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk extension with an unclosed quote', input: chunkedPost('5;a="x\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk-data without CRLF', input: chunkedPost('5\r\nhelloX\r\n0\r\n\r\n') },
  { name: 'chunk-data followed by a bare LF', input: chunkedPost('5\r\nhello\n0\r\n\r\n') },
  { name: 'chunk-size line ending in a bare LF', input: chunkedPost('5\nhello\r\n0\r\n\r\n') },
  { name: '17-digit chunk-size of leading zeros', input: chunkedPost('00000000000000005\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunk-size that overflows 64 bits', input: chunkedPost('1ffffffffffffffff\r\nhello\r\n0\r\n\r\n') },
  { name: 'obs-fold in the trailers', input: chunkedPost('0\r\nX: a\r\n b\r\n\r\n') },
  { name: 'space before the colon in a trailer', input: chunkedPost('0\r\nX : a\r\n\r\n') },
  { name: 'truncated Content-Length body', input: post('Content-Length: 10') + 'short' },
  { name: 'truncated chunked body', input: chunkedPost('5\r\nhel') },
  { name: 'bad second request in a pipeline', input: GET + 'GET / HTTP/1.1\nHost: a\n\n' },
];

const SMUGGLING: readonly Entry[] = [
  { name: 'Content-Length and Transfer-Encoding', input: post('Content-Length: 5', 'Transfer-Encoding: chunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding and Content-Length', input: post('Transfer-Encoding: chunked', 'Content-Length: 5') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: chunked on two lines', input: post('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: chunked, chunked', input: post('Transfer-Encoding: chunked, chunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: xchunked', input: post('Transfer-Encoding: xchunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: chunkedx', input: post('Transfer-Encoding: chunkedx') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: chunked, gzip', input: post('Transfer-Encoding: chunked, gzip') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: gzip, chunked', input: post('Transfer-Encoding: gzip, chunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: identity', input: post('Transfer-Encoding: identity') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: "chunked"', input: post('Transfer-Encoding: "chunked"') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: , chunked', input: post('Transfer-Encoding: , chunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding : chunked', input: post('Transfer-Encoding : chunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding with obs-fold', input: post('Transfer-Encoding:', ' chunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding with a vertical tab', input: post('Transfer-Encoding:\x0bchunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding with NUL', input: post('Transfer-Encoding: chunked\x00') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding in HTTP/1.0', input: head('POST / HTTP/1.0', 'Transfer-Encoding: chunked') + '0\r\n\r\n' },
  { name: 'Transfer-Encoding: chunked, then OWS', input: post('Transfer-Encoding: chunked  ') + '0\r\n\r\n' },
  { name: 'Transfer_Encoding is another field, so the chunked body is a bad next request', input: post('Transfer_Encoding: chunked') + '0\r\n\r\n' },
  { name: 'Content-Length: +5', input: post('Content-Length: +5') + 'hello' },
  { name: 'Content-Length: -1', input: post('Content-Length: -1') + 'hello' },
  { name: 'Content-Length: 5 5', input: post('Content-Length: 5 5') + 'hello' },
  { name: 'Content-Length: 0x5', input: post('Content-Length: 0x5') + 'hello' },
  { name: 'Content-Length with NUL', input: post('Content-Length: 5\x00') + 'hello' },
  { name: 'empty Content-Length', input: post('Content-Length:') + 'hello' },
  { name: 'two different Content-Length fields', input: post('Content-Length: 5', 'Content-Length: 6') + 'hello!' },
  { name: 'Content-Length: 5, 6', input: post('Content-Length: 5, 6') + 'hello!' },
  { name: 'two identical Content-Length fields', input: post('Content-Length: 5', 'Content-Length: 5') + 'hello' },
  { name: 'Content-Length: 5, 5', input: post('Content-Length: 5, 5') + 'hello' },
  { name: 'Content-Length of 2^64', input: post('Content-Length: 18446744073709551616') + 'hello' },
  { name: 'GET whose body holds a second request', input: head('GET / HTTP/1.1', 'Host: a', `Content-Length: ${INNER_REQUEST.length}`) + INNER_REQUEST },
];

/** The smuggling-style entries that are nevertheless well-formed: one request, read one way only. */
const SMUGGLING_BUT_VALID: ReadonlySet<string> = new Set([
  'Transfer-Encoding: chunked, then OWS',
  'two identical Content-Length fields',
  'Content-Length: 5, 5',
  'GET whose body holds a second request',
]);

const CORPUS: readonly Entry[] = [...VALID, ...INVALID, ...SMUGGLING];

/**
 * Where we knowingly disagree with llhttp (as Node 20 ships it), and why. Each
 * is a place where we are the stricter one or follow the RFC more closely.
 */
const intentionalDifferences: Readonly<Record<string, string>> = {
  // llhttp is the stricter one:
  'lower-case method':
    'llhttp knows a fixed list of methods; RFC 9110 §9.1 makes a method any token, case-sensitive, and the router answers 501 to one it does not know.',
  'Transfer-Encoding with trailing OWS':
    'RFC 9110 §5.5 strips leading and trailing OWS (SP or HTAB) from every field value, so "chunked \\t" is chunked; llhttp refuses the trailing HTAB (it accepts trailing SP).',
  'two identical Content-Length fields': 'RFC 9110 §8.6 lets a recipient take repeated identical values as one; llhttp refuses any duplicate.',
  'Content-Length: 5, 5': 'RFC 9110 §8.6 names exactly this list ("42, 42") as one a recipient MAY replace by the single value; llhttp refuses it.',

  // We are the stricter one:
  'two Host fields': 'RFC 9112 §3.2: a server MUST answer 400 to a request with more than one Host field line.',
  'Host with a space': 'RFC 9112 §3.2: a server MUST answer 400 to a Host with an invalid field value; llhttp does not check Host.',
  'Host with userinfo': 'RFC 9112 §3.2 (Host = uri-host [ ":" port ] has no userinfo): an invalid Host is a 400.',
  'two spaces in the request-line':
    'RFC 9112 §3 requires single SPs (recipients MAY split on whitespace); we do not, since parsers that split a request-line differently can be played against each other.',
  'request-line without a version': 'llhttp reads an HTTP/0.9 simple request; RFC 9112 §3 requires an HTTP-version and we speak HTTP/1.x only.',
  'HTTP/2.0': 'llhttp parses a version 2.0 request-line; HTTP/2 is not this syntax, so we answer 505 (RFC 9110 §15.6.6).',
  'HTTP/0.9 as a version': 'We speak HTTP/1.0 and HTTP/1.1 only and answer 505 to other versions (RFC 9110 §15.6.6).',
  'fragment in the target': 'The request-target grammar (RFC 9112 §3.2) has no fragment; clients never send one (RFC 9110 §4.2.5).',
  'asterisk-form with GET': 'RFC 9112 §3.2.4: the asterisk-form is only for a server-wide OPTIONS request.',
  'CONNECT with an origin-form target': 'RFC 9112 §3.2.3: a CONNECT request-target is the authority-form, host:port.',
  'a bare LF before the request-line': 'Lines end with CRLF only, including the empty lines RFC 9112 §2.2 lets us skip (strict, see request-parser.ts).',
  'five empty lines before the request-line':
    'RFC 9112 §2.2 asks us to skip at least one empty line; we skip MAX_LEADING_EMPTY_LINES (4), not an endless stream.',
  '17-digit chunk-size of leading zeros': 'We bound a chunk-size to 16 hex digits, leading zeros included (RFC 9112 §7.1: anticipate large numerals); llhttp only checks the value.',
  'Transfer-Encoding: gzip, chunked': 'RFC 9112 §6.1: a server SHOULD answer 501 to a transfer coding it does not implement; we decode chunked only.',
  'Transfer-Encoding: , chunked': 'No leniency in the fields that frame the body: we refuse the empty list element RFC 9110 §5.6.1 would let us skip.',
  'Transfer-Encoding in HTTP/1.0': 'RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding MUST be treated as having faulty framing.',
};

// --- Verdicts -------------------------------------------------------------------------

/** Ours: an error, or a request cut off at the end of input, is a rejection. */
function ourVerdict(input: string): Verdict {
  const parser = new RequestParser(LIMITS);
  const result = parser.push(Buffer.from(input, 'latin1'));
  if (result.error !== null) return 'reject';
  const completed = result.events.filter((event) => event.type === 'message-end').length;
  const midMessage = !parser.idle && parser.state !== 'paused-for-upgrade';
  return completed > 0 && !midMessage ? 'accept' : 'reject';
}

interface NodeRecord {
  completed: number;
  clientError: string | null;
}

/** Start a node:http server on loopback port 0 with the strict parser, recording each connection by client port. */
async function startNodeServer(records: Map<number, NodeRecord>): Promise<Server> {
  const server = createServer({ insecureHTTPParser: false, requireHostHeader: true });
  // A fresh record per accepted connection, so a reused client port never inherits an old one.
  server.on('connection', (socket) => records.set(socket.remotePort ?? -1, { completed: 0, clientError: null }));
  const recordOf = (socket: Socket): NodeRecord => {
    const record = records.get(socket.remotePort ?? -1);
    if (record === undefined) throw new Error('an event for a connection the server never accepted');
    return record;
  };
  server.on('request', (req, res) => {
    req.resume();
    req.on('end', () => {
      recordOf(req.socket).completed++;
      res.end('ok');
    });
  });
  // Upgrade and CONNECT requests complete at their head; the socket is ours to close.
  server.on('upgrade', (req, socket) => {
    recordOf(req.socket).completed++;
    socket.destroy();
  });
  server.on('connect', (req, socket) => {
    recordOf(req.socket).completed++;
    socket.destroy();
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    recordOf(socket as Socket).clientError = error.code ?? error.message;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Send one entry on a raw socket, half-close, and wait until the server has closed too. */
function exchange(port: number, input: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${EXCHANGE_TIMEOUT_MS} ms`));
    }, EXCHANGE_TIMEOUT_MS);
    let localPort = -1;
    socket.on('connect', () => {
      localPort = socket.localPort ?? -1;
      socket.end(Buffer.from(input, 'latin1'));
    });
    socket.on('data', () => {
      // The responses do not matter; only whether llhttp accepted the bytes.
    });
    socket.on('error', () => {
      // A reset after the server destroyed a rejected connection; 'close' follows.
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(localPort);
    });
  });
}

async function nodeVerdicts(entries: readonly Entry[]): Promise<Map<string, Verdict>> {
  const records = new Map<number, NodeRecord>();
  const server = await startNodeServer(records);
  try {
    const { port } = server.address() as AddressInfo;
    const verdicts = new Map<string, Verdict>();
    await Promise.all(
      entries.map(async (entry) => {
        const localPort = await exchange(port, entry.input);
        const record = records.get(localPort);
        if (record === undefined) throw new Error(`the server never saw the connection for ${entry.name}`);
        verdicts.set(entry.name, record.clientError === null && record.completed > 0 ? 'accept' : 'reject');
      }),
    );
    return verdicts;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// --- Tests ----------------------------------------------------------------------------

describe('http/request-parser, differential against llhttp (node:http, strict)', function () {
  this.timeout(15_000);
  let node: Map<string, Verdict>;

  before(async () => {
    node = await nodeVerdicts(CORPUS);
  });

  it('has a corpus of at least 80 uniquely named valid, invalid and smuggling entries', () => {
    expect(CORPUS.length).to.be.at.least(80);
    expect(new Set(CORPUS.map((entry) => entry.name)).size).to.equal(CORPUS.length);
    for (const name of Object.keys(intentionalDifferences)) expect(CORPUS.some((entry) => entry.name === name), name).to.equal(true);
  });

  it('accepts every valid entry and rejects every invalid one, smuggling pairs included (RFC 9112)', () => {
    const wrong = [
      ...VALID.filter((entry) => ourVerdict(entry.input) !== 'accept').map((entry) => `should accept: ${entry.name}`),
      ...INVALID.filter((entry) => ourVerdict(entry.input) !== 'reject').map((entry) => `should reject: ${entry.name}`),
      ...SMUGGLING.filter((entry) => ourVerdict(entry.input) !== (SMUGGLING_BUT_VALID.has(entry.name) ? 'accept' : 'reject')).map((entry) => `wrong verdict: ${entry.name}`),
    ];
    expect(wrong).to.deep.equal([]);
  });

  it('agrees with llhttp on every entry not listed as an intentional difference', () => {
    const disagreements = CORPUS.filter((entry) => !(entry.name in intentionalDifferences) && ourVerdict(entry.input) !== node.get(entry.name)).map(
      (entry) => `${entry.name}: we ${ourVerdict(entry.input)}, llhttp ${node.get(entry.name)}`,
    );
    expect(disagreements).to.deep.equal([]);
  });

  it('still differs from llhttp on every entry listed as an intentional difference (the table is not stale)', () => {
    const stale = Object.keys(intentionalDifferences).filter((name) => {
      const entry = CORPUS.find((e) => e.name === name)!;
      return ourVerdict(entry.input) === node.get(name);
    });
    expect(stale).to.deep.equal([]);
  });
});
