/**
 * Issue 9's broadcast scenario: our `ws_broadcast_path` against the peer's
 * /broadcast (`ws` on node:https, the broadcast loop of the `ws` README).
 * N receivers are connected to each server (spread over 127.0.0.x); one of
 * them sends at rate / N messages per second, so the server makes `rate`
 * deliveries per second; every receiver (the sender too) should get every
 * message, in order, byte for byte.
 *
 * Measured per round, on each server side by side (both pinned to the
 * server CPU; rounds alternate): server CPU per delivery, and the latency of
 * every delivery (send → receipt at each member) p50 / p99.
 */
import type { BroadcastReply } from '../load/protocol.js';
import { LoadGenerator } from '../lib/load-generator.js';
import { describeForeign, formatK, measureServer, medianRow, roundOrder, SIDES, stopServer, type Side } from '../lib/rounds.js';
import { BROADCAST_PATH, startOurServer, startPeer, type RunDir, type ServerUnderTest } from '../lib/servers.js';
import { sourceAddresses } from '../lib/source-addresses.js';
import type { ResultRow } from '../lib/table.js';
import type { ScenarioResult } from './echo.js';

export interface BroadcastPlan {
  /** Receiver counts, each measured in turn (e.g. 100 and 1,000). */
  readonly receivers: readonly number[];
  /** Deliveries per second (messages per second × receivers). */
  readonly deliveriesPerSecond: number;
  readonly rounds: number;
  readonly roundSeconds: number;
  readonly warmupSeconds: number;
  readonly payloadBytes: number;
  readonly sourceCount: number;
}

export interface BroadcastOptions extends BroadcastPlan {
  readonly runDir: RunDir;
  readonly tls: boolean;
  readonly maxLifetimeMs: number;
  readonly log: (line: string) => void;
}

interface Round {
  readonly cpuUsPerDelivery: number;
  readonly sysUsPerDelivery: number;
  readonly foreignShare: number | null;
  readonly reply: BroadcastReply;
}

const DRAIN_MS = 3000;

export async function runBroadcastScenario(o: BroadcastOptions): Promise<ScenarioResult> {
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const anomalies: string[] = [];
  const raw: Record<string, unknown> = {};
  const sources = sourceAddresses(o.sourceCount);
  const gen = LoadGenerator.start(o.maxLifetimeMs);
  const scheme = o.tls ? 'WSS' : 'WS';
  const start = { runDir: o.runDir, tls: o.tls, maxLifetimeMs: o.maxLifetimeMs };
  const servers: Partial<Record<Side, ServerUnderTest>> = {};
  try {
    servers.ours = await startOurServer(start);
    servers.peer = await startPeer(start);
    for (const n of o.receivers) {
      const rate = o.deliveriesPerSecond / n;
      for (const side of SIDES) {
        const server = servers[side]!;
        const opened = await gen.open(`${side}-bc`, server.url(BROADCAST_PATH), n, sources, 128);
        if (opened.failed > 0) anomalies.push(`${side}: ${opened.failed} of ${n} broadcast connections failed to open: ${opened.errors.join('; ')}`);
        // Unmeasured warm-up: JIT, buffers.
        const warm = await gen.broadcast(`${side}-bc`, rate, o.warmupSeconds, o.payloadBytes, DRAIN_MS);
        check(side, n, warm, server, anomalies);
      }
      const rounds: Record<Side, Round[]> = { ours: [], peer: [] };
      for (let r = 0; r < o.rounds; r++) {
        for (const side of roundOrder(r)) {
          const server = servers[side]!;
          const m = await measureServer(server, () => gen.broadcast(`${side}-bc`, rate, o.roundSeconds, o.payloadBytes, DRAIN_MS));
          const rep = m.result;
          const delivered = Math.max(1, rep.deliveriesReceived);
          const round: Round = { cpuUsPerDelivery: m.cpuUs / delivered, sysUsPerDelivery: m.sysUs / delivered, foreignShare: m.foreignShare, reply: rep };
          rounds[side].push(round);
          o.log(
            `  broadcast to ${n} (${rate.toFixed(0)} msg/s) round ${r + 1} ${side.padEnd(4)}: ${round.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery ` +
              `(${round.sysUsPerDelivery.toFixed(2)} in kernel), latency p50 ${rep.latency.p50.toFixed(0)} µs p99 ${rep.latency.p99.toFixed(0)} µs, ` +
              `${rep.deliveriesReceived}/${rep.deliveriesExpected} delivered, generator ${(rep.generatorCpuShare * 100).toFixed(0)}% CPU` +
              (m.foreignShare === null ? '' : `, others on the server's CPU: ${(m.foreignShare * 100).toFixed(0)}%`),
          );
          check(side, n, rep, server, anomalies);
        }
      }
      for (const side of SIDES) await gen.close(`${side}-bc`);
      raw[`broadcast_${n}`] = rounds;
      const label = `broadcast to ${formatK(n)} ${scheme}, ${formatK(o.deliveriesPerSecond)} deliveries/s`;
      const pick = (f: (x: Round) => number) => ({ ours: rounds.ours.map(f), peer: rounds.peer.map(f) });
      rows.push(medianRow(`${label}: server CPU per delivery`, 'µs', pick((x) => x.cpuUsPerDelivery), n >= 1000 && o.tls ? 0.5 : null, 2));
      rows.push(medianRow(`${label}: … of which in the kernel (stime)`, 'µs', pick((x) => x.sysUsPerDelivery), null, 2));
      rows.push(medianRow(`${label}: delivery latency p50`, 'µs', pick((x) => x.reply.latency.p50), null, 0));
      rows.push(medianRow(`${label}: delivery latency p99`, 'µs', pick((x) => x.reply.latency.p99), null, 0));
      const all = [...rounds.ours, ...rounds.peer];
      const gen100 = Math.max(...all.map((x) => x.reply.generatorCpuShare));
      const foreign = describeForeign(all.map((x) => x.foreignShare));
      notes.push(`broadcast to ${n}: the load generator used at most ${(gen100 * 100).toFixed(0)}% of its CPU${foreign ? '; ' + foreign : ''}`);
    }
  } finally {
    await gen.stop();
    if (servers.ours) await stopServer(servers.ours, anomalies);
    if (servers.peer) await stopServer(servers.peer, anomalies);
  }
  return { rows, notes, anomalies, raw };
}

function check(side: Side, n: number, rep: BroadcastReply, server: ServerUnderTest, anomalies: string[]): void {
  const where = `${side}, broadcast to ${n}`;
  if (rep.wrong > 0) anomalies.push(`${where}: ${rep.wrong} wrong or out-of-order deliveries, e.g. ${rep.wrongSample}`);
  if (rep.deliveriesReceived < rep.deliveriesExpected) anomalies.push(`${where}: ${rep.deliveriesExpected - rep.deliveriesReceived} of ${rep.deliveriesExpected} deliveries missing`);
  if (rep.closedDuringRun > 0) anomalies.push(`${where}: ${rep.closedDuringRun} connections closed during the run (codes ${rep.closeCodes.join(', ')})`);
  if (!server.alive()) anomalies.push(`${where}: the server process died; its last output:\n${server.recentOutput()}`);
}
