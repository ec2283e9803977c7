/**
 * Web attacks over the wire (issue 8): path traversal in every encoding, SQL
 * injection through every field a client can set, oversized and deeply
 * nested JSON on HTTP and WebSocket, and header injection through anything
 * the server might reflect.
 *
 * spec/http/static-files.spec.ts tests parseStaticPath and the file lookup
 * directly with its own table; here the same ideas and more (overlong UTF-8,
 * mixed-case %2E, ";", Windows device and stream names, absolute-form
 * targets, fullwidth dots) go through the whole server, and the check is on
 * the bytes that come back.
 */
import { expect } from 'chai';
import { startServer, REPO_ROOT, type LiveServer } from '../helpers/live-server.js';
import { connect, parseResponses } from '../helpers/raw-client.js';
import { CHAT_TEST_CONFIG, ChatClient, registerUser, type Msg } from '../helpers/chat-client.js';
import { WsRawClient, OP } from '../helpers/ws-raw-client.js';
import { httpCall, report } from './attack-kit.js';

describe('hardening: web attacks over the wire (live server)', function () {
  this.timeout(60_000);
  let live: LiveServer;

  before(async () => {
    live = await startServer({ ...CHAT_TEST_CONFIG }, { app: true });
  });
  after(() => live.close());

  describe('path traversal (RFC 3986 §2.4, §3.3, §5.2.4; RFC 3629 §10)', () => {
    /** Bytes that exist outside public/ and must never come back. */
    const markers = () => [
      'root:x:0:0', // /etc/passwd
      '"devDependencies"', // the repository's package.json
      'PRIVATE KEY', // the TLS key in the data folder
      live.server.secret.toString('latin1').slice(0, 16), // the token signing key
      'ws_max_buffered_bytes', // server.conf and lib/config
      'export function', // compiled or source code
    ];

    const TARGETS = [
      // plain and encoded dot-segments
      '/../../../../etc/passwd', '/../package.json', '/..%2f..%2f..%2fetc%2fpasswd', '/..%2F..%2Fpackage.json',
      '/%2e%2e/%2e%2e/etc/passwd', '/%2E%2e/%2e%2E/package.json', '/.%2e/package.json', '/%2e./package.json', '/%2E./%2e%2E/package.json',
      '/public/../package.json', '/js/../../package.json', '/js/%2e%2e/%2e%2e/package.json', '/./../package.json',
      // overlong and invalid UTF-8 for "." and "/" (RFC 3629 §10)
      '/%c0%ae%c0%ae/package.json', '/%c0%2e%c0%2e/package.json', '/%e0%80%ae%e0%80%ae/package.json', '/%f0%80%80%ae%f0%80%80%ae/package.json',
      '/%c0%af../package.json', '/..%c0%af..%c0%afetc/passwd', '/..%e0%80%af..%e0%80%afpackage.json', '/..%c1%9c..%c1%9cpackage.json', '/%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afpackage.json',
      // double and triple encoding (decoded exactly once)
      '/%252e%252e/%252e%252e/etc/passwd', '/%25252e%25252e/package.json', '/..%252f..%252fpackage.json',
      // Windows separators and names
      '/..\\..\\package.json', '/..%5c..%5cpackage.json', '/%5c..%5c..%5cpackage.json', '/..%5C..%5Cetc%5Cpasswd',
      '/CON', '/con.txt', '/NUL', '/nul.js', '/AUX', '/PRN.html', '/COM1', '/LPT1.css', '/index.html::$DATA', '/index.html:Zone.Identifier',
      '/INDEX.HTML', '/index.html.', '/index.html%20', '/index.html%2e', '/~/', '/....//....//etc/passwd', '/..../package.json', '/...../',
      // ";" path parameters (Tomcat-style "..;/")
      '/..;/..;/package.json', '/index.html;/../../package.json', '/;/../package.json', '/js;x=../../package.json',
      // NUL and control characters
      '/index.html%00/../../package.json', '/../package.json%00.html', '/%00../package.json', '/index.html%0d%0a',
      // Unicode look-alikes of "." and "/"
      '/%ef%bc%8e%ef%bc%8e/package.json', '/%e2%80%a4%e2%80%a4/package.json', '/..%e2%88%95package.json', '/..%ef%bc%8fpackage.json', '/%u002e%u002e/package.json',
      // absolute paths, absolute-form, dotfiles, the data folder
      '//etc/passwd', '/etc/passwd', '/%2fetc%2fpasswd', '/file:///etc/passwd', 'https://localhost/../../package.json', 'http://localhost/%2e%2e/package.json',
      '/.env', '/.git/config', '/%2egit/config', '/data/secret.key', '/../data/secret.key', '/tls-key.pem', '/../lib/config/schema.ts', '/../server.conf',
      // too long to even read
      '/' + '../'.repeat(3000) + 'etc/passwd',
    ];

    it('serves a real public file (the control)', async () => {
      const res = await httpCall(live, 'GET', '/');
      expect(res.status).to.equal(200);
      expect(res.body.toString()).to.include('<html');
    });

    it(`never returns a byte from outside public/ for ${TARGETS.length} traversal targets, with GET and HEAD: only 400, 404 or 414`, async () => {
      const statuses = new Map<number, number>();
      const found = markers();
      for (const target of TARGETS) {
        for (const method of ['GET', 'HEAD']) {
          const res = await httpCall(live, method, target);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect([400, 404, 414], `${method} ${target}`).to.include(res.status);
          const text = res.body.toString('latin1');
          for (const m of found) expect(text.includes(m), `${method} ${target} returned ${JSON.stringify(m)}`).to.equal(false);
          // The error never names a path of the server.
          expect(text.includes(REPO_ROOT), `${target}: the body names a server path`).to.equal(false);
          expect(text.includes(live.dataDir)).to.equal(false);
        }
      }
      report('path traversal', `${TARGETS.length} targets × GET/HEAD: ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}; nothing from outside public/`);
    });
  });

  describe('SQL injection through every field', () => {
    const INJECTIONS = [
      "' OR 1=1 --",
      '"; DROP TABLE users; --',
      "Robert'); DROP TABLE messages;--",
      "' UNION SELECT password_hash FROM users --",
      "1'; UPDATE users SET disabled = 0; --",
      "%' OR '%'='",
      '\\\'; --',
      "ʼ OR ʼ1ʼ=ʼ1",
      'NULL',
      "x') OR ('a'='a",
    ];
    /** Usernames and room names allow only A–Z a–z 0–9 and a few marks ("NULL" is a fine name). */
    const outsideNameAlphabet = (s: string) => /[^A-Za-z0-9_.-]/.test(s);

    it('refuses injections as usernames with 400 validation_failed (the username alphabet has no quote) and as login names with 401', async () => {
      for (const username of INJECTIONS.filter(outsideNameAlphabet)) {
        const reg = await httpCall(live, 'POST', '/register', { body: { username, password: 'a fine password 123' } });
        expect(reg.status, username).to.equal(400);
        expect(reg.json.error).to.deep.include({ code: 'validation_failed', field: 'username' });
        const login = await httpCall(live, 'POST', '/login', { body: { username, password: "' OR '1'='1" } });
        expect(login.status, username).to.equal(401);
      }
    });

    it('stores injections as display names and passwords exactly, and reads them back byte for byte', async () => {
      for (const [i, injection] of INJECTIONS.entries()) {
        const username = `sqli_${process.pid % 1000}_${i}`;
        const password = `${injection} pad`; // passwords are 8+ characters
        const reg = await httpCall(live, 'POST', '/register', { body: { username, password, display_name: injection } });
        expect(reg.status, injection).to.equal(201);
        expect(reg.json.user.display_name).to.equal(injection);
        const me = await httpCall(live, 'GET', '/me', { token: reg.json.token as string });
        expect(me.json.user.display_name).to.equal(injection);
        const renamed = await httpCall(live, 'PUT', '/me', { token: reg.json.token as string, body: { display_name: `${injection}!` } });
        expect(renamed.json.user.display_name).to.equal(`${injection}!`);
        if (i < 3) {
          // Logging in costs two more password hashes each: a few are enough.
          expect((await httpCall(live, 'POST', '/login', { body: { username, password } })).status).to.equal(200);
          expect((await httpCall(live, 'POST', '/login', { body: { username, password: "' OR '1'='1" } })).status).to.equal(401);
        }
      }
    });

    it('refuses injections as room and DM names with bad_request, and stores them exactly as message text, cmid, ref and room passwords', async () => {
      const alice = await registerUser(live.port);
      const bob = await registerUser(live.port);
      const a = await ChatClient.open(live.port, alice.token);
      const b = await ChatClient.open(live.port, bob.token);
      try {
        for (const injection of INJECTIONS.filter(outsideNameAlphabet)) {
          for (const type of ['join', 'create_room', 'history', 'leave', 'typing']) {
            const reply = await a.request({ type, room: injection });
            expect(reply, `${type} ${injection}`).to.deep.include({ type: 'error', code: 'bad_request' });
          }
          expect(await a.request({ type: 'send', to: injection, text: 'hi' })).to.deep.include({ type: 'error', code: 'bad_request' });
          expect(await a.request({ type: 'history', room: 'general', before: injection })).to.deep.include({ type: 'error', code: 'bad_request' });
          expect(await a.request({ type: 'history', room: 'general', limit: injection })).to.deep.include({ type: 'error', code: 'bad_request' });
        }
        // A private room whose password is an injection: only the exact password opens it.
        const room = `sqli-${process.pid % 1000}`;
        expect((await a.request({ type: 'create_room', room, private: true, password: INJECTIONS[0] })).type).to.equal('joined');
        expect(await b.request({ type: 'join', room, password: "' OR '1'='1" })).to.deep.include({ type: 'error', code: 'wrong_password' });
        expect((await b.request({ type: 'join', room, password: INJECTIONS[0] })).type).to.equal('joined');
        // Texts, cmids and refs: stored and echoed exactly; a repeated cmid is idempotent.
        const ids: number[] = [];
        for (const [i, injection] of INJECTIONS.entries()) {
          const ref = injection.slice(0, 64);
          a.send({ type: 'send', room, text: injection, cmid: injection, ref });
          const ack = await a.next((m) => m.type === 'ack' && m.ref === ref);
          expect(ack.ref).to.equal(ref);
          ids.push(ack.id as number);
          const again = await a.request({ type: 'send', room, text: `changed ${i}`, cmid: injection });
          expect(again.type).to.equal('ack');
          expect(again.id, 'a repeated cmid stores nothing new').to.equal(ack.id);
        }
        const history = await b.request({ type: 'history', room, limit: 100 });
        const texts = (history.messages as Msg[]).map((m) => m.text as string);
        expect(texts).to.deep.equal(INJECTIONS);
        expect((history.messages as Msg[]).map((m) => m.id as number)).to.deep.equal(ids);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('still has every table and every user afterwards', () => {
      const db = live.app!.accounts.store;
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
      for (const t of ['users', 'messages', 'rooms', 'memberships', 'audit_log', 'revoked_tokens']) expect(tables).to.include(t);
      const users = db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number };
      expect(users.n).to.be.at.least(INJECTIONS.length + 2);
      const disabled = db.prepare('SELECT COUNT(*) AS n FROM users WHERE disabled != 0').get() as { n: number };
      expect(disabled.n).to.equal(0);
    });
  });

  describe('oversized and deeply nested JSON', () => {
    it('answers a body over max_body_bytes with 413 from Content-Length alone, and a chunked one as soon as it passes the limit', async () => {
      const max = live.server.currentConfig.max_body_bytes;
      const big = await httpCall(live, 'POST', '/register', { rawBody: '{"username":"' + 'a'.repeat(max) + '"}' });
      expect(big.status).to.equal(413);
      expect(big.json.error.code).to.equal('payload_too_large');
      // Chunked: the head announces nothing; the chunk-size that passes the limit is refused at once.
      const client = await connect(live.port, { tls: true });
      try {
        client.send(`POST /register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${(max + 1).toString(16)}\r\n`);
        const data = await client.closed(5000);
        expect(parseResponses(data)[0]!.status).to.equal(413);
      } finally {
        client.destroy();
      }
    });

    const nested = [
      ['32,000 nested arrays (64,000 bytes, within max_body_bytes)', '['.repeat(32_000) + ']'.repeat(32_000)],
      ['10,000 nested objects', '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)],
      ['33 levels, one past MAX_DEPTH', '{"username":' + '['.repeat(32) + ']'.repeat(32) + '}'],
      ['unbalanced opening brackets', '{"username":"x","password":' + '['.repeat(50_000)],
    ] as const;

    for (const [name, body] of nested) {
      it(`answers ${name} on HTTP with 400 invalid_json, without blowing the stack`, async () => {
        const res = await httpCall(live, 'POST', '/login', { rawBody: body });
        expect(res.status).to.equal(400);
        expect(res.json.error.code).to.equal('invalid_json');
        expect((await httpCall(live, 'GET', '/healthz')).status).to.equal(200);
      });
    }

    it('answers deeply nested JSON over the WebSocket with an error reply and keeps the connection; closes an oversized message with 1009', async () => {
      const user = await registerUser(live.port);
      const c = await ChatClient.open(live.port, user.token);
      const max = live.server.currentConfig.ws_max_message_bytes;
      try {
        const depth = Math.floor((max - 100) / 2);
        for (const text of ['['.repeat(depth) + ']'.repeat(depth), `{"type":"send","room":"general","text":${'['.repeat(depth - 50)}`, `{"type":${'{"a":'.repeat(Math.floor(depth / 5))}1}`]) {
          c.sendRaw(text);
          const reply = await c.next((m) => m.type === 'error');
          expect(reply.code).to.equal('bad_request');
        }
        expect((await c.request({ type: 'rooms' })).type).to.equal('rooms');
        const huge = await c.request({ type: 'send', room: 'general', text: 'x'.repeat(live.server.currentConfig.max_text_chars + 1) });
        expect(huge.code).to.equal('too_long');
        c.sendRaw(JSON.stringify({ type: 'send', room: 'general', text: 'x'.repeat(max) }));
        expect((await c.closed(5000)).code).to.equal(1009);
      } finally {
        c.cut();
      }
    });
  });

  describe('header injection through reflected values (RFC 9112 §2.2, §5)', () => {
    /** The header names any response of ours may carry. */
    const KNOWN = new Set([
      'date', 'content-type', 'content-length', 'connection', 'cache-control', 'content-security-policy', 'x-content-type-options',
      'referrer-policy', 'x-frame-options', 'cross-origin-opener-policy', 'strict-transport-security', 'allow', 'retry-after',
      'www-authenticate', 'etag', 'last-modified', 'upgrade', 'sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-version',
    ]);

    function checkHead(head: string, what: string): void {
      const lines = head.split('\r\n');
      expect(lines[0], what).to.match(/^HTTP\/1\.1 \d{3} [A-Za-z -]+$/);
      for (const line of lines.slice(1)) {
        const m = /^([A-Za-z0-9-]+): ([\x20-\x7e]*)$/.exec(line);
        expect(m, `${what}: malformed header line ${JSON.stringify(line)}`).to.not.equal(null);
        expect(KNOWN.has(m![1]!.toLowerCase()), `${what}: unexpected header ${m![1]}`).to.equal(true);
        expect(line.toLowerCase()).not.to.include('injected');
      }
    }

    function withBody(requestLine: string, body: string): string {
      return `${requestLine} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    }

    /** Raw requests carrying CR/LF (raw, bare, encoded) in every place a value could be reflected from. */
    const INJECTING_REQUESTS = [
      'GET /%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: localhost\r\n\r\n',
      'GET /healthz?x=%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: localhost\r\n\r\n',
      'GET /js/%0aX-Injected:yes.js HTTP/1.1\r\nHost: localhost\r\n\r\n',
      'GET /index.html%0d%0aSet-Cookie:%20injected=1 HTTP/1.1\r\nHost: localhost\r\n\r\n',
      'FOO\r\nX-Injected: yes /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n',
      'X-INJECTED /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n',
      'DELETE /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n',
      'BREW%0d%0aX-Injected: /login HTTP/1.1\r\nHost: localhost\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Custom: a\rX-Injected: yes\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Custom: a\r\n X-Injected: yes\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: localhost%0d%0aX-Injected:yes\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil%0d%0aX-Injected:yes\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 1.2.3.4%0d%0aX-Injected: yes\r\n\r\n',
      'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://evil.example%0d%0aX-Injected: yes\r\n\r\n',
      'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13%0d%0aX-Injected: yes\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 12\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: chat.v1, bearer.x%0d%0aX-Injected:yes, x%0aSet-Cookie\r\n\r\n',
      'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %0d%0aX-Injected:yes\r\n\r\n',
      'POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json%0d%0aX-Injected: yes\r\nContent-Length: 2\r\n\r\n{}',
      withBody('POST /login', '{"username":"a\\r\\nX-Injected: yes","password":"\\r\\n\\r\\nX-Injected: yes"}'),
      withBody('POST /register', '{"username":"ok_name_1","password":"a fine password 1","display_name":"\\r\\nX-Injected: yes"}'),
      'GET /me HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer x%0d%0aX-Injected:yes\r\n\r\n',
      'GET /style.css HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: "x"%0d%0aX-Injected: yes\r\n\r\n',
      'GET /style.css HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-1%0d%0aX-Injected: yes\r\n\r\n',
    ];

    it(`answers ${INJECTING_REQUESTS.length} requests carrying CR/LF in the target, method, and every reflected-looking field with clean heads`, async () => {
      const statuses: number[] = [];
      for (const raw of INJECTING_REQUESTS) {
        const client = await connect(live.port, { tls: true });
        try {
          client.send(Buffer.from(raw, 'latin1'));
          const data = await client.waitFor((d) => d.includes('\r\n\r\n'), 5000);
          const head = data.subarray(0, data.indexOf('\r\n\r\n')).toString('latin1');
          checkHead(head, JSON.stringify(raw.split('\r\n')[0]));
          statuses.push(parseResponses(data)[0]?.status ?? Number(head.split(' ')[1]));
        } finally {
          client.destroy();
        }
      }
      report('header injection', `${INJECTING_REQUESTS.length} requests, statuses ${statuses.join(' ')}; no injected header line`);
    });

    it('writes every log line as one JSON object, whatever the request held (no log injection)', async () => {
      await httpCall(live, 'GET', '/healthz?x=%0d%0a{"level":"error","msg":"forged"}');
      await httpCall(live, 'GET', '/%0a%22forged%22');
      for (const line of live.logLines) {
        expect(line.includes('\n'), line).to.equal(false);
        expect(() => JSON.parse(line) as unknown, line).not.to.throw();
        expect(JSON.parse(line).msg).not.to.equal('forged');
      }
    });

    it('never reflects a client value into a WebSocket handshake answer: the subprotocol is always chat.v1', async () => {
      const user = await registerUser(live.port);
      const ws = await WsRawClient.open(live.port, {
        tls: true,
        path: '/ws',
        headers: [`Sec-WebSocket-Protocol: x-injected, chat.v1, bearer.${user.token}, Set-Cookie`],
      });
      try {
        checkHead(ws.response.head, 'the 101');
        expect(ws.response.headers.get('sec-websocket-protocol')).to.equal('chat.v1');
        await ws.sendFrames({ opcode: OP.TEXT, payload: '{"type":"rooms","ref":"\\r\\nX-Injected: yes"}' });
        const hello = JSON.parse((await ws.nextMessage('text')).toString()) as Msg;
        expect(hello.type).to.equal('hello');
        const rooms = JSON.parse((await ws.nextMessage('text')).toString()) as Msg;
        // Echoed as data inside JSON, where CR and LF are only characters of a string.
        expect(rooms).to.deep.include({ type: 'rooms', ref: '\r\nX-Injected: yes' });
      } finally {
        ws.destroy();
      }
    });
  });
});
