/**
 * The broadcast endpoint (`ws_broadcast_path`), for benchmarks, demos and
 * conformance runs: every complete message (RFC 6455 §5.4, after reassembly)
 * is sent to every open connection on the path, the sender included, text as
 * text and binary as binary, in the order the messages were handled. It is
 * the `ws` README's broadcast idiom that bench/peers/ws-echo-peer.ts serves
 * on `/broadcast`, so the two servers can be compared on the same work.
 *
 * Like the echo endpoint (upgrade.ts) it asks for no token: the upgrader's
 * method, Origin (§10.2) and handshake (§4.2.1) checks apply, then anyone is
 * admitted. It must stay off in production unless that is wanted.
 *
 * Encode once, write many (DESIGN.md): each message is framed once and the
 * same Buffer is handed to every member's `sendFrame`, which owns
 * backpressure — a member whose outgoing buffer would pass
 * `ws_max_buffered_bytes` is closed with 4008, as in the chat. The message
 * size limit is `ws_echo_max_message_bytes` (the `options` passed in), checked
 * by the frame parser from each frame header (§10.4), else 1009.
 */
import type { WebSocketConnection, WsHandler, WsOptions } from './connection.js';
import type { WsEndpoint } from './upgrade.js';
import { encodeFrame } from './frame-encoder.js';
import { OPCODE } from './constants.js';

export interface BroadcastEndpoint extends WsEndpoint {
  /** How many connections are members now: a connection joins at the 101 and leaves when its TCP connection is gone. */
  readonly memberCount: number;
}

export function broadcastEndpoint(path: string, options: () => WsOptions): BroadcastEndpoint {
  /** Connections on this path, from the 101 until their TCP connection is gone; all the state there is. */
  const members = new Set<WebSocketConnection>();

  /**
   * One frame for everyone. `sendFrame` skips a member that is closing (its
   * Close is sent; nothing may follow it, §5.5.1), so a member counts as
   * "open" here exactly as long as it may still receive data frames.
   */
  const broadcast = (opcode: typeof OPCODE.TEXT | typeof OPCODE.BINARY, data: Buffer): void => {
    const frame = encodeFrame(opcode, data);
    for (const member of members) member.sendFrame(frame);
  };

  const handler: WsHandler = {
    onOpen: (ws) => members.add(ws),
    // §8.1: the frame parser has already checked that a text message is valid UTF-8, so its bytes go out as they came.
    onText: (_ws, data) => broadcast(OPCODE.TEXT, data),
    onBinary: (_ws, data) => broadcast(OPCODE.BINARY, data),
    onClose: (ws) => members.delete(ws),
  };
  return {
    path,
    options,
    // No subprotocol is chosen: the client may offer some, we answer none (§4.2.2 item 5.4 "null").
    admit: () => ({ ok: true, protocol: null, handler }),
    get memberCount() {
      return members.size;
    },
  };
}
