import type { Registry } from 'prom-client';
import type { CounterView } from '../l4/counters.js';
import { LiveMetric, type Sample } from './live.js';

/**
 * The L4 plane's counters as Prometheus series, read from `counters()` when scraped: the
 * relays only bump the plain numbers they already keep, nothing here runs per chunk or
 * datagram.
 *
 * Counters and the open gauge are per listener (labels proxy, listener, protocol: config ids
 * and a fixed word), so that sum by (proxy) gives the proxy's and nothing is counted twice.
 * The budget and the cap are per proxy. With workers each proxy lives in one worker, so the
 * workers' series are disjoint: summing them is exact; the budget and cap take the max, so
 * that they read as configured (never a multiple) even were a proxy ever held in two.
 */
export class L4Metrics {
  /** One read of the counters per scrape, so that every family shows the same moment. */
  private read: CounterView[] | null = null;

  constructor(registry: Registry, private readonly source: () => CounterView[]) {
    const listenerSeries = (name: string, help: string, type: 'counter' | 'gauge', value: (v: CounterView, out: Sample[], labels: Record<string, string>) => void) =>
      new LiveMetric(name, help, type, (out) => {
        for (const v of this.views()) if (v.listenerId !== null) value(v, out, { proxy: v.proxyId, listener: v.listenerId, protocol: v.protocol ?? '' });
      }).register(registry);
    const proxySeries = (name: string, help: string, value: (v: CounterView) => number) =>
      new LiveMetric(name, help, 'gauge', (out) => {
        for (const v of this.views()) if (v.listenerId === null) out.push({ labels: { proxy: v.proxyId }, value: value(v) });
      }, 'max').register(registry);

    listenerSeries('sluice_l4_connections_opened_total', 'TCP connections accepted and UDP sessions opened, by proxy, listener and protocol', 'counter', (v, out, labels) => {
      out.push({ labels, value: v.totals.opened });
    });
    listenerSeries('sluice_l4_connections_open', 'TCP connections open and UDP sessions live now, by proxy, listener and protocol (what the proxy\'s connection cap counts)', 'gauge', (v, out, labels) => {
      out.push({ labels, value: v.open });
    });
    listenerSeries('sluice_l4_connections_refused_total', 'Refused at the proxy\'s connection cap: TCP connections, and UDP datagrams that would have opened a session', 'counter', (v, out, labels) => {
      out.push({ labels, value: v.totals.refused });
    });
    listenerSeries('sluice_l4_bytes_total', 'Payload bytes relayed, by direction (in: client to origin; out: origin to client)', 'counter', (v, out, labels) => {
      out.push({ labels: { ...labels, direction: 'in' }, value: v.totals.bytesIn });
      out.push({ labels: { ...labels, direction: 'out' }, value: v.totals.bytesOut });
    });
    // A TCP relay sees a byte stream, not the packets that carried it: only UDP listeners have these.
    listenerSeries('sluice_l4_packets_total', 'UDP datagrams relayed, by direction (in: client to origin; out: origin to client); TCP packets are not measured', 'counter', (v, out, labels) => {
      if (!v.totals.packets) return;
      out.push({ labels: { ...labels, direction: 'in' }, value: v.totals.packetsIn });
      out.push({ labels: { ...labels, direction: 'out' }, value: v.totals.packetsOut });
    });
    // TCP is shaped (paused), never dropped.
    listenerSeries('sluice_l4_datagrams_dropped_total', 'UDP datagrams the proxy\'s bandwidth budget dropped, both directions', 'counter', (v, out, labels) => {
      if (v.protocol === 'udp') out.push({ labels, value: v.totals.dropped });
    });
    proxySeries('sluice_l4_proxy_bandwidth_bytes', 'The proxy\'s bandwidth budget in bytes per second, each direction (rate of sluice_l4_bytes_total over this: the budget used)', (v) => v.byteRate);
    proxySeries('sluice_l4_proxy_connection_cap', 'The most TCP connections plus UDP sessions the proxy holds open at once', (v) => v.connectionCap);
  }

  private views(): CounterView[] {
    if (this.read === null) {
      this.read = this.source();
      // prom-client asks every family in one synchronous loop: the next scrape reads anew.
      queueMicrotask(() => { this.read = null; });
    }
    return this.read;
  }
}
