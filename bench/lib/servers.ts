/**
 * Starting the two servers a bench run compares, as separate processes pinned
 * to the server CPU:
 *
 *   ours  `node dist/bin/server.js --config DIR/server.conf`, with a config
 *         written for the run (loopback, port 0, limits opened up for the
 *         load, quiet logs, the echo and broadcast paths on, the run's static
 *         files as public_dir) and the same certificate as the peer;
 *   peer  `node dist/bench/peers/ws-echo-peer.js`: `ws` on node:https, with
 *         the same paths and the same static files.
 *
 * Both print a "listening on URL" line on stdout; we read the port from it.
 * Their output is read continuously (a full pipe would stall a server) and the
 * last lines are kept for error messages.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { createSelfSignedCertificate } from '../../lib/net/self-signed-cert.js';
import { BENCH_DIST, REPO_ROOT, SERVER_CPU, spawnNode, waitForExit } from './processes.js';

export const ECHO_PATH = '/echo';
export const BROADCAST_PATH = '/broadcast';

/** The static files both servers serve (issue 9: 2 KB and 100 KB), by URL path and size. */
export const STATIC_FILES = [
  { path: '/file-2k.txt', bytes: 2 * 1024 },
  { path: '/file-100k.bin', bytes: 100 * 1024 },
] as const;

export interface ServerUnderTest {
  /** 'ours' or 'peer'. */
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly tls: boolean;
  /** ws:// or wss:// URL of a path on this server (always 127.0.0.1). */
  url(path: string): string;
  /** http:// or https:// URL of a path on this server. */
  httpUrl(path: string): string;
  /** The last lines the process printed (stdout and stderr), for error reports. */
  recentOutput(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM, wait for exit (our server drains), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A temporary folder for one run: the certificate, our server's config and data. */
export interface RunDir {
  readonly path: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** STATIC_FILES, written once for both servers. */
  readonly staticDir: string;
  remove(): void;
}

export function createRunDir(): RunDir {
  const path = mkdtempSync(join(tmpdir(), 'chat-bench-'));
  // One certificate for both servers, so both do the same TLS work (ECDSA P-256).
  const cert = createSelfSignedCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 2 });
  const certFile = join(path, 'cert.pem');
  const keyFile = join(path, 'key.pem');
  writeFileSync(certFile, cert.certPem);
  writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
  const staticDir = join(path, 'static');
  mkdirSync(staticDir);
  for (const file of STATIC_FILES) {
    // Printable bytes, so the text file is text; the same content on every run.
    const body = Buffer.alloc(file.bytes);
    for (let i = 0; i < body.length; i++) body[i] = 0x21 + (i % 94);
    writeFileSync(join(staticDir, file.path.slice(1)), body);
  }
  return { path, certFile, keyFile, staticDir, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface StartOptions {
  readonly runDir: RunDir;
  readonly tls: boolean;
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  readonly maxLifetimeMs: number;
}

/**
 * The server.conf lines every bench run of our server shares: loopback, the
 * run's certificate, and the admission limits opened up so that they never
 * refuse the bench's own load; quiet logs. Scenarios append their own keys.
 */
export function benchConfigLines(options: { readonly tls: boolean; readonly runDir: RunDir }, dataDir: string, publicDir = join(REPO_ROOT, 'public')): string[] {
  return [
    'host = 127.0.0.1',
    'port = 0',
    `tls = ${options.tls ? 'on' : 'off'}`,
    `cert_file = ${options.runDir.certFile}`,
    `key_file = ${options.runDir.keyFile}`,
    `data_dir = ${dataDir}`,
    `public_dir = ${publicDir}`,
    'max_connections = 100000',
    'max_connections_per_ip = 100000',
    'connection_rate = 1000000',
    'connection_burst = 1000000',
    'access_log = off',
    'log_level = warn',
  ];
}

/** The echo, broadcast, TLS and static scenarios' config: the shared lines, the two paths, the run's files; everything else at its default. */
function ourConfig(options: StartOptions, dataDir: string): string {
  return [
    '# written by bench/lib/servers.ts for one bench run',
    ...benchConfigLines(options, dataDir, options.runDir.staticDir),
    `ws_echo_path = ${ECHO_PATH}`,
    `ws_broadcast_path = ${BROADCAST_PATH}`,
    'ws_max_buffered_bytes = 1MiB',
    '',
  ].join('\n');
}

let serial = 0;

export async function startOurServer(options: StartOptions): Promise<ServerUnderTest> {
  const n = ++serial;
  const dataDir = join(options.runDir.path, `data-${n}`);
  const confPath = join(options.runDir.path, `server-${n}.conf`);
  writeFileSync(confPath, ourConfig(options, dataDir));
  const child = spawnNode({
    cpu: SERVER_CPU,
    nodeFlags: options.nodeFlags,
    script: join(REPO_ROOT, 'dist', 'bin', 'server.js'),
    args: ['--config', confPath],
    env: { SECRET_KEY: randomBytes(32).toString('hex') },
    maxLifetimeMs: options.maxLifetimeMs,
  });
  return attachServer('ours', child, options.tls);
}

export async function startPeer(options: StartOptions): Promise<ServerUnderTest> {
  const args = ['--tls', options.tls ? 'on' : 'off', '--cert', options.runDir.certFile, '--key', options.runDir.keyFile, '--static', options.runDir.staticDir];
  const child = spawnNode({
    cpu: SERVER_CPU,
    nodeFlags: options.nodeFlags,
    script: join(BENCH_DIST, 'peers', 'ws-echo-peer.js'),
    args,
    maxLifetimeMs: options.maxLifetimeMs,
  });
  return attachServer('peer', child, options.tls);
}

const KEPT_LINES = 40;
const START_TIMEOUT_MS = 15_000;

/** Every server under test, ours and the peers, prints this line once it accepts connections. */
const READY = /listening on (?:https?):\/\/[^\s:]+:(\d+)/;

/** Read the process's output (the last lines are kept for error reports); resolve once it printed its URL. */
export function attachServer(name: string, child: ChildProcess, tls: boolean): Promise<ServerUnderTest> {
  const lines: string[] = [];
  const keep = (prefix: string) => {
    let partial = '';
    return (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(prefix + line);
        if (lines.length > KEPT_LINES) lines.shift();
        onLine(line);
      }
    };
  };
  let onLine: (line: string) => void = () => {};
  child.stdout!.on('data', keep(''));
  child.stderr!.on('data', keep('stderr: '));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} server did not print its URL within ${START_TIMEOUT_MS} ms:\n${lines.join('\n')}`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} server exited during start (code ${code}, signal ${signal}):\n${lines.join('\n')}`));
    });
    onLine = (line) => {
      const m = READY.exec(line);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      onLine = () => {};
      const port = Number(m[1]);
      resolve({
        name,
        pid: child.pid!,
        port,
        tls,
        url: (path) => `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}${path}`,
        httpUrl: (path) => `${tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`,
        recentOutput: () => lines.join('\n'),
        alive: () => child.exitCode === null && child.signalCode === null,
        stop: (graceMs = 5000) => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return waitForExit(child, graceMs);
        },
      });
    };
  });
}
