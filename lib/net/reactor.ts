/**
 * The reactor: one listener, a registry of live connections, admission
 * control, the one periodic sweep, and the graceful drain.
 *
 * Node's event loop is the reactor (DESIGN.md); this file owns every socket in
 * it. The order of work for a new connection follows STYLE.md habit 8,
 * "admission before work":
 *
 *   1. The kernel hands us a TCP socket (`net.Server` 'connection').
 *   2. Admission: draining? over `max_connections`? over
 *      `max_connections_per_ip` for its address group? out of tokens in its
 *      `connection_rate` bucket? Then it is destroyed at once and counted —
 *      before any TLS handshake or per-client allocation.
 *   3. It joins the registry, in phase 'tls-handshake' (or straight to
 *      'http-head' with `tls = off`), and TLS is layered on it with
 *      `tls.TLSSocket` — so admission sees the raw socket first.
 *   4. When TLS is up, the protocol layer (`onReady`) takes it over and moves
 *      it through the phases of sweep-policy.ts.
 *   5. On close it leaves the registry and its address group's count.
 *
 * The sweep runs every `sweep_interval` and applies sweepDecision() to each
 * connection — no timer per socket.
 */
import net from 'node:net';
import tls from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
import { clientAddress, type AddressMatcher, type ClientAddress } from './client-address.js';
import { RateLimiter } from './token-bucket.js';
import { sweepDecision, type Phase, type SweepLimits, type TimeoutReason } from './sweep-policy.js';
import type { Logger } from '../log/logger.js';
import type { MetricsRegistry, Counter, Gauge } from '../metrics/metrics.js';

export interface ReactorLimits extends SweepLimits {
  readonly host: string;
  readonly port: number;
  readonly max_connections: number;
  readonly max_connections_per_ip: number;
  readonly connection_rate: number;
  readonly connection_burst: number;
  readonly max_tracked_addresses: number;
  readonly sweep_interval: number;
}

/** What a protocol layer (HTTP, then WebSocket) does when the reactor speaks to it. */
export interface ConnectionOwner {
  /** The sweep found this connection past a deadline of its phase. Say goodbye and close. */
  onTimeout(reason: TimeoutReason): void;
  /** ws-open and quiet for `ws_ping_interval`: send a ping (and set `pingSentAt`). */
  onPingDue(): void;
  /** A drain began: finish what is in flight, then close. */
  onDrain(): void;
}

/** One live connection: the registry's record. */
export interface Connection {
  readonly id: number;
  /** The TCP socket. */
  readonly raw: net.Socket;
  /** What protocol layers read and write: the TLS socket, or the TCP socket itself when `tls = off`. */
  stream: net.Socket;
  /** The TCP peer (a trusted proxy's address when behind one; see client-address.ts). */
  readonly peer: ClientAddress;
  readonly secure: boolean;
  phase: Phase;
  /** When the phase began or last made progress (ms since epoch). */
  since: number;
  /** When the phase began (ms since epoch); progress does not move it. */
  phaseStartedAt: number;
  pingSentAt: number | null;
  owner: ConnectionOwner | null;
}

export type RefusalReason = 'draining' | 'max_connections' | 'max_connections_per_ip' | 'connection_rate';

export interface ReactorOptions {
  readonly limits: ReactorLimits;
  /** null with `tls = off`. */
  readonly secureContext: tls.SecureContext | null;
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  /** Called once the connection is ready for HTTP (TLS established). */
  readonly onReady: (conn: Connection) => void;
  /**
   * Peers exempt from the per-address cap and rate: the `trust_proxy`
   * addresses. Behind a proxy every client arrives from the proxy's address,
   * so a per-address limit there would be one limit for everybody; the
   * overall `max_connections` still applies.
   */
  readonly exempt?: () => AddressMatcher;
  readonly clock?: () => number;
}

/**
 * TLS settings every connection gets: only TLS 1.2 and 1.3 (RFC 8996
 * deprecates 1.0 and 1.1), no renegotiation, and only forward-secret AEAD
 * cipher suites (TLS_CIPHERS).
 */
const SSL_OP_NO_RENEGOTIATION = cryptoConstants.SSL_OP_NO_RENEGOTIATION;

/**
 * The cipher suites we offer, in our order of preference: TLS 1.3's three,
 * then Mozilla's "intermediate" TLS 1.2 list without DHE — ECDHE key exchange
 * (forward secrecy) with AES-GCM or ChaCha20-Poly1305 only. Node's default
 * list also accepts CBC suites with HMAC-SHA1/SHA-256, which testssl.sh
 * reports as obsolete (LUCKY13); every client its simulation tries still
 * connects without them (docs/security.md).
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * The options every server-side TLSSocket is made with, built once per
 * certificate (setSecureContext) rather than as a literal per connection.
 * Node 20 keeps its own copy of them on each socket (`_tlsOptions`), so this
 * saves an allocation per accept, not memory per open connection.
 */
function serverTlsOptions(secureContext: tls.SecureContext): Readonly<tls.TLSSocketOptions> {
  return Object.freeze({ isServer: true, secureContext, requestCert: false, rejectUnauthorized: false });
}

/**
 * An 'error' listener for raw TCP sockets, shared by all of them rather than
 * a closure each (memory per idle connection, issue 9). ECONNRESET and
 * friends need no action here: the 'close' that follows does the bookkeeping.
 */
function ignoreSocketError(): void {}

export function createTlsContext(cert: string | Buffer, key: string | Buffer): tls.SecureContext {
  return tls.createSecureContext({
    cert,
    key,
    minVersion: 'TLSv1.2',
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
    // RFC 5746 renegotiation is a DoS lever for clients (each one costs us a
    // handshake); TLS 1.3 has none. Refuse it outright.
    secureOptions: SSL_OP_NO_RENEGOTIATION,
  });
}


export class Reactor {
  readonly connections = new Set<Connection>();
  private readonly perGroup = new Map<string, number>();
  private readonly rate: RateLimiter;
  private readonly server: net.Server;
  private sweepTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private limits: ReactorLimits;
  /** serverTlsOptions(the current certificate's context), null with `tls = off`. */
  private tlsOptions: Readonly<tls.TLSSocketOptions> | null;
  private drainWaiters: (() => void)[] = [];
  private readonly clock: () => number;
  draining = false;

  private readonly mAccepted: Counter;
  private readonly mRefused: Counter;
  private readonly mTimeouts: Counter;
  private readonly mOpen: Gauge;
  private readonly mBytesIn: Counter;
  private readonly mBytesOut: Counter;
  private readonly mTlsFailures: Counter;

  constructor(private readonly options: ReactorOptions) {
    this.limits = options.limits;
    this.tlsOptions = options.secureContext === null ? null : serverTlsOptions(options.secureContext);
    this.clock = options.clock ?? Date.now;
    this.rate = new RateLimiter({ ratePerSecond: this.limits.connection_rate, burst: this.limits.connection_burst }, this.limits.max_tracked_addresses);
    const m = options.metrics;
    this.mAccepted = m.counter('chat_connections_accepted_total', 'TCP connections admitted.');
    this.mRefused = m.counter('chat_connections_refused_total', 'TCP connections refused at admission, by reason.');
    this.mTimeouts = m.counter('chat_connection_timeouts_total', 'Connections closed by the sweep, by the deadline they missed.');
    this.mOpen = m.gauge('chat_connections_open', 'Connections open now.').collect(() => this.connections.size);
    this.mBytesIn = m.counter('chat_bytes_received_total', 'Bytes read from closed connections (TCP payload, TLS included).');
    this.mBytesOut = m.counter('chat_bytes_sent_total', 'Bytes written to closed connections (TCP payload, TLS included).');
    this.mTlsFailures = m.counter('chat_tls_handshake_failures_total', 'TLS handshakes that failed.');
    void this.mOpen;
    // pauseOnConnect: no byte is read before admission has said yes.
    this.server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.admit(socket));
    this.server.on('error', (err) => options.log.error('listener error', { err }));
  }

  /** Start listening; resolves with the bound address (port 0 → the port the kernel chose). */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: this.limits.host, port: this.limits.port, backlog: 1024 }, () => {
        this.server.off('error', onError);
        const addr = this.server.address() as net.AddressInfo;
        this.sweepTimer = setInterval(() => this.sweep(), this.limits.sweep_interval);
        this.sweepTimer.unref();
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** New limits from a reload; they apply to the next admission and the next sweep. */
  updateLimits(limits: ReactorLimits): void {
    const intervalChanged = limits.sweep_interval !== this.limits.sweep_interval;
    this.limits = limits;
    this.rate.setRule({ ratePerSecond: limits.connection_rate, burst: limits.connection_burst }, limits.max_tracked_addresses);
    if (intervalChanged && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = setInterval(() => this.sweep(), limits.sweep_interval);
      this.sweepTimer.unref();
    }
  }

  /** A new certificate: new connections get it, open ones keep theirs. */
  setSecureContext(ctx: tls.SecureContext): void {
    this.tlsOptions = serverTlsOptions(ctx);
  }

  get now(): number {
    return this.clock();
  }

  /** Move a connection to a phase; `since` is now (and `phaseStartedAt`, when the phase changes). */
  setPhase(conn: Connection, phase: Phase): void {
    const now = this.clock();
    if (conn.phase !== phase) conn.phaseStartedAt = now;
    conn.phase = phase;
    conn.since = now;
  }

  /** The connection made progress in its phase (body bytes, a frame): `since` is now. */
  progress(conn: Connection): void {
    conn.since = this.clock();
  }

  // ── admission ──────────────────────────────────────────────────────────

  private admit(socket: net.Socket): void {
    const peer = clientAddress(socket.remoteAddress);
    const refusal = this.admissionRefusal(peer);
    if (refusal !== null) {
      this.mRefused.inc({ reason: refusal });
      this.options.log.debug('connection refused', { ip: peer.ip, reason: refusal });
      // Closed at once: no TLS, no read, no response (we know nothing of the peer's protocol yet).
      socket.destroy();
      return;
    }
    this.mAccepted.inc();
    this.perGroup.set(peer.group, (this.perGroup.get(peer.group) ?? 0) + 1);

    const tlsOptions = this.tlsOptions;
    const secure = tlsOptions !== null;
    const conn: Connection = {
      id: this.nextId++,
      raw: socket,
      stream: socket,
      peer,
      secure,
      phase: secure ? 'tls-handshake' : 'http-head',
      since: this.clock(),
      phaseStartedAt: this.clock(),
      pingSentAt: null,
      owner: null,
    };
    this.connections.add(conn);
    socket.on('error', ignoreSocketError);
    // 'close' is emitted once per socket: `on` spares the wrapper `once` would keep (issue 9).
    socket.on('close', () => this.forget(conn));

    if (!secure) {
      socket.resume();
      this.options.onReady(conn);
      return;
    }
    const tlsSocket = new tls.TLSSocket(socket, tlsOptions);
    conn.stream = tlsSocket;
    tlsSocket.on('error', (err: NodeJS.ErrnoException) => {
      if (conn.phase === 'tls-handshake') {
        this.mTlsFailures.inc();
        this.options.log.debug('tls handshake failed', { ip: peer.ip, code: err.code });
      }
      socket.destroy();
    });
    tlsSocket.once('secure', () => {
      if (socket.destroyed) return;
      this.options.onReady(conn);
    });
    socket.resume();
  }

  private admissionRefusal(peer: ClientAddress): RefusalReason | null {
    if (this.draining) return 'draining';
    if (this.connections.size >= this.limits.max_connections) return 'max_connections';
    if (this.options.exempt?.().matches(peer.ip)) return null;
    if ((this.perGroup.get(peer.group) ?? 0) >= this.limits.max_connections_per_ip) return 'max_connections_per_ip';
    if (!this.rate.take(peer.group, this.clock())) return 'connection_rate';
    return null;
  }

  private forget(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    const left = (this.perGroup.get(conn.peer.group) ?? 1) - 1;
    if (left <= 0) this.perGroup.delete(conn.peer.group);
    else this.perGroup.set(conn.peer.group, left);
    this.mBytesIn.inc(undefined, conn.raw.bytesRead);
    this.mBytesOut.inc(undefined, conn.raw.bytesWritten);
    if (this.draining && this.connections.size === 0) this.wakeDrainWaiters();
  }

  // ── the sweep ──────────────────────────────────────────────────────────

  /** One pass over the registry (DESIGN.md: one sweep, not a timer per socket). */
  sweep(): void {
    const now = this.clock();
    for (const conn of this.connections) {
      const action = sweepDecision(conn, now, this.limits);
      if (action.kind === 'keep') continue;
      if (action.kind === 'ping') {
        conn.owner?.onPingDue();
        continue;
      }
      this.mTimeouts.inc({ reason: action.reason });
      if (conn.owner) conn.owner.onTimeout(action.reason);
      else conn.raw.destroy();
    }
    this.rate.prune(now);
  }

  // ── drain ──────────────────────────────────────────────────────────────

  /**
   * Graceful drain (DESIGN.md): stop accepting, tell every connection's owner,
   * wait until the registry is empty or `deadlineMs` passes, then destroy
   * what is left. Resolves when the listener and every socket are closed.
   */
  async drain(deadlineMs: number): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      this.server.close();
      for (const conn of [...this.connections]) {
        if (conn.owner) conn.owner.onDrain();
        else conn.raw.destroy(); // still in the TLS handshake: nothing in flight
      }
    }
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        this.drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const conn of this.connections) conn.raw.destroy();
    this.stopSweep();
  }

  /** Close at once: the listener and every socket (a second signal). */
  destroyAll(): void {
    this.draining = true;
    this.server.close();
    for (const conn of this.connections) conn.raw.destroy();
    this.stopSweep();
    this.wakeDrainWaiters();
  }

  private stopSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Connections open from one address group (for tests and the admin view). */
  openFrom(group: string): number {
    return this.perGroup.get(group) ?? 0;
  }

  get trackedAddresses(): number {
    return this.rate.size;
  }
}
