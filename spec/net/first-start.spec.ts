import { expect } from 'chai';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DATA_FILE,
  prepareDataDir,
  StartupError,
  type DataDirOptions,
  type StartupErrorCode,
} from '../../lib/net/first-start.js';
import { createSelfSignedCertificate } from '../../lib/net/self-signed-cert.js';

interface LogLine {
  readonly level: 'info' | 'warn';
  readonly msg: string;
  readonly fields: Record<string, unknown> | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const mode = (path: string): number => statSync(path).mode & 0o777;

/** Run `fn`, expecting a StartupError with `code`; returns it for further checks. */
function expectStartupError(fn: () => unknown, code: StartupErrorCode): StartupError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(StartupError);
    expect((error as StartupError).code).to.equal(code);
    return error as StartupError;
  }
  expect.fail(`expected a StartupError ${code}`);
}

describe('first start (lib/net/first-start.ts)', () => {
  let root: string;
  let dataDir: string;
  let logs: LogLine[];

  const options = (overrides: Partial<DataDirOptions> = {}): DataDirOptions => ({
    dataDir,
    certFile: '',
    keyFile: '',
    secretKeyEnv: undefined,
    log: (level, msg, fields) => logs.push({ level, msg, fields }),
    ...overrides,
  });
  const path = (name: string): string => join(dataDir, name);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'first-start-'));
    dataDir = join(root, 'var', 'chat');
    logs = [];
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  describe('step 1: the data folder', () => {
    it('creates a missing data folder, parents included, with mode 0700', () => {
      prepareDataDir(options());
      expect(statSync(dataDir).isDirectory()).to.equal(true);
      expect(mode(dataDir)).to.equal(0o700);
    });

    it('leaves the mode of a folder the operator made alone, but warns when group or others can write to it', () => {
      mkdirSync(dataDir, { recursive: true });
      chmodSync(dataDir, 0o777);
      prepareDataDir(options());
      expect(mode(dataDir)).to.equal(0o777);
      const warning = logs.find((line) => line.level === 'warn' && line.msg.includes('data folder is writable'));
      expect(warning?.fields).to.deep.include({ path: dataDir, mode: '0777' });
    });

    it('does not warn about a folder only its owner can write to', () => {
      mkdirSync(dataDir, { recursive: true });
      chmodSync(dataDir, 0o755);
      prepareDataDir(options());
      expect(mode(dataDir)).to.equal(0o755);
      expect(logs.some((line) => line.msg.includes('data folder is writable'))).to.equal(false);
    });

    it('refuses a data_dir that is a file', () => {
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, 'plain-file'), 'x');
      const error = expectStartupError(() => prepareDataDir(options({ dataDir: join(root, 'plain-file') })), 'data_dir_unusable');
      expect(error.message).to.include(join(root, 'plain-file'));
    });
  });

  describe('step 2: the certificate', () => {
    it('makes a self-signed pair for localhost on first start: key mode 0600, the certificate matching it', () => {
      const result = prepareDataDir(options());
      expect(result.createdCertificate).to.equal(true);
      expect(result.certPath).to.equal(path(DATA_FILE.CERT));
      expect(result.keyPath).to.equal(path(DATA_FILE.KEY));
      expect(mode(result.keyPath)).to.equal(0o600);
      expect(readFileSync(result.certPath, 'utf8')).to.equal(result.certPem);
      expect(readFileSync(result.keyPath, 'utf8')).to.equal(result.keyPem);
      const cert = new X509Certificate(result.certPem);
      expect(cert.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
      expect(cert.checkPrivateKey(createPrivateKey(result.keyPem))).to.equal(true);
      expect(Date.parse(cert.validTo)).to.be.greaterThan(Date.now() + 300 * DAY_MS);
    });

    it('reuses the pair on the next start', () => {
      const first = prepareDataDir(options());
      const second = prepareDataDir(options());
      expect(second.createdCertificate).to.equal(false);
      expect(second.certPem).to.equal(first.certPem);
      expect(second.keyPem).to.equal(first.keyPem);
    });

    it('makes a new pair once the self-signed certificate has expired, and says so', () => {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const old = createSelfSignedCertificate({
        commonName: 'localhost',
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        days: 1,
        now: new Date(Date.now() - 10 * DAY_MS),
      });
      writeFileSync(path(DATA_FILE.KEY), old.keyPem, { mode: 0o600 });
      writeFileSync(path(DATA_FILE.CERT), old.certPem);
      const result = prepareDataDir(options());
      expect(result.createdCertificate).to.equal(true);
      expect(result.certPem).to.not.equal(old.certPem);
      expect(Date.parse(new X509Certificate(result.certPem).validTo)).to.be.greaterThan(Date.now());
      expect(mode(result.keyPath)).to.equal(0o600);
      expect(logs.some((line) => line.msg.includes('expired'))).to.equal(true);
    });

    it('judges expiry by the clock it is given', () => {
      const first = prepareDataDir(options());
      const later = prepareDataDir(options({ now: new Date(Date.now() + 400 * DAY_MS) }));
      expect(later.createdCertificate).to.equal(true);
      expect(later.certPem).to.not.equal(first.certPem);
    });

    it('makes a new pair when only the key is left (an interrupted first start), with a warning', () => {
      prepareDataDir(options());
      rmSync(path(DATA_FILE.CERT));
      const result = prepareDataDir(options());
      expect(result.createdCertificate).to.equal(true);
      expect(new X509Certificate(result.certPem).checkPrivateKey(createPrivateKey(result.keyPem))).to.equal(true);
      expect(logs.some((line) => line.level === 'warn' && line.msg.includes('key without its certificate'))).to.equal(true);
    });

    it('refuses a certificate whose key is gone, naming the key file', () => {
      prepareDataDir(options());
      rmSync(path(DATA_FILE.KEY));
      const error = expectStartupError(() => prepareDataDir(options()), 'file_missing');
      expect(error.path).to.equal(path(DATA_FILE.KEY));
      expect(error.message).to.include(path(DATA_FILE.KEY));
    });

    it('refuses a damaged certificate in the data folder rather than replacing it', () => {
      prepareDataDir(options());
      writeFileSync(path(DATA_FILE.CERT), 'not a certificate');
      const error = expectStartupError(() => prepareDataDir(options()), 'bad_certificate');
      expect(error.path).to.equal(path(DATA_FILE.CERT));
      expect(readFileSync(path(DATA_FILE.CERT), 'utf8')).to.equal('not a certificate');
    });

    it('warns when the key file is readable by group or others', () => {
      prepareDataDir(options());
      chmodSync(path(DATA_FILE.KEY), 0o644);
      prepareDataDir(options());
      const warning = logs.find((line) => line.msg.includes('open to group or others'));
      expect(warning?.fields).to.deep.include({ path: path(DATA_FILE.KEY), mode: '0644' });
    });

    describe('cert_file and key_file from server.conf', () => {
      let configured: { certFile: string; keyFile: string; certPem: string; keyPem: string };

      beforeEach(() => {
        const made = createSelfSignedCertificate({ commonName: 'chat.example', dnsNames: ['chat.example'], ipAddresses: [], days: 10 });
        configured = { certFile: join(root, 'chat.crt'), keyFile: join(root, 'chat.key'), ...made };
        writeFileSync(configured.certFile, made.certPem);
        writeFileSync(configured.keyFile, made.keyPem, { mode: 0o600 });
      });

      it('uses the configured pair as it is and makes no certificate of its own', () => {
        const result = prepareDataDir(options({ certFile: configured.certFile, keyFile: configured.keyFile }));
        expect(result.createdCertificate).to.equal(false);
        expect(result.certPem).to.equal(configured.certPem);
        expect(result.keyPem).to.equal(configured.keyPem);
        expect(result.certPath).to.equal(configured.certFile);
        expect(existsSync(path(DATA_FILE.CERT))).to.equal(false);
        expect(existsSync(path(DATA_FILE.KEY))).to.equal(false);
      });

      it('refuses a missing cert_file with a StartupError naming the path', () => {
        const missing = join(root, 'no-such.crt');
        const error = expectStartupError(() => prepareDataDir(options({ certFile: missing, keyFile: configured.keyFile })), 'file_missing');
        expect(error.path).to.equal(missing);
        expect(error.message).to.include(missing).and.to.include('cert_file');
      });

      it('refuses a missing key_file with a StartupError naming the path', () => {
        const missing = join(root, 'no-such.key');
        const error = expectStartupError(() => prepareDataDir(options({ certFile: configured.certFile, keyFile: missing })), 'file_missing');
        expect(error.path).to.equal(missing);
        expect(error.message).to.include(missing).and.to.include('key_file');
      });

      it('refuses a cert_file that is a folder', () => {
        const error = expectStartupError(() => prepareDataDir(options({ certFile: root, keyFile: configured.keyFile })), 'file_unreadable');
        expect(error.message).to.include(root);
      });

      it('refuses cert_file without key_file, and key_file without cert_file', () => {
        expectStartupError(() => prepareDataDir(options({ certFile: configured.certFile })), 'tls_config_incomplete');
        expectStartupError(() => prepareDataDir(options({ keyFile: configured.keyFile })), 'tls_config_incomplete');
      });

      it('refuses a key that does not belong to the certificate', () => {
        const other = createSelfSignedCertificate({ commonName: 'x', dnsNames: ['x'], ipAddresses: [], days: 1 });
        writeFileSync(configured.keyFile, other.keyPem);
        const error = expectStartupError(() => prepareDataDir(options({ certFile: configured.certFile, keyFile: configured.keyFile })), 'key_mismatch');
        expect(error.path).to.equal(configured.keyFile);
      });

      it('refuses a key_file that is not a key, without quoting its contents', () => {
        writeFileSync(configured.keyFile, 'sk_live_do_not_print_me');
        const error = expectStartupError(() => prepareDataDir(options({ certFile: configured.certFile, keyFile: configured.keyFile })), 'bad_private_key');
        expect(error.message).to.include(configured.keyFile).and.not.to.include('sk_live_do_not_print_me');
      });

      it('warns about, but keeps using, an expired configured certificate', () => {
        const result = prepareDataDir(options({ certFile: configured.certFile, keyFile: configured.keyFile, now: new Date(Date.now() + 30 * DAY_MS) }));
        expect(result.certPem).to.equal(configured.certPem);
        expect(logs.some((line) => line.level === 'warn' && line.msg.includes('configured TLS certificate has expired'))).to.equal(true);
      });
    });
  });

  describe('step 3: the token secret (API.md "Tokens")', () => {
    it('generates 32 random bytes into secret.key, mode 0600, and warns that production should set SECRET_KEY', () => {
      const result = prepareDataDir(options());
      expect(result.secretSource).to.equal('generated');
      expect(result.secret).to.have.length(32);
      expect(mode(path(DATA_FILE.SECRET))).to.equal(0o600);
      expect(readFileSync(path(DATA_FILE.SECRET), 'utf8')).to.equal(`${result.secret.toString('hex')}\n`);
      expect(logs.some((line) => line.level === 'warn' && line.msg.includes('SECRET_KEY'))).to.equal(true);
    });

    it('reads the same secret bytes on the next start, still warning', () => {
      const first = prepareDataDir(options());
      logs = [];
      const second = prepareDataDir(options());
      expect(second.secretSource).to.equal('file');
      expect(second.secret.equals(first.secret)).to.equal(true);
      expect(logs.some((line) => line.level === 'warn' && line.msg.includes('SECRET_KEY'))).to.equal(true);
    });

    it('makes a different secret in a different data folder', () => {
      const first = prepareDataDir(options());
      const second = prepareDataDir(options({ dataDir: join(root, 'other') }));
      expect(second.secret.equals(first.secret)).to.equal(false);
    });

    it('never writes the secret into a log line', () => {
      const first = prepareDataDir(options());
      prepareDataDir(options());
      const logged = JSON.stringify(logs);
      expect(logged).to.not.include(first.secret.toString('hex'));
      expect(logged).to.not.include(first.secret.toString('base64'));
    });

    it('uses the UTF-8 bytes of SECRET_KEY when set, and creates no secret file', () => {
      const value = 'correct horse battery staple 32b!';
      const result = prepareDataDir(options({ secretKeyEnv: value }));
      expect(result.secretSource).to.equal('env');
      expect(result.secret.equals(Buffer.from(value, 'utf8'))).to.equal(true);
      expect(existsSync(path(DATA_FILE.SECRET))).to.equal(false);
    });

    it('counts SECRET_KEY in UTF-8 bytes, not characters: 16 × "é" is 32 bytes and accepted', () => {
      const result = prepareDataDir(options({ secretKeyEnv: 'é'.repeat(16) }));
      expect(result.secret).to.have.length(32);
    });

    it('refuses a SECRET_KEY shorter than 32 bytes, without quoting it', () => {
      for (const value of ['x'.repeat(31), 'é'.repeat(15) + 'a', '']) {
        const error = expectStartupError(() => prepareDataDir(options({ secretKeyEnv: value })), 'secret_too_short');
        expect(error.message).to.include(`${Buffer.byteLength(value)} bytes`);
        if (value !== '') expect(error.message).to.not.include(value);
      }
      expect(existsSync(path(DATA_FILE.SECRET))).to.equal(false);
    });

    it('accepts a secret file without the trailing newline, in upper case hex', () => {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      writeFileSync(path(DATA_FILE.SECRET), 'AB'.repeat(32), { mode: 0o600 });
      expect(prepareDataDir(options()).secret.equals(Buffer.alloc(32, 0xab))).to.equal(true);
    });

    const corrupt: ReadonlyArray<readonly [string, string | Buffer]> = [
      ['empty', ''],
      ['too short (31 bytes of hex)', `${'ab'.repeat(31)}\n`],
      ['too long (33 bytes of hex)', `${'ab'.repeat(33)}\n`],
      ['not hex', `${'zz'.repeat(32)}\n`],
      ['32 raw bytes', Buffer.alloc(32, 0x8f)],
      ['hex with extra lines', `${'ab'.repeat(32)}\n\n`],
    ];
    for (const [what, contents] of corrupt) {
      it(`refuses a secret file that is ${what}, leaving it untouched`, () => {
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
        writeFileSync(path(DATA_FILE.SECRET), contents, { mode: 0o600 });
        const error = expectStartupError(() => prepareDataDir(options()), 'bad_secret_file');
        expect(error.path).to.equal(path(DATA_FILE.SECRET));
        expect(error.message).to.include(path(DATA_FILE.SECRET)).and.to.include('SECRET_KEY');
        expect(readFileSync(path(DATA_FILE.SECRET)).equals(Buffer.from(contents))).to.equal(true);
      });
    }

    it('warns when the secret file is readable by group or others', () => {
      prepareDataDir(options());
      chmodSync(path(DATA_FILE.SECRET), 0o640);
      prepareDataDir(options());
      const warning = logs.find((line) => line.msg.includes('open to group or others'));
      expect(warning?.fields).to.deep.include({ path: path(DATA_FILE.SECRET), mode: '0640' });
    });
  });
});
