import type { Metric, Registry } from 'prom-client';

/** One value of a metric at scrape time, as prom-client's registry and aggregator read it. */
export interface Sample { labels: Record<string, string | number>; value: number; metricName?: string }

export type LiveType = 'counter' | 'gauge' | 'histogram';

/**
 * A metric whose values live in plain numbers the data plane bumps, read only when scraped.
 *
 * prom-client's own label children hash their label values into a key and check them on every
 * inc() and observe() (measured here: about 1 µs per counter inc and 1.5-2.5 µs per histogram
 * observe, several per request), so the per-request metrics are kept as numbers in series
 * objects built once per planned upstream, and handed to prom-client's registry through this
 * (its text format, JSON and cluster aggregation are prom-client's, unchanged).
 */
export class LiveMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: LiveType,
    private readonly collect: (out: Sample[]) => void,
    /** How the primary merges the workers' values (prom-client's aggregator names). */
    readonly aggregator: 'sum' | 'first' | 'max' = 'sum',
  ) {}

  async get(): Promise<{ name: string; help: string; type: LiveType; values: Sample[]; aggregator: string }> {
    const values: Sample[] = [];
    this.collect(values);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  register(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric<string>);
    return this;
  }
}

/** Upper bounds (seconds) of the latency histograms: 1 ms to 30 s. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A histogram's counts per bucket (not cumulative until scraped), sum and count. */
export class Histo {
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[] = LATENCY_BUCKETS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }

  /** The Prometheus samples: cumulative `_bucket`s with `le`, `_sum`, `_count`. */
  samples(name: string, labels: Record<string, string>, out: Sample[]): void {
    let cum = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cum += this.counts[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: this.bounds[i]! }, value: cum });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: this.count });
    out.push({ metricName: `${name}_sum`, labels, value: this.sum });
    out.push({ metricName: `${name}_count`, labels, value: this.count });
  }
}
