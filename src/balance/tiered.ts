import type { Balancer, PickContext, Target } from './balancer.js';

/**
 * Primary and backup tiers: the backup tier is asked only when no primary is eligible,
 * so backups lose traffic on the very next pick after a primary becomes eligible again.
 */
export class TieredBalancer<T extends Target> implements Balancer<T> {
  constructor(private readonly primary: Balancer<T> | null, private readonly backup: Balancer<T> | null) {}

  pick(ctx: PickContext<T>): T | null {
    return this.primary?.pick(ctx) ?? this.backup?.pick(ctx) ?? null;
  }

  onStart(t: T): void { (t.backup ? this.backup : this.primary)?.onStart(t); }

  onEnd(t: T): void { (t.backup ? this.backup : this.primary)?.onEnd(t); }
}
