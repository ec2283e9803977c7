/**
 * The entry point: `npm start` (or `node dist/bin/server.js [--config PATH]`).
 *
 *   1. read server.conf (or the file given with --config); every problem is
 *      printed with file:line and the process exits 1;
 *   2. `--check-config` stops there: print the effective settings, exit 0 or 1;
 *   3. start the server and print its URL;
 *   4. SIGINT / SIGTERM: drain gracefully and exit 0 within `drain_timeout`;
 *      a second signal exits at once (1);
 *   5. SIGHUP: reload server.conf without dropping a connection.
 *
 * Exit status: 0 after a drain, 1 on a start-up failure, 78 (EX_CONFIG) for a
 * config file with problems.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, defaultConfig, ConfigError, formatProblem } from '../lib/config/parse.js';
import { checkConfig, describeConfigSummary } from '../lib/config/check-config.js';
import type { Config } from '../lib/config/schema.js';
import { createLogger } from '../lib/log/logger.js';
import { createApp } from '../lib/app/app.js';
import { StartupError } from '../lib/net/first-start.js';

const USAGE = `usage: node dist/bin/server.js [--config PATH] [--check-config]
  --config PATH     read settings from PATH (default: ./server.conf)
  --check-config    validate the config file, print the effective settings, exit 0 (ok) or 1
  --help            this text`;

interface Args {
  configPath: string | null;
  check: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { configPath: null, check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') {
      const next = argv[++i];
      if (next === undefined) fail('--config needs a file path');
      args.configPath = next;
    } else if (a.startsWith('--config=')) args.configPath = a.slice('--config='.length);
    else if (a === '--check-config') args.check = true;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return args;
}

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

function readConfig(args: Args): { config: Config; path: string | null } {
  const path = resolve(args.configPath ?? 'server.conf');
  if (args.configPath === null && !existsSync(path)) return { config: defaultConfig(), path: null };
  try {
    return { config: loadConfig(path), path };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${path} has ${err.problems.length} problem(s):\n${err.problems.map((p) => '  ' + formatProblem(p)).join('\n')}\n`);
      process.exit(err.exitCode); // sysexits EX_CONFIG (78)
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') fail(`config file not found: ${path}`);
    throw err;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.check) {
    const path = resolve(args.configPath ?? 'server.conf');
    const result = checkConfig(path);
    (result.ok ? process.stdout : process.stderr).write(result.output.endsWith('\n') ? result.output : result.output + '\n');
    process.exit(result.ok ? 0 : 1);
  }

  const { config, path } = readConfig(args);
  const log = createLogger({ level: config.log_level });
  log.info('starting', { version: process.env.npm_package_version ?? 'dev', config: path ?? '(built-in defaults: no server.conf found)', summary: describeConfigSummary(config) });

  const { server } = createApp({ config, log, secretKeyEnv: process.env.SECRET_KEY, baseDir: process.cwd() });
  let started;
  try {
    started = await server.start();
  } catch (err) {
    if (err instanceof StartupError) fail(err.message);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') fail(`port ${config.port} on ${config.host} is already in use (set another port in server.conf)`);
    if (e.code === 'EACCES') fail(`no permission to listen on ${config.host}:${config.port} (ports below 1024 need privileges)`);
    throw err;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn('second signal: exiting at once', { signal });
      server.destroy();
      process.exit(1);
    }
    log.info('draining', { signal, drain_timeout_ms: config.drain_timeout });
    server.drain().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error('drain failed', { err: err instanceof Error ? err : new Error(String(err)) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // SIGHUP: reload server.conf without dropping a connection. A file with
  // problems changes nothing: the running settings stay and the log says why.
  process.on('SIGHUP', () => {
    if (path === null) {
      log.warn('reload: there is no config file to read (started on built-in defaults)');
      return;
    }
    let next: Config;
    try {
      next = loadConfig(path);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems.map(formatProblem) : [err instanceof Error ? err.message : String(err)];
      log.error('reload refused: the running configuration is kept', { config: path, problems });
      return;
    }
    try {
      const { applied, needRestart } = server.reload(next);
      log.info('reloaded', { config: path, applied, ...(needRestart.length > 0 ? { need_restart: needRestart } : {}) });
      if (needRestart.length > 0) log.warn('some changed keys apply only after a restart', { keys: needRestart });
      if (next.trace_payloads && applied.includes('trace_payloads')) log.warn('trace_payloads is on: message text will appear in the log');
    } catch (err) {
      log.error('reload refused: the running configuration is kept', { config: path, err: err instanceof Error ? err : new Error(String(err)) });
    }
  });

  // Announce only now that every signal has its handler: whoever waits for
  // this line may signal at once (Node's default for SIGHUP is to exit).
  log.info('listening', { url: started.url, host: started.host, port: started.port });
  if (config.trace.length > 0) log.info('protocol trace on', { layers: config.trace });
  if (config.trace_payloads) log.warn('trace_payloads is on: message text will appear in the log; never use it in production');
  process.stdout.write(`chat server listening on ${started.url}\n`);
}

main().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`fatal: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
