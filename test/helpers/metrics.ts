import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

type Family = ReturnType<typeof parsePrometheusTextFormat>[number];

/**
 * A scrape parsed by a Prometheus text-format parser: families by name. The parser folds a
 * histogram's buckets into one object whatever their other labels, so histograms are read a
 * second time typed `untyped`: their `_bucket`, `_sum` and `_count` lines then come out as
 * families of their own with every label kept.
 */
export class Scrape {
  readonly families: Map<string, Family>;
  private readonly series: Map<string, Family>;
  constructor(readonly text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
    // A histogram's label sets come one after the other, each opening its `_bucket`, `_sum`, `_count` anew.
    this.series = new Map();
    for (const f of parsePrometheusTextFormat(text.replace(/^(# TYPE \S+) histogram$/gm, '$1 untyped'))) {
      const seen = this.series.get(f.name);
      if (seen) seen.metrics.push(...f.metrics); else this.series.set(f.name, f);
    }
  }

  family(name: string) {
    const f = this.families.get(name);
    assert.ok(f, `the scrape has ${name}`);
    return f;
  }

  /** The samples of `name` (a histogram's: name_bucket, name_sum, name_count) whose labels include `labels`. */
  samples(name: string, labels: Record<string, string> = {}) {
    const f = this.series.get(name);
    assert.ok(f, `the scrape has ${name}`);
    return f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => (m.labels ?? {})[k] === v));
  }

  /** The sum of the values of `name`'s samples matching `labels` (0 when none). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples(name, labels).reduce((n, m) => n + Number(m.value), 0);
  }

  /** The histogram `name`'s series with these labels: count, sum and cumulative buckets by `le`. */
  histogram(name: string, labels: Record<string, string>) {
    assert.equal(this.family(name).type, 'HISTOGRAM');
    const one = (suffix: string) => {
      const [x, ...more] = this.samples(`${name}_${suffix}`, labels);
      assert.ok(x && more.length === 0, `one ${name}_${suffix} for ${JSON.stringify(labels)}`);
      return Number(x.value);
    };
    const buckets = this.samples(`${name}_bucket`, labels).map((m) => ({ le: m.labels!.le === '+Inf' ? Infinity : Number(m.labels!.le), n: Number(m.value) })).sort((a, b) => a.le - b.le);
    return { count: one('count'), sum: one('sum'), buckets };
  }

  /** Every label value in the scrape. */
  labelValues(): string[] {
    return [...this.series.values()].flatMap((f) => f.metrics.flatMap((m) => Object.values(m.labels ?? {})));
  }
}

export async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  assert.equal(res.status, 200, `GET ${url}`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return new Scrape(await res.text());
}
