/**
 * The close rules of RFC 6455 as data: which status codes may appear in a
 * Close frame (§7.4.1, §7.4.2 and the IANA registry of §11.7), how a Close
 * frame's payload is read (§5.5.1, §7.1.5, §7.1.6), and what we answer.
 *
 * The closing handshake (§5.5.1, §7.1.2–§7.1.4), when the client starts it:
 *
 *     client                                        server
 *       |                                             |
 *       |---- Close(1000, "bye") -------------------->|  receives a Close it did not send:
 *       |                                             |  "MUST send a Close frame in response",
 *       |                                             |  typically echoing the code (§5.5.1)
 *       |<------------------------ Close(1000) -------|  no more data frames after this (§5.5.1)
 *       |                                             |  has sent and received a Close: "MUST close
 *       |<------------------------ TCP FIN -----------|  the underlying TCP connection" (§5.5.1),
 *       |                                             |  the server first, so that it holds
 *       |---- TCP FIN ------------------------------->|  TIME_WAIT, not the client (§7.1.1)
 *
 * and when the server starts it (a drain sends 1001, a policy close 1008, …):
 *
 *     client                                        server
 *       |<---------------- Close(1001, "restart") ----|  "The WebSocket Closing Handshake is
 *       |                                             |  Started" (§7.1.3); stop sending data
 *       |---- Close(1001) --------------------------->|  the reply: both Closes seen, so
 *       |<------------------------ TCP FIN -----------|  the server closes TCP (§7.1.1)
 *
 * If the reply never comes, the server closes TCP anyway when the sweep's
 * close timeout runs out: the RFC sets no time, and a peer must not be able to
 * hold a closing connection open. The connection is then "Closed" (§7.1.4);
 * the code it reports is the one in the Close frame it received (§7.1.5),
 * 1005 if that frame had none, and 1006 if no Close frame arrived at all
 * (§7.1.5, §7.4.1).
 */
import { CLOSE, CLOSE_CODE_BYTES, MAX_CONTROL_PAYLOAD } from './constants.js';
import { isValidUtf8 } from './utf8-validator.js';
import { WsProtocolError } from './ws-error.js';

export interface CloseCodeRange {
  readonly from: number;
  readonly to: number;
  /** Whether a peer may send these codes in a Close frame. */
  readonly allowed: boolean;
  /** The rule, with its section. */
  readonly why: string;
}

/**
 * Every code from 0 to 4999, in order, once. Codes of 5000 and above belong
 * to no range of §7.4.2 and are refused too.
 */
export const CLOSE_CODE_RANGES: readonly CloseCodeRange[] = [
  { from: 0, to: 999, allowed: false, why: '§7.4.2: "Status codes in the range 0-999 are not used."' },
  { from: 1000, to: 1003, allowed: true, why: '§7.4.1: normal, going away, protocol error, unsupported data' },
  { from: 1004, to: 1004, allowed: false, why: '§7.4.1: "Reserved. The specific meaning might be defined in the future."' },
  { from: 1005, to: 1006, allowed: false, why: '§7.4.1: "MUST NOT be set as a status code in a Close control frame by an endpoint"' },
  { from: 1007, to: 1011, allowed: true, why: '§7.4.1 and §11.7: invalid payload, policy, too big, mandatory extension, internal error' },
  { from: 1012, to: 1014, allowed: true, why: '§11.7 IANA registry: service restart, try again later, bad gateway' },
  { from: 1015, to: 1015, allowed: false, why: '§7.4.1: TLS handshake failure, "MUST NOT be set as a status code in a Close control frame"' },
  { from: 1016, to: 2999, allowed: false, why: '§7.4.2: reserved for this protocol\'s future revisions and extensions; none registered' },
  { from: 3000, to: 3999, allowed: true, why: '§7.4.2: registered with IANA for libraries, frameworks and applications' },
  { from: 4000, to: 4999, allowed: true, why: '§7.4.2: "reserved for private use"' },
];

/** Whether `code` may be sent in, and accepted from, a Close frame. */
export function isAllowedCloseCode(code: number): boolean {
  for (const range of CLOSE_CODE_RANGES) {
    if (code >= range.from && code <= range.to) return range.allowed;
  }
  return false;
}

/** Names of the codes this server knows, for logs, traces and metric labels (bounded: see closeCodeName). */
export const CLOSE_CODE_NAMES: Readonly<Record<number, string>> = {
  [CLOSE.NORMAL]: 'normal',
  [CLOSE.GOING_AWAY]: 'going_away',
  [CLOSE.PROTOCOL_ERROR]: 'protocol_error',
  [CLOSE.UNSUPPORTED_DATA]: 'unsupported_data',
  1004: 'reserved',
  [CLOSE.NO_STATUS]: 'no_status',
  [CLOSE.ABNORMAL]: 'abnormal',
  [CLOSE.INVALID_PAYLOAD]: 'invalid_payload',
  [CLOSE.POLICY_VIOLATION]: 'policy_violation',
  [CLOSE.MESSAGE_TOO_BIG]: 'message_too_big',
  [CLOSE.MANDATORY_EXTENSION]: 'mandatory_extension',
  [CLOSE.INTERNAL_ERROR]: 'internal_error',
  1012: 'service_restart',
  1013: 'try_again_later',
  1014: 'bad_gateway',
  1015: 'tls_handshake',
  [CLOSE.TOKEN_EXPIRED]: 'token_expired',
  [CLOSE.SLOW_CONSUMER]: 'slow_consumer',
};

/**
 * A short stable name for a close code. Codes without a name of their own
 * are named after their range, so a metric label never takes more than a
 * handful of values, whatever a peer sends.
 */
export function closeCodeName(code: number): string {
  const name = CLOSE_CODE_NAMES[code];
  if (name !== undefined) return name;
  if (code >= 3000 && code <= 3999) return 'registered';
  if (code >= 4000 && code <= 4999) return 'private';
  return 'invalid';
}

/** What a Close frame said: `code` null when it had no payload (reported as 1005, §7.1.5). */
export interface ClosePayload {
  readonly code: number | null;
  readonly reason: string;
}

/**
 * Read the payload of a received Close frame (RFC 6455 §5.5.1), or the error
 * to fail the connection with.
 */
export function validateClosePayload(payload: Buffer): ClosePayload | WsProtocolError {
  // 1. "The Close frame MAY contain a body" — none: no status code (§7.1.5).
  if (payload.length === 0) return { code: null, reason: '' };

  // 2. Control frames carry at most 125 bytes (§5.5). The frame parser checks
  //    this from the header; repeated here so the function stands alone.
  if (payload.length > MAX_CONTROL_PAYLOAD) {
    return new WsProtocolError(CLOSE.PROTOCOL_ERROR, 'close frame payload longer than 125 bytes');
  }

  // 3. "If there is a body, the first two bytes of the body MUST be a 2-byte
  //    unsigned integer (in network byte order) representing a status code"
  //    (§5.5.1): a body of one byte cannot be one.
  if (payload.length < CLOSE_CODE_BYTES) {
    return new WsProtocolError(CLOSE.PROTOCOL_ERROR, 'close frame payload of 1 byte');
  }

  // 4. The code must be one an endpoint may send (§7.4.1, §7.4.2; table above).
  const code = payload.readUInt16BE(0);
  if (!isAllowedCloseCode(code)) {
    return new WsProtocolError(CLOSE.PROTOCOL_ERROR, `close code ${code} is not allowed on the wire`);
  }

  // 5. "Following the 2-byte integer, the body MAY contain UTF-8-encoded data"
  //    (§5.5.1); not UTF-8 is failed like any text (§8.1) with 1007.
  const reasonBytes = payload.subarray(CLOSE_CODE_BYTES);
  if (!isValidUtf8(reasonBytes)) {
    return new WsProtocolError(CLOSE.INVALID_PAYLOAD, 'close reason is not valid UTF-8');
  }
  return { code, reason: reasonBytes.toString('utf8') };
}

/**
 * The code to put in our reply to a Close we received (§5.5.1: "the endpoint
 * typically echos the status code it received"). A Close without a code gets
 * 1000, since 1005 itself must never be sent (§7.4.1).
 */
export function closeReplyCode(received: number | null): number {
  return received ?? CLOSE.NORMAL;
}
