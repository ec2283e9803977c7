/**
 * Pure frame encoders (RFC 6455 §5.2): values in, bytes out. No state, no
 * socket. The server calls them unmasked — "A server MUST NOT mask any frames
 * that it sends to the client" (§5.1); the `mask` option exists for test
 * clients, which must mask everything they send (§5.3).
 *
 * They refuse (RangeError, a programmer's mistake) to build what a peer would
 * have to reject: unknown opcodes, control frames over 125 bytes or
 * fragmented (§5.5), close codes that must not be sent (§7.4). Only the RSV
 * bits can be set freely, for tests of peers that must refuse them (§5.2).
 *
 * Header layout, by payload length (the minimal form, §5.2):
 *
 *     0–125          2 bytes   [FIN|RSV|opcode] [MASK|len]
 *     126–65535      4 bytes   [FIN|RSV|opcode] [MASK|126] [16-bit length]
 *     65536–2^53−1  10 bytes   [FIN|RSV|opcode] [MASK|127] [64-bit length]
 *     + 4 bytes of masking key when masked
 */
import {
  CLOSE_CODE_BYTES,
  FIN_BIT,
  LENGTH_16_MARKER,
  LENGTH_64_MARKER,
  MASK_BIT,
  MASK_KEY_BYTES,
  MAX_16BIT_LENGTH,
  MAX_7BIT_LENGTH,
  MAX_CLOSE_REASON_BYTES,
  MAX_CONTROL_PAYLOAD,
  OPCODE,
  RSV_MASK,
  KNOWN_OPCODES,
  isControlOpcode,
} from './constants.js';
import { isAllowedCloseCode } from './close.js';
import { copyMasked } from './mask.js';

export interface EncodeFrameOptions {
  /** FIN: this is the final fragment of its message (default true). */
  readonly fin?: boolean;
  /** A 4-byte masking key: client frames only (§5.3). */
  readonly mask?: Buffer;
  /** The RSV1–3 bits as they sit in byte 0 (RSV1_BIT | …); 0 unless an extension says otherwise. */
  readonly rsv?: number;
}

/** How many bytes the header of a frame with this payload length takes, before any masking key. */
export function frameHeaderLength(payloadLength: number): number {
  if (payloadLength <= MAX_7BIT_LENGTH) return 2;
  if (payloadLength <= MAX_16BIT_LENGTH) return 4;
  return 10;
}

/** Write byte 0, byte 1 and the extended length into `target` at 0; returns the bytes written. */
function writeHeader(target: Buffer, byte0: number, masked: boolean, payloadLength: number): number {
  const maskBit = masked ? MASK_BIT : 0;
  target[0] = byte0;
  if (payloadLength <= MAX_7BIT_LENGTH) {
    target[1] = maskBit | payloadLength;
    return 2;
  }
  if (payloadLength <= MAX_16BIT_LENGTH) {
    target[1] = maskBit | LENGTH_16_MARKER;
    target.writeUInt16BE(payloadLength, 2);
    return 4;
  }
  // 64 bits, most significant bit 0 (§5.2); JavaScript lengths fit in 53 bits.
  target[1] = maskBit | LENGTH_64_MARKER;
  target.writeUInt32BE(Math.floor(payloadLength / 2 ** 32), 2);
  target.writeUInt32BE(payloadLength >>> 0, 6);
  return 10;
}

function checkFrame(opcode: number, payloadLength: number, fin: boolean, rsv: number): void {
  if (!KNOWN_OPCODES.has(opcode)) throw new RangeError(`unknown opcode 0x${opcode.toString(16)} (RFC 6455 §5.2)`);
  if (isControlOpcode(opcode) && (payloadLength > MAX_CONTROL_PAYLOAD || !fin)) {
    throw new RangeError('control frames carry at most 125 bytes and are never fragmented (RFC 6455 §5.5)');
  }
  if ((rsv & ~RSV_MASK) !== 0) throw new RangeError('rsv holds only the RSV1–3 bits (RFC 6455 §5.2)');
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 0) throw new RangeError('bad payload length');
}

/** A whole frame: header, masking key if any, and the payload (masked if a key is given). */
export function encodeFrame(opcode: number, payload: Buffer, options: EncodeFrameOptions = {}): Buffer {
  const fin = options.fin ?? true;
  const rsv = options.rsv ?? 0;
  const mask = options.mask;
  checkFrame(opcode, payload.length, fin, rsv);
  if (mask !== undefined && mask.length !== MASK_KEY_BYTES) throw new RangeError('a masking key is 4 bytes (RFC 6455 §5.3)');

  const headerLength = frameHeaderLength(payload.length) + (mask ? MASK_KEY_BYTES : 0);
  const frame = Buffer.allocUnsafe(headerLength + payload.length);
  let at = writeHeader(frame, (fin ? FIN_BIT : 0) | rsv | opcode, mask !== undefined, payload.length);
  if (mask) {
    mask.copy(frame, at);
    at += MASK_KEY_BYTES;
    copyMasked(payload, 0, frame, at, payload.length, mask, 0);
  } else {
    payload.copy(frame, at);
  }
  return frame;
}

/**
 * Only the header of an unmasked frame, so that a large payload can follow it
 * in the same writev without being copied.
 */
export function encodeFrameHeader(opcode: number, payloadLength: number, fin = true): Buffer {
  checkFrame(opcode, payloadLength, fin, 0);
  const header = Buffer.allocUnsafe(frameHeaderLength(payloadLength));
  writeHeader(header, (fin ? FIN_BIT : 0) | opcode, false, payloadLength);
  return header;
}

/** An unfragmented text frame; the string is encoded straight into the frame. */
export function encodeText(text: string): Buffer {
  const payloadLength = Buffer.byteLength(text, 'utf8');
  const headerLength = frameHeaderLength(payloadLength);
  const frame = Buffer.allocUnsafe(headerLength + payloadLength);
  writeHeader(frame, FIN_BIT | OPCODE.TEXT, false, payloadLength);
  frame.write(text, headerLength, 'utf8');
  return frame;
}

/**
 * A Close frame: the 2-byte code then the UTF-8 reason (§5.5.1). The reason is
 * cut to fit the 125-byte control payload (§5.5), never inside a character,
 * so that what we send stays valid UTF-8 (§5.5.1, §8.1).
 */
export function encodeClose(code: number, reason = ''): Buffer {
  if (!isAllowedCloseCode(code)) throw new RangeError(`close code ${code} must not be sent (RFC 6455 §7.4)`);
  const reasonBytes = truncateUtf8(Buffer.from(reason, 'utf8'), MAX_CLOSE_REASON_BYTES);
  const payload = Buffer.allocUnsafe(CLOSE_CODE_BYTES + reasonBytes.length);
  payload.writeUInt16BE(code, 0);
  reasonBytes.copy(payload, CLOSE_CODE_BYTES);
  return encodeFrame(OPCODE.CLOSE, payload);
}

/** The longest prefix of valid UTF-8 `bytes` that fits in `maxBytes` and ends on a character boundary. */
export function truncateUtf8(bytes: Buffer, maxBytes: number): Buffer {
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  // A continuation byte (10xxxxxx) at the cut means a character straddles it:
  // step back to that character's first byte and cut before it.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
