/**
 * The messages between the chat benchmark (bench/scenarios/chat.ts) and its
 * load generator process (bench/load/chat-load.ts), over Node's IPC channel.
 * Every request carries an `id`; the generator answers each with exactly one
 * reply of the same `id` (or an `error` reply).
 */
import type { LatencySummary } from '../lib/stats.js';
import type { CloseRequest, ClosedReply, ErrorReply } from './protocol.js';

// Closing a pool and reporting an error are the same as with the WebSocket generator.
export type { CloseRequest, ClosedReply, ErrorReply };

/** Register `count` users `${prefix}0 … ${prefix}{count-1}` over HTTPS and keep their tokens in `pool`. */
export interface RegisterRequest {
  readonly type: 'register';
  readonly id: number;
  readonly pool: string;
  /** https://127.0.0.1:PORT */
  readonly origin: string;
  readonly prefix: string;
  readonly count: number;
  readonly password: string;
  /** Registrations in flight at once. */
  readonly concurrency: number;
  /** Source address of the HTTP client (127.0.0.x). */
  readonly source: string;
}

/** Open one /ws connection for each of the pool's users `from … to-1`, each waiting for its `hello`. */
export interface ConnectRequest {
  readonly type: 'connect';
  readonly id: number;
  readonly pool: string;
  /** wss://127.0.0.1:PORT/ws */
  readonly url: string;
  readonly from: number;
  readonly to: number;
  readonly sources: readonly string[];
  readonly concurrency: number;
  readonly timeoutMs: number;
}

/** The first open connection of the pool creates `room`; then every open connection joins it. */
export interface JoinRequest {
  readonly type: 'join';
  readonly id: number;
  readonly pool: string;
  readonly room: string;
  readonly concurrency: number;
}

/**
 * Acked sends into `room` by the pool's first `senders` connections, every
 * open connection of the pool a receiving member (the senders' included).
 *
 *   rate    open loop: `rate` sends per second in total, round-robin over the
 *           senders, by the clock, whatever the server answers;
 *   closed  closed loop: each sender keeps `window` messages in flight, a
 *           message leaving the window when every member has received it —
 *           the most the server (or the generator) can deliver to all.
 */
export interface LoadRequest {
  readonly type: 'load';
  readonly id: number;
  readonly pool: string;
  readonly room: string;
  readonly mode: 'rate' | 'closed';
  readonly senders: number;
  /** rate mode: sends per second over all senders. */
  readonly rate: number;
  /** closed mode: messages in flight per sender. */
  readonly window: number;
  readonly seconds: number;
  /** Characters of each message text. */
  readonly textChars: number;
  /** After the last send, how long to wait for the last deliveries. */
  readonly drainMs: number;
}

export type ChatLoadRequest = RegisterRequest | ConnectRequest | JoinRequest | LoadRequest | CloseRequest;

export interface RegisteredReply {
  readonly type: 'registered';
  readonly id: number;
  readonly registered: number;
  readonly failed: number;
  /** 429 answers that were retried after Retry-After. */
  readonly retried: number;
  readonly ms: number;
  readonly errors: readonly string[];
}

export interface ConnectedReply {
  readonly type: 'connected';
  readonly id: number;
  readonly opened: number;
  readonly failed: number;
  readonly ms: number;
  readonly errors: readonly string[];
}

export interface JoinedReply {
  readonly type: 'joined';
  readonly id: number;
  readonly joined: number;
  readonly failed: number;
  readonly ms: number;
  /** The member count the last `joined` reply listed. */
  readonly lastMemberCount: number;
  readonly errors: readonly string[];
}

/** Latency percentiles of a job (stats.ts's summary, nearest rank), µs. */
export type Percentiles = LatencySummary;

export interface LoadReply {
  readonly type: 'loaded';
  readonly id: number;
  /** Members (open connections) each message should reach. */
  readonly members: number;
  readonly sent: number;
  readonly acked: number;
  /** Messages received by every member. */
  readonly complete: number;
  readonly deliveriesExpected: number;
  readonly deliveriesReceived: number;
  /** Deliveries of messages of an earlier job, or unparseable ones (should be 0). */
  readonly stray: number;
  /** Per connection, a message id not greater than the one before it (API.md: id order). */
  readonly outOfOrder: number;
  /** `error` frames received, and a sample. */
  readonly errorFrames: number;
  readonly errorSample: string | null;
  readonly closedDuringRun: number;
  readonly closeCodes: readonly number[];
  /** Send → receipt at each member, µs (every delivery, up to a cap). */
  readonly delivery: Percentiles;
  /** Send → `ack` at the sender, µs. */
  readonly ack: Percentiles;
  /** Over the send phase: sends per second actually issued. */
  readonly achievedSendRate: number;
  /** Closed mode: over the send phase, acks per second and deliveries per second. */
  readonly ackedPerSecond: number;
  readonly deliveriesPerSecond: number;
  /** Wall time of the send phase, and of the whole job (send + drain), ms. */
  readonly sendPhaseMs: number;
  readonly jobMs: number;
  readonly maxSendLagMs: number;
  /** The generator's own CPU use over the job, as a share of one core. */
  readonly generatorCpuShare: number;
}

export type ChatLoadReply = RegisteredReply | ConnectedReply | JoinedReply | LoadReply | ClosedReply | ErrorReply;
