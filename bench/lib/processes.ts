/**
 * Child processes of a bench run: spawned pinned to one CPU with `taskset`,
 * tracked, and killed when the run ends — normally, by an error, by a signal,
 * or by the run's hard deadline. A child also ends by itself if this process
 * dies without cleaning up: each gets `orphan-guard.js` preloaded (`--import`),
 * which exits when its stdin pipe from us closes or its own deadline passes.
 *
 * Pinning (issue 9): the server under test on CPU 0, the load generator and
 * this process on CPU 1, so the server's CPU time is its own work and the
 * generator never competes with it for a core.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

/** dist/bench/ (this file is dist/bench/lib/processes.js once built). */
export const BENCH_DIST = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root (dist/bench/lib → ../../..). */
export const REPO_ROOT = join(BENCH_DIST, '..', '..');

export const SERVER_CPU = 0;
export const LOAD_CPU = 1;

export interface Pinning {
  readonly enabled: boolean;
  /** Why not, when disabled: printed in the output and the report. */
  readonly reason: string;
}

let pinning: Pinning | null = null;

/** Can we pin? `taskset` on PATH, working, and at least two CPUs. */
export function detectPinning(): Pinning {
  if (pinning) return pinning;
  if (availableParallelism() < 2) {
    pinning = { enabled: false, reason: `only ${availableParallelism()} CPU available: server and load generator share it` };
    return pinning;
  }
  const probe = spawnSync('taskset', ['-c', String(LOAD_CPU), 'true'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? (probe.error as NodeJS.ErrnoException).code ?? probe.error.message : `exit ${probe.status}`;
    pinning = { enabled: false, reason: `taskset unavailable (${why}): processes run unpinned` };
    return pinning;
  }
  pinning = { enabled: true, reason: `server on CPU ${SERVER_CPU}; load generator and bench runner on CPU ${LOAD_CPU}` };
  return pinning;
}

/** Move this (the runner) process to the load generator's CPU so CPU 0 is the server's alone. */
export function pinSelf(): void {
  if (!detectPinning().enabled) return;
  spawnSync('taskset', ['-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
}

/**
 * The niceness bench children run at. On a machine shared with other work, a
 * server at niceness 0 waits behind other processes for its CPU, and its
 * latency measures the scheduler rather than the server (measured here under
 * load average 13: a 1 ms timer pinned to CPU 0 fired up to 47 ms late at p99
 * at niceness 0, 12–30 ms at -10). Both servers and the load generator get the
 * same priority, so the comparison stays fair; without the privilege to raise
 * it (not root), everything runs at 0 and the report says so.
 *
 * Not SCHED_FIFO: tried (`chrt -a -f`, every thread of the processes), and
 * within seconds the peer and the load generator spun at 100% CPU and the run
 * hit its deadline — presumably a thread waiting for another one that a
 * same-priority FIFO thread on the same CPU never let run; not investigated
 * further, and not worth the risk to other work on a shared machine.
 */
export const CHILD_NICENESS = -10;

let niceness: number | null = null;

/** The niceness children will actually get (`nice -n N nice` prints the niceness it ran at). */
export function detectNiceness(): number {
  if (niceness !== null) return niceness;
  const probe = spawnSync('nice', ['-n', String(CHILD_NICENESS), 'nice'], { encoding: 'utf8' });
  const value = Number(probe.stdout?.trim());
  niceness = !probe.error && probe.status === 0 && Number.isInteger(value) ? value : 0;
  return niceness;
}

const children = new Set<ChildProcess>();
let hooksInstalled = false;

/** Kill every child still running (SIGKILL: a bench child holds nothing worth a graceful end). */
export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      killAllChildren();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A hard deadline for the whole run: past it, everything is killed and the run fails. */
export function setRunDeadline(ms: number): void {
  installHooks();
  const timer = setTimeout(() => {
    process.stderr.write(`\nbench: the run passed its deadline of ${Math.round(ms / 1000)} s; stopping\n`);
    killAllChildren();
    process.exit(2);
  }, ms);
  timer.unref();
}

export interface SpawnNodeOptions {
  /** The CPU to pin to (ignored when pinning is unavailable). */
  readonly cpu: number;
  /** Flags for node before the script (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  readonly script: string;
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Add an IPC channel (the load generator). */
  readonly ipc?: boolean;
  /** The child's own deadline, after which it exits by itself. */
  readonly maxLifetimeMs: number;
}

/**
 * Start `node [flags] script args`, pinned with `taskset -c CPU` when possible.
 * taskset execs node, so the child's pid is node's own: /proc/PID is the process we measure.
 */
export function spawnNode(options: SpawnNodeOptions): ChildProcess {
  installHooks();
  const guard = pathToFileURL(join(BENCH_DIST, 'lib', 'orphan-guard.js')).href;
  // taskset and nice each exec the next program, so the pid we get is node's.
  let argv = [process.execPath, '--import', guard, ...(options.nodeFlags ?? []), options.script, ...(options.args ?? [])];
  if (detectNiceness() !== 0) argv = ['nice', '-n', String(detectNiceness()), ...argv];
  if (detectPinning().enabled) argv = ['taskset', '-c', String(options.cpu), ...argv];
  const [command, args] = [argv[0]!, argv.slice(1)];
  const stdio: StdioOptions = options.ipc ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['pipe', 'pipe', 'pipe'];
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env, BENCH_CHILD_MAX_MS: String(options.maxLifetimeMs) },
    stdio,
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Wait for a child to exit, or kill it after `ms`. */
export function waitForExit(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
