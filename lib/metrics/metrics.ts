/**
 * A small Prometheus metrics registry and its text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Label values come only from bounded sets the code chooses (a status code,
 * a refusal reason, a close code) — never from user input — so the number of
 * series cannot grow without bound.
 */

type LabelValues = Readonly<Record<string, string | number>>;

interface Series {
  readonly labels: string; // rendered `{a="b",c="d"}` or ''
  value: number;
}

abstract class Metric {
  protected readonly series = new Map<string, Series>();
  /**
   * Series found by the identity of a labels object: a hot path that passes
   * the same constant object each time (`const TEXT = { type: 'text' }`)
   * skips rendering and escaping the labels on every increment.
   */
  private readonly byLabelsObject = new WeakMap<LabelValues, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}

  protected seriesFor(labels: LabelValues | undefined): Series {
    if (labels !== undefined) {
      const known = this.byLabelsObject.get(labels);
      if (known !== undefined) return known;
    }
    const key = renderLabels(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: key, value: 0 };
      this.series.set(key, s);
    }
    // Only frozen objects are remembered: a caller's mutable object could change its values under the same identity.
    if (labels !== undefined && Object.isFrozen(labels)) this.byLabelsObject.set(labels, s);
    return s;
  }

  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    for (const s of this.series.values()) out += `${this.name}${s.labels} ${formatValue(s.value)}\n`;
    return out;
  }
}

export class Counter extends Metric {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels?: LabelValues, by = 1): void {
    this.seriesFor(labels).value += by;
  }
  get(labels?: LabelValues): number {
    return this.series.get(renderLabels(labels))?.value ?? 0;
  }
}

export class Gauge extends Metric {
  private collector: (() => number) | null = null;
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(value: number, labels?: LabelValues): void {
    this.seriesFor(labels).value = value;
  }
  inc(labels?: LabelValues, by = 1): void {
    this.seriesFor(labels).value += by;
  }
  dec(labels?: LabelValues, by = 1): void {
    this.seriesFor(labels).value -= by;
  }
  get(labels?: LabelValues): number {
    return this.series.get(renderLabels(labels))?.value ?? 0;
  }
  /** Read the value at scrape time instead (memory, event-loop delay). */
  collect(fn: () => number): this {
    this.collector = fn;
    return this;
  }
  override render(): string {
    if (this.collector) this.set(this.collector());
    return super.render();
  }
}

/** A histogram with fixed buckets (upper bounds, in the metric's base unit). */
export class Histogram extends Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    name: string,
    help: string,
    private readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram');
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
  }

  override render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} histogram\n`;
    this.buckets.forEach((le, i) => {
      out += `${this.name}_bucket{le="${formatValue(le)}"} ${this.counts[i]}\n`;
    });
    out += `${this.name}_bucket{le="+Inf"} ${this.count}\n${this.name}_sum ${formatValue(this.sum)}\n${this.name}_count ${this.count}\n`;
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string): Counter {
    return this.register(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.register(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, buckets));
  }

  /** The whole registry in the Prometheus text format, version 0.0.4. */
  render(): string {
    let out = '';
    for (const m of this.metrics.values()) out += m.render();
    return out;
  }

  private register<M extends Metric>(metric: M): M {
    const existing = this.metrics.get(metric.name);
    if (existing) return existing as M;
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function renderLabels(labels: LabelValues | undefined): string {
  if (!labels) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return '{' + keys.map((k) => `${k}="${escapeLabel(String(labels[k]))}"`).join(',') + '}';
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
