/**
 * The rules for usernames, passwords and display names (API.md "HTTP
 * endpoints"), as pure functions: each takes what came in the JSON body and
 * returns the value to store, or an `Invalid` naming the field and saying,
 * for a person, what is wrong. The HTTP layer turns an `Invalid` into
 * 400 `validation_failed` with `field`.
 *
 * Lengths are counted in Unicode code points (`[...s].length`), and "white
 * space" is Unicode White_Space, as API.md "Transport" says. Messages never
 * repeat the value that was given: it may be a password.
 */
import { isCommonPassword } from './common-passwords.js';

export interface Invalid {
  readonly field: string;
  readonly message: string;
}

/** The rules as data: limits and character sets. */
export const USERNAME_RULE = {
  minLength: 3,
  maxLength: 32,
  /** A–Z a–z 0–9 _ . - (ASCII only, so lower-casing is simple and total). */
  pattern: /^[A-Za-z0-9_.-]+$/,
} as const;

export const PASSWORD_RULE = { minLength: 8, maxLength: 256 } as const;

export const DISPLAY_NAME_RULE = {
  minLength: 1,
  maxLength: 64,
  /** Unicode White_Space at either end, removed before the other checks. */
  outerWhiteSpace: /^[\p{White_Space}]+|[\p{White_Space}]+$/gu,
  /** Unicode general category Cc (C0 and C1 controls, DEL). */
  control: /\p{Cc}/u,
} as const;

/**
 * A surrogate code unit that is not half of a pair: such a string has no UTF-8
 * form (it would be stored and hashed as U+FFFD), so it is refused.
 */
const LONE_SURROGATE = /\p{Cs}/u;

/** Type guard for the failure side of the validators. */
export function isInvalid(result: string | Invalid): result is Invalid {
  return typeof result !== 'string';
}

function codePointLength(text: string): number {
  return [...text].length;
}

/**
 * The form a username is matched in (login, `to`, DMs): usernames are "matched
 * without regard to case", and being ASCII-only, lower-casing is exact.
 */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

/** A username is kept as typed: 3–32 characters of A–Z a–z 0–9 _ . - */
export function validateUsername(raw: unknown): string | Invalid {
  const invalid: Invalid = {
    field: 'username',
    message: `username must be ${USERNAME_RULE.minLength}–${USERNAME_RULE.maxLength} characters of A–Z a–z 0–9 _ . -`,
  };
  if (typeof raw !== 'string') return invalid;
  const length = codePointLength(raw);
  if (length < USERNAME_RULE.minLength || length > USERNAME_RULE.maxLength) return invalid;
  if (!USERNAME_RULE.pattern.test(raw)) return invalid;
  return raw;
}

/**
 * A password: 8–256 characters, not the username in any case, not on the
 * common-password list (compared lower-cased). `field` names the body field
 * for the error: `password` at registration, `new_password` in `PUT /me`.
 */
export function validatePassword(password: unknown, username: string, field = 'password'): string | Invalid {
  if (typeof password !== 'string') return { field, message: `${field} must be a string` };
  const length = codePointLength(password);
  if (length < PASSWORD_RULE.minLength || length > PASSWORD_RULE.maxLength) {
    return { field, message: `${field} must be ${PASSWORD_RULE.minLength}–${PASSWORD_RULE.maxLength} characters` };
  }
  if (LONE_SURROGATE.test(password)) return { field, message: `${field} must be valid Unicode text` };
  const lowered = password.toLowerCase();
  if (lowered === username.toLowerCase()) return { field, message: `${field} must not be the username` };
  if (isCommonPassword(lowered)) return { field, message: `${field} is too common: choose another` };
  return password;
}

/**
 * A display name: trimmed of white space, then 1–64 characters, none of them
 * a control character. Returns the trimmed name. (When the body has no
 * `display_name` the caller uses the username instead: that default is not
 * this function's business.)
 */
export function validateDisplayName(raw: unknown): string | Invalid {
  const field = 'display_name';
  if (typeof raw !== 'string') return { field, message: 'display_name must be a string' };
  const trimmed = raw.replace(DISPLAY_NAME_RULE.outerWhiteSpace, '');
  const length = codePointLength(trimmed);
  if (length < DISPLAY_NAME_RULE.minLength || length > DISPLAY_NAME_RULE.maxLength) {
    return {
      field,
      message: `display_name must be ${DISPLAY_NAME_RULE.minLength}–${DISPLAY_NAME_RULE.maxLength} characters after trimming white space`,
    };
  }
  if (DISPLAY_NAME_RULE.control.test(trimmed)) return { field, message: 'display_name must not contain control characters' };
  if (LONE_SURROGATE.test(trimmed)) return { field, message: 'display_name must be valid Unicode text' };
  return trimmed;
}
