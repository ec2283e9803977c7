import { expect } from 'chai';
import { httpDate, serializeHead, serializeHeadText, serializeResponse, type HeadOptions, type ResponseHeaders } from '../../lib/http/response.js';

const COMMON: ResponseHeaders = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
];
const options = (extra: Partial<HeadOptions> = {}): HeadOptions => ({ close: false, keepAliveFor10: false, contentLength: 5, common: COMMON, ...extra });

/** The header lines of a serialized head, without the status line and the final empty line. */
function fields(text: string): string[] {
  expect(text.endsWith('\r\n\r\n')).to.equal(true);
  return text.slice(0, -4).split('\r\n').slice(1);
}

describe('http/response: serializing a response head (RFC 9112 §4, §6)', () => {
  it('writes the status line, Date, the common headers, the handler headers, then the framing', () => {
    const text = serializeHeadText(200, [['Content-Type', 'text/plain']], options());
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).to.equal(true);
    const [date, ...rest] = fields(text);
    // IMF-fixdate (RFC 9110 §5.6.7); the second may have turned since, so compare the form, not the value.
    expect(date).to.match(/^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
    expect(date!.slice('Date: '.length)).to.have.length(httpDate().length);
    expect(rest).to.deep.equal(['X-Content-Type-Options: nosniff', 'X-Frame-Options: DENY', 'Content-Type: text/plain', 'Content-Length: 5']);
  });

  it('drops a handler\'s own Content-Length, Transfer-Encoding and Connection: framing is the serializer\'s alone', () => {
    const text = serializeHeadText(200, [['content-length', '999'], ['Transfer-Encoding', 'chunked'], ['CONNECTION', 'upgrade'], ['X-Kept', '1']], options());
    expect(fields(text).filter((f) => !f.startsWith('Date:') && !f.startsWith('X-C') && !f.startsWith('X-F'))).to.deep.equal(['X-Kept: 1', 'Content-Length: 5']);
  });

  const noBody: [number, string][] = [
    [204, 'No Content'],
    [304, 'Not Modified'],
    [101, 'Switching Protocols'],
  ];
  for (const [status, reason] of noBody) {
    it(`gives a ${status} no Content-Length (RFC 9110 §8.6)`, () => {
      const text = serializeHeadText(status, [], options());
      expect(text.startsWith(`HTTP/1.1 ${status} ${reason}\r\n`)).to.equal(true);
      expect(fields(text).some((f) => f.startsWith('Content-Length'))).to.equal(false);
    });
  }

  it('says Connection: close when closing, and keep-alive only to an HTTP/1.0 client that asked', () => {
    expect(fields(serializeHeadText(200, [], options({ close: true })))).to.include('Connection: close');
    expect(fields(serializeHeadText(200, [], options({ keepAliveFor10: true })))).to.include('Connection: keep-alive');
    expect(fields(serializeHeadText(200, [], options())).some((f) => f.startsWith('Connection'))).to.equal(false);
  });

  it('follows a new common-headers array (a reload) instead of the one it joined before', () => {
    serializeHeadText(200, [], options());
    const reloaded: ResponseHeaders = [['X-Frame-Options', 'SAMEORIGIN']];
    const text = serializeHeadText(200, [], options({ common: reloaded }));
    expect(fields(text)).to.include('X-Frame-Options: SAMEORIGIN');
    expect(fields(text)).to.not.include('X-Frame-Options: DENY');
  });

  it('serializeHead is the same text as latin1 bytes', () => {
    const head = serializeHead(404, [['X-Note', 'caf\u00e9']], options());
    expect(head.toString('latin1')).to.equal(serializeHeadText(404, [['X-Note', 'caf\u00e9']], options()));
    expect(head.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9]))).to.equal(true); // é is one byte, 0xE9
  });

  it('serializeResponse puts head and body in one buffer, byte for byte what head then body would be', () => {
    for (const body of [Buffer.from('hello'), Buffer.alloc(0), Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff))]) {
      const o = options({ contentLength: body.length });
      const one = serializeResponse(200, [['Content-Type', 'application/octet-stream']], o, body);
      expect(one.equals(Buffer.concat([serializeHead(200, [['Content-Type', 'application/octet-stream']], o), body]))).to.equal(true);
    }
  });
});
