/**
 * Rules between keys, as data (STYLE.md habit 3). Each value may be fine on
 * its own and still make no sense next to another one: a per-address cap
 * above the global cap, a pong timeout longer than the ping interval.
 *
 * A rule names the keys it reads; the parser reports a broken rule at the
 * line of the first of those keys set in the file, and skips a rule when one
 * of its keys already has a problem of its own (its default would stand in
 * and the message would mislead).
 */
import { formatDuration, formatSize } from './value-syntax.js';
import type { Config, ConfigKey } from './schema.js';

export interface CrossRule {
  /** The keys the rule reads; the first one set in the file is where a problem is reported. */
  readonly keys: readonly ConfigKey[];
  /** What is wrong, or undefined when the rule holds. */
  readonly problem: (config: Config) => string | undefined;
}

/** UTF-8 needs at most 4 bytes per code point (RFC 3629 §3). */
const MAX_UTF8_BYTES_PER_CODE_POINT = 4;
/** Room for the JSON around a text: {"type":"send","room":…,"ref":…,"cmid":…}. */
const SEND_ENVELOPE_BYTES = 1024;

/**
 * Paths the server routes itself (API.md "HTTP endpoints", "WebSocket"); the
 * echo and broadcast endpoints must not hide one of them.
 */
export const RESERVED_PATHS: ReadonlySet<string> = new Set([
  '/', '/ws', '/register', '/login', '/me', '/logout', '/token', '/healthz', '/metrics',
]);

export const CROSS_RULES: readonly CrossRule[] = [
  {
    keys: ['max_connections_per_ip', 'max_connections'],
    problem: (c) =>
      c.max_connections_per_ip > c.max_connections
        ? `max_connections_per_ip (${c.max_connections_per_ip}) is more than max_connections (${c.max_connections})`
        : undefined,
  },
  {
    // A Pong that may arrive after the next Ping is due could never be told
    // apart from a slow answer to that Ping (RFC 6455 §5.5.3).
    keys: ['ws_pong_timeout', 'ws_ping_interval'],
    problem: (c) =>
      c.ws_pong_timeout >= c.ws_ping_interval
        ? `ws_pong_timeout (${formatDuration(c.ws_pong_timeout)}) must be shorter than ws_ping_interval (${formatDuration(c.ws_ping_interval)})`
        : undefined,
  },
  {
    keys: ['cert_file', 'key_file'],
    problem: (c) =>
      (c.cert_file === '') !== (c.key_file === '')
        ? 'cert_file and key_file go together: set both, or leave both empty for a self-signed certificate'
        : undefined,
  },
  {
    keys: ['static_cache_max_file_bytes', 'static_cache_max_bytes'],
    problem: (c) =>
      c.static_cache_max_file_bytes > c.static_cache_max_bytes
        ? `static_cache_max_file_bytes (${formatSize(c.static_cache_max_file_bytes)}) is more than static_cache_max_bytes (${formatSize(c.static_cache_max_bytes)})`
        : undefined,
  },
  {
    keys: ['token_ttl', 'session_max_age'],
    problem: (c) =>
      c.token_ttl > c.session_max_age
        ? `token_ttl (${formatDuration(c.token_ttl)}) is longer than session_max_age (${formatDuration(c.session_max_age)})`
        : undefined,
  },
  {
    keys: ['token_leeway', 'token_ttl'],
    problem: (c) =>
      c.token_leeway >= c.token_ttl
        ? `token_leeway (${formatDuration(c.token_leeway)}) must be shorter than token_ttl (${formatDuration(c.token_ttl)})`
        : undefined,
  },
  {
    keys: ['max_text_chars', 'ws_max_message_bytes'],
    problem: (c) => {
      const needed = c.max_text_chars * MAX_UTF8_BYTES_PER_CODE_POINT + SEND_ENVELOPE_BYTES;
      return c.ws_max_message_bytes < needed
        ? `a text of max_text_chars (${c.max_text_chars}) code points can take ${needed} bytes in a send message ` +
            `(4 bytes each in UTF-8, RFC 3629 §3, plus ${SEND_ENVELOPE_BYTES} for the JSON); ` +
            `ws_max_message_bytes is ${c.ws_max_message_bytes}`
        : undefined;
    },
  },
  {
    keys: ['ws_echo_path'],
    problem: (c) =>
      RESERVED_PATHS.has(c.ws_echo_path)
        ? `ws_echo_path "${c.ws_echo_path}" is a path the server already routes; pick another, e.g. /echo`
        : undefined,
  },
  {
    keys: ['ws_broadcast_path'],
    problem: (c) =>
      RESERVED_PATHS.has(c.ws_broadcast_path)
        ? `ws_broadcast_path "${c.ws_broadcast_path}" is a path the server already routes; pick another, e.g. /broadcast`
        : undefined,
  },
  {
    // One path, one endpoint: the upgrader keeps one endpoint per path, so the
    // one mounted last would silently replace the other.
    keys: ['ws_broadcast_path', 'ws_echo_path'],
    problem: (c) =>
      c.ws_broadcast_path !== '' && c.ws_broadcast_path === c.ws_echo_path
        ? `ws_broadcast_path and ws_echo_path are both "${c.ws_broadcast_path}"; give each endpoint its own path, e.g. /broadcast and /echo`
        : undefined,
  },
];
