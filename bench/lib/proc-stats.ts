/**
 * What a benchmark reads about a server process from outside: its CPU time and
 * its resident memory, from Linux's /proc (proc(5)).
 *
 *   /proc/PID/stat     fields 14 and 15, utime and stime, in clock ticks
 *                      (`getconf CLK_TCK`, usually 100 → 10 ms resolution);
 *                      all threads of the process, libuv's pool included.
 *   /proc/PID/status   VmRSS, in kB (1024 bytes).
 *   /proc/PID/task/T/schedstat  the first field is the time on CPU in ns per
 *                      thread; summed over threads it is the same CPU time
 *                      at nanosecond resolution, kept as a cross-check.
 *
 * The server never knows it is measured: these are read by the bench process.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | null = null;

/** `getconf CLK_TCK`: the unit of utime and stime. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === null) {
    const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`getconf CLK_TCK printed ${JSON.stringify(text)}`);
    ticksPerSecond = n;
  }
  return ticksPerSecond;
}

/** utime + stime of the whole process, in microseconds (resolution: one clock tick). */
export function readCpuMicros(pid: number): number {
  const { userUs, sysUs } = readCpuSplitMicros(pid);
  return userUs + sysUs;
}

/** utime (user mode) and stime (kernel mode: system calls, and the network stack work done in them), in microseconds. */
export function readCpuSplitMicros(pid: number): { userUs: number; sysUs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) is in parentheses and may hold spaces: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read utime/stime from /proc/${pid}/stat`);
  const perTick = 1_000_000 / clockTicksPerSecond();
  return { userUs: utime * perTick, sysUs: stime * perTick };
}

/** The sum over the process's threads of their time on CPU, in microseconds (ns resolution), or null when the kernel has no schedstat. */
export function readSchedCpuMicros(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
      ns += Number(text.split(' ')[0]);
    }
    return ns / 1000;
  } catch {
    // No schedstat (CONFIG_SCHED_INFO off), or a thread ended between readdir and read: the tick count stands alone.
    return null;
  }
}

/** VmRSS in bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export interface ProcSample {
  readonly cpuUs: number;
  readonly sysUs: number;
  readonly schedCpuUs: number | null;
  readonly rssBytes: number;
}

export function sample(pid: number): ProcSample {
  const { userUs, sysUs } = readCpuSplitMicros(pid);
  return { cpuUs: userUs + sysUs, sysUs, schedCpuUs: readSchedCpuMicros(pid), rssBytes: readRssBytes(pid) };
}

export interface ProcDelta {
  readonly cpuUs: number;
  readonly sysUs: number;
  readonly schedCpuUs: number | null;
  readonly rssBytes: number;
}

export function delta(before: ProcSample, after: ProcSample): ProcDelta {
  return {
    cpuUs: after.cpuUs - before.cpuUs,
    sysUs: after.sysUs - before.sysUs,
    schedCpuUs: before.schedCpuUs === null || after.schedCpuUs === null ? null : after.schedCpuUs - before.schedCpuUs,
    rssBytes: after.rssBytes - before.rssBytes,
  };
}

/** The machine, for the report: CPU model, CPU count, Node version, kernel. */
export function describeMachine(): { cpuModel: string; nproc: number; node: string; kernel: string } {
  let cpuModel = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // Not Linux: the model stays 'unknown' (the bench needs /proc anyway and fails later with a clear message).
  }
  let nproc = 0;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    nproc = 0;
  }
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    kernel = 'unknown';
  }
  return { cpuModel, nproc, node: process.version, kernel };
}

/**
 * Time one CPU spent busy (user, nice, system, irq, softirq, steal) since boot,
 * from the `cpuN` line of /proc/stat, in microseconds. Over a measured phase,
 * the busy time of the server's CPU minus the server's own CPU time is what
 * other processes took from that core: on a shared machine, a sign that the
 * numbers of that phase were disturbed.
 */
export function readCpuBusyMicros(cpu: number): { busyUs: number; stealUs: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`cpu${cpu} `));
    if (!line) return null;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    const perTick = 1_000_000 / clockTicksPerSecond();
    return { busyUs: (user + nice + system + irq + softirq + steal) * perTick, stealUs: steal * perTick };
  } catch {
    // Not Linux: no interference figure.
    return null;
  }
}

/** The 1-minute load average (other work on the machine shows here first). */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}
