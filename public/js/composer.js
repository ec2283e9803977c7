/**
 * The message box: Enter sends, Shift+Enter starts a new line (and Enter
 * while an input method is composing belongs to the input method). It keeps
 * a draft per room, counts characters against `max_text_chars` as the server
 * does (code points), and tells the app when to send `typing`.
 */

import { byId, setText } from './dom.js';
import { codePointLength } from './format.js';

/** API.md leaves the pace to the client; every 3 s while typing is plenty. */
export const TYPING_EVERY_MS = 3000;
/** The box grows with its text up to this many lines, then scrolls. */
const MAX_ROWS = 8;
/** Start showing the count when this much of the limit is used. */
const COUNT_FROM = 0.8;

export class Composer {
  /**
   * @param {{ send: (text: string) => void, typing: () => void }} hooks
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.form = byId('composer', HTMLFormElement);
    this.input = byId('composer-input', HTMLTextAreaElement);
    this.label = byId('composer-label', HTMLLabelElement);
    this.error = byId('composer-error', HTMLParagraphElement);
    this.count = byId('composer-count', HTMLSpanElement);
    this.button = byId('send-button', HTMLButtonElement);
    this.maxChars = 4000;
    /** @type {string | null} */
    this.room = null;
    /** @type {Map<string, string>} room → unsent text */
    this.drafts = new Map();
    this.lastTyping = 0;

    this.input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
      event.preventDefault();
      this.#submit();
    });
    this.input.addEventListener('input', () => {
      this.#update();
      this.setError('');
      const now = Date.now();
      if (this.input.value.trim() !== '' && now - this.lastTyping >= TYPING_EVERY_MS) {
        this.lastTyping = now;
        this.hooks.typing();
      }
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#submit();
    });
  }

  /**
   * Switch to a room's draft.
   * @param {string | null} room
   * @param {string} label what the box is for, read out and shown as its placeholder
   */
  setRoom(room, label) {
    if (this.room !== null) this.drafts.set(this.room, this.input.value);
    this.room = room;
    this.input.value = room === null ? '' : (this.drafts.get(room) ?? '');
    this.input.disabled = room === null;
    this.button.disabled = room === null;
    this.input.placeholder = label;
    setText(this.label, label);
    this.lastTyping = 0;
    this.setError('');
    this.#update();
  }

  /** @param {number} maxChars */
  setLimit(maxChars) {
    this.maxChars = maxChars;
    this.#update();
  }

  /**
   * Put text back (Edit on a message that was not sent).
   * @param {string} text
   */
  restore(text) {
    this.input.value = text;
    this.#update();
    this.focus();
  }

  focus() {
    this.input.focus();
  }

  /** @param {string} message */
  setError(message) {
    setText(this.error, message);
    if (message) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }

  #submit() {
    const text = this.input.value;
    if (text.trim() === '') return;
    const over = codePointLength(text) - this.maxChars;
    if (over > 0) {
      this.setError(`This message is ${over} ${over === 1 ? 'character' : 'characters'} too long (the limit is ${this.maxChars}).`);
      return;
    }
    this.input.value = '';
    if (this.room !== null) this.drafts.delete(this.room);
    this.lastTyping = 0;
    this.#update();
    this.hooks.send(text);
  }

  #update() {
    const text = this.input.value;
    const lines = text.split('\n').length;
    this.input.rows = Math.min(MAX_ROWS, Math.max(1, lines));
    const length = codePointLength(text);
    const showCount = length >= this.maxChars * COUNT_FROM;
    setText(this.count, showCount ? `${length} / ${this.maxChars}` : '');
    this.count.classList.toggle('over', length > this.maxChars);
  }
}
