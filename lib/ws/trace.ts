/**
 * The learner's protocol trace: pure formatters that turn a frame header
 * (RFC 6455 §5.2) and the accept-key computation (§4.2.2, §1.3) into an
 * annotated, multi-line dump. They only build strings; whoever calls them
 * decides where the lines go.
 *
 * A masked "Hello" from a client (the example of §5.7) reads:
 *
 *     in  text frame, FIN, masked, 5-byte payload
 *       byte 0      0x81  1 000 0001  FIN=1 (final fragment)  RSV1=0 RSV2=0 RSV3=0  opcode=0x1 (text)
 *       byte 1      0x85  1 0000101   MASK=1 (masked)  payload len=5
 *       length      5 (7-bit: in byte 1 itself)
 *       bytes 2-5   37 fa 21 3d  masking key (§5.3)
 *       payload     5 bytes (hidden)
 *
 * Payloads are hidden unless asked for: a message may carry a token, and
 * secrets never go to a log (STYLE.md habit 15). A Close frame's code and
 * reason are always shown; they are the protocol's, not the user's.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import {
  FIN_BIT,
  LENGTH_16_MARKER,
  LENGTH_64_MARKER,
  LENGTH_MASK,
  MASK_BIT,
  MASK_KEY_BYTES,
  OPCODE,
  OPCODE_MASK,
  OPCODE_NAMES,
  RSV1_BIT,
  RSV2_BIT,
  RSV3_BIT,
  WS_GUID,
  type Opcode,
} from './constants.js';
import { closeCodeName, validateClosePayload } from './close.js';
import type { FrameHeader, LengthEncoding } from './frame-parser.js';
import { acceptKey } from './handshake.js';
import { WsProtocolError } from './ws-error.js';

/** How many payload characters or bytes a trace shows at most. */
const MAX_SHOWN_TEXT_CHARS = 200;
const MAX_SHOWN_BINARY_BYTES = 32;
/** Width of the left column ("byte 0", "bytes 2-9", …). */
const LABEL_WIDTH = 12;

function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode as Opcode] ?? 'reserved';
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function byteHex(byte: number): string {
  return '0x' + byte.toString(16).padStart(2, '0');
}

function line(label: string, text: string): string {
  return '  ' + label.padEnd(LABEL_WIDTH) + text;
}

function byteRange(first: number, count: number): string {
  return count === 1 ? `byte ${first}` : `bytes ${first}-${first + count - 1}`;
}

/** The value of "Payload len" in byte 1 that goes with a length encoding (§5.2). */
function length7(header: FrameHeader): number {
  if (header.lengthEncoding === '16-bit') return LENGTH_16_MARKER;
  if (header.lengthEncoding === '64-bit') return LENGTH_64_MARKER;
  return header.payloadLength;
}

const EXTENDED_LENGTH_BYTES: Readonly<Record<LengthEncoding, number>> = { '7-bit': 0, '16-bit': 2, '64-bit': 8 };

/**
 * An annotated dump of one frame. `payload`, when given, is the unmasked
 * payload; its content is shown only with `showPayload`, except for a Close
 * frame's code and reason.
 */
export function describeFrame(direction: 'in' | 'out', header: FrameHeader, payload?: Buffer, showPayload = false): string {
  const byte0 =
    (header.fin ? FIN_BIT : 0) |
    (header.rsv1 ? RSV1_BIT : 0) |
    (header.rsv2 ? RSV2_BIT : 0) |
    (header.rsv3 ? RSV3_BIT : 0) |
    header.opcode;
  const byte1 = (header.masked ? MASK_BIT : 0) | length7(header);
  const bits0 = byte0.toString(2).padStart(8, '0');
  const bits1 = byte1.toString(2).padStart(8, '0');

  const summary = [
    `${opcodeName(header.opcode)} frame`,
    header.fin ? 'FIN' : 'not final (more fragments follow)',
    header.masked ? 'masked' : 'unmasked',
    `${header.payloadLength}-byte payload`,
  ];
  const lines = [`${direction.padEnd(3)} ${summary.join(', ')}`];

  // Byte 0: FIN, RSV1-3, opcode (§5.2).
  lines.push(
    line(
      'byte 0',
      `${byteHex(byte0)}  ${bits0[0]} ${bits0.slice(1, 4)} ${bits0.slice(4)}  ` +
        `FIN=${+header.fin} (${header.fin ? 'final fragment' : 'more fragments follow'})  ` +
        `RSV1=${+header.rsv1} RSV2=${+header.rsv2} RSV3=${+header.rsv3}  ` +
        `opcode=0x${header.opcode.toString(16)} (${opcodeName(header.opcode)})`,
    ),
  );

  // Byte 1: MASK, Payload len; then the extended length, if any (§5.2).
  const len7 = byte1 & LENGTH_MASK;
  const lengthNote =
    header.lengthEncoding === '7-bit'
      ? ''
      : `: a ${header.lengthEncoding} length follows`;
  lines.push(
    line(
      'byte 1',
      `${byteHex(byte1)}  ${bits1[0]} ${bits1.slice(1)}   ` +
        `MASK=${+header.masked} (${header.masked ? 'masked' : 'not masked'})  payload len=${len7}${lengthNote}`,
    ),
  );
  const extendedBytes = EXTENDED_LENGTH_BYTES[header.lengthEncoding];
  if (extendedBytes === 0) {
    lines.push(line('length', `${header.payloadLength} (7-bit: in byte 1 itself)`));
  } else {
    const lengthBytes = Buffer.alloc(extendedBytes);
    if (extendedBytes === 2) lengthBytes.writeUInt16BE(header.payloadLength);
    else lengthBytes.writeBigUInt64BE(BigInt(header.payloadLength));
    lines.push(line(byteRange(2, extendedBytes), `${hex(lengthBytes)}  = ${header.payloadLength} (${header.lengthEncoding} length)`));
  }

  // The masking key (§5.3).
  if (header.maskKey !== null) {
    lines.push(line(byteRange(2 + extendedBytes, MASK_KEY_BYTES), `${hex(header.maskKey)}  masking key (§5.3)`));
  }

  // The payload.
  if (payload !== undefined) {
    if (header.opcode === OPCODE.CLOSE) lines.push(line('close', describeClosePayload(payload)));
    else if (!showPayload) lines.push(line('payload', `${payload.length} bytes (hidden)`));
    else if (header.opcode === OPCODE.TEXT) lines.push(line('payload', showText(payload.toString('utf8'))));
    else lines.push(line('payload', showBinary(payload)));
  }
  return lines.join('\n');
}

function describeClosePayload(payload: Buffer): string {
  const close = validateClosePayload(payload);
  if (close instanceof WsProtocolError) return `malformed: ${close.message}`;
  if (close.code === null) return 'no status code (reported as 1005, §7.1.5)';
  const reason = close.reason === '' ? 'no reason' : `reason ${showText(close.reason)}`;
  return `code ${close.code} (${closeCodeName(close.code)}), ${reason}`;
}

function showText(text: string): string {
  const chars = Array.from(text);
  if (chars.length <= MAX_SHOWN_TEXT_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(chars.slice(0, MAX_SHOWN_TEXT_CHARS).join(''))}… (${chars.length} characters)`;
}

function showBinary(payload: Buffer): string {
  if (payload.length === 0) return '(empty)';
  if (payload.length <= MAX_SHOWN_BINARY_BYTES) return hex(payload);
  return `${hex(payload.subarray(0, MAX_SHOWN_BINARY_BYTES))} … (${payload.length} bytes)`;
}

/**
 * Sec-WebSocket-Accept computed step by step (RFC 6455 §4.2.2 item 5.4, with
 * the example of §1.3).
 */
export function describeAcceptKey(key: string): string {
  const joined = key + WS_GUID;
  const digest = sha1(Buffer.from(joined, 'latin1'));
  // Step 4 is the value handshake.ts sends, so the trace shows what went on the wire.
  const accept = acceptKey(key);
  return [
    'Sec-WebSocket-Accept, step by step (RFC 6455 §4.2.2, §1.3):',
    `  1. the client's Sec-WebSocket-Key   ${key}`,
    `  2. append the GUID                  ${joined}`,
    `  3. SHA-1 of those bytes (hex)       ${Buffer.from(digest).toString('hex')}`,
    `  4. base64 of the 20 hash bytes      ${accept}`,
  ].join('\n');
}

/**
 * Read the header at the start of a frame we built (for tracing what we
 * send): its fields and how many bytes it takes, or null if `bytes` stops
 * before the header ends. It checks nothing; incoming frames go through
 * FrameParser instead.
 */
export function parseFrameHeader(bytes: Uint8Array): { readonly header: FrameHeader; readonly headerLength: number } | null {
  if (bytes.length < 2) return null;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const byte0 = buffer[0]!;
  const byte1 = buffer[1]!;
  const masked = (byte1 & MASK_BIT) !== 0;
  const len7 = byte1 & LENGTH_MASK;
  const lengthEncoding: LengthEncoding = len7 === LENGTH_16_MARKER ? '16-bit' : len7 === LENGTH_64_MARKER ? '64-bit' : '7-bit';
  const extendedBytes = EXTENDED_LENGTH_BYTES[lengthEncoding];
  const headerLength = 2 + extendedBytes + (masked ? MASK_KEY_BYTES : 0);
  if (buffer.length < headerLength) return null;

  let payloadLength = len7;
  if (lengthEncoding === '16-bit') payloadLength = buffer.readUInt16BE(2);
  if (lengthEncoding === '64-bit') payloadLength = buffer.readUInt32BE(2) * 2 ** 32 + buffer.readUInt32BE(6);
  const maskStart = 2 + extendedBytes;
  const header: FrameHeader = {
    fin: (byte0 & FIN_BIT) !== 0,
    rsv1: (byte0 & RSV1_BIT) !== 0,
    rsv2: (byte0 & RSV2_BIT) !== 0,
    rsv3: (byte0 & RSV3_BIT) !== 0,
    opcode: byte0 & OPCODE_MASK,
    masked,
    payloadLength,
    lengthEncoding,
    maskKey: masked ? Buffer.from(buffer.subarray(maskStart, maskStart + MASK_KEY_BYTES)) : null,
  };
  return { header, headerLength };
}
