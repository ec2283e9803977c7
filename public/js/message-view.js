/**
 * The message list of the open room: day separators, messages grouped by
 * author (one header per run of messages from one person within five
 * minutes), the outbox at the end with its state, and the scroll position
 * kept where the reader left it — at the bottom it follows new messages;
 * scrolled up it stays put (older history may be inserted above) and a
 * "New messages" button appears.
 *
 * Nodes are kept per message and reused across updates (dom.js reconcile), so
 * a message sent from the outbox keeps its node when its `ack` arrives.
 */

import { h, reconcile, setText, byId } from './dom.js';
import { GROUP_GAP_MS, dayKey, dayLabel, fullDateOf, hueClass, initials, timeOf } from './format.js';

/** @typedef {import('./chat-model.js').Room} Room */
/** @typedef {import('./chat-model.js').ChatModel} ChatModel */
/** @typedef {import('./chat-model.js').OutboxItem} OutboxItem */

/** Closer than this to the bottom counts as "at the bottom". */
const BOTTOM_SLACK_PX = 48;
/** Ask for older messages when the reader is this close to the top. */
const TOP_SLACK_PX = 400;

/**
 * @typedef {object} MessageViewHooks
 * @property {(room: Room) => void} needOlder
 * @property {(username: string) => void} openDm
 * @property {(room: Room, item: OutboxItem, action: 'retry' | 'edit' | 'discard') => void} outboxAction
 * @property {() => void} reachedBottom
 */

/**
 * @typedef {object} Entry
 * @property {string} author username
 * @property {string} ts
 * @property {HTMLLIElement} node
 */

export class MessageView {
  /**
   * @param {ChatModel} model
   * @param {MessageViewHooks} hooks
   */
  constructor(model, hooks) {
    this.model = model;
    this.hooks = hooks;
    this.scroller = byId('scroller', HTMLDivElement);
    this.list = byId('message-list', HTMLOListElement);
    this.historyStatus = byId('history-status', HTMLParagraphElement);
    this.empty = byId('empty-room', HTMLDivElement);
    this.jump = byId('jump-button', HTMLButtonElement);
    /** @type {Room | null} */
    this.room = null;
    /** @type {Map<string, HTMLLIElement>} `m<id>`, `p<cmid>`, `d<day>` → node */
    this.nodes = new Map();
    /** @type {Map<string, number>} room → distance from the bottom when it was left */
    this.positions = new Map();
    /** The reader is at the bottom: a resize (a phone turned, the keyboard opening) keeps them there. */
    this.pinned = true;
    this.scroller.addEventListener('scroll', () => this.#onScroll(), { passive: true });
    /** The sizes at the last look, to tell a scroll the reader made from one a layout change made. */
    this.seen = { scrollHeight: 0, clientHeight: 0 };
    const keepPinned = new ResizeObserver(() => {
      if (this.pinned) this.scrollToBottom();
      this.#remember();
    });
    keepPinned.observe(this.scroller);
    keepPinned.observe(this.list);
    this.jump.addEventListener('click', () => {
      this.scrollToBottom();
      this.hooks.reachedBottom();
    });
  }

  isAtBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < BOTTOM_SLACK_PX;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.jump.hidden = true;
  }

  #remember() {
    this.seen = { scrollHeight: this.scroller.scrollHeight, clientHeight: this.scroller.clientHeight };
  }

  /**
   * Show another room (or none).
   * @param {Room | null} room
   */
  show(room) {
    if (room === this.room) return;
    if (this.room) this.positions.set(this.room.name, this.scroller.scrollHeight - this.scroller.scrollTop);
    this.room = room;
    this.nodes.clear();
    this.list.replaceChildren();
    this.jump.hidden = true;
    this.render({ restore: true });
  }

  /**
   * Bring the list up to date with the model.
   * @param {{ restore?: boolean, stickToBottom?: boolean }} [options]
   *   restore: put back the position the room was left at; stickToBottom: the reader just sent something
   */
  render(options = {}) {
    const room = this.room;
    if (!room) {
      reconcile(this.list, []);
      this.historyStatus.textContent = '';
      this.empty.hidden = true;
      return;
    }
    // 1. Where the reader is, to put them back there afterwards. (`pinned`,
    //    not a measurement: the layout may have changed since the last look.)
    const wasAtBottom = this.pinned;
    const anchor = wasAtBottom ? null : this.#firstVisible();
    const before = this.list.lastElementChild;

    // 2. The nodes, in order.
    const now = new Date();
    /** @type {HTMLLIElement[]} */
    const wanted = [];
    /** @type {Entry | null} */
    let previous = null;
    let day = '';
    /** @param {Entry} entry */
    const place = (entry) => {
      const d = dayKey(entry.ts);
      if (d !== day) {
        day = d;
        wanted.push(this.#dayNode(d, entry.ts, now));
        previous = null;
      }
      const continues = previous !== null && previous.author.toLowerCase() === entry.author.toLowerCase() && Date.parse(entry.ts) - Date.parse(previous.ts) < GROUP_GAP_MS;
      entry.node.classList.toggle('msg--cont', continues);
      wanted.push(entry.node);
      previous = entry;
    };
    const keep = new Set();
    for (const id of room.sortedIds()) {
      const message = /** @type {import('./types.js').ChatMessage} */ (room.messages.get(id));
      const node = this.#messageNode(room, message);
      keep.add(node);
      place({ author: message.from, ts: message.ts, node });
    }
    for (const item of room.outbox) {
      const node = this.#outboxNode(room, item);
      keep.add(node);
      place({ author: this.model.me.username, ts: item.createdAt, node });
    }
    for (const [key, node] of this.nodes) if (!key.startsWith('d') && !keep.has(node)) this.nodes.delete(key);
    reconcile(this.list, wanted);

    // 3. The line above the first message, and the empty state.
    setText(this.historyStatus, this.#historyText(room));
    const nothing = room.loaded && wanted.length === 0;
    this.empty.hidden = !nothing;
    if (nothing) setText(this.empty, emptyText(room, this.model.title(room)));

    // 4. Put the reader back.
    const saved = options.restore ? this.positions.get(room.name) : undefined;
    if (saved !== undefined) {
      this.scroller.scrollTop = this.scroller.scrollHeight - saved;
    } else if (options.restore || options.stickToBottom || wasAtBottom) {
      this.scrollToBottom();
    } else if (anchor) {
      this.scroller.scrollTop += anchor.node.getBoundingClientRect().top - anchor.top;
      if (this.list.lastElementChild !== before) this.jump.hidden = false;
    }
    this.pinned = this.isAtBottom();
    this.#remember();
    if (this.pinned) this.jump.hidden = true;
    this.#maybeNeedOlder();
  }

  /**
   * Display names arrive with member lists, sometimes after the message: update them.
   * @param {HTMLLIElement} node
   * @param {string} author
   */
  #refreshName(node, author) {
    const name = this.model.displayName(author);
    if (node.dataset.name === name) return;
    node.dataset.name = name;
    const authorNode = node.querySelector('.author');
    const avatar = node.querySelector('.avatar');
    if (authorNode) setText(authorNode, name);
    if (authorNode instanceof HTMLButtonElement) authorNode.title = `Send ${name} a direct message`;
    if (avatar) setText(avatar, initials(name));
  }

  /** The first message node at least partly in view, and where it was. */
  #firstVisible() {
    const top = this.scroller.getBoundingClientRect().top;
    for (const node of this.list.children) {
      const rect = node.getBoundingClientRect();
      if (rect.bottom > top) return { node, top: rect.top };
    }
    return null;
  }

  #onScroll() {
    const s = this.scroller;
    const relaid = s.scrollHeight !== this.seen.scrollHeight || s.clientHeight !== this.seen.clientHeight;
    this.#remember();
    if (relaid && this.pinned) {
      // The layout moved, not the reader (a resize, a phone turned): stay at the bottom.
      this.scrollToBottom();
      return;
    }
    this.pinned = this.isAtBottom();
    if (this.pinned) {
      this.jump.hidden = true;
      this.hooks.reachedBottom();
    }
    this.#maybeNeedOlder();
  }

  #maybeNeedOlder() {
    const room = this.room;
    if (!room || !room.loaded || !room.hasOlder || room.loadingOlder) return;
    if (this.scroller.scrollTop < TOP_SLACK_PX) this.hooks.needOlder(room);
  }

  /** @param {Room} room */
  #historyText(room) {
    if (!room.loaded) return 'Loading messages…';
    if (room.loadingOlder) return 'Loading earlier messages…';
    if (room.hasOlder) return '';
    if (room.messages.size === 0 && room.outbox.length === 0) return '';
    return room.kind === 'dm' ? `This is the beginning of your conversation with ${this.model.title(room)}.` : `This is the beginning of #${room.name}.`;
  }

  /**
   * @param {string} key
   * @param {string} ts
   * @param {Date} now
   */
  #dayNode(key, ts, now) {
    const label = dayLabel(ts, now);
    let node = this.nodes.get(`d${key}`);
    if (!node) {
      node = h('li', { class: 'day', role: 'separator' }, h('span', null, label));
      this.nodes.set(`d${key}`, node);
    } else {
      setText(/** @type {HTMLElement} */ (node.firstElementChild), label);
    }
    return node;
  }

  /**
   * @param {Room} room
   * @param {import('./types.js').ChatMessage} message
   */
  #messageNode(room, message) {
    const key = `m${message.id}`;
    let node = this.nodes.get(key);
    if (!node) {
      // A message this tab sent keeps the node it had in the outbox.
      const cmid = room.cmidOf.get(message.id);
      const pending = cmid !== undefined ? this.nodes.get(`p${cmid}`) : undefined;
      if (pending) {
        this.nodes.delete(`p${cmid}`);
        node = pending;
        node.classList.remove('msg--pending', 'msg--failed', 'msg--slowed');
        node.removeAttribute('aria-busy');
        const status = node.querySelector('.msg-status');
        status?.remove();
        const time = /** @type {HTMLTimeElement} */ (node.querySelector('time'));
        time.dateTime = message.ts;
        time.title = fullDateOf(message.ts);
        setText(time, timeOf(message.ts));
      } else {
        node = this.#buildNode(message.from, message.text, message.ts);
      }
      node.dataset.id = String(message.id);
      this.nodes.set(key, node);
    }
    this.#refreshName(node, message.from);
    return node;
  }

  /**
   * @param {Room} room
   * @param {OutboxItem} item
   */
  #outboxNode(room, item) {
    const key = `p${item.cmid}`;
    let node = this.nodes.get(key);
    if (!node) {
      node = this.#buildNode(this.model.me.username, item.text, item.createdAt);
      node.dataset.cmid = item.cmid;
      node.querySelector('.msg-body')?.append(h('p', { class: 'msg-status' }));
      this.nodes.set(key, node);
    }
    node.classList.add('msg--pending');
    node.classList.toggle('msg--failed', item.state === 'failed');
    node.classList.toggle('msg--slowed', item.state === 'slowed');
    node.setAttribute('aria-busy', String(item.state === 'sending' || item.state === 'slowed'));
    const status = /** @type {HTMLElement} */ (node.querySelector('.msg-status'));
    const state = status.dataset.state;
    const text = statusText(item);
    if (state !== item.state || status.dataset.text !== text) {
      status.dataset.state = item.state;
      status.dataset.text = text;
      status.replaceChildren(h('span', null, text));
      if (item.state === 'failed') {
        const act = (/** @type {'retry' | 'edit' | 'discard'} */ action) => () => this.hooks.outboxAction(room, item, action);
        status.append(
          h('button', { type: 'button', class: 'link', onclick: act('retry') }, 'Retry'),
          h('button', { type: 'button', class: 'link', onclick: act('edit') }, 'Edit'),
          h('button', { type: 'button', class: 'link', onclick: act('discard') }, 'Discard'),
        );
      }
    }
    return node;
  }

  /**
   * One message: avatar, author and time (hidden but still read out when it
   * continues a group), then the text — always as text, never as markup.
   * @param {string} author
   * @param {string} text
   * @param {string} ts
   */
  #buildNode(author, text, ts) {
    const name = this.model.displayName(author);
    const mine = this.model.isMe(author);
    // data-name: the display name the node shows, so a name learned later can replace it.
    const authorNode = mine
      ? h('span', { class: 'author' }, name)
      : h('button', { type: 'button', class: 'author', title: `Send ${name} a direct message`, onclick: () => this.hooks.openDm(author) }, name);
    return h(
      'li',
      { class: mine ? 'msg msg--mine' : 'msg', 'data-author': author.toLowerCase(), 'data-name': name },
      h('span', { class: `avatar ${hueClass(author)}`, 'aria-hidden': 'true' }, initials(name)),
      h(
        'div',
        { class: 'msg-body' },
        h('p', { class: 'msg-head' }, authorNode, ' ', h('time', { datetime: ts, title: fullDateOf(ts) }, timeOf(ts))),
        h('p', { class: 'msg-text' }, text),
      ),
    );
  }
}

/**
 * What an empty room says.
 * @param {Room} room
 * @param {string} title
 */
function emptyText(room, title) {
  switch (room.kind) {
    case 'dm':
      return `Say hello to ${title}.`;
    case 'private':
      return 'No messages yet. This room is private: people join with its name and password, so share both with those you want here.';
    case 'public':
      return 'No messages yet. Start the conversation!';
  }
}

/** @param {OutboxItem} item */
function statusText(item) {
  switch (item.state) {
    case 'sending':
      return 'Sending…';
    case 'waiting':
      return 'Waiting for the connection…';
    case 'slowed':
      return item.error ?? 'Sending again shortly…';
    case 'failed':
      return item.error ?? 'Not sent.';
  }
}
