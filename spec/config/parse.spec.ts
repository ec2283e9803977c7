import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError, EX_CONFIG, defaultConfig, formatProblem, loadConfig, parseConfig, parseConfigFile,
  type ConfigProblem,
} from '../../lib/config/parse.js';
import { DAY, GiB, HOUR, KiB, MiB, MINUTE, SECOND, type Config } from '../../lib/config/schema.js';

const FILE = 'server.conf';

/** The problems of `text`, each formatted as the operator sees it. */
function problemsOf(text: string): string[] {
  return parseConfig(text, FILE).problems.map(formatProblem);
}

/** The config of `text`, which must have no problems. */
function configOf(text: string): Config {
  const { config, problems } = parseConfig(text, FILE);
  expect(problems.map(formatProblem)).to.deep.equal([]);
  return config;
}

describe('config/parse: the server.conf line syntax', () => {
  it('an empty file is every default and no problem', () => {
    const { config, problems, lines } = parseConfig('', FILE);
    expect(problems).to.deep.equal([]);
    expect(config).to.deep.equal(defaultConfig());
    expect(lines).to.deep.equal({});
  });

  it('ignores blank lines, whole-line comments and indented comments', () => {
    const config = configOf('\n\n# port = 1\n   # port = 2\n\t\n\n');
    expect(config.port).to.equal(8443);
  });

  it('trims whitespace (spaces and tabs) around key and value', () => {
    expect(configOf('   port\t=\t  9000   ').port).to.equal(9000);
    expect(configOf('port=9001').port).to.equal(9001);
  });

  it('a # after whitespace starts a comment at the end of a line', () => {
    expect(configOf('port = 9000 # the test port').port).to.equal(9000);
    expect(configOf('port = 9000\t# after a tab').port).to.equal(9000);
  });

  it('a # not preceded by whitespace is part of the value', () => {
    expect(configOf('token_issuer = chat#1').token_issuer).to.equal('chat#1');
    expect(configOf('token_issuer = chat#1  # comment').token_issuer).to.equal('chat#1');
  });

  it('the value is everything after the first =', () => {
    expect(configOf('token_issuer = a=b').token_issuer).to.equal('a=b');
  });

  it('accepts CRLF line ends and a leading UTF-8 byte order mark', () => {
    const config = configOf('\uFEFFport = 9000\r\ntls = off\r\n');
    expect(config.port).to.equal(9000);
    expect(config.tls).to.equal(false);
  });

  it('records the line each key was set on', () => {
    const { lines } = parseConfig('# c\nport = 1\n\ntls = off\n', FILE);
    expect(lines).to.deep.equal({ port: 2, tls: 4 });
  });

  it('a key set twice is a problem naming both lines, and the first value stands', () => {
    const { config, problems } = parseConfig('port = 1000\n\nport = 2000\n', FILE);
    expect(problems.map(formatProblem)).to.deep.equal(['server.conf:3: port: duplicate key; already set on line 1']);
    expect(config.port).to.equal(1000);
  });

  it('an unknown key is a problem with the nearest valid key suggested', () => {
    expect(problemsOf('\n\nmax_conections = 5')).to.deep.equal([
      'server.conf:3: max_conections: unknown key — did you mean "max_connections"?',
    ]);
  });

  const suggestions: readonly (readonly [string, string])[] = [
    ['max_conenctions', 'max_connections'], // two neighbours swapped: one step
    ['Max-Connections', 'max_connections'], // letter case and - forgiven
    ['header_timout', 'header_timeout'],
    ['ws_ping_intervall', 'ws_ping_interval'],
    ['tsl', 'tls'],
    ['port_number', 'port'], // a word that starts with a key
  ];
  for (const [typo, key] of suggestions) {
    it(`suggests "${key}" for the unknown key "${typo}"`, () => {
      expect(problemsOf(`${typo} = 1`)).to.deep.equal([`server.conf:1: ${typo}: unknown key — did you mean "${key}"?`]);
    });
  }

  it('an unknown key far from every key gets no suggestion, and the reference is named', () => {
    expect(problemsOf('colour = blue')).to.deep.equal([
      'server.conf:1: colour: unknown key; docs/configuration-keys.md lists them all',
    ]);
  });

  it('secret_key is refused with the reason: the signing key comes from the environment, and its value is not echoed', () => {
    const problems = problemsOf('secret_key = hunter2hunter2hunter2hunter2hunter2');
    expect(problems).to.deep.equal([
      'server.conf:1: secret_key: not a server.conf key: the signing key is read from the SECRET_KEY environment variable, never from a file',
    ]);
    expect(problems.join()).not.to.include('hunter2');
  });

  it('a line without = is a problem, with a hint when it is a bare key', () => {
    expect(problemsOf('tls\nhello world')).to.deep.equal([
      'server.conf:1: expected "key = value", found "tls"; write "tls = value"',
      'server.conf:2: expected "key = value", found "hello world"',
    ]);
  });

  it('a line starting with = is a problem', () => {
    expect(problemsOf(' = 5')).to.deep.equal(['server.conf:1: a line starts with "=": the key is missing']);
  });

  it('collects every problem of the file at once, in line order', () => {
    const text = [
      'max_conections = 5', // 1 unknown
      'port = 70000', // 2 range
      'header_timeout = 30', // 3 no unit
      'tls = maybe', // 4 not a boolean
      'ws_pong_timeout = 40s', // 5 cross-key with the default ws_ping_interval
      'port = 1', // 6 duplicate
      'trace = http, tcp', // 7 not a choice
    ].join('\n');
    const problems = parseConfig(text, FILE).problems;
    expect(problems.map((p) => p.line)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    expect(problems.map((p) => p.key)).to.deep.equal([
      'max_conections', 'port', 'header_timeout', 'tls', 'ws_pong_timeout', 'port', 'trace',
    ]);
  });

  it('a key with a bad value keeps its default in the returned config', () => {
    const { config, problems } = parseConfig('port = lots\nmax_connections = 5000', FILE);
    expect(problems).to.have.length(1);
    expect(config.port).to.equal(8443);
    expect(config.max_connections).to.equal(5000);
  });

  it('the returned config is frozen, lists included', () => {
    const config = configOf('trace = http, ws');
    expect(Object.isFrozen(config)).to.equal(true);
    expect(Object.isFrozen(config.trace)).to.equal(true);
    expect(Object.isFrozen(defaultConfig().allowed_origins)).to.equal(true);
  });
});

describe('config/parse: values of every type, with the exact messages', () => {
  /** [line, the value it gives] or [line, the formatted problem]. */
  const good: readonly (readonly [string, keyof Config, unknown])[] = [
    // integer
    ['max_connections = 2000', 'max_connections', 2000],
    ['port = 0', 'port', 0],
    // boolean: on/off, true/false, yes/no, any case
    ['tls = off', 'tls', false],
    ['tls = on', 'tls', true],
    ['tls = false', 'tls', false],
    ['tls = TRUE', 'tls', true],
    ['tls = no', 'tls', false],
    ['tls = Yes', 'tls', true],
    // duration, in milliseconds
    ['header_timeout = 250ms', 'header_timeout', 250],
    ['header_timeout = 10s', 'header_timeout', 10 * SECOND],
    ['header_timeout = 5m', 'header_timeout', 5 * MINUTE],
    ['keepalive_timeout = 1h', 'keepalive_timeout', HOUR],
    ['session_max_age = 7d', 'session_max_age', 7 * DAY],
    ['drain_timeout = 0s', 'drain_timeout', 0],
    ['ws_close_timeout = 2 s', 'ws_close_timeout', 2 * SECOND],
    // size, in bytes
    ['max_body_bytes = 1000', 'max_body_bytes', 1000],
    ['max_body_bytes = 512B', 'max_body_bytes', 512],
    ['max_body_bytes = 8KiB', 'max_body_bytes', 8192],
    ['max_body_bytes = 2MiB', 'max_body_bytes', 2 * MiB],
    ['static_cache_max_bytes = 1GiB', 'static_cache_max_bytes', GiB],
    // list: comma-separated, trimmed, empty is []
    ['trace = http', 'trace', ['http']],
    ['trace = http ,ws', 'trace', ['http', 'ws']],
    ['trace =', 'trace', []],
    ['trust_proxy = 10.0.0.1, 192.168.0.0/16, ::1, 2001:db8::/32', 'trust_proxy', ['10.0.0.1', '192.168.0.0/16', '::1', '2001:db8::/32']],
    ['allowed_origins = https://a.example, http://localhost:8080', 'allowed_origins', ['https://a.example', 'http://localhost:8080']],
    // origins are normalized as browsers serialize them (RFC 6454 §6.2)
    ['allowed_origins = HTTPS://Chat.Example.COM:443', 'allowed_origins', ['https://chat.example.com']],
    ['public_origin = https://[::1]:8443', 'public_origin', 'https://[::1]:8443'],
    ['public_origin = http://127.0.0.1:80', 'public_origin', 'http://127.0.0.1'],
    // enum
    ['log_level = debug', 'log_level', 'debug'],
    ['log_level = error', 'log_level', 'error'],
    // string and path
    ['host = ::', 'host', '::'],
    ['host = 0.0.0.0', 'host', '0.0.0.0'],
    ['host = chat.example.com', 'host', 'chat.example.com'],
    ['host = localhost', 'host', 'localhost'],
    ['data_dir = /var/lib/chat data', 'data_dir', '/var/lib/chat data'],
    ['db_path =', 'db_path', ''],
    ['ws_echo_path = /echo', 'ws_echo_path', '/echo'],
    ['ws_broadcast_path = /broadcast', 'ws_broadcast_path', '/broadcast'],
    ['ws_broadcast_path =', 'ws_broadcast_path', ''],
    ['metrics_token = abcdefghijklmnop', 'metrics_token', 'abcdefghijklmnop'],
    ['metrics_token = dGhpcyBpcyBhIHRva2Vu+/-._~==', 'metrics_token', 'dGhpcyBpcyBhIHRva2Vu+/-._~=='],
  ];
  for (const [line, key, value] of good) {
    it(`accepts "${line}"`, () => {
      expect(configOf(line)[key]).to.deep.equal(value);
    });
  }

  const bad: readonly (readonly [string, string])[] = [
    // integer
    ['max_connections = many', 'max_connections: "many" is not a whole number; accepted 1–1000000 connections'],
    ['max_connections = 1.5', 'max_connections: "1.5" is not a whole number; accepted 1–1000000 connections'],
    ['max_connections = 10k', 'max_connections: "10k" is not a whole number; accepted 1–1000000 connections'],
    ['max_connections =', 'max_connections: "" is not a whole number; accepted 1–1000000 connections'],
    ['port = -1', 'port: "-1" is out of range; accepted 0–65535'],
    ['port = 99999999999999999999', 'port: "99999999999999999999" is too large; accepted 0–65535'],
    // boolean
    ['tls = maybe', 'tls: "maybe" is not a boolean; write on or off (true/false and yes/no work too)'],
    ['tls = 1', 'tls: "1" is not a boolean; write on or off (true/false and yes/no work too)'],
    // duration: a bare number is refused with a hint to add a unit
    ['header_timeout = 30', 'header_timeout: "30" has no unit; write e.g. 30s or 30ms (units: ms, s, m, h, d)'],
    ['header_timeout = 30sec', 'header_timeout: "30sec" has an unknown unit "sec"; units are ms, s, m, h, d'],
    ['header_timeout = 1.5s', 'header_timeout: "1.5s" is not a duration; write a whole number and a unit (ms, s, m, h, d), e.g. 250ms, 10s, 5m'],
    ['header_timeout = -5s', 'header_timeout: "-5s" is not a duration; write a whole number and a unit (ms, s, m, h, d), e.g. 250ms, 10s, 5m'],
    ['header_timeout = 10m', 'header_timeout: "10m" is out of range; accepted 100ms–5m'],
    // size: KB/MB/GB are ambiguous, the binary unit is suggested
    ['max_body_bytes = 64KB', 'max_body_bytes: "64KB" is ambiguous (1000 or 1024?); write 64KiB for binary units, or the number of bytes'],
    ['max_body_bytes = 2mb', 'max_body_bytes: "2mb" is ambiguous (1000 or 1024?); write 2MiB for binary units, or the number of bytes'],
    ['max_body_bytes = 1G', 'max_body_bytes: "1G" is ambiguous (1000 or 1024?); write 1GiB for binary units, or the number of bytes'],
    ['max_body_bytes = 64kib', 'max_body_bytes: "64kib" has an unknown unit "kib"; units are B, KiB, MiB, GiB'],
    ['max_body_bytes = lots', 'max_body_bytes: "lots" is not a size; write bytes, or a whole number and a unit (B, KiB, MiB, GiB), e.g. 64KiB'],
    ['max_body_bytes = 1GiB', 'max_body_bytes: "1GiB" is out of range; accepted 256B–64MiB'],
    ['max_body_bytes = 99999999999GiB', 'max_body_bytes: "99999999999GiB" is too large'],
    // list
    ['trace = http,,ws', 'trace: "http,,ws" has an empty item; separate items with single commas'],
    ['trace = http,', 'trace: "http," has an empty item; separate items with single commas'],
    ['trace = udp', 'trace: "udp" is not one of http, ws'],
    ['trace = htp', 'trace: "htp" is not one of http, ws — did you mean "http"?'],
    ['trust_proxy = 10.0.0.0/8, 300.1.1.1', 'trust_proxy: "300.1.1.1" is not an IP address or a CIDR block (e.g. 10.0.0.0/8)'],
    ['trust_proxy = 10.0.0.0/33', 'trust_proxy: "10.0.0.0/33" has an invalid prefix length; 0–32 for IPv4'],
    ['trust_proxy = ::/129', 'trust_proxy: "::/129" has an invalid prefix length; 0–128 for IPv6'],
    ['trust_proxy = example.com', 'trust_proxy: "example.com" is not an IP address or a CIDR block (e.g. 10.0.0.0/8)'],
    ['allowed_origins = https://a.example/', 'allowed_origins: "https://a.example/" has a path; an origin is scheme://host[:port] with nothing after it'],
    ['allowed_origins = a.example', 'allowed_origins: "a.example" is not an origin; write scheme://host[:port], e.g. https://chat.example.com'],
    ['allowed_origins = *', 'allowed_origins: "*" is not an origin; write scheme://host[:port], e.g. https://chat.example.com'],
    ['allowed_origins = ftp://a.example', 'allowed_origins: "ftp://a.example" has scheme "ftp"; browsers send http or https origins'],
    ['allowed_origins = https://a.example:0', 'allowed_origins: "https://a.example:0" has an invalid port; 1–65535'],
    ['allowed_origins = https://a.example:65536', 'allowed_origins: "https://a.example:65536" has an invalid port; 1–65535'],
    ['allowed_origins = https://[nope]', 'allowed_origins: "https://[nope]" is not an origin; write scheme://host[:port], e.g. https://chat.example.com'],
    ['allowed_origins = https://-a.example', 'allowed_origins: "https://-a.example" does not have a valid host'],
    // enum: the nearest choice is suggested, also for a longer word
    ['log_level = warning', 'log_level: "warning" is not one of debug, info, warn, error — did you mean "warn"?'],
    ['log_level = INFO', 'log_level: "INFO" is not one of debug, info, warn, error — did you mean "info"?'],
    ['log_level = verbose', 'log_level: "verbose" is not one of debug, info, warn, error'],
    // string and path
    ['host =', 'host: needs a value; it cannot be empty'],
    ['host = [::1]', 'host: "[::1]" is in brackets; write the IPv6 address without them: ::1'],
    ['host = my_host!', 'host: "my_host!" is not an IP address or a host name'],
    ['data_dir =', 'data_dir: needs a value; it cannot be empty'],
    ['token_issuer = "chat"', 'token_issuer: "\\"chat\\"" is in quotes; values are written without quotes'],
    ["token_issuer = 'chat'", 'token_issuer: "\'chat\'" is in quotes; values are written without quotes'],
    ['token_issuer = chat\u0007bell', 'token_issuer: "chat\\u0007bell" contains a control character'],
    [`token_issuer = ${'x'.repeat(257)}`, 'token_issuer: "' + 'x'.repeat(257) + '" is too long (257 characters); at most 256'],
    ['ws_echo_path = echo', 'ws_echo_path: "echo" is not a URL path; write it like /echo'],
    ['ws_echo_path = /a b', 'ws_echo_path: "/a b" is not a URL path; write it like /echo'],
    ['ws_echo_path = /a/../b', 'ws_echo_path: "/a/../b" has a . or .. segment'],
    ['ws_broadcast_path = broadcast', 'ws_broadcast_path: "broadcast" is not a URL path; write it like /echo'],
    ['ws_broadcast_path = /./b', 'ws_broadcast_path: "/./b" has a . or .. segment'],
  ];
  for (const [line, message] of bad) {
    it(`refuses "${line.length > 60 ? line.slice(0, 60) + '…' : line}" naming file:line, key and value`, () => {
      expect(problemsOf(`\n${line}`)).to.deep.equal([`server.conf:2: ${message}`]);
    });
  }

  it('never echoes a secret value (metrics_token) in a message (STYLE.md habit 15)', () => {
    const secrets = ['tiny1', 'has spaces in it but long', 'tooooooooooooooolong'.repeat(60), '"quoted-secret-value"', 'bad\u0001control-char-secret'];
    for (const secret of secrets) {
      const problems = problemsOf(`metrics_token = ${secret}`);
      expect(problems, secret).to.have.length(1);
      expect(problems[0], secret).to.match(/^server\.conf:1: metrics_token: the value /);
      expect(problems[0]).not.to.include(secret.trim());
    }
    expect(problemsOf('metrics_token = tiny1')).to.deep.equal([
      'server.conf:1: metrics_token: the value is too short (5 characters); at least 16',
    ]);
  });
});

describe('config/parse: rules between keys', () => {
  const violations: readonly (readonly [string, string])[] = [
    ['max_connections = 100\nmax_connections_per_ip = 200',
      'server.conf:2: max_connections_per_ip: max_connections_per_ip (200) is more than max_connections (100)'],
    ['max_connections_per_ip = 20000',
      'server.conf:1: max_connections_per_ip: max_connections_per_ip (20000) is more than max_connections (10000)'],
    ['ws_pong_timeout = 30s',
      'server.conf:1: ws_pong_timeout: ws_pong_timeout (30s) must be shorter than ws_ping_interval (30s)'],
    ['ws_ping_interval = 5s',
      'server.conf:1: ws_ping_interval: ws_pong_timeout (10s) must be shorter than ws_ping_interval (5s)'],
    ['cert_file = /etc/chat/cert.pem',
      'server.conf:1: cert_file: cert_file and key_file go together: set both, or leave both empty for a self-signed certificate'],
    ['key_file = /etc/chat/key.pem',
      'server.conf:1: key_file: cert_file and key_file go together: set both, or leave both empty for a self-signed certificate'],
    ['static_cache_max_bytes = 100KiB',
      'server.conf:1: static_cache_max_bytes: static_cache_max_file_bytes (256KiB) is more than static_cache_max_bytes (100KiB)'],
    ['token_ttl = 2d\nsession_max_age = 1d',
      'server.conf:1: token_ttl: token_ttl (2d) is longer than session_max_age (1d)'],
    ['token_ttl = 30s',
      'server.conf:1: token_ttl: token_leeway (30s) must be shorter than token_ttl (30s)'],
    ['max_text_chars = 20000',
      'server.conf:1: max_text_chars: a text of max_text_chars (20000) code points can take 81024 bytes in a send message (4 bytes each in UTF-8, RFC 3629 §3, plus 1024 for the JSON); ws_max_message_bytes is 65536'],
    ['ws_echo_path = /ws',
      'server.conf:1: ws_echo_path: ws_echo_path "/ws" is a path the server already routes; pick another, e.g. /echo'],
    ['ws_echo_path = /metrics',
      'server.conf:1: ws_echo_path: ws_echo_path "/metrics" is a path the server already routes; pick another, e.g. /echo'],
    ['ws_broadcast_path = /ws',
      'server.conf:1: ws_broadcast_path: ws_broadcast_path "/ws" is a path the server already routes; pick another, e.g. /broadcast'],
    ['ws_broadcast_path = /',
      'server.conf:1: ws_broadcast_path: ws_broadcast_path "/" is a path the server already routes; pick another, e.g. /broadcast'],
    ['ws_broadcast_path = /healthz',
      'server.conf:1: ws_broadcast_path: ws_broadcast_path "/healthz" is a path the server already routes; pick another, e.g. /broadcast'],
    ['ws_echo_path = /echo\nws_broadcast_path = /echo',
      'server.conf:2: ws_broadcast_path: ws_broadcast_path and ws_echo_path are both "/echo"; give each endpoint its own path, e.g. /broadcast and /echo'],
    ['ws_broadcast_path = /same\nws_echo_path = /same',
      'server.conf:1: ws_broadcast_path: ws_broadcast_path and ws_echo_path are both "/same"; give each endpoint its own path, e.g. /broadcast and /echo'],
  ];
  for (const [text, message] of violations) {
    it(`refuses ${text.replaceAll('\n', ' with ')}`, () => {
      expect(problemsOf(text)).to.deep.equal([message]);
    });
  }

  const fine: readonly string[] = [
    'max_connections = 100\nmax_connections_per_ip = 100',
    'ws_ping_interval = 1s\nws_pong_timeout = 999ms',
    'cert_file = c.pem\nkey_file = k.pem',
    'static_cache_max_file_bytes = 0\nstatic_cache_max_bytes = 0',
    'token_ttl = 1d\nsession_max_age = 1d',
    'token_leeway = 0s\ntoken_ttl = 1s',
    'max_text_chars = 16128', // 16128 × 4 + 1024 = 65536
    'ws_echo_path = /echo',
    'ws_broadcast_path = /broadcast',
    'ws_echo_path = /echo\nws_broadcast_path = /broadcast',
    'ws_echo_path = /x\nws_broadcast_path = /x/y', // paths are matched whole: /x/y is not /x
  ];
  for (const text of fine) {
    it(`accepts ${text.replaceAll('\n', ' with ')} (the edge of the rule)`, () => {
      configOf(text);
    });
  }

  it('reports a broken rule at the line of the first of its keys set in the file', () => {
    const { problems } = parseConfig('# x\nmax_connections_per_ip = 50\nmax_connections = 10\n', FILE);
    expect(problems).to.deep.equal([{
      file: FILE, line: 2, key: 'max_connections_per_ip',
      message: 'max_connections_per_ip (50) is more than max_connections (10)',
    } satisfies ConfigProblem]);
  });

  it('skips a rule when one of its keys already has a problem of its own', () => {
    expect(problemsOf('max_connections = 0\nmax_connections_per_ip = 5000')).to.deep.equal([
      'server.conf:1: max_connections: "0" is out of range; accepted 1–1000000 connections',
    ]);
  });
});

describe('config/parse: formatProblem', () => {
  it('writes file:line: key: message', () => {
    expect(formatProblem({ file: 'server.conf', line: 12, key: 'max_conections', message: 'unknown key — did you mean "max_connections"?' }))
      .to.equal('server.conf:12: max_conections: unknown key — did you mean "max_connections"?');
  });
  it('leaves out the key when there is none, and the line when it is 0 (the whole file)', () => {
    expect(formatProblem({ file: 'a.conf', line: 3, message: 'm' })).to.equal('a.conf:3: m');
    expect(formatProblem({ file: 'a.conf', line: 0, message: 'cannot read the file (ENOENT)' })).to.equal('a.conf: cannot read the file (ENOENT)');
  });
});

describe('config/parse: loadConfig and parseConfigFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'config-parse-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads a valid file', () => {
    const path = join(dir, 'server.conf');
    writeFileSync(path, 'port = 0\ntls = off\nheader_timeout = 200ms\n');
    const config = loadConfig(path);
    expect(config.port).to.equal(0);
    expect(config.tls).to.equal(false);
    expect(config.header_timeout).to.equal(200);
    expect(config.max_body_bytes).to.equal(64 * KiB);
  });

  it('throws one ConfigError listing every problem, with file:line, and exit status EX_CONFIG (78)', () => {
    const path = join(dir, 'server.conf');
    writeFileSync(path, 'port = 70000\nmax_conections = 5\n');
    let caught: unknown;
    try {
      loadConfig(path);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.exitCode).to.equal(EX_CONFIG);
    expect(error.problems.map(formatProblem)).to.deep.equal([
      `${path}:1: port: "70000" is out of range; accepted 0–65535`,
      `${path}:2: max_conections: unknown key — did you mean "max_connections"?`,
    ]);
    expect(error.message).to.equal(`2 problems in the configuration:\n${error.problems.map(formatProblem).join('\n')}`);
  });

  it('a missing file is one problem naming the file', () => {
    const path = join(dir, 'nope.conf');
    expect(() => loadConfig(path)).to.throw(ConfigError, `${path}: cannot read the file (ENOENT)`);
  });

  it('a directory is one problem naming the file', () => {
    expect(parseConfigFile(dir).problems.map(formatProblem)).to.deep.equal([`${dir}: cannot read the file (EISDIR)`]);
  });

  it('a file that is not UTF-8 is one problem', () => {
    const path = join(dir, 'latin1.conf');
    writeFileSync(path, Buffer.from([0x70, 0x6f, 0x72, 0x74, 0x20, 0x3d, 0x20, 0xe9, 0x0a]));
    expect(parseConfigFile(path).problems.map(formatProblem)).to.deep.equal([`${path}: is not valid UTF-8`]);
  });
});
