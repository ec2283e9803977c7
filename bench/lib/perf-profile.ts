/**
 * A whole-process profile with Linux `perf` (when installed): `--cpu-prof`
 * sees only JavaScript, and a V8 sample taken while the thread runs native
 * code between two JavaScript callbacks — reading a socket, TLS decryption,
 * the kernel's TCP work — is counted as idle. `perf record -e cpu-clock`
 * samples everything the process does on the CPU, kernel included; with
 * `node --perf-basic-prof` the JIT-compiled JavaScript functions have names
 * too (node writes /tmp/perf-PID.map).
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

export function perfAvailable(): boolean {
  const probe = spawnSync('perf', ['--version'], { stdio: 'ignore' });
  return !probe.error && probe.status === 0;
}

/** Record `pid` for `seconds` at 999 Hz (an odd frequency, so sampling does not beat with 1 ms timers). */
export function perfRecord(pid: number, seconds: number, output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '999', '-p', String(pid), '-o', output, '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`perf record exited ${code}: ${err}`));
    });
  });
}

/** `perf report` of the recording: self time by shared object, and by symbol; the top lines of each. */
export function perfReport(input: string, top = 25): string {
  const report = (sort: string) => {
    const r = spawnSync('perf', ['report', '-i', input, '--stdio', '--no-children', '--sort', sort, '-q', '--percent-limit', '0.3'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) return `(perf report failed: ${r.stderr.slice(0, 500)})`;
    return r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(0, top)
      .map((l) => l.replace(/\s+$/, ''))
      .join('\n');
  };
  const header = spawnSync('perf', ['report', '-i', input, '--stdio', '--sort', 'dso'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const samples = /^# Samples: (\S+)/m.exec(header.stdout ?? '')?.[1] ?? '?';
  return [`${samples} samples at 999 Hz of CPU time (perf samples only while the process runs)`, '', 'by shared object (self %):', report('dso'), '', 'by symbol (self %):', report('dso,sym')].join('\n');
}

export function removePerfData(path: string, pid: number): void {
  rmSync(path, { force: true });
  rmSync(`/tmp/perf-${pid}.map`, { force: true });
}
