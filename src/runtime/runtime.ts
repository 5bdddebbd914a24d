import type { Logger } from 'pino';
import { EMPTY_CONFIG, type RuntimeConfig } from './config.js';
import { applyUpdate, newMemberState, type HealthUpdate, type MemberState } from './member-state.js';
import type { PoolSource } from './pools.js';
import { buildSnapshot, type Snapshot } from './snapshot.js';

export interface RuntimeOptions<P> {
  logger: Logger;
  /** The data plane's connection pools (the runtime hands them out and retires them). */
  pools: PoolSource<P>;
}

/**
 * The data plane's view of the config: the current snapshot, swapped whole on every
 * revision. A request reads `runtime.snapshot` once and keeps that object, so it finishes
 * on the snapshot it started with whatever is applied meanwhile.
 */
export class Runtime<P = unknown> {
  snapshot: Snapshot<P>;
  private readonly pools: PoolSource<P>;
  /** Member health, kept across snapshots while the member's address is unchanged. */
  private readonly states = new Map<string, MemberState>();
  private readonly log: Logger;
  private readonly listeners = new Set<(s: Snapshot<P>) => void>();

  constructor(opts: RuntimeOptions<P>) {
    this.log = opts.logger;
    this.pools = opts.pools;
    this.snapshot = buildSnapshot(EMPTY_CONFIG, this.deps(null));
  }

  private deps(previous: Snapshot<P> | null) {
    return {
      previous,
      pool: (origin: string, tls: { verify: boolean }) => this.pools.get(origin, tls),
      memberState: (key: string) => this.state(key),
    };
  }

  /** The member state for `key`, created eligible (`unknown`) on first use. */
  state(key: string): MemberState {
    let s = this.states.get(key);
    if (!s) { s = newMemberState(); this.states.set(key, s); }
    return s;
  }

  /** A health verdict from the node's health checker (in a worker: relayed by the primary). */
  setHealth(u: HealthUpdate): void {
    applyUpdate(this.state(u.key), u);
  }

  apply(config: RuntimeConfig): void {
    if (config.revision <= this.snapshot.revision) return;
    const next = buildSnapshot(config, this.deps(this.snapshot));
    this.snapshot = next;
    // Once per revision and object: each revision is built once here.
    for (const p of next.problems) {
      this.log.error({ revision: next.revision, kind: p.kind, id: p.id, error: p.error }, `${p.kind} ${p.id} cannot be built; left out of this snapshot, the rest applied`);
    }
    const usedPools = new Set<P>();
    const usedStates = new Set<MemberState>();
    for (const plan of next.upstreams.values()) {
      for (const t of plan.targets) { usedPools.add(t.pool); usedStates.add(t.state); }
    }
    this.pools.retain(usedPools);
    for (const [key, s] of this.states) if (!usedStates.has(s)) this.states.delete(key);
    this.log.debug({ revision: next.revision, upstreams: next.upstreams.size }, 'snapshot applied');
    for (const l of this.listeners) l(next);
  }

  /** Called after every swap (the health checker follows the member set this way). */
  onSnapshot(listener: (s: Snapshot<P>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void { this.pools.destroyAll(); }
}
