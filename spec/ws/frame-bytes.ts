/**
 * Test helpers for the WebSocket specs: a raw frame builder that can write
 * anything, the invalid included (reserved bits and opcodes, non-minimal
 * lengths, a claimed length with no payload), and a feeder that pushes one
 * input into a FrameParser in the pieces of a split mode.
 */
import { FrameParser, type FrameParserOptions, type WsEvent } from '../../lib/ws/frame-parser.js';
import { WsProtocolError } from '../../lib/ws/ws-error.js';
import { split, type SplitMode } from '../helpers/splits.js';

/** The masking key of RFC 6455 §5.7's examples. */
export const RFC_MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

export interface RawFrame {
  readonly opcode: number;
  readonly payload?: Buffer;
  readonly fin?: boolean;
  /** RSV bits as they sit in byte 0. */
  readonly rsv?: number;
  /** Masked with `maskKey` (default true: client frames). */
  readonly masked?: boolean;
  readonly maskKey?: Buffer;
  /** The length written in the header, if not the payload's (only the header is written then, plus `payload`). */
  readonly length?: number;
  /** Force a length form, even a non-minimal one. */
  readonly lengthEncoding?: '7-bit' | '16-bit' | '64-bit';
  /** Write this raw 8-byte value as the 64-bit length (for the most-significant-bit rule). */
  readonly length64?: bigint;
}

export function rawFrame(frame: RawFrame): Buffer {
  const payload = frame.payload ?? Buffer.alloc(0);
  const masked = frame.masked ?? true;
  const key = frame.maskKey ?? RFC_MASK_KEY;
  const length = frame.length ?? payload.length;
  const encoding =
    frame.lengthEncoding ?? (frame.length64 !== undefined ? '64-bit' : length <= 125 ? '7-bit' : length <= 0xffff ? '16-bit' : '64-bit');

  const bytes: number[] = [((frame.fin ?? true) ? 0x80 : 0) | (frame.rsv ?? 0) | frame.opcode];
  const maskBit = masked ? 0x80 : 0;
  if (encoding === '7-bit') {
    bytes.push(maskBit | length);
  } else if (encoding === '16-bit') {
    bytes.push(maskBit | 126, (length >> 8) & 0xff, length & 0xff);
  } else {
    const value = frame.length64 ?? BigInt(length);
    bytes.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) bytes.push(Number((value >> shift) & 0xffn));
  }
  if (masked) bytes.push(...key);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i % 4]!;
  return Buffer.concat([Buffer.from(bytes), body]);
}

export interface FeedResult {
  readonly events: WsEvent[];
  readonly error: WsProtocolError | null;
  readonly parser: FrameParser;
}

/** Push `input` into a new parser in the pieces of `mode`, stopping at the first error. */
export function feed(input: Buffer, mode: SplitMode, options: Partial<FrameParserOptions> = {}): FeedResult {
  const parser = new FrameParser({ maxMessageBytes: 1 << 20, requireMask: true, ...options });
  const events: WsEvent[] = [];
  for (const piece of split(input, mode)) {
    const result = parser.push(piece);
    events.push(...result.events);
    if (result.error !== null) return { events, error: result.error, parser };
  }
  return { events, error: null, parser };
}

/** Events in a form chai's deep equality compares well (Buffers as strings of hex). */
export function plain(events: readonly WsEvent[]): unknown[] {
  return events.map((event) => {
    if (event.type === 'close' || event.type === 'frame') {
      if (event.type === 'frame') return { ...event, header: { ...event.header, maskKey: event.header.maskKey?.toString('hex') ?? null } };
      return event;
    }
    return { type: event.type, data: event.data.toString('hex') };
  });
}
