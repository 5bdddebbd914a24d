import type { ListenerPlan, OriginTarget } from './plan.js';

interface Affinity { targetId: string; until: number }

/** Entries an affinity table holds before expired ones are swept on insert. */
const SWEEP_AT = 4096;

/**
 * Origin choice for one listener: source-IP affinity first (SessionPersist), then the
 * listener's scheduler over the healthy bindings (failover masters before slaves: the
 * balancer's tiers). With no healthy binding left it fails open over all of them, as
 * Tencent's load balancers document. `tried` holds origins a connect already failed on.
 */
export class OriginPicker {
  private readonly affinity = new Map<string, Affinity>();

  pick(plan: ListenerPlan, clientIp: string, tried: ReadonlySet<OriginTarget> | null, now: number): OriginTarget | null {
    if (plan.sessionPersistMs > 0) {
      const a = this.affinity.get(clientIp);
      if (a && a.until > now) {
        const t = plan.targets.find((x) => x.id === a.targetId);
        if (t && t.state.healthy && !tried?.has(t)) {
          a.until = now + plan.sessionPersistMs;
          return t;
        }
      }
    }
    const healthy = tried ? (t: OriginTarget) => t.state.healthy && !tried.has(t) : (t: OriginTarget) => t.state.healthy;
    let t = plan.balancer.pick({ clientIp, path: '', eligible: healthy });
    if (!t) t = plan.balancer.pick({ clientIp, path: '', eligible: tried ? (x) => !tried.has(x) : undefined });
    if (t && plan.sessionPersistMs > 0) this.remember(clientIp, t.id, now + plan.sessionPersistMs, now);
    return t;
  }

  private remember(clientIp: string, targetId: string, until: number, now: number): void {
    if (this.affinity.size >= SWEEP_AT && !this.affinity.has(clientIp)) {
      for (const [k, a] of this.affinity) if (a.until <= now) this.affinity.delete(k);
    }
    this.affinity.set(clientIp, { targetId, until });
  }
}
