/**
 * A real server on 127.0.0.1, port 0, in this process: the same ChatServer
 * bin/server.ts runs, with a temporary data folder and the repository's
 * public/ folder. Tests talk to it over real sockets (raw-client.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultConfig } from '../../lib/config/parse.js';
import type { Config } from '../../lib/config/schema.js';
import { createLogger, type Logger } from '../../lib/log/logger.js';
import { ChatServer } from '../../lib/app/chat-server.js';
import { createApp, type App } from '../../lib/app/app.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

export interface LiveServer {
  readonly server: ChatServer;
  /** The accounts and chat modules, when started with `{ app: true }`. */
  readonly app: App | null;
  readonly port: number;
  readonly tls: boolean;
  readonly dataDir: string;
  /** Log lines written so far (JSON strings). */
  readonly logLines: string[];
  close(): Promise<void>;
}

export type ConfigOverrides = { -readonly [K in keyof Config]?: Config[K] };

export interface StartOptions {
  readonly secret?: string;
  /** Called before start(): add test routes or mount modules. */
  readonly prepare?: (s: ChatServer) => void;
  /** Mount the whole application (accounts and chat), as bin/server.ts does. */
  readonly app?: boolean;
}

export async function startServer(overrides: ConfigOverrides = {}, options: StartOptions = {}): Promise<LiveServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-spec-'));
  const config: Config = {
    ...defaultConfig(),
    host: '127.0.0.1',
    port: 0,
    data_dir: dataDir,
    public_dir: join(REPO_ROOT, 'public'),
    log_level: 'debug',
    // Suites open hundreds of connections from 127.0.0.1 in a second or two;
    // the per-address connection rate is tested where a test sets it.
    connection_rate: 100_000,
    connection_burst: 100_000,
    ...overrides,
  } as Config;
  const logLines: string[] = [];
  const log: Logger = createLogger({ level: config.log_level, write: (line) => logLines.push(line) });
  const serverOptions = { config, log, secretKeyEnv: options.secret ?? 'a-test-secret-that-is-at-least-32-bytes-long', baseDir: REPO_ROOT };
  const app = options.app ? createApp(serverOptions) : null;
  const server = app ? app.server : new ChatServer(serverOptions);
  options.prepare?.(server);
  const started = await server.start();
  return {
    server,
    app,
    port: started.port,
    tls: config.tls,
    dataDir,
    logLines,
    async close() {
      server.destroy();
      await new Promise((r) => setTimeout(r, 10));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
