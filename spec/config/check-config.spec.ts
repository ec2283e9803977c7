import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, databasePath, describeConfigSummary, REDACTED } from '../../lib/config/check-config.js';
import { defaultConfig, parseConfig } from '../../lib/config/parse.js';
import { KEY_SPECS, type Config } from '../../lib/config/schema.js';

const TOKEN = 'metrics-token-0123456789abcdef';

/** A default config with some keys changed, through the parser so the values are checked. */
function configWith(text: string): Config {
  const { config, problems } = parseConfig(text, 'test.conf');
  expect(problems).to.deep.equal([]);
  return config;
}

describe('config/check-config: --check-config, like nginx -t', () => {
  let dir: string;
  let conf: string;
  /** A file whose paths exist, plus `extra` lines. */
  const write = (extra: string): void => {
    writeFileSync(conf, `public_dir = ${join(dir, 'public')}\ndata_dir = ${join(dir, 'data')}\n${extra}\n`);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'check-config-'));
    mkdirSync(join(dir, 'public'));
    conf = join(dir, 'server.conf');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('on success says "syntax is ok" and prints every effective setting, one per line, in schema order', () => {
    write('port = 9000\nheader_timeout = 2500ms');
    const { ok, output } = checkConfig(conf);
    expect(ok).to.equal(true);
    const lines = output.trimEnd().split('\n');
    expect(lines[0]).to.equal(`${conf}: syntax is ok`);
    expect(lines.slice(1).map((line) => line.split(' = ')[0])).to.deep.equal(KEY_SPECS.map((spec) => spec.key));
    expect(lines).to.include('port = 9000');
    expect(lines).to.include('header_timeout = 2500ms');
    expect(lines).to.include(`public_dir = ${join(dir, 'public')}`);
  });

  it('marks values equal to their default with (default), and shows an empty value as (empty)', () => {
    write('tls = on');
    const lines = checkConfig(conf).output.split('\n');
    expect(lines).to.include('tls = on (default)');
    expect(lines).to.include('max_body_bytes = 64KiB (default)');
    expect(lines).to.include('sweep_interval = 1s (default)');
    expect(lines).to.include('cert_file = (empty) (default)');
    expect(lines).to.include('trace = (empty) (default)');
    expect(lines).to.include('metrics_token = (empty) (default)');
  });

  it('prints a set secret as <redacted>, never its value (STYLE.md habit 15)', () => {
    write(`metrics_token = ${TOKEN}`);
    const { ok, output } = checkConfig(conf);
    expect(ok).to.equal(true);
    expect(output.split('\n')).to.include(`metrics_token = ${REDACTED}`);
    expect(output).not.to.include(TOKEN);
  });

  it('prints lists comma-separated', () => {
    write('trace = http, ws\ntrust_proxy = 10.0.0.0/8,::1');
    const lines = checkConfig(conf).output.split('\n');
    expect(lines).to.include('trace = http, ws');
    expect(lines).to.include('trust_proxy = 10.0.0.0/8, ::1');
  });

  it('on failure lists every problem as file:line: key: message, then a summary, and is not ok', () => {
    write('max_conections = 5\nport = 70000\nmetrics_token = tiny');
    const { ok, output } = checkConfig(conf);
    expect(ok).to.equal(false);
    expect(output.trimEnd().split('\n')).to.deep.equal([
      `${conf}:3: max_conections: unknown key — did you mean "max_connections"?`,
      `${conf}:4: port: "70000" is out of range; accepted 0–65535`,
      `${conf}:5: metrics_token: the value is too short (4 characters); at least 16`,
      `${conf}: test failed, 3 problems`,
    ]);
  });

  it('a missing configuration file fails with one problem', () => {
    const missing = join(dir, 'absent.conf');
    expect(checkConfig(missing)).to.deep.equal({
      ok: false,
      output: `${missing}: cannot read the file (ENOENT)\n${missing}: test failed, 1 problem\n`,
    });
  });

  it('checks that cert_file and key_file exist and are files', () => {
    const cert = join(dir, 'cert.pem');
    writeFileSync(cert, 'not really a certificate');
    write(`cert_file = ${cert}\nkey_file = ${join(dir, 'missing-key.pem')}`);
    expect(checkConfig(conf)).to.deep.equal({
      ok: false,
      output: `${conf}:4: key_file: ${join(dir, 'missing-key.pem')} does not exist\n${conf}: test failed, 1 problem\n`,
    });
  });

  it('checks that public_dir is a directory; a key left at its default is reported without a line', () => {
    writeFileSync(conf, `data_dir = ${join(dir, 'data')}\n`);
    const cwd = process.cwd();
    process.chdir(dir);
    rmSync(join(dir, 'public'), { recursive: true });
    try {
      expect(checkConfig(conf).output).to.equal(`${conf}: public_dir: public does not exist\n${conf}: test failed, 1 problem\n`);
    } finally {
      process.chdir(cwd);
    }
  });

  it('accepts a data_dir that does not exist yet (the server creates it) but not one that is a file', () => {
    write('');
    expect(checkConfig(conf).ok).to.equal(true);
    writeFileSync(join(dir, 'data'), 'a file');
    expect(checkConfig(conf).output).to.equal(`${conf}:2: data_dir: ${join(dir, 'data')} is not a directory\n${conf}: test failed, 1 problem\n`);
  });

  it('does not look at the files while the file has other problems', () => {
    write(`cert_file = ${join(dir, 'nope.pem')}\nkey_file = ${join(dir, 'nope.key')}\nport = x`);
    const { output } = checkConfig(conf);
    expect(output).to.include('port: "x" is not a whole number');
    expect(output).not.to.include('does not exist');
  });
});

describe('config/check-config: the startup summary', () => {
  it('is one line naming the listener, files and main limits', () => {
    const summary = describeConfigSummary(defaultConfig());
    expect(summary).not.to.include('\n');
    expect(summary).to.equal(
      'listening on https://127.0.0.1:8443 (tls on, self-signed certificate in data); ' +
        `data_dir data, database ${join('data', 'chat.db')}, public_dir public; ` +
        'max_connections 10000 (1000 per address); max_body_bytes 64KiB, ws_max_message_bytes 64KiB; ' +
        'log_level info; metrics_token unset (loopback only)',
    );
  });

  it('brackets an IPv6 host, says tls off, and names a configured certificate', () => {
    expect(describeConfigSummary(configWith('host = ::\ntls = off'))).to.match(/^listening on http:\/\/\[::\]:8443 \(tls off\)/);
    expect(describeConfigSummary(configWith('cert_file = /c.pem\nkey_file = /k.pem'))).to.include('(tls on, certificate /c.pem)');
  });

  it('says only "set" for metrics_token, never its value', () => {
    const summary = describeConfigSummary(configWith(`metrics_token = ${TOKEN}`));
    expect(summary).to.include('metrics_token set');
    expect(summary).not.to.include(TOKEN);
  });

  it('mentions the trace only when it is on', () => {
    expect(describeConfigSummary(configWith('trace = http, ws\ntrace_payloads = on'))).to.match(/; trace http, ws with payloads$/);
    expect(describeConfigSummary(defaultConfig())).not.to.include('trace');
  });

  it('databasePath is db_path, or chat.db inside data_dir when db_path is empty', () => {
    expect(databasePath(configWith('data_dir = /srv/chat'))).to.equal(join('/srv/chat', 'chat.db'));
    expect(databasePath(configWith('db_path = /tmp/x.db'))).to.equal('/tmp/x.db');
  });
});
