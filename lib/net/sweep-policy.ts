/**
 * The connection lifecycle and the one sweep's decision (DESIGN.md: "one
 * sweep, not a timer per socket").
 *
 * Every connection in the registry is in exactly one phase. The phase and the
 * time it began (or last made progress) are all the sweep needs: a pure
 * function of (connection, now, limits) says what to do. The reactor applies
 * the action; the protocol layer decides how to say goodbye (a 408, a close
 * frame, or nothing).
 *
 *   accept ──► tls-handshake ──► http-head ──► http-body ──► http-busy ──► http-idle ─┐
 *   (tls off: straight to http-head)  ▲                            │   (http-writing │
 *                                     └────────────────────────────┴── while stalled)│
 *                                     ◄──────────────── next request ────────────────┘
 *   http-busy ──(101 Switching Protocols)──► ws-open ──► ws-closing ──► closed
 */

export type Phase =
  /** TCP accepted, TLS handshake not finished. */
  | 'tls-handshake'
  /** Waiting for the first byte of a request head, or reading one. */
  | 'http-head'
  /** Reading a request body; `since` moves with every body byte. */
  | 'http-body'
  /** A request is being handled; nothing is read meanwhile. */
  | 'http-busy'
  /** A response is stuck behind a full socket buffer; `since` moves on each drain. */
  | 'http-writing'
  /** Keep-alive: between two requests. */
  | 'http-idle'
  /** An open WebSocket; `since` is the last frame received. */
  | 'ws-open'
  /** We sent a close frame and wait for the peer's (RFC 6455 §7.1.1). */
  | 'ws-closing';

export type TimeoutReason = 'tls_handshake' | 'header' | 'body' | 'send' | 'keepalive' | 'pong' | 'close';

export interface SweepLimits {
  readonly tls_handshake_timeout: number;
  readonly header_timeout: number;
  readonly body_timeout: number;
  readonly keepalive_timeout: number;
  readonly ws_ping_interval: number;
  readonly ws_pong_timeout: number;
  readonly ws_close_timeout: number;
}

export interface SweepView {
  readonly phase: Phase;
  /** When the phase began, or its last progress (ms). */
  readonly since: number;
  /** When the phase began, whatever progress came after (ms). */
  readonly phaseStartedAt: number;
  /** For ws-open: when our unanswered ping went out, else null. */
  readonly pingSentAt: number | null;
}

export type SweepAction =
  | { readonly kind: 'keep' }
  | { readonly kind: 'ping' }
  | { readonly kind: 'timeout'; readonly reason: TimeoutReason };

/** A request body must be complete within this many body_timeouts of its first byte. */
export const BODY_DEADLINE_FACTOR = 3;

const KEEP: SweepAction = { kind: 'keep' };
const PING: SweepAction = { kind: 'ping' };
const TIMEOUTS: Readonly<Record<TimeoutReason, SweepAction>> = {
  tls_handshake: { kind: 'timeout', reason: 'tls_handshake' },
  header: { kind: 'timeout', reason: 'header' },
  body: { kind: 'timeout', reason: 'body' },
  send: { kind: 'timeout', reason: 'send' },
  keepalive: { kind: 'timeout', reason: 'keepalive' },
  pong: { kind: 'timeout', reason: 'pong' },
  close: { kind: 'timeout', reason: 'close' },
};

/** What the sweep does with one connection. Pure: no clock, no socket. */
export function sweepDecision(c: SweepView, now: number, limits: SweepLimits): SweepAction {
  const age = now - c.since;
  switch (c.phase) {
    case 'tls-handshake':
      return age >= limits.tls_handshake_timeout ? TIMEOUTS.tls_handshake : KEEP;
    case 'http-head':
      return age >= limits.header_timeout ? TIMEOUTS.header : KEEP;
    case 'http-body':
      // Two bounds: no progress for body_timeout (a stall), and the whole body
      // within BODY_DEADLINE_FACTOR × body_timeout — else a body trickled one
      // byte per (body_timeout − ε) would hold its connection for days, as a
      // head would without header_timeout's whole-head deadline.
      return age >= limits.body_timeout || now - c.phaseStartedAt >= BODY_DEADLINE_FACTOR * limits.body_timeout ? TIMEOUTS.body : KEEP;
    case 'http-writing':
      // A client that does not read our response: the same patience as for its body.
      return age >= limits.body_timeout ? TIMEOUTS.send : KEEP;
    case 'http-busy':
      // Our own handler is working; it is bounded by its own limits.
      return KEEP;
    case 'http-idle':
      return age >= limits.keepalive_timeout ? TIMEOUTS.keepalive : KEEP;
    case 'ws-open':
      // RFC 6455 §5.5.2: a ping "may serve either as a keepalive or as a means
      // to verify that the remote endpoint is still responsive".
      if (c.pingSentAt !== null) return now - c.pingSentAt >= limits.ws_pong_timeout ? TIMEOUTS.pong : KEEP;
      return age >= limits.ws_ping_interval ? PING : KEEP;
    case 'ws-closing':
      return age >= limits.ws_close_timeout ? TIMEOUTS.close : KEEP;
  }
}
