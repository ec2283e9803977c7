/**
 * The results table: one row per measure, our value, the peer's, the ratio
 * ours / peer (below 1 is better for every measure here: CPU, latency,
 * memory), and the target ratio from issue 9 where it sets one. Printed as
 * Markdown so it can be pasted into docs/performance.md as is.
 */

export interface ResultRow {
  readonly measure: string;
  readonly unit: string;
  readonly ours: number;
  readonly peer: number;
  /** The target for ours / peer, e.g. 0.6, or null when the issue sets none. */
  readonly target: number | null;
  /** A target for our value itself, in `unit` (e.g. event-loop delay ≤ 10 ms), when the issue sets one. */
  readonly absoluteTarget?: number;
  /** Spread of the rounds ("min–max"), or '' when there was one round. */
  readonly oursSpread?: string;
  readonly peerSpread?: string;
  /** Digits after the decimal point for the values. */
  readonly digits?: number;
}

export function ratio(ours: number, peer: number): number {
  return peer === 0 || !Number.isFinite(peer) || !Number.isFinite(ours) ? NaN : ours / peer;
}

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cells(row: ResultRow): string[] {
  const r = ratio(row.ours, row.peer);
  const verdict = row.target === null || !Number.isFinite(r) ? '' : r <= row.target ? ' met' : ' not met';
  if (row.absoluteTarget !== undefined) {
    const met = Number.isFinite(row.ours) && row.ours <= row.absoluteTarget;
    const ours = formatNumber(row.ours, row.digits) + (row.oursSpread ? ` (${row.oursSpread})` : '');
    const peer = Number.isFinite(row.peer) ? formatNumber(row.peer, row.digits) : '—';
    return [row.measure, row.unit, ours, peer, Number.isFinite(r) ? r.toFixed(2) : '', `≤ ${row.absoluteTarget} ${row.unit}${met ? ' met' : ' not met'}`];
  }
  const ours = formatNumber(row.ours, row.digits) + (row.oursSpread ? ` (${row.oursSpread})` : '');
  // NaN for the peer means the scenario has none (the login burst): a dash, and no ratio.
  if (Number.isNaN(row.peer)) return [row.measure, row.unit, ours, '—', '', row.target === null ? '' : `≤ ${row.target}`];
  const peer = formatNumber(row.peer, row.digits) + (row.peerSpread ? ` (${row.peerSpread})` : '');
  return [row.measure, row.unit, ours, peer, Number.isFinite(r) ? r.toFixed(2) : 'n/a', row.target === null ? '' : `≤ ${row.target}${verdict}`];
}

/** A Markdown table, columns padded so it also reads well in a terminal. */
export function renderTable(rows: readonly ResultRow[], peerName: string): string {
  const header = ['measure', 'unit', 'ours', peerName, 'ours / peer', 'target'];
  const body = rows.map(cells);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cols: readonly string[]) => '| ' + cols.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i >= 2 && i <= 4 ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** "min–max" of the rounds for a spread column. */
export function formatSpread(values: readonly number[], digits = 0): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length < 2) return '';
  return `${formatNumber(Math.min(...finite), digits)}–${formatNumber(Math.max(...finite), digits)}`;
}
