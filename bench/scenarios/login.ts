/**
 * Issue 9's login-burst scenario: does a burst of logins stall the event
 * loop? It runs bench/login-burst.ts (which says how it measures) as a child
 * pinned to the server CPU — the server, its password hashing and the probe
 * client all share that one core, the harshest placement — and reports the
 * event-loop delay p99 during the burst against the issue's absolute target
 * (≤ 10 ms). There is no peer: the target is not a ratio.
 */
import { join } from 'node:path';
import { BENCH_DIST, SERVER_CPU, spawnNode, waitForExit } from '../lib/processes.js';
import type { ResultRow } from '../lib/table.js';
import type { ScenarioResult } from './echo.js';

export interface LoginPlan {
  readonly logins: number;
  readonly cost: number;
}

interface Phase {
  readonly loop: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly healthz: { readonly count: number; readonly p50: number; readonly p99: number; readonly max: number };
}

interface LoginBurstResult {
  readonly logins: number;
  readonly ok: number;
  readonly burstMs: number;
  readonly baseline: Phase;
  readonly burst: Phase;
}

const RESULT = /^login-burst-result (.+)$/m;

export async function runLoginScenario(o: LoginPlan & { readonly maxLifetimeMs: number; readonly log: (line: string) => void }): Promise<ScenarioResult> {
  const anomalies: string[] = [];
  const child = spawnNode({
    cpu: SERVER_CPU,
    script: join(BENCH_DIST, 'login-burst.js'),
    args: ['--logins', String(o.logins), '--cost', String(o.cost)],
    maxLifetimeMs: o.maxLifetimeMs,
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  // Each login is about a second of CPU at cost 17 on this machine; allow three, plus the baseline.
  const exit = await waitForExit(child, 60_000 + o.logins * 3000);
  const m = RESULT.exec(out);
  if (!m) throw new Error(`login burst printed no result (exit code ${exit.code}, signal ${exit.signal}):\n${out}`);
  const r = JSON.parse(m[1]!) as LoginBurstResult;
  o.log(
    `  login burst: ${r.ok}/${r.logins} logins in ${(r.burstMs / 1000).toFixed(1)} s; event-loop delay p99 ${r.baseline.loop.p99.toFixed(1)} ms idle, ` +
      `${r.burst.loop.p99.toFixed(1)} ms during the burst (max ${r.burst.loop.max.toFixed(1)}); GET /healthz p99 ${r.burst.healthz.p99.toFixed(1)} ms`,
  );
  if (r.ok !== r.logins) anomalies.push(`login burst: only ${r.ok} of ${r.logins} logins succeeded`);
  const row = (measure: string, value: number, absoluteTarget?: number): ResultRow => ({ measure, unit: 'ms', ours: value, peer: NaN, target: null, digits: 1, absoluteTarget });
  const rows = [
    row(`login burst (${o.logins} at scrypt 2^${o.cost}), one CPU: event-loop delay p99`, r.burst.loop.p99, 10),
    row(`… event-loop delay p99 with no logins (baseline)`, r.baseline.loop.p99),
    row(`… GET /healthz latency p99 during the burst`, r.burst.healthz.p99),
  ];
  const notes = [`login burst: the server, its hashing and the probe client shared CPU ${SERVER_CPU}; ${(r.ok / (r.burstMs / 1000)).toFixed(1)} logins/s`];
  return { rows, notes, anomalies, raw: r as unknown as Record<string, unknown> };
}
