/**
 * Issue 3's benchmark: our `ws_echo_path` against the same echo server on
 * `ws` + node:https (bench/peers/ws-echo-peer.ts), in one run, driven by the
 * same load generator (bench/load/ws-load.ts).
 *
 *   (a) server CPU per echoed message at fixed offered rates — utime + stime
 *       of the server process over a round, divided by the echoes received;
 *   (b) round-trip latency p50 / p99 at the same rates (open-loop sends, so
 *       a slow server shows as latency, not as a lower rate);
 *   (c) RSS per open idle WSS connection — VmRSS after N idle connections
 *       minus VmRSS before, over N — and, from the same phase, server CPU
 *       per connection set-up (TCP + TLS handshake + HTTP upgrade).
 *
 * For (a) and (b) both servers run side by side (both pinned to the server
 * CPU; the idle one costs nothing) and the rounds alternate between them, so
 * a drift of the machine during the run hits both. Each value is the median
 * of the rounds. For (c) each server is started fresh, warmed with a few
 * connections and echoes, and measured alone.
 */
import type { EchoReply } from '../load/protocol.js';
import { LoadGenerator } from '../lib/load-generator.js';
import { delta, sample, type ProcSample } from '../lib/proc-stats.js';
import { SERVER_CPU, sleep } from '../lib/processes.js';
import { formatK, measureServer, medianRow, roundOrder, SIDES, stopServer, type Side } from '../lib/rounds.js';
import { ECHO_PATH, startOurServer, startPeer, type RunDir, type ServerUnderTest, type StartOptions } from '../lib/servers.js';
import { sourceAddresses } from '../lib/source-addresses.js';
import type { ResultRow } from '../lib/table.js';

export interface EchoScenarioOptions {
  readonly runDir: RunDir;
  readonly tls: boolean;
  /** Offered rates, messages per second over all connections. */
  readonly rates: readonly number[];
  /** Connections carrying the echo load, per server. */
  readonly connections: number;
  readonly roundSeconds: number;
  readonly rounds: number;
  readonly warmupSeconds: number;
  readonly payloadBytes: number;
  /** Idle connection counts for (c), cumulative on one server (e.g. 2000, 5000, 10000). */
  readonly idleCounts: readonly number[];
  /** 127.0.0.x source addresses to spread connections over. */
  readonly sourceCount: number;
  readonly maxLifetimeMs: number;
  readonly log: (line: string) => void;
}

export interface ScenarioResult {
  readonly rows: ResultRow[];
  /** Observations worth a line in the report (generator load, spreads). */
  readonly notes: string[];
  /** Anything that looks like a server bug: lost or wrong echoes, closes, crashes. */
  readonly anomalies: string[];
  /** Every round's numbers, for the JSON output. */
  readonly raw: Record<string, unknown>;
}

interface EchoRound {
  readonly cpuUsPerMsg: number;
  readonly schedCpuUsPerMsg: number | null;
  /** The part of cpuUsPerMsg spent in the kernel (stime). */
  readonly sysUsPerMsg: number;
  /** Share of the round's wall time that other processes took on the server's CPU (null when unpinned). */
  readonly foreignShare: number | null;
  readonly reply: EchoReply;
}

export async function runEchoScenario(o: EchoScenarioOptions): Promise<ScenarioResult> {
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const anomalies: string[] = [];
  const raw: Record<string, unknown> = {};
  const sources = sourceAddresses(o.sourceCount);
  const start: StartOptions = { runDir: o.runDir, tls: o.tls, maxLifetimeMs: o.maxLifetimeMs };
  const gen = LoadGenerator.start(o.maxLifetimeMs);
  const scheme = o.tls ? 'WSS' : 'WS';

  try {
    // ── (a) and (b): echo at fixed offered rates ─────────────────────────
    const servers: Record<Side, ServerUnderTest> = { ours: await startOurServer(start), peer: await startPeer(start) };
    try {
      for (const side of SIDES) {
        const opened = await gen.open(side, servers[side].url(ECHO_PATH), o.connections, sources);
        o.log(`  ${side}: ${opened.opened} ${scheme} connections open in ${Math.round(opened.ms)} ms${opened.failed ? `, ${opened.failed} failed: ${opened.errors.join('; ')}` : ''}`);
        if (opened.failed > 0) anomalies.push(`${side}: ${opened.failed} of ${o.connections} echo connections failed to open: ${opened.errors.join('; ')}`);
      }
      for (const rate of o.rates) {
        const rounds: Record<Side, EchoRound[]> = { ours: [], peer: [] };
        for (const side of SIDES) await gen.echo(side, rate, o.warmupSeconds, o.payloadBytes); // JIT and buffers warm, unmeasured
        for (let r = 0; r < o.rounds; r++) {
          // Alternate who goes first, so neither always runs right after the other.
          for (const side of roundOrder(r)) {
            const round = await measureEchoRound(gen, servers[side], side, rate, o);
            rounds[side].push(round);
            const rep = round.reply;
            o.log(
              `  echo ${rate}/s round ${r + 1} ${side.padEnd(4)}: ${round.cpuUsPerMsg.toFixed(1)} µs CPU/msg (${round.sysUsPerMsg.toFixed(1)} in kernel)` +
                (round.schedCpuUsPerMsg === null ? '' : ` (schedstat ${round.schedCpuUsPerMsg.toFixed(1)})`) +
                `, RTT p50 ${rep.rtt.p50.toFixed(0)} µs p99 ${rep.rtt.p99.toFixed(0)} µs, ${rep.received}/${rep.sent} echoed` +
                `, generator ${(rep.generatorCpuShare * 100).toFixed(0)}% CPU, max send lag ${rep.maxSendLagMs.toFixed(1)} ms` +
                (round.foreignShare === null ? '' : `, others on CPU ${SERVER_CPU}: ${(round.foreignShare * 100).toFixed(0)}%`),
            );
            checkEchoRound(side, rate, rep, servers[side], anomalies);
          }
        }
        raw[`echo_${rate}`] = rounds;
        const cpu = (side: Side) => rounds[side].map((x) => x.cpuUsPerMsg);
        const p50 = (side: Side) => rounds[side].map((x) => x.reply.rtt.p50);
        const p99 = (side: Side) => rounds[side].map((x) => x.reply.rtt.p99);
        const label = `echo ${formatK(rate)} msg/s, ${o.connections} ${scheme}`;
        rows.push(row(`${label}: server CPU per message`, 'µs', cpu, rate === 5000 && o.tls ? 0.6 : null, 1));
        rows.push(row(`${label}: … of which in the kernel (stime)`, 'µs', (side: Side) => rounds[side].map((x) => x.sysUsPerMsg), null, 1));
        rows.push(row(`${label}: round trip p50`, 'µs', p50, null, 0));
        rows.push(row(`${label}: round trip p99`, 'µs', p99, null, 0));
        const genShare = Math.max(...SIDES.flatMap((s) => rounds[s].map((x) => x.reply.generatorCpuShare)));
        const lag = Math.max(...SIDES.flatMap((s) => rounds[s].map((x) => x.reply.maxSendLagMs)));
        const foreign = SIDES.flatMap((s) => rounds[s].map((x) => x.foreignShare ?? NaN)).filter(Number.isFinite);
        notes.push(
          `echo ${rate}/s: the load generator used at most ${(genShare * 100).toFixed(0)}% of its CPU; its largest send lag behind schedule was ${lag.toFixed(1)} ms` +
            (foreign.length ? `; other processes took ${(Math.min(...foreign) * 100).toFixed(0)}–${(Math.max(...foreign) * 100).toFixed(0)}% of the server's CPU during the rounds` : ''),
        );
      }
      // The cost of doing nothing: both servers side by side, connections open, no traffic.
      await sleep(1000);
      const quietBefore = SIDES.map((side) => sample(servers[side].pid));
      await sleep(IDLE_CPU_WINDOW_MS);
      const quietAfter = SIDES.map((side) => sample(servers[side].pid));
      const idleCpu = SIDES.map((_, i) => {
        const d = delta(quietBefore[i]!, quietAfter[i]!);
        return ((d.schedCpuUs ?? d.cpuUs) / 1000) / (IDLE_CPU_WINDOW_MS / 1000);
      });
      o.log(`  quiet: server CPU with ${o.connections} open connections and no traffic: ours ${idleCpu[0]!.toFixed(2)} ms/s, peer ${idleCpu[1]!.toFixed(2)} ms/s`);
      rows.push({ measure: `no traffic, ${o.connections} ${scheme} open: server CPU per second`, unit: 'ms', ours: idleCpu[0]!, peer: idleCpu[1]!, target: null, digits: 2 });
      raw.idleCpuMsPerSecond = { ours: idleCpu[0], peer: idleCpu[1] };
      for (const side of SIDES) await gen.close(side);
    } finally {
      await stopServer(servers.ours, anomalies);
      await stopServer(servers.peer, anomalies);
    }

    // ── (c): idle connections, each server fresh and alone ────────────────
    if (o.idleCounts.length > 0) {
      const idle: Record<Side, IdleStep[]> = { ours: [], peer: [] };
      for (const side of SIDES) {
        const server = side === 'ours' ? await startOurServer(start) : await startPeer(start);
        try {
          idle[side] = await measureIdle(gen, server, side, o, sources, anomalies);
        } finally {
          await stopServer(server, anomalies);
        }
      }
      raw.idle = idle;
      for (let i = 0; i < o.idleCounts.length; i++) {
        const n = o.idleCounts[i]!;
        const ours = idle.ours[i];
        const peer = idle.peer[i];
        if (!ours || !peer) continue;
        const target = n >= 10_000 && o.tls ? 0.65 : null;
        rows.push({ measure: `idle ${scheme} connections, ${formatK(n)} open: RSS per connection`, unit: 'bytes', ours: ours.rssPerConn, peer: peer.rssPerConn, target });
      }
      const setUp = (side: Side) => idle[side].map((s) => s.cpuUsPerOpen);
      rows.push(row(`${scheme} connection set-up (${o.tls ? 'TCP + TLS + ' : ''}upgrade): server CPU`, 'µs', setUp, null, 0));
    }
  } finally {
    await gen.stop();
  }
  return { rows, notes, anomalies, raw };
}

async function measureEchoRound(gen: LoadGenerator, server: ServerUnderTest, side: Side, rate: number, o: EchoScenarioOptions): Promise<EchoRound> {
  const m = await measureServer(server, () => gen.echo(side, rate, o.roundSeconds, o.payloadBytes));
  const n = Math.max(1, m.result.received);
  return { cpuUsPerMsg: m.cpuUs / n, sysUsPerMsg: m.sysUs / n, schedCpuUsPerMsg: m.schedCpuUs === null ? null : m.schedCpuUs / n, foreignShare: m.foreignShare, reply: m.result };
}

function checkEchoRound(side: Side, rate: number, rep: EchoReply, server: ServerUnderTest, anomalies: string[]): void {
  const where = `${side}, echo at ${rate} msg/s`;
  if (rep.wrong > 0) anomalies.push(`${where}: ${rep.wrong} wrong echoes, e.g. ${rep.wrongSample}`);
  if (rep.received < rep.sent) anomalies.push(`${where}: ${rep.sent - rep.received} of ${rep.sent} messages never came back`);
  if (rep.closedDuringRun > 0) anomalies.push(`${where}: ${rep.closedDuringRun} connections closed during the run (codes ${rep.closeCodes.join(', ')})`);
  if (!server.alive()) anomalies.push(`${where}: the server process died; its last output:\n${server.recentOutput()}`);
}

interface IdleStep {
  readonly count: number;
  readonly rssPerConn: number;
  readonly cpuUsPerOpen: number;
  readonly rssBefore: number;
  readonly rssAfter: number;
}

const WARMUP_CONNECTIONS = 100;
/** How long both servers sit with open connections and no traffic (schedstat resolution when the kernel has it, else clock ticks). */
const IDLE_CPU_WINDOW_MS = 5000;
const SETTLE_MS = 3000;

async function measureIdle(gen: LoadGenerator, server: ServerUnderTest, side: Side, o: EchoScenarioOptions, sources: readonly string[], anomalies: string[]): Promise<IdleStep[]> {
  // Warm-up: the first connections load and compile code (TLS, the handshake, framing) and grow the heap once;
  // that is start-up cost, not per-connection cost, so it happens before the baseline.
  const warm = `${side}-warm`;
  await gen.open(warm, server.url(ECHO_PATH), WARMUP_CONNECTIONS, sources);
  await gen.echo(warm, 1000, 1, o.payloadBytes);
  await gen.close(warm);
  await sleep(1500);

  const pool = `${side}-idle`;
  const base: ProcSample = sample(server.pid);
  const steps: IdleStep[] = [];
  let open = 0;
  for (const target of o.idleCounts) {
    const cpuBefore = sample(server.pid);
    const opened = await gen.open(pool, server.url(ECHO_PATH), target - open, sources, 128);
    const cpuAfter = sample(server.pid);
    if (opened.failed > 0) {
      anomalies.push(`${side}: ${opened.failed} of ${target - open} idle connections failed to open (towards ${target}): ${opened.errors.join('; ')}`);
    }
    const added = opened.opened;
    open += added;
    await sleep(SETTLE_MS);
    const now = sample(server.pid);
    const step: IdleStep = {
      count: open,
      rssPerConn: (now.rssBytes - base.rssBytes) / Math.max(1, open),
      cpuUsPerOpen: delta(cpuBefore, cpuAfter).cpuUs / Math.max(1, added),
      rssBefore: base.rssBytes,
      rssAfter: now.rssBytes,
    };
    steps.push(step);
    o.log(
      `  idle ${side.padEnd(4)}: ${open} open (+${added} in ${Math.round(opened.ms)} ms), RSS ${(base.rssBytes / 2 ** 20).toFixed(1)} → ${(now.rssBytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${Math.round(step.rssPerConn)} B/conn, set-up ${step.cpuUsPerOpen.toFixed(0)} µs CPU/conn`,
    );
    if (!server.alive()) {
      anomalies.push(`${side}: the server died with ${open} idle connections; its last output:\n${server.recentOutput()}`);
      break;
    }
  }
  await gen.close(pool);
  return steps;
}

function row(measure: string, unit: string, values: (side: Side) => number[], target: number | null, digits: number): ResultRow {
  return medianRow(measure, unit, { ours: values('ours'), peer: values('peer') }, target, digits);
}
