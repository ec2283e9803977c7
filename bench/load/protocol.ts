/**
 * The messages between the bench runner and the load generator process
 * (over Node's IPC channel). Every request carries an `id`; the generator
 * answers each with exactly one reply of the same `id`.
 */
import type { LatencySummary } from '../lib/stats.js';

/** Latency percentiles, µs (stats.ts's summary without the count). */
export type Latency = Omit<LatencySummary, 'count'>;

export interface OpenRequest {
  readonly type: 'open';
  readonly id: number;
  /** A name for this group of connections, e.g. 'ours-echo'. */
  readonly pool: string;
  readonly url: string;
  readonly count: number;
  /** Client source addresses, used round-robin (127.0.0.x). */
  readonly sources: readonly string[];
  /** Handshakes in flight at once. */
  readonly concurrency: number;
  /** Per connection: fail it if not open by then. */
  readonly timeoutMs: number;
}

export interface EchoRequest {
  readonly type: 'echo';
  readonly id: number;
  readonly pool: string;
  /** Messages per second, over all the pool's connections together. */
  readonly rate: number;
  readonly seconds: number;
  /** Bytes of each text message. */
  readonly payloadBytes: number;
  /** After the last send, how long to wait for the last echoes. */
  readonly drainMs: number;
}

export interface CloseRequest {
  readonly type: 'close';
  readonly id: number;
  readonly pool: string;
}

/**
 * Broadcast load: the pool's first connection sends `rate` messages per
 * second to the broadcast path; every open connection of the pool (the
 * sender's included) should receive each one, in order.
 */
export interface BroadcastRequest {
  readonly type: 'broadcast';
  readonly id: number;
  readonly pool: string;
  /** Messages per second sent by the one sender; deliveries per second = rate × receivers. */
  readonly rate: number;
  readonly seconds: number;
  readonly payloadBytes: number;
  readonly drainMs: number;
}

/**
 * TLS handshakes alone: `count` connections to host:port, `concurrency` at a
 * time, each closed (close_notify, then FIN) as soon as its handshake is done.
 * With `resume`, every connection offers the session ticket one earlier
 * connection received, so the server may resume instead of doing a full
 * handshake (RFC 8446 §2.2).
 */
export interface HandshakeRequest {
  readonly type: 'handshakes';
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly count: number;
  readonly concurrency: number;
  readonly resume: boolean;
  readonly sources: readonly string[];
  readonly timeoutMs: number;
}

export type LoadRequest = OpenRequest | EchoRequest | BroadcastRequest | HandshakeRequest | CloseRequest;

export interface OpenReply {
  readonly type: 'opened';
  readonly id: number;
  readonly opened: number;
  readonly failed: number;
  readonly ms: number;
  /** A few distinct error messages, for the report. */
  readonly errors: readonly string[];
}

export interface EchoReply {
  readonly type: 'echoed';
  readonly id: number;
  readonly sent: number;
  readonly received: number;
  /** Echoes whose bytes differed from what was sent (a server bug). */
  readonly wrong: number;
  /** A sample wrong echo, for the bug report. */
  readonly wrongSample: string | null;
  /** Connections that closed during the run, with their codes. */
  readonly closedDuringRun: number;
  readonly closeCodes: readonly number[];
  /** Round-trip times, microseconds. */
  readonly rtt: Latency;
  /** The achieved send rate (messages per second over the send phase). */
  readonly achievedRate: number;
  /** The largest lag of a send behind its schedule, ms (the generator keeping up?). */
  readonly maxSendLagMs: number;
  /** The generator's own CPU use over the run, as a share of one core. */
  readonly generatorCpuShare: number;
}

export interface BroadcastReply {
  readonly type: 'broadcasted';
  readonly id: number;
  /** Open connections when the job started: each message should reach all of them. */
  readonly receivers: number;
  readonly sent: number;
  readonly deliveriesExpected: number;
  readonly deliveriesReceived: number;
  /** Deliveries whose bytes differed from what was sent, or came out of order (a server bug). */
  readonly wrong: number;
  readonly wrongSample: string | null;
  readonly closedDuringRun: number;
  readonly closeCodes: readonly number[];
  /** Send → receipt, every delivery, microseconds. */
  readonly latency: Latency;
  readonly maxSendLagMs: number;
  readonly generatorCpuShare: number;
}

export interface HandshakeReply {
  readonly type: 'handshaken';
  readonly id: number;
  readonly completed: number;
  readonly failed: number;
  /** Completed handshakes the server resumed (TLSSocket.isSessionReused()). */
  readonly resumed: number;
  readonly ms: number;
  readonly errors: readonly string[];
  readonly generatorCpuShare: number;
}

export interface ClosedReply {
  readonly type: 'closed';
  readonly id: number;
  readonly closed: number;
}

export interface ErrorReply {
  readonly type: 'error';
  readonly id: number;
  readonly message: string;
}

export type LoadReply = OpenReply | EchoReply | BroadcastReply | HandshakeReply | ClosedReply | ErrorReply;
