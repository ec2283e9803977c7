/**
 * The server, assembled: data folder and certificate (first-start.ts), the
 * reactor (lib/net), HTTP connections (lib/http) with the API routes and the
 * static files, and the observability endpoints.
 *
 * bin/server.ts reads server.conf and signals; this file knows neither, so
 * tests start the same server in-process on port 0.
 */
import { resolve } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { timingSafeEqual } from 'node:crypto';
import { SCHEMA, type Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE, type Counter } from '../metrics/metrics.js';
import { Reactor, createTlsContext, type Connection } from '../net/reactor.js';
import { AddressMatcher, isLoopback } from '../net/client-address.js';
import { prepareDataDir } from '../net/first-start.js';
import { HttpConnection, type HttpServices, type UpgradeOutcome } from '../http/connection.js';
import { Router, type Handler, type Request } from '../http/router.js';
import { StaticFiles } from '../http/static-files.js';
import { securityHeaders } from '../http/security-headers.js';
import { HttpError } from '../http/http-error.js';
import { errorResponse, jsonResponse, type Response, type ResponseHeaders } from '../http/response.js';
import { headerValue } from '../http/request-head.js';
import { describeRequestHead } from '../http/trace.js';
import { WsUpgrader, echoEndpoint, type WsEndpoint } from '../ws/upgrade.js';
import { broadcastEndpoint } from '../ws/broadcast-endpoint.js';
import type { WsMetrics, WsOptions } from '../ws/connection.js';

export const VERSION = '0.1.0';

export interface ChatServerOptions {
  readonly config: Config;
  readonly log: Logger;
  /** The `SECRET_KEY` environment variable, or undefined. */
  readonly secretKeyEnv: string | undefined;
  /** Relative paths in the config are resolved against this folder (the working directory, as --check-config does). */
  readonly baseDir: string;
}

export interface Started {
  readonly url: string;
  readonly host: string;
  readonly port: number;
}

export class ChatServer {
  readonly metrics = new MetricsRegistry();
  readonly router = new Router();
  private config: Config;
  private reactor: Reactor | null = null;
  private staticFiles: StaticFiles | null = null;
  private trustProxy: AddressMatcher;
  private common: ResponseHeaders;
  private readonly loopDelay: IntervalHistogram;
  private loopDelayReset: NodeJS.Timeout | null = null;
  private readonly requestsTotal: Counter;
  /** The signing key for tokens (from SECRET_KEY or the data folder). */
  secret: Buffer = Buffer.alloc(0);
  draining = false;

  constructor(private readonly options: ChatServerOptions) {
    this.config = options.config;
    this.trustProxy = new AddressMatcher(this.config.trust_proxy);
    this.common = securityHeaders({ tls: this.config.tls });
    this.requestsTotal = this.metrics.counter('chat_http_requests_total', 'HTTP responses sent, by status code.');
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    this.registerProcessMetrics();
    this.registerRoutes();
  }

  get log(): Logger {
    return this.options.log;
  }

  get currentConfig(): Config {
    return this.config;
  }

  /** Resolve a configured path against the base folder (the working directory, as --check-config does). */
  path(p: string): string {
    return resolve(this.options.baseDir, p);
  }

  /** The data folder, the certificate and the secret (first-start.ts); also re-run by reload() for certificate rotation. */
  private prepare(c: Config): ReturnType<typeof prepareDataDir> {
    return prepareDataDir({
      dataDir: this.path(c.data_dir),
      certFile: c.cert_file === '' ? '' : this.path(c.cert_file),
      keyFile: c.key_file === '' ? '' : this.path(c.key_file),
      secretKeyEnv: this.options.secretKeyEnv,
      log: (level, msg, fields) => this.log[level](msg, fields),
    });
  }

  /**
   * A configuration reload (SIGHUP), without dropping a connection. Keys
   * marked 'live' in the schema take effect — limits and timeouts at the next
   * admission, sweep or message; the log level at once; the certificate for
   * new TLS connections (open ones keep theirs). Keys marked 'restart' keep
   * their running value and are reported. Throws (and changes nothing) when
   * the new certificate cannot be loaded.
   */
  reload(next: Config): { readonly applied: readonly string[]; readonly needRestart: readonly string[] } {
    const applied: string[] = [];
    const needRestart: string[] = [];
    const merged: Record<string, unknown> = { ...this.config };
    for (const spec of SCHEMA) {
      const key = spec.key as keyof Config;
      if (sameValue(this.config[key], next[key])) continue;
      if (spec.reload === 'live') {
        merged[key] = next[key];
        applied.push(key);
      } else needRestart.push(key);
    }
    const config = merged as unknown as Config;
    if (config.tls && this.reactor) {
      // Certificate rotation: re-read the files even when their paths did not change.
      const prepared = this.prepare(config);
      this.reactor.setSecureContext(createTlsContext(prepared.certPem, prepared.keyPem));
    }
    this.config = config;
    this.trustProxy = new AddressMatcher(config.trust_proxy);
    this.log.setLevel(config.log_level);
    this.reactor?.updateLimits(config);
    return { applied, needRestart };
  }

  async start(): Promise<Started> {
    const c = this.config;
    const prepared = this.prepare(c);
    this.secret = prepared.secret;
    this.staticFiles = new StaticFiles({
      publicDir: this.path(c.public_dir),
      cacheMaxFileBytes: c.static_cache_max_file_bytes,
      cacheMaxBytes: c.static_cache_max_bytes,
    });
    const services: HttpServices = {
      reactor: null as unknown as Reactor, // set just below, before any connection exists
      router: this.router,
      staticFiles: this.staticFiles,
      limits: () => this.config,
      commonHeaders: () => this.common,
      trustProxy: () => this.trustProxy,
      log: this.log,
      requestsTotal: this.requestsTotal,
      upgrade: (conn, req, unconsumed) => this.upgrade(conn, req, unconsumed),
      traceHead: (conn, head) => {
        if (this.config.trace.includes('http')) this.log.info('trace http', { conn: conn.id, head: describeRequestHead(head) });
      },
    };
    this.reactor = new Reactor({
      limits: c,
      secureContext: c.tls ? createTlsContext(prepared.certPem, prepared.keyPem) : null,
      log: this.log,
      metrics: this.metrics,
      onReady: (conn) => new HttpConnection(conn, services),
      exempt: () => this.trustProxy,
    });
    (services as { reactor: Reactor }).reactor = this.reactor;
    this.ws = new WsUpgrader(this.reactor, { allowedOrigins: () => this.config.allowed_origins, publicOrigin: () => this.config.public_origin }, () => this.config.trace.includes('ws'));
    if (c.ws_echo_path !== '') this.mountWebSocket(echoEndpoint(c.ws_echo_path, this.wsOptions((cfg) => cfg.ws_echo_max_message_bytes)));
    // The broadcast endpoint shares the echo endpoint's message limit (server.conf documents it so).
    if (c.ws_broadcast_path !== '') this.mountWebSocket(broadcastEndpoint(c.ws_broadcast_path, this.wsOptions((cfg) => cfg.ws_echo_max_message_bytes)));
    for (const mount of this.moduleMounts) await mount(this);
    this.loopDelay.enable();
    this.loopDelayReset = setInterval(() => this.loopDelay.reset(), 60_000);
    this.loopDelayReset.unref();

    const { port } = await this.reactor.listen();
    const scheme = c.tls ? 'https' : 'http';
    const shownHost = c.host === '127.0.0.1' || c.host === '::1' || c.host === '::' || c.host === '0.0.0.0' ? 'localhost' : c.host;
    const url = `${scheme}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
    return { url, host: c.host, port };
  }

  /**
   * Graceful drain (DESIGN.md): refuse new work with 503, let in-flight
   * requests finish, close idle connections; everything is closed by
   * `drain_timeout` at the latest.
   */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.loopDelayReset) clearInterval(this.loopDelayReset);
    this.loopDelay.disable();
    await this.reactor?.drain(this.config.drain_timeout);
    this.runShutdownHooks();
  }

  private runShutdownHooks(): void {
    const hooks = this.shutdownHooks.splice(0);
    for (const hook of hooks) {
      try {
        hook();
      } catch (err) {
        this.log.error('shutdown hook failed', { err: err instanceof Error ? err : new Error(String(err)) });
      }
    }
  }

  /** Close everything at once (a second signal, or a test's cleanup). */
  destroy(): void {
    this.draining = true;
    if (this.loopDelayReset) clearInterval(this.loopDelayReset);
    this.loopDelay.disable();
    this.reactor?.destroyAll();
    this.runShutdownHooks();
  }

  get connections(): ReadonlySet<Connection> {
    return this.reactor?.connections ?? new Set();
  }

  /**
   * An API route. While draining, every API request but /healthz is refused
   * with 503 `draining` (API.md).
   */
  route(method: string, path: string, handler: Handler): void {
    this.router.on(method, path, (req) => {
      if (this.draining) throw DRAINING;
      return handler(req);
    });
  }

  /** Application modules to mount at start (accounts, chat), in order. */
  readonly moduleMounts: ((server: ChatServer) => void | Promise<void>)[] = [];

  /** Called at the end of drain() / destroy(), after connections are gone (close the database here). */
  readonly shutdownHooks: (() => void)[] = [];

  /** Upgrade requests; replaced by the WebSocket layer when it is mounted. */
  private upgrade(conn: Connection, req: Request, unconsumed: Buffer): UpgradeOutcome | Promise<UpgradeOutcome> {
    if (!this.ws) return { kind: 'refused', response: errorResponse(new HttpError(404, 'not_found', 'no such resource')) };
    return this.ws.upgrade(conn, req, unconsumed);
  }

  /** WebSocket endpoints (lib/ws/upgrade.ts); null until start(). */
  ws: WsUpgrader | null = null;

  /** Mount a WebSocket endpoint on its path (call from a module mount). */
  mountWebSocket(endpoint: WsEndpoint): void {
    this.ws!.mount(endpoint);
    this.router.upgrade(endpoint.path);
  }

  /**
   * Options for a WebSocket endpoint, read from the current config: called at
   * every upgrade, it gives every connection opened under one config the same
   * frozen object (each connection keeps its options for life, and one object
   * per connection is memory per idle connection, issue 9). reload() always
   * installs a new config object, so the first upgrade after it builds new
   * options and open connections keep theirs; `maxBufferedBytes` reads the
   * current config at every send, so that key applies to them too.
   */
  wsOptions(maxMessageBytes: (c: Config) => number): () => WsOptions {
    let builtFor: Config | null = null;
    let built: WsOptions | null = null;
    return () => {
      if (built === null || builtFor !== this.config) {
        builtFor = this.config;
        built = Object.freeze({
          maxMessageBytes: maxMessageBytes(this.config),
          maxBufferedBytes: this.maxBufferedBytes,
          log: this.log,
          metrics: this.wsMetrics,
          trace: this.config.trace.includes('ws'),
          tracePayloads: this.config.trace_payloads,
        });
      }
      return built;
    };
  }

  private readonly maxBufferedBytes = (): number => this.config.ws_max_buffered_bytes;

  private readonly wsMetrics: WsMetrics = {
    closed: this.metrics.counter('chat_ws_connections_closed_total', 'WebSocket connections closed, by close code.'),
    messagesIn: this.metrics.counter('chat_ws_messages_received_total', 'WebSocket messages received, by type.'),
    framesOut: this.metrics.counter('chat_ws_frames_sent_total', 'WebSocket frames written.'),
    dropped: this.metrics.counter('chat_ws_frames_dropped_total', 'Droppable frames (typing notices) not sent to a client that was behind.'),
    slowConsumers: this.metrics.counter('chat_ws_slow_consumers_total', 'WebSocket clients closed with 4008 because they could not keep up.'),
  };

  private registerRoutes(): void {
    // API.md: `GET /healthz` → 200 {"status":"ok"}; 503 {"status":"draining"} while shutting down.
    this.router.on('GET', '/healthz', () => (this.draining ? jsonResponse(503, { status: 'draining' }) : jsonResponse(200, { status: 'ok' })));
    this.router.on('GET', '/metrics', (req) => this.metricsResponse(req));
  }

  /** API.md: `/metrics` from loopback, or with `Authorization: Bearer <metrics_token>`; else 403. */
  private metricsResponse(req: Request): Response {
    if (!isLoopback(req.client.ip) && !this.hasMetricsToken(req)) {
      throw new HttpError(403, 'forbidden', 'metrics are served to loopback clients or with the metrics token');
    }
    const body = Buffer.from(this.metrics.render(), 'utf8');
    return { status: 200, headers: [['Content-Type', PROMETHEUS_CONTENT_TYPE], ['Cache-Control', 'no-store']], body };
  }

  private hasMetricsToken(req: Request): boolean {
    const token = this.config.metrics_token;
    if (token === '') return false;
    const auth = headerValue(req.head, 'authorization');
    const m = auth === undefined ? null : /^Bearer +(\S+)$/i.exec(auth);
    if (!m) return false;
    const given = Buffer.from(m[1]!, 'utf8');
    const wanted = Buffer.from(token, 'utf8');
    // Constant time, so the token cannot be guessed byte by byte from timing.
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  }

  private registerProcessMetrics(): void {
    const m = this.metrics;
    m.gauge('chat_build_info', 'Build information; the value is always 1.').set(1, { version: VERSION, node: process.version });
    m.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.').collect(() => process.memoryUsage.rss());
    m.gauge('process_heap_used_bytes', 'V8 heap in use, in bytes.').collect(() => process.memoryUsage().heapUsed);
    m.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.').set(Math.round(Date.now() / 1000 - process.uptime()));
    m.gauge('chat_event_loop_delay_p50_seconds', 'Event-loop delay, median over the last minute.').collect(() => nanosToSeconds(this.loopDelay.percentile(50)));
    m.gauge('chat_event_loop_delay_p99_seconds', 'Event-loop delay, 99th percentile over the last minute.').collect(() => nanosToSeconds(this.loopDelay.percentile(99)));
    m.gauge('chat_event_loop_delay_max_seconds', 'Event-loop delay, maximum over the last minute.').collect(() => nanosToSeconds(this.loopDelay.max));
  }
}

const DRAINING = new HttpError(503, 'draining', 'the server is shutting down; retry shortly', { headers: { 'Retry-After': '5' } });

function sameValue(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((v, i) => v === b[i]) : a === b;
}

/**
 * perf_hooks samples the loop with a timer of this period and records the
 * whole time between two firings, so an idle loop reads as the period itself;
 * the gauges subtract it to report only the delay.
 *
 * Each firing wakes the process, and a wake-up is not free: on the 2-vCPU
 * micro-VM of docs/performance.md a bare `node` with only this monitor spent
 * 5.1–5.6 ms of CPU per second at 20 ms, 2.3 at 50 and 1.1 at 100 (about
 * 100 µs per firing, most of it the kernel's timer and scheduler work) — at
 * 20 ms, most of an idle server's CPU. 50 ms gives 1,200 samples a minute:
 * a stall of 50 ms or more always delays a firing, a shorter one in
 * proportion to its length, which is enough for a p99 over a minute.
 */
const LOOP_DELAY_RESOLUTION_MS = 50;

function nanosToSeconds(n: number): number {
  return Number.isFinite(n) ? Math.max(0, n / 1e9 - LOOP_DELAY_RESOLUTION_MS / 1000) : 0;
}

