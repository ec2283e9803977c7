/**
 * Raw clients for tests: open a TCP or TLS connection to the live server and
 * send exactly the bytes a test wants — including what polite clients won't
 * (STYLE.md habit 14) — then read what comes back.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface RawClient {
  readonly socket: net.Socket;
  /** Every byte received so far. */
  received(): Buffer;
  send(data: string | Buffer): void;
  /** Resolves when `predicate(received)` holds, or rejects after `timeoutMs`. */
  waitFor(predicate: (data: Buffer) => boolean, timeoutMs?: number): Promise<Buffer>;
  /** Resolves when the server closes the connection (with everything received). */
  closed(timeoutMs?: number): Promise<Buffer>;
  readonly isClosed: boolean;
  destroy(): void;
}

export interface ConnectOptions {
  readonly tls: boolean;
  readonly host?: string;
  readonly localAddress?: string;
}

export function connect(port: number, options: ConnectOptions): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const host = options.host ?? '127.0.0.1';
    const local = options.localAddress === undefined ? {} : { localAddress: options.localAddress };
    const socket: net.Socket = options.tls
      ? tls.connect({ port, host, servername: 'localhost', rejectUnauthorized: false, ...local })
      : net.connect({ port, host, ...local });
    const chunks: Buffer[] = [];
    let closed = false;
    const waiters = new Set<() => void>();
    const notify = () => {
      for (const w of [...waiters]) w();
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      notify();
    });
    socket.on('error', () => {
      /* a reset is a close for the test's purpose */
    });
    socket.on('close', () => {
      closed = true;
      notify();
    });
    const ready = options.tls ? 'secureConnect' : 'connect';
    const onEarlyClose = () => reject(new Error('connection closed before it was established'));
    socket.once('close', onEarlyClose);
    socket.once(ready, () => {
      socket.off('close', onEarlyClose);
      const client: RawClient = {
        socket,
        received: () => Buffer.concat(chunks),
        send: (data) => {
          socket.write(data);
        },
        waitFor: (predicate, timeoutMs = 5000) =>
          new Promise((res, rej) => {
            const check = () => {
              const all = Buffer.concat(chunks);
              if (predicate(all)) {
                cleanup();
                res(all);
              } else if (closed) {
                cleanup();
                rej(new Error(`connection closed; received: ${JSON.stringify(all.toString('latin1').slice(0, 500))}`));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              rej(new Error(`timed out; received: ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 500))}`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          }),
        closed: (timeoutMs = 5000) =>
          new Promise((res, rej) => {
            const check = () => {
              if (closed) {
                cleanup();
                res(Buffer.concat(chunks));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              rej(new Error('the server did not close the connection in time'));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          }),
        get isClosed() {
          return closed;
        },
        destroy: () => socket.destroy(),
      };
      resolve(client);
    });
  });
}

export interface ParsedResponse {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: Buffer;
}

/**
 * Parse zero or more complete HTTP/1.1 responses from `data` (Content-Length
 * framing only, which is all our server sends; `noBody` for answers to HEAD).
 * Returns the complete ones; a partial trailing response is ignored.
 */
export function parseResponses(data: Buffer, noBody: (index: number) => boolean = () => false): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at, 'latin1');
    if (end === -1) break;
    const lines = data.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
    }
    let bodyStart = end + 4;
    let length = status < 200 || status === 204 || status === 304 || noBody(out.length) ? 0 : Number(headers.get('content-length') ?? 0);
    if (status < 200) {
      out.push({ status, headers, body: Buffer.alloc(0) });
      at = bodyStart;
      continue;
    }
    if (bodyStart + length > data.length) break;
    out.push({ status, headers, body: data.subarray(bodyStart, bodyStart + length) });
    at = bodyStart + length;
    length = 0;
  }
  return out;
}

/** Resolves with `n` complete responses. */
export async function readResponses(client: RawClient, n: number, noBody?: (index: number) => boolean, timeoutMs = 5000): Promise<ParsedResponse[]> {
  const data = await client.waitFor((d) => parseResponses(d, noBody).length >= n, timeoutMs);
  return parseResponses(data, noBody);
}

/** One request on a fresh connection; resolves with the response. */
export async function request(port: number, tlsOn: boolean, raw: string | Buffer): Promise<ParsedResponse> {
  const client = await connect(port, { tls: tlsOn });
  try {
    client.send(raw);
    const [res] = await readResponses(client, 1, () => raw.toString().startsWith('HEAD '));
    return res!;
  } finally {
    client.destroy();
  }
}
