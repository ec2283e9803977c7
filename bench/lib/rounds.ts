/**
 * What every comparative scenario shares: the two sides, one measured job
 * (server CPU and the disturbance of its core around it), alternating
 * rounds, and a table row from the rounds' medians.
 */
import { performance } from 'node:perf_hooks';
import { delta, readCpuBusyMicros, sample } from './proc-stats.js';
import { detectPinning, SERVER_CPU } from './processes.js';
import type { ServerUnderTest } from './servers.js';
import { median } from './stats.js';
import { formatSpread, type ResultRow } from './table.js';

export const SIDES = ['ours', 'peer'] as const;
export type Side = (typeof SIDES)[number];

export interface Measured<T> {
  readonly result: T;
  /** utime + stime of the server process over the job, µs. */
  readonly cpuUs: number;
  /** The stime part. */
  readonly sysUs: number;
  /** The same time from the threads' schedstat (ns resolution), or null where the kernel has none. */
  readonly schedCpuUs: number | null;
  readonly wallUs: number;
  /** Share of the job's wall time that other processes took on the server's CPU (null when unpinned). */
  readonly foreignShare: number | null;
}

/** Run `job` and read the server's CPU time (/proc/PID/stat) before and after it. */
export async function measureServer<T>(server: ServerUnderTest, job: () => Promise<T>): Promise<Measured<T>> {
  const pinned = detectPinning().enabled;
  const coreBefore = pinned ? readCpuBusyMicros(SERVER_CPU) : null;
  const wallBefore = performance.now();
  const before = sample(server.pid);
  const result = await job();
  const after = sample(server.pid);
  const wallUs = (performance.now() - wallBefore) * 1000;
  const coreAfter = pinned ? readCpuBusyMicros(SERVER_CPU) : null;
  const d = delta(before, after);
  // The server's own CPU time may include a little time of its libuv threads on the other core; clamp at 0.
  const foreignShare = coreBefore && coreAfter ? Math.max(0, coreAfter.busyUs - coreBefore.busyUs - (d.schedCpuUs ?? d.cpuUs)) / wallUs : null;
  return { result, cpuUs: d.cpuUs, sysUs: d.sysUs, schedCpuUs: d.schedCpuUs, wallUs, foreignShare };
}

/** Round r's order: alternate who goes first, so neither side always runs right after the other. */
export function roundOrder(r: number): readonly Side[] {
  return r % 2 === 0 ? SIDES : [SIDES[1], SIDES[0]];
}

/** One table row: the median of each side's rounds, with their spread. */
export function medianRow(measure: string, unit: string, values: Record<Side, readonly number[]>, target: number | null, digits: number): ResultRow {
  return {
    measure,
    unit,
    ours: median([...values.ours]),
    peer: median([...values.peer]),
    target,
    digits,
    oursSpread: formatSpread(values.ours, digits),
    peerSpread: formatSpread(values.peer, digits),
  };
}

/** "12% – 30%" of the rounds' foreign shares, or '' when unpinned. */
export function describeForeign(shares: readonly (number | null)[]): string {
  const f = shares.filter((x): x is number => x !== null && Number.isFinite(x));
  if (f.length === 0) return '';
  return `other processes took ${(Math.min(...f) * 100).toFixed(0)}–${(Math.max(...f) * 100).toFixed(0)}% of the server's core during the rounds`;
}

/** Our server drains on SIGTERM and exits 0; anything else is worth reporting. The peer is just stopped. */
export async function stopServer(server: ServerUnderTest, anomalies: string[]): Promise<void> {
  const exit = await server.stop(15_000);
  if (server.name === 'ours' && exit.code !== 0) {
    anomalies.push(`${server.name}: exit after SIGTERM was code ${exit.code}, signal ${exit.signal}; last output:\n${server.recentOutput()}`);
  }
}

export function formatK(n: number): string {
  return n % 1000 === 0 && n > 0 ? `${n / 1000}k` : String(n);
}
