/**
 * Issue 9's static-file scenario: the 2 KB and 100 KB files of the run
 * (servers.ts STATIC_FILES) over keep-alive HTTPS, from our static handler
 * (lib/http/static-files.ts, files cached in memory) and from the peer's
 * node:https handler serving the same files from memory with the same
 * validators. The client is `wrk` (a Debian package: apt-get install wrk),
 * pinned to the load CPU, a closed loop of `connections` keep-alive
 * connections for `roundSeconds`.
 *
 * A closed loop saturates the server, so the server's CPU over the round
 * divided by the requests wrk completed is the cost of one request at full
 * load (the best case for both: most wake-ups find several requests); wrk's
 * latency percentiles are printed beside it. Both servers run side by side;
 * rounds alternate.
 */
import { spawn, spawnSync } from 'node:child_process';
import { describeForeign, measureServer, medianRow, roundOrder, SIDES, stopServer, type Side } from '../lib/rounds.js';
import { detectPinning, LOAD_CPU } from '../lib/processes.js';
import { startOurServer, startPeer, STATIC_FILES, type RunDir, type ServerUnderTest } from '../lib/servers.js';
import type { ResultRow } from '../lib/table.js';
import type { ScenarioResult } from './echo.js';

export interface StaticPlan {
  readonly connections: number;
  readonly rounds: number;
  readonly roundSeconds: number;
  /** Which of STATIC_FILES (by size in bytes). */
  readonly sizes: readonly number[];
}

export interface StaticOptions extends StaticPlan {
  readonly runDir: RunDir;
  readonly tls: boolean;
  readonly maxLifetimeMs: number;
  readonly log: (line: string) => void;
}

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  /** Responses other than 2xx or 3xx. */
  readonly non2xx3xx: number;
  /** connect + read + write + timeout errors. */
  readonly socketErrors: number;
  /** Latency percentiles, µs (NaN when wrk printed none). */
  readonly p50: number;
  readonly p99: number;
}

/** Whether `wrk` is on PATH. */
export function wrkAvailable(): boolean {
  const probe = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
  return !probe.error;
}

const UNIT_US: Readonly<Record<string, number>> = { us: 1, ms: 1000, s: 1_000_000 };

/** wrk's text report → numbers. Throws when the summary line is missing (wrk failed). */
export function parseWrk(text: string): WrkResult {
  const summary = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!summary || !rps) throw new Error(`wrk printed no summary:\n${text}`);
  const secondsUnit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[summary[3] as 'us' | 'ms' | 's' | 'm'];
  const latency = (p: number) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) * UNIT_US[m[2]!]! : NaN;
  };
  const non = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(summary[1]),
    seconds: Number(summary[2]) * secondsUnit,
    requestsPerSecond: Number(rps[1]),
    non2xx3xx: non ? Number(non[1]) : 0,
    socketErrors: errs ? Number(errs[1]) + Number(errs[2]) + Number(errs[3]) + Number(errs[4]) : 0,
    p50: latency(50),
    p99: latency(99),
  };
}

/** One wrk run against `url`, pinned to the load CPU; bounded by its own duration plus a margin. */
export function runWrk(url: string, connections: number, seconds: number): Promise<WrkResult> {
  const wrkArgs = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url];
  const [command, args] = detectPinning().enabled ? ['taskset', ['-c', String(LOAD_CPU), 'wrk', ...wrkArgs]] : ['wrk', wrkArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, args as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseWrk(out));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

interface Round {
  readonly cpuUsPerRequest: number;
  readonly foreignShare: number | null;
  readonly wrk: WrkResult;
}

export async function runStaticScenario(o: StaticOptions): Promise<ScenarioResult> {
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const anomalies: string[] = [];
  const raw: Record<string, unknown> = {};
  const start = { runDir: o.runDir, tls: o.tls, maxLifetimeMs: o.maxLifetimeMs };
  const servers: Partial<Record<Side, ServerUnderTest>> = {};
  const scheme = o.tls ? 'HTTPS' : 'HTTP';
  try {
    servers.ours = await startOurServer(start);
    servers.peer = await startPeer(start);
    for (const size of o.sizes) {
      const file = STATIC_FILES.find((f) => f.bytes === size);
      if (!file) throw new Error(`no static file of ${size} bytes`);
      // Warm-up, unmeasured: JIT, the file cache, TLS sessions.
      for (const side of SIDES) await runWrk(servers[side]!.httpUrl(file.path), o.connections, 1);
      const rounds: Record<Side, Round[]> = { ours: [], peer: [] };
      for (let r = 0; r < o.rounds; r++) {
        for (const side of roundOrder(r)) {
          const server = servers[side]!;
          const m = await measureServer(server, () => runWrk(server.httpUrl(file.path), o.connections, o.roundSeconds));
          const w = m.result;
          const round: Round = { cpuUsPerRequest: m.cpuUs / Math.max(1, w.requests), foreignShare: m.foreignShare, wrk: w };
          rounds[side].push(round);
          o.log(
            `  static ${file.path} round ${r + 1} ${side.padEnd(4)}: ${round.cpuUsPerRequest.toFixed(1)} µs CPU/request, ${Math.round(w.requestsPerSecond)} requests/s, ` +
              `latency p50 ${w.p50.toFixed(0)} µs p99 ${w.p99.toFixed(0)} µs` +
              (m.foreignShare === null ? '' : `, others on the server's CPU: ${(m.foreignShare * 100).toFixed(0)}%`),
          );
          if (w.non2xx3xx > 0) anomalies.push(`${side}, static ${file.path}: ${w.non2xx3xx} responses were not 2xx or 3xx`);
          if (w.socketErrors > 0) anomalies.push(`${side}, static ${file.path}: ${w.socketErrors} socket errors reported by wrk`);
          if (!server.alive()) anomalies.push(`${side}: the server died serving ${file.path}; its last output:\n${server.recentOutput()}`);
        }
      }
      raw[`static_${size}`] = rounds;
      const label = `static ${size >= 1024 ? `${size / 1024} KB` : `${size} B`} file, ${o.connections} keep-alive ${scheme} (wrk)`;
      const pick = (f: (x: Round) => number) => ({ ours: rounds.ours.map(f), peer: rounds.peer.map(f) });
      rows.push(medianRow(`${label}: server CPU per request`, 'µs', pick((x) => x.cpuUsPerRequest), size <= 4096 && o.tls ? 1.0 : null, 1));
      rows.push(medianRow(`${label}: latency p99 at saturation`, 'µs', pick((x) => x.wrk.p99), null, 0));
      const foreign = describeForeign([...rounds.ours, ...rounds.peer].map((x) => x.foreignShare));
      if (foreign) notes.push(`static ${file.path}: ${foreign}`);
    }
  } finally {
    if (servers.ours) await stopServer(servers.ours, anomalies);
    if (servers.peer) await stopServer(servers.peer, anomalies);
  }
  return { rows, notes, anomalies, raw };
}
