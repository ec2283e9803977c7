/**
 * Starting the two chat servers the chat benchmark compares, pinned to the
 * server CPU like the others (processes.ts):
 *
 *   ours  `node dist/bin/server.js --config DIR/chat-server-N.conf`, with a
 *         config written for the chat run: servers.ts's admission limits
 *         opened up, and in addition the chat and account limits the workload
 *         would otherwise hit (/register rate, per-user send rate), scrypt at
 *         2^14 (password_hash_cost) for a fast set-up, quiet logs;
 *   peer  `node dist/bench/peers/chat-peer.js`: the same contract on
 *         ws + node:https + better-sqlite3, with the same scrypt cost and
 *         send rate.
 *
 * Its own file because servers.ts's config and peer are the echo ones; the
 * ServerUnderTest it returns is servers.ts's type, and the start/ready/stop
 * handling is the same (each prints "listening on URL").
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BENCH_DIST, REPO_ROOT, SERVER_CPU, spawnNode } from './processes.js';
import { attachServer, benchConfigLines, type RunDir, type ServerUnderTest } from './servers.js';

/** scrypt's cost (log2 N) on both sides: the minimum our config accepts, so registering 1,000 users is quick. */
export const CHAT_HASH_COST = 14;
/** Per-user send rate and burst on both sides: high enough that the workload's senders are never throttled. */
export const CHAT_SEND_RATE = 10_000;
export const CHAT_SEND_BURST = 10_000;

export interface ChatStartOptions {
  readonly runDir: RunDir;
  readonly tls: boolean;
  readonly nodeFlags?: readonly string[];
  readonly maxLifetimeMs: number;
}

function ourChatConfig(o: ChatStartOptions, dataDir: string): string {
  return [
    '# written by bench/lib/chat-servers.ts for one chat bench run',
    ...benchConfigLines(o, dataDir),
    `password_hash_cost = ${CHAT_HASH_COST}`,
    'auth_rate_per_minute = 100000',
    'auth_burst = 100000',
    `send_rate_per_second = ${CHAT_SEND_RATE}`,
    `send_burst = ${CHAT_SEND_BURST}`,
    '',
  ].join('\n');
}

let serial = 0;

export async function startOurChatServer(o: ChatStartOptions): Promise<ServerUnderTest> {
  const n = ++serial;
  const dataDir = join(o.runDir.path, `chat-ours-${n}`);
  const confPath = join(o.runDir.path, `chat-server-${n}.conf`);
  writeFileSync(confPath, ourChatConfig(o, dataDir));
  const child = spawnNode({
    cpu: SERVER_CPU,
    nodeFlags: o.nodeFlags,
    script: join(REPO_ROOT, 'dist', 'bin', 'server.js'),
    args: ['--config', confPath],
    env: { SECRET_KEY: randomBytes(32).toString('hex') },
    maxLifetimeMs: o.maxLifetimeMs,
  });
  return attachServer('ours', child, o.tls);
}

export async function startChatPeer(o: ChatStartOptions): Promise<ServerUnderTest> {
  const n = ++serial;
  const child = spawnNode({
    cpu: SERVER_CPU,
    nodeFlags: o.nodeFlags,
    script: join(BENCH_DIST, 'peers', 'chat-peer.js'),
    args: [
      '--tls', o.tls ? 'on' : 'off',
      '--cert', o.runDir.certFile,
      '--key', o.runDir.keyFile,
      '--data-dir', join(o.runDir.path, `chat-peer-${n}`),
      '--cost', String(CHAT_HASH_COST),
      '--send-rate', String(CHAT_SEND_RATE),
      '--send-burst', String(CHAT_SEND_BURST),
    ],
    env: { SECRET_KEY: randomBytes(32).toString('hex') },
    maxLifetimeMs: o.maxLifetimeMs,
  });
  return attachServer('peer', child, o.tls);
}
