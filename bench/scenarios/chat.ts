/**
 * Issue 5's benchmark (and issue 9's chat scenario): the chat workload of
 * ../shared/API.md against our server and against the same contract on the
 * usual Node stack (bench/peers/chat-peer.ts: ws + node:https +
 * better-sqlite3), in one run, driven by the same load generator process
 * (bench/load/chat-load.ts, pinned to the other CPU).
 *
 * On each server, side by side (both pinned to the server CPU; the idle one
 * costs next to nothing):
 *
 *   1. set-up: N users register (POST /register, scrypt at 2^14 on both
 *      sides) — server CPU per registration; a few connections warm the
 *      WebSocket path and close; then every user opens one WSS connection
 *      (spread over 127.0.0.x source addresses) and gets its `hello` — RSS
 *      after minus RSS before, over N, is the memory per connected user; then
 *      one user creates the room and all join it;
 *   2. fixed offered rates: a few senders send acked messages at a rate that
 *      gives 10k and 20k deliveries per second (rate × N), below the
 *      saturation of both servers; rounds alternate between the servers —
 *      server CPU (utime + stime, /proc/PID/stat) per delivered message, and
 *      delivery latency (send → receipt at each member, every delivery) p50
 *      and p99, and send → ack p99;
 *   3. saturation: a closed loop — each sender keeps a few messages in
 *      flight, one leaving the window only when every member has received it
 *      — acked sends per second and deliveries per second with all members
 *      receiving, and how busy the server and the generator were (if the
 *      generator's core is full first, the figure is the generator's limit,
 *      and the report says so).
 *
 * Each value is the median of the rounds, with their spread. Loopback only;
 * every wait is bounded; the processes end with the run (processes.ts).
 */
import { ChatLoadGenerator } from '../lib/chat-load-generator.js';
import { startChatPeer, startOurChatServer, CHAT_HASH_COST } from '../lib/chat-servers.js';
import type { LoadReply } from '../load/chat-protocol.js';
import { delta, readCpuBusyMicros, sample } from '../lib/proc-stats.js';
import { detectPinning, LOAD_CPU, SERVER_CPU, sleep } from '../lib/processes.js';
import { formatK, measureServer, medianRow, roundOrder, SIDES, type Side } from '../lib/rounds.js';
import { createRunDir, type RunDir, type ServerUnderTest } from '../lib/servers.js';
import { sourceAddresses } from '../lib/source-addresses.js';
import { median } from '../lib/stats.js';
import type { ResultRow } from '../lib/table.js';
import type { ScenarioResult } from './echo.js';

export interface ChatPlan {
  /** Users, each with one connection, all members of the one room. */
  readonly members: number;
  /** Offered loads, in deliveries per second (sends per second × members). */
  readonly deliveryRates: readonly number[];
  readonly senders: number;
  readonly rounds: number;
  readonly roundSeconds: number;
  readonly warmupSeconds: number;
  /** Closed loop: messages in flight per sender. */
  readonly window: number;
  readonly saturationSeconds: number;
  readonly textChars: number;
  readonly sourceCount: number;
}

export function chatPlan(quick: boolean): ChatPlan {
  return quick
    ? { members: 200, deliveryRates: [10_000, 20_000], senders: 4, rounds: 3, roundSeconds: 3, warmupSeconds: 2, window: 8, saturationSeconds: 3, textChars: 48, sourceCount: 8 }
    : { members: 1000, deliveryRates: [10_000, 20_000], senders: 4, rounds: 3, roundSeconds: 5, warmupSeconds: 2, window: 8, saturationSeconds: 5, textChars: 48, sourceCount: 8 };
}

export interface ChatScenarioOptions {
  readonly quick: boolean;
  /** WSS and HTTPS (default), or plain WS and HTTP on both sides. */
  readonly tls?: boolean;
  /** Replaces parts of the plan (for trials). */
  readonly plan?: Partial<ChatPlan>;
  readonly runDir?: RunDir;
  readonly maxLifetimeMs?: number;
  readonly log?: (line: string) => void;
}

const ROOM = 'bench';
const PASSWORD = 'bench-Passw0rd-not-common';
const WARM_CONNECTIONS = 20;
const SETTLE_MS = 2000;
const DRAIN_MS = 5000;

/** The rows only (the table), as bench/scenarios/echo.ts's rows. */
export async function runChatScenario(options: { quick: boolean } & Partial<ChatScenarioOptions>): Promise<ResultRow[]> {
  return (await runChatScenarioDetailed(options)).rows;
}

interface RateRound {
  readonly cpuUsPerDelivery: number;
  readonly sysUsPerDelivery: number;
  readonly schedUsPerDelivery: number | null;
  /** Server CPU over the job's wall time (1 = one core busy). */
  readonly serverCpuShare: number;
  readonly foreignShare: number | null;
  /** How busy the load generator's CPU was (the generator, this runner, and anything else), 0–1; null when unpinned. */
  readonly loadCoreShare: number | null;
  readonly reply: LoadReply;
}

interface SetUp {
  readonly registerCpuUs: number;
  readonly registerMs: number;
  readonly connectCpuUs: number;
  readonly rssPerUser: number;
  readonly rssBase: number;
  readonly rssConnected: number;
  readonly rssJoined: number;
  readonly joinMs: number;
  readonly joinCpuUs: number;
}

export async function runChatScenarioDetailed(o: ChatScenarioOptions): Promise<ScenarioResult> {
  const plan: ChatPlan = { ...chatPlan(o.quick), ...o.plan };
  const tls = o.tls ?? true;
  const log = o.log ?? (() => {});
  const maxLifetimeMs = o.maxLifetimeMs ?? (o.quick ? 6 : 20) * 60_000;
  const ownRunDir = o.runDir === undefined;
  const runDir = o.runDir ?? createRunDir();
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const anomalies: string[] = [];
  const raw: Record<string, unknown> = { plan };
  const N = plan.members;
  const sources = sourceAddresses(plan.sourceCount);
  const gen = ChatLoadGenerator.start(maxLifetimeMs);
  const started: Partial<Record<Side, ServerUnderTest>> = {};
  const scheme = tls ? 'WSS' : 'WS';

  try {
    started.ours = await startOurChatServer({ runDir, tls, maxLifetimeMs });
    started.peer = await startChatPeer({ runDir, tls, maxLifetimeMs });
    const servers = started as Record<Side, ServerUnderTest>;

    // ── 1. set-up, one server after the other ────────────────────────────
    const setUp = {} as Record<Side, SetUp>;
    for (const side of SIDES) setUp[side] = await prepare(gen, servers[side], side, plan, sources, tls, log, anomalies);
    raw.setUp = setUp;

    // ── 2. fixed offered rates ────────────────────────────────────────────
    const lowest = Math.min(10_000, ...plan.deliveryRates) / N;
    for (const side of SIDES) {
      // JIT, buffers and the database warm, unmeasured.
      const w = await gen.load({ pool: side, room: ROOM, mode: 'rate', senders: plan.senders, rate: lowest, window: 0, seconds: plan.warmupSeconds, textChars: plan.textChars, drainMs: DRAIN_MS });
      check(side, 'warm-up', w, servers[side], anomalies);
    }
    for (const deliveries of plan.deliveryRates) {
      const sendRate = deliveries / N;
      const rounds: Record<Side, RateRound[]> = { ours: [], peer: [] };
      for (let r = 0; r < plan.rounds; r++) {
        for (const side of roundOrder(r)) {
          const round = await measure(gen, servers[side], side, { mode: 'rate', rate: sendRate, seconds: plan.roundSeconds }, plan);
          rounds[side].push(round);
          const rep = round.reply;
          log(
            `  ${formatK(deliveries)} deliveries/s (${fmt(sendRate, 1)} sends/s) round ${r + 1} ${side.padEnd(4)}: ` +
              `${round.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery (${round.sysUsPerDelivery.toFixed(2)} in kernel${round.schedUsPerDelivery === null ? '' : `, schedstat ${round.schedUsPerDelivery.toFixed(2)}`}), ` +
              `server ${(round.serverCpuShare * 100).toFixed(0)}% of a core, delivery p50 ${fmt(rep.delivery.p50)} µs p99 ${fmt(rep.delivery.p99)} µs, ack p99 ${fmt(rep.ack.p99)} µs, ` +
              `${rep.deliveriesReceived}/${rep.deliveriesExpected} delivered, generator ${(rep.generatorCpuShare * 100).toFixed(0)}% CPU, send lag ≤ ${rep.maxSendLagMs.toFixed(1)} ms` +
              (round.foreignShare === null ? '' : `, others on CPU ${SERVER_CPU}: ${(round.foreignShare * 100).toFixed(0)}%`),
          );
          check(side, `${deliveries} deliveries/s`, rep, servers[side], anomalies);
        }
      }
      raw[`rate_${deliveries}`] = rounds;
      const label = `chat, ${formatK(N)} members, ${formatK(deliveries)} deliveries/s (${fmt(sendRate, 1)} sends/s)`;
      const full = N >= 1000;
      rows.push(row(`${label}: server CPU per delivered message`, 'µs', (s) => rounds[s].map((x) => x.cpuUsPerDelivery), full ? 0.5 : null, 2));
      rows.push(row(`${label}: delivery latency p50`, 'µs', (s) => rounds[s].map((x) => x.reply.delivery.p50), null, 0));
      rows.push(row(`${label}: delivery latency p99`, 'µs', (s) => rounds[s].map((x) => x.reply.delivery.p99), full && deliveries === 10_000 ? 1.0 : null, 0));
      rows.push(row(`${label}: send → ack p99`, 'µs', (s) => rounds[s].map((x) => x.reply.ack.p99), null, 0));
      const genShare = Math.max(...SIDES.flatMap((s) => rounds[s].map((x) => x.reply.generatorCpuShare)));
      const lag = Math.max(...SIDES.flatMap((s) => rounds[s].map((x) => x.reply.maxSendLagMs)));
      const foreign = SIDES.flatMap((s) => rounds[s].map((x) => x.foreignShare ?? NaN)).filter(Number.isFinite);
      notes.push(
        `chat ${formatK(deliveries)} deliveries/s: the load generator used at most ${(genShare * 100).toFixed(0)}% of its core; largest send lag ${lag.toFixed(1)} ms` +
          (foreign.length ? `; other processes took ${(Math.min(...foreign) * 100).toFixed(0)}–${(Math.max(...foreign) * 100).toFixed(0)}% of the server's core during the rounds` : ''),
      );
    }

    // ── 3. saturation: closed loop, every member receiving ───────────────
    const sat: Record<Side, RateRound[]> = { ours: [], peer: [] };
    for (let r = 0; r < plan.rounds; r++) {
      for (const side of roundOrder(r)) {
        const round = await measure(gen, servers[side], side, { mode: 'closed', rate: 0, seconds: plan.saturationSeconds }, plan);
        sat[side].push(round);
        const rep = round.reply;
        log(
          `  saturation (${plan.senders} senders × ${plan.window} in flight) round ${r + 1} ${side.padEnd(4)}: ` +
            `${fmt(rep.ackedPerSecond)} acked sends/s, ${fmt(rep.deliveriesPerSecond)} deliveries/s, ${round.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery, ` +
            `server ${(round.serverCpuShare * 100).toFixed(0)}% of a core, generator ${(rep.generatorCpuShare * 100).toFixed(0)}%` +
            (round.loadCoreShare === null ? '' : ` (its CPU ${LOAD_CPU} ${(round.loadCoreShare * 100).toFixed(0)}% busy)`) +
            `, ` +
            `delivery p50 ${fmt(rep.delivery.p50)} µs p99 ${fmt(rep.delivery.p99)} µs, ${rep.deliveriesReceived}/${rep.deliveriesExpected} delivered` +
            (round.foreignShare === null ? '' : `, others on CPU ${SERVER_CPU}: ${(round.foreignShare * 100).toFixed(0)}%`),
        );
        check(side, 'saturation', rep, servers[side], anomalies);
      }
    }
    raw.saturation = sat;
    const satLabel = `chat, ${formatK(N)} members, closed loop (${plan.senders} senders × ${plan.window} in flight)`;
    rows.push(row(`${satLabel}: acked sends/s, all members receiving (higher is better)`, '1/s', (s) => sat[s].map((x) => x.reply.ackedPerSecond), null, 0));
    rows.push(row(`${satLabel}: messages delivered/s (higher is better)`, '1/s', (s) => sat[s].map((x) => x.reply.deliveriesPerSecond), null, 0));
    rows.push(row(`${satLabel}: server CPU per delivered message`, 'µs', (s) => sat[s].map((x) => x.cpuUsPerDelivery), null, 2));
    rows.push(row(`${satLabel}: delivery latency p99`, 'µs', (s) => sat[s].map((x) => x.reply.delivery.p99), null, 0));
    // What one core would deliver if the load generator were not the limit: 1 s of CPU / CPU per delivery.
    rows.push(row(`${satLabel}: server-bound capacity, 1 core ÷ CPU per delivery (higher is better)`, '1/s', (s) => sat[s].map((x) => 1e6 / x.cpuUsPerDelivery), null, 0));
    const sends = (s: Side) => median(sat[s].map((x) => x.reply.ackedPerSecond));
    const shares = (s: Side) => median(sat[s].map((x) => x.serverCpuShare));
    const genShares = (s: Side) => median(sat[s].map((x) => x.reply.generatorCpuShare));
    const loadCore = (s: Side) => median(sat[s].map((x) => x.loadCoreShare ?? x.reply.generatorCpuShare));
    const sendRatio = sends('ours') / sends('peer');
    notes.push(
      `chat saturation: acked sends/s ours / peer = ${sendRatio.toFixed(3)} (issue 9 target ≥ 2: ${sendRatio >= 2 ? 'met' : 'not met'}); ` +
        `server busy ${(shares('ours') * 100).toFixed(0)}% (ours) and ${(shares('peer') * 100).toFixed(0)}% (peer) of its core, ` +
        `generator ${(genShares('ours') * 100).toFixed(0)}% / ${(genShares('peer') * 100).toFixed(0)}% of its own core, which was ${(loadCore('ours') * 100).toFixed(0)}% / ${(loadCore('peer') * 100).toFixed(0)}% busy in all`,
    );
    for (const side of SIDES) {
      if (shares(side) < 0.85 && loadCore(side) > 0.85) {
        notes.push(
          `chat saturation, ${side}: the load generator's core was ${(loadCore(side) * 100).toFixed(0)}% busy while the server used ${(shares(side) * 100).toFixed(0)}% of its own: ` +
            `that throughput is the generator's limit, a lower bound for the server; the capacity row (1 core ÷ CPU per delivery) estimates the server's own`,
        );
      }
    }

    // ── set-up rows ───────────────────────────────────────────────────────
    rows.push({
      measure: `chat, ${formatK(N)} users: POST /register (scrypt 2^${CHAT_HASH_COST}): server CPU per request`,
      unit: 'µs',
      ours: setUp.ours.registerCpuUs,
      peer: setUp.peer.registerCpuUs,
      target: null,
      digits: 0,
    });
    rows.push({
      measure: `chat, ${formatK(N)} ${scheme} connections (after hello): server CPU per connection set-up`,
      unit: 'µs',
      ours: setUp.ours.connectCpuUs,
      peer: setUp.peer.connectCpuUs,
      target: null,
      digits: 0,
    });
    rows.push({
      measure: `chat, ${formatK(N)} users join the room one by one (members list + presence to the others): server CPU per join`,
      unit: 'µs',
      ours: setUp.ours.joinCpuUs / N,
      peer: setUp.peer.joinCpuUs / N,
      target: null,
      digits: 0,
    });
    rows.push({ measure: `chat, ${formatK(N)} users connected: RSS per connected user`, unit: 'bytes', ours: setUp.ours.rssPerUser, peer: setUp.peer.rssPerUser, target: null, digits: 0 });
    for (const side of SIDES) await gen.close(side);
  } finally {
    await gen.stop().catch(() => {});
    if (started.ours) {
      const exit = await started.ours.stop(15_000);
      if (exit.code !== 0) anomalies.push(`ours: exit after SIGTERM was code ${exit.code}, signal ${exit.signal}; last output:\n${started.ours.recentOutput()}`);
    }
    if (started.peer) await started.peer.stop();
    if (ownRunDir) runDir.remove();
  }
  return { rows, notes, anomalies, raw };
}

async function prepare(
  gen: ChatLoadGenerator,
  server: ServerUnderTest,
  side: Side,
  plan: ChatPlan,
  sources: readonly string[],
  tls: boolean,
  log: (line: string) => void,
  anomalies: string[],
): Promise<SetUp> {
  const N = plan.members;
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${server.port}`;
  const wsUrl = server.url('/ws');

  const regBefore = sample(server.pid);
  const reg = await gen.register(side, origin, 'bench', N, PASSWORD, sources[0]!);
  const regAfter = sample(server.pid);
  const registerCpuUs = delta(regBefore, regAfter).cpuUs / Math.max(1, reg.registered);
  log(`  ${side.padEnd(4)}: ${reg.registered} users registered in ${fmt(reg.ms)} ms (${fmt(registerCpuUs)} µs server CPU each${reg.retried ? `, ${reg.retried} retries after 429` : ''})`);
  if (reg.failed > 0) anomalies.push(`${side}: ${reg.failed} of ${N} registrations failed: ${reg.errors.join('; ')}`);

  // Warm the WebSocket path (code, JIT, TLS, the first heap growth): start-up cost, not per-user cost.
  await gen.connect(side, wsUrl, 0, Math.min(WARM_CONNECTIONS, N), sources);
  await gen.close(side);
  await sleep(1500);

  const base = sample(server.pid);
  const conn = await gen.connect(side, wsUrl, 0, N, sources);
  const connAfter = sample(server.pid);
  const connectCpuUs = delta(base, connAfter).cpuUs / Math.max(1, conn.opened);
  if (conn.failed > 0) anomalies.push(`${side}: ${conn.failed} of ${N} connections failed to open: ${conn.errors.join('; ')}`);
  await sleep(SETTLE_MS);
  const connected = sample(server.pid);
  const rssPerUser = (connected.rssBytes - base.rssBytes) / Math.max(1, conn.opened);
  log(
    `  ${side.padEnd(4)}: ${conn.opened} connections open in ${fmt(conn.ms)} ms (${fmt(connectCpuUs)} µs server CPU each), ` +
      `RSS ${mib(base.rssBytes)} → ${mib(connected.rssBytes)} MiB = ${fmt(rssPerUser)} B per connected user`,
  );

  const joinBefore = sample(server.pid);
  const joined = await gen.join(side, ROOM, N);
  const joinAfter = sample(server.pid);
  if (joined.failed > 0) anomalies.push(`${side}: ${joined.failed} joins failed: ${joined.errors.join('; ')}`);
  if (joined.lastMemberCount !== N) anomalies.push(`${side}: the last join listed ${joined.lastMemberCount} members, expected ${N}`);
  await sleep(SETTLE_MS);
  const afterJoin = sample(server.pid);
  const joinCpuUs = delta(joinBefore, joinAfter).cpuUs;
  log(`  ${side.padEnd(4)}: ${joined.joined} joined '${ROOM}' in ${fmt(joined.ms)} ms (${fmt(joinCpuUs / 1000)} ms server CPU; each join lists the members and tells the others), RSS now ${mib(afterJoin.rssBytes)} MiB`);
  if (!server.alive()) anomalies.push(`${side}: the server died during set-up; its last output:\n${server.recentOutput()}`);
  return {
    registerCpuUs,
    registerMs: reg.ms,
    connectCpuUs,
    rssPerUser,
    rssBase: base.rssBytes,
    rssConnected: connected.rssBytes,
    rssJoined: afterJoin.rssBytes,
    joinMs: joined.ms,
    joinCpuUs,
  };
}

async function measure(
  gen: ChatLoadGenerator,
  server: ServerUnderTest,
  side: Side,
  load: { mode: 'rate' | 'closed'; rate: number; seconds: number },
  plan: ChatPlan,
): Promise<RateRound> {
  // The load generator's core too: at saturation it may be the limit, not the server.
  const pinned = detectPinning().enabled;
  const loadCoreBefore = pinned ? readCpuBusyMicros(LOAD_CPU) : null;
  const m = await measureServer(server, () =>
    gen.load({ pool: side, room: ROOM, mode: load.mode, senders: plan.senders, rate: load.rate, window: plan.window, seconds: load.seconds, textChars: plan.textChars, drainMs: DRAIN_MS }),
  );
  const loadCoreAfter = pinned ? readCpuBusyMicros(LOAD_CPU) : null;
  const reply = m.result;
  const n = Math.max(1, reply.deliveriesReceived);
  return {
    cpuUsPerDelivery: m.cpuUs / n,
    sysUsPerDelivery: m.sysUs / n,
    schedUsPerDelivery: m.schedCpuUs === null ? null : m.schedCpuUs / n,
    // The send phase is where the work is; the drain after it is short when nothing is lost.
    serverCpuShare: (m.schedCpuUs ?? m.cpuUs) / (reply.jobMs * 1000),
    foreignShare: m.foreignShare,
    loadCoreShare: loadCoreBefore && loadCoreAfter ? (loadCoreAfter.busyUs - loadCoreBefore.busyUs) / m.wallUs : null,
    reply,
  };
}

function check(side: Side, where: string, rep: LoadReply, server: ServerUnderTest, anomalies: string[]): void {
  const at = `${side}, ${where}`;
  if (rep.acked < rep.sent) anomalies.push(`${at}: ${rep.sent - rep.acked} of ${rep.sent} sends never acked`);
  if (rep.deliveriesReceived < rep.deliveriesExpected) anomalies.push(`${at}: ${rep.deliveriesExpected - rep.deliveriesReceived} of ${rep.deliveriesExpected} deliveries missing`);
  if (rep.deliveriesReceived > rep.deliveriesExpected) anomalies.push(`${at}: ${rep.deliveriesReceived - rep.deliveriesExpected} deliveries more than expected (duplicates?)`);
  if (rep.stray > 0) anomalies.push(`${at}: ${rep.stray} deliveries of unknown or earlier messages`);
  if (rep.outOfOrder > 0) anomalies.push(`${at}: ${rep.outOfOrder} messages arrived out of id order`);
  if (rep.errorFrames > 0) anomalies.push(`${at}: ${rep.errorFrames} error replies, e.g. ${rep.errorSample}`);
  if (rep.closedDuringRun > 0) anomalies.push(`${at}: ${rep.closedDuringRun} connections closed during the run (codes ${rep.closeCodes.join(', ')})`);
  if (!server.alive()) anomalies.push(`${at}: the server process died; its last output:\n${server.recentOutput()}`);
}

function row(measure: string, unit: string, values: (side: Side) => number[], target: number | null, digits: number): ResultRow {
  return medianRow(measure, unit, { ours: values('ours'), peer: values('peer') }, target, digits);
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
