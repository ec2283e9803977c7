/**
 * `npm run bench` — the benchmark suite (issue 9): our server against a peer
 * on the usual Node stack, in one run, with one table of ratios.
 *
 *   npm run bench                  the full run (about 8 minutes; under 15)
 *   npm run bench -- --quick       a subset in about 2 minutes
 *   npm run bench -- --tls off     the same over ws:// and plain HTTP
 *   npm run bench -- --profile     no comparison: each server alone under the
 *                                  5k msg/s echo load, first with
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
import { detectNiceness, detectPinning, pinSelf, REPO_ROOT, setRunDeadline, sleep } from './lib/processes.js';
import { createRunDir, ECHO_PATH, startOurServer, startPeer } from './lib/servers.js';
import { describeMachine, loadAverage } from './lib/proc-stats.js';
import { renderTable, type ResultRow } from './lib/table.js';
import { LoadGenerator } from './lib/load-generator.js';
import { sourceAddresses } from './lib/source-addresses.js';
import { renderProfile, summarizeProfile, type ProfileWindow } from './lib/cpu-profile.js';
import { perfAvailable, perfRecord, perfReport, removePerfData } from './lib/perf-profile.js';

interface Args {
  quick: boolean;
  tls: boolean;
  profile: boolean;
  json: string | null;
}

const USAGE = 'usage: node dist/bench/run.js [--quick] [--tls on|off] [--profile] [--json FILE]';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, tls: true, profile: false, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--full') args.quick = false;
    else if (a === '--profile') args.profile = true;
    else if (a === '--tls') {
      const v = argv[++i];
      if (v !== 'on' && v !== 'off') usage(`--tls needs on or off`);
      args.tls = v === 'on';
    } else if (a === '--json') {
      const v = argv[++i];
      if (v === undefined) usage('--json needs a file');
      args.json = v;
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
    ? { tls: args.tls, rates: [1000, 5000], connections: 50, roundSeconds: 4, rounds: 3, warmupSeconds: 1, payloadBytes: 64, idleCounts: [2000], sourceCount: 8 }
    : { tls: args.tls, rates: [1000, 5000, 10000], connections: 50, roundSeconds: 5, rounds: 5, warmupSeconds: 2, payloadBytes: 64, idleCounts: [2000, 5000, 10000], sourceCount: 8 };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const deadlineMs = args.quick ? 6 * 60_000 : 20 * 60_000;
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
    if (args.profile) {
      await profileOurs(args, runDir, deadlineMs);
      return;
    }
    const plan = echoPlan(args);
    log(
      `\n## echo (issue 3): ours (ws_echo_path) vs ws + node:${args.tls ? 'https' : 'http'}; ` +
        `${plan.connections} connections, rates ${plan.rates.join(', ')} msg/s, ${plan.rounds} rounds × ${plan.roundSeconds} s, ` +
        `${plan.payloadBytes}-byte text messages; idle ${plan.idleCounts.join(', ')}`,
    );
    const results: ScenarioResult[] = [];
    results.push(await runEchoScenario({ ...plan, runDir, log, maxLifetimeMs: deadlineMs }));
    if (!args.quick && args.tls) {
      // The same echo without TLS, to separate the WebSocket work from the TLS work.
      log(`\n## echo without TLS (ws:// and node:http), 5k msg/s`);
      results.push(await runEchoScenario({ ...plan, tls: false, rates: [5000], rounds: 3, idleCounts: [2000], runDir, log, maxLifetimeMs: deadlineMs }));
    }
    const rows: ResultRow[] = results.flatMap((r) => r.rows);
    log(`\n## results (median of rounds; min–max in parentheses; lower is better everywhere)\n`);
    log(renderTable(rows, args.tls ? 'ws + node:https' : 'ws + node:http'));
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

/**
 * `--profile`: each server alone, with `node --cpu-prof`, under the echo load at
 * 5k msg/s; the summary keeps only the samples of the measured 10 s (not the
 * start-up, not the warm-up). Ours is the one the issue asks about; the peer's
 * is printed beside it to show where the two spend their time differently.
 */
async function profileOurs(args: Args, runDir: ReturnType<typeof createRunDir>, deadlineMs: number): Promise<void> {
  const rate = 5000;
  const seconds = 10;
  const withPerf = perfAvailable();
  if (!withPerf) log('\n(perf is not installed: only the JavaScript profile of --cpu-prof follows)');
  for (const tool of withPerf ? (['cpu-prof', 'perf'] as const) : (['cpu-prof'] as const)) {
    for (const side of ['ours', 'peer'] as const) {
      const dir = join(tmpdir(), `chat-bench-prof-${process.pid}-${side}`);
      mkdirSync(dir, { recursive: true });
      log(`\n## ${tool} profile of ${side}: echo at ${rate} msg/s over 50 connections for ${seconds} s`);
      const nodeFlags = tool === 'cpu-prof' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : ['--perf-basic-prof'];
      const startOptions = { runDir, tls: args.tls, nodeFlags, maxLifetimeMs: deadlineMs };
      const server = side === 'ours' ? await startOurServer(startOptions) : await startPeer(startOptions);
      const gen = LoadGenerator.start(deadlineMs);
      const perfData = join(dir, 'perf.data');
      let window: ProfileWindow | null = null;
      try {
        await gen.open('prof', server.url(ECHO_PATH), 50, sourceAddresses(8));
        await gen.echo('prof', rate, 2, 64);
        const startUs = Number(process.hrtime.bigint() / 1000n);
        const recording = tool === 'perf' ? perfRecord(server.pid, seconds, perfData) : Promise.resolve();
        const rep = await gen.echo('prof', rate, seconds, 64);
        window = { startUs, endUs: Number(process.hrtime.bigint() / 1000n) };
        await recording;
        log(`echoed ${rep.received}/${rep.sent}, RTT p50 ${rep.rtt.p50.toFixed(0)} µs, p99 ${rep.rtt.p99.toFixed(0)} µs`);
        await gen.close('prof');
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
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
      const path = join(dir, files.sort().at(-1)!);
      log(`profile: ${path} (open it in Chrome DevTools › Performance, or VS Code)\n`);
      log(renderProfile(summarizeProfile(path, REPO_ROOT, 25, window)));
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
