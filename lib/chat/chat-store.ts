/**
 * The chat's rows in SQLite: rooms, memberships (with each user's read
 * marker) and messages (text sealed by message-crypto.ts). Every query is a
 * statement prepared once, with bound parameters.
 *
 * Message ids come from the store, never from process memory (DESIGN.md "a
 * seam for scale-out"): `messages.id` is an AUTOINCREMENT key, so SQLite keeps
 * the highest id ever used in `sqlite_sequence` and never hands one out again,
 * not even after the room that held it is deleted. The group commit
 * (group-commit.ts) reads that counter inside its write transaction and
 * numbers a whole batch from it.
 *
 * The tables are made by migration 2 in lib/store/migrations.ts.
 */
import type Database from 'better-sqlite3';

export type RoomKind = 'public' | 'private' | 'dm';

export interface Room {
  readonly id: number;
  readonly name: string;
  readonly nameKey: string;
  readonly kind: RoomKind;
  readonly passwordHash: string | null;
  readonly ownerId: number | null;
}

/** A stored message, still sealed. */
export interface StoredMessage {
  readonly id: number;
  readonly roomId: number;
  readonly userId: number;
  readonly username: string;
  readonly sealed: Buffer;
  readonly createdAt: string;
}

export interface MemberRow {
  readonly userId: number;
  readonly username: string;
  readonly displayName: string;
}

export interface RoomListRow {
  readonly id: number;
  readonly name: string;
  readonly kind: RoomKind;
  readonly members: number;
  readonly joined: number;
  readonly unread: number;
}

export interface NewMessage {
  readonly id: number;
  readonly roomId: number;
  readonly userId: number;
  readonly sealed: Buffer;
  readonly cmid: string | null;
  readonly createdAt: string;
}

interface RoomRow {
  id: number;
  name: string;
  name_key: string;
  kind: RoomKind;
  password_hash: string | null;
  owner_id: number | null;
}

function toRoom(r: RoomRow | undefined): Room | null {
  return r ? { id: r.id, name: r.name, nameKey: r.name_key, kind: r.kind, passwordHash: r.password_hash, ownerId: r.owner_id } : null;
}

const MESSAGE_COLUMNS = 'm.id AS id, m.room_id AS roomId, m.user_id AS userId, u.username AS username, m.sealed AS sealed, m.created_at AS createdAt';

export class ChatStore {
  private readonly s;

  constructor(readonly db: Database.Database) {
    this.s = {
      roomByKey: db.prepare('SELECT id, name, name_key, kind, password_hash, owner_id FROM rooms WHERE name_key = ?'),
      insertRoom: db.prepare('INSERT INTO rooms (name, name_key, kind, password_hash, owner_id, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      deleteRoom: db.prepare('DELETE FROM rooms WHERE id = ?'),
      isMember: db.prepare('SELECT 1 FROM memberships WHERE room_id = ? AND user_id = ?').pluck(),
      addMember: db.prepare(
        `INSERT OR IGNORE INTO memberships (room_id, user_id, joined_at, read_up_to)
         VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = ?))`,
      ),
      removeMember: db.prepare('DELETE FROM memberships WHERE room_id = ? AND user_id = ?'),
      members: db.prepare(
        `SELECT u.id AS userId, u.username AS username, u.display_name AS displayName
         FROM memberships ms JOIN users u ON u.id = ms.user_id WHERE ms.room_id = ? ORDER BY u.username_key`,
      ),
      memberIds: db.prepare('SELECT user_id FROM memberships WHERE room_id = ?').pluck(),
      roomsOfUser: db.prepare('SELECT room_id FROM memberships WHERE user_id = ?').pluck(),
      listRooms: db.prepare(
        `SELECT r.id AS id, r.name AS name, r.kind AS kind,
                (SELECT COUNT(*) FROM memberships x WHERE x.room_id = r.id) AS members,
                (my.user_id IS NOT NULL) AS joined,
                CASE WHEN my.user_id IS NULL THEN 0 ELSE
                  (SELECT COUNT(*) FROM messages m WHERE m.room_id = r.id AND m.id > my.read_up_to AND m.user_id <> ?) END AS unread
         FROM rooms r LEFT JOIN memberships my ON my.room_id = r.id AND my.user_id = ?
         WHERE r.kind = 'public' OR my.user_id IS NOT NULL
         ORDER BY r.kind = 'dm', r.name_key`,
      ),
      markRead: db.prepare(
        `UPDATE memberships SET read_up_to = MAX(read_up_to, MIN(?, (SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = ?)))
         WHERE room_id = ? AND user_id = ?`,
      ),
      newest: db.prepare(
        `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.user_id
         WHERE m.room_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?`,
      ),
      after: db.prepare(
        `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.user_id
         WHERE m.room_id = ? AND m.id > ? ORDER BY m.id ASC LIMIT ?`,
      ),
      byCmid: db.prepare('SELECT id, created_at AS createdAt FROM messages WHERE user_id = ? AND room_id = ? AND cmid = ?'),
      lastId: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").pluck(),
      insertMessage: db.prepare('INSERT INTO messages (id, room_id, user_id, sealed, cmid, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      userByKey: db.prepare('SELECT id, username, display_name AS displayName FROM users WHERE username_key = ?'),
    };
  }

  roomByName(name: string): Room | null {
    return toRoom(this.s.roomByKey.get(name.toLowerCase()) as RoomRow | undefined);
  }

  /** Create a room; null when the name is taken (in any case). */
  createRoom(name: string, kind: RoomKind, passwordHash: string | null, ownerId: number | null, now: Date): Room | null {
    try {
      this.s.insertRoom.run(name, name.toLowerCase(), kind, passwordHash, ownerId, now.toISOString());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return null;
      throw err;
    }
    return this.roomByName(name);
  }

  deleteRoom(roomId: number): void {
    this.s.deleteRoom.run(roomId);
  }

  isMember(roomId: number, userId: number): boolean {
    return this.s.isMember.get(roomId, userId) !== undefined;
  }

  /** Add a member; their read marker starts at the room's newest message ("a new member starts with everything earlier read"). True if newly added. */
  addMember(roomId: number, userId: number, now: Date): boolean {
    return this.s.addMember.run(roomId, userId, now.toISOString(), roomId).changes > 0;
  }

  removeMember(roomId: number, userId: number): boolean {
    return this.s.removeMember.run(roomId, userId).changes > 0;
  }

  members(roomId: number): MemberRow[] {
    return this.s.members.all(roomId) as MemberRow[];
  }

  memberIds(roomId: number): number[] {
    return this.s.memberIds.all(roomId) as number[];
  }

  roomIdsOfUser(userId: number): number[] {
    return this.s.roomsOfUser.all(userId) as number[];
  }

  listRooms(userId: number): RoomListRow[] {
    return this.s.listRooms.all(userId, userId) as RoomListRow[];
  }

  /** Move the read marker forward to `id` (never back, never past the newest message). */
  markRead(roomId: number, userId: number, id: number): void {
    this.s.markRead.run(id, roomId, roomId, userId);
  }

  /** The newest `limit` messages with id < `before`, oldest first; plus whether older ones exist. */
  newestBefore(roomId: number, before: number, limit: number): { messages: StoredMessage[]; hasMore: boolean } {
    const rows = this.s.newest.all(roomId, before, limit + 1) as StoredMessage[];
    const hasMore = rows.length > limit;
    return { messages: rows.slice(0, limit).reverse(), hasMore };
  }

  /** The oldest `limit` messages with id > `since`; plus whether newer ones exist. */
  oldestAfter(roomId: number, since: number, limit: number): { messages: StoredMessage[]; hasMore: boolean } {
    const rows = this.s.after.all(roomId, since, limit + 1) as StoredMessage[];
    return { messages: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** An earlier send with the same cmid by this user in this room. */
  findByCmid(userId: number, roomId: number, cmid: string): { id: number; createdAt: string } | null {
    return (this.s.byCmid.get(userId, roomId, cmid) as { id: number; createdAt: string } | undefined) ?? null;
  }

  /** The highest message id ever used (call inside the write transaction). */
  lastMessageId(): number {
    return (this.s.lastId.get() as number | undefined) ?? 0;
  }

  insertMessage(m: NewMessage): void {
    this.s.insertMessage.run(m.id, m.roomId, m.userId, m.sealed, m.cmid, m.createdAt);
  }

  userByName(username: string): MemberRow | null {
    const row = this.s.userByKey.get(username.toLowerCase()) as { id: number; username: string; displayName: string } | undefined;
    return row ? { userId: row.id, username: row.username, displayName: row.displayName } : null;
  }
}
