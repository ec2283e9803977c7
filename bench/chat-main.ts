/**
 * `npm run bench:chat` — the chat workload alone (issue 5's benchmark): our
 * server against the same contract on ws + node:https + better-sqlite3, in
 * one run, one table of ratios (bench/scenarios/chat.ts says what is
 * measured and how).
 *
 *   npm run bench:chat                 1,000 members (a few minutes)
 *   npm run bench:chat -- --quick      200 members, shorter rounds
 *   npm run bench:chat -- --tls off    plain WS and HTTP on both sides
 *   npm run bench:chat -- --json FILE  also write every round's numbers
 */
import { writeFileSync } from 'node:fs';
import { runChatScenarioDetailed, chatPlan } from './scenarios/chat.js';
import { detectNiceness, detectPinning, pinSelf, setRunDeadline } from './lib/processes.js';
import { describeMachine, loadAverage } from './lib/proc-stats.js';
import { renderTable } from './lib/table.js';

const USAGE = 'usage: node dist/bench/chat-main.js [--quick] [--tls on|off] [--json FILE]';
const log = (line: string) => process.stdout.write(line + '\n');

function parseArgs(argv: readonly string[]): { quick: boolean; tls: boolean; json: string | null } {
  const args = { quick: false, tls: true, json: null as string | null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--tls') {
      const v = argv[++i];
      if (v !== 'on' && v !== 'off') fail('--tls needs on or off');
      args.tls = v === 'on';
    } else if (a === '--json') args.json = argv[++i] ?? fail('--json needs a file');
    else if (a === '--help' || a === '-h') {
      log(USAGE);
      process.exit(0);
    } else fail(`unknown argument ${JSON.stringify(a)}`);
  }
  return args;
}

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n${USAGE}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const deadlineMs = (args.quick ? 6 : 15) * 60_000;
  setRunDeadline(deadlineMs);
  const pinning = detectPinning();
  const machine = describeMachine();
  pinSelf();
  const plan = chatPlan(args.quick);
  log(`# chat-from-scratch chat bench — ${new Date().toISOString()}`);
  log(`machine: ${machine.cpuModel}, ${machine.nproc} CPUs, Linux ${machine.kernel}, Node ${machine.node}`);
  log(`pinning: ${pinning.enabled ? pinning.reason : 'OFF — ' + pinning.reason}; niceness ${detectNiceness()}`);
  log(`command: npm run bench:chat${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`);
  log(`load average at start: ${loadAverage().toFixed(2)}`);
  log(
    `\n## chat: ours vs ws + node:${args.tls ? 'https' : 'http'} + better-sqlite3; ${plan.members} members in one room, ` +
      `${plan.senders} senders, ${plan.deliveryRates.join(' and ')} deliveries/s, ${plan.rounds} rounds × ${plan.roundSeconds} s, ` +
      `saturation ${plan.rounds} × ${plan.saturationSeconds} s with ${plan.window} in flight per sender, ${plan.textChars}-character texts`,
  );
  const started = Date.now();
  const result = await runChatScenarioDetailed({ quick: args.quick, tls: args.tls, log, maxLifetimeMs: deadlineMs });
  log(`\n## results (median of rounds; min–max in parentheses; lower is better unless the row says otherwise)\n`);
  log(renderTable(result.rows, `ws + node:${args.tls ? 'https' : 'http'} + better-sqlite3`));
  if (result.notes.length) log('\n' + result.notes.map((n) => `- ${n}`).join('\n'));
  log(`\nrun took ${Math.round((Date.now() - started) / 1000)} s; load average at the end: ${loadAverage().toFixed(2)}`);
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ machine, pinning, rows: result.rows, notes: result.notes, anomalies: result.anomalies, raw: result.raw }, null, 2));
    log(`wrote ${args.json}`);
  }
  if (result.anomalies.length) {
    log(`\n## ANOMALIES (possible server bugs)\n` + result.anomalies.map((a) => `- ${a}`).join('\n'));
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:chat failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
