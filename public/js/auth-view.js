/**
 * The login and registration forms. The server's validation messages
 * (`validation_failed` names its `field`) are shown under that field, with
 * `aria-invalid` and focus on it; other errors go above the button.
 */

import * as api from './api.js';
import { byId } from './dom.js';
import { waitText } from './format.js';

/** @typedef {import('./types.js').Session} Session */
/** @typedef {'login' | 'register'} AuthTab */

/**
 * @typedef {object} AuthView
 * @property {(notice?: string | null) => void} show
 * @property {() => void} hide
 */

/**
 * @param {(session: Session) => void} onLoggedIn
 * @returns {AuthView}
 */
export function createAuthView(onLoggedIn) {
  const screen = byId('auth-screen', HTMLElement);
  const notice = byId('auth-notice', HTMLParagraphElement);
  const tabs = {
    login: byId('tab-login', HTMLButtonElement),
    register: byId('tab-register', HTMLButtonElement),
  };
  const forms = {
    login: byId('login-form', HTMLFormElement),
    register: byId('register-form', HTMLFormElement),
  };

  /** @param {AuthTab} which */
  function select(which, focus = false) {
    for (const name of /** @type {AuthTab[]} */ (['login', 'register'])) {
      const on = name === which;
      tabs[name].setAttribute('aria-selected', String(on));
      tabs[name].tabIndex = on ? 0 : -1;
      forms[name].hidden = !on;
    }
    if (focus) tabs[which].focus();
  }

  for (const name of /** @type {AuthTab[]} */ (['login', 'register'])) {
    tabs[name].addEventListener('click', () => select(name));
    // WAI-ARIA tabs pattern: arrow keys move between tabs.
    tabs[name].addEventListener('keydown', (event) => {
      if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
        event.preventDefault();
        select(name === 'login' ? 'register' : 'login', true);
      }
    });
  }

  forms.login.addEventListener('submit', (event) => {
    event.preventDefault();
    const fields = readFields(forms.login);
    void submit(forms.login, 'Logging in…', () => api.login({ username: fields.username ?? '', password: fields.password ?? '' }));
  });

  forms.register.addEventListener('submit', (event) => {
    event.preventDefault();
    const fields = readFields(forms.register);
    /** @type {{ username: string, password: string, display_name?: string }} */
    const body = { username: fields.username ?? '', password: fields.password ?? '' };
    const displayName = (fields.display_name ?? '').trim();
    if (displayName !== '') body.display_name = displayName;
    void submit(forms.register, 'Creating your account…', () => api.register(body));
  });

  /**
   * @param {HTMLFormElement} form
   * @param {string} busyLabel
   * @param {() => Promise<import('./api.js').LoginGrant>} call
   */
  async function submit(form, busyLabel, call) {
    clearErrors(form);
    const missing = requiredMissing(form);
    if (missing) {
      showError(form, missing.name, `Enter your ${missing.labels?.[0]?.textContent?.trim().toLowerCase() ?? missing.name}.`);
      return;
    }
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
    const label = button.textContent ?? '';
    button.disabled = true;
    button.textContent = busyLabel;
    try {
      const grant = await call();
      form.reset();
      onLoggedIn({ token: grant.token, expires_at: grant.expires_at, user: grant.user });
    } catch (err) {
      if (!(err instanceof api.ApiError)) throw err;
      if (err.code === 'validation_failed' && err.field) showError(form, err.field, sentence(err.message));
      else if (err.code === 'username_taken') showError(form, 'username', 'That username is taken. Try another.');
      else if (err.code === 'rate_limited') showError(form, 'form', `Too many attempts. Try again in ${waitText(err.retryAfterMs ?? 60_000)}.`);
      else showError(form, 'form', sentence(err.message));
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  return {
    show(message = null) {
      screen.hidden = false;
      notice.hidden = !message;
      notice.textContent = message ?? '';
      select('login');
      byId('login-username', HTMLInputElement).focus();
    },
    hide() {
      screen.hidden = true;
    },
  };
}

/**
 * @param {HTMLFormElement} form
 * @returns {Record<string, string>}
 */
function readFields(form) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, value] of new FormData(form)) if (typeof value === 'string') out[name] = value;
  return out;
}

/**
 * The first required input that is empty.
 * @param {HTMLFormElement} form
 */
function requiredMissing(form) {
  for (const input of form.querySelectorAll('input[required]')) {
    if (input instanceof HTMLInputElement && input.value === '') return input;
  }
  return null;
}

/**
 * Show a message under the field it is about (`form` for the whole form).
 * @param {HTMLFormElement} form
 * @param {string} field
 * @param {string} message
 */
export function showError(form, field, message) {
  const slot = form.querySelector(`[data-field="${CSS.escape(field)}"]`) ?? form.querySelector('[data-field="form"]');
  if (!slot) return;
  slot.textContent = message;
  const input = form.elements.namedItem(field);
  if (input instanceof HTMLInputElement || input instanceof HTMLTextAreaElement) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

/** @param {HTMLFormElement} form */
export function clearErrors(form) {
  for (const slot of form.querySelectorAll('[data-field]')) slot.textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/**
 * The server writes "username must be …": begin with a capital and end with a stop.
 * @param {string} message
 */
export function sentence(message) {
  const text = message.trim();
  if (text === '') return text;
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…]$/u.test(first) ? first : `${first}.`;
}
