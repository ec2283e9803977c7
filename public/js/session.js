/**
 * The login of this tab, kept in sessionStorage: it survives a reload but not
 * closing the tab, and other tabs log in on their own.
 */

/** @typedef {import('./types.js').Session} Session */

const SESSION_KEY = 'chat.session';
const ROOM_KEY = 'chat.room';

/** @returns {Session | null} */
export function loadSession() {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const value = /** @type {Partial<Session>} */ (JSON.parse(raw));
    if (typeof value.token !== 'string' || typeof value.expires_at !== 'string' || typeof value.user?.username !== 'string') return null;
    return /** @type {Session} */ (value);
  } catch {
    return null;
  }
}

/** @param {Session} session */
export function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(ROOM_KEY);
}

/** The room that was open, so a reload comes back to it. */
export function loadOpenRoom() {
  return sessionStorage.getItem(ROOM_KEY);
}

/** @param {string | null} room */
export function saveOpenRoom(room) {
  if (room === null) sessionStorage.removeItem(ROOM_KEY);
  else sessionStorage.setItem(ROOM_KEY, room);
}
