/**
 * The opening handshake over real sockets (RFC 6455 §4.2; API.md's order of
 * checks, lib/ws/upgrade.ts): the 101 and its Sec-WebSocket-Accept, declined
 * extensions, every refusal as an HTTP error in API.md's JSON shape, the
 * Origin policy in its three forms, and the hand-off of bytes that came in
 * the same TCP write as the request head (STYLE.md habit 10).
 */
import { expect } from 'chai';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { connect, readResponses, type ParsedResponse } from '../helpers/raw-client.js';
import { OP, WsRawClient, buildFrame, makeKey } from '../helpers/ws-raw-client.js';

const ECHO_PATH = '/echo';
/** RFC 6455 §1.3's example: this key… */
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
/** …gives this Sec-WebSocket-Accept. */
const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** A handshake request head; `drop` removes header lines by name, `add` appends lines. */
function handshake(port: number, options: { method?: string; drop?: readonly string[]; add?: readonly string[]; key?: string; version?: string; http?: string } = {}): string {
  const lines = [
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${options.key ?? makeKey()}`,
    `Sec-WebSocket-Version: ${options.version ?? '13'}`,
  ].filter((line) => !(options.drop ?? []).some((name) => line.toLowerCase().startsWith(name.toLowerCase() + ':')));
  return [`${options.method ?? 'GET'} ${ECHO_PATH} HTTP/${options.http ?? '1.1'}`, ...lines, ...(options.add ?? []), '', ''].join('\r\n');
}

/**
 * Send `raw` on a fresh connection; the first response, and — when
 * `watchCloseMs` is given — whether the server closed the connection within
 * that time.
 */
async function exchange(live: LiveServer, raw: string | Buffer, options: { isHead?: boolean; watchCloseMs?: number } = {}): Promise<{ res: ParsedResponse; closedAfter: boolean | undefined }> {
  const client = await connect(live.port, { tls: live.tls });
  try {
    client.send(raw);
    const [res] = await readResponses(client, 1, () => options.isHead ?? false);
    const closedAfter =
      options.watchCloseMs === undefined
        ? undefined
        : await client.closed(options.watchCloseMs).then(
            () => true,
            () => false,
          );
    return { res: res!, closedAfter };
  } finally {
    client.destroy();
  }
}

/** API.md: every error is `{ "error": { "code", "message" } }`, as JSON. */
function expectApiError(res: ParsedResponse, status: number, code: string): void {
  expect(res.status, res.body.toString()).to.equal(status);
  expect(res.headers.get('content-type')).to.match(/^application\/json/);
  const body = JSON.parse(res.body.toString('utf8')) as { error: { code: string; message: string } };
  expect(Object.keys(body)).to.deep.equal(['error']);
  expect(body.error.code).to.equal(code);
  expect(body.error.message).to.be.a('string').and.not.equal('');
}

describe('ws/upgrade: the opening handshake over real sockets (RFC 6455 §4.2)', () => {
  let live: LiveServer;
  before(async () => {
    live = await startServer({ tls: false, ws_echo_path: ECHO_PATH, log_level: 'warn' });
  });
  after(() => live.close());

  describe('the 101 (§4.2.2)', () => {
    it('answers a valid handshake with exactly the 101 head of §4.2.2 and the accept key of §1.3\'s example', async () => {
      const { res, closedAfter } = await exchange(live, handshake(live.port, { key: RFC_KEY }), { watchCloseMs: 300 });
      expect(res.status).to.equal(101);
      expect(res.headers.get('upgrade')).to.equal('websocket');
      expect(res.headers.get('connection')).to.equal('Upgrade');
      expect(res.headers.get('sec-websocket-accept')).to.equal(RFC_ACCEPT);
      // No subprotocol was offered, none is chosen; no extension either.
      expect(res.headers.has('sec-websocket-protocol')).to.equal(false);
      expect(res.headers.has('sec-websocket-extensions')).to.equal(false);
      expect(closedAfter).to.equal(false);
    });

    it('sends the 101 status line exactly as §4.2.2 writes it', async () => {
      const client = await connect(live.port, { tls: false });
      client.send(handshake(live.port, { key: RFC_KEY }));
      const data = await client.waitFor((d) => d.includes('\r\n\r\n'));
      client.destroy();
      expect(data.toString('latin1').split('\r\n')[0]).to.equal('HTTP/1.1 101 Switching Protocols');
    });

    it('declines permessage-deflate by not answering Sec-WebSocket-Extensions (§9.1)', async () => {
      const { res } = await exchange(live, handshake(live.port, { add: ['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits'] }));
      expect(res.status).to.equal(101);
      expect(res.headers.has('sec-websocket-extensions')).to.equal(false);
    });

    it('chooses no subprotocol on the echo path when some are offered (§4.2.2 item 5.4: null)', async () => {
      const { res } = await exchange(live, handshake(live.port, { add: ['Sec-WebSocket-Protocol: chat, superchat'] }));
      expect(res.status).to.equal(101);
      expect(res.headers.has('sec-websocket-protocol')).to.equal(false);
    });

    it('matches Upgrade and Connection as case-insensitive token lists (§4.2.1 items 3, 4)', async () => {
      const { res } = await exchange(live, handshake(live.port, { drop: ['upgrade', 'connection'], add: ['Upgrade: h2c, WebSocket', 'Connection: keep-alive, UPGRADE'] }));
      expect(res.status).to.equal(101);
    });
  });

  describe('refusals: an HTTP error in API.md\'s shape, never an upgrade', () => {
    it('answers POST to the echo path with 405 and Allow: GET (API.md check 0)', async () => {
      const { res } = await exchange(live, handshake(live.port, { method: 'POST', add: ['Content-Length: 0'] }));
      expectApiError(res, 405, 'method_not_allowed');
      expect(res.headers.get('allow')).to.equal('GET');
    });

    it('answers a plain POST (no upgrade headers) to the echo path with 405 and Allow: GET', async () => {
      const { res } = await exchange(live, `POST ${ECHO_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`);
      expectApiError(res, 405, 'method_not_allowed');
      expect(res.headers.get('allow')).to.equal('GET');
    });

    it('answers a plain GET to the echo path with 400 (no upgrade at all, API.md check 2)', async () => {
      const { res, closedAfter } = await exchange(live, `GET ${ECHO_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`, { watchCloseMs: 300 });
      expectApiError(res, 400, 'bad_request');
      // A plain request is an ordinary HTTP request: keep-alive goes on.
      expect(closedAfter).to.equal(false);
    });

    it('answers HEAD with what a plain GET gets, without the body (API.md)', async () => {
      const get = (await exchange(live, `GET ${ECHO_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`)).res;
      const client = await connect(live.port, { tls: false });
      // HEAD, then a GET on the same connection: the GET's response must start right after HEAD's head.
      client.send(`HEAD ${ECHO_PATH} HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
      const [head, next] = await readResponses(client, 2, (i) => i === 0);
      client.destroy();
      expect(head!.status).to.equal(get.status).and.equal(400);
      expect(head!.headers.get('content-length')).to.equal(get.headers.get('content-length'));
      expect(head!.headers.get('content-type')).to.equal(get.headers.get('content-type'));
      expect(head!.body.length).to.equal(0);
      expect(next!.status).to.equal(200);
    });

    it('answers HEAD carrying a complete handshake with 400, not an upgrade', async () => {
      const { res } = await exchange(live, handshake(live.port, { method: 'HEAD' }), { isHead: true });
      expect(res.status).to.equal(400);
      expect(res.body.length).to.equal(0);
    });

    const missing: readonly [string, string][] = [
      ['upgrade', 'Upgrade (§4.2.1 item 3)'],
      ['connection', 'Connection (§4.2.1 item 4)'],
      ['sec-websocket-key', 'Sec-WebSocket-Key (§4.2.1 item 5)'],
      ['sec-websocket-version', 'Sec-WebSocket-Version (§4.2.1 item 6)'],
      ['host', 'Host (§4.2.1 item 2)'],
    ];
    for (const [name, what] of missing) {
      it(`answers a handshake without ${what} with 400 bad_request`, async () => {
        const { res } = await exchange(live, handshake(live.port, { drop: [name] }));
        expectApiError(res, 400, 'bad_request');
      });
    }

    it('answers Sec-WebSocket-Version: 8 with 426 and Sec-WebSocket-Version: 13 (§4.4)', async () => {
      const { res } = await exchange(live, handshake(live.port, { version: '8' }));
      expect(res.status).to.equal(426);
      expect(res.headers.get('sec-websocket-version')).to.equal('13');
      expectApiError(res, 426, 'bad_request');
    });

    it('answers a handshake over HTTP/1.0 with 400 (§4.2.1 item 1: HTTP/1.1 or higher)', async () => {
      const { res } = await exchange(live, handshake(live.port, { http: '1.0' }));
      expectApiError(res, 400, 'bad_request');
    });

    const badKeys: readonly [string, string][] = [
      ['base64 of 15 bytes', Buffer.alloc(15, 1).toString('base64')],
      ['base64 of 17 bytes', Buffer.alloc(17, 1).toString('base64')],
      ['not base64', '!!!!!!!!!!!!!!!!!!!!!!=='],
      ['16 bytes in a non-canonical spelling', 'dGhlIHNhbXBsZSBub25jZR=='],
      ['empty', ''],
    ];
    for (const [what, key] of badKeys) {
      it(`answers a Sec-WebSocket-Key that is ${what} with 400 (§4.2.1 item 5: "when decoded, is 16 bytes")`, async () => {
        const { res } = await exchange(live, handshake(live.port, { key }));
        expectApiError(res, 400, 'bad_request');
      });
    }

    it('answers two Sec-WebSocket-Key fields with 400', async () => {
      const { res } = await exchange(live, handshake(live.port, { add: [`Sec-WebSocket-Key: ${makeKey()}`] }));
      expectApiError(res, 400, 'bad_request');
    });

    it('answers a handshake with a body with 400 (the bytes after the head are frames)', async () => {
      const { res } = await exchange(live, handshake(live.port, { add: ['Content-Length: 5'] }) + 'hello');
      expectApiError(res, 400, 'bad_request');
    });

    it('closes the connection after refusing an upgrade, never reading the frames that followed as HTTP', async () => {
      const frame = buildFrame({ opcode: OP.TEXT, payload: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' });
      const client = await connect(live.port, { tls: false });
      client.send(Buffer.concat([Buffer.from(handshake(live.port, { version: '8' }), 'latin1'), frame]));
      const all = await client.closed();
      const responses = all.toString('latin1').match(/HTTP\/1\.1 \d{3}/g);
      expect(responses).to.deep.equal(['HTTP/1.1 426']);
    });
  });

  describe('the hand-off: bytes after the request head belong to the WebSocket (STYLE.md habit 10)', () => {
    it('echoes a frame sent in the same TCP write as the handshake', async () => {
      const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH, afterHead: buildFrame({ opcode: OP.TEXT, payload: 'in the same write' }) });
      expect((await c.nextMessage('text')).toString()).to.equal('in the same write');
      c.destroy();
    });

    it('answers, in order, a ping and two messages sent with the handshake, then the frame that completes a third', async () => {
      const third = buildFrame({ opcode: OP.BINARY, payload: Buffer.alloc(300, 7) });
      const afterHead = Buffer.concat([
        buildFrame({ opcode: OP.PING, payload: 'p' }),
        buildFrame({ opcode: OP.TEXT, payload: 'one' }),
        buildFrame({ opcode: OP.TEXT, payload: 'two' }),
        third.subarray(0, 5), // half a header: the rest comes later
      ]);
      const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH, afterHead });
      expect((await c.next()).type).to.equal('pong');
      expect((await c.nextMessage('text')).toString()).to.equal('one');
      expect((await c.nextMessage('text')).toString()).to.equal('two');
      await c.send(third.subarray(5));
      expect((await c.nextMessage('binary')).equals(Buffer.alloc(300, 7))).to.equal(true);
      c.destroy();
    });

    it('fails with 1002 on an unmasked frame sent with the handshake: the hand-off feeds the same strict parser', async () => {
      const c = await WsRawClient.open(live.port, { tls: false, path: ECHO_PATH, afterHead: buildFrame({ opcode: OP.TEXT, payload: 'x', masked: false }) });
      const seen = await c.closed();
      expect(seen.code).to.equal(1002);
      c.destroy();
    });
  });
});

describe('ws/upgrade: the Origin policy (API.md check 1; RFC 6455 §10.2)', () => {
  for (const tls of [false, true]) {
    const scheme = tls ? 'https' : 'http';
    const other = tls ? 'http' : 'https';
    describe(`default policy (allowed_origins and public_origin unset): the server's own scheme and Host, ${scheme}`, () => {
      let live: LiveServer;
      before(async () => {
        live = await startServer({ tls, ws_echo_path: ECHO_PATH, log_level: 'warn' });
      });
      after(() => live.close());

      it('upgrades without an Origin (not a browser)', async () => {
        const { res } = await exchange(live, handshake(live.port));
        expect(res.status).to.equal(101);
      });

      it(`upgrades with Origin ${scheme}://<Host>`, async () => {
        const { res } = await exchange(live, handshake(live.port, { add: [`Origin: ${scheme}://127.0.0.1:${live.port}`] }));
        expect(res.status).to.equal(101);
      });

      it(`refuses Origin ${other}://<Host> with 403: another scheme is another origin (RFC 6454 §4)`, async () => {
        const { res, closedAfter } = await exchange(live, handshake(live.port, { add: [`Origin: ${other}://127.0.0.1:${live.port}`] }), { watchCloseMs: 2000 });
        expectApiError(res, 403, 'forbidden');
        expect(closedAfter).to.equal(true);
      });

      it('refuses a foreign Origin with 403', async () => {
        const { res } = await exchange(live, handshake(live.port, { add: ['Origin: https://evil.example'] }));
        expectApiError(res, 403, 'forbidden');
      });

      it('refuses Origin: null (a sandboxed page) with 403', async () => {
        const { res } = await exchange(live, handshake(live.port, { add: ['Origin: null'] }));
        expectApiError(res, 403, 'forbidden');
      });

      it('checks the Origin before the handshake itself: a foreign Origin with version 8 is 403, not 426 (API.md order)', async () => {
        const { res } = await exchange(live, handshake(live.port, { version: '8', add: ['Origin: https://evil.example'] }));
        expect(res.status).to.equal(403);
      });
    });
  }

  describe('with allowed_origins set', () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ tls: false, ws_echo_path: ECHO_PATH, log_level: 'warn', allowed_origins: ['https://chat.example', 'https://app.example:8443'] });
    });
    after(() => live.close());

    it('upgrades with each listed origin, case-insensitively', async () => {
      for (const origin of ['https://chat.example', 'https://APP.example:8443']) {
        const { res } = await exchange(live, handshake(live.port, { add: [`Origin: ${origin}`] }));
        expect(res.status, origin).to.equal(101);
      }
    });

    it("refuses the server's own origin with 403 when it is not listed", async () => {
      const { res } = await exchange(live, handshake(live.port, { add: [`Origin: http://127.0.0.1:${live.port}`] }));
      expectApiError(res, 403, 'forbidden');
    });

    it('refuses a listed host on another port or scheme with 403', async () => {
      for (const origin of ['https://chat.example:444', 'http://chat.example']) {
        const { res } = await exchange(live, handshake(live.port, { add: [`Origin: ${origin}`] }));
        expect(res.status, origin).to.equal(403);
      }
    });
  });

  describe('with public_origin set (and allowed_origins unset)', () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ tls: false, ws_echo_path: ECHO_PATH, log_level: 'warn', public_origin: 'https://chat.example' });
    });
    after(() => live.close());

    it('upgrades with Origin equal to public_origin', async () => {
      const { res } = await exchange(live, handshake(live.port, { add: ['Origin: https://chat.example'] }));
      expect(res.status).to.equal(101);
    });

    it("refuses the server's own scheme and Host with 403 (behind a proxy, that is not the public origin)", async () => {
      const { res } = await exchange(live, handshake(live.port, { add: [`Origin: http://127.0.0.1:${live.port}`] }));
      expectApiError(res, 403, 'forbidden');
    });
  });
});
