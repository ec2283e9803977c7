/**
 * Issue 3's browser test: Chromium's own WebSocket client (not ours, not the
 * `ws` package) against the echo endpoint (`ws_echo_path`): the opening
 * handshake with the page's Origin (RFC 6455 §4), text and binary messages
 * echoed unchanged (§5.6), and a clean closing handshake (§7).
 */
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { baseUrl, launchChromium, openPage, type OpenPage } from '../helpers/browser.js';

interface EchoResult {
  readonly received: string[];
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  readonly errors: number;
}

/**
 * Runs in the page: open the echo path, send each message once the previous
 * one came back, then close with 1000. Binary messages are written as
 * `bin:` + the byte values, and the reply is described the same way.
 */
function echoScript(messages: readonly string[]): string {
  return `new Promise((resolve) => {
    const queue = ${JSON.stringify(messages)};
    const received = [];
    let errors = 0;
    const ws = new WebSocket('wss://' + location.host + '/echo');
    ws.binaryType = 'arraybuffer';
    const next = () => {
      const m = queue.shift();
      if (m === undefined) return ws.close(1000, 'done');
      ws.send(m.startsWith('bin:') ? new Uint8Array(m.slice(4).split(',').map(Number)) : m);
    };
    ws.onopen = next;
    ws.onmessage = (e) => {
      received.push(typeof e.data === 'string' ? e.data : 'bin:' + Array.from(new Uint8Array(e.data)).join(','));
      next();
    };
    ws.onerror = () => { errors++; };
    ws.onclose = (e) => resolve({ received, code: e.code, reason: e.reason, wasClean: e.wasClean, errors });
  })`;
}

describe('browser: Chromium’s WebSocket client on the echo path (issue 3)', function () {
  this.timeout(30_000);
  let browser: Browser | undefined;
  let live: LiveServer;
  let tab: OpenPage;

  before(async function () {
    browser = await launchChromium(this);
    live = await startServer({ ws_echo_path: '/echo' });
    tab = await openPage(browser, `${baseUrl(live)}/favicon.svg`);
  });

  after(async () => {
    await browser?.close();
    await live?.close();
  });

  it('echoes a text message and closes cleanly with 1000 (RFC 6455 §5.6, §7.1.5)', async () => {
    const result = (await tab.page.evaluate(echoScript(['hello from Chromium ✓']))) as EchoResult;
    // The server's Close frame repeats the code; a reason need not be echoed (RFC 6455 §5.5.1).
    expect(result).to.deep.equal({ received: ['hello from Chromium ✓'], code: 1000, reason: '', wasClean: true, errors: 0 });
  });

  it('echoes binary data, an empty message and a 200 KiB text message unchanged (RFC 6455 §5.6)', async () => {
    const big = 'é'.repeat(100 * 1024);
    const result = (await tab.page.evaluate(echoScript(['bin:0,1,2,127,128,255', '', big]))) as EchoResult;
    expect(result.received).to.have.length(3);
    expect(result.received[0]).to.equal('bin:0,1,2,127,128,255');
    expect(result.received[1]).to.equal('');
    expect(result.received[2] === big, 'the 200 KiB message came back unchanged').to.equal(true);
    expect(result).to.include({ code: 1000, wasClean: true, errors: 0 });
  });
});
