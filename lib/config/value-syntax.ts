/**
 * How one value of `server.conf` is written, read and printed, per type of the
 * schema (`schema.ts`). Pure functions: text in, a typed value or a message
 * for the operator out.
 *
 * The syntax, as documented in `docs/configuration-keys.md`:
 *   integer   decimal digits: 10000
 *   boolean   on/off, true/false, yes/no (any letter case)
 *   duration  a whole number and a unit, ms s m h d: 250ms, 10s, 5m, 1h, 7d.
 *             A bare number is refused: "30" could mean seconds or ms.
 *   size      bytes, or a whole number and a binary unit, B KiB MiB GiB: 64KiB.
 *             KB, MB, GB (and K, M, G) are refused as ambiguous (1000 or 1024?).
 *   list      comma-separated items, each trimmed; empty is the empty list
 *   enum      one of the listed words, exactly
 *   string / path: the text as written; no control characters
 *
 * Messages quote the offending value, except for secret keys (STYLE.md habit
 * 15): those say "the value" instead.
 */
import { isIP } from 'node:net';
import { nearest } from './edit-distance.js';
import {
  DAY, GiB, HOUR, KiB, MiB, MINUTE, SECOND,
  type KeySpec, type ListSpec, type TextFormat, type TextSpec,
} from './schema.js';

/** A parsed value, or what is wrong with the text. */
export type ValueResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string };

/** Whatever a key may hold: number (integer, ms, bytes), boolean, text, list. */
export type ConfigValue = number | boolean | string | readonly string[];

const ok = <T>(value: T): ValueResult<T> => ({ ok: true, value });
const fail = (message: string): ValueResult<never> => ({ ok: false, message });

// ---------------------------------------------------------------------------
// Units and words, as tables.
// ---------------------------------------------------------------------------

/** Duration units, largest first (the printer picks the largest exact one). */
export const DURATION_UNITS = [
  ['d', DAY],
  ['h', HOUR],
  ['m', MINUTE],
  ['s', SECOND],
  ['ms', 1],
] as const;

/** Size units, largest first. Binary only: 1KiB = 1024 bytes. */
export const SIZE_UNITS = [
  ['GiB', GiB],
  ['MiB', MiB],
  ['KiB', KiB],
  ['B', 1],
] as const;

/**
 * Units refused because half the world reads them as powers of 1000 and the
 * other half as powers of 1024; the message suggests the binary unit. Keys
 * are lower case: every spelling (kb, KB, Kb) is refused alike.
 */
const AMBIGUOUS_SIZE_UNITS: Readonly<Record<string, string>> = {
  k: 'KiB', kb: 'KiB', m: 'MiB', mb: 'MiB', g: 'GiB', gb: 'GiB',
};

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  on: true, off: false, true: true, false: false, yes: true, no: false,
};

/** A whole number, optionally followed by a unit made of letters. */
const NUMBER_AND_UNIT = /^(\d+)\s*([A-Za-z]*)$/;
const WHOLE_NUMBER = /^-?\d+$/;

/** Unicode category Cc (C0, DEL, C1): never meaningful in a value, and they corrupt log lines. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

// ---------------------------------------------------------------------------
// Parsing one value.
// ---------------------------------------------------------------------------

/**
 * Parses the text of one value for `spec`: its syntax, then its range or
 * format. The message names the value (or "the value" for a secret) and what
 * would have been accepted; the caller prefixes file, line and key.
 */
export function parseValue(spec: KeySpec, raw: string): ValueResult<ConfigValue> {
  const shown = spec.secret === true ? 'the value' : JSON.stringify(raw);
  if (CONTROL_CHARACTER.test(raw)) return fail(`${shown} contains a control character`);
  if (isQuoted(raw)) return fail(`${shown} is in quotes; values are written without quotes`);

  switch (spec.type) {
    case 'integer': {
      if (!WHOLE_NUMBER.test(raw)) return fail(`${shown} is not a whole number; accepted ${describeAccepted(spec)}`);
      return inRange(spec, Number(raw), shown);
    }
    case 'duration': {
      const ms = parseDuration(raw, shown);
      return ms.ok ? inRange(spec, ms.value, shown) : ms;
    }
    case 'size': {
      const bytes = parseSize(raw, shown);
      return bytes.ok ? inRange(spec, bytes.value, shown) : bytes;
    }
    case 'boolean': {
      const value = BOOLEAN_WORDS[raw.toLowerCase()];
      if (value === undefined) return fail(`${shown} is not a boolean; write on or off (true/false and yes/no work too)`);
      return ok(value);
    }
    case 'enum': {
      if ((spec.choices as readonly string[]).includes(raw)) return ok(raw);
      return fail(`${shown} is not one of ${spec.choices.join(', ')}${didYouMean(raw, spec.choices)}`);
    }
    case 'string':
    case 'path':
      return parseText(spec, raw, shown);
    case 'list':
      return parseList(spec, raw);
  }
}

/** A duration in milliseconds. */
export function parseDuration(raw: string, shown = JSON.stringify(raw)): ValueResult<number> {
  const match = NUMBER_AND_UNIT.exec(raw);
  const units = DURATION_UNITS.map(([unit]) => unit).reverse().join(', ');
  if (match === null) return fail(`${shown} is not a duration; write a whole number and a unit (${units}), e.g. 250ms, 10s, 5m`);
  const [, digits, unit] = match as unknown as [string, string, string];
  if (unit === '') return fail(`${shown} has no unit; write e.g. ${digits}s or ${digits}ms (units: ${units})`);
  const factor = DURATION_UNITS.find(([name]) => name === unit)?.[1];
  if (factor === undefined) return fail(`${shown} has an unknown unit "${unit}"; units are ${units}`);
  return safeProduct(Number(digits), factor, shown);
}

/** A size in bytes. */
export function parseSize(raw: string, shown = JSON.stringify(raw)): ValueResult<number> {
  const match = NUMBER_AND_UNIT.exec(raw);
  const units = SIZE_UNITS.map(([unit]) => unit).reverse().join(', ');
  if (match === null) return fail(`${shown} is not a size; write bytes, or a whole number and a unit (${units}), e.g. 64KiB`);
  const [, digits, unit] = match as unknown as [string, string, string];
  if (unit === '') return safeProduct(Number(digits), 1, shown);
  const factor = SIZE_UNITS.find(([name]) => name === unit)?.[1];
  if (factor !== undefined) return safeProduct(Number(digits), factor, shown);
  const binary = AMBIGUOUS_SIZE_UNITS[unit.toLowerCase()];
  if (binary !== undefined) {
    return fail(`${shown} is ambiguous (1000 or 1024?); write ${digits}${binary} for binary units, or the number of bytes`);
  }
  return fail(`${shown} has an unknown unit "${unit}"; units are ${units}`);
}

function safeProduct(n: number, factor: number, shown: string): ValueResult<number> {
  const value = n * factor;
  if (!Number.isSafeInteger(value)) return fail(`${shown} is too large`);
  return ok(value);
}

function inRange(spec: KeySpec & { min: number; max: number }, value: number, shown: string): ValueResult<number> {
  if (!Number.isSafeInteger(value)) return fail(`${shown} is too large; accepted ${describeAccepted(spec)}`);
  if (value < spec.min || value > spec.max) return fail(`${shown} is out of range; accepted ${describeAccepted(spec)}`);
  return ok(value);
}

function parseText(spec: KeySpec & TextSpec, raw: string, shown: string): ValueResult<string> {
  if (raw === '') return spec.allowEmpty ? ok('') : fail('needs a value; it cannot be empty');
  const length = [...raw].length;
  if (spec.minLength !== undefined && length < spec.minLength) {
    return fail(`${shown} is too short (${length} characters); at least ${spec.minLength}`);
  }
  if (spec.maxLength !== undefined && length > spec.maxLength) {
    return fail(`${shown} is too long (${length} characters); at most ${spec.maxLength}`);
  }
  return spec.format === undefined ? ok(raw) : FORMATS[spec.format].parse(raw, shown);
}

function parseList(spec: KeySpec & ListSpec, raw: string): ValueResult<readonly string[]> {
  if (raw === '') return ok(Object.freeze([]));
  const items = raw.split(',').map((item) => item.trim());
  if (items.includes('')) return fail(`${JSON.stringify(raw)} has an empty item; separate items with single commas`);
  const values: string[] = [];
  for (const item of items) {
    const shown = JSON.stringify(item);
    if (spec.choices !== undefined && !spec.choices.includes(item)) {
      return fail(`${shown} is not one of ${spec.choices.join(', ')}${didYouMean(item, spec.choices)}`);
    }
    if (spec.format !== undefined) {
      const parsed = FORMATS[spec.format].parse(item, shown);
      if (!parsed.ok) return parsed;
      values.push(parsed.value);
    } else {
      values.push(item);
    }
  }
  return ok(Object.freeze(values));
}

function isQuoted(raw: string): boolean {
  return raw.length >= 2 && (raw[0] === '"' || raw[0] === "'") && raw.at(-1) === raw[0];
}

function didYouMean(word: string, choices: readonly string[]): string {
  const suggestion = nearest(word, choices);
  return suggestion === undefined ? '' : ` — did you mean "${suggestion}"?`;
}

// ---------------------------------------------------------------------------
// Formats of text values (and list items), as a table.
// ---------------------------------------------------------------------------

interface Format {
  /** What the reference says is accepted: one value, and the items of a list. */
  readonly describe: string;
  readonly describeMany: string;
  /** The normalized value, or the message; `shown` is the quoted value or "the value". */
  parse(text: string, shown: string): ValueResult<string>;
}

/**
 * A host name: dot-separated labels of letters, digits and inner hyphens, each
 * 1–63 characters, 253 in all (RFC 1123 §2.1, RFC 1035 §2.3.4).
 */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * RFC 6454 §6.2: an origin is serialized as scheme "://" host [ ":" port ],
 * with no path, lower case, and the port omitted when it is the scheme's default.
 */
const ORIGIN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[0-9A-Fa-f:.]+\]|[^/:?#[\]@\s]+)(?::(\d{1,5}))?$/;
const ORIGIN_WITH_PATH = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]+\/.*$/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/** RFC 3986 §3.3: path-absolute, made of pchar ("/" and unreserved, sub-delims, ":", "@", pct-encoded). */
const URL_PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;

/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

const MAX_PREFIX = { 4: 32, 6: 128 } as const;

const FORMATS: Readonly<Record<TextFormat, Format>> = {
  host: {
    describe: 'an IP address or a host name',
    describeMany: 'IP addresses or host names',
    parse(text, shown) {
      if (isIP(text) !== 0 || HOST_NAME.test(text)) return ok(text);
      if (text.startsWith('[') && text.endsWith(']') && isIP(text.slice(1, -1)) === 6) {
        return fail(`${shown} is in brackets; write the IPv6 address without them: ${text.slice(1, -1)}`);
      }
      return fail(`${shown} is not an IP address or a host name`);
    },
  },
  origin: {
    describe: 'an origin, scheme://host[:port]',
    describeMany: 'origins, scheme://host[:port]',
    parse(text, shown) {
      const match = ORIGIN.exec(text);
      if (match === null) {
        if (ORIGIN_WITH_PATH.test(text)) return fail(`${shown} has a path; an origin is scheme://host[:port] with nothing after it`);
        return fail(`${shown} is not an origin; write scheme://host[:port], e.g. https://chat.example.com`);
      }
      const [, rawScheme, rawHost, port] = match as unknown as [string, string, string, string | undefined];
      const scheme = rawScheme.toLowerCase();
      const host = rawHost.toLowerCase();
      if (DEFAULT_PORTS[scheme] === undefined) return fail(`${shown} has scheme "${scheme}"; browsers send http or https origins`);
      const hostOk = host.startsWith('[') ? isIP(host.slice(1, -1)) === 6 : isIP(host) === 4 || HOST_NAME.test(host);
      if (!hostOk) return fail(`${shown} does not have a valid host`);
      if (port !== undefined && (Number(port) < 1 || Number(port) > 65535 || port.startsWith('0'))) {
        return fail(`${shown} has an invalid port; 1–65535`);
      }
      // RFC 6454 §6.2: the default port is omitted, so compare it that way.
      const portPart = port === undefined || port === DEFAULT_PORTS[scheme] ? '' : `:${port}`;
      return ok(`${scheme}://${host}${portPart}`);
    },
  },
  'ip-or-cidr': {
    describe: 'an IP address or a CIDR block',
    describeMany: 'IP addresses or CIDR blocks (10.0.0.0/8)',
    parse(text, shown) {
      const slash = text.indexOf('/');
      const address = slash === -1 ? text : text.slice(0, slash);
      const family = isIP(address);
      if (family === 0) return fail(`${shown} is not an IP address or a CIDR block (e.g. 10.0.0.0/8)`);
      if (slash === -1) return ok(text);
      const prefix = text.slice(slash + 1);
      // RFC 4632 §3.1: the prefix length counts the leading bits of the address.
      if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > MAX_PREFIX[family as 4 | 6]) {
        return fail(`${shown} has an invalid prefix length; 0–${MAX_PREFIX[family as 4 | 6]} for IPv${family}`);
      }
      return ok(text);
    },
  },
  'url-path': {
    describe: 'a path like /echo',
    describeMany: 'paths like /echo',
    parse(text, shown) {
      if (!URL_PATH.test(text)) return fail(`${shown} is not a URL path; write it like /echo`);
      if (text.split('/').some((segment) => segment === '.' || segment === '..')) {
        return fail(`${shown} has a . or .. segment`);
      }
      return ok(text);
    },
  },
  token68: {
    describe: 'a Bearer token (letters, digits, - . _ ~ + /)',
    describeMany: 'Bearer tokens (letters, digits, - . _ ~ + /)',
    parse(text, shown) {
      if (!TOKEN68.test(text)) return fail(`${shown} has characters a Bearer token cannot carry; use letters, digits and - . _ ~ + /`);
      return ok(text);
    },
  },
};

// ---------------------------------------------------------------------------
// Printing: values as an operator would write them.
// ---------------------------------------------------------------------------

/** Milliseconds in the largest unit that divides them: 300000 → "5m", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, factor] of DURATION_UNITS) if (ms % factor === 0) return `${ms / factor}${unit}`;
  return `${ms}ms`;
}

/** Bytes in the largest binary unit that divides them: 65536 → "64KiB", 100 → "100B". */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0B';
  for (const [unit, factor] of SIZE_UNITS) if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  return `${bytes}B`;
}

/** A value written back in `server.conf` syntax (lists as "a, b"; empty as ""). */
export function formatValue(spec: KeySpec, value: ConfigValue): string {
  switch (spec.type) {
    case 'duration':
      return formatDuration(value as number);
    case 'size':
      return formatSize(value as number);
    case 'boolean':
      return value === true ? 'on' : 'off';
    case 'list':
      return (value as readonly string[]).join(', ');
    case 'integer':
    case 'enum':
    case 'string':
    case 'path':
      return String(value);
  }
}

/** What a key accepts, for messages and the reference: "1–1000000 connections", "100ms–5m". */
export function describeAccepted(spec: KeySpec): string {
  switch (spec.type) {
    case 'integer':
      return `${spec.min}–${spec.max}${spec.unit === undefined ? '' : ` ${spec.unit}`}`;
    case 'duration':
      return `${formatDuration(spec.min)}–${formatDuration(spec.max)}`;
    case 'size':
      return `${formatSize(spec.min)}–${formatSize(spec.max)}`;
    case 'boolean':
      return 'on or off';
    case 'enum':
      return `one of ${spec.choices.join(', ')}`;
    case 'list': {
      const items = spec.choices !== undefined
        ? `any of ${spec.choices.join(', ')}`
        : spec.format !== undefined ? FORMATS[spec.format].describeMany : 'any items';
      return `comma-separated ${items}`;
    }
    case 'string':
    case 'path': {
      const what = spec.format !== undefined ? FORMATS[spec.format].describe : spec.type === 'path' ? 'a path' : 'text';
      const lengths =
        spec.minLength !== undefined && spec.maxLength !== undefined ? ` of ${spec.minLength}–${spec.maxLength} characters`
        : spec.maxLength !== undefined ? ` of at most ${spec.maxLength} characters`
        : spec.minLength !== undefined ? ` of at least ${spec.minLength} characters`
        : '';
      return `${what}${lengths}${spec.allowEmpty ? ', or empty' : ''}`;
    }
  }
}
