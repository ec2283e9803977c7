/**
 * The chat protocol's client messages (API.md "WebSocket: /ws"), validated.
 *
 * A text frame carries one JSON object with a `type`. This file turns the
 * frame's text into a typed command or a `ProtocolError` carrying the `error`
 * reply to send (STYLE.md habit 4): the connection stays open, only this
 * message is refused. Pure: no store, no socket.
 */

export type ChatErrorCode =
  | 'bad_request'
  | 'unknown_type'
  | 'not_found'
  | 'forbidden'
  | 'wrong_password'
  | 'not_member'
  | 'room_exists'
  | 'too_long'
  | 'rate_limited'
  | 'invalid_token'
  | 'token_expired'
  | 'internal';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ChatErrorCode,
    message: string,
    /** The client's `ref`, when it could be read. */
    readonly ref: string | undefined = undefined,
  ) {
    super(message);
  }
}

export type Command =
  | { readonly type: 'create_room'; readonly ref?: string; readonly room: string; readonly private: boolean; readonly password: string | null }
  | { readonly type: 'join'; readonly ref?: string; readonly room: string; readonly password: string | null; readonly since: number | null }
  | { readonly type: 'leave'; readonly ref?: string; readonly room: string }
  | { readonly type: 'delete_room'; readonly ref?: string; readonly room: string }
  | { readonly type: 'send'; readonly ref?: string; readonly room: string | null; readonly to: string | null; readonly text: string; readonly cmid: string | null }
  | { readonly type: 'history'; readonly ref?: string; readonly room: string; readonly before: number | null; readonly limit: number }
  | { readonly type: 'typing'; readonly ref?: string; readonly room: string }
  | { readonly type: 'read'; readonly ref?: string; readonly room: string; readonly id: number }
  | { readonly type: 'rooms'; readonly ref?: string }
  | { readonly type: 'refresh'; readonly ref?: string; readonly token: string };

export type CommandType = Command['type'];

export interface ProtocolLimits {
  readonly maxTextChars: number;
  readonly historyLimitMax: number;
}

/** Room names (API.md): 1–64 characters of A–Z a–z 0–9 _ -. */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Direct-message rooms: `dm:<a>:<b>`, the two usernames lower-cased and sorted. */
export const DM_ROOM_NAME = /^dm:([a-z0-9_.-]{3,32}):([a-z0-9_.-]{3,32})$/;
export const DEFAULT_HISTORY_LIMIT = 50;
const MAX_REF_CHARS = 64;
const MAX_CMID_CHARS = 64;
const MAX_TOKEN_CHARS = 8192;
/** Unicode White_Space (API.md: "White space" means Unicode White_Space). */
const ALL_WHITE_SPACE = /^\p{White_Space}*$/u;

/** The room name of the direct messages between two users. */
export function dmRoomName(a: string, b: string): string {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()].sort();
  return `dm:${x}:${y}`;
}

/** Parse one client frame's text into a command. Throws ProtocolError. */
export function parseCommand(text: string, limits: ProtocolLimits): Command {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('bad_request', 'a message must be one JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('bad_request', 'a message must be one JSON object');
  }
  const msg = value as Record<string, unknown>;
  const ref = readRef(msg.ref);
  const f = new Fields(msg, ref);
  const base = ref === undefined ? {} : { ref };
  switch (msg.type) {
    case 'create_room': {
      const room = f.roomName('room');
      const isPrivate = f.optionalBoolean('private') ?? false;
      const password = f.optionalNonEmptyString('password');
      if (isPrivate && password === null) throw new ProtocolError('bad_request', 'a private room needs a password', ref);
      if (!isPrivate && password !== null) throw new ProtocolError('bad_request', 'a public room has no password', ref);
      return { type: 'create_room', ...base, room, private: isPrivate, password };
    }
    case 'join':
      return { type: 'join', ...base, room: f.roomOrDm('room'), password: f.optionalNonEmptyString('password'), since: f.optionalInteger('since', 0) };
    case 'leave':
      return { type: 'leave', ...base, room: f.roomOrDm('room') };
    case 'delete_room':
      return { type: 'delete_room', ...base, room: f.roomOrDm('room') };
    case 'send': {
      const hasRoom = msg.room !== undefined;
      const hasTo = msg.to !== undefined;
      if (hasRoom === hasTo) throw new ProtocolError('bad_request', 'send needs exactly one of "room" or "to"', ref);
      const room = hasRoom ? f.roomOrDm('room') : null;
      const to = hasTo ? f.username('to') : null;
      const text = f.text('text', limits.maxTextChars);
      const cmid = f.optionalBoundedString('cmid', MAX_CMID_CHARS);
      return { type: 'send', ...base, room, to, text, cmid };
    }
    case 'history': {
      const limit = f.optionalInteger('limit', 1) ?? DEFAULT_HISTORY_LIMIT;
      if (limit < 1 || limit > limits.historyLimitMax) throw new ProtocolError('bad_request', `limit must be 1–${limits.historyLimitMax}`, ref);
      return { type: 'history', ...base, room: f.roomOrDm('room'), before: f.optionalInteger('before', 1), limit };
    }
    case 'typing':
      return { type: 'typing', ...base, room: f.roomOrDm('room') };
    case 'read': {
      const id = f.optionalInteger('id', 0);
      if (id === null) throw new ProtocolError('bad_request', '"id" is required', ref);
      return { type: 'read', ...base, room: f.roomOrDm('room'), id };
    }
    case 'rooms':
      return { type: 'rooms', ...base };
    case 'refresh': {
      const token = msg.token;
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) {
        throw new ProtocolError('bad_request', '"token" must be a token string', ref);
      }
      return { type: 'refresh', ...base, token };
    }
    default:
      if (typeof msg.type !== 'string') throw new ProtocolError('bad_request', 'a message needs a string "type"', ref);
      throw new ProtocolError('unknown_type', 'unknown message type', ref);
  }
}

/** API.md: `ref` is a string of 1 to 64 characters, else bad_request. */
function readRef(ref: unknown): string | undefined {
  if (ref === undefined) return undefined;
  if (typeof ref !== 'string' || codePoints(ref) < 1 || codePoints(ref) > MAX_REF_CHARS) {
    throw new ProtocolError('bad_request', '"ref" must be a string of 1 to 64 characters');
  }
  return ref;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Field readers that throw ProtocolError with the message's ref. */
class Fields {
  constructor(
    private readonly msg: Record<string, unknown>,
    private readonly ref: string | undefined,
  ) {}

  private bad(message: string): never {
    throw new ProtocolError('bad_request', message, this.ref);
  }

  roomName(key: string): string {
    const v = this.msg[key];
    if (typeof v !== 'string' || !ROOM_NAME.test(v)) this.bad(`"${key}" must be 1–64 characters of A–Z a–z 0–9 _ -`);
    return v;
  }

  /** A room name, or a `dm:` name (checked for membership later). */
  roomOrDm(key: string): string {
    const v = this.msg[key];
    if (typeof v === 'string' && v.toLowerCase().startsWith('dm:')) {
      const lower = v.toLowerCase();
      const m = DM_ROOM_NAME.exec(lower);
      if (!m || m[1]! >= m[2]!) this.bad(`"${key}" is not a valid direct-message room name`);
      return lower;
    }
    return this.roomName(key);
  }

  username(key: string): string {
    const v = this.msg[key];
    if (typeof v !== 'string' || !/^[A-Za-z0-9_.-]{3,32}$/.test(v)) this.bad(`"${key}" must be a username`);
    return v;
  }

  text(key: string, maxChars: number): string {
    const v = this.msg[key];
    if (typeof v !== 'string') this.bad(`"${key}" must be a string`);
    if (ALL_WHITE_SPACE.test(v)) this.bad(`"${key}" must have at least one character that is not white space`);
    if (codePoints(v) > maxChars) throw new ProtocolError('too_long', `"${key}" is longer than ${maxChars} characters`, this.ref);
    return v;
  }

  optionalBoolean(key: string): boolean | null {
    const v = this.msg[key];
    if (v === undefined) return null;
    if (typeof v !== 'boolean') this.bad(`"${key}" must be true or false`);
    return v;
  }

  optionalNonEmptyString(key: string): string | null {
    const v = this.msg[key];
    if (v === undefined) return null;
    if (typeof v !== 'string' || v.length === 0 || v.length > 256) this.bad(`"${key}" must be a non-empty string`);
    return v;
  }

  optionalBoundedString(key: string, maxChars: number): string | null {
    const v = this.msg[key];
    if (v === undefined) return null;
    if (typeof v !== 'string' || codePoints(v) < 1 || codePoints(v) > maxChars) this.bad(`"${key}" must be a string of 1 to ${maxChars} characters`);
    return v;
  }

  optionalInteger(key: string, min: number): number | null {
    const v = this.msg[key];
    if (v === undefined) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.bad(`"${key}" must be an integer ≥ ${min}`);
    return v;
  }
}
