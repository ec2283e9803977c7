/**
 * The list of the most common passwords that API.md forbids ("not one of the
 * most common passwords (a list shipped with the project)").
 *
 * The list is `common-passwords.txt` beside this file's source: one password a
 * line, '#' lines are comments (its header names the source and license).
 * It is read once, at first use or when `loadCommonPasswords()` is called at
 * start-up, into a Set of lower-cased entries; look-ups lower-case too, so
 * "PassWord1" matches "password1".
 *
 * Where the file is found: the compiled module runs from
 * `dist/lib/accounts/`, and tsc copies no .txt files, so the source tree's copy
 * (`../../../lib/accounts/` from there) is tried after the file beside the
 * module (which is where it is when running from source). A missing list
 * throws: silently accepting every password would be worse than not starting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LIST_FILE_NAME = 'common-passwords.txt';
const COMMENT_PREFIX = '#';

/** Where the list may be, in the order tried (see the file header). */
export const COMMON_PASSWORDS_CANDIDATES: readonly URL[] = [
  new URL(`./${LIST_FILE_NAME}`, import.meta.url),
  new URL(`../../../lib/accounts/${LIST_FILE_NAME}`, import.meta.url),
];

let loaded: ReadonlySet<string> | null = null;

/** Parse the list's text: one entry a line, '#' comments and blank lines skipped, lower-cased. */
export function parseCommonPasswords(text: string): ReadonlySet<string> {
  const entries = new Set<string>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.length === 0 || line.startsWith(COMMENT_PREFIX)) continue;
    entries.add(line.toLowerCase());
  }
  return entries;
}

/**
 * Read the list once and keep it. Synchronous and about 100 KB: call it at
 * start-up so no request pays for the read.
 */
export function loadCommonPasswords(): ReadonlySet<string> {
  if (loaded !== null) return loaded;
  const found = COMMON_PASSWORDS_CANDIDATES.find((url) => existsSync(url));
  if (found === undefined) {
    const tried = COMMON_PASSWORDS_CANDIDATES.map((url) => fileURLToPath(url)).join(', ');
    throw new Error(`${LIST_FILE_NAME} not found (tried ${tried})`);
  }
  loaded = parseCommonPasswords(readFileSync(found, 'utf8'));
  return loaded;
}

/** True when `password`, lower-cased, is on the list. */
export function isCommonPassword(password: string): boolean {
  return loadCommonPasswords().has(password.toLowerCase());
}
