/**
 * The one error type of the WebSocket layer (STYLE.md habit 4). It carries its
 * wire consequence: the status code of the Close frame to send when "_Failing
 * the WebSocket Connection_" (RFC 6455 §7.1.7). The connection turns it into a
 * Close frame in exactly one place.
 *
 * `message` is for logs and traces, short enough to travel as a close reason
 * (at most 123 bytes, RFC 6455 §5.5.1), and never holds payload data.
 */

export class WsProtocolError extends Error {
  override readonly name = 'WsProtocolError';

  constructor(
    /** The close code to send (CLOSE.PROTOCOL_ERROR, CLOSE.INVALID_PAYLOAD, …). */
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}
