/**
 * HTTP/1.1 over real TLS sockets against the live server: routing, static
 * files, keep-alive, pipelining, 100-continue, HEAD, errors in API.md's shape.
 */
import { expect } from 'chai';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { connect, parseResponses, readResponses, request } from '../helpers/raw-client.js';
import { jsonResponse } from '../../lib/http/response.js';
import { readJsonObject } from '../../lib/http/json-body.js';

describe('http/connection over TLS (live server)', function () {
  let live: LiveServer;
  before(async () => {
    live = await startServer({}, {
      prepare: (s) => {
        // A test-only route: echoes the JSON body it gets, after an optional delay.
        s.route('POST', '/spec-echo', async (req) => {
          const body = readJsonObject(req);
          if (typeof body.delay === 'number') await new Promise((r) => setTimeout(r, body.delay as number));
          return jsonResponse(200, { got: body });
        });
      },
    });
  });
  after(() => live.close());

  const get = (path: string, extra = '') => request(live.port, true, `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`);

  it('serves / as public/index.html with a charset and the security headers', async () => {
    const res = await get('/');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(res.body.toString()).to.match(/<html/i);
    expect(res.headers.get('content-security-policy')).to.include("default-src 'self'");
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(res.headers.get('strict-transport-security')).to.match(/max-age=\d+/);
    expect(res.headers.get('date')).to.match(/GMT$/);
    expect(res.headers.has('etag')).to.equal(true);
  });

  it('writes framing headers once: a static 200 has exactly one Content-Length (RFC 9112 §6.3)', async () => {
    const client = await connect(live.port, { tls: true });
    client.send('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const [res] = await readResponses(client, 1);
    client.destroy();
    const head = client.received().toString('latin1').split('\r\n\r\n')[0]!;
    expect(head.match(/^content-length:/gim)).to.have.length(1);
    expect(Number(res!.headers.get('content-length'))).to.equal(res!.body.length);
  });

  it('answers a conditional GET with 304 and no body (RFC 9110 §13.1.2)', async () => {
    const first = await get('/');
    const etag = first.headers.get('etag')!;
    const second = await get('/', `If-None-Match: ${etag}\r\n`);
    expect(second.status).to.equal(304);
    expect(second.body.length).to.equal(0);
    expect(second.headers.get('etag')).to.equal(etag);
  });

  it('answers HEAD with the same head as GET and no body (RFC 9110 §9.3.2)', async () => {
    const client = await connect(live.port, { tls: true });
    client.send('HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const [head, next] = await readResponses(client, 2, (i) => i === 0);
    client.destroy();
    const full = await get('/');
    expect(head!.status).to.equal(200);
    expect(head!.headers.get('content-length')).to.equal(full.headers.get('content-length'));
    expect(head!.body.length).to.equal(0);
    // the next response starts right after the head: no body bytes were sent
    expect(next!.status).to.equal(200);
    expect(JSON.parse(next!.body.toString())).to.deep.equal({ status: 'ok' });
  });

  it('answers /healthz with {"status":"ok"}', async () => {
    const res = await get('/healthz');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(JSON.parse(res.body.toString())).to.deep.equal({ status: 'ok' });
  });

  it('answers an unknown path with 404 in the API error shape', async () => {
    const res = await get('/no/such/file.txt');
    expect(res.status).to.equal(404);
    expect(JSON.parse(res.body.toString())).to.deep.equal({ error: { code: 'not_found', message: JSON.parse(res.body.toString()).error.message } });
  });

  it('answers a known path with another method 405 and Allow (RFC 9110 §15.5.6)', async () => {
    const res = await request(live.port, true, 'POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n');
    expect(res.status).to.equal(405);
    expect(res.headers.get('allow')).to.equal('GET, HEAD');
    expect(JSON.parse(res.body.toString()).error.code).to.equal('method_not_allowed');
  });

  it('answers another method on a static path 405 with Allow: GET, HEAD', async () => {
    const res = await request(live.port, true, 'DELETE /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(res.status).to.equal(405);
    expect(res.headers.get('allow')).to.equal('GET, HEAD');
  });

  it('answers an unknown method token 501 not_implemented (RFC 9110 §9.1)', async () => {
    const res = await request(live.port, true, 'BREW / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(res.status).to.equal(501);
    expect(JSON.parse(res.body.toString()).error.code).to.equal('not_implemented');
  });

  it('answers pipelined requests in order on one connection (RFC 9112 §9.3.2)', async () => {
    const client = await connect(live.port, { tls: true });
    const body = JSON.stringify({ n: 2, delay: 50 });
    client.send(
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n' +
        `POST /spec-echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        'GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n',
    );
    const responses = await readResponses(client, 3);
    client.destroy();
    expect(responses.map((r) => r.status)).to.deep.equal([200, 200, 404]);
    expect(JSON.parse(responses[1]!.body.toString())).to.deep.equal({ got: { n: 2, delay: 50 } });
  });

  it('keeps an HTTP/1.1 connection open and closes one that asked for close (RFC 9112 §9.3)', async () => {
    const client = await connect(live.port, { tls: true });
    client.send('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await readResponses(client, 1);
    expect(client.isClosed).to.equal(false);
    client.send('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const all = await client.closed();
    const responses = parseResponses(all);
    expect(responses).to.have.length(2);
    expect(responses[1]!.headers.get('connection')).to.equal('close');
  });

  it('closes an HTTP/1.0 connection after the response unless keep-alive was asked for', async () => {
    const a = await connect(live.port, { tls: true });
    a.send('GET /healthz HTTP/1.0\r\n\r\n');
    expect(parseResponses(await a.closed())[0]!.status).to.equal(200);
    const b = await connect(live.port, { tls: true });
    b.send('GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const [res] = await readResponses(b, 1);
    expect(res!.headers.get('connection')).to.equal('keep-alive');
    expect(b.isClosed).to.equal(false);
    b.destroy();
  });

  it('sends 100 Continue before reading the body of Expect: 100-continue (RFC 9110 §10.1.1)', async () => {
    const client = await connect(live.port, { tls: true });
    const body = '{"a":1}';
    client.send(`POST /spec-echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await client.waitFor((d) => d.toString().startsWith('HTTP/1.1 100 Continue\r\n\r\n'));
    client.send(body);
    const responses = await readResponses(client, 2);
    client.destroy();
    expect(responses.map((r) => r.status)).to.deep.equal([100, 200]);
  });

  it('decodes a chunked request body', async () => {
    const res = await request(live.port, true, 'POST /spec-echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n');
    expect(res.status).to.equal(200);
    expect(JSON.parse(res.body.toString())).to.deep.equal({ got: { a: 1 } });
  });

  it('refuses a JSON route body with the wrong media type (415) or bad JSON (400 invalid_json)', async () => {
    const a = await request(live.port, true, 'POST /spec-echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}');
    expect(a.status).to.equal(415);
    expect(JSON.parse(a.body.toString()).error.code).to.equal('unsupported_media_type');
    const b = await request(live.port, true, 'POST /spec-echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{x}');
    expect(b.status).to.equal(400);
    expect(JSON.parse(b.body.toString()).error.code).to.equal('invalid_json');
    const deep = '['.repeat(1000) + ']'.repeat(1000);
    const c = await request(live.port, true, `POST /spec-echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${deep.length}\r\n\r\n${deep}`);
    expect(c.status).to.equal(400);
  });

  it('refuses a smuggling pair (Content-Length with Transfer-Encoding) with 400 and closes (RFC 9112 §6.1)', async () => {
    const client = await connect(live.port, { tls: true });
    client.send('POST /spec-echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const all = await client.closed();
    const responses = parseResponses(all);
    expect(responses).to.have.length(1);
    expect(responses[0]!.status).to.equal(400);
    expect(responses[0]!.headers.get('connection')).to.equal('close');
  });

  it('answers 413 for a body over max_body_bytes, from Content-Length alone', async () => {
    const client = await connect(live.port, { tls: true });
    client.send(`POST /spec-echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
    const [res] = parseResponses(await client.closed());
    expect(res!.status).to.equal(413);
    expect(JSON.parse(res!.body.toString()).error.code).to.equal('payload_too_large');
  });

  it('answers 431 for too many header bytes and 414 for a long request line', async () => {
    const big = await request(live.port, true, `GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
    expect(big.status).to.equal(431);
    const long = await request(live.port, true, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    expect(long.status).to.equal(414);
  });

  it('never serves a file outside public/ whatever the encoding', async () => {
    for (const path of ['/../package.json', '/..%2fpackage.json', '/%2e%2e/package.json', '/%2e%2e%2fpackage.json', '/..%5cpackage.json', '/%252e%252e/package.json', '/.%2e/.%2e/etc/passwd', '/%00', '/%c0%ae%c0%ae/package.json']) {
      const res = await get(path);
      expect(res.status, path).to.be.oneOf([400, 404]);
      expect(res.body.toString(), path).to.not.include('"devDependencies"');
      expect(res.body.toString(), path).to.not.include('root:');
    }
  });

  it('serves /metrics in the Prometheus text format to a loopback client', async () => {
    const res = await get('/metrics');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const text = res.body.toString();
    expect(text).to.match(/^# HELP chat_connections_accepted_total /m);
    expect(text).to.match(/^chat_connections_open \d+$/m);
    expect(text).to.match(/^chat_http_requests_total\{status="200"\} \d+$/m);
  });

  it('writes one access-log line per request, as JSON, without the query string', async () => {
    await get('/healthz?token=should-not-be-logged');
    const line = live.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).reverse().find((l) => l.msg === 'request' && l.path === '/healthz');
    expect(line).to.include({ level: 'info', method: 'GET', status: 200, ip: '127.0.0.1' });
    expect(live.logLines.join('\n')).to.not.include('should-not-be-logged');
  });
});
