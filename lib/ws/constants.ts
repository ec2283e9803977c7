/**
 * The numbers of RFC 6455, named: the bits of a frame's first two bytes
 * (§5.2), the opcodes (§5.2, §11.8), the close status codes (§7.4.1, plus the
 * two this application defines in 4000–4999, §7.4.2) and the GUID of the
 * opening handshake (§1.3, §4.2.2).
 *
 * The base framing protocol, as drawn in RFC 6455 §5.2:
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-------+-+-------------+-------------------------------+
 *     |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *     |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *     |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *     | |1|2|3|       |K|             |                               |
 *     +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *     |     Extended payload length continued, if payload len == 127  |
 *     + - - - - - - - - - - - - - - - +-------------------------------+
 *     |                               |Masking-key, if MASK set to 1  |
 *     +-------------------------------+-------------------------------+
 *     | Masking-key (continued)       |          Payload Data         |
 *     +-------------------------------- - - - - - - - - - - - - - - - +
 *     :                     Payload Data continued ...                :
 *     + - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - +
 */

// Byte 0 of every frame (RFC 6455 §5.2).
/** FIN: "Indicates that this is the final fragment in a message." */
export const FIN_BIT = 0x80;
export const RSV1_BIT = 0x40;
export const RSV2_BIT = 0x20;
export const RSV3_BIT = 0x10;
/** RSV1, RSV2 and RSV3 together: "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values." */
export const RSV_MASK = RSV1_BIT | RSV2_BIT | RSV3_BIT;
/** The low four bits of byte 0: the opcode. */
export const OPCODE_MASK = 0x0f;

// Byte 1 of every frame (RFC 6455 §5.2).
/** MASK: "Defines whether the "Payload data" is masked." */
export const MASK_BIT = 0x80;
/** The low seven bits of byte 1: "Payload len". */
export const LENGTH_MASK = 0x7f;
/** Payload len 0–125 is the length itself. */
export const MAX_7BIT_LENGTH = 125;
/** Payload len 126: "the following 2 bytes interpreted as a 16-bit unsigned integer are the payload length". */
export const LENGTH_16_MARKER = 126;
/** Payload len 127: "the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length". */
export const LENGTH_64_MARKER = 127;
/** The largest length a 16-bit extended length can carry; anything longer needs the 64-bit form. */
export const MAX_16BIT_LENGTH = 0xffff;
/** The masking key is 4 bytes (RFC 6455 §5.3). */
export const MASK_KEY_BYTES = 4;

/** Opcodes (RFC 6455 §5.2; registry in §11.8). 0x3–0x7 and 0xB–0xF are reserved. */
export const OPCODE = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;
export type Opcode = (typeof OPCODE)[keyof typeof OPCODE];

/** Every opcode RFC 6455 defines; any other is reserved and fails the connection (§5.2). */
export const KNOWN_OPCODES: ReadonlySet<number> = new Set<number>(Object.values(OPCODE));

/** Opcode names for traces and error messages. */
export const OPCODE_NAMES: Readonly<Record<Opcode, string>> = {
  [OPCODE.CONTINUATION]: 'continuation',
  [OPCODE.TEXT]: 'text',
  [OPCODE.BINARY]: 'binary',
  [OPCODE.CLOSE]: 'close',
  [OPCODE.PING]: 'ping',
  [OPCODE.PONG]: 'pong',
};

/** "Control frames are identified by opcodes where the most significant bit of the opcode is 1." (RFC 6455 §5.5) */
export const CONTROL_OPCODE_BIT = 0x8;
/** "All control frames MUST have a payload length of 125 bytes or less" (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

export function isControlOpcode(opcode: number): boolean {
  return (opcode & CONTROL_OPCODE_BIT) !== 0;
}

/**
 * Close status codes (RFC 6455 §7.4.1), and this application's own codes in
 * the private-use range 4000–4999 (§7.4.2). Which codes may appear on the wire
 * is the table in close.ts.
 */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  /** Never on the wire: stands for "the Close frame had no status code" (§7.1.5). */
  NO_STATUS: 1005,
  /** Never on the wire: stands for "the connection closed without a Close frame" (§7.1.5). */
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
  /** Ours: the token expired without a `refresh` (API.md). */
  TOKEN_EXPIRED: 4001,
  /** Ours: the client could not keep up with what we had to send (API.md). */
  SLOW_CONSUMER: 4008,
} as const;
export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

/** A Close payload is a 2-byte status code followed by a UTF-8 reason (RFC 6455 §5.5.1). */
export const CLOSE_CODE_BYTES = 2;
/** So the reason may hold at most 125 − 2 bytes. */
export const MAX_CLOSE_REASON_BYTES = MAX_CONTROL_PAYLOAD - CLOSE_CODE_BYTES;

/** The GUID appended to Sec-WebSocket-Key before hashing (RFC 6455 §1.3, §4.2.2 item 5.4). */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The only protocol version RFC 6455 defines (§4.1 item 9, §4.2.1 item 6). */
export const WS_VERSION = '13';
