import { expect } from 'chai';
import { describeRequestHead } from '../../lib/http/trace.js';
import type { RequestHead } from '../../lib/http/request-head.js';
import { startServer } from '../helpers/live-server.js';
import { request } from '../helpers/raw-client.js';

const head = (headers: [string, string][], extra: Partial<RequestHead> = {}): RequestHead => ({
  method: 'GET',
  target: '/ws',
  version: '1.1',
  headers,
  framing: { kind: 'none' },
  keepAlive: true,
  expectContinue: false,
  upgrade: null,
  ...extra,
});

describe('http/trace: the learner\'s annotated request heads', () => {
  it('names the request line, each field, the framing and the keep-alive decision with their RFC sections', () => {
    const text = describeRequestHead(head([['host', 'localhost']], { framing: { kind: 'length', length: 12 }, method: 'POST' }));
    expect(text).to.include('method=POST').and.include('RFC 9112 §3').and.include('host: localhost').and.include('12 bytes').and.include('§9.3');
  });

  it('never shows credentials: Authorization, Cookie, and the bearer token in Sec-WebSocket-Protocol', () => {
    const text = describeRequestHead(
      head([
        ['authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.secret.sig'],
        ['cookie', 'session=abcdef'],
        ['sec-websocket-protocol', 'chat.v1, bearer.eyJhbGciOiJIUzI1NiJ9.secret.sig'],
      ]),
    );
    expect(text).to.not.include('eyJ').and.not.include('abcdef');
    expect(text).to.include('Bearer <redacted>').and.include('chat.v1, bearer.<redacted>');
  });

  it('is logged for each request when trace = http', async () => {
    const live = await startServer({ trace: ['http'] });
    try {
      await request(live.port, true, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer top-secret-token\r\n\r\n');
      const lines = live.logLines.filter((l) => l.includes('"trace http"'));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include('/healthz').and.not.include('top-secret-token');
    } finally {
      await live.close();
    }
  });
});
