/**
 * `npm run bench:login` — does a burst of logins stall the reactor?
 *
 * One login costs one scrypt at N = 2^password_hash_cost (128 MiB and the
 * order of a second of CPU at OWASP's 2^17). password-hash.ts runs it on
 * worker threads at a lower scheduling priority than the event loop, so the
 * loop should keep turning while logins are hashed, even on one core
 * (DESIGN.md "One reactor, one thread"). This script measures it:
 *
 *   1. start the real server in this process (TLS, port 0 on 127.0.0.1, a
 *      temporary data folder) with the accounts mounted, and register a user;
 *   2. baseline: for a few seconds, GET /healthz in a loop, and record the
 *      event-loop delay (perf_hooks.monitorEventLoopDelay) and the latency
 *      of each /healthz answer;
 *   3. burst: the same /healthz loop, while N logins (default 20) are sent
 *      at once; record the same, plus the time until the last login answers;
 *   4. print p50/p99/max of both, and logins per second.
 *
 * The client runs in the same process, so its own TLS work is in the numbers
 * too: the figures are an upper bound on what the server alone adds.
 *
 * Usage: node dist/bench/login-burst.js [--logins N] [--cost C] [--seconds S] [--hash-concurrency K]
 *
 * `--hash-concurrency` overrides the hash gate (lib/accounts/hash-gate.ts),
 * e.g. 4 to let every pool thread hash at once and see what the gate saves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { ChatServer } from '../lib/app/chat-server.js';
import { mountAccounts } from '../lib/accounts/routes.js';
import { defaultHashConcurrency, HashGate } from '../lib/accounts/hash-gate.js';
import { availableParallelism } from 'node:os';
import { defaultConfig } from '../lib/config/parse.js';
import type { Config } from '../lib/config/schema.js';
import { createLogger } from '../lib/log/logger.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const PASSWORD = 'correct horse battery staple';
const NS_PER_MS = 1e6;
/** The last line of the output starts with this, then the results as JSON (bench/scenarios/login.ts reads it). */
const RESULT_PREFIX = 'login-burst-result ';

interface Args {
  logins: number;
  cost: number;
  seconds: number;
  hashConcurrency: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { logins: 20, cost: 17, seconds: 3, hashConcurrency: defaultHashConcurrency() };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!;
    const value = Number(argv[++i]);
    if (!Number.isInteger(value) || value <= 0) fail(`${name} needs a positive whole number`);
    if (name === '--logins') args.logins = value;
    else if (name === '--cost') args.cost = value;
    else if (name === '--seconds') args.seconds = value;
    else if (name === '--hash-concurrency') args.hashConcurrency = value;
    else fail(`unknown argument ${JSON.stringify(name)}`);
  }
  return args;
}

function fail(message: string): never {
  process.stderr.write(`error: ${message}\nusage: node dist/bench/login-burst.js [--logins N] [--cost C] [--seconds S] [--hash-concurrency K]\n`);
  process.exit(1);
}

/** One HTTPS request on a fresh connection (the server's certificate is self-signed). */
function call(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const payload = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolveCall, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        rejectUnauthorized: false,
        agent: false,
        headers: payload === '' ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolveCall({ status: res.statusCode ?? 0, json: text === '' ? null : (JSON.parse(text) as unknown) });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

interface Phase {
  readonly loop: { p50: number; p99: number; max: number };
  readonly healthz: { count: number; p50: number; p99: number; max: number };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** GET /healthz one after another until `stop()` says so; returns each latency in ms. */
async function healthzLoop(port: number, stop: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (!stop()) {
    const t0 = performance.now();
    await call(port, 'GET', '/healthz');
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

async function measure(port: number, work: () => Promise<void>): Promise<Phase> {
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let done = false;
  const probe = healthzLoop(port, () => done);
  await work();
  done = true;
  const latencies = (await probe).sort((a, b) => a - b);
  loop.disable();
  return {
    loop: { p50: loop.percentile(50) / NS_PER_MS, p99: loop.percentile(99) / NS_PER_MS, max: loop.max / NS_PER_MS },
    healthz: { count: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN },
  };
}

function row(label: string, phase: Phase): string {
  const f = (n: number) => n.toFixed(1).padStart(8);
  return `${label.padEnd(22)}${f(phase.loop.p50)}${f(phase.loop.p99)}${f(phase.loop.max)}   ${String(phase.healthz.count).padStart(6)}${f(phase.healthz.p50)}${f(phase.healthz.p99)}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-bench-login-'));
  const config: Config = {
    ...defaultConfig(),
    host: '127.0.0.1',
    port: 0,
    data_dir: dataDir,
    public_dir: join(REPO_ROOT, 'public'),
    password_hash_cost: args.cost,
    // The throttles are not what is measured here.
    auth_rate_per_minute: 100_000,
    auth_burst: 100_000,
    login_failures_per_account: 1000,
    // Nor is admission: the probe opens a fresh connection per request.
    connection_rate: 1_000_000,
    connection_burst: 1_000_000,
    access_log: false,
    log_level: 'warn',
  };
  const log = createLogger({ level: 'warn', write: (line) => process.stderr.write(line + '\n') });
  const server = new ChatServer({ config, log, secretKeyEnv: 'bench-secret-bench-secret-bench-secret!', baseDir: REPO_ROOT });
  mountAccounts(server, { hashGate: new HashGate(args.hashConcurrency, args.logins) });
  // Never outlive a stuck run.
  const deadline = setTimeout(() => fail('the benchmark took longer than 10 minutes'), 10 * 60_000);
  deadline.unref();
  try {
    const { port } = await server.start();
    const username = 'bench_user';
    const registered = await call(port, 'POST', '/register', { username, password: PASSWORD });
    if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
    // Warm-up: the first login also pays for TLS session set-up and JIT.
    await call(port, 'POST', '/login', { username, password: PASSWORD });

    const baseline = await measure(port, () => new Promise((r) => setTimeout(r, args.seconds * 1000)));
    let burstMs = 0;
    let ok = 0;
    const burst = await measure(port, async () => {
      const t0 = performance.now();
      const answers = await Promise.all(Array.from({ length: args.logins }, () => call(port, 'POST', '/login', { username, password: PASSWORD })));
      burstMs = performance.now() - t0;
      ok = answers.filter((a) => a.status === 200).length;
    });

        console.log(`login burst: ${args.logins} logins at scrypt cost ${args.cost} (N = 2^${args.cost}, r = 8, p = 1)`);
    console.log(`cores: ${availableParallelism()}, hashes at once (hash gate, one worker thread each): ${args.hashConcurrency}`);
    console.log('');
    console.log(`${''.padEnd(22)}${'event-loop delay (ms)'.padStart(24)}   ${'GET /healthz latency (ms)'.padStart(22)}`);
    console.log(`${'phase'.padEnd(22)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}   ${'count'.padStart(6)}${'p50'.padStart(8)}${'p99'.padStart(8)}`);
    console.log(row('idle (baseline)', baseline));
    console.log(row(`burst of ${args.logins} logins`, burst));
    console.log('');
    console.log(`logins: ${ok}/${args.logins} succeeded in ${(burstMs / 1000).toFixed(2)} s = ${((ok / burstMs) * 1000).toFixed(1)} logins/s`);
    // For the suite (bench/scenarios/login.ts): the same numbers on one line.
    console.log(`${RESULT_PREFIX}${JSON.stringify({ logins: args.logins, ok, burstMs, baseline, burst })}`);
    if (ok !== args.logins) process.exitCode = 1;
  } finally {
    server.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
