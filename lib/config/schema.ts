/**
 * The keys of `server.conf`, as data (STYLE.md habit 3: rules as data).
 *
 * Every limit of the server is a number in this table (DESIGN.md "Every limit
 * is a number in server.conf"). One table drives everything else: the parser
 * (`parse.ts`) checks types and ranges from it, `--check-config` prints it,
 * and `reference.ts` writes the shipped `server.conf` and
 * `docs/configuration-keys.md` from it, so the three cannot drift apart.
 *
 * `Config` below is written out by hand so that readers of other layers see
 * plain property names and types (`config.header_timeout` is milliseconds,
 * `config.max_body_bytes` is bytes). A compile-time check at the end of this
 * file proves that every `Config` property has exactly one schema entry whose
 * default has the property's type.
 *
 * `SECRET_KEY` (the JWT signing key) is deliberately NOT a key: it comes from
 * the environment (API.md "Tokens"), so it never sits in a file that gets
 * copied, committed or printed by `--check-config`.
 */

// ---------------------------------------------------------------------------
// Units. Durations are held in milliseconds, sizes in bytes.
// ---------------------------------------------------------------------------

export const MILLISECOND = 1;
export const SECOND = 1000 * MILLISECOND;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Binary size units (IEC 80000-13): KiB is 1024 bytes, never 1000. */
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

// ---------------------------------------------------------------------------
// The typed configuration every other layer reads.
// ---------------------------------------------------------------------------

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** The layers whose protocol traffic the learner's trace can show. */
export type TraceLayer = 'http' | 'ws';
export const TRACE_LAYERS: readonly TraceLayer[] = ['http', 'ws'];

export interface Config {
  // Listener and files
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly cert_file: string;
  readonly key_file: string;
  readonly data_dir: string;
  readonly db_path: string;
  readonly public_dir: string;
  readonly public_origin: string;
  readonly allowed_origins: readonly string[];
  // Connections
  readonly max_connections: number;
  readonly max_connections_per_ip: number;
  readonly connection_rate: number;
  readonly connection_burst: number;
  readonly max_tracked_addresses: number;
  readonly trust_proxy: readonly string[];
  // Timeouts (milliseconds)
  readonly tls_handshake_timeout: number;
  readonly header_timeout: number;
  readonly keepalive_timeout: number;
  readonly body_timeout: number;
  readonly sweep_interval: number;
  readonly drain_timeout: number;
  // HTTP sizes (bytes, except the counts)
  readonly max_request_line_bytes: number;
  readonly max_header_bytes: number;
  readonly max_header_count: number;
  readonly max_body_bytes: number;
  readonly max_pipelined_requests: number;
  readonly static_cache_max_file_bytes: number;
  readonly static_cache_max_bytes: number;
  // WebSocket
  readonly ws_max_message_bytes: number;
  readonly ws_max_buffered_bytes: number;
  readonly ws_ping_interval: number;
  readonly ws_pong_timeout: number;
  readonly ws_close_timeout: number;
  readonly ws_echo_path: string;
  readonly ws_echo_max_message_bytes: number;
  readonly ws_broadcast_path: string;
  // Accounts and tokens
  readonly token_ttl: number;
  readonly session_max_age: number;
  readonly token_issuer: string;
  readonly token_leeway: number;
  readonly password_hash_cost: number;
  readonly auth_rate_per_minute: number;
  readonly auth_burst: number;
  readonly login_failures_per_account: number;
  // Chat
  readonly max_text_chars: number;
  readonly history_limit_max: number;
  readonly send_rate_per_second: number;
  readonly send_burst: number;
  readonly rate_limit_strikes: number;
  // Observability
  readonly log_level: LogLevel;
  readonly access_log: boolean;
  readonly metrics_token: string;
  readonly trace: readonly TraceLayer[];
  readonly trace_payloads: boolean;
}

export type ConfigKey = keyof Config;

// ---------------------------------------------------------------------------
// What a schema entry looks like.
// ---------------------------------------------------------------------------

/**
 * When a changed value takes effect. `live`: the value is only read when it is
 * used (per request, per message, per sweep), so a server that re-reads its
 * configuration can apply it without a restart. `restart`: read once at start.
 */
export type Reload = 'live' | 'restart';

/** How a text value (or each item of a list) must look; checked in `value-syntax.ts`. */
export type TextFormat =
  | 'host' // an IP address or a host name (RFC 1123 §2.1)
  | 'origin' // scheme://host[:port] (RFC 6454 §6.2)
  | 'ip-or-cidr' // 192.0.2.7, 2001:db8::/32 (RFC 4632 §3.1)
  | 'url-path' // /echo (RFC 3986 §3.3 path-absolute)
  | 'token68'; // a Bearer token's characters (RFC 6750 §2.1)

interface CommonSpec<K extends ConfigKey> {
  readonly key: K;
  readonly section: SectionId;
  readonly reload: Reload;
  /** Never printed, logged or echoed in an error (STYLE.md habit 15). */
  readonly secret?: boolean;
  /** One or two sentences for the reference and the shipped file. */
  readonly doc: string;
}

/** A whole number: a count, a rate, a port. `unit` names what is counted. */
export interface IntegerSpec {
  readonly type: 'integer';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit?: string;
}

/** Written with a unit (250ms, 10s, 5m, 1h, 7d); held in milliseconds. */
export interface DurationSpec {
  readonly type: 'duration';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** Written as bytes or with B, KiB, MiB, GiB; held in bytes. */
export interface SizeSpec {
  readonly type: 'size';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export interface BooleanSpec {
  readonly type: 'boolean';
  readonly default: boolean;
}

/** Free text (`string`) or a file system path (`path`, relative to the working directory). */
export interface TextSpec {
  readonly type: 'string' | 'path';
  readonly default: string;
  /** Whether an empty value is accepted; `doc` says what empty means. */
  readonly allowEmpty: boolean;
  readonly format?: TextFormat;
  /** In characters (code points); only checked for a non-empty value. */
  readonly minLength?: number;
  readonly maxLength?: number;
}

/** Comma-separated items, each trimmed; an empty value is the empty list. */
export interface ListSpec {
  readonly type: 'list';
  readonly default: readonly string[];
  readonly format?: TextFormat;
  /** When present, every item must be one of these. */
  readonly choices?: readonly string[];
}

export interface EnumSpec<V extends string> {
  readonly type: 'enum';
  readonly default: V;
  readonly choices: readonly V[];
}

/**
 * The value part of an entry follows from the `Config` property's type. The
 * tuple brackets stop TypeScript from distributing over a union of literals,
 * so `LogLevel` maps to one `EnumSpec<LogLevel>`.
 */
type ValueSpecFor<V> = [V] extends [boolean]
  ? BooleanSpec
  : [V] extends [number]
    ? IntegerSpec | DurationSpec | SizeSpec
    : [V] extends [readonly string[]]
      ? ListSpec
      : [string] extends [V]
        ? TextSpec
        : [V] extends [string]
          ? EnumSpec<V>
          : never;

type SpecFor<K extends ConfigKey> = CommonSpec<K> & ValueSpecFor<Config[K]>;

/** One entry of the schema: for each key, its own key name and a default of its own type. */
export type KeySpec = { readonly [K in ConfigKey]: SpecFor<K> }[ConfigKey];

export type ValueType = KeySpec['type'];

// ---------------------------------------------------------------------------
// Sections, in the order of the shipped file and the reference.
// ---------------------------------------------------------------------------

export const SECTIONS = [
  { id: 'listener', title: 'Listener and files', intro: 'Where the server listens, its certificate, and where it keeps its files.' },
  { id: 'connections', title: 'Connections', intro: 'Admission: how many connections are accepted, from whom and how fast. Refusals happen before the TLS handshake.' },
  { id: 'timeouts', title: 'Timeouts', intro: 'Checked by one periodic sweep, so each is enforced to within sweep_interval.' },
  { id: 'http', title: 'HTTP limits', intro: 'Bounds on what one HTTP/1.1 request may make the server buffer.' },
  { id: 'websocket', title: 'WebSocket', intro: 'Bounds and heartbeats of RFC 6455 connections.' },
  { id: 'accounts', title: 'Accounts and tokens', intro: 'Token lifetimes, password hashing and the limits on login attempts.' },
  { id: 'chat', title: 'Chat', intro: 'Limits on what one user may send.' },
  { id: 'observability', title: 'Observability', intro: 'Logs, metrics and the protocol trace for learners.' },
] as const;

export type SectionId = (typeof SECTIONS)[number]['id'];

// ---------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------

/** The largest value of a 16-bit TCP port (RFC 9293 §3.1). */
const MAX_PORT = 65535;

export const SCHEMA = [
  // -- Listener and files ----------------------------------------------------
  {
    key: 'host', section: 'listener', type: 'string', default: '127.0.0.1', allowEmpty: false, format: 'host', reload: 'restart',
    doc: 'The address to listen on. Use :: for all interfaces (IPv6 and IPv4) or 0.0.0.0 for all IPv4 interfaces.',
  },
  {
    key: 'port', section: 'listener', type: 'integer', default: 8443, min: 0, max: MAX_PORT, reload: 'restart',
    doc: 'The TCP port for HTTPS and WSS (plain HTTP and WS when tls is off). 0 picks any free port, which tests use.',
  },
  {
    key: 'tls', section: 'listener', type: 'boolean', default: true, reload: 'restart',
    doc: 'Serve TLS. Turn off only behind a TLS-terminating proxy or for local conformance tools.',
  },
  {
    key: 'cert_file', section: 'listener', type: 'path', default: '', allowEmpty: true, reload: 'live',
    doc: 'PEM certificate chain; empty: a self-signed one is made in data_dir on first start. Set together with key_file. Re-read on every reload (SIGHUP) for certificate rotation; open connections keep theirs.',
  },
  {
    key: 'key_file', section: 'listener', type: 'path', default: '', allowEmpty: true, reload: 'live',
    doc: 'PEM private key of cert_file. Empty: the self-signed key made in data_dir. Set together with cert_file.',
  },
  {
    key: 'data_dir', section: 'listener', type: 'path', default: 'data', allowEmpty: false, reload: 'restart',
    doc: 'Folder for the database, the generated certificate and the generated signing key; created if missing.',
  },
  {
    key: 'db_path', section: 'listener', type: 'path', default: '', allowEmpty: true, reload: 'restart',
    doc: 'The SQLite database file. Empty: chat.db inside data_dir.',
  },
  {
    key: 'public_dir', section: 'listener', type: 'path', default: 'public', allowEmpty: false, reload: 'restart',
    doc: 'Folder of the static files (the browser client). Nothing outside it is ever served.',
  },
  {
    key: 'public_origin', section: 'listener', type: 'string', default: '', allowEmpty: true, format: 'origin', reload: 'live',
    doc: 'The origin browsers use to reach the server, e.g. https://chat.example.com (no path). Empty: not known.',
  },
  {
    key: 'allowed_origins', section: 'listener', type: 'list', default: [], format: 'origin', reload: 'live',
    doc: 'Origins whose pages may open a WebSocket. Empty: public_origin if set, else the server\'s own scheme with the request\'s Host.',
  },

  // -- Connections -----------------------------------------------------------
  {
    key: 'max_connections', section: 'connections', type: 'integer', default: 10_000, min: 1, max: 1_000_000, unit: 'connections', reload: 'live',
    doc: 'Open connections overall; a new one beyond it is closed before the TLS handshake.',
  },
  {
    key: 'max_connections_per_ip', section: 'connections', type: 'integer', default: 1000, min: 1, max: 1_000_000, unit: 'connections', reload: 'live',
    doc: 'Open connections per client address (IPv6 grouped by /64). At most max_connections.',
  },
  {
    key: 'connection_rate', section: 'connections', type: 'integer', default: 100, min: 1, max: 1_000_000, unit: 'connections per second', reload: 'live',
    doc: 'New connections per second per client address (token bucket refill rate).',
  },
  {
    key: 'connection_burst', section: 'connections', type: 'integer', default: 200, min: 1, max: 1_000_000, unit: 'connections', reload: 'live',
    doc: 'New connections one client address may open at once before connection_rate applies (token bucket size).',
  },
  {
    key: 'max_tracked_addresses', section: 'connections', type: 'integer', default: 100_000, min: 100, max: 10_000_000, unit: 'addresses', reload: 'restart',
    doc: 'Bound on every per-address table (rate buckets, counters); the least recently seen address is forgotten first.',
  },
  {
    key: 'trust_proxy', section: 'connections', type: 'list', default: [], format: 'ip-or-cidr', reload: 'live',
    doc: 'Proxies (IPs or CIDRs) whose X-Forwarded-For gives the client address; they are exempt from the per-address connection cap and rate (max_connections still applies). Empty: off, the peer address is the client.',
  },

  // -- Timeouts --------------------------------------------------------------
  {
    key: 'tls_handshake_timeout', section: 'timeouts', type: 'duration', default: 10 * SECOND, min: 100, max: 2 * MINUTE, reload: 'live',
    doc: 'Time allowed for the TLS handshake of a new connection.',
  },
  {
    key: 'header_timeout', section: 'timeouts', type: 'duration', default: 10 * SECOND, min: 100, max: 5 * MINUTE, reload: 'live',
    doc: 'A request head must arrive completely within this time from its first byte (slow-header defence).',
  },
  {
    key: 'keepalive_timeout', section: 'timeouts', type: 'duration', default: 15 * SECOND, min: 100, max: HOUR, reload: 'live',
    doc: 'How long an idle connection is kept open between requests.',
  },
  {
    key: 'body_timeout', section: 'timeouts', type: 'duration', default: 10 * SECOND, min: 100, max: 5 * MINUTE, reload: 'live',
    doc: 'The longest wait for more bytes of a request body; the whole body must also arrive within 3 × body_timeout of its first byte. Also the longest a response may wait for a client that does not read.',
  },
  {
    key: 'sweep_interval', section: 'timeouts', type: 'duration', default: SECOND, min: 100, max: 10 * SECOND, reload: 'restart',
    doc: 'How often the one sweep checks every connection\'s timeouts; the precision of every timeout.',
  },
  {
    key: 'drain_timeout', section: 'timeouts', type: 'duration', default: 10 * SECOND, min: 0, max: 5 * MINUTE, reload: 'live',
    doc: 'On SIGINT or SIGTERM, how long in-flight work may finish before the process exits anyway.',
  },

  // -- HTTP limits -----------------------------------------------------------
  {
    key: 'max_request_line_bytes', section: 'http', type: 'size', default: 8 * KiB, min: 64, max: MiB, reload: 'live',
    doc: 'Longest request line, else 414. RFC 9112 §3 recommends supporting at least 8000 octets.',
  },
  {
    key: 'max_header_bytes', section: 'http', type: 'size', default: 16 * KiB, min: 256, max: MiB, reload: 'live',
    doc: 'Largest header section (all field lines together), else 431.',
  },
  {
    key: 'max_header_count', section: 'http', type: 'integer', default: 100, min: 1, max: 10_000, unit: 'field lines', reload: 'live',
    doc: 'Most header field lines in one request, else 431.',
  },
  {
    key: 'max_body_bytes', section: 'http', type: 'size', default: 64 * KiB, min: 256, max: 64 * MiB, reload: 'live',
    doc: 'Largest request body, else 413; checked from Content-Length before reading, and while reading chunks.',
  },
  {
    key: 'max_pipelined_requests', section: 'http', type: 'integer', default: 16, min: 1, max: 1024, unit: 'requests', reload: 'live',
    doc: 'Parsed requests queued on one connection before the server stops reading from it.',
  },
  {
    key: 'static_cache_max_file_bytes', section: 'http', type: 'size', default: 256 * KiB, min: 0, max: 64 * MiB, reload: 'restart',
    doc: 'Static files up to this size are kept in memory with precomputed headers; 0 turns the cache off.',
  },
  {
    key: 'static_cache_max_bytes', section: 'http', type: 'size', default: 32 * MiB, min: 0, max: GiB, reload: 'restart',
    doc: 'Total memory for cached static files. At least static_cache_max_file_bytes.',
  },

  // -- WebSocket -------------------------------------------------------------
  {
    key: 'ws_max_message_bytes', section: 'websocket', type: 'size', default: 64 * KiB, min: KiB, max: 64 * MiB, reload: 'live',
    doc: 'Largest incoming message (all fragments together; an empty fragment before the last counts as one byte), else close 1009; checked from each frame header.',
  },
  {
    key: 'ws_max_buffered_bytes', section: 'websocket', type: 'size', default: MiB, min: KiB, max: GiB, reload: 'live',
    doc: 'Outgoing high-water mark per connection; a client over it cannot keep up and is closed with 4008.',
  },
  {
    key: 'ws_ping_interval', section: 'websocket', type: 'duration', default: 30 * SECOND, min: 100, max: HOUR, reload: 'live',
    doc: 'Idle time after which the server sends a Ping (RFC 6455 §5.5.2).',
  },
  {
    key: 'ws_pong_timeout', section: 'websocket', type: 'duration', default: 10 * SECOND, min: 100, max: 10 * MINUTE, reload: 'live',
    doc: 'Time allowed for the Pong answering a Ping; the connection is dropped after it. Shorter than ws_ping_interval.',
  },
  {
    key: 'ws_close_timeout', section: 'websocket', type: 'duration', default: 5 * SECOND, min: 100, max: MINUTE, reload: 'live',
    doc: 'Time allowed for the peer\'s Close after ours before the TCP connection is closed (RFC 6455 §7.1.1).',
  },
  {
    key: 'ws_echo_path', section: 'websocket', type: 'string', default: '', allowEmpty: true, format: 'url-path', reload: 'restart',
    doc: 'Path of an unauthenticated echo endpoint for conformance tools such as Autobahn, e.g. /echo. Empty: off.',
  },
  {
    key: 'ws_echo_max_message_bytes', section: 'websocket', type: 'size', default: 16 * MiB, min: KiB, max: 64 * MiB, reload: 'live',
    doc: 'Largest message on the echo and broadcast endpoints; Autobahn\'s biggest cases need 16MiB.',
  },
  {
    key: 'ws_broadcast_path', section: 'websocket', type: 'string', default: '', allowEmpty: true, format: 'url-path', reload: 'restart',
    doc: 'Path of an unauthenticated broadcast endpoint for benchmarks and demos, e.g. /broadcast: every message goes to every client on it, sender included. Its size limit is ws_echo_max_message_bytes. Empty: off.',
  },

  // -- Accounts and tokens ---------------------------------------------------
  {
    key: 'token_ttl', section: 'accounts', type: 'duration', default: HOUR, min: SECOND, max: 7 * DAY, reload: 'live',
    doc: 'Lifetime of an issued token (its exp claim). At most session_max_age.',
  },
  {
    key: 'session_max_age', section: 'accounts', type: 'duration', default: 7 * DAY, min: SECOND, max: 365 * DAY, reload: 'live',
    doc: 'How long after a login POST /token may keep issuing fresh tokens; then the user logs in again.',
  },
  {
    key: 'token_issuer', section: 'accounts', type: 'string', default: 'chat-from-scratch', allowEmpty: false, maxLength: 256, reload: 'live',
    doc: 'The iss claim written into tokens and required of them (RFC 7519 §4.1.1). Changing it invalidates every token.',
  },
  {
    key: 'token_leeway', section: 'accounts', type: 'duration', default: 30 * SECOND, min: 0, max: 5 * MINUTE, reload: 'live',
    doc: 'Clock skew tolerated when checking exp (RFC 7519 §4.1.4). Shorter than token_ttl.',
  },
  {
    key: 'password_hash_cost', section: 'accounts', type: 'integer', default: 17, min: 14, max: 20, unit: '(log2 of scrypt N)', reload: 'live',
    doc: 'The scrypt work factor: N is 2 to this power, with block size r of 8 and parallelism p of 1. 17 is OWASP\'s minimum for these; lower it only in tests.',
  },
  {
    key: 'auth_rate_per_minute', section: 'accounts', type: 'integer', default: 20, min: 1, max: 100_000, unit: 'requests per minute', reload: 'live',
    doc: 'Requests to /register, /login and /token per client address per minute (token bucket refill rate); 429 beyond.',
  },
  {
    key: 'auth_burst', section: 'accounts', type: 'integer', default: 10, min: 1, max: 100_000, unit: 'requests', reload: 'live',
    doc: 'Requests to /register, /login and /token one address may make at once before auth_rate_per_minute applies.',
  },
  {
    key: 'login_failures_per_account', section: 'accounts', type: 'integer', default: 10, min: 1, max: 1000, unit: 'failures per 15 minutes', reload: 'live',
    doc: 'Failed logins per username in 15 minutes before further attempts get 429, whether or not the user exists.',
  },

  // -- Chat ------------------------------------------------------------------
  {
    key: 'max_text_chars', section: 'chat', type: 'integer', default: 4000, min: 1, max: 100_000, unit: 'code points', reload: 'live',
    doc: 'Longest message text in Unicode code points; longer is too_long. Must fit in ws_max_message_bytes.',
  },
  {
    key: 'history_limit_max', section: 'chat', type: 'integer', default: 100, min: 1, max: 1000, unit: 'messages', reload: 'live',
    doc: 'Largest limit a history request may ask for.',
  },
  {
    key: 'send_rate_per_second', section: 'chat', type: 'integer', default: 10, min: 1, max: 10_000, unit: 'messages per second', reload: 'live',
    doc: 'Client messages per user per second (token bucket refill rate); beyond it the reply is rate_limited.',
  },
  {
    key: 'send_burst', section: 'chat', type: 'integer', default: 20, min: 1, max: 10_000, unit: 'messages', reload: 'live',
    doc: 'Client messages one user may send at once before send_rate_per_second applies (token bucket size).',
  },
  {
    key: 'rate_limit_strikes', section: 'chat', type: 'integer', default: 20, min: 1, max: 1000, unit: 'replies', reload: 'live',
    doc: 'Consecutive rate_limited replies after which the connection is closed with 1008.',
  },

  // -- Observability ---------------------------------------------------------
  {
    key: 'log_level', section: 'observability', type: 'enum', default: 'info', choices: LOG_LEVELS, reload: 'live',
    doc: 'The least severe level written to the log.',
  },
  {
    key: 'access_log', section: 'observability', type: 'boolean', default: true, reload: 'live',
    doc: 'Log one line per HTTP request and per WebSocket session.',
  },
  {
    key: 'metrics_token', section: 'observability', type: 'string', default: '', allowEmpty: true, format: 'token68', minLength: 16, maxLength: 1024, secret: true, reload: 'live',
    doc: 'When set, /metrics also answers non-loopback clients that present it as a Bearer token. At least 16 characters. Empty: loopback only.',
  },
  {
    key: 'trace', section: 'observability', type: 'list', default: [], choices: TRACE_LAYERS, reload: 'live',
    doc: 'Layers whose protocol events are traced to the log for learners: any of http, ws. Empty: off.',
  },
  {
    key: 'trace_payloads', section: 'observability', type: 'boolean', default: false, reload: 'live',
    doc: 'Include message and body bytes in the trace (never tokens or passwords). Has an effect only with trace set.',
  },
] as const satisfies readonly KeySpec[];

// ---------------------------------------------------------------------------
// Compile-time proof that the table and `Config` agree.
// ---------------------------------------------------------------------------

type SchemaKey = (typeof SCHEMA)[number]['key'];
type MissingFromSchema = Exclude<ConfigKey, SchemaKey>;

/**
 * Fails to compile, naming the key, when a `Config` property has no schema
 * entry. (`satisfies KeySpec[]` already refuses an entry for a key that is not
 * in `Config`, and a default of the wrong type.) Duplicate entries are refused
 * by a test.
 */
export const SCHEMA_COVERS_CONFIG: [MissingFromSchema] extends [never] ? true : MissingFromSchema = true;

/** The schema entries by key name, for lookups while parsing. */
export const SPEC_BY_KEY: ReadonlyMap<string, KeySpec> = new Map<string, KeySpec>(
  (SCHEMA as readonly KeySpec[]).map((spec) => [spec.key, spec]),
);

/** The schema typed as plain `KeySpec`s, for code that iterates it. */
export const KEY_SPECS: readonly KeySpec[] = SCHEMA;
