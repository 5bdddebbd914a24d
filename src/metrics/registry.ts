import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';
import type { CounterView } from '../l4/counters.js';
import { L4Metrics } from './l4.js';
import { L7Metrics } from './l7.js';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** One process's registry: Node's process metrics (prefixed sluice_) and, where it proxies, the L7 and L4 series. */
export class ProcessMetrics {
  readonly registry = new Registry();
  readonly l7: L7Metrics | null;

  constructor(proxies: boolean) {
    collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
    this.l7 = proxies ? new L7Metrics(this.registry) : null;
  }

  /** The L4 series of the plane this process runs (read at scrape time from its counters). */
  l4(plane: { counters(): CounterView[] }): void {
    new L4Metrics(this.registry, () => plane.counters());
  }
}

/** What a scrape reads: this process's registry and, with --workers, each worker's. */
export interface MetricsSource {
  /** The node's metrics as prom-client JSON, the workers' merged in (counters and histograms summed, info gauges first). */
  json(): Promise<object[]>;
  /** The same in the Prometheus text format. */
  text(): Promise<string>;
}

/** Workers answer a scrape within this; one that does not is left out of it (and logged). */
export const WORKER_SCRAPE_MS = 2000;

export function metricsSource(own: Registry, workers: (() => Promise<object[][]>) | null): MetricsSource {
  const merged = async (): Promise<Registry> => {
    if (workers === null) return own;
    const all = [await own.getMetricsAsJSON(), ...await workers()];
    return AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]);
  };
  return {
    async json() { return (await merged()).getMetricsAsJSON(); },
    async text() { return (await merged()).metrics(); },
  };
}
