/**
 * /metrics must be valid Prometheus text exposition format (version 0.0.4)
 * and must move when traffic flows.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
import { expect } from 'chai';
import https from 'node:https';
import WebSocket from 'ws';
import { MetricsRegistry } from '../../lib/metrics/metrics.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** A strict reader of the text format; throws on the first rule broken. */
export function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const seenSeries = new Set<string>();
  expect(text.endsWith('\n'), 'the exposition ends with a line feed').to.equal(true);
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) return; // other comments are allowed
      expect(m[2], where).to.match(METRIC_NAME);
      if (m[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped'], where).to.include(m[3]);
        expect(types.has(m[2]!), `${where}: one TYPE per metric`).to.equal(false);
        expect(samples.some((s) => s.name === m[2] || s.name.startsWith(m[2]! + '_')), `${where}: TYPE before the samples`).to.equal(false);
        types.set(m[2]!, m[3]!);
      } else {
        expect(helps.has(m[2]!), `${where}: one HELP per metric`).to.equal(false);
        helps.add(m[2]!);
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    expect(m, where).to.not.equal(null);
    const labels: Record<string, string> = {};
    if (m![3] !== undefined && m![3] !== '') {
      const re = /([^=,]+)="((?:[^"\\]|\\[\\"n])*)"(,|$)/y;
      let at = 0;
      while (at < m![3].length) {
        re.lastIndex = at;
        const l = re.exec(m![3]);
        expect(l, `${where}: label syntax`).to.not.equal(null);
        expect(l![1], where).to.match(LABEL_NAME);
        expect(labels, `${where}: duplicate label`).to.not.have.property(l![1]!);
        labels[l![1]!] = l![2]!;
        at = re.lastIndex;
      }
    }
    expect(m![4], where).to.match(VALUE);
    const series = m![1] + JSON.stringify(labels);
    expect(seenSeries.has(series), `${where}: duplicate series`).to.equal(false);
    seenSeries.add(series);
    samples.push({ name: m![1]!, labels, value: Number(m![4]!.replace('Inf', 'Infinity')) });
  });
  // Conventions: counters end in _total; histograms have cumulative buckets ending at +Inf = _count.
  for (const [name, type] of types) {
    if (type === 'counter') expect(name, 'a counter name ends in _total').to.match(/_total$/);
    if (type === 'histogram') {
      const buckets = samples.filter((s) => s.name === `${name}_bucket`);
      expect(buckets.length, `${name} has buckets`).to.be.greaterThan(0);
      expect(buckets.at(-1)!.labels.le).to.equal('+Inf');
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).to.be.at.least(buckets[i - 1]!.value);
      expect(samples.find((s) => s.name === `${name}_count`)!.value).to.equal(buckets.at(-1)!.value);
    }
  }
  return { types, samples };
}

function getMetrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/metrics', rejectUnauthorized: false }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}

const value = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

describe('metrics', () => {
  it('renders label values escaped (backslash, quote, newline) and special values', () => {
    const r = new MetricsRegistry();
    r.counter('x_total', 'help with \\ and\nnewline').inc({ reason: 'a"b\\c\nd' });
    r.gauge('g', 'a gauge').set(Infinity);
    const { samples } = parsePrometheus(r.render());
    expect(samples[0]!.labels.reason).to.equal('a\\"b\\\\c\\nd');
    expect(samples[1]!.value).to.equal(Infinity);
  });

  it('counts a frozen labels object and an equal literal into one series, and never remembers a mutable object by identity', () => {
    const r = new MetricsRegistry();
    const c = r.counter('m_total', 'messages');
    const TEXT = Object.freeze({ type: 'text' });
    c.inc(TEXT);
    c.inc(TEXT);
    c.inc({ type: 'text' });
    const mutable: { type: string } = { type: 'text' };
    c.inc(mutable);
    mutable.type = 'binary'; // the same object, now other labels: must land in the other series
    c.inc(mutable);
    expect(c.get({ type: 'text' })).to.equal(4);
    expect(c.get({ type: 'binary' })).to.equal(1);
    const { samples } = parsePrometheus(r.render());
    expect(samples.filter((x) => x.name === 'm_total')).to.have.length(2);
  });

  describe('/metrics on a live server', () => {
    let live: LiveServer;
    before(async () => {
      live = await startServer({ ws_echo_path: '/echo', password_hash_cost: 14 }, { app: true });
    });
    after(() => live.close());

    it('parses as the Prometheus text format and moves when traffic flows', async function () {
      this.timeout(20_000);
      const before = parsePrometheus(await getMetrics(live.port)).samples;
      const ws = new WebSocket(`wss://127.0.0.1:${live.port}/echo`, { rejectUnauthorized: false });
      await new Promise((r) => ws.once('open', r));
      for (let i = 0; i < 5; i++) {
        const echoed = new Promise((r) => ws.once('message', r));
        ws.send(`m${i}`);
        await echoed;
      }
      const closed = new Promise((r) => ws.once('close', r));
      ws.close(1000);
      await closed;
      await new Promise((r) => setTimeout(r, 50));
      const { samples, types } = parsePrometheus(await getMetrics(live.port));
      expect(value(samples, 'chat_http_requests_total', { status: '200' })).to.be.greaterThan(value(before, 'chat_http_requests_total', { status: '200' }));
      expect(value(samples, 'chat_connections_accepted_total')).to.be.greaterThan(value(before, 'chat_connections_accepted_total'));
      expect(value(samples, 'chat_ws_messages_received_total')).to.equal(value(before, 'chat_ws_messages_received_total') + 5);
      expect(value(samples, 'chat_ws_connections_closed_total', { code: '1000' })).to.equal(value(before, 'chat_ws_connections_closed_total', { code: '1000' }) + 1);
      expect(value(samples, 'process_resident_memory_bytes')).to.be.greaterThan(1e6);
      for (const name of ['chat_db_commit_seconds', 'chat_delivery_seconds']) expect(types.get(name)).to.equal('histogram');
      for (const name of ['chat_build_info', 'chat_event_loop_delay_p99_seconds', 'chat_connections_open']) expect(types.get(name)).to.equal('gauge');
    });

    it('has no label value taken from user input (bounded cardinality)', async () => {
      // a request for a made-up path and method must not create a series named after it
      const { samples } = parsePrometheus(await getMetrics(live.port));
      for (const s of samples) for (const v of Object.values(s.labels)) expect(v).to.not.match(/\/|spec-|nope/);
    });
  });
});
