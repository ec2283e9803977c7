import { expect } from 'chai';
import WebSocket from 'ws';
import { startServer } from '../helpers/live-server.js';

async function echoOnce(port: number, text: string): Promise<void> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/echo`, { rejectUnauthorized: false });
  await new Promise((r) => ws.once('open', r));
  const echoed = new Promise((r) => ws.once('message', r));
  ws.send(text);
  await echoed;
  const closed = new Promise((r) => ws.once('close', r));
  ws.close(1000, 'bye now');
  await closed;
  await new Promise((r) => setTimeout(r, 30));
}

describe('ws trace on a live server (trace = ws)', () => {
  it('annotates every frame in both directions, the handshake and the peer\'s Close, without payloads by default', async () => {
    const live = await startServer({ ws_echo_path: '/echo', trace: ['ws'] });
    try {
      await echoOnce(live.port, 'a-private-sentence');
      const log = live.logLines.join('\n');
      expect(log).to.include('"msg":"trace ws handshake"').and.include('258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
      expect(log).to.match(/"msg":"trace ws","conn":\d+,"frame":"in  text frame/);
      expect(log).to.match(/"msg":"trace ws","conn":\d+,"frame":"out text frame/);
      expect(log).to.match(/"msg":"trace ws close".*"code":1000/);
      expect(log).to.match(/"msg":"trace ws message".*"bytes":18/);
      expect(log).to.not.include('a-private-sentence').and.not.include('bye now');
    } finally {
      await live.close();
    }
  });

  it('shows payload text only with trace_payloads = on', async () => {
    const live = await startServer({ ws_echo_path: '/echo', trace: ['ws'], trace_payloads: true });
    try {
      await echoOnce(live.port, 'a-visible-sentence');
      const log = live.logLines.join('\n');
      expect(log).to.match(/"msg":"trace ws message".*"text":"a-visible-sentence"/);
      expect(log).to.match(/"msg":"trace ws close".*"reason":"bye now"/);
    } finally {
      await live.close();
    }
  });
});
