/**
 * What the client knows: rooms, their messages and members, who is typing,
 * and the messages still on their way (the outbox). No DOM and no socket;
 * chat-app.js feeds it server messages and the views read it.
 *
 * Two rules keep the message list honest across reconnects:
 * - messages are kept by `id` (a Map), so one delivered twice — live and again
 *   in a resume page — is shown once;
 * - a room is `loaded` once a `joined` reply gave it a contiguous run of
 *   messages; from then on every live message extends that run while the
 *   connection lasts, and a reconnect resumes it with `join {since}`.
 */

import { dmPartner, isDm } from './format.js';

/** @typedef {import('./types.js').ChatMessage} ChatMessage */
/** @typedef {import('./types.js').Member} Member */
/** @typedef {import('./types.js').RoomListEntry} RoomListEntry */
/** @typedef {import('./types.js').User} User */

/**
 * `sending`: written, waiting for the `ack`; `waiting`: not connected, it goes
 * out after the reconnect; `slowed`: the server said `rate_limited`, it goes
 * out again at `retryAt`; `failed`: refused (too long, not a member…), shown
 * with the reason until the author edits or discards it.
 * @typedef {'sending' | 'waiting' | 'slowed' | 'failed'} OutboxState
 */

/**
 * A message this client sent that has no `ack` yet.
 * @typedef {object} OutboxItem
 * @property {string} cmid also its key in the view
 * @property {string} room
 * @property {string | null} to a username: the first message of a new DM goes `to` them
 * @property {string} text
 * @property {OutboxState} state
 * @property {string | null} error for people, when `failed` or `slowed`
 * @property {number | null} retryAt ms since the epoch, when `slowed`
 * @property {string} createdAt
 */

/** How long "X is typing…" stays without another `typing`. */
export const TYPING_SHOWN_MS = 6000;

export class Room {
  /** @param {string} name as the server spells it */
  constructor(name) {
    this.name = name;
    /** @type {'public' | 'private' | 'dm'} */
    this.kind = isDm(name) ? 'dm' : 'public';
    this.joined = false;
    /** In the latest `rooms` reply. A room that drops out of it was deleted, or left on another device. */
    this.listed = false;
    this.memberCount = 0;
    this.onlineCount = 0;
    this.unread = 0;
    /** @type {Map<number, ChatMessage>} */
    this.messages = new Map();
    /** The messages form one contiguous run up to the newest (see the file's header). */
    this.loaded = false;
    /** Older messages exist than the oldest one held (`has_more` of the newest page or of `history`). */
    this.hasOlder = false;
    this.loadingOlder = false;
    /** @type {Map<string, Member>} lower-case username → member */
    this.members = new Map();
    /** @type {Map<string, number>} username → until when (ms) "typing" is shown */
    this.typing = new Map();
    /** @type {OutboxItem[]} */
    this.outbox = [];
    /** @type {Map<number, string>} id → cmid of the messages this tab sent (their nodes are reused) */
    this.cmidOf = new Map();
    /** The highest id this client reported with `read`. */
    this.readSent = 0;
    /** A DM opened from a name, before its first message exists on the server. */
    this.draft = false;
  }

  /** Message ids, oldest first. */
  sortedIds() {
    return [...this.messages.keys()].sort((a, b) => a - b);
  }

  get newestId() {
    let max = 0;
    for (const id of this.messages.keys()) if (id > max) max = id;
    return max;
  }

  get oldestId() {
    let min = Infinity;
    for (const id of this.messages.keys()) if (id < min) min = id;
    return min === Infinity ? 0 : min;
  }

  /**
   * Add messages, once each. Returns the ones that were new.
   * @param {readonly ChatMessage[]} messages
   */
  addMessages(messages) {
    /** @type {ChatMessage[]} */
    const added = [];
    for (const m of messages) {
      if (this.messages.has(m.id)) continue;
      this.messages.set(m.id, m);
      added.push(m);
    }
    return added;
  }

  /**
   * Who is typing now, without the ones whose notice ran out.
   * @param {number} now
   */
  typingNow(now) {
    for (const [user, until] of this.typing) if (until <= now) this.typing.delete(user);
    return [...this.typing.keys()];
  }
}

export class ChatModel {
  /** @param {User} me */
  constructor(me) {
    this.me = me;
    /** @type {Map<string, Room>} lower-case name → room */
    this.rooms = new Map();
    /** @type {Map<string, string>} lower-case username → display name, from every member list seen */
    this.displayNames = new Map([[me.username.toLowerCase(), me.display_name]]);
  }

  /** @param {string} name */
  room(name) {
    return this.rooms.get(name.toLowerCase());
  }

  /** @param {string} name */
  ensureRoom(name) {
    let room = this.room(name);
    if (!room) {
      room = new Room(name);
      this.rooms.set(name.toLowerCase(), room);
    }
    return room;
  }

  /** @param {string} name */
  forget(name) {
    this.rooms.delete(name.toLowerCase());
  }

  /** @param {string} username */
  displayName(username) {
    return this.displayNames.get(username.toLowerCase()) ?? username;
  }

  /** @param {string} username */
  isMe(username) {
    return username.toLowerCase() === this.me.username.toLowerCase();
  }

  /**
   * What to call a room in lists and headers.
   * @param {Room} room
   */
  title(room) {
    return room.kind === 'dm' ? this.displayName(this.partnerOf(room)) : room.name;
  }

  /**
   * The other user of a DM room (their username as a member list spells it, when known).
   * @param {Room} room
   */
  partnerOf(room) {
    const lower = dmPartner(room.name, this.me.username);
    return room.members.get(lower)?.username ?? lower;
  }

  /**
   * Take a `rooms` reply. Returns the joined rooms that are no longer listed
   * (deleted, or left on another device) — the caller says so and forgets them.
   * @param {readonly RoomListEntry[]} entries
   * @returns {Room[]}
   */
  applyRoomList(entries) {
    const listed = new Set();
    for (const entry of entries) {
      const room = this.ensureRoom(entry.name);
      listed.add(room);
      room.listed = true;
      room.draft = false;
      room.kind = isDm(entry.name) ? 'dm' : entry.private ? 'private' : 'public';
      room.joined = entry.joined;
      room.memberCount = entry.members;
      room.onlineCount = entry.online;
      room.unread = entry.unread;
    }
    /** @type {Room[]} */
    const gone = [];
    for (const room of this.rooms.values()) {
      if (listed.has(room) || room.draft) continue;
      room.listed = false;
      if (room.joined) gone.push(room);
      else this.forget(room.name);
    }
    return gone;
  }

  /**
   * Take a member list (`joined.members`).
   * @param {Room} room
   * @param {readonly Member[]} members
   */
  setMembers(room, members) {
    room.members = new Map(members.map((m) => [m.username.toLowerCase(), { ...m }]));
    room.memberCount = members.length;
    room.onlineCount = members.filter((m) => m.online).length;
    for (const m of members) this.displayNames.set(m.username.toLowerCase(), m.display_name);
  }

  /**
   * Someone joined, left, came online or went offline. Returns whether the
   * member list now lacks a display name (a newcomer: ask for the list again).
   * @param {Room} room
   * @param {string} username
   * @param {import('./types.js').PresenceState} state
   */
  presence(room, username, state) {
    const key = username.toLowerCase();
    const member = room.members.get(key);
    switch (state) {
      case 'joined':
        if (!member) room.members.set(key, { username, display_name: this.displayName(username), online: true });
        else member.online = true;
        room.memberCount = Math.max(room.memberCount + (member ? 0 : 1), room.members.size);
        break;
      case 'left':
        room.members.delete(key);
        room.memberCount = Math.max(0, room.memberCount - 1);
        room.typing.delete(username);
        break;
      case 'online':
        if (member) member.online = true;
        break;
      case 'offline':
        if (member) member.online = false;
        room.typing.delete(username);
        break;
    }
    if (room.members.size > 0) room.onlineCount = [...room.members.values()].filter((m) => m.online).length;
    return state === 'joined' && !this.displayNames.has(key);
  }
}
