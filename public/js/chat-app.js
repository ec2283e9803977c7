/**
 * The chat screen: it connects the socket (connection.js), the state
 * (chat-model.js) and the views, and carries out what a person does.
 *
 * After every (re)connect, `#resume` brings the client up to date, in order:
 *   1. `rooms`: the room list with unread counts; rooms gone from it were
 *      deleted or left elsewhere;
 *   2. every room whose messages are held: `join {since: newest id}`, page by
 *      page while `has_more` — so nothing sent while offline is missed, and
 *      ids already held are not shown twice;
 *   3. the open room, if it was never loaded: `join` (the newest 50);
 *   4. the outbox: every unacknowledged message is sent again with its `cmid`,
 *      so one that did reach the server is not stored twice.
 */

import * as api from './api.js';
import { sentence } from './auth-view.js';
import { ChatModel, TYPING_SHOWN_MS } from './chat-model.js';
import { Composer } from './composer.js';
import { ChatConnection, ChatError } from './connection.js';
import { ConfirmDialog, FormDialog } from './dialogs.js';
import { byId, h, setText } from './dom.js';
import { dmRoomName, hueClass, initials, newCmid, plural, waitText } from './format.js';
import { MembersView } from './members-view.js';
import { MessageView } from './message-view.js';
import { RoomListView } from './room-list-view.js';
import { loadOpenRoom, saveOpenRoom, saveSession } from './session.js';

/** @typedef {import('./types.js').Session} Session */
/** @typedef {import('./types.js').ServerMessage} ServerMessage */
/** @typedef {import('./types.js').ClientMessage} ClientMessage */
/** @typedef {import('./chat-model.js').Room} Room */
/** @typedef {import('./chat-model.js').OutboxItem} OutboxItem */
/** @typedef {import('./connection.js').LinkStatus} LinkStatus */
/** @typedef {import('./dialogs.js').FieldError} FieldError */
/**
 * @template {ServerMessage['type']} T
 * @typedef {Extract<ServerMessage, { type: T }>} Reply
 */

const CHAT_PATH = '/ws';
const GENERAL = 'general';
/** Phone layout: one pane at a time. Keep in step with style.css. */
const NARROW = matchMedia('(max-width: 760px)');
/** Wide enough to show the people list beside the messages. */
const WIDE = matchMedia('(min-width: 1100px)');
/** Presence and joins change counts in bursts: ask for the room list once per burst. */
const ROOMS_REFRESH_DELAY_MS = 1500;
/** Counts of rooms this user is not in change unseen: ask again now and then. */
const ROOMS_POLL_MS = 30_000;
const READ_EVERY_MS = 1000;
/** Refresh the token this long before it expires (or halfway through a shorter remaining life). */
const REFRESH_MARGIN_MS = 5 * 60_000;
const TOAST_MS = 5000;

export class ChatApp {
  /**
   * @param {Session} session
   * @param {(notice: string | null) => void} onEnd back to the login screen, with a reason
   */
  constructor(session, onEnd) {
    this.session = session;
    this.onEnd = onEnd;
    this.model = new ChatModel(session.user);
    /** @type {Room | null} */
    this.open = null;
    this.ended = false;
    /** Bumped by every join, leave and create: a `rooms` reply asked for before one may not show it (see #refreshRooms). */
    this.membershipChanges = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.roomsTimer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.refreshTimer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.typingTimer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.readTimer = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.countdown = null;
    this.lastReadAt = 0;
    this.tokenExpiresAt = Date.parse(session.expires_at);
    /** Server clock minus ours, from `hello`. */
    this.skewMs = 0;
    this.maxChars = 4000;
    this.renderQueued = false;
    this.stickToBottom = false;
    this.wasOpen = false;
    /** A reconnect is under way (for the "Reconnected." announcement). */
    this.reconnecting = false;
    /** #resume is running. */
    this.syncing = false;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.pollTimer = null;
    /** @type {Set<Room>} */
    this.loading = new Set();

    this.el = {
      app: byId('app-screen', HTMLDivElement),
      title: byId('room-title', HTMLHeadingElement),
      meta: byId('room-meta', HTMLParagraphElement),
      leave: byId('leave-button', HTMLButtonElement),
      del: byId('delete-button', HTMLButtonElement),
      membersButton: byId('members-button', HTMLButtonElement),
      membersClose: byId('members-close', HTMLButtonElement),
      back: byId('back-button', HTMLButtonElement),
      backUnread: byId('back-unread', HTMLSpanElement),
      status: byId('link-status', HTMLParagraphElement),
      statusText: byId('link-status-text', HTMLSpanElement),
      banner: byId('link-banner', HTMLDivElement),
      bannerText: byId('link-banner-text', HTMLSpanElement),
      retry: byId('retry-button', HTMLButtonElement),
      typing: byId('typing', HTMLParagraphElement),
      meAvatar: byId('me-avatar', HTMLSpanElement),
      meName: byId('me-name', HTMLSpanElement),
      meUsername: byId('me-username', HTMLSpanElement),
      logout: byId('logout-button', HTMLButtonElement),
      newRoom: byId('new-room-button', HTMLButtonElement),
      joinPrivate: byId('join-private-button', HTMLButtonElement),
      announcer: byId('announcer', HTMLDivElement),
      toasts: byId('toasts', HTMLDivElement),
    };

    this.conn = new ChatConnection({
      url: CHAT_PATH,
      token: () => this.session.token,
      onHello: (hello) => this.#onHello(hello),
      onEvent: (message) => this.#onEvent(message),
      onStatus: (status) => this.#onStatus(status),
      onAuthLost: (why) => this.end(why === 'expired' ? 'Your session has expired. Please log in again.' : 'You were logged out. Please log in again.'),
      checkAuth: () => this.#checkAuth(),
    });
    this.rooms = new RoomListView(this.model, (room) => void this.openRoom(room));
    this.messages = new MessageView(this.model, {
      needOlder: (room) => void this.#loadOlder(room),
      openDm: (username) => this.openDm(username),
      outboxAction: (room, item, action) => this.#outboxAction(room, item, action),
      reachedBottom: () => this.#readIfSeen(),
    });
    this.members = new MembersView(this.model, (username) => this.openDm(username));
    this.composer = new Composer({
      send: (text) => this.#send(text),
      typing: () => {
        const room = this.open;
        if (room && !room.draft) this.conn.notify({ type: 'typing', room: room.name }, { droppable: true });
      },
    });
    this.createDialog = new FormDialog('create-dialog', 'create-form');
    this.joinDialog = new FormDialog('join-dialog', 'join-form');
    this.confirm = new ConfirmDialog();
    this.#wire();
  }

  start() {
    this.el.app.hidden = false;
    this.#renderMe();
    this.#setView(NARROW.matches && !loadOpenRoom() ? 'list' : 'chat');
    this.#setMembersOpen(WIDE.matches);
    this.composer.setRoom(null, 'Message');
    this.conn.start();
    this.pollTimer = setInterval(() => {
      if (this.conn.isOpen && document.visibilityState === 'visible') this.#background(this.#refreshRooms());
    }, ROOMS_POLL_MS);
    this.render();
  }

  /**
   * Leave the chat screen: stop everything, then show the login.
   * @param {string | null} notice
   */
  end(notice) {
    if (this.ended) return;
    this.ended = true;
    this.conn.stop();
    for (const timer of [this.roomsTimer, this.refreshTimer, this.typingTimer, this.readTimer]) if (timer) clearTimeout(timer);
    if (this.countdown) clearInterval(this.countdown);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.onEnd(notice);
  }

  async logout() {
    this.conn.stop();
    try {
      await api.logout(this.session.token);
    } catch {
      // The token is dropped from this tab whatever the server says; it expires on its own.
    }
    this.end(null);
  }

  // ── wiring ───────────────────────────────────────────────────────────────

  #wire() {
    const el = this.el;
    el.logout.addEventListener('click', () => void this.logout());
    el.retry.addEventListener('click', () => this.conn.retryNow());
    el.back.addEventListener('click', () => {
      this.#setView('list');
      this.render();
    });
    el.membersButton.addEventListener('click', () => this.#setMembersOpen(el.app.dataset.members !== 'open'));
    el.membersClose.addEventListener('click', () => {
      this.#setMembersOpen(false);
      el.membersButton.focus();
    });
    el.newRoom.addEventListener('click', () => this.createDialog.open((fields) => this.#createRoom(fields)));
    el.joinPrivate.addEventListener('click', () => this.joinDialog.open((fields) => this.#joinPrivate(fields)));
    el.leave.addEventListener('click', () => {
      if (this.open) this.#leave(this.open);
    });
    el.del.addEventListener('click', () => {
      if (this.open) this.#delete(this.open);
    });
    document.addEventListener('visibilitychange', () => this.#readIfSeen());
    window.addEventListener('focus', () => {
      this.#readIfSeen();
      // Back to the tab: counts and new public rooms may have changed unseen.
      this.#refreshRoomsSoon();
    });
    NARROW.addEventListener('change', () => this.render());
    WIDE.addEventListener('change', () => this.#setMembersOpen(WIDE.matches));
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !WIDE.matches && el.app.dataset.members === 'open' && !document.querySelector('dialog[open]')) {
        this.#setMembersOpen(false);
        el.membersButton.focus();
      }
      // Alt+↑ / Alt+↓: the previous or next room in the sidebar.
      if (event.altKey && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
        event.preventDefault();
        this.#stepRoom(event.key === 'ArrowUp' ? -1 : 1);
      }
    });
  }

  /** @param {'list' | 'chat'} view */
  #setView(view) {
    this.el.app.dataset.view = view;
  }

  /** @param {boolean} open */
  #setMembersOpen(open) {
    this.el.app.dataset.members = open ? 'open' : 'closed';
    this.el.membersButton.setAttribute('aria-expanded', String(open));
    if (open && !WIDE.matches) this.el.membersClose.focus();
  }

  /** @param {number} step */
  #stepRoom(step) {
    const buttons = [...document.querySelectorAll('#room-list .room-item')];
    if (buttons.length === 0) return;
    const current = buttons.findIndex((b) => b.classList.contains('active'));
    const next = buttons[(current + step + buttons.length) % buttons.length];
    if (next instanceof HTMLButtonElement) {
      next.click();
      next.focus();
    }
  }

  // ── the connection ───────────────────────────────────────────────────────

  /** @param {Reply<'hello'>} hello */
  #onHello(hello) {
    this.model.me = hello.user;
    this.model.displayNames.set(hello.user.username.toLowerCase(), hello.user.display_name);
    this.session = { ...this.session, user: hello.user };
    saveSession(this.session);
    this.#renderMe();
    this.maxChars = hello.limits.max_text_chars;
    this.composer.setLimit(this.maxChars);
    this.skewMs = Date.parse(hello.server_time) - Date.now();
    this.tokenExpiresAt = Date.parse(hello.token_expires_at);
    this.#scheduleTokenRefresh();
    void this.#resume();
  }

  async #resume() {
    // Snapshot before any live message moves the newest ids (see the file's header).
    const held = [...this.model.rooms.values()].filter((r) => r.loaded && !r.draft).map((r) => ({ room: r, since: r.newestId }));
    this.syncing = true;
    this.#renderStatus();
    try {
      await this.#refreshRooms();
      await Promise.all(held.filter(({ room }) => this.model.room(room.name) === room).map(({ room, since }) => this.#catchUp(room, since)));
      if (!this.open) this.#openFirstRoom();
      else if (!this.open.loaded) await this.#loadRoom(this.open);
      for (const room of this.model.rooms.values()) for (const item of room.outbox) if (item.state !== 'failed') void this.#deliver(room, item);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      // Disconnected again: the next `hello` starts over. Anything else is worth a word.
      if (err.code !== 'disconnected' && err.code !== 'stopped') this.toast(`Could not catch up: ${sentence(err.message)}`);
    } finally {
      this.syncing = false;
      this.#renderStatus();
      this.render();
    }
  }

  #openFirstRoom() {
    const saved = loadOpenRoom();
    const room = (saved && this.model.room(saved)) || this.model.room(GENERAL) || null;
    // On a phone a fresh start shows the room list; a reload comes back to the open room.
    if (room) void this.openRoom(room, { focus: false, reveal: !NARROW.matches || saved !== null });
  }

  /** @param {ServerMessage} message */
  #onEvent(message) {
    switch (message.type) {
      case 'message':
        return this.#onMessage(message);
      case 'presence':
        return this.#onPresence(message);
      case 'typing':
        return this.#onTyping(message);
      case 'room_deleted':
        return this.#onRoomDeleted(message.room);
      case 'error':
        // An error without a `ref`: the answer to a `typing` or `read`, which carry none. A
        // rate_limited one has already slowed the connection down (RateGate.drain) and needs
        // no word; anything else is unexpected enough to show.
        if (message.code !== 'rate_limited') this.toast(sentence(message.message));
        return;
      default:
        return;
    }
  }

  /** @param {LinkStatus} status */
  #onStatus(status) {
    const wasOpen = this.wasOpen;
    this.wasOpen = status.state === 'open';
    if (wasOpen && !this.wasOpen && status.state !== 'stopped') {
      this.reconnecting = true;
      this.announce('Connection lost. Reconnecting…');
    }
    if (!wasOpen && this.wasOpen && this.reconnecting) {
      this.reconnecting = false;
      this.announce('Reconnected.');
    }
    if (status.state !== 'open') {
      // Messages on their way are now waiting for the next connection; typing notices are stale.
      for (const room of this.model.rooms.values()) {
        room.typing.clear();
        for (const item of room.outbox) if (item.state === 'sending' || item.state === 'slowed') item.state = 'waiting';
      }
    }
    if (this.countdown) clearInterval(this.countdown);
    this.countdown = status.state === 'waiting' ? setInterval(() => this.#renderStatus(), 1000) : null;
    this.#renderStatus();
    this.render();
  }

  /** @returns {Promise<import('./connection.js').AuthCheck>} */
  async #checkAuth() {
    try {
      await api.me(this.session.token);
      return 'ok';
    } catch (err) {
      if (!(err instanceof api.ApiError) || err.status !== 401) return 'unknown';
      return err.code === 'token_expired' ? 'expired' : 'revoked';
    }
  }

  // ── tokens ───────────────────────────────────────────────────────────────

  /**
   * Refresh REFRESH_MARGIN_MS before the token runs out (halfway through
   * what is left of a shorter one): `POST /token`, then
   * `refresh {token}` on the socket so the server does not close it with
   * 4001. A login older than `session_max_age` cannot be refreshed: the token
   * then runs out, the server closes with 4001 and the login screen says why.
   * @param {number | null} [delayMs] when to try (else as above)
   */
  #scheduleTokenRefresh(delayMs = null) {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    const left = this.tokenExpiresAt - (Date.now() + this.skewMs);
    if (left <= 0) return;
    const delay = delayMs ?? (left > 2 * REFRESH_MARGIN_MS ? left - REFRESH_MARGIN_MS : left / 2);
    // setTimeout's delay is a 32-bit number of milliseconds.
    this.refreshTimer = setTimeout(() => void this.#refreshToken(), Math.min(delay, 2 ** 31 - 1));
  }

  async #refreshToken() {
    /** @type {api.TokenGrant} */
    let grant;
    try {
      grant = await api.refreshToken(this.session.token);
    } catch (err) {
      if (err instanceof api.ApiError && err.status === 401) {
        this.toast('Your session is ending: log in again to keep chatting.');
        return;
      }
      // Not reachable, or rate-limited: try again before the token runs out.
      const left = this.tokenExpiresAt - (Date.now() + this.skewMs);
      if (left > 1000) this.#scheduleTokenRefresh(Math.min(30_000, left / 3));
      return;
    }
    const expiresAt = Date.parse(grant.expires_at);
    if (expiresAt <= this.tokenExpiresAt) {
      // Capped at session_max_age: refreshing again gains nothing. (Refreshes
      // are at least half a token's life apart, so this is not the one-second
      // resolution of `exp` showing.)
      this.toast('Your session is ending: log in again to keep chatting.');
      return;
    }
    this.session = { ...this.session, token: grant.token, expires_at: grant.expires_at };
    saveSession(this.session);
    this.tokenExpiresAt = expiresAt;
    if (this.conn.isOpen) {
      try {
        await this.conn.request({ type: 'refresh', token: grant.token }, { urgent: true });
      } catch (err) {
        // Disconnected meanwhile: the next connection opens with the new token anyway.
        if (!(err instanceof ChatError)) throw err;
      }
    }
    this.#scheduleTokenRefresh();
  }

  /**
   * A request nobody waits for. A lost connection is not worth a word (the
   * resume after the reconnect does the work again); a refusal is shown; a
   * bug is thrown on.
   * @param {Promise<unknown>} work
   */
  #background(work) {
    work.catch((err) => {
      if (!(err instanceof ChatError)) throw err;
      if (err.code !== 'disconnected' && err.code !== 'stopped') this.toast(sentence(err.message));
    });
  }

  // ── rooms ────────────────────────────────────────────────────────────────

  /** Ask for the room list soon (several reasons in a burst make one request). */
  #refreshRoomsSoon() {
    if (this.roomsTimer) return;
    this.roomsTimer = setTimeout(() => {
      this.roomsTimer = null;
      if (this.conn.isOpen) this.#background(this.#refreshRooms());
    }, ROOMS_REFRESH_DELAY_MS);
  }

  async #refreshRooms() {
    const changesBefore = this.membershipChanges;
    const reply = /** @type {Reply<'rooms'>} */ (await this.conn.request({ type: 'rooms' }));
    if (changesBefore !== this.membershipChanges) {
      // A join or leave answered meanwhile: this list may predate it. Take a newer one.
      this.#refreshRoomsSoon();
      return;
    }
    const gone = this.model.applyRoomList(reply.rooms);
    for (const room of gone) {
      this.model.forget(room.name);
      if (room === this.open) {
        this.toast(`You are no longer in ${room.kind === 'dm' ? 'this conversation' : `#${room.name}`}.`);
        this.#openFallback();
      }
    }
    this.render();
  }

  /**
   * @param {Room} room
   * @param {{ focus?: boolean, reveal?: boolean }} [options]
   *   focus: put the cursor in the composer (not on phones: it opens the keyboard);
   *   reveal: on a phone, switch to the chat pane (default)
   */
  async openRoom(room, options = {}) {
    if (this.open !== room) {
      this.open = room;
      saveOpenRoom(room.name);
      this.messages.show(room);
      this.composer.setRoom(room.name, room.kind === 'dm' ? `Message ${this.model.title(room)}` : `Message #${room.name}`);
    }
    if (options.reveal !== false) this.#setView('chat');
    if (!WIDE.matches) this.#setMembersOpen(false);
    this.render();
    if (options.focus !== false && !NARROW.matches) this.composer.focus();
    if (!this.conn.isOpen) return; // #resume loads it
    if (!room.loaded) await this.#loadRoom(room);
    else if (!room.draft) this.#background(this.#catchUp(room, room.newestId));
  }

  #openFallback() {
    const general = this.model.room(GENERAL);
    const next = general?.joined ? general : ([...this.model.rooms.values()].find((r) => r.joined && r.kind !== 'dm') ?? null);
    if (next) {
      void this.openRoom(next, { focus: false });
    } else {
      this.open = null;
      saveOpenRoom(null);
      this.messages.show(null);
      this.composer.setRoom(null, 'Message');
      this.#setView('list');
      this.render();
    }
  }

  /**
   * The newest messages and the members of a room not loaded yet; joining it
   * when this user is not a member (a public room from Discover).
   * @param {Room} room
   */
  async #loadRoom(room) {
    if (this.loading.has(room)) return;
    this.loading.add(room);
    try {
      if (room.kind === 'dm' && room.draft) {
        // A DM opened from a name: does it exist yet? (`join` would create it for both.)
        try {
          await this.conn.request({ type: 'history', room: room.name, limit: 1 });
          room.draft = false;
        } catch (err) {
          if (!(err instanceof ChatError) || err.code !== 'not_member') throw err;
          room.loaded = true;
          room.hasOlder = false;
          this.render();
          return;
        }
      }
      const wasMember = room.joined;
      const reply = /** @type {Reply<'joined'>} */ (await this.conn.request({ type: 'join', room: room.name }));
      this.model.setMembers(room, reply.members);
      room.messages.clear();
      room.addMessages(reply.messages);
      room.hasOlder = reply.has_more;
      room.loaded = true;
      room.joined = true;
      if (!wasMember) {
        this.membershipChanges++;
        this.#refreshRoomsSoon();
      }
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      if (err.code === 'disconnected' || err.code === 'stopped') return;
      if (err.code === 'wrong_password') {
        this.joinDialog.open((fields) => this.#joinPrivate(fields), { room: room.name });
        return;
      }
      this.toast(`Could not open ${room.kind === 'dm' ? 'the conversation' : `#${room.name}`}: ${sentence(err.message)}`);
      if (err.code === 'not_found' || err.code === 'not_member') {
        this.model.forget(room.name);
        if (room === this.open) this.#openFallback();
      }
    } finally {
      this.loading.delete(room);
      this.render();
    }
  }

  /**
   * What happened in a held room since `since`: `join {since}` page by page
   * (API.md: "while has_more, join again with since = the last id received").
   * Also brings its member list up to date.
   * @param {Room} room
   * @param {number} since
   */
  async #catchUp(room, since) {
    let after = since;
    for (;;) {
      const reply = /** @type {Reply<'joined'>} */ (await this.conn.request({ type: 'join', room: room.name, since: after }));
      this.model.setMembers(room, reply.members);
      room.addMessages(reply.messages);
      room.joined = true;
      this.render();
      const last = reply.messages.at(-1);
      if (!reply.has_more || !last) return;
      after = last.id;
    }
  }

  /** @param {Room} room */
  async #loadOlder(room) {
    if (room.loadingOlder || !room.hasOlder || !this.conn.isOpen) return;
    room.loadingOlder = true;
    this.render();
    try {
      const reply = /** @type {Reply<'history'>} */ (await this.conn.request({ type: 'history', room: room.name, before: room.oldestId, limit: 50 }));
      room.addMessages(reply.messages);
      room.hasOlder = reply.has_more;
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      if (err.code !== 'disconnected') this.toast(`Could not load earlier messages: ${sentence(err.message)}`);
    } finally {
      room.loadingOlder = false;
      this.render();
    }
  }

  /**
   * A direct message with someone, from their name. A DM that does not exist
   * yet is a draft until its first message (API.md: "both users are members
   * from the first message").
   * @param {string} username
   */
  openDm(username) {
    if (this.model.isMe(username)) return;
    const name = dmRoomName(this.model.me.username, username);
    let room = this.model.room(name);
    if (!room) {
      room = this.model.ensureRoom(name);
      room.draft = true;
      const known = [...this.model.rooms.values()].map((r) => r.members.get(username.toLowerCase())).find((m) => m !== undefined);
      this.model.setMembers(room, [
        { username: this.model.me.username, display_name: this.model.me.display_name, online: true },
        known ?? { username, display_name: this.model.displayName(username), online: false },
      ]);
    }
    void this.openRoom(room);
  }

  /** @param {Record<string, string>} fields */
  async #createRoom(fields) {
    const name = (fields.room ?? '').trim();
    const password = fields.password ?? '';
    if (name === '') return { field: 'room', message: 'Enter a name for the room.' };
    /** @type {ClientMessage} */
    const message = password === '' ? { type: 'create_room', room: name } : { type: 'create_room', room: name, private: true, password };
    try {
      const reply = /** @type {Reply<'joined'>} */ (await this.conn.request(message));
      const room = this.model.ensureRoom(reply.room);
      room.kind = password === '' ? 'public' : 'private';
      room.listed = true;
      room.joined = true;
      room.loaded = true;
      room.hasOlder = false;
      this.model.setMembers(room, reply.members);
      rememberOwned(this.model.me.username, room.name);
      this.membershipChanges++;
      this.#refreshRoomsSoon();
      void this.openRoom(room);
      return null;
    } catch (err) {
      return roomFormError(err);
    }
  }

  /** @param {Record<string, string>} fields */
  async #joinPrivate(fields) {
    const name = (fields.room ?? '').trim();
    const password = fields.password ?? '';
    if (name === '') return { field: 'room', message: 'Enter the name of the room.' };
    if (password === '') return { field: 'password', message: 'Enter the room’s password.' };
    try {
      const reply = /** @type {Reply<'joined'>} */ (await this.conn.request({ type: 'join', room: name, password }));
      const room = this.model.ensureRoom(reply.room);
      if (room.kind === 'public' && !room.listed) room.kind = 'private';
      room.listed = true;
      room.joined = true;
      this.model.setMembers(room, reply.members);
      room.messages.clear();
      room.addMessages(reply.messages);
      room.hasOlder = reply.has_more;
      room.loaded = true;
      this.membershipChanges++;
      this.#refreshRoomsSoon();
      void this.openRoom(room);
      return null;
    } catch (err) {
      if (err instanceof ChatError && err.code === 'wrong_password') return { field: 'password', message: 'That password is not right for this room.' };
      if (err instanceof ChatError && err.code === 'not_found') return { field: 'room', message: 'There is no room with this name.' };
      return roomFormError(err);
    }
  }

  /** @param {Room} room */
  #leave(room) {
    const go = async () => {
      try {
        await this.conn.request({ type: 'leave', room: room.name });
      } catch (err) {
        return { field: 'form', message: err instanceof ChatError ? sentence(err.message) : 'Could not leave the room.' };
      }
      this.membershipChanges++;
      room.joined = false;
      room.loaded = false;
      room.messages.clear();
      room.members.clear();
      room.outbox = [];
      room.unread = 0;
      if (room.kind === 'private') this.model.forget(room.name);
      this.#refreshRoomsSoon();
      this.toast(`You left #${room.name}.`);
      if (room === this.open) this.#openFallback();
      this.render();
      return null;
    };
    if (room.kind === 'private') {
      this.confirm.ask({ title: `Leave #${room.name}?`, text: 'It is a private room: to come back you will need its password.', ok: 'Leave room' }, go);
    } else {
      void go().then((error) => {
        if (error) this.toast(error.message);
      });
    }
  }

  /** @param {Room} room */
  #delete(room) {
    this.confirm.ask(
      { title: `Delete #${room.name}?`, text: 'The room and all of its messages are deleted for everyone in it. This cannot be undone.', ok: 'Delete room' },
      async () => {
        try {
          await this.conn.request({ type: 'delete_room', room: room.name });
          return null;
        } catch (err) {
          if (err instanceof ChatError && err.code === 'forbidden') return { field: 'form', message: 'Only the person who created this room can delete it.' };
          return { field: 'form', message: err instanceof ChatError ? sentence(err.message) : 'Could not delete the room.' };
        }
      },
    );
  }

  /** @param {string} name */
  #onRoomDeleted(name) {
    const room = this.model.room(name);
    if (!room) return;
    this.model.forget(room.name);
    forgetOwned(this.model.me.username, room.name);
    if (room.joined) this.toast(`#${room.name} was deleted.`);
    if (room === this.open) this.#openFallback();
    this.render();
  }

  // ── live events ──────────────────────────────────────────────────────────

  /** @param {Reply<'message'>} message */
  #onMessage(message) {
    let room = this.model.room(message.room);
    if (!room) {
      // A DM someone just started, or a room joined on another device.
      room = this.model.ensureRoom(message.room);
      room.joined = true;
      room.listed = true;
      this.#refreshRoomsSoon();
    }
    if (room.draft) {
      room.draft = false;
      room.joined = true;
      this.#refreshRoomsSoon();
    }
    // Held messages grow only while loaded; an unloaded room gets its newest page when opened.
    const fresh = room.loaded ? room.addMessages([message]).length > 0 : true;
    if (!fresh) return;
    const fromMe = this.model.isMe(message.from);
    if (!fromMe) {
      room.typing.delete(message.from);
      const seen = room === this.open && this.#chatVisible() && document.visibilityState === 'visible' && this.messages.isAtBottom();
      if (!seen) room.unread++;
      if (room === this.open) this.announce(`${this.model.displayName(message.from)}: ${message.text.slice(0, 300)}`);
    }
    this.render();
  }

  /** @param {Reply<'presence'>} presence */
  #onPresence(presence) {
    const room = this.model.room(presence.room);
    this.#refreshRoomsSoon();
    if (!room) return;
    const newcomer = this.model.presence(room, presence.user, presence.state);
    // A newcomer's display name comes with the member list: ask for it again.
    if (newcomer && room === this.open && room.loaded && this.conn.isOpen) this.#background(this.#catchUp(room, room.newestId));
    this.render();
  }

  /** @param {Reply<'typing'>} typing */
  #onTyping(typing) {
    const room = this.model.room(typing.room);
    if (!room || this.model.isMe(typing.user)) return;
    room.typing.set(typing.user, Date.now() + TYPING_SHOWN_MS);
    if (room === this.open) this.#renderTyping();
  }

  // ── sending ──────────────────────────────────────────────────────────────

  /** @param {string} text */
  #send(text) {
    const room = this.open;
    if (!room) return;
    /** @type {OutboxItem} */
    const item = {
      cmid: newCmid(),
      room: room.name,
      to: room.draft ? this.model.partnerOf(room) : null,
      text,
      state: 'sending',
      error: null,
      retryAt: null,
      createdAt: new Date(Date.now() + this.skewMs).toISOString(),
    };
    room.outbox.push(item);
    this.stickToBottom = true;
    // While catching up, older unsent messages go first: #resume sends the outbox in order.
    if (this.syncing) item.state = 'waiting';
    else void this.#deliver(room, item);
    this.render();
  }

  /**
   * Send one outbox item and wait for its `ack`. Safe to repeat: the `cmid`
   * makes the server answer a repeat with the original `ack`.
   * @param {Room} room
   * @param {OutboxItem} item
   */
  async #deliver(room, item) {
    if (!this.conn.isOpen) {
      item.state = 'waiting';
      this.render();
      return;
    }
    item.state = 'sending';
    item.error = null;
    /** @type {ClientMessage} */
    const message = item.to !== null ? { type: 'send', to: item.to, text: item.text, cmid: item.cmid } : { type: 'send', room: item.room, text: item.text, cmid: item.cmid };
    try {
      const ack = /** @type {Reply<'ack'>} */ (
        await this.conn.request(message, {
          onRateLimited: (ms) => {
            item.state = 'slowed';
            item.retryAt = Date.now() + ms;
            item.error = `Sending too fast: trying again in ${waitText(ms)}…`;
            this.render();
          },
        })
      );
      room.outbox = room.outbox.filter((i) => i !== item);
      room.cmidOf.set(ack.id, item.cmid);
      room.addMessages([{ id: ack.id, room: room.name, from: this.model.me.username, text: item.text, ts: ack.ts }]);
      if (item.to !== null) {
        // The first message made the DM: every later one goes to the room, and the list shows it.
        for (const other of room.outbox) other.to = null;
        room.draft = false;
        room.joined = true;
        room.listed = true;
        this.membershipChanges++;
        this.#refreshRoomsSoon();
        if (this.conn.isOpen) this.#background(this.#catchUp(room, 0));
      }
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      if (err.code === 'stopped') return;
      if (err.code === 'disconnected') {
        item.state = 'waiting';
      } else {
        item.state = 'failed';
        item.error = sendErrorText(err, this.maxChars);
        this.announce(item.error);
      }
    }
    this.render();
  }

  /**
   * @param {Room} room
   * @param {OutboxItem} item
   * @param {'retry' | 'edit' | 'discard'} action
   */
  #outboxAction(room, item, action) {
    if (action === 'retry') {
      void this.#deliver(room, item);
      return;
    }
    room.outbox = room.outbox.filter((i) => i !== item);
    if (action === 'edit' && room === this.open) this.composer.restore(item.text);
    this.render();
  }

  // ── reading ──────────────────────────────────────────────────────────────

  #chatVisible() {
    return !(NARROW.matches && this.el.app.dataset.view === 'list');
  }

  /** The open room is on screen and scrolled to its end: it is read, up to its newest message. */
  #readIfSeen() {
    const room = this.open;
    if (!room || !room.loaded || room.draft) return;
    if (document.visibilityState !== 'visible' || !this.#chatVisible() || !this.messages.isAtBottom()) return;
    if (room.unread !== 0) {
      room.unread = 0;
      this.rooms.render(this.open);
      this.#renderTitle();
    }
    const newest = room.newestId;
    if (newest <= room.readSent || !this.conn.isOpen) return;
    const wait = this.lastReadAt + READ_EVERY_MS - Date.now();
    if (wait > 0) {
      if (!this.readTimer) {
        this.readTimer = setTimeout(() => {
          this.readTimer = null;
          this.#readIfSeen();
        }, wait);
      }
      return;
    }
    this.lastReadAt = Date.now();
    room.readSent = newest;
    this.conn.notify({ type: 'read', room: room.name, id: newest });
  }

  // ── rendering ────────────────────────────────────────────────────────────

  /** Render once for everything that changed in this turn of the event loop. */
  render() {
    if (this.renderQueued || this.ended) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      if (this.ended) return;
      const stick = this.stickToBottom;
      this.stickToBottom = false;
      this.rooms.render(this.open);
      this.#renderHeader();
      this.messages.render({ stickToBottom: stick });
      this.members.render(this.open);
      this.#renderTyping();
      this.#readIfSeen();
      this.#renderTitle();
    });
  }

  #renderMe() {
    const me = this.model.me;
    setText(this.el.meName, me.display_name);
    setText(this.el.meUsername, `@${me.username}`);
    setText(this.el.meAvatar, initials(me.display_name));
    this.el.meAvatar.className = `avatar ${hueClass(me.username)}`;
  }

  #renderHeader() {
    const room = this.open;
    const el = this.el;
    el.app.classList.toggle('no-room', room === null);
    if (!room) {
      setText(el.title, 'No room open');
      setText(el.meta, 'Pick a room or a person on the left.');
      el.leave.hidden = true;
      el.del.hidden = true;
      return;
    }
    const dm = room.kind === 'dm';
    setText(el.title, dm ? this.model.title(room) : `#${room.name}`);
    let meta;
    if (dm) {
      const partner = this.model.partnerOf(room);
      const online = room.members.get(partner.toLowerCase())?.online ?? false;
      meta = `@${partner} · ${online ? 'online' : 'offline'}`;
    } else {
      const count = Math.max(room.memberCount, room.members.size);
      const online = room.members.size > 0 ? [...room.members.values()].filter((m) => m.online).length : room.onlineCount;
      const kind = NARROW.matches ? '' : room.kind === 'private' ? 'Private room · ' : 'Public room · ';
      meta = `${kind}${plural(count, 'member')} · ${online} online`;
    }
    setText(el.meta, meta);
    el.leave.hidden = dm || !room.joined;
    el.del.hidden = dm || room.name.toLowerCase() === GENERAL || !ownsRoom(this.model.me.username, room.name);
    el.membersButton.setAttribute('aria-label', `People in this ${dm ? 'conversation' : 'room'}`);
  }

  #renderTyping() {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    const room = this.open;
    const now = Date.now();
    const names = room ? room.typingNow(now).map((u) => this.model.displayName(u)) : [];
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'Several people are typing…';
    setText(this.el.typing, text);
    if (room && names.length > 0) {
      const next = Math.min(...room.typing.values()) - now;
      this.typingTimer = setTimeout(() => this.#renderTyping(), Math.max(100, next + 50));
    }
  }

  #renderStatus() {
    const status = this.conn.status;
    const el = this.el;
    /** @type {string} */
    let text;
    /** @type {string} */
    let banner = '';
    switch (status.state) {
      case 'open':
        text = this.syncing ? 'Catching up…' : 'Connected';
        break;
      case 'connecting':
        text = status.everOpened ? 'Reconnecting…' : 'Connecting…';
        banner = status.everOpened ? 'Connection lost. Reconnecting…' : '';
        break;
      case 'waiting': {
        const wait = waitText(Math.max(0, (status.retryAt ?? Date.now()) - Date.now()));
        text = `Reconnecting in ${wait}`;
        banner = `Connection lost. Trying again in ${wait}. Messages you send now go out when it is back.`;
        break;
      }
      case 'offline':
        text = 'Offline';
        banner = 'You are offline. Messages you send now go out when the network is back.';
        break;
      case 'stopped':
        text = 'Disconnected';
        break;
    }
    el.status.dataset.state = this.syncing && status.state === 'open' ? 'syncing' : status.state;
    // Presence shown while disconnected is stale: the stylesheet dims it.
    el.app.dataset.link = status.state;
    setText(el.statusText, text);
    el.banner.hidden = banner === '';
    setText(el.bannerText, banner);
    el.retry.hidden = status.state !== 'waiting';
  }

  #renderTitle() {
    let unread = 0;
    for (const room of this.model.rooms.values()) if (room.joined || room.draft) unread += room.unread;
    const open = this.open ? (this.open.kind === 'dm' ? this.model.title(this.open) : `#${this.open.name}`) : null;
    const title = `${unread > 0 ? `(${unread}) ` : ''}${open ? `${open} · ` : ''}Chat`;
    if (document.title !== title) document.title = title;
    const elsewhere = unread - (this.open?.unread ?? 0);
    setText(this.el.backUnread, elsewhere > 0 ? String(elsewhere) : '');
    this.el.backUnread.hidden = elsewhere <= 0;
  }

  /**
   * Say something to screen readers (the live region).
   * @param {string} text
   */
  announce(text) {
    this.el.announcer.replaceChildren(h('p', null, text));
  }

  /**
   * A short note at the bottom of the screen.
   * @param {string} text
   */
  toast(text) {
    const node = h('div', { class: 'toast' }, text);
    this.el.toasts.append(node);
    setTimeout(() => node.remove(), TOAST_MS);
  }
}

/**
 * @param {ChatError} err
 * @param {number} maxChars
 */
function sendErrorText(err, maxChars) {
  switch (err.code) {
    case 'too_long':
      return `Not sent: longer than ${maxChars} characters.`;
    case 'rate_limited':
      return `Not sent: you are sending too fast. Wait ${waitText(err.retryAfterMs ?? 1000)} and retry.`;
    case 'not_member':
      return 'Not sent: you are not in this room any more.';
    case 'timeout':
      return 'Not confirmed by the server.';
    default:
      return `Not sent: ${sentence(err.message)}`;
  }
}

/**
 * The server's word on a room form, next to the field it is about.
 * @param {unknown} err
 * @returns {FieldError}
 */
function roomFormError(err) {
  if (!(err instanceof ChatError)) return { field: 'form', message: 'Something went wrong. Try again.' };
  switch (err.code) {
    case 'room_exists':
      return { field: 'room', message: 'A room with this name already exists.' };
    case 'bad_request':
      // The server's message names the field in quotes: "room" must be 1–64 characters of …
      if (err.message.startsWith('"room"')) return { field: 'room', message: sentence(err.message.replace('"room"', 'the name')) };
      if (err.message.startsWith('"password"')) return { field: 'password', message: sentence(err.message.replace('"password"', 'the password')) };
      return { field: 'form', message: sentence(err.message) };
    case 'disconnected':
      return { field: 'form', message: 'Not connected right now. Try again when the connection is back.' };
    default:
      return { field: 'form', message: sentence(err.message) };
  }
}

// Rooms this browser created: the API does not say who owns a room, and only
// the owner may delete one, so the Delete button shows for these.

/** @param {string} username */
function ownedKey(username) {
  return `chat.owned.${username.toLowerCase()}`;
}

/** @param {string} username */
function ownedRooms(username) {
  try {
    const list = JSON.parse(localStorage.getItem(ownedKey(username)) ?? '[]');
    return Array.isArray(list) ? list.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * @param {string} username
 * @param {string} room
 */
function ownsRoom(username, room) {
  return ownedRooms(username).includes(room.toLowerCase());
}

/**
 * @param {string} username
 * @param {string} room
 */
function rememberOwned(username, room) {
  const list = new Set(ownedRooms(username));
  list.add(room.toLowerCase());
  localStorage.setItem(ownedKey(username), JSON.stringify([...list]));
}

/**
 * @param {string} username
 * @param {string} room
 */
function forgetOwned(username, room) {
  const list = ownedRooms(username).filter((r) => r !== room.toLowerCase());
  localStorage.setItem(ownedKey(username), JSON.stringify(list));
}
