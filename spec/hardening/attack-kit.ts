/**
 * Tools for the hardening tests: an honest client that keeps asking the live
 * server something while an attack runs and records how long each answer
 * took, a way to find the server's side of an attacker's connection (to read
 * its outgoing buffer), and a reader of the server's own metrics.
 *
 * The latencies are measured and printed (`[measure] …` lines), and asserted
 * only against generous bounds: CI machines are shared and slow, and a tight
 * timing assertion would fail for reasons that have nothing to do with us.
 */
import type net from 'node:net';
import { connect, readResponses, type RawClient } from '../helpers/raw-client.js';
import type { LiveServer } from '../helpers/live-server.js';
import type { Connection } from '../../lib/net/reactor.js';

export interface LatencyStats {
  readonly count: number;
  readonly failures: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly mean: number;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function statsOf(samples: readonly number[], failures = 0): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  const mean = sorted.length === 0 ? NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { count: sorted.length, failures, p50: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? NaN, mean };
}

/** Every `[measure]` line printed in this process, for a summary. */
export const MEASUREMENTS: string[] = [];

/** Print a measurement (the mocha reporter shows it under the test) and keep it. */
export function report(label: string, text: string): void {
  const line = `[measure] ${label}: ${text}`;
  MEASUREMENTS.push(line);
  console.log(`      ${line}`);
}

export function formatStats(s: LatencyStats): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  return `honest n=${s.count} failures=${s.failures} p50=${ms(s.p50)} p95=${ms(s.p95)} max=${ms(s.max)}`;
}

/**
 * An honest client: `GET /healthz` on a fresh TLS connection (handshake
 * included, as a new visitor would), one after another with `intervalMs`
 * between them, from `localAddress` (default 127.0.0.1), until stopped.
 */
export class HonestProbe {
  private readonly samples: number[] = [];
  private failures = 0;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly port: number,
    private readonly options: { readonly tls?: boolean; readonly intervalMs?: number; readonly timeoutMs?: number; readonly localAddress?: string } = {},
  ) {}

  start(): this {
    this.running = true;
    this.loop = this.run();
    return this;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = performance.now();
      let client: RawClient | null = null;
      try {
        client = await withTimeout(
          connect(this.port, { tls: this.options.tls ?? true, localAddress: this.options.localAddress ?? '127.0.0.1' }),
          this.options.timeoutMs ?? 5000,
        );
        client.send('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
        const [res] = await readResponses(client, 1, undefined, this.options.timeoutMs ?? 5000);
        if (res!.status === 200) this.samples.push(performance.now() - started);
        else this.failures++;
      } catch {
        this.failures++; // refused, reset or timed out: all count as "not served"
      } finally {
        client?.destroy();
      }
      await sleep(this.options.intervalMs ?? 50);
    }
  }

  async stop(): Promise<LatencyStats> {
    this.running = false;
    await this.loop;
    return statsOf(this.samples, this.failures);
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'an operation'): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** The server's record of the connection whose client end is `socket` (matched by port), or undefined once it is gone. */
export function serverSideOf(live: LiveServer, socket: net.Socket): Connection | undefined {
  const port = socket.localPort;
  for (const conn of live.server.connections) if (conn.raw.remotePort === port) return conn;
  return undefined;
}

/** Bytes the server holds for this connection in user space: the TLS stream's buffer and the TCP socket's. */
export function bufferedBytes(conn: Connection): number {
  return conn.stream.writableLength + (conn.stream === conn.raw ? 0 : conn.raw.writableLength);
}

/**
 * Sample `conn`'s buffered bytes every `everyMs` until it leaves the registry
 * (or `stop()`); resolves with the largest sample.
 */
export class BufferWatch {
  max = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly live: LiveServer,
    private readonly socket: net.Socket,
    everyMs = 10,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    const conn = serverSideOf(this.live, this.socket);
    if (!conn) return;
    this.samples++;
    this.max = Math.max(this.max, bufferedBytes(conn));
  }

  stop(): number {
    clearInterval(this.timer);
    return this.max;
  }
}

/** Resolves when `condition()` holds; rejects after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return performance.now() - started;
}

/**
 * The value of one series of the server's metrics, read from its Prometheus
 * text: `metric(live, 'chat_connections_refused_total', { reason: 'max_connections' })`.
 * 0 when the series does not exist yet.
 */
export function metric(live: LiveServer, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const wanted = Object.entries(labels);
  let total = 0;
  for (const line of live.server.metrics.render().split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (m[3] ?? '').match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = pair.indexOf('=');
      have.set(pair.slice(0, eq), pair.slice(eq + 2, -1));
    }
    if (wanted.every(([k, v]) => have.get(k) === v)) total += Number(m[4]);
  }
  return total;
}

/** `count` loopback source addresses 127.0.0.<first>… (Linux routes all of 127.0.0.0/8 to lo). */
export function loopbackAddresses(first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);
}

export interface CallAnswer {
  readonly status: number;
  readonly headers: Map<string, string>;
  /** The response head exactly as received (for header-injection checks). */
  readonly head: string;
  readonly body: Buffer;
  // any: a parsed JSON body whose fields the test asserts.
  readonly json: any;
  /** Milliseconds from the first byte sent to the whole response received (TLS handshake not included). */
  readonly ms: number;
}

export interface CallOptions {
  readonly body?: unknown;
  readonly rawBody?: string | Buffer;
  readonly token?: string;
  readonly headers?: readonly string[];
  readonly localAddress?: string;
}

/** One HTTP request on a fresh TLS connection from `localAddress`, exact bytes, with the raw head kept. */
export async function httpCall(live: LiveServer, method: string, target: string, options: CallOptions = {}): Promise<CallAnswer> {
  const body = options.rawBody !== undefined ? Buffer.from(options.rawBody) : options.body !== undefined ? Buffer.from(JSON.stringify(options.body), 'utf8') : Buffer.alloc(0);
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: localhost'];
  if (options.token !== undefined) lines.push(`Authorization: Bearer ${options.token}`);
  if (body.length > 0 || options.body !== undefined) lines.push('Content-Type: application/json');
  if (method !== 'GET' && method !== 'HEAD') lines.push(`Content-Length: ${body.length}`);
  lines.push(...(options.headers ?? []));
  const client = await connect(live.port, { tls: live.tls, localAddress: options.localAddress ?? '127.0.0.1' });
  try {
    const started = performance.now();
    client.send(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]));
    const [res] = await readResponses(client, 1, () => method === 'HEAD', 10_000);
    const ms = performance.now() - started;
    const raw = client.received();
    const head = raw.subarray(0, raw.indexOf('\r\n\r\n', 0, 'latin1')).toString('latin1');
    const text = res!.body.toString('utf8');
    const isJson = res!.headers.get('content-type')?.startsWith('application/json') ?? false;
    return { status: res!.status, headers: res!.headers, head, body: res!.body, json: isJson && text !== '' ? (JSON.parse(text) as unknown) : undefined, ms };
  } finally {
    client.destroy();
  }
}

/** The response head without the lines that differ from one response to the next (Date). */
export function stableHead(head: string): string {
  return head
    .split('\r\n')
    .filter((line) => !/^date:/i.test(line))
    .join('\r\n');
}
