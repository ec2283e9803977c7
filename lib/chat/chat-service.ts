/**
 * The chat: what a `/ws` connection can do once it is authenticated
 * (API.md "WebSocket: /ws"). One ChatService serves every connection; per
 * connection it keeps a small Session, per online user the set of their
 * sessions, and per room the set of online members — the in-process broker
 * that a scale-out release would replace with a shared one (DESIGN.md).
 *
 * Flow of one `send`:
 *   1. the frame's text → parseCommand() (protocol.ts) → a typed command, or an `error` reply;
 *   2. the user's send-rate bucket (every client message counts);
 *   3. membership checks, then the group commit queue (group-commit.ts);
 *   4. after COMMIT: `ack` to the sender, then one `message` frame, encoded once,
 *      written to every connection of every online member (the sender's included).
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Counter, Histogram } from '../metrics/metrics.js';
import { TokenBucket } from '../net/token-bucket.js';
import { encodeFrame } from '../ws/frame-encoder.js';
import { CLOSE, OPCODE } from '../ws/constants.js';
import type { WebSocketConnection, WsHandler } from '../ws/connection.js';
import type { User } from '../accounts/account-store.js';
import type { AuthResult, RevocationEvent } from '../accounts/auth-service.js';
import { hashPassword, verifyPassword } from '../accounts/password-hash.js';
import { ChatStore, type Room, type StoredMessage } from './chat-store.js';
import { GroupCommit } from './group-commit.js';
import { MessageCipher } from './message-crypto.js';
import { DEFAULT_HISTORY_LIMIT, ProtocolError, dmRoomName, parseCommand, type Command } from './protocol.js';

/** One authenticated WebSocket. */
export interface Session {
  readonly ws: WebSocketConnection;
  readonly user: User;
  /** The `jti`s of the tokens this connection was opened or refreshed with: a logout of any of them closes it. */
  readonly jtis: Set<string>;
  /** When the current token expires (ms); unrefreshed past it → close 4001. */
  expiresAt: number;
  /** Consecutive `rate_limited` replies. */
  strikes: number;
  /**
   * A command of this connection is waiting on something slow (a password
   * hash, a token check): later frames wait in `queued` so that replies come
   * in the order of the requests, and a `send` after a `join` finds the
   * membership made.
   */
  busy: boolean;
  /** Admitted frames (past the rate limit) waiting for the busy command; bounded by the send bucket. */
  readonly queued: Buffer[];
  /** The user's token version when this connection was authenticated; a change (password change or reset) closes it. */
  tokenVersion: number;
}

interface OnlineUser {
  readonly sessions: Set<Session>;
  readonly bucket: TokenBucket;
  readonly roomIds: Set<number>;
}

export interface ChatDeps {
  readonly store: ChatStore;
  readonly secret: Uint8Array;
  readonly config: () => Config;
  readonly log: Logger;
  readonly authenticate: (token: string, now: number) => Promise<AuthResult>;
  readonly metrics: {
    readonly messagesStored: Counter;
    readonly deliveries: Counter;
    readonly rateLimited: Counter;
    readonly commitSeconds: Histogram;
    readonly deliverySeconds: Histogram;
    readonly tampered: Counter;
  };
}

const MAX_SINCE_PAGE = DEFAULT_HISTORY_LIMIT;
const NEWEST = Number.MAX_SAFE_INTEGER;

export class ChatService implements WsHandler {
  private readonly online = new Map<number, OnlineUser>();
  private readonly roomOnline = new Map<number, Set<number>>();
  /**
   * Send buckets of users who went offline before theirs refilled: the rate
   * is per user (API.md), so reconnecting must not buy a fresh burst. The
   * sweep forgets a bucket once it is full again (nothing is lost then).
   */
  private readonly restingBuckets = new Map<number, TokenBucket>();
  private readonly sessions = new Map<WebSocketConnection, Session>();
  readonly commits: GroupCommit;
  private readonly cipher: MessageCipher;
  private readonly expiryTimer: NodeJS.Timeout;

  constructor(private readonly deps: ChatDeps) {
    this.cipher = new MessageCipher(deps.secret);
    this.commits = new GroupCommit(deps.store.db, deps.store, this.cipher, deps.metrics.commitSeconds, (err) => deps.log.error('message commit failed', { err }));
    // One periodic pass for token expiry (API.md: unrefreshed → 4001), not a timer per connection.
    this.expiryTimer = setInterval(() => this.expireTokens(Date.now()), 1000);
    this.expiryTimer.unref();
  }

  stop(): void {
    clearInterval(this.expiryTimer);
    this.commits.flush();
  }

  /** Called by the /ws endpoint after authentication, before the 101 is written. */
  sessionData(user: User, jti: string, expiresAt: number): Omit<Session, 'ws'> {
    return { user, jtis: new Set([jti]), expiresAt, strikes: 0, busy: false, queued: [], tokenVersion: user.token_version };
  }

  get connectedSessions(): number {
    return this.sessions.size;
  }

  // ── WsHandler ──────────────────────────────────────────────────────────

  onOpen(ws: WebSocketConnection): void {
    const data = ws.data as Omit<Session, 'ws'>;
    const session: Session = { ws, ...data };
    this.sessions.set(ws, session);
    const c = this.deps.config();
    let user = this.online.get(session.user.id);
    const firstConnection = user === undefined;
    if (!user) {
      const bucket = this.restingBuckets.get(session.user.id) ?? new TokenBucket(Date.now(), c.send_burst);
      this.restingBuckets.delete(session.user.id);
      user = { sessions: new Set(), bucket, roomIds: new Set(this.deps.store.roomIdsOfUser(session.user.id)) };
      this.online.set(session.user.id, user);
      for (const roomId of user.roomIds) this.roomSet(roomId).add(session.user.id);
    }
    user.sessions.add(session);
    this.reply(session, {
      type: 'hello',
      user: publicUser(session.user),
      server_time: new Date().toISOString(),
      token_expires_at: new Date(session.expiresAt).toISOString(),
      limits: {
        max_message_bytes: c.ws_max_message_bytes,
        max_text_chars: c.max_text_chars,
        history_limit_max: c.history_limit_max,
        send_rate_per_second: c.send_rate_per_second,
        send_burst: c.send_burst,
      },
    });
    if (firstConnection) this.presenceEverywhere(session.user, 'online');
  }

  onText(ws: WebSocketConnection, data: Buffer): void {
    const session = this.sessions.get(ws);
    if (!session) return;
    const c = this.deps.config();
    // Every client message counts against the user's send rate (API.md).
    const user = this.online.get(session.user.id)!;
    const now = Date.now();
    const rule = { ratePerSecond: c.send_rate_per_second, burst: c.send_burst };
    if (!user.bucket.take(now, rule)) {
      this.deps.metrics.rateLimited.inc({ kind: 'ws_send' });
      session.strikes++;
      if (session.strikes >= c.rate_limit_strikes) {
        ws.close(CLOSE.POLICY_VIOLATION, 'too many messages');
        return;
      }
      const ref = peekRef(data);
      this.reply(session, { type: 'error', ...(ref ? { ref } : {}), code: 'rate_limited', message: 'slow down', retry_after_ms: Math.max(1, user.bucket.waitMs(now, rule)) });
      return;
    }
    session.strikes = 0;
    if (session.busy) {
      session.queued.push(data);
      return;
    }
    this.execute(session, data);
  }

  /**
   * Parse and run one client message. Commands are run one at a time per
   * connection, in the order they arrived: most finish synchronously; one
   * that must wait (a password hash, a token check) holds the ones after it
   * until it is done, so replies keep the order of the requests.
   */
  private execute(session: Session, data: Buffer): void {
    const c = this.deps.config();
    let command: Command | null = null;
    let pending: void | Promise<void>;
    try {
      command = parseCommand(data.toString('utf8'), { maxTextChars: c.max_text_chars, historyLimitMax: c.history_limit_max });
      pending = this.dispatch(session, command);
    } catch (err) {
      this.failed(session, command, err);
      return;
    }
    if (pending === undefined) return;
    session.busy = true;
    pending
      .catch((err: unknown) => this.failed(session, command, err))
      .finally(() => {
        session.busy = false;
        while (!session.busy && session.queued.length > 0 && session.ws.state === 'open') this.execute(session, session.queued.shift()!);
        if (session.ws.state !== 'open') session.queued.length = 0;
      })
      .catch((err: unknown) => this.deps.log.error('chat command queue failed', { err: err instanceof Error ? err : new Error(String(err)) }));
  }

  /** A command failed: a ProtocolError is the client's `error` reply; anything else is ours, logged, and `internal`. */
  private failed(session: Session, command: Command | null, err: unknown): void {
    if (err instanceof ProtocolError) return this.error(session, err);
    this.deps.log.error('chat command failed', { type: command?.type, err: err instanceof Error ? err : new Error(String(err)) });
    this.error(session, new ProtocolError('internal', 'internal error', command?.ref));
  }

  onBinary(ws: WebSocketConnection): void {
    // API.md: "A binary frame closes the connection with 1003."
    ws.close(CLOSE.UNSUPPORTED_DATA, 'this protocol uses text frames');
  }

  onClose(ws: WebSocketConnection): void {
    const session = this.sessions.get(ws);
    if (!session) return;
    this.sessions.delete(ws);
    const user = this.online.get(session.user.id);
    if (!user) return;
    user.sessions.delete(session);
    if (user.sessions.size > 0) return;
    // The last connection of this user: offline everywhere.
    const c = this.deps.config();
    if (!user.bucket.isFull(Date.now(), { ratePerSecond: c.send_rate_per_second, burst: c.send_burst })) this.restingBuckets.set(session.user.id, user.bucket);
    this.online.delete(session.user.id);
    for (const roomId of user.roomIds) this.roomOnline.get(roomId)?.delete(session.user.id);
    this.presenceEverywhere(session.user, 'offline', user.roomIds);
  }

  /** Drain (API.md): pending commits first, then `going_away` with a jittered delay, then 1001. */
  onDrain(ws: WebSocketConnection): void {
    this.commits.flush();
    const session = this.sessions.get(ws);
    if (session) this.reply(session, { type: 'going_away', reconnect_after_ms: 1000 + Math.floor(Math.random() * 9000) });
    ws.close(CLOSE.GOING_AWAY, 'server shutting down');
  }

  /** Tokens stopped being good (accounts): close the connections they opened, 1008. */
  revoked(event: RevocationEvent): void {
    const user = this.online.get(event.userId);
    if (!user) return;
    for (const s of [...user.sessions]) {
      if (event.jti === undefined || s.jtis.has(event.jti)) s.ws.close(CLOSE.POLICY_VIOLATION, event.reason === 'logout' ? 'logged out' : event.reason === 'disabled' ? 'account disabled' : 'password changed');
    }
  }

  private ticks = 0;

  /**
   * The chat's one periodic pass: tokens that expired unrefreshed → 4001;
   * resting send buckets that are full again are forgotten; and
   * every other second, accounts changed behind our back (the admin command
   * disabled a user or reset a password, possibly from another process) → 1008.
   */
  private expireTokens(now: number): void {
    const c = this.deps.config();
    const rule = { ratePerSecond: c.send_rate_per_second, burst: c.send_burst };
    for (const [userId, bucket] of this.restingBuckets) if (bucket.isFull(now, rule)) this.restingBuckets.delete(userId);
    for (const s of this.sessions.values()) {
      if (now >= s.expiresAt) s.ws.close(CLOSE.TOKEN_EXPIRED, 'token expired');
    }
    if (++this.ticks % 2 === 0) this.checkAccounts();
  }

  private checkAccounts(): void {
    if (this.online.size === 0) return;
    for (const [userId, user] of this.online) {
      this.accountState ??= this.deps.store.db.prepare('SELECT disabled, token_version FROM users WHERE id = ?');
      const row = this.accountState.get(userId) as { disabled: number; token_version: number } | undefined;
      for (const s of [...user.sessions]) {
        if (!row || row.disabled === 1) s.ws.close(CLOSE.POLICY_VIOLATION, 'account disabled');
        else if (row.token_version !== s.tokenVersion) s.ws.close(CLOSE.POLICY_VIOLATION, 'password changed');
      }
    }
  }

  private accountState: import('better-sqlite3').Statement | null = null;

  // ── commands ───────────────────────────────────────────────────────────

  /** Run a command: synchronously, or a promise when it must wait (see execute()). Throws ProtocolError. */
  private dispatch(s: Session, cmd: Command): void | Promise<void> {
    switch (cmd.type) {
      case 'send':
        return this.send(s, cmd);
      case 'join':
        return this.join(s, cmd);
      case 'create_room':
        return this.createRoom(s, cmd);
      case 'leave':
        return this.leave(s, cmd);
      case 'delete_room':
        return this.deleteRoom(s, cmd);
      case 'history':
        return this.history(s, cmd);
      case 'typing':
        return this.typing(s, cmd);
      case 'read': {
        const room = this.memberRoom(s, cmd.room, cmd.ref);
        this.deps.store.markRead(room.id, s.user.id, cmd.id);
        return;
      }
      case 'rooms':
        return this.rooms(s, cmd.ref);
      case 'refresh':
        return this.refresh(s, cmd);
    }
  }

  private send(s: Session, cmd: Extract<Command, { type: 'send' }>): void {
    let room: Room;
    if (cmd.to !== null) {
      const other = this.deps.store.userByName(cmd.to);
      if (!other) throw new ProtocolError('not_found', 'no such user', cmd.ref);
      if (other.userId === s.user.id) throw new ProtocolError('bad_request', 'a direct message to yourself is not allowed', cmd.ref);
      room = this.openDm(s.user, other.userId, other.username);
    } else {
      room = this.memberRoom(s, cmd.room!, cmd.ref);
    }
    const queuedAt = process.hrtime.bigint();
    this.commits.enqueue({
      roomId: room.id,
      userId: s.user.id,
      text: cmd.text,
      cmid: cmd.cmid,
      done: (result) => {
        if (!result.ok) {
          if (result.reason === 'room_gone') return this.error(s, new ProtocolError('not_found', 'the room was deleted', cmd.ref));
          return this.error(s, new ProtocolError('internal', 'the message could not be stored', cmd.ref));
        }
        this.reply(s, { type: 'ack', ...(cmd.ref !== undefined ? { ref: cmd.ref } : {}), id: result.id, ts: result.ts });
        if (result.duplicate) return;
        this.deps.metrics.messagesStored.inc();
        const frame = textFrame({ type: 'message', room: room.name, id: result.id, from: s.user.username, text: cmd.text, ts: result.ts });
        const delivered = this.broadcast(room.id, frame);
        this.deps.metrics.deliveries.inc(undefined, delivered);
        this.deps.metrics.deliverySeconds.observe(Number(process.hrtime.bigint() - queuedAt) / 1e9);
      },
    });
  }

  private join(s: Session, cmd: Extract<Command, { type: 'join' }>): void | Promise<void> {
    const store = this.deps.store;
    let room = store.roomByName(cmd.room);
    if (cmd.room.startsWith('dm:')) {
      this.dmPartner(s, cmd.room, cmd.ref); // not one of the two: not_member
      // API.md: both users are members from the first message — not before. A
      // conversation that has not started is not there to join yet.
      if (!room) throw new ProtocolError('not_member', 'this conversation has not started: send a message with "to" first', cmd.ref);
    }
    if (!room) throw new ProtocolError('not_found', 'no such room', cmd.ref);
    if (room.kind !== 'private' || store.isMember(room.id, s.user.id)) return this.joinNow(s, cmd, room);
    // API.md: a non-member must give the password; members never need it.
    const wrong = new ProtocolError('wrong_password', 'wrong password for this room', cmd.ref);
    if (cmd.password === null || room.passwordHash === null) throw wrong;
    const checked = room;
    return verifyPassword(cmd.password, room.passwordHash).then((ok) => {
      if (!ok) throw wrong;
      // The hash took a while: the room may have been deleted (or deleted and made again) meanwhile.
      const still = store.roomByName(checked.name);
      if (!still || still.id !== checked.id) throw new ProtocolError('not_found', 'no such room', cmd.ref);
      this.joinNow(s, cmd, still);
    });
  }

  /** The member part of `join`: become a member (once: presence `joined` to the others), then the page of messages. */
  private joinNow(s: Session, cmd: Extract<Command, { type: 'join' }>, room: Room): void {
    const store = this.deps.store;
    // A participant who left a DM joins it again like any room.
    if (store.addMember(room.id, s.user.id, new Date())) {
      this.memberAdded(room.id, s.user.id);
      this.presence(room, s.user, 'joined');
    }
    const page = cmd.since !== null ? store.oldestAfter(room.id, cmd.since, MAX_SINCE_PAGE) : store.newestBefore(room.id, NEWEST, MAX_SINCE_PAGE);
    this.reply(s, {
      type: 'joined',
      ...(cmd.ref !== undefined ? { ref: cmd.ref } : {}),
      room: room.name,
      members: this.memberList(room.id),
      messages: this.open(page.messages, room),
      has_more: page.hasMore,
    });
  }

  private createRoom(s: Session, cmd: Extract<Command, { type: 'create_room' }>): void | Promise<void> {
    if (this.deps.store.roomByName(cmd.room)) throw new ProtocolError('room_exists', 'a room with this name exists', cmd.ref);
    if (cmd.password === null) return this.createRoomNow(s, cmd, null);
    return hashPassword(cmd.password, this.deps.config().password_hash_cost).then((hash) => this.createRoomNow(s, cmd, hash));
  }

  private createRoomNow(s: Session, cmd: Extract<Command, { type: 'create_room' }>, passwordHash: string | null): void {
    const store = this.deps.store;
    // The name may have been taken while the password was hashed: the store's unique index decides.
    const room = store.createRoom(cmd.room, cmd.private ? 'private' : 'public', passwordHash, s.user.id, new Date());
    if (!room) throw new ProtocolError('room_exists', 'a room with this name exists', cmd.ref);
    store.addMember(room.id, s.user.id, new Date());
    this.memberAdded(room.id, s.user.id);
    this.reply(s, { type: 'joined', ...(cmd.ref !== undefined ? { ref: cmd.ref } : {}), room: room.name, members: this.memberList(room.id), messages: [], has_more: false });
  }

  private leave(s: Session, cmd: Extract<Command, { type: 'leave' }>): void {
    const room = this.memberRoom(s, cmd.room, cmd.ref);
    this.deps.store.removeMember(room.id, s.user.id);
    this.reply(s, { type: 'left', ...(cmd.ref !== undefined ? { ref: cmd.ref } : {}), room: room.name });
    this.presence(room, s.user, 'left');
    this.roomOnline.get(room.id)?.delete(s.user.id);
    this.online.get(s.user.id)?.roomIds.delete(room.id);
  }

  private deleteRoom(s: Session, cmd: Extract<Command, { type: 'delete_room' }>): void {
    const store = this.deps.store;
    if (cmd.room.startsWith('dm:')) {
      this.dmPartner(s, cmd.room, cmd.ref);
      throw new ProtocolError('forbidden', 'a direct-message room cannot be deleted', cmd.ref);
    }
    const room = store.roomByName(cmd.room);
    if (!room) throw new ProtocolError('not_found', 'no such room', cmd.ref);
    // API.md: anything a non-member asks of a room it may not see is not_member.
    if (room.kind === 'private' && !store.isMember(room.id, s.user.id)) throw new ProtocolError('not_member', 'you are not a member of this room', cmd.ref);
    if (room.nameKey === 'general') throw new ProtocolError('forbidden', 'the room general cannot be deleted', cmd.ref);
    if (room.ownerId !== s.user.id) throw new ProtocolError('forbidden', 'only the owner can delete this room', cmd.ref);
    const memberIds = store.memberIds(room.id);
    this.commits.flush(); // messages queued for it are committed (and delivered) before it goes
    store.deleteRoom(room.id);
    const notice = { type: 'room_deleted', room: room.name };
    const frame = textFrame(notice);
    for (const userId of memberIds) {
      const user = this.online.get(userId);
      if (!user) continue;
      user.roomIds.delete(room.id);
      for (const session of user.sessions) {
        if (session === s && cmd.ref !== undefined) this.reply(s, { ...notice, ref: cmd.ref });
        else session.ws.sendFrame(frame);
      }
    }
    this.roomOnline.delete(room.id);
    if (!memberIds.includes(s.user.id)) this.reply(s, { ...notice, ...(cmd.ref !== undefined ? { ref: cmd.ref } : {}) });
  }

  private history(s: Session, cmd: Extract<Command, { type: 'history' }>): void {
    const room = this.memberRoom(s, cmd.room, cmd.ref);
    const page = this.deps.store.newestBefore(room.id, cmd.before ?? NEWEST, cmd.limit);
    this.reply(s, { type: 'history', ...(cmd.ref !== undefined ? { ref: cmd.ref } : {}), room: room.name, messages: this.open(page.messages, room), has_more: page.hasMore });
  }

  private typing(s: Session, cmd: Extract<Command, { type: 'typing' }>): void {
    const room = this.memberRoom(s, cmd.room, cmd.ref);
    // Never stored; to other users only; the first thing dropped for a slow client.
    const frame = textFrame({ type: 'typing', room: room.name, user: s.user.username });
    this.broadcast(room.id, frame, s.user.id, true);
  }

  private rooms(s: Session, ref: string | undefined): void {
    const rows = this.deps.store.listRooms(s.user.id);
    this.reply(s, {
      type: 'rooms',
      ...(ref !== undefined ? { ref } : {}),
      rooms: rows.map((r) => ({ name: r.name, private: r.kind !== 'public', members: r.members, online: this.roomOnline.get(r.id)?.size ?? 0, joined: r.joined === 1, unread: r.unread })),
    });
  }

  private async refresh(s: Session, cmd: Extract<Command, { type: 'refresh' }>): Promise<void> {
    const result = await this.deps.authenticate(cmd.token, Date.now());
    if (!result.ok) throw new ProtocolError(result.code, result.code === 'token_expired' ? 'that token has expired' : 'that token is not valid', cmd.ref);
    if (result.user.id !== s.user.id) throw new ProtocolError('forbidden', 'that token belongs to another user', cmd.ref);
    s.jtis.add(result.claims.jti);
    s.expiresAt = result.claims.exp * 1000;
    s.tokenVersion = result.user.token_version;
    this.reply(s, { type: 'refreshed', ...(cmd.ref !== undefined ? { ref: cmd.ref } : {}), expires_at: new Date(s.expiresAt).toISOString() });
  }

  // ── rooms and members ──────────────────────────────────────────────────

  /**
   * The room `name` if this user is a member. API.md: anything a non-member
   * asks of a room it may not see is `not_member` — a `dm:` name it is not
   * part of, whether or not that DM exists, included.
   */
  private memberRoom(s: Session, name: string, ref: string | undefined): Room {
    const store = this.deps.store;
    if (name.startsWith('dm:')) this.dmPartner(s, name, ref);
    const room = store.roomByName(name);
    if (!room) {
      if (name.startsWith('dm:')) throw new ProtocolError('not_member', 'you are not part of this conversation', ref);
      throw new ProtocolError('not_found', 'no such room', ref);
    }
    if (!store.isMember(room.id, s.user.id)) throw new ProtocolError('not_member', 'you are not a member of this room', ref);
    return room;
  }

  /** For a `dm:<a>:<b>` name: the other participant, or not_member if this user is neither. */
  private dmPartner(s: Session, name: string, ref: string | undefined): { userId: number; username: string } | null {
    const [, a, b] = name.split(':');
    const me = s.user.username.toLowerCase();
    if (me !== a && me !== b) throw new ProtocolError('not_member', 'you are not part of this conversation', ref);
    const otherName = me === a ? b! : a!;
    const other = this.deps.store.userByName(otherName);
    return other ? { userId: other.userId, username: other.username } : null;
  }

  /** The DM room of two users, made on first use; both are members from then on (API.md). */
  private openDm(me: User, otherId: number, otherName: string): Room {
    const store = this.deps.store;
    const name = dmRoomName(me.username, otherName);
    const room = store.roomByName(name) ?? store.createRoom(name, 'dm', null, null, new Date()) ?? store.roomByName(name)!;
    for (const userId of [me.id, otherId]) {
      if (store.addMember(room.id, userId, new Date())) this.memberAdded(room.id, userId);
    }
    return room;
  }

  private memberAdded(roomId: number, userId: number): void {
    const user = this.online.get(userId);
    if (!user) return;
    user.roomIds.add(roomId);
    this.roomSet(roomId).add(userId);
  }

  private roomSet(roomId: number): Set<number> {
    let set = this.roomOnline.get(roomId);
    if (!set) {
      set = new Set();
      this.roomOnline.set(roomId, set);
    }
    return set;
  }

  private memberList(roomId: number): { username: string; display_name: string; online: boolean }[] {
    return this.deps.store.members(roomId).map((m) => ({ username: m.username, display_name: m.displayName, online: this.online.has(m.userId) }));
  }

  /** Decrypt stored messages; a row that fails authentication is logged and left out, never shown as if it were fine. */
  private open(rows: readonly StoredMessage[], room: Room): { id: number; room: string; from: string; text: string; ts: string }[] {
    const out = [];
    for (const m of rows) {
      const text = this.cipher.open(m.sealed, m.roomId, m.id);
      if (text === null) {
        this.deps.metrics.tampered.inc();
        this.deps.log.error('stored message failed authentication; not delivered', { room_id: m.roomId, message_id: m.id });
        continue;
      }
      out.push({ id: m.id, room: room.name, from: m.username, text, ts: m.createdAt });
    }
    return out;
  }

  // ── delivery ───────────────────────────────────────────────────────────

  /** Write one encoded frame to every connection of every online member (but `exceptUser`). Returns the count. */
  private broadcast(roomId: number, frame: Buffer, exceptUser?: number, droppable = false): number {
    const members = this.roomOnline.get(roomId);
    if (!members) return 0;
    let n = 0;
    for (const userId of members) {
      if (userId === exceptUser) continue;
      const user = this.online.get(userId);
      if (!user) continue;
      for (const session of user.sessions) if (session.ws.sendFrame(frame, droppable)) n++;
    }
    return n;
  }

  private presence(room: Room, user: User, state: 'joined' | 'left' | 'online' | 'offline'): void {
    this.broadcast(room.id, textFrame({ type: 'presence', room: room.name, user: user.username, state }), user.id);
  }

  private presenceEverywhere(user: User, state: 'online' | 'offline', roomIds?: ReadonlySet<number>): void {
    const ids = roomIds ?? this.online.get(user.id)?.roomIds ?? new Set<number>();
    if (ids.size === 0) return;
    const names = this.deps.store.db.prepare(`SELECT id, name FROM rooms WHERE id IN (${[...ids].map(() => '?').join(',')})`).all(...ids) as { id: number; name: string }[];
    for (const r of names) this.broadcast(r.id, textFrame({ type: 'presence', room: r.name, user: user.username, state }), user.id);
  }

  private reply(s: Session, value: Record<string, unknown>): void {
    s.ws.sendFrame(textFrame(value));
  }

  private error(s: Session, err: ProtocolError): void {
    this.reply(s, { type: 'error', ...(err.ref !== undefined ? { ref: err.ref } : {}), code: err.code, message: err.message });
  }
}

function textFrame(value: unknown): Buffer {
  return encodeFrame(OPCODE.TEXT, Buffer.from(JSON.stringify(value), 'utf8'));
}

function publicUser(u: User): { id: number; username: string; display_name: string; created_at: string } {
  return { id: u.id, username: u.username, display_name: u.display_name, created_at: u.created_at };
}

/** The `ref` of a message we will not parse (rate limited), if it is easy to see. */
function peekRef(data: Buffer): string | undefined {
  if (data.length > 4096) return undefined;
  try {
    const v = JSON.parse(data.toString('utf8')) as { ref?: unknown };
    return typeof v.ref === 'string' && [...v.ref].length >= 1 && [...v.ref].length <= 64 ? v.ref : undefined;
  } catch {
    return undefined;
  }
}
