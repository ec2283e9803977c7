/**
 * Who is in the open room, online first. Each other person is a button that
 * opens a direct message with them.
 */

import { h, reconcile, setText, byId } from './dom.js';
import { hueClass, initials } from './format.js';

/** @typedef {import('./chat-model.js').Room} Room */
/** @typedef {import('./chat-model.js').ChatModel} ChatModel */
/** @typedef {import('./types.js').Member} Member */

export class MembersView {
  /**
   * @param {ChatModel} model
   * @param {(username: string) => void} openDm
   */
  constructor(model, openDm) {
    this.model = model;
    this.openDm = openDm;
    this.container = byId('member-list', HTMLDivElement);
    this.title = byId('members-title', HTMLHeadingElement);
    /** @type {Map<string, { li: HTMLLIElement, inner: HTMLElement, state: HTMLElement, avatar: HTMLElement, name: HTMLElement }>} */
    this.rows = new Map();
    this.online = this.#group('online');
    this.offline = this.#group('offline');
  }

  /** @param {string} id */
  #group(id) {
    const heading = h('h3', { class: 'member-heading', id: `members-${id}` });
    const list = h('ul', { class: 'member-group', 'aria-labelledby': `members-${id}` });
    return { root: h('section', null, heading, list), heading, list };
  }

  /** @param {Room | null} room */
  render(room) {
    const members = room ? [...room.members.values()] : [];
    const byName = (/** @type {Member} */ a, /** @type {Member} */ b) => a.display_name.localeCompare(b.display_name);
    const online = members.filter((m) => m.online).sort(byName);
    const offline = members.filter((m) => !m.online).sort(byName);
    setText(this.title, room ? `People · ${members.length}` : 'People');
    setText(this.online.heading, `Online — ${online.length}`);
    setText(this.offline.heading, `Offline — ${offline.length}`);
    reconcile(this.online.list, online.map((m) => this.#row(m)));
    reconcile(this.offline.list, offline.map((m) => this.#row(m)));
    this.offline.root.hidden = offline.length === 0;
    reconcile(this.container, room && room.members.size > 0 ? [this.online.root, this.offline.root] : []);
  }

  /** @param {Member} member */
  #row(member) {
    const key = member.username.toLowerCase();
    let row = this.rows.get(key);
    if (!row) {
      const me = this.model.isMe(member.username);
      const avatar = h('span', { class: `avatar ${hueClass(member.username)}`, 'aria-hidden': 'true' });
      const name = h('span', { class: 'member-name' });
      const state = h('span', { class: 'visually-hidden' });
      const content = [avatar, h('span', { class: 'member-text' }, name, h('span', { class: 'member-username' }, `@${member.username}${me ? ' · you' : ''}`)), state];
      const inner = me ? h('div', { class: 'member' }, content) : h('button', { type: 'button', class: 'member', 'data-user': key, title: 'Send a direct message', onclick: () => this.openDm(member.username) }, content);
      row = { li: h('li', null, inner), inner, state, avatar, name };
      this.rows.set(key, row);
    }
    setText(row.name, member.display_name);
    setText(row.avatar, initials(member.display_name));
    row.avatar.classList.toggle('online', member.online);
    row.inner.classList.toggle('offline', !member.online);
    setText(row.state, this.model.isMe(member.username) ? '' : member.online ? ', online. Send a direct message.' : ', offline. Send a direct message.');
    return row.li;
  }
}
