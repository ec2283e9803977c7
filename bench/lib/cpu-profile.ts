/**
 * Reading a V8 CPU profile (`node --cpu-prof` writes a `.cpuprofile`, JSON
 * of the Chrome DevTools Profiler.Profile type): nodes of a call tree, the
 * node each sample landed in, and the time between samples. A function's
 * self time is the time of the samples that landed in it — where the CPU
 * was, not who called it.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface HotSpot {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  /** Share of the busy time (all samples but `(idle)`), percent. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly busyMs: number;
  readonly functions: readonly HotSpot[];
  /** Self time grouped by file (our lib/ files, node:internal modules, `ws`, …). */
  readonly files: readonly HotSpot[];
}

/** V8's pseudo-nodes: `(idle)` is the loop waiting, `(program)` native code outside JS, `(garbage collector)` GC. */
const IDLE = '(idle)';

/**
 * A window of the profile to keep, in microseconds of CLOCK_MONOTONIC — the
 * clock of the profile's timestamps (V8's TimeTicks) and of
 * `process.hrtime.bigint() / 1000n` in any process on the machine — so the
 * runner can cut out the server's start-up and keep only the measured load.
 */
export interface ProfileWindow {
  readonly startUs: number;
  readonly endUs: number;
}

export function summarizeProfile(path: string, repoRoot: string, top = 20, window: ProfileWindow | null = null): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time from the previous sample to sample i; charge it to sample i's node.
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (window && (at < window.startUs || at > window.endUs)) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const fnTotals = new Map<string, { name: string; where: string; us: number }>();
  const fileTotals = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (frame.functionName === IDLE) {
      idle += us;
      continue;
    }
    const file = shortFile(frame.url, repoRoot);
    const where = file === '' ? '' : `${file}:${frame.lineNumber + 1}`;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    const key = `${name}@${where}`;
    const entry = fnTotals.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    fnTotals.set(key, entry);
    const fileKey = file === '' ? name : file;
    fileTotals.set(fileKey, (fileTotals.get(fileKey) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => (busy > 0 ? (100 * us) / busy : 0);
  const functions = [...fnTotals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, percent: pct(e.us) }));
  const files = [...fileTotals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([file, us]) => ({ name: file, where: '', selfMs: us / 1000, percent: pct(us) }));
  return { totalMs: total / 1000, busyMs: busy / 1000, functions, files };
}

function shortFile(url: string, repoRoot: string): string {
  if (url === '') return '';
  if (url.startsWith('file://')) {
    const path = decodeURIComponent(url.slice('file://'.length));
    const rel = relative(repoRoot, path);
    return rel.startsWith('..') ? path : rel;
  }
  return url;
}

export function renderProfile(summary: ProfileSummary): string {
  const lines = [
    `profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy (not idle)`,
    '',
    '| self ms | % of busy | function | where |',
    '|--:|--:|---|---|',
    ...summary.functions.map((f) => `| ${f.selfMs.toFixed(1)} | ${f.percent.toFixed(1)} | \`${f.name}\` | ${f.where} |`),
    '',
    '| self ms | % of busy | file |',
    '|--:|--:|---|',
    ...summary.files.map((f) => `| ${f.selfMs.toFixed(1)} | ${f.percent.toFixed(1)} | ${f.name} |`),
  ];
  return lines.join('\n');
}
