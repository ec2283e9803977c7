/**
 * The test entry point: runs every compiled `*.spec.js` under dist/spec with
 * mocha's spec reporter and ends with one line `N passed, N failed`, which CI
 * reads. Exit code is 0 only when nothing failed.
 *
 * Usage: node dist/spec/run.js [substring-of-file-path ...] [--grep PATTERN]
 */
import Mocha from 'mocha';
import { readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function findSpecs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findSpecs(path));
    else if (name.endsWith('.spec.js')) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
let grep: string | undefined;
const filters: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--grep') grep = args[++i];
  else filters.push(args[i]!);
}

const mocha = new Mocha({ reporter: 'spec', timeout: 20_000, slow: 2_000 });
if (grep) mocha.grep(grep);
for (const file of findSpecs(here)) {
  if (filters.length === 0 || filters.some((f) => file.includes(f))) mocha.addFile(file);
}

await mocha.loadFilesAsync();
const runner = mocha.run((failures) => {
  const { passes = 0, pending = 0 } = runner.stats ?? {};
  const skipped = pending > 0 ? `, ${pending} skipped` : '';
  console.log(`\n${passes} passed, ${failures} failed${skipped}`);
  process.exitCode = failures > 0 ? 1 : 0;
  // Live-server tests may leave a socket in TIME_WAIT-ish states; never hang CI on a stray handle.
  setTimeout(() => process.exit(process.exitCode), 2_000).unref();
});
