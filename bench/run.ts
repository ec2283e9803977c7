/**
 * `npm run bench` — the benchmark suite (issue 9): our server against a peer
 * on the usual Node stack, in one run, with one table of ratios.
 *
 * Scenarios, in order (each can be picked with --only):
 *   echo       echo at fixed rates; idle connections (RSS); connection set-up
 *   broadcast  one sender, 100 and 1,000 receivers, 20k deliveries/s
 *   tls        TLS handshakes, full and resumed with a session ticket
 *   static     2 KB and 100 KB files over keep-alive HTTPS, with wrk
 *   chat       API.md's chat: acked sends into a room of 1,000 (scenarios/chat.ts)
 *   login      event-loop delay during a burst of logins (no peer)
 * The peers: bench/peers/ws-echo-peer.ts (`ws` on node:https, with /echo,
 * /broadcast and cached static files) and bench/peers/chat-peer.ts (API.md on
 * ws + node:https + better-sqlite3).
 *
 *   npm run bench                  the full run (about 10 minutes; bounded at 15)
 *   npm run bench -- --quick       a subset in under 2 minutes (echo 5k, idle 2k,
 *                                  broadcast to 100, TLS, static 2 KB, login burst)
 *   npm run bench -- --only a,b    only the named scenarios (of the chosen size)
 *   npm run bench -- --tls off     the same over ws:// and plain HTTP (no TLS scenario)
 *   npm run bench -- --profile [L] no comparison: each server alone under one
 *                                  load L — echo (5k msg/s, the default),
 *                                  broadcast (to 1,000, 20k deliveries/s),
 *                                  tls (full handshakes) or static (2 KB) —
 *                                  first with
 *                                  `node --cpu-prof` (JavaScript self time),
 *                                  then, if installed, with `perf record`
 *                                  (everything, kernel and OpenSSL included)
 *   npm run bench -- --json FILE   also write every round's numbers to FILE
 *
 * Everything stays on loopback, every process it starts is pinned (server on
 * CPU 0, load on CPU 1) when `taskset` allows and runs at niceness -10 when
 * allowed (processes.ts says why), and every process ends with the run, or by
 * its own deadline if the runner dies.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runEchoScenario, type EchoScenarioOptions, type ScenarioResult } from './scenarios/echo.js';
import { runBroadcastScenario, type BroadcastPlan } from './scenarios/broadcast.js';
import { runTlsScenario, type TlsPlan } from './scenarios/tls.js';
import { runStaticScenario, runWrk, wrkAvailable, type StaticPlan } from './scenarios/static.js';
import { chatPlan, runChatScenarioDetailed } from './scenarios/chat.js';
import { runLoginScenario, type LoginPlan } from './scenarios/login.js';
import { detectNiceness, detectPinning, pinSelf, REPO_ROOT, setRunDeadline, sleep } from './lib/processes.js';
import { BROADCAST_PATH, createRunDir, ECHO_PATH, startOurServer, startPeer, STATIC_FILES, type ServerUnderTest } from './lib/servers.js';
import { describeMachine, loadAverage } from './lib/proc-stats.js';
import { renderTable, type ResultRow } from './lib/table.js';
import { LoadGenerator } from './lib/load-generator.js';
import { sourceAddresses } from './lib/source-addresses.js';
import { renderProfile, summarizeProfile, type ProfileWindow } from './lib/cpu-profile.js';
import { perfAvailable, perfRecord, perfReport, removePerfData } from './lib/perf-profile.js';

const SCENARIOS = ['echo', 'broadcast', 'tls', 'static', 'chat', 'login'] as const;
type Scenario = (typeof SCENARIOS)[number];
const PROFILE_LOADS = ['echo', 'broadcast', 'tls', 'static'] as const;
type ProfileLoad = (typeof PROFILE_LOADS)[number];

interface Args {
  quick: boolean;
  tls: boolean;
  /** The load to profile under, or null for the comparison run. */
  profile: ProfileLoad | null;
  json: string | null;
  /** Scenarios to run; null = the default set of the chosen size. */
  only: Scenario[] | null;
}

const USAGE = `usage: node dist/bench/run.js [--quick] [--only ${SCENARIOS.join(',')}] [--tls on|off] [--profile [${PROFILE_LOADS.join('|')}]] [--json FILE]`;

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, tls: true, profile: null, json: null, only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--full') args.quick = false;
    else if (a === '--profile') {
      const next = argv[i + 1];
      if (next !== undefined && (PROFILE_LOADS as readonly string[]).includes(next)) {
        args.profile = next as ProfileLoad;
        i++;
      } else args.profile = 'echo';
    }
    else if (a === '--tls') {
      const v = argv[++i];
      if (v !== 'on' && v !== 'off') usage(`--tls needs on or off`);
      args.tls = v === 'on';
    } else if (a === '--json') {
      const v = argv[++i];
      if (v === undefined) usage('--json needs a file');
      args.json = v;
    } else if (a === '--only') {
      const names = (argv[++i] ?? '').split(',').filter((n) => n !== '');
      const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
      if (names.length === 0 || unknown.length > 0) usage(`--only takes scenario names from ${SCENARIOS.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
      args.only = names as Scenario[];
    } else if (a === '--help' || a === '-h') usage(null);
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  return args;
}

function usage(error: string | null): never {
  if (error) process.stderr.write(`error: ${error}\n`);
  process.stdout.write(USAGE + '\n');
  process.exit(error ? 1 : 0);
}

const log = (line: string) => process.stdout.write(line + '\n');

/** The commit the numbers belong to, and whether the working tree differs from it (read-only git). */
function describeCode(): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return 'not a git checkout';
  const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', 'lib', 'bin']).stdout.trim() !== '';
  return `commit ${head.stdout.trim()}${dirty ? ', with uncommitted changes in lib/ or bin/' : ''}`;
}

/** The two sizes of run. Rates and counts follow issues 3 and 9; durations keep quick near 2 minutes and full under 15. */
function echoPlan(args: Args): Omit<EchoScenarioOptions, 'runDir' | 'log' | 'maxLifetimeMs'> {
  return args.quick
    ? { tls: args.tls, rates: [5000], connections: 50, roundSeconds: 3, rounds: 3, warmupSeconds: 1, payloadBytes: 64, idleCounts: [2000], sourceCount: 8 }
    : { tls: args.tls, rates: [1000, 5000, 10000], connections: 50, roundSeconds: 5, rounds: 5, warmupSeconds: 2, payloadBytes: 64, idleCounts: [2000, 5000, 10000], sourceCount: 8 };
}

function broadcastPlan(args: Args): BroadcastPlan {
  return args.quick
    ? { receivers: [100], deliveriesPerSecond: 20_000, rounds: 2, roundSeconds: 3, warmupSeconds: 1, payloadBytes: 64, sourceCount: 8 }
    : { receivers: [100, 1000], deliveriesPerSecond: 20_000, rounds: 3, roundSeconds: 5, warmupSeconds: 2, payloadBytes: 64, sourceCount: 8 };
}

function tlsPlan(args: Args): TlsPlan {
  return args.quick ? { handshakes: 500, concurrency: 16, rounds: 2, sourceCount: 8 } : { handshakes: 2000, concurrency: 16, rounds: 3, sourceCount: 8 };
}

function staticPlan(args: Args): StaticPlan {
  return args.quick ? { connections: 32, rounds: 2, roundSeconds: 3, sizes: [2048] } : { connections: 32, rounds: 3, roundSeconds: 5, sizes: [2048, 102_400] };
}

const LOGIN_PLAN: LoginPlan = { logins: 20, cost: 17 };

/** What runs: --only, else everything in a full run and the fast scenarios in a quick one. */
function chosenScenarios(args: Args): Scenario[] {
  const chosen = args.only ?? (args.quick ? ['echo', 'broadcast', 'tls', 'static', 'login'] : [...SCENARIOS]);
  // Without TLS there is no handshake to measure.
  return chosen.filter((s) => args.tls || s !== 'tls');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const deadlineMs = args.quick ? 6 * 60_000 : 15 * 60_000;
  setRunDeadline(deadlineMs);
  const pinning = detectPinning();
  const machine = describeMachine(); // before pinSelf: nproc counts the CPUs this process may use
  pinSelf();
  const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
  log(`# chat-from-scratch bench — ${new Date().toISOString()}`);
  log(`machine: ${machine.cpuModel}, ${machine.nproc} CPUs, Linux ${machine.kernel}, Node ${machine.node}`);
  log(`pinning: ${pinning.enabled ? pinning.reason : 'OFF — ' + pinning.reason}`);
  const nice = detectNiceness();
  log(`priority: servers and load generator at niceness ${nice}${nice === 0 ? ' (no privilege to raise it: other work on the machine delays them more)' : ' (ahead of other work on the machine)'}`);
  log(`command: ${command}`);
  log(`code: ${describeCode()}`);
  log(`load average at start: ${loadAverage().toFixed(2)} (other work on this machine disturbs every number below)`);

  const runDir = createRunDir();
  const started = Date.now();
  try {
    if (args.profile !== null) {
      await profileOurs(args, args.profile, runDir, deadlineMs);
      return;
    }
    const results: ScenarioResult[] = [];
    const scheme = args.tls ? 'https' : 'http';
    for (const scenario of chosenScenarios(args)) {
      const t0 = Date.now();
      let result: ScenarioResult;
      try {
        result = await runScenario(scenario, args, runDir, deadlineMs, scheme);
      } catch (err) {
        // One broken scenario does not cost the others their numbers: it is reported, and the run exits 1.
        const message = err instanceof Error ? err.message : String(err);
        log(`  ${scenario} FAILED: ${message}`);
        result = { rows: [], notes: [], anomalies: [`${scenario}: the scenario failed: ${message}`], raw: {} };
      }
      results.push(result);
      // Each scenario's rows as soon as they exist: a run stopped at its deadline still leaves them.
      if (result.rows.length) log('\n' + renderTable(result.rows, `peer (node:${scheme})`));
      log(`  (${scenario} took ${Math.round((Date.now() - t0) / 1000)} s)`);
    }
    const rows: ResultRow[] = results.flatMap((r) => r.rows);
    log(`\n## results (median of rounds; min–max in parentheses; lower is better everywhere)\n`);
    log(renderTable(rows, `peer (node:${scheme})`));
    const notes = results.flatMap((r) => r.notes);
    if (notes.length) log('\n' + notes.map((n) => `- ${n}`).join('\n'));
    const anomalies = results.flatMap((r) => r.anomalies);
    log(`\nrun took ${Math.round((Date.now() - started) / 1000)} s; load average at the end: ${loadAverage().toFixed(2)}`);
    if (args.json) {
      writeFileSync(args.json, JSON.stringify({ machine, pinning, niceness: nice, command, code: describeCode(), rows, notes, anomalies, raw: results.map((r) => r.raw) }, null, 2));
      log(`wrote ${args.json}`);
    }
    if (anomalies.length) {
      log(`\n## ANOMALIES (possible server bugs)\n` + anomalies.map((a) => `- ${a}`).join('\n'));
      process.exitCode = 1;
    }
  } finally {
    runDir.remove();
  }
}

async function runScenario(scenario: Scenario, args: Args, runDir: ReturnType<typeof createRunDir>, deadlineMs: number, scheme: string): Promise<ScenarioResult> {
  const common = { runDir, log, maxLifetimeMs: deadlineMs };
  switch (scenario) {
    case 'echo': {
      const plan = echoPlan(args);
      log(
        `\n## echo: ours (ws_echo_path) vs ws + node:${scheme}; ${plan.connections} connections, rates ${plan.rates.join(', ')} msg/s, ` +
          `${plan.rounds} rounds × ${plan.roundSeconds} s, ${plan.payloadBytes}-byte text messages; idle ${plan.idleCounts.join(', ')}`,
      );
      return runEchoScenario({ ...plan, ...common });
    }
    case 'broadcast': {
      const plan = broadcastPlan(args);
      log(
        `\n## broadcast: ours (ws_broadcast_path) vs ws + node:${scheme}; ${plan.receivers.join(' and ')} receivers, ${plan.deliveriesPerSecond} deliveries/s, ` +
          `one sender, ${plan.rounds} rounds × ${plan.roundSeconds} s, ${plan.payloadBytes}-byte text messages`,
      );
      return runBroadcastScenario({ ...plan, ...common, tls: args.tls });
    }
    case 'tls': {
      const plan = tlsPlan(args);
      log(`\n## TLS handshakes: ours vs node:https; ${plan.handshakes} per round, ${plan.concurrency} at a time, full and resumed, ${plan.rounds} rounds`);
      return runTlsScenario({ ...plan, ...common });
    }
    case 'static': {
      const plan = staticPlan(args);
      log(`\n## static files: ours vs node:${scheme} (files cached in memory); wrk, ${plan.connections} keep-alive connections, ${plan.rounds} rounds × ${plan.roundSeconds} s`);
      if (!wrkAvailable()) {
        log('  skipped: wrk is not installed (Debian: apt-get install -y wrk)');
        return { rows: [], notes: ['static: skipped, wrk is not installed (apt-get install -y wrk)'], anomalies: [], raw: {} };
      }
      return runStaticScenario({ ...plan, ...common, tls: args.tls });
    }
    case 'chat': {
      const plan = chatPlan(args.quick);
      log(
        `\n## chat: ours vs ws + node:${scheme} + better-sqlite3; ${plan.members} members in one room, ${plan.senders} senders, ` +
          `${plan.deliveryRates.join(' and ')} deliveries/s, ${plan.rounds} rounds × ${plan.roundSeconds} s; saturation with ${plan.window} in flight per sender`,
      );
      return runChatScenarioDetailed({ quick: args.quick, tls: args.tls, ...common });
    }
    case 'login':
      log(`\n## login burst: ${LOGIN_PLAN.logins} logins at scrypt 2^${LOGIN_PLAN.cost}, pinned to one CPU (bench/login-burst.ts)`);
      return runLoginScenario({ ...LOGIN_PLAN, log, maxLifetimeMs: deadlineMs });
  }
}

/**
 * `--profile`: each server alone, with `node --cpu-prof` (then `perf`, when
 * installed), under one load for 10 s after a short warm-up; the summary keeps
 * only the samples of the measured window (not the start-up, not the
 * warm-up). Ours is the one the issue asks about; the peer's is printed beside
 * it to show where the two spend their time differently.
 */
async function profileOurs(args: Args, load: ProfileLoad, runDir: ReturnType<typeof createRunDir>, deadlineMs: number): Promise<void> {
  const seconds = 10;
  const withPerf = perfAvailable();
  if (!withPerf) log('\n(perf is not installed: only the JavaScript profile of --cpu-prof follows)');
  const describe: Record<ProfileLoad, string> = {
    echo: `echo at 5k msg/s over 50 connections for ${seconds} s`,
    broadcast: `broadcast to 1,000 at 20k deliveries/s for ${seconds} s`,
    tls: `full TLS handshakes, 16 at a time, for about ${seconds} s`,
    static: `the 2 KB file with wrk, 32 keep-alive connections, for ${seconds} s`,
  };
  for (const tool of withPerf ? (['cpu-prof', 'perf'] as const) : (['cpu-prof'] as const)) {
    for (const side of ['ours', 'peer'] as const) {
      const dir = join(tmpdir(), `chat-bench-prof-${process.pid}-${side}`);
      mkdirSync(dir, { recursive: true });
      log(`\n## ${tool} profile of ${side}: ${describe[load]}`);
      const nodeFlags = tool === 'cpu-prof' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : ['--perf-basic-prof'];
      const startOptions = { runDir, tls: args.tls, nodeFlags, maxLifetimeMs: deadlineMs };
      const server = side === 'ours' ? await startOurServer(startOptions) : await startPeer(startOptions);
      const gen = LoadGenerator.start(deadlineMs);
      const perfData = join(dir, 'perf.data');
      let window: ProfileWindow | null = null;
      try {
        // Warm-up, then the measured window.
        const run = await profileLoad(load, gen, server);
        await run(2);
        const startUs = Number(process.hrtime.bigint() / 1000n);
        const recording = tool === 'perf' ? perfRecord(server.pid, seconds, perfData) : Promise.resolve();
        log(await run(seconds));
        window = { startUs, endUs: Number(process.hrtime.bigint() / 1000n) };
        await recording;
      } finally {
        await gen.stop();
        // SIGTERM: both servers exit 0 on it, and node writes the --cpu-prof profile on exit.
        const exit = await server.stop(15_000);
        if (exit.code !== 0) log(`warning: ${side} exited with code ${exit.code}, signal ${exit.signal}`);
      }
      if (tool === 'perf') {
        log(perfReport(perfData));
        removePerfData(perfData, server.pid);
        continue;
      }
      await sleep(200);
      // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: the event loop is thread 0; worker threads (hashing) write their own.
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${server.pid}.0.`));
      if (files.length === 0) throw new Error(`no main-thread .cpuprofile of process ${server.pid} in ${dir}`);
      const path = join(dir, files.sort().at(-1)!);
      log(`profile: ${path} (open it in Chrome DevTools › Performance, or VS Code)\n`);
      log(renderProfile(summarizeProfile(path, REPO_ROOT, 25, window)));
    }
  }
}

/** Set up `load` against `server`; returns a function that applies it for some seconds and describes what happened. */
async function profileLoad(load: ProfileLoad, gen: LoadGenerator, server: ServerUnderTest): Promise<(s: number) => Promise<string>> {
  const sources = sourceAddresses(8);
  switch (load) {
    case 'echo':
      await gen.open('prof', server.url(ECHO_PATH), 50, sources);
      return async (s) => {
        const rep = await gen.echo('prof', 5000, s, 64);
        return `echoed ${rep.received}/${rep.sent}, RTT p50 ${rep.rtt.p50.toFixed(0)} µs, p99 ${rep.rtt.p99.toFixed(0)} µs`;
      };
    case 'broadcast':
      await gen.open('prof', server.url(BROADCAST_PATH), 1000, sources, 128);
      return async (s) => {
        const rep = await gen.broadcast('prof', 20, s, 64);
        return `delivered ${rep.deliveriesReceived}/${rep.deliveriesExpected}, latency p50 ${rep.latency.p50.toFixed(0)} µs, p99 ${rep.latency.p99.toFixed(0)} µs`;
      };
    case 'tls':
      return async (s) => {
        // About 1,500 handshakes a second fit on one core; aim for `s` seconds of them.
        const rep = await gen.handshakes('127.0.0.1', server.port, 1500 * s, { resume: false, concurrency: 16, sources });
        return `${rep.completed} handshakes in ${Math.round(rep.ms)} ms`;
      };
    case 'static':
      return async (s) => {
        const w = await runWrk(server.httpUrl(STATIC_FILES[0].path), 32, s);
        return `${w.requests} requests, ${Math.round(w.requestsPerSecond)}/s, p99 ${w.p99.toFixed(0)} µs`;
      };
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
