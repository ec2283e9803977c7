/**
 * The entry point: the chat when this tab has a login, else the login form.
 * Leaving the chat (log out, session over) reloads the page, so no state of
 * one login can leak into the next; a notice saying why survives the reload.
 */

import { createAuthView } from './auth-view.js';
import { ChatApp } from './chat-app.js';
import { clearSession, loadSession, saveSession } from './session.js';

/** @typedef {import('./types.js').Session} Session */

const NOTICE_KEY = 'chat.notice';

/** @param {Session} session */
function startChat(session) {
  const app = new ChatApp(session, (notice) => {
    clearSession();
    if (notice) sessionStorage.setItem(NOTICE_KEY, notice);
    location.reload();
  });
  app.start();
}

function boot() {
  const auth = createAuthView((session) => {
    saveSession(session);
    auth.hide();
    startChat(session);
  });
  const session = loadSession();
  if (session) {
    // Even an expired-looking token is tried: this clock may be wrong. The server says.
    startChat(session);
    return;
  }
  const notice = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  auth.show(notice);
}

boot();
