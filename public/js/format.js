/**
 * Small pure helpers: times and days, names, counts, ids.
 */

const TIME = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const FULL = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const DAY_THIS_YEAR = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const DAY_OTHER_YEAR = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'long', day: 'numeric' });

/** Messages from one author closer than this are shown as one group. */
export const GROUP_GAP_MS = 5 * 60 * 1000;

/** @param {string} ts RFC 3339 */
export function timeOf(ts) {
  return TIME.format(new Date(ts));
}

/** @param {string} ts */
export function fullDateOf(ts) {
  return FULL.format(new Date(ts));
}

/**
 * The local calendar day of a time, as a sortable key.
 * @param {string} ts
 */
export function dayKey(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * "Today", "Yesterday", "Monday, 3 March", or with the year when it is not this one.
 * @param {string} ts
 * @param {Date} now
 */
export function dayLabel(ts, now) {
  const d = new Date(ts);
  const today = dayKey(now.toISOString());
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  const key = dayKey(ts);
  if (key === today) return 'Today';
  if (key === dayKey(yesterday.toISOString())) return 'Yesterday';
  return d.getFullYear() === now.getFullYear() ? DAY_THIS_YEAR.format(d) : DAY_OTHER_YEAR.format(d);
}

/**
 * One or two letters for an avatar: the first letter of the first two words.
 * @param {string} name
 */
export function initials(name) {
  const words = name
    .trim()
    .split(/[\s._-]+/u)
    .filter((w) => w.length > 0);
  const letters = words.slice(0, 2).map((w) => [...w][0] ?? '');
  return letters.join('').toUpperCase() || '?';
}

/** How many avatar colours the stylesheet has (`.hue-0` … `.hue-7`). */
const HUES = 8;

/**
 * A stable colour class for a username (FNV-1a of its lower-case form).
 * @param {string} username
 */
export function hueClass(username) {
  let hash = 0x811c9dc5;
  for (const ch of username.toLowerCase()) {
    hash ^= /** @type {number} */ (ch.codePointAt(0));
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `hue-${hash % HUES}`;
}

/**
 * API.md: a direct message goes to `dm:<a>:<b>`, the two usernames lower case, sorted.
 * @param {string} a
 * @param {string} b
 */
export function dmRoomName(a, b) {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()].sort();
  return `dm:${x}:${y}`;
}

/** @param {string} room */
export function isDm(room) {
  return room.startsWith('dm:');
}

/**
 * The other participant of a DM room, lower case.
 * @param {string} room `dm:<a>:<b>`
 * @param {string} me my username
 */
export function dmPartner(room, me) {
  const [, a = '', b = ''] = room.split(':');
  return a === me.toLowerCase() ? b : a;
}

/**
 * @param {number} n
 * @param {string} one
 * @param {string} [many]
 */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** @param {string} text */
export function codePointLength(text) {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * "3 s", "2 min": a short wait for people.
 * @param {number} ms
 */
export function waitText(ms) {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}

/**
 * A `cmid`: 128 random bits in hex (API.md: 1 to 64 characters). getRandomValues
 * also works where crypto.randomUUID does not (a plain-http page).
 */
export function newCmid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Room names (API.md): 1–64 characters of A–Z a–z 0–9 _ - */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
