import { Counter, Gauge, type Registry } from 'prom-client';
import type { HealthState } from '../model/health.js';
import type { HealthObserver } from '../health/checker.js';

const STATES = ['healthy', 'unhealthy', 'unknown'] as const;

interface Watched { upstream: string; member: string; probes: Counter.Internal; failures: Counter.Internal }

/**
 * Member health from the node's checker (the primary: it runs there once per node, so these
 * are never summed over workers). A member's series are made when it is watched and removed
 * when it is let go.
 */
export class HealthMetrics implements HealthObserver {
  private readonly state: Gauge;
  private readonly changed: Gauge;
  private readonly probes: Counter;
  private readonly failures: Counter;
  private readonly members = new Map<string, Watched>();
  /**
   * Which key owns each (upstream, member) pair's series: a member whose address changed is
   * watched under its new key before its old key is let go, and that must not remove them.
   */
  private readonly owners = new Map<string, string>();

  constructor(registry: Registry) {
    const labelNames = ['upstream', 'member'] as const;
    this.state = new Gauge({ name: 'sluice_member_health', help: 'A checked member\'s health: 1 for its current state (healthy, unhealthy, unknown), 0 for the others', labelNames: [...labelNames, 'state'], registers: [registry] });
    this.changed = new Gauge({ name: 'sluice_member_health_changed_timestamp_seconds', help: 'When the member\'s health verdict last changed (Unix time)', labelNames, registers: [registry], aggregator: 'first' });
    this.probes = new Counter({ name: 'sluice_health_probes_total', help: 'Active health probes sent, by upstream and member', labelNames, registers: [registry] });
    this.failures = new Counter({ name: 'sluice_health_probe_failures_total', help: 'Active health probes that failed, by upstream and member', labelNames, registers: [registry] });
  }

  watched(key: string, upstream: string, member: string, state: HealthState, since: number): void {
    this.unwatched(key);
    this.owners.set(`${upstream}\n${member}`, key);
    this.members.set(key, { upstream, member, probes: this.probes.labels(upstream, member), failures: this.failures.labels(upstream, member) });
    // Both start at 0, so that rate() sees the first probe.
    this.probes.labels(upstream, member).inc(0);
    this.failures.labels(upstream, member).inc(0);
    this.verdict(key, state, since);
  }

  verdict(key: string, state: HealthState, since: number): void {
    const w = this.members.get(key);
    if (!w) return;
    for (const s of STATES) this.state.labels(w.upstream, w.member, s).set(s === state ? 1 : 0);
    this.changed.labels(w.upstream, w.member).set(since / 1000);
  }

  unwatched(key: string): void {
    const w = this.members.get(key);
    if (!w) return;
    this.members.delete(key);
    const pair = `${w.upstream}\n${w.member}`;
    if (this.owners.get(pair) !== key) return;
    this.owners.delete(pair);
    for (const s of STATES) this.state.remove(w.upstream, w.member, s);
    this.changed.remove(w.upstream, w.member);
    this.probes.remove(w.upstream, w.member);
    this.failures.remove(w.upstream, w.member);
  }

  probed(key: string, ok: boolean): void {
    const w = this.members.get(key);
    if (!w) return;
    w.probes.inc();
    if (!ok) w.failures.inc();
  }
}
