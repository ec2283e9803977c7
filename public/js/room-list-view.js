/**
 * The sidebar: the rooms this user is in, their direct messages, and public
 * rooms to discover — with online counts and unread badges. Each entry is a
 * button; its accessible name says all of it ("design, private, 2 online,
 * 3 unread").
 */

import { h, reconcile, setText, byId } from './dom.js';
import { hueClass, initials, plural } from './format.js';

/** @typedef {import('./chat-model.js').Room} Room */
/** @typedef {import('./chat-model.js').ChatModel} ChatModel */

/**
 * @typedef {object} Item
 * @property {HTMLLIElement} li
 * @property {HTMLButtonElement} button
 * @property {HTMLElement} name
 * @property {HTMLElement} meta
 * @property {HTMLElement} badge
 * @property {HTMLElement} icon
 */

export class RoomListView {
  /**
   * @param {ChatModel} model
   * @param {(room: Room) => void} onOpen
   */
  constructor(model, onOpen) {
    this.model = model;
    this.onOpen = onOpen;
    this.container = byId('room-list', HTMLDivElement);
    /** @type {Map<Room, Item>} */
    this.items = new Map();
    this.sections = {
      rooms: this.#section('Rooms', 'rooms'),
      dms: this.#section('Direct messages', 'dms'),
      discover: this.#section('Discover', 'discover'),
    };
  }

  /**
   * @param {string} title
   * @param {string} id
   */
  #section(title, id) {
    const list = h('ul', { class: 'room-group', 'aria-labelledby': `group-${id}` });
    const hint = h('p', { class: 'room-hint' });
    const root = h('section', { class: 'room-section' }, h('h2', { id: `group-${id}`, class: 'room-heading' }, title), list, hint);
    return { root, list, hint };
  }

  /** @param {Room | null} open */
  render(open) {
    const rooms = [...this.model.rooms.values()];
    const joined = rooms.filter((r) => r.joined && r.kind !== 'dm').sort(byName);
    const dms = rooms.filter((r) => r.kind === 'dm' && (r.joined || r.draft)).sort((a, b) => b.unread - a.unread || this.model.title(a).localeCompare(this.model.title(b)));
    const discover = rooms.filter((r) => !r.joined && r.kind === 'public' && r.listed).sort(byName);

    reconcile(this.sections.rooms.list, joined.map((r) => this.#item(r, open)));
    reconcile(this.sections.dms.list, dms.map((r) => this.#item(r, open)));
    reconcile(this.sections.discover.list, discover.map((r) => this.#item(r, open)));
    setText(this.sections.rooms.hint, joined.length === 0 ? 'You are in no rooms yet.' : '');
    setText(this.sections.dms.hint, dms.length === 0 ? 'Select someone’s name to message them.' : '');
    this.sections.discover.root.hidden = discover.length === 0;
    for (const room of this.items.keys()) if (!rooms.includes(room)) this.items.delete(room);
    reconcile(this.container, [this.sections.rooms.root, this.sections.dms.root, this.sections.discover.root]);
  }

  /**
   * @param {Room} room
   * @param {Room | null} open
   */
  #item(room, open) {
    let item = this.items.get(room);
    if (!item) {
      const icon = h('span', { class: 'room-icon', 'aria-hidden': 'true' });
      const name = h('span', { class: 'room-name' });
      const meta = h('span', { class: 'room-meta-line', 'aria-hidden': 'true' });
      const badge = h('span', { class: 'badge', 'aria-hidden': 'true' });
      const button = h('button', { type: 'button', class: 'room-item', 'data-room': room.name, onclick: () => this.onOpen(room) }, icon, h('span', { class: 'room-text' }, name, meta), badge);
      item = { li: h('li', null, button), button, name, meta, badge, icon };
      this.items.set(room, item);
    }
    const title = this.model.title(room);
    const dm = room.kind === 'dm';
    const partnerOnline = dm ? (room.members.get(this.model.partnerOf(room).toLowerCase())?.online ?? room.onlineCount >= 2) : false;
    setText(item.name, title);
    item.icon.className = dm ? `room-icon avatar small ${hueClass(this.model.partnerOf(room))}` : `room-icon ${room.kind}`;
    setText(item.icon, dm ? initials(title) : room.kind === 'private' ? '' : '#');
    item.icon.classList.toggle('online', partnerOnline);
    const meta = dm ? (partnerOnline ? 'online' : '') : room.joined ? (room.onlineCount > 0 ? `${room.onlineCount} online` : '') : plural(room.memberCount, 'member');
    setText(item.meta, meta);
    item.meta.hidden = meta === '';
    const unread = room.unread > 0 ? (room.unread > 99 ? '99+' : String(room.unread)) : '';
    setText(item.badge, unread);
    item.badge.hidden = unread === '';
    item.button.classList.toggle('unread', room.unread > 0);
    const current = room === open;
    item.button.classList.toggle('active', current);
    if (current) item.button.setAttribute('aria-current', 'true');
    else item.button.removeAttribute('aria-current');
    const spoken = [
      dm ? `${title}, direct message` : room.kind === 'private' ? `${title}, private room` : `${title}`,
      meta,
      room.unread > 0 ? plural(room.unread, 'unread message') : '',
      !room.joined && !dm ? 'select to join' : '',
    ].filter((s) => s !== '');
    item.button.setAttribute('aria-label', spoken.join(', '));
    return item.li;
  }
}

/**
 * `general` first, then by name.
 * @param {Room} a
 * @param {Room} b
 */
function byName(a, b) {
  if (a.name.toLowerCase() === 'general') return -1;
  if (b.name.toLowerCase() === 'general') return 1;
  return a.name.localeCompare(b.name, undefined, { sensitivity: 'base' });
}
