/**
 * A WebSocket echo server built from this repository's layers, and nothing
 * else: the reactor (lib/net) accepts TCP connections, the HTTP/1.1 layer
 * (lib/http) reads the upgrade request, and lib/ws does the handshake and
 * echoes every message back unchanged (RFC 6455). Plain ws:// only: it is a
 * target for conformance tools and a place to watch the protocol.
 *
 * Run it:
 *
 *     npm run build
 *     node dist/examples/echo-server.js 9001            # echo on ws://127.0.0.1:9001/
 *     node dist/examples/echo-server.js 9001 --trace    # and log every frame, field by field
 *
 * Talk to it from another terminal, with the `ws` package (a devDependency):
 *
 *     node --input-type=module -e "import WebSocket from 'ws';
 *       const w = new WebSocket('ws://127.0.0.1:9001/');
 *       w.on('open', () => w.send('Hello'));
 *       w.on('message', (m) => { console.log(String(m)); w.close(1000); });"
 *
 * Point the Autobahn TestSuite's fuzzing client at it (the tool is a Docker
 * image; --network host lets it reach 127.0.0.1). In a folder `autobahn/`,
 * write `fuzzingclient.json`:
 *
 *     {
 *       "outdir": "/reports/servers",
 *       "servers": [{ "agent": "chat-from-scratch", "url": "ws://127.0.0.1:9001/" }],
 *       "cases": ["*"],
 *       "exclude-cases": ["12.*", "13.*"],
 *       "exclude-agent-cases": {}
 *     }
 *
 * then
 *
 *     docker run -it --rm --network host -v "$PWD/autobahn:/config" -v "$PWD/autobahn/reports:/reports" \
 *       crossbario/autobahn-testsuite wstest -m fuzzingclient -s /config/fuzzingclient.json
 *
 * and open autobahn/reports/servers/index.html. Sections 12 and 13 test
 * permessage-deflate, which we decline (RFC 6455 §9.1), so they are excluded.
 * For wss://, run the real server instead, with `ws_echo_path = /echo` in
 * server.conf (`tls = on`, the default), and use "wss://127.0.0.1:8443/echo".
 */
import { defaultConfig } from '../lib/config/parse.js';
import type { Config } from '../lib/config/schema.js';
import { createLogger } from '../lib/log/logger.js';
import { MetricsRegistry } from '../lib/metrics/metrics.js';
import { Reactor } from '../lib/net/reactor.js';
import { AddressMatcher } from '../lib/net/client-address.js';
import { HttpConnection } from '../lib/http/connection.js';
import { Router } from '../lib/http/router.js';
import { StaticFiles } from '../lib/http/static-files.js';
import { securityHeaders } from '../lib/http/security-headers.js';
import { WsUpgrader, echoEndpoint } from '../lib/ws/upgrade.js';
import type { WsOptions } from '../lib/ws/connection.js';

// 1. The command line: a port, and --trace to watch the frames.
const args = process.argv.slice(2);
const port = Number(args.find((a) => !a.startsWith('--')));
const trace = args.includes('--trace');
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: node dist/examples/echo-server.js <port> [--trace]');
  process.exit(2);
}

// 2. Settings: the server's defaults (the numbers in server.conf), plain TCP on loopback.
const config: Config = { ...defaultConfig(), host: '127.0.0.1', port, tls: false };
const log = createLogger({ level: 'info' });
const metrics = new MetricsRegistry();

// 3. The reactor owns every socket: admission, the one sweep (timeouts, pings), drain.
const router = new Router();
const reactor: Reactor = new Reactor({
  limits: config,
  secureContext: null, // tls = off
  log,
  metrics,
  onReady: (conn) =>
    new HttpConnection(conn, {
      reactor,
      router,
      // Paths that are not WebSocket endpoints are static files; from a folder
      // that does not exist, every one is a 404.
      staticFiles: new StaticFiles({ publicDir: 'no-such-folder', cacheMaxFileBytes: 0, cacheMaxBytes: 0 }),
      limits: () => config,
      commonHeaders: () => securityHeaders({ tls: false }),
      trustProxy: () => new AddressMatcher([]),
      log,
      requestsTotal: metrics.counter('requests_total', 'HTTP responses.'),
      // 4. An upgrade request on a WebSocket path goes to lib/ws, with the bytes that followed it.
      upgrade: (c, req, unconsumed) => upgrader.upgrade(c, req, unconsumed),
    }),
});

// 5. lib/ws: the Origin policy (none set: a page of our own origin, or no Origin at all), the
//    handshake checks, and the echo endpoint on "/".
const upgrader = new WsUpgrader(reactor, { allowedOrigins: () => [], publicOrigin: () => '' }, () => trace);
const wsOptions = (): WsOptions => ({
  maxMessageBytes: config.ws_echo_max_message_bytes, // 16 MiB: Autobahn's largest (9.1.6)
  maxBufferedBytes: () => config.ws_max_buffered_bytes,
  log,
  metrics: {
    closed: metrics.counter('ws_closed_total', 'WebSocket connections closed.'),
    messagesIn: metrics.counter('ws_messages_in_total', 'Messages received.'),
    framesOut: metrics.counter('ws_frames_out_total', 'Frames sent.'),
    dropped: metrics.counter('ws_dropped_total', 'Droppable frames dropped.'),
    slowConsumers: metrics.counter('ws_slow_consumers_total', 'Clients closed with 4008.'),
  },
  trace,
  tracePayloads: trace,
});
upgrader.mount(echoEndpoint('/', wsOptions));
router.upgrade('/');

// 6. Listen; on Ctrl-C, drain: every WebSocket gets a Close 1001 "going away".
const { port: bound } = await reactor.listen();
log.info(`echo server on ws://127.0.0.1:${bound}/`);
process.once('SIGINT', () => {
  void reactor.drain(2000).then(() => process.exit(0));
});
