/**
 * Modal dialogs on the native <dialog> element: it traps focus, closes on
 * Escape and gives focus back to what opened it. A dialog's action returns
 * null when done, or an error to show next to the field it names.
 */

import { byId, setText } from './dom.js';
import { clearErrors, showError } from './auth-view.js';

/** @typedef {{ field: string, message: string }} FieldError */
/** @typedef {(fields: Record<string, string>) => Promise<FieldError | null>} DialogAction */

export class FormDialog {
  /**
   * @param {string} dialogId
   * @param {string} formId
   */
  constructor(dialogId, formId) {
    this.dialog = byId(dialogId, HTMLDialogElement);
    this.form = byId(formId, HTMLFormElement);
    /** @type {DialogAction | null} */
    this.action = null;
    for (const button of this.form.querySelectorAll('[data-close]')) {
      button.addEventListener('click', () => this.dialog.close());
    }
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#submit();
    });
  }

  /**
   * @param {DialogAction} action
   * @param {Record<string, string>} [values]
   */
  open(action, values = {}) {
    this.action = action;
    this.form.reset();
    clearErrors(this.form);
    for (const [name, value] of Object.entries(values)) {
      const input = this.form.elements.namedItem(name);
      if (input instanceof HTMLInputElement) input.value = value;
    }
    this.dialog.showModal();
    const first = this.form.querySelector('input:not([type="hidden"])');
    if (first instanceof HTMLInputElement) {
      // Straight to the first empty field.
      const empty = [...this.form.querySelectorAll('input')].find((i) => i.value === '');
      (empty ?? first).focus();
    }
  }

  async #submit() {
    if (!this.action) return;
    clearErrors(this.form);
    const submit = /** @type {HTMLButtonElement} */ (this.form.querySelector('button[type="submit"]'));
    submit.disabled = true;
    /** @type {Record<string, string>} */
    const fields = {};
    for (const [name, value] of new FormData(this.form)) if (typeof value === 'string') fields[name] = value;
    try {
      const error = await this.action(fields);
      if (error) showError(this.form, error.field, error.message);
      else this.dialog.close();
    } finally {
      submit.disabled = false;
    }
  }
}

export class ConfirmDialog extends FormDialog {
  constructor() {
    super('confirm-dialog', 'confirm-form');
    this.title = byId('confirm-title', HTMLHeadingElement);
    this.text = byId('confirm-text', HTMLParagraphElement);
    this.ok = byId('confirm-ok', HTMLButtonElement);
  }

  /**
   * @param {{ title: string, text: string, ok: string }} words
   * @param {() => Promise<FieldError | null>} action
   */
  ask(words, action) {
    setText(this.title, words.title);
    setText(this.text, words.text);
    setText(this.ok, words.ok);
    this.open(() => action());
    this.ok.focus();
  }
}
