import type { LatencySummary, StatsReader, UpstreamStats } from '../model/stats.js';
import type { MetricsSource } from './registry.js';
import { ATTEMPT_OUTCOMES, STATUS_CLASSES } from './l7.js';

interface JsonMetric { name: string; values: { value: number; labels: Record<string, string | number>; metricName?: string }[] }

function byName(all: object[], name: string): JsonMetric['values'] {
  return (all as JsonMetric[]).find((m) => m.name === name)?.values ?? [];
}

/** The q-quantile of cumulative buckets, interpolated within a bucket as Prometheus's histogram_quantile does. */
function quantile(q: number, buckets: { le: number; n: number }[], count: number): number | null {
  if (count === 0) return null;
  const rank = q * count;
  let prevLe = 0;
  let prevN = 0;
  for (const b of buckets) {
    if (b.n >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      return prevLe + (b.le - prevLe) * ((rank - prevN) / Math.max(b.n - prevN, 1));
    }
    prevLe = b.le;
    prevN = b.n;
  }
  return prevLe;
}

function summary(all: object[], name: string, upstream: string): LatencySummary {
  let count = 0;
  let sum = 0;
  const buckets: { le: number; n: number }[] = [];
  for (const v of byName(all, name)) {
    if (v.labels.upstream !== upstream) continue;
    if (v.metricName === `${name}_count`) count = v.value;
    else if (v.metricName === `${name}_sum`) sum = v.value;
    else if (v.metricName === `${name}_bucket`) buckets.push({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), n: v.value });
  }
  buckets.sort((a, b) => a.le - b.le);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 1e6) / 1e6);
  return {
    count, mean: round(count === 0 ? null : sum / count),
    p50: round(quantile(0.5, buckets, count)), p90: round(quantile(0.9, buckets, count)), p99: round(quantile(0.99, buckets, count)),
  };
}

/** One upstream's numbers, read from the node's metrics (the workers' merged in). */
export function statsReader(source: MetricsSource): StatsReader {
  return {
    async upstream(id) {
      const all = await source.json();
      const requests: Record<string, number> = Object.fromEntries(STATUS_CLASSES.map((c) => [c, 0]));
      for (const v of byName(all, 'sluice_http_requests_total')) {
        if (v.labels.upstream === id) requests[String(v.labels.class)] = (requests[String(v.labels.class)] ?? 0) + v.value;
      }
      const attempts: UpstreamStats['attempts'] = Object.create(null);
      for (const v of byName(all, 'sluice_upstream_attempts_total')) {
        if (v.labels.upstream !== id) continue;
        const m = (attempts[String(v.labels.member)] ??= Object.fromEntries(ATTEMPT_OUTCOMES.map((o) => [o, 0])));
        m[String(v.labels.outcome)] = v.value;
      }
      const retries = byName(all, 'sluice_upstream_retries_total').find((v) => v.labels.upstream === id)?.value ?? 0;
      return {
        upstreamId: id, requests, attempts: { ...attempts }, retries,
        latency: { request: summary(all, 'sluice_http_request_duration_seconds', id), upstream: summary(all, 'sluice_upstream_response_seconds', id) },
      };
    },
  };
}
