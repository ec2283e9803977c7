import { expect } from 'chai';
import { defaultConfig, parseConfig } from '../../lib/config/parse.js';
import { KEY_SPECS, SECTIONS, SPEC_BY_KEY, type Config, type KeySpec } from '../../lib/config/schema.js';
import { describeAccepted, formatDuration, formatSize, formatValue, parseValue } from '../../lib/config/value-syntax.js';

/** The defaults the project brief asks for, in the units `Config` holds (ms, bytes). */
const EXPECTED_DEFAULTS: Config = {
  host: '127.0.0.1', port: 8443, tls: true, cert_file: '', key_file: '', data_dir: 'data', db_path: '',
  public_dir: 'public', public_origin: '', allowed_origins: [],
  max_connections: 10_000, max_connections_per_ip: 1000, connection_rate: 100, connection_burst: 200,
  max_tracked_addresses: 100_000, trust_proxy: [],
  tls_handshake_timeout: 10_000, header_timeout: 10_000, keepalive_timeout: 15_000, body_timeout: 10_000,
  sweep_interval: 1000, drain_timeout: 10_000,
  max_request_line_bytes: 8192, max_header_bytes: 16_384, max_header_count: 100, max_body_bytes: 65_536,
  max_pipelined_requests: 16, static_cache_max_file_bytes: 262_144, static_cache_max_bytes: 33_554_432,
  ws_max_message_bytes: 65_536, ws_max_buffered_bytes: 1_048_576, ws_ping_interval: 30_000, ws_pong_timeout: 10_000,
  ws_close_timeout: 5000, ws_echo_path: '', ws_echo_max_message_bytes: 16_777_216, ws_broadcast_path: '',
  token_ttl: 3_600_000, session_max_age: 604_800_000, token_issuer: 'chat-from-scratch', token_leeway: 30_000,
  password_hash_cost: 17, auth_rate_per_minute: 20, auth_burst: 10, login_failures_per_account: 10,
  max_text_chars: 4000, history_limit_max: 100, send_rate_per_second: 10, send_burst: 20, rate_limit_strikes: 20,
  log_level: 'info', access_log: true, metrics_token: '', trace: [], trace_payloads: false,
};

describe('config/schema: the table of keys', () => {
  it('defaultConfig() holds every default the brief names, in ms and bytes, and no other key', () => {
    expect(defaultConfig()).to.deep.equal(EXPECTED_DEFAULTS);
  });

  it('has one entry per key, each a lower-case snake_case name', () => {
    const keys = KEY_SPECS.map((spec) => spec.key);
    expect(new Set(keys).size).to.equal(keys.length);
    for (const key of keys) expect(key).to.match(/^[a-z][a-z0-9_]*$/);
    expect(SPEC_BY_KEY.size).to.equal(keys.length);
  });

  it('has no key for the signing key: SECRET_KEY comes from the environment (API.md "Tokens")', () => {
    expect(SPEC_BY_KEY.has('secret_key')).to.equal(false);
    expect(KEY_SPECS.filter((spec) => spec.key.includes('secret'))).to.deep.equal([]);
  });

  it('marks metrics_token, and only it, secret', () => {
    expect(KEY_SPECS.filter((spec) => spec.secret === true).map((spec) => spec.key)).to.deep.equal(['metrics_token']);
  });

  it('the defaults together break no rule between keys', () => {
    expect(parseConfig('', 'server.conf').problems).to.deep.equal([]);
  });

  it('every section holds keys and every key is in a listed section', () => {
    const ids = SECTIONS.map((section) => section.id as string);
    for (const spec of KEY_SPECS) expect(ids).to.include(spec.section);
    for (const id of ids) expect(KEY_SPECS.some((spec) => spec.section === id), id).to.equal(true);
  });

  for (const spec of KEY_SPECS) {
    it(`${spec.key}: its default is accepted, written back as itself, and documented in at most three short sentences`, () => {
      const text = formatValue(spec, spec.default);
      const parsed = parseValue(spec, text);
      expect(parsed).to.deep.equal({ ok: true, value: spec.default });
      expect(spec.doc).to.match(/\.$/);
      expect(spec.doc).not.to.include('|');
      expect(spec.doc.split(/\. (?=[A-Z0-9])/).length, spec.doc).to.be.at.most(3);
      if (spec.type === 'integer' || spec.type === 'duration' || spec.type === 'size') {
        expect(spec.min).to.be.at.most(spec.default);
        expect(spec.default).to.be.at.most(spec.max);
        expect(spec.min).to.be.at.least(0);
      }
    });
  }
});

/** How a number of the spec's type is written in the file. */
function written(spec: KeySpec, n: number): string {
  return spec.type === 'duration' ? formatDuration(n) : spec.type === 'size' ? formatSize(n) : String(n);
}

describe('config/schema: every range at its edges', () => {
  for (const spec of KEY_SPECS) {
    if (spec.type !== 'integer' && spec.type !== 'duration' && spec.type !== 'size') continue;
    const { min, max } = spec;

    it(`${spec.key}: accepts the minimum ${written(spec, min)} and the maximum ${written(spec, max)}`, () => {
      expect(parseValue(spec, written(spec, min))).to.deep.equal({ ok: true, value: min });
      expect(parseValue(spec, written(spec, max))).to.deep.equal({ ok: true, value: max });
    });

    const below = min > 0 ? [written(spec, min - 1)] : spec.type === 'integer' ? ['-1'] : [];
    for (const text of [...below, written(spec, max + 1)]) {
      it(`${spec.key}: refuses ${text}, naming the accepted range ${describeAccepted(spec)}`, () => {
        expect(parseValue(spec, text)).to.deep.equal({
          ok: false,
          message: `"${text}" is out of range; accepted ${describeAccepted(spec)}`,
        });
      });
    }
  }

  it('names the unit of integer ranges, and writes duration and size ranges in their units', () => {
    expect(describeAccepted(SPEC_BY_KEY.get('max_connections')!)).to.equal('1–1000000 connections');
    expect(describeAccepted(SPEC_BY_KEY.get('sweep_interval')!)).to.equal('100ms–10s');
    expect(describeAccepted(SPEC_BY_KEY.get('max_header_bytes')!)).to.equal('256B–1MiB');
    expect(describeAccepted(SPEC_BY_KEY.get('password_hash_cost')!)).to.equal('14–20 (log2 of scrypt N)');
    expect(describeAccepted(SPEC_BY_KEY.get('token_leeway')!)).to.equal('0s–5m');
  });
});
