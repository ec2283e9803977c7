/**
 * Issue 9's TLS scenario: what a TLS handshake costs each server, full and
 * resumed. The load generator opens bare TLS connections (node:tls, TLS 1.3,
 * the servers' shared P-256 certificate), completes the handshake and closes
 * at once — no HTTP — so the server's CPU over a round, divided by the
 * handshakes, is the cost of one accept + handshake + close.
 *
 *   full     no session offered: ECDHE key exchange, certificate, signature;
 *   resumed  every connection offers a session ticket from an earlier one
 *            (RFC 8446 §2.2, "resumption and pre-shared key"): no certificate
 *            and no signature. The generator counts how many the server
 *            actually resumed (TLSSocket.isSessionReused()).
 *
 * Both servers run side by side; rounds alternate.
 */
import type { HandshakeReply } from '../load/protocol.js';
import { LoadGenerator } from '../lib/load-generator.js';
import { describeForeign, measureServer, medianRow, roundOrder, SIDES, stopServer, type Side } from '../lib/rounds.js';
import { startOurServer, startPeer, type RunDir, type ServerUnderTest } from '../lib/servers.js';
import { sourceAddresses } from '../lib/source-addresses.js';
import type { ResultRow } from '../lib/table.js';
import type { ScenarioResult } from './echo.js';

export interface TlsPlan {
  /** Handshakes per round. */
  readonly handshakes: number;
  readonly concurrency: number;
  readonly rounds: number;
  readonly sourceCount: number;
}

export interface TlsOptions extends TlsPlan {
  readonly runDir: RunDir;
  readonly maxLifetimeMs: number;
  readonly log: (line: string) => void;
}

const KINDS = ['full', 'resumed'] as const;
type Kind = (typeof KINDS)[number];

interface Round {
  readonly cpuUsPerHandshake: number;
  readonly foreignShare: number | null;
  readonly reply: HandshakeReply;
}

export async function runTlsScenario(o: TlsOptions): Promise<ScenarioResult> {
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const anomalies: string[] = [];
  const sources = sourceAddresses(o.sourceCount);
  const gen = LoadGenerator.start(o.maxLifetimeMs);
  const start = { runDir: o.runDir, tls: true, maxLifetimeMs: o.maxLifetimeMs };
  const servers: Partial<Record<Side, ServerUnderTest>> = {};
  const rounds: Record<Kind, Record<Side, Round[]>> = { full: { ours: [], peer: [] }, resumed: { ours: [], peer: [] } };
  try {
    servers.ours = await startOurServer(start);
    servers.peer = await startPeer(start);
    const run = (side: Side, kind: Kind, count: number) =>
      gen.handshakes('127.0.0.1', servers[side]!.port, count, { resume: kind === 'resumed', concurrency: o.concurrency, sources });
    // Warm-up, unmeasured: the first handshakes load and compile the TLS paths.
    for (const side of SIDES) for (const kind of KINDS) await run(side, kind, Math.min(200, o.handshakes));
    for (let r = 0; r < o.rounds; r++) {
      for (const kind of KINDS) {
        for (const side of roundOrder(r)) {
          const m = await measureServer(servers[side]!, () => run(side, kind, o.handshakes));
          const rep = m.result;
          const round: Round = { cpuUsPerHandshake: m.cpuUs / Math.max(1, rep.completed), foreignShare: m.foreignShare, reply: rep };
          rounds[kind][side].push(round);
          o.log(
            `  TLS ${kind.padEnd(7)} round ${r + 1} ${side.padEnd(4)}: ${round.cpuUsPerHandshake.toFixed(0)} µs CPU/handshake, ` +
              `${rep.completed}/${o.handshakes} completed (${rep.resumed} resumed) in ${Math.round(rep.ms)} ms, generator ${(rep.generatorCpuShare * 100).toFixed(0)}% CPU` +
              (m.foreignShare === null ? '' : `, others on the server's CPU: ${(m.foreignShare * 100).toFixed(0)}%`),
          );
          if (rep.failed > 0) anomalies.push(`${side}, TLS ${kind}: ${rep.failed} of ${o.handshakes} handshakes failed: ${rep.errors.join('; ')}`);
          if (!servers[side]!.alive()) anomalies.push(`${side}: the server died during the TLS handshakes; its last output:\n${servers[side]!.recentOutput()}`);
        }
      }
    }
  } finally {
    await gen.stop();
    if (servers.ours) await stopServer(servers.ours, anomalies);
    if (servers.peer) await stopServer(servers.peer, anomalies);
  }
  const cpu = (kind: Kind) => ({ ours: rounds[kind].ours.map((x) => x.cpuUsPerHandshake), peer: rounds[kind].peer.map((x) => x.cpuUsPerHandshake) });
  rows.push(medianRow('TLS 1.3 full handshake (ECDHE, P-256 certificate): server CPU', 'µs', cpu('full'), 1.0, 0));
  rows.push(medianRow('TLS 1.3 resumed handshake (session ticket): server CPU', 'µs', cpu('resumed'), null, 0));
  // Issue 9's ticket target: a reconnect with our ticket against what the usual stack spends on a full handshake.
  rows.push(medianRow('… ours resumed, against the peer’s full handshake', 'µs', { ours: cpu('resumed').ours, peer: cpu('full').peer }, 0.4, 0));
  for (const side of SIDES) {
    const resumed = rounds.resumed[side].map((x) => x.reply.resumed / Math.max(1, x.reply.completed));
    const share = Math.min(...resumed);
    notes.push(`TLS: ${side} resumed ${(share * 100).toFixed(0)}% or more of the handshakes that offered a ticket`);
    if (side === 'ours' && share < 0.99) anomalies.push(`ours resumed only ${(share * 100).toFixed(0)}% of the handshakes that offered a session ticket`);
  }
  const foreign = describeForeign([...KINDS.flatMap((k) => SIDES.flatMap((s) => rounds[k][s].map((x) => x.foreignShare)))]);
  if (foreign) notes.push(`TLS: ${foreign}`);
  return { rows, notes, anomalies, raw: { rounds } };
}
