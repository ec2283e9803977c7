/**
 * First start: make the data folder, a TLS certificate and the token secret,
 * so that `npm start` works on a fresh machine with only Node installed.
 *
 * `prepareDataDir` runs once, before the server listens, in numbered steps:
 *
 *   1. The data folder: created with mode 0700 when absent. A folder the
 *      operator made is left as it is, with a warning if group or others can
 *      write to it (they could swap the key or the secret).
 *   2. The certificate: `cert_file`/`key_file` from server.conf when set;
 *      otherwise `<data>/tls-cert.pem` and `<data>/tls-key.pem`, a self-signed
 *      pair for localhost made on first start (./self-signed-cert.ts) and
 *      made again once it has expired.
 *   3. The token secret (API.md "Tokens"): the UTF-8 bytes of `SECRET_KEY`,
 *      at least 32; where that is unset, 32 random bytes kept in
 *      `<data>/secret.key` so tokens survive a restart.
 *
 * Private files are written with mode 0600 and flag 'wx' (create, never
 * overwrite, never follow a planted file). Anything wrong stops the start
 * with a StartupError naming the file and what to do; nothing that would
 * sign users out or lose a key is replaced silently. No secret ever goes
 * into a message or a log line.
 */
import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { createSelfSignedCertificate } from './self-signed-cert.js';

/** Stable codes, so tests and the entry point can tell failures apart. */
export type StartupErrorCode =
  | 'data_dir_unusable'
  | 'tls_config_incomplete'
  | 'file_missing'
  | 'file_unreadable'
  | 'file_unwritable'
  | 'bad_certificate'
  | 'bad_private_key'
  | 'key_mismatch'
  | 'secret_too_short'
  | 'bad_secret_file';

/**
 * The one error type of starting up. Its consequence is "print `message` and
 * exit non-zero": the message is written for the operator (it names the file
 * and the fix), so the entry point prints it without a stack.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';

  constructor(
    readonly code: StartupErrorCode,
    message: string,
    /** The file or folder at fault, when there is one. */
    readonly path?: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

export type StartupLog = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

export interface DataDirOptions {
  /** `data_dir` from server.conf. */
  readonly dataDir: string;
  /** `cert_file` from server.conf; '' means "make a self-signed one in the data folder". */
  readonly certFile: string;
  /** `key_file` from server.conf; set together with certFile. */
  readonly keyFile: string;
  /** `process.env.SECRET_KEY`. */
  readonly secretKeyEnv: string | undefined;
  readonly log: StartupLog;
  /** The clock, for tests; defaults to the current time. */
  readonly now?: Date;
}

export interface PreparedDataDir {
  readonly certPem: string;
  /** The TLS private key. Never log it. */
  readonly keyPem: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** The HS256 signing key. Never log it. */
  readonly secret: Buffer;
  readonly secretSource: 'env' | 'file' | 'generated';
  /** True when this call made a new self-signed certificate. */
  readonly createdCertificate: boolean;
}

/** What the first-start files are called inside the data folder. */
export const DATA_FILE = {
  CERT: 'tls-cert.pem',
  KEY: 'tls-key.pem',
  SECRET: 'secret.key',
} as const;

/** The self-signed certificate: who it is for and for how long. */
export const FIRST_START_CERTIFICATE = {
  COMMON_NAME: 'localhost',
  DNS_NAMES: ['localhost'],
  IP_ADDRESSES: ['127.0.0.1', '::1'],
  /** Under the 398 days browsers accept for a server certificate's lifetime. */
  DAYS: 365,
} as const;

/** API.md "Tokens": the signing key is at least 32 bytes; a generated one is exactly 32. */
export const MIN_SECRET_BYTES = 32;
const GENERATED_SECRET_BYTES = 32;
/**
 * secret.key holds the 32 bytes as 64 hex digits and an optional newline:
 * readable in an editor, and a truncated or edited file is recognised as such.
 */
const SECRET_FILE_FORMAT = /^[0-9a-fA-F]{64}\n?$/;

const DATA_DIR_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;
const PUBLIC_FILE_MODE = 0o644;
const GROUP_OR_OTHER_WRITE = 0o022;
const GROUP_OR_OTHER_ANY = 0o077;
const PERMISSION_BITS = 0o777;
/** Unix permission bits mean little on Windows; skip the checks there. */
const CHECK_MODES = process.platform !== 'win32';

/** Steps 1–3 above. Throws StartupError; logs through `options.log`. */
export function prepareDataDir(options: DataDirOptions): PreparedDataDir {
  const now = options.now ?? new Date();
  ensureDataDir(options.dataDir, options.log);
  const tls = prepareCertificate(options, now);
  const secret = prepareSecret(options);
  return { ...tls, ...secret };
}

// ---------------------------------------------------------------------------
// Step 1: the data folder
// ---------------------------------------------------------------------------

function ensureDataDir(dataDir: string, log: StartupLog): void {
  const existing = statOrUndefined(dataDir, 'data_dir');
  if (existing !== undefined) {
    if (!existing.isDirectory()) {
      throw new StartupError('data_dir_unusable', `data_dir ${dataDir} exists but is not a folder.`, dataDir);
    }
    // The operator made it: leave its mode alone, but say so when it is open.
    if (CHECK_MODES && (existing.mode & GROUP_OR_OTHER_WRITE) !== 0) {
      log('warn', 'the data folder is writable by group or others, who could replace its key and secret; chmod 700 it', {
        path: dataDir,
        mode: modeText(existing.mode),
      });
    }
    return;
  }
  try {
    mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
    // mkdir's mode passes through the umask; this folder is ours, so set it exactly.
    chmodSync(dataDir, DATA_DIR_MODE);
  } catch (cause) {
    throw new StartupError('data_dir_unusable', `cannot create data_dir ${dataDir} (${errorCode(cause)}).`, dataDir, { cause });
  }
  log('info', 'created the data folder', { path: dataDir });
}

// ---------------------------------------------------------------------------
// Step 2: the certificate
// ---------------------------------------------------------------------------

type PreparedCertificate = Pick<PreparedDataDir, 'certPem' | 'keyPem' | 'certPath' | 'keyPath' | 'createdCertificate'>;

function prepareCertificate(options: DataDirOptions, now: Date): PreparedCertificate {
  const { certFile, keyFile, log } = options;

  // 2a. The operator's own certificate: read and check it, never replace it.
  if (certFile !== '' || keyFile !== '') {
    if (certFile === '' || keyFile === '') {
      throw new StartupError(
        'tls_config_incomplete',
        'server.conf sets only one of cert_file and key_file; set both, or neither to use a self-signed certificate.',
      );
    }
    const certPem = readText(certFile, 'cert_file');
    const keyPem = readText(keyFile, 'key_file');
    const cert = checkPair(certPem, keyPem, certFile, keyFile, 'server.conf names');
    if (hasExpired(cert, now)) {
      log('warn', 'the configured TLS certificate has expired; clients will refuse it', { path: certFile, validTo: cert.validTo });
    }
    return { certPem, keyPem, certPath: certFile, keyPath: keyFile, createdCertificate: false };
  }

  // 2b. Our self-signed pair in the data folder. The key is written first and the
  //     certificate second, so a certificate on disk means the pair is complete.
  const certPath = join(options.dataDir, DATA_FILE.CERT);
  const keyPath = join(options.dataDir, DATA_FILE.KEY);
  const haveCert = statOrUndefined(certPath, 'certificate') !== undefined;
  const keyStat = statOrUndefined(keyPath, 'key');

  if (haveCert && keyStat === undefined) {
    throw new StartupError(
      'file_missing',
      `the data folder has a certificate ${certPath} but no key ${keyPath}; ` +
        'restore the key, or delete the certificate to have a new pair made.',
      keyPath,
    );
  }
  if (haveCert && keyStat !== undefined) {
    warnIfOpen(keyStat.mode, keyPath, log);
    const certPem = readText(certPath, 'certificate');
    const keyPem = readText(keyPath, 'key');
    const cert = checkPair(certPem, keyPem, certPath, keyPath, 'the data folder holds');
    if (!hasExpired(cert, now)) return { certPem, keyPem, certPath, keyPath, createdCertificate: false };
    log('info', 'the self-signed certificate has expired; making a new one', { path: certPath, validTo: cert.validTo });
    removeFile(certPath);
    removeFile(keyPath);
  } else if (keyStat !== undefined) {
    // A key with no certificate: an interrupted first start, or the operator asking for a new pair.
    log('warn', 'found a TLS key without its certificate; making a new pair', { path: keyPath });
    removeFile(keyPath);
  }

  const made = createSelfSignedCertificate({
    commonName: FIRST_START_CERTIFICATE.COMMON_NAME,
    dnsNames: FIRST_START_CERTIFICATE.DNS_NAMES,
    ipAddresses: FIRST_START_CERTIFICATE.IP_ADDRESSES,
    days: FIRST_START_CERTIFICATE.DAYS,
    now,
  });
  writeNewFile(keyPath, made.keyPem, PRIVATE_FILE_MODE);
  writeNewFile(certPath, made.certPem, PUBLIC_FILE_MODE);
  const cert = new X509Certificate(made.certPem);
  log('info', 'made a self-signed TLS certificate for localhost; browsers will warn until it is trusted', {
    path: certPath,
    validTo: cert.validTo,
    sha256: cert.fingerprint256,
  });
  return { certPem: made.certPem, keyPem: made.keyPem, certPath, keyPath, createdCertificate: true };
}

/** Parse both PEMs and check the key belongs to the certificate. Messages name the file, never its contents. */
function checkPair(certPem: string, keyPem: string, certPath: string, keyPath: string, where: string): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (cause) {
    throw new StartupError('bad_certificate', `${where} ${certPath} as a certificate, but it is not a PEM certificate.`, certPath, { cause });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (cause) {
    throw new StartupError('bad_private_key', `${where} ${keyPath} as a private key, but it is not a PEM private key.`, keyPath, { cause });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new StartupError('key_mismatch', `the private key ${keyPath} does not belong to the certificate ${certPath}.`, keyPath);
  }
  return cert;
}

function hasExpired(cert: X509Certificate, now: Date): boolean {
  // validTo reads like 'Dec 31 23:59:59 2049 GMT', which Date.parse understands.
  return Date.parse(cert.validTo) <= now.getTime();
}

// ---------------------------------------------------------------------------
// Step 3: the token secret
// ---------------------------------------------------------------------------

type PreparedSecret = Pick<PreparedDataDir, 'secret' | 'secretSource'>;

function prepareSecret(options: DataDirOptions): PreparedSecret {
  const { secretKeyEnv, log } = options;

  // 3a. API.md: "its UTF-8 bytes, at least 32, else the server refuses to start".
  if (secretKeyEnv !== undefined) {
    const secret = Buffer.from(secretKeyEnv, 'utf8');
    if (secret.length < MIN_SECRET_BYTES) {
      throw new StartupError(
        'secret_too_short',
        `SECRET_KEY is ${secret.length} bytes long; it must be at least ${MIN_SECRET_BYTES} bytes ` +
          '(for example 64 hex digits from `openssl rand -hex 32`), or unset it to use a key kept in the data folder.',
      );
    }
    return { secret, secretSource: 'env' };
  }

  // 3b. A key kept in the data folder: read it, or make it once.
  const path = join(options.dataDir, DATA_FILE.SECRET);
  const existing = statOrUndefined(path, 'secret file');
  if (existing !== undefined) {
    warnIfOpen(existing.mode, path, log);
    const secret = parseSecretFile(readFileSync(path), path);
    log('warn', 'signing tokens with the secret kept in the data folder; set SECRET_KEY in production', { path });
    return { secret, secretSource: 'file' };
  }
  const secret = randomBytes(GENERATED_SECRET_BYTES);
  writeNewFile(path, `${secret.toString('hex')}\n`, PRIVATE_FILE_MODE);
  log('warn', 'generated a token signing secret and kept it in the data folder; set SECRET_KEY in production', { path });
  return { secret, secretSource: 'generated' };
}

/**
 * Refuse a damaged file rather than replace it: a new secret would invalidate
 * every token issued, signing everyone out, and hide whatever went wrong.
 */
function parseSecretFile(contents: Buffer, path: string): Buffer {
  const text = contents.toString('latin1');
  if (!SECRET_FILE_FORMAT.test(text)) {
    throw new StartupError(
      'bad_secret_file',
      `${path} is not a secret file (64 hex digits); refusing to replace it, because a new secret signs everyone out. ` +
        'Restore it, delete it to have a new one made, or set SECRET_KEY.',
      path,
    );
  }
  return Buffer.from(text.trimEnd(), 'hex');
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/** stat, with "absent" as undefined and any other failure as a StartupError. */
function statOrUndefined(path: string, what: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (cause) {
    if (errorCode(cause) === 'ENOENT') return undefined;
    throw new StartupError('file_unreadable', `cannot look at the ${what} ${path} (${errorCode(cause)}).`, path, { cause });
  }
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const code = errorCode(cause);
    if (code === 'ENOENT') {
      throw new StartupError('file_missing', `the ${what} ${path} does not exist.`, path, { cause });
    }
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : code;
    throw new StartupError('file_unreadable', `cannot read the ${what} ${path} (${reason}).`, path, { cause });
  }
}

/** Create a file that must not exist yet ('wx'), with its mode set at creation. */
function writeNewFile(path: string, data: string, mode: number): void {
  try {
    writeFileSync(path, data, { mode, flag: 'wx' });
  } catch (cause) {
    throw new StartupError('file_unwritable', `cannot create ${path} (${errorCode(cause)}).`, path, { cause });
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (cause) {
    throw new StartupError('file_unwritable', `cannot remove ${path} to replace it (${errorCode(cause)}).`, path, { cause });
  }
}

function warnIfOpen(mode: number, path: string, log: StartupLog): void {
  if (CHECK_MODES && (mode & GROUP_OR_OTHER_ANY) !== 0) {
    log('warn', 'a private file is open to group or others; chmod 600 it', { path, mode: modeText(mode) });
  }
}

function modeText(mode: number): string {
  return (mode & PERMISSION_BITS).toString(8).padStart(4, '0');
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : String(error);
}
