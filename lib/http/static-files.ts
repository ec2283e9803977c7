/**
 * Static files: maps a `GET`/`HEAD` request-target to a file under `public/`
 * and decides the response — status, header fields and either the bytes (small
 * files, cached) or a path and size to stream (large files). It writes to no
 * socket; the HTTP connection does that, adding `Date` and the security
 * headers (security-headers.ts) to whatever this module returns.
 *
 * Follows:
 * - RFC 3986 §2.1, §2.4, §3.3 and RFC 3629 §10: the path is split at `/`
 *   first, then each segment is percent-decoded exactly once and must be
 *   valid UTF-8. Anything odd is refused, never "cleaned up" (see
 *   `PATH_REFUSALS` for the whole table and its statuses).
 * - RFC 9110 §8.8.2 (Last-Modified), §8.8.3 (ETag), §13.1.2 (If-None-Match),
 *   §13.1.3 (If-Modified-Since), §13.2.2 (their order), §15.4.5 (304) and
 *   §5.6.7 (HTTP-date, all three formats).
 * - RFC 9111 §5.2.2.4: every file is sent `Cache-Control: no-cache` (see
 *   `CACHE_CONTROL` for why).
 *
 * Not done here, on purpose: `Range` is ignored and the whole file is sent
 * (RFC 9110 §14.2: "A server MAY ignore the Range header field"); there is no
 * redirect from `/dir` to `/dir/` (a directory named without the trailing
 * slash is 404). Not done yet: `If-Match` and `If-Unmodified-Since` are not
 * evaluated (they need a 412 status and error code the API does not define).
 *
 * The reactor never waits on the disk: every file system call is a promise
 * (libuv's thread pool), and the content hash of a cached file is computed by
 * WebCrypto, also off the loop thread.
 */
import { constants as fsConstants, promises as fsp, type BigIntStats } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { resolve as resolvePath, sep } from 'node:path';
import { HttpError } from './http-error.js';
import { contentTypeFor } from './mime-types.js';
import { headerValues, type RequestHead } from './request-head.js';
import type { HeaderPair } from './security-headers.js';

export { securityHeaders } from './security-headers.js';

/* ------------------------------------------------------------------------ *
 * Part 1. The request path → a file name (pure)
 * ------------------------------------------------------------------------ */

/** The file a path naming a folder (`/`, `/docs/`) stands for. */
export const INDEX_FILE = 'index.html';

/**
 * Why a path is refused, and what the client is told. 400 when the path is
 * malformed: it cannot be decoded, or decodes to a name no file of ours can
 * have, or it is not in the normal form a browser sends. 404 when it is a
 * well-formed name we do not serve.
 */
export const PATH_REFUSALS = Object.freeze({
  // RFC 9112 §3.2.1: origin-form starts with "/"; for an absolute-form target the caller passes only its path.
  'not-absolute-path': { status: 400, message: 'the path must start with "/"' },
  // RFC 3986 §3.3: a segment holds only pchar; space, `?`, `#`, non-ASCII and the like must be percent-encoded.
  'bad-character': { status: 400, message: 'the path holds a character that must be percent-encoded' },
  // RFC 3986 §2.1: pct-encoded = "%" HEXDIG HEXDIG.
  'bad-percent-encoding': { status: 400, message: 'a "%" in the path is not followed by two hex digits' },
  // RFC 3629 §10: overlong forms (%C0%AE for ".") and other invalid sequences are errors, never characters.
  'invalid-utf8': { status: 400, message: 'the decoded path is not valid UTF-8' },
  // An encoded "/" is data, not a separator (RFC 3986 §2.2); no file name of ours holds one.
  'encoded-slash': { status: 400, message: 'the path holds an encoded "/"' },
  // A Windows separator; refused raw or encoded so it can never become one.
  'backslash': { status: 400, message: 'the path holds a backslash' },
  // NUL ends a C string; control characters (Unicode Cc) are never part of our file names.
  'control-character': { status: 400, message: 'the path holds a control character' },
  // RFC 3986 §5.2.4: a client removes dot-segments before sending; one that arrives is not a browser's.
  'dot-segment': { status: 400, message: 'the path holds a "." or ".." segment' },
  'empty-segment': { status: 404, message: 'no such file' },
  // Dotfiles (.env, .git/) are never served, even when present in public/.
  'dotfile': { status: 404, message: 'no such file' },
} as const satisfies Record<string, { readonly status: 400 | 404; readonly message: string }>);

export type PathRefusal = keyof typeof PATH_REFUSALS;

/** A decoded request path: the file it names under public/, or why it is refused. */
export type StaticPath =
  | {
      readonly kind: 'file';
      /** Decoded segments, relative to public/, ending with INDEX_FILE for a folder. */
      readonly segments: readonly string[];
      /** `segments` joined with "/": the cache key. */
      readonly key: string;
    }
  | { readonly kind: 'refused'; readonly reason: PathRefusal };

/** RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@" (the `%` is checked by the decoder). */
const SEGMENT_CHARACTERS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%]*$/;
const HEX_DIGITS = /^[0-9A-Fa-f]{2}$/;
/** Unicode general category Cc: C0 controls (NUL included), DEL and C1 controls. */
const CONTROL_CHARACTER = /\p{Cc}/u;
const DOT_SEGMENTS: ReadonlySet<string> = new Set(['.', '..']);

/** `fatal`: an invalid sequence throws instead of becoming U+FFFD (WHATWG Encoding, "decode"). */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes the path part of a request-target (before `?`, still
 * percent-encoded) into the relative name of a file, or says why not.
 *
 *   1. It must be an absolute-path: "/" segment *( "/" segment ).
 *   2. Split at "/" BEFORE decoding (RFC 3986 §2.4: components "must be
 *      parsed and separated before the percent-encoded octets within those
 *      components can be safely decoded"), so `%2F` can never separate.
 *   3. Decode each segment exactly once (RFC 3986 §2.4: "Implementations must
 *      not percent-encode or decode the same string more than once"), so
 *      `%252e` stays the three characters `%2e`. The bytes must be UTF-8.
 *   4. Refuse malformed names (400), then names we do not serve (404).
 *   5. A last empty segment (a path ending in "/") names that folder's
 *      INDEX_FILE.
 */
export function parseStaticPath(pathname: string): StaticPath {
  const refuse = (reason: PathRefusal): StaticPath => ({ kind: 'refused', reason });

  // Step 1.
  if (!pathname.startsWith('/')) return refuse('not-absolute-path');

  // Step 2.
  const rawSegments = pathname.slice(1).split('/');

  // Step 3 and the 400s of step 4.
  const decoded: string[] = [];
  for (const raw of rawSegments) {
    if (raw.includes('\\')) return refuse('backslash');
    if (!SEGMENT_CHARACTERS.test(raw)) return refuse('bad-character');
    const segment = percentDecode(raw);
    if (typeof segment !== 'string') return refuse(segment.reason);
    if (segment.includes('/')) return refuse('encoded-slash');
    if (segment.includes('\\')) return refuse('backslash');
    if (CONTROL_CHARACTER.test(segment)) return refuse('control-character');
    if (DOT_SEGMENTS.has(segment)) return refuse('dot-segment');
    decoded.push(segment);
  }

  // Step 5: "/" and "/docs/" end in an empty segment.
  if (decoded[decoded.length - 1] === '') decoded[decoded.length - 1] = INDEX_FILE;

  // The 404s of step 4.
  for (const segment of decoded) {
    if (segment === '') return refuse('empty-segment');
    if (segment.startsWith('.')) return refuse('dotfile');
  }

  return { kind: 'file', segments: Object.freeze(decoded), key: decoded.join('/') };
}

/** RFC 3986 §2.1: each "%" HEXDIG HEXDIG is one octet; the octets together must be UTF-8 (RFC 3629). */
function percentDecode(raw: string): string | { readonly reason: 'bad-percent-encoding' | 'invalid-utf8' } {
  if (!raw.includes('%')) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '%') {
      bytes.push(raw.charCodeAt(i)); // ASCII: SEGMENT_CHARACTERS admitted nothing else
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!HEX_DIGITS.test(hex)) return { reason: 'bad-percent-encoding' };
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  try {
    return STRICT_UTF8.decode(Uint8Array.from(bytes));
  } catch (error) {
    // The fatal decoder throws a TypeError for every invalid sequence, overlong ones included.
    if (error instanceof TypeError) return { reason: 'invalid-utf8' };
    throw error;
  }
}

/** The HttpError a refused path is answered with. */
export function pathRefusalError(reason: PathRefusal): HttpError {
  const { status, message } = PATH_REFUSALS[reason];
  return new HttpError(status, status === 400 ? 'bad_request' : 'not_found', message);
}

/* ------------------------------------------------------------------------ *
 * Part 2. HTTP-date (RFC 9110 §5.6.7), pure
 * ------------------------------------------------------------------------ */

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const DAY = DAY_NAMES.join('|');
const LONG_DAY = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const MONTH = MONTH_NAMES.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

/**
 * The three formats of RFC 9110 §5.6.7, each with the order of its captured
 * fields. Names of days and months are case-sensitive (%s"..." in the ABNF).
 * The day name is redundant with the date and, like other servers, we do not
 * check that they agree.
 */
const HTTP_DATE_FORMATS = [
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  { name: 'IMF-fixdate', pattern: new RegExp(`^(?:${DAY}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`), order: ['day', 'month', 'year', 'hour', 'minute', 'second'] },
  // obsolete rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
  { name: 'rfc850-date', pattern: new RegExp(`^(?:${LONG_DAY}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`), order: ['day', 'month', 'year', 'hour', 'minute', 'second'] },
  // obsolete asctime-date: Sun Nov  6 08:49:37 1994
  { name: 'asctime-date', pattern: new RegExp(`^(?:${DAY}) (${MONTH}) (\\d{2}| \\d) ${TIME} (\\d{4})$`), order: ['month', 'day', 'hour', 'minute', 'second', 'year'] },
] as const;

type DateField = 'day' | 'month' | 'year' | 'hour' | 'minute' | 'second';

const MS_PER_SECOND = 1000;
/** RFC 9110 §5.6.7: a two-digit year "more than 50 years in the future" is in the past century. */
const RFC850_FUTURE_YEARS = 50;

/** IMF-fixdate (RFC 9110 §5.6.7), the one format a sender generates: `Sun, 06 Nov 1994 08:49:37 GMT`. */
export function formatHttpDate(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAY_NAMES[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTH_NAMES[d.getUTCMonth()]} ` +
    `${String(d.getUTCFullYear()).padStart(4, '0')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} GMT`
  );
}

/**
 * An HTTP-date in any of its three formats → milliseconds since the epoch,
 * or null when it is not a valid date. RFC 9110 §5.6.7: "A recipient that
 * parses a timestamp value in an HTTP field MUST accept all three HTTP-date
 * formats." `nowMs` is needed only to place rfc850-date's two-digit year.
 */
export function parseHttpDate(value: string, nowMs: number): number | null {
  for (const format of HTTP_DATE_FORMATS) {
    const match = format.pattern.exec(value);
    if (match === null) continue;
    const field = {} as Record<DateField, string>;
    format.order.forEach((name, i) => (field[name] = match[i + 1]!.trim()));

    let year = Number(field.year);
    if (format.name === 'rfc850-date') {
      const currentYear = new Date(nowMs).getUTCFullYear();
      year += currentYear - (currentYear % 100);
      if (year > currentYear + RFC850_FUTURE_YEARS) year -= 100;
    }
    const month = MONTH_NAMES.indexOf(field.month as (typeof MONTH_NAMES)[number]);
    const day = Number(field.day);
    const hour = Number(field.hour);
    const minute = Number(field.minute);
    const second = Number(field.second);
    // RFC 9110 §5.6.7: hour 00-23, minute 00-59, second 00-60 (a leap second); a real day of that month.
    if (hour > 23 || minute > 59 || second > 60) return null;
    if (day < 1 || day > daysInMonth(year, month)) return null;

    const date = new Date(0);
    date.setUTCFullYear(year, month, day); // not Date.UTC, which reads years 0-99 as 1900-1999
    date.setUTCHours(hour, minute, second, 0);
    return date.getTime();
  }
  return null;
}

function daysInMonth(year: number, monthIndex: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex + 1, 0); // day 0 of the next month is the last of this one
  return date.getUTCDate();
}

/* ------------------------------------------------------------------------ *
 * Part 3. Entity tags and conditional requests (RFC 9110 §8.8.3, §13), pure
 * ------------------------------------------------------------------------ */

export interface EntityTag {
  readonly weak: boolean;
  /** The opaque-tag with its double quotes, e.g. `"abc"`. */
  readonly opaque: string;
}

/** RFC 9110 §13.1.2: If-None-Match = "*" / #entity-tag. */
export type EntityTagCondition = { readonly kind: 'any' } | { readonly kind: 'tags'; readonly tags: readonly EntityTag[] };

/** RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text. (A comma is an etagc, so the list is not split at commas.) */
function isEtagChar(code: number): boolean {
  return code === 0x21 || (code >= 0x23 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}

const isOws = (ch: string | undefined): boolean => ch === ' ' || ch === '\t';

/**
 * Parses an If-None-Match field value (all its lines joined with ", ") into
 * `*` or a list of entity-tags, or null when it is not valid. An empty list
 * is valid (RFC 9110 §5.6.1) and matches nothing.
 */
export function parseEntityTagCondition(value: string): EntityTagCondition | null {
  if (value.trim() === '*') return { kind: 'any' };
  const tags: EntityTag[] = [];
  let i = 0;
  for (;;) {
    // Empty list elements and OWS between elements are allowed (RFC 9110 §5.6.1).
    while (i < value.length && (isOws(value[i]) || value[i] === ',')) i++;
    if (i === value.length) return { kind: 'tags', tags };

    // entity-tag = [ weak ] opaque-tag; weak = %s"W/"
    const weak = value.startsWith('W/', i);
    if (weak) i += 2;
    if (value[i] !== '"') return null;
    const start = i;
    i++;
    while (i < value.length && isEtagChar(value.charCodeAt(i))) i++;
    if (value[i] !== '"') return null;
    i++;
    tags.push({ weak, opaque: value.slice(start, i) });

    // After an element: OWS, then "," or the end.
    while (isOws(value[i])) i++;
    if (i < value.length && value[i] !== ',') return null;
  }
}

/** The validators of one version of a file. */
export interface Validators {
  /** A strong entity-tag, quoted. */
  readonly etag: string;
  /** The Last-Modified value we send, in whole seconds since the epoch. */
  readonly lastModifiedSeconds: number;
}

/**
 * RFC 9110 §13.2.2, steps 3 and 4, for a GET or HEAD: true when the answer
 * is 304 Not Modified.
 *
 *   3. If-None-Match present: the condition is false — so 304 — when it is
 *      `*` or when one of its tags matches ours by the weak comparison
 *      (§13.1.2: "A recipient MUST use the weak comparison function"). An
 *      unparsable value matches nothing.
 *   4. Else If-Modified-Since: 304 when the file was last modified at or
 *      before that date (§13.1.3), compared in whole seconds. Ignored when
 *      the value is not an HTTP-date or the field has more than one member.
 */
export function isNotModified(head: RequestHead, validators: Validators, nowMs: number): boolean {
  // Step 3.
  const ifNoneMatch = headerValues(head, 'if-none-match');
  if (ifNoneMatch.length > 0) {
    const condition = parseEntityTagCondition(ifNoneMatch.join(', '));
    if (condition === null) return false;
    if (condition.kind === 'any') return true;
    // §8.8.3.2 weak comparison: the opaque-tags are equal, whether either is marked weak or not.
    const ours = unquotedWeak(validators.etag);
    return condition.tags.some((tag) => tag.opaque === ours);
  }

  // Step 4. §13.1.3: "A recipient MUST ignore If-Modified-Since if the request
  // contains an If-None-Match header field" — hence only when step 3 did not run.
  const ifModifiedSince = headerValues(head, 'if-modified-since');
  if (ifModifiedSince.length !== 1) return false;
  const since = parseHttpDate(ifModifiedSince[0]!, nowMs);
  if (since === null) return false;
  return validators.lastModifiedSeconds * MS_PER_SECOND <= since;
}

/** Our own tags are strong, but compare by opaque-tag in any case. */
function unquotedWeak(etag: string): string {
  return etag.startsWith('W/') ? etag.slice(2) : etag;
}

/* ------------------------------------------------------------------------ *
 * Part 4. The file table (the I/O shell)
 * ------------------------------------------------------------------------ */

export interface StaticFilesOptions {
  /** The folder served at "/". */
  readonly publicDir: string;
  /** Files up to this size are read into memory and cached; larger ones are streamed. */
  readonly cacheMaxFileBytes: number;
  /** The cached bodies together never exceed this; the least recently used go first. */
  readonly cacheMaxBytes: number;
  /** A monotonic clock in milliseconds, for revalidation; tests pass a fake one. Default: performance.now. */
  readonly clock?: () => number;
}

export type StaticResponse =
  | {
      readonly kind: 'buffer';
      readonly status: 200 | 304;
      readonly headers: readonly HeaderPair[];
      /**
       * The whole file, shared with the cache: do not modify it. Empty for a
       * 304, and the caller sends no body for HEAD. The headers already hold
       * Content-Length for a 200; the caller must not add `Content-Length: 0`
       * to a 304 (RFC 9110 §8.6: there it may only state the 200's length).
       */
      readonly body: Buffer;
    }
  | {
      readonly kind: 'stream';
      readonly status: 200;
      readonly headers: readonly HeaderPair[];
      /**
       * The real path of the file. Send exactly `size` bytes with
       * backpressure, e.g. `createReadStream(path, { start: 0, end: size - 1 })`;
       * if the file ends sooner (it was truncated meanwhile), close the
       * connection, since Content-Length can no longer be met.
       */
      readonly path: string;
      readonly size: number;
    };

/**
 * `no-cache` on every file (RFC 9111 §5.2.2.4): a browser may keep a copy
 * but asks before each use, and with our ETag the answer is a 304 of a few
 * hundred bytes. We do not give CSS, scripts or images a `max-age`, because
 * their names carry no content hash: a browser could then pair a new release's
 * index.html with the last release's app.js until the max-age ran out.
 */
export const CACHE_CONTROL = 'no-cache';

/** RFC 9110 §9.3.1, §9.3.2: the methods that read a file. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);
const ALLOW_READ_METHODS = 'GET, HEAD';

/** How many raw request paths serveCached remembers the cache key of (a bound on its memory). */
const RAW_PATHS_REMEMBERED = 1024;
/** Longer paths are decoded every time: together these bound the memo to ~256 KiB of keys. */
const RAW_PATH_MAX_CHARS = 256;

/** A cached entry is trusted this long before the disk is asked again whether it changed. */
export const REVALIDATE_INTERVAL_MS = 1000;

/** Bytes of the SHA-256 digest kept in a content ETag: 128 bits, 22 base64url characters. */
const ETAG_DIGEST_BYTES = 16;

/** File system errors meaning "there is nothing we may serve at this name". */
const NOT_FOUND_ERRNO: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENAMETOOLONG', 'EISDIR']);

/**
 * Flags for opening a file to read.
 * O_NOFOLLOW: the path is already a real path; a symlink appearing there now
 * (swapped in after realpath) fails with ELOOP instead of being followed.
 * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer,
 * holding a thread-pool thread; it has no effect on regular files.
 */
const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

const EMPTY_BODY = Buffer.alloc(0);

/** What tells one version of a file from another: any change means a cached copy is stale. */
interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  /** Changes on every write and cannot be set back by a tool that preserves mtime. */
  readonly ctimeNs: bigint;
}

interface FileVersion extends Validators {
  readonly realPath: string;
  readonly identity: FileIdentity;
  readonly okHeaders: readonly HeaderPair[];
  readonly notModifiedHeaders: readonly HeaderPair[];
}

interface SmallFile extends FileVersion {
  readonly kind: 'small';
  readonly body: Buffer;
  /** Clock time of the last check against the disk. */
  checkedAt: number;
  /** The two answers this version can get, built once (serveCached hands them out as they are). */
  readonly ok: StaticResponse;
  readonly notModified: StaticResponse;
}

interface LargeFile extends FileVersion {
  readonly kind: 'large';
  readonly size: number;
}

type FileEntry = SmallFile | LargeFile;

export class StaticFiles {
  private readonly publicDir: string;
  /** Files up to this size are held in memory: no bigger than the whole cache may be. */
  private readonly bufferLimit: number;
  private readonly cacheMaxBytes: number;
  private readonly clock: () => number;

  /** Cache key → small file, in least-recently-used-first order (a Map keeps insertion order). */
  private readonly cache = new Map<string, SmallFile>();
  /** The key at the end of that order: a hit on it moves nothing (the common case of one hot file). */
  private newestKey: string | null = null;
  /**
   * Raw request path → cache key, for serveCached: parseStaticPath is pure, so
   * a path decoded once needs no decoding again. Bounded; emptied when full.
   */
  private readonly keyOfRawPath = new Map<string, string>();
  private cachedBytes = 0;
  /** Loads under way, so a burst of requests for one file reads it once. */
  private readonly loading = new Map<string, Promise<FileEntry>>();
  /** Bumped by clear(): a load started before it does not fill the new cache. */
  private generation = 0;
  private realRoot: Promise<string> | undefined;

  constructor(options: StaticFilesOptions) {
    for (const name of ['cacheMaxFileBytes', 'cacheMaxBytes'] as const) {
      const value = options[name];
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
    }
    this.publicDir = resolvePath(options.publicDir);
    this.bufferLimit = Math.min(options.cacheMaxFileBytes, options.cacheMaxBytes);
    this.cacheMaxBytes = options.cacheMaxBytes;
    this.clock = options.clock ?? (() => performance.now());
  }

  /**
   * Answers a GET or HEAD for `pathname`, the raw path part of the
   * request-target (before `?`, still percent-encoded).
   *
   *   1. Only GET and HEAD (else 405 with `Allow`).
   *   2. Decode the path (parseStaticPath; 400 or 404).
   *   3. Find the file's current version: from the cache if checked less than
   *      REVALIDATE_INTERVAL_MS ago, else from the disk (404 if not a regular
   *      file inside public/).
   *   4. Evaluate If-None-Match / If-Modified-Since (304), else 200.
   *
   * Rejects only with HttpError.
   */
  /**
   * serve()'s answer without a promise when it needs no disk: a GET or HEAD
   * for a path seen before, whose small file is cached and was checked less
   * than REVALIDATE_INTERVAL_MS ago. Null otherwise — then call serve(). The
   * answers are the file version's own objects: do not modify them.
   */
  serveCached(head: RequestHead, pathname: string): StaticResponse | null {
    if (!READ_METHODS.has(head.method)) return null;
    const key = this.keyOfRawPath.get(pathname);
    if (key === undefined) return null;
    const file = this.cache.get(key);
    if (file === undefined || this.clock() - file.checkedAt >= REVALIDATE_INTERVAL_MS) return null;
    this.touch(key, file);
    return isNotModified(head, file, Date.now()) ? file.notModified : file.ok;
  }

  async serve(head: RequestHead, pathname: string): Promise<StaticResponse> {
    // Step 1.
    if (!READ_METHODS.has(head.method)) {
      throw new HttpError(405, 'method_not_allowed', 'only GET and HEAD are allowed here', {
        headers: { Allow: ALLOW_READ_METHODS },
      });
    }

    // Step 2.
    const path = parseStaticPath(pathname);
    if (path.kind === 'refused') throw pathRefusalError(path.reason);
    if (pathname.length <= RAW_PATH_MAX_CHARS) {
      if (this.keyOfRawPath.size >= RAW_PATHS_REMEMBERED) this.keyOfRawPath.clear();
      this.keyOfRawPath.set(pathname, path.key);
    }

    // Step 3.
    const file = await this.current(path.segments, path.key);

    // Step 4.
    if (file.kind === 'small') return isNotModified(head, file, Date.now()) ? file.notModified : file.ok;
    if (isNotModified(head, file, Date.now())) {
      return { kind: 'buffer', status: 304, headers: file.notModifiedHeaders, body: EMPTY_BODY };
    }
    return { kind: 'stream', status: 200, headers: file.okHeaders, path: file.realPath, size: file.size };
  }

  /** Forgets every cached file and the resolved public folder (for a reload, or after files changed). */
  clear(): void {
    this.cache.clear();
    this.newestKey = null;
    this.keyOfRawPath.clear();
    this.cachedBytes = 0;
    this.loading.clear();
    this.generation++;
    this.realRoot = undefined;
  }

  /** The cached file if it was checked recently, else a (shared) load from the disk. */
  private current(segments: readonly string[], key: string): Promise<FileEntry> | FileEntry {
    const cached = this.cache.get(key);
    if (cached !== undefined && this.clock() - cached.checkedAt < REVALIDATE_INTERVAL_MS) {
      this.touch(key, cached);
      return cached;
    }
    const pending = this.loading.get(key);
    if (pending !== undefined) return pending;

    const load = this.load(segments, key, cached).finally(() => {
      if (this.loading.get(key) === load) this.loading.delete(key);
    });
    this.loading.set(key, load);
    return load;
  }

  /**
   * Finds the file on disk; keeps `previous` if it is still the same version,
   * else reads it afresh and caches it when small.
   */
  private async load(segments: readonly string[], key: string, previous: SmallFile | undefined): Promise<FileEntry> {
    const generation = this.generation;
    const realPath = await this.locate(segments);

    if (previous !== undefined && previous.realPath === realPath) {
      const stats = await fsCall(() => fsp.stat(realPath, { bigint: true }));
      if (sameIdentity(previous.identity, identityOf(stats))) {
        previous.checkedAt = this.clock();
        if (generation === this.generation) this.touch(key, previous);
        return previous;
      }
    }
    this.forget(key);

    const file = await this.read(realPath);
    if (file.kind === 'small' && generation === this.generation) this.remember(key, file);
    return file;
  }

  /**
   * The real path of a file named by decoded segments, which must lie inside
   * the real public folder. A symlink inside public/ is followed; one leading
   * out of it, or to a dotfile, is answered 404 as if nothing were there.
   */
  private async locate(segments: readonly string[]): Promise<string> {
    const root = await this.root();
    // parseStaticPath admits no separator and no dot-segment, so this stays under root; checked anyway.
    const candidate = resolvePath(root, ...segments);
    if (!isInside(root, candidate)) throw notFound();

    const realPath = await fsCall(() => fsp.realpath(candidate));
    if (!isInside(root, realPath)) throw notFound();
    const relative = realPath.slice(root.length).split(sep).filter((s) => s !== '');
    if (relative.some((segment) => segment.startsWith('.'))) throw notFound();
    return realPath;
  }

  private root(): Promise<string> {
    if (this.realRoot === undefined) {
      const resolving = fsCall(() => fsp.realpath(this.publicDir));
      // A failure (public/ missing) is not remembered: the next request tries again.
      resolving.catch(() => {
        if (this.realRoot === resolving) this.realRoot = undefined;
      });
      this.realRoot = resolving;
    }
    return this.realRoot;
  }

  /** Opens the file (it must be a regular file) and either reads it whole or describes it for streaming. */
  private async read(realPath: string): Promise<FileEntry> {
    const handle = await fsCall(() => fsp.open(realPath, OPEN_FLAGS));
    try {
      const stats = await fsCall(() => handle.stat({ bigint: true }));
      if (!stats.isFile()) throw notFound();
      const identity = identityOf(stats);
      const size = Number(stats.size);
      const lastModifiedSeconds = lastModifiedOf(stats, Date.now());
      const contentType = contentTypeFor(realPath);

      if (size > this.bufferLimit) {
        // RFC 9110 §8.8.3: a strong tag from what changes with every write, as most servers do for large files.
        const etag = `"${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}-${stats.ino.toString(16)}"`;
        return { kind: 'large', realPath, identity, size, etag, lastModifiedSeconds, ...responseHeaders(contentType, size, etag, lastModifiedSeconds) };
      }

      const body = await fsCall(() => readExactly(handle, size));
      if (body === null) {
        // Written to while we read it: refuse rather than serve a torn file. Deploy by renaming files into place.
        throw new HttpError(500, 'internal', 'the file changed while it was being read');
      }
      const etag = await contentEtag(body);
      const headers = responseHeaders(contentType, size, etag, lastModifiedSeconds);
      return {
        kind: 'small', realPath, identity, body, etag, lastModifiedSeconds, checkedAt: this.clock(), ...headers,
        ok: Object.freeze({ kind: 'buffer', status: 200, headers: headers.okHeaders, body }),
        notModified: Object.freeze({ kind: 'buffer', status: 304, headers: headers.notModifiedHeaders, body: EMPTY_BODY }),
      };
    } finally {
      await handle.close();
    }
  }

  /** Adds a small file to the cache, evicting the least recently used until it fits. */
  private remember(key: string, file: SmallFile): void {
    this.forget(key);
    if (file.body.length > this.cacheMaxBytes) return;
    for (const [oldestKey] of this.cache) {
      if (this.cachedBytes + file.body.length <= this.cacheMaxBytes) break;
      this.forget(oldestKey);
    }
    this.cache.set(key, file);
    this.newestKey = key;
    this.cachedBytes += file.body.length;
  }

  private forget(key: string): void {
    const old = this.cache.get(key);
    if (old === undefined) return;
    this.cache.delete(key);
    if (key === this.newestKey) this.newestKey = null;
    this.cachedBytes -= old.body.length;
  }

  /** Marks an entry most recently used: move it to the end of the Map's order. */
  private touch(key: string, file: SmallFile): void {
    if (key === this.newestKey || this.cache.get(key) !== file) return;
    this.cache.delete(key);
    this.cache.set(key, file);
    this.newestKey = key;
  }
}

/* ------------------------------------------------------------------------ *
 * Helpers of the shell
 * ------------------------------------------------------------------------ */

/** Whether `path` is `root` or below it. Both must be absolute and normalized. */
function isInside(root: string, path: string): boolean {
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path === root || path.startsWith(prefix);
}

function notFound(): HttpError {
  return new HttpError(404, 'not_found', 'no such file');
}

/**
 * Runs a file system call, turning its errors into HttpError: the "nothing
 * there" family into 404, anything else (EIO, EMFILE…) into 500. The
 * message never names the path.
 */
async function fsCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof HttpError) throw error;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === 'string' && NOT_FOUND_ERRNO.has(code)) throw notFound();
    throw new HttpError(500, 'internal', 'the file could not be read');
  }
}

/** Reads exactly `size` bytes from the start; null if the file turns out shorter or longer. */
async function readExactly(handle: fsp.FileHandle, size: number): Promise<Buffer | null> {
  const body = Buffer.alloc(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(body, filled, size - filled, filled);
    if (bytesRead === 0) return null;
    filled += bytesRead;
  }
  const probe = await handle.read(Buffer.alloc(1), 0, 1, size);
  return probe.bytesRead === 0 ? body : null;
}

/** A strong ETag from the content's SHA-256 (WebCrypto runs it off the loop thread). */
async function contentEtag(body: Buffer): Promise<string> {
  const digest = Buffer.from(await webcrypto.subtle.digest('SHA-256', body));
  return `"${digest.subarray(0, ETAG_DIGEST_BYTES).toString('base64url')}"`;
}

function identityOf(stats: BigIntStats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * Last-Modified in whole seconds. RFC 9110 §8.8.2.1: a time in the future
 * "MUST" be replaced by the message origination date, so it is capped at now.
 */
function lastModifiedOf(stats: BigIntStats, nowMs: number): number {
  const modified = Number(stats.mtimeNs / 1_000_000_000n);
  return Math.min(modified, Math.floor(nowMs / MS_PER_SECOND));
}

/** The header fields of a 200 and of a 304 for one version of a file, built once. */
function responseHeaders(
  contentType: string,
  size: number,
  etag: string,
  lastModifiedSeconds: number,
): { okHeaders: readonly HeaderPair[]; notModifiedHeaders: readonly HeaderPair[] } {
  const lastModified = formatHttpDate(lastModifiedSeconds * MS_PER_SECOND);
  // RFC 9110 §15.4.5: a 304 carries the ETag and Cache-Control a 200 would; Last-Modified helps
  // a cache that validates by date. Content-Type and Content-Length describe a body it has not.
  const validators: readonly HeaderPair[] = [
    ['ETag', etag],
    ['Last-Modified', lastModified],
    ['Cache-Control', CACHE_CONTROL],
  ];
  return {
    okHeaders: Object.freeze([['Content-Type', contentType], ['Content-Length', String(size)], ...validators] as const),
    notModifiedHeaders: Object.freeze([...validators]),
  };
}
