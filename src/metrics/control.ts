import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AdminFace, AdminObserver } from '../model/stats.js';
import type { AppliedInfo } from '../runtime/follow.js';

/** The node's control side: the config it applied and how, the store's failures, the admin API's requests. */
export class ControlMetrics implements AdminObserver {
  private readonly revision: Gauge;
  private readonly apply: Histogram;
  private readonly storeErrors: Counter;
  private readonly admin: Counter;

  constructor(registry: Registry, node: { version: string; name: string; region: string }) {
    this.revision = new Gauge({ name: 'sluice_config_revision', help: 'The config revision this node applied last', registers: [registry], aggregator: 'max' });
    this.apply = new Histogram({
      name: 'sluice_config_apply_seconds', help: 'From reading a change from the store to the snapshot swapped, by kind (full: the whole config; delta: the changes)',
      labelNames: ['kind'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10], registers: [registry],
    });
    this.storeErrors = new Counter({ name: 'sluice_store_errors_total', help: 'Store calls that failed, by who made them (follower: reading the config; admin: an admin request answered store_unavailable)', labelNames: ['source'], registers: [registry] });
    this.admin = new Counter({ name: 'sluice_admin_requests_total', help: 'Admin API requests by face (native, tencent, huawei), action (the dialect\'s action or operation, or the native route) and code (the face\'s error code, or ok)', labelNames: ['face', 'action', 'code'], registers: [registry] });
    const info = new Gauge({ name: 'sluice_node_info', help: 'Always 1: the node\'s version, name and region as labels', labelNames: ['version', 'node', 'region'], registers: [registry], aggregator: 'first' });
    info.labels(node.version, node.name, node.region).set(1);
    for (const source of ['follower', 'admin']) this.storeErrors.labels(source).inc(0);
  }

  applied(a: AppliedInfo): void {
    this.revision.set(a.revision);
    this.apply.labels(a.full ? 'full' : 'delta').observe(a.ms / 1000);
  }

  followerError(): void { this.storeErrors.labels('follower').inc(); }

  storeError(): void { this.storeErrors.labels('admin').inc(); }

  request(face: AdminFace, action: string, code: string): void {
    this.admin.labels(face, action, code).inc();
  }
}
