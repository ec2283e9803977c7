/**
 * Preloaded (`node --import`) into every process a bench run starts, so that
 * none outlives the run: the child exits when its stdin — a pipe from the
 * bench runner — reaches end of file (the runner died, even by SIGKILL), or
 * when BENCH_CHILD_MAX_MS passes. It adds one idle pipe handle and one
 * unref'd timer to the measured process, the same for our server and the peer.
 */
const maxMs = Number(process.env.BENCH_CHILD_MAX_MS ?? '0');
if (maxMs > 0) {
  setTimeout(() => {
    process.stderr.write(`bench child ${process.pid}: lifetime of ${maxMs} ms is over, exiting\n`);
    process.exit(124);
  }, maxMs).unref();
}

if (!process.stdin.isTTY) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  // The pipe must not keep an otherwise finished process alive.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}

export {};
