/**
 * The real process (`node dist/bin/server.js --config PATH`), for tests of
 * what only a process has: signals, exit codes, kill -9, a second process on
 * the same database. Resolves once it printed its URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './live-server.js';

export interface SpawnedServer {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything written to stdout and stderr so far. */
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const SPAWN_SECRET = 'spawned-test-secret-with-at-least-32-bytes!';

export function spawnServer(configPath: string, options: { secret?: string; startTimeoutMs?: number } = {}): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'bin', 'server.js'), '--config', configPath], {
    env: { ...process.env, SECRET_KEY: options.secret ?? SPAWN_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise<SpawnedServer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), options.startTimeoutMs ?? 15_000);
    const check = () => {
      const m = /chat server listening on https?:\/\/localhost:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out, exited });
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`server exited: ${out}`));
    });
  });
}

/** Resolves when `pattern` appears in the output, or rejects after `timeoutMs`. */
export function waitForOutput(output: () => string, pattern: RegExp, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (pattern.test(output())) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`no ${pattern} in output:\n${output()}`));
      }
    }, 20);
  });
}
