/**
 * The peer for the WebSocket benchmarks: the same echo server as our
 * `ws_echo_path`, written the usual Node way — the `ws` package on
 * `node:https` (or `node:http` with `--tls off`). It is what issue 9 calls
 * "the usual Node stack", with nothing tuned beyond what a careful user of
 * `ws` would write:
 *
 *   /echo       every message comes back unchanged, text as text, binary as binary;
 *   /broadcast  every message is sent to every client connected to /broadcast
 *               (the broadcast idiom of the `ws` README), for the broadcast scenario;
 *   GET /NAME   with `--static DIR`, the files of DIR, read into memory at start
 *               and served with the headers a careful static handler sends
 *               (Content-Type, Content-Length, ETag, Last-Modified,
 *               Cache-Control: no-cache; If-None-Match answered with 304), for
 *               the static-file scenario.
 *
 *   node dist/bench/peers/ws-echo-peer.js --tls on|off --cert FILE --key FILE [--static DIR] [--port N]
 *
 * Prints `ws peer listening on https://127.0.0.1:PORT` once it accepts connections.
 * Limits match our server's defaults where `ws` has the same knob: 16 MiB
 * echo messages, no permessage-deflate (ours declines it too).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';

interface PeerArgs {
  tls: boolean;
  cert: string;
  key: string;
  port: number;
  staticDir: string | null;
}

function parseArgs(argv: readonly string[]): PeerArgs {
  const args: PeerArgs = { tls: true, cert: '', key: '', port: 0, staticDir: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--tls') args.tls = value === 'on';
    else if (flag === '--cert') args.cert = value;
    else if (flag === '--key') args.key = value;
    else if (flag === '--port') args.port = Number(value);
    else if (flag === '--static') args.staticDir = value;
    else throw new Error(`unknown argument ${flag}`);
  }
  if (args.tls && (args.cert === '' || args.key === '')) throw new Error('--tls on needs --cert and --key');
  return args;
}

/** Our `ws_echo_max_message_bytes` default. */
const MAX_PAYLOAD = 16 * 1024 * 1024;

const args = parseArgs(process.argv.slice(2));
const server = args.tls
  ? https.createServer({ cert: readFileSync(args.cert), key: readFileSync(args.key), minVersion: 'TLSv1.2' })
  : http.createServer();
interface CachedFile {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = { '.txt': 'text/plain; charset=utf-8', '.html': 'text/html; charset=utf-8', '.bin': 'application/octet-stream' };

/** Every file of the folder, in memory, with its response headers computed once. */
function loadStatic(dir: string): Map<string, CachedFile> {
  const files = new Map<string, CachedFile>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (!stat.isFile()) continue;
    const body = readFileSync(path);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(`/${name}`, {
      body,
      etag,
      headers: {
        'Content-Type': TYPES[extname(name)] ?? 'application/octet-stream',
        'Content-Length': String(body.length),
        ETag: etag,
        'Last-Modified': stat.mtime.toUTCString(),
        'Cache-Control': 'no-cache',
      },
    });
  }
  return files;
}

const staticFiles = args.staticDir === null ? new Map<string, CachedFile>() : loadStatic(args.staticDir);

server.on('request', (req, res) => {
  const file = staticFiles.get((req.url ?? '').split('?')[0]!);
  if (file === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, { ETag: file.etag, 'Cache-Control': 'no-cache' }).end();
    return;
  }
  res.writeHead(200, file.headers);
  res.end(req.method === 'HEAD' ? undefined : file.body);
});

const echo = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
const broadcast = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });

server.on('upgrade', (req, socket, head) => {
  const path = (req.url ?? '').split('?')[0];
  const wss = path === '/echo' ? echo : path === '/broadcast' ? broadcast : null;
  if (wss === null) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

echo.on('connection', (ws: WebSocket) => {
  ws.on('error', () => ws.terminate());
  ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data, { binary: isBinary }));
});

broadcast.on('connection', (ws: WebSocket) => {
  ws.on('error', () => ws.terminate());
  ws.on('message', (data: RawData, isBinary: boolean) => {
    for (const client of broadcast.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});

server.listen({ host: '127.0.0.1', port: args.port, backlog: 1024 }, () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`ws peer listening on ${args.tls ? 'https' : 'http'}://127.0.0.1:${port}\n`);
});

process.on('SIGTERM', () => {
  for (const ws of echo.clients) ws.terminate();
  for (const ws of broadcast.clients) ws.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
