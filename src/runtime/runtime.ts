import type { Logger } from 'pino';
import { servesL7, type L7Scope } from '../model/node.js';
import type { Instance, Upstream } from '../model/types.js';
import { EMPTY_CONFIG, type RuntimeConfig } from './config.js';
import type { ConfigIndex, IndexPatch } from './config-index.js';
import { applyUpdate, newMemberState, type HealthUpdate, type MemberState } from './member-state.js';
import { LayeredMap } from './layered-map.js';
import type { PoolSource } from './pools.js';
import { buildRouter, buildSnapshot, planOrBroken, referencedIds, type BuildProblem, type Snapshot, type SnapshotDeps, type UpstreamPlan } from './snapshot.js';

export interface RuntimeOptions<P> {
  logger: Logger;
  /** The data plane's connection pools (the runtime hands them out and retires them). */
  pools: PoolSource<P>;
  /** The regions whose L7 routes this node serves (default null: every region). */
  l7Scope?: L7Scope;
}

/** Counts by key; the count of a key that reaches 0 is dropped. */
class Counts<K> {
  private readonly n = new Map<K, number>();
  has(k: K): boolean { return this.n.has(k); }
  add(k: K): void { this.n.set(k, (this.n.get(k) ?? 0) + 1); }
  /** Returns true when that was the last one. */
  remove(k: K): boolean {
    const left = (this.n.get(k) ?? 0) - 1;
    if (left > 0) { this.n.set(k, left); return false; }
    this.n.delete(k);
    return true;
  }
  clear(): void { this.n.clear(); }
}

/**
 * The data plane's view of the config: the current snapshot, swapped whole on every
 * revision. A request reads `runtime.snapshot` once and keeps that object, so it finishes
 * on the snapshot it started with whatever is applied meanwhile.
 *
 * A full config (start, a pruned feed) builds everything; a delta re-plans only the
 * upstreams it changed and the reference channels that take members from them, and rebuilds
 * the router only when a route changed or an upstream routes point at came or went. Pools and
 * member states are kept by reference counts, so retiring them costs what changed too.
 */
export class Runtime<P = unknown> {
  snapshot: Snapshot<P>;
  private readonly pools: PoolSource<P>;
  /** Member health, kept across snapshots while the member's address is unchanged. */
  private readonly states = new Map<string, MemberState>();
  /** How many plans' targets use each pool and each member state. */
  private readonly poolRefs = new Counts<P>();
  private readonly stateRefs = new Counts<string>();
  /** Pools and states handed out (or created by a verdict) since the last swap: dropped then if no plan took them. */
  private looseStates = new Set<string>();
  private loosePools = new Set<P>();
  /** Routes per upstream id, and the reference channels per channel they take members from. */
  private readonly routeRefs = new Counts<string>();
  private readonly referencedBy = new Map<string, Set<string>>();
  /** What of the current snapshot could not be built: kept per upstream, and from the last router build. */
  private readonly upstreamProblems = new Map<string, BuildProblem>();
  private routeProblems: BuildProblem[] = [];
  private readonly log: Logger;
  private readonly listeners = new Set<(s: Snapshot<P>) => void>();
  private readonly deps: SnapshotDeps<P>;
  private readonly l7Scope: L7Scope;

  constructor(opts: RuntimeOptions<P>) {
    this.log = opts.logger;
    this.pools = opts.pools;
    this.l7Scope = opts.l7Scope ?? null;
    this.deps = {
      previous: null,
      pool: (origin, tls) => {
        const p = this.pools.get(origin, tls);
        if (!this.poolRefs.has(p)) this.loosePools.add(p);
        return p;
      },
      memberState: (key) => this.state(key),
    };
    this.snapshot = buildSnapshot(EMPTY_CONFIG, this.deps);
  }

  /** The member state for `key`, created eligible (`unknown`) on first use. */
  state(key: string): MemberState {
    let s = this.states.get(key);
    if (!s) {
      s = newMemberState();
      this.states.set(key, s);
      if (!this.stateRefs.has(key)) this.looseStates.add(key);
    }
    return s;
  }

  /** A health verdict from the node's health checker (in a worker: relayed by the primary). */
  setHealth(u: HealthUpdate): void {
    applyUpdate(this.state(u.key), u);
  }

  /** A full config: every upstream planned (balancers kept by signature), the router built. */
  apply(config: RuntimeConfig): void {
    const prev = this.snapshot;
    if (config.revision <= prev.revision) return;
    const instances = new Map(config.instances.map((i) => [i.id, i]));
    const next = buildSnapshot(config, { ...this.deps, previous: prev }, (u) => this.serves(u, instances));
    for (const [id, plan] of next.upstreams) this.replaced(prev.upstreams.get(id), plan);
    for (const [id, old] of prev.upstreams) if (!next.upstreams.has(id)) this.replaced(old, undefined);
    this.routeRefs.clear();
    for (const r of config.routes) this.routeRefs.add(r.upstreamId);
    this.referencedBy.clear();
    for (const u of config.upstreams) this.link(u);
    this.upstreamProblems.clear();
    for (const p of next.problems) if (p.kind === 'upstream') this.upstreamProblems.set(p.id, p);
    this.routeProblems = next.problems.filter((p) => p.kind === 'route');
    this.swap(next);
  }

  /**
   * A delta, once `index` holds it (`patch` is what patching changed): re-plans what it
   * touched and keeps every other plan, and the router unless routes need it rebuilt.
   */
  applyDelta(patch: IndexPatch, index: ConfigIndex): void {
    const prev = this.snapshot;
    if (patch.revision <= prev.revision) return;
    for (const c of patch.routes) {
      if (c.before) this.routeRefs.remove(c.before.upstreamId);
      if (c.after) this.routeRefs.add(c.after.upstreamId);
    }
    const replan = new Set<string>();
    for (const c of patch.upstreams) {
      if (c.before) this.unlink(c.before);
      if (c.after) this.link(c.after);
      replan.add(c.id);
      for (const ref of this.referencedBy.get(c.id) ?? []) replan.add(ref);
    }
    let routerStale = patch.routes.length > 0;
    let upstreams = prev.upstreams;
    if (replan.size > 0) {
      const changes = new Map<string, UpstreamPlan<P> | undefined>();
      const deps = { ...this.deps, previous: prev };
      const lookup = (id: string): Upstream | undefined => index.upstreams.get(id);
      for (const id of replan) {
        const u = index.upstreams.get(id);
        const old = prev.upstreams.get(id);
        const plan = u && this.serves(u, index.instances) ? planOrBroken(u, lookup, deps, []) : undefined;
        changes.set(id, plan);
        if (plan && plan.error !== null) this.upstreamProblems.set(id, { kind: 'upstream', id, error: plan.error });
        else this.upstreamProblems.delete(id);
        // A route pointing at an upstream that came or went is in or out of the router.
        if ((old === undefined) !== (plan === undefined) && this.routeRefs.has(id)) routerStale = true;
        this.replaced(old, plan);
      }
      // Not a copy of every plan: the unchanged ones are shared with the previous snapshot.
      upstreams = LayeredMap.of(prev.upstreams).with(changes);
    }
    let router = prev.router;
    if (routerStale) {
      this.routeProblems = [];
      router = buildRouter(index.routes.values(), upstreams, this.routeProblems);
    }
    this.swap({ revision: patch.revision, router, upstreams, problems: this.problems(), changed: replan });
  }

  /**
   * Whether this node serves the upstream's routes: its instance's region is in the node's
   * scope. An upstream of an instance this revision does not hold has no region to match.
   */
  private serves(u: Upstream, instances: ReadonlyMap<string, Instance>): boolean {
    if (this.l7Scope === null) return true;
    const i = instances.get(u.instanceId);
    return i !== undefined && servesL7(this.l7Scope, i.region);
  }

  /** Every object of the snapshot that could not be built: few, and usually none. */
  private problems(): BuildProblem[] {
    if (this.upstreamProblems.size === 0 && this.routeProblems.length === 0) return [];
    return [...this.upstreamProblems.values(), ...this.routeProblems];
  }

  /** Routes and plans are unchanged; only the revision moves (a write of another kind). */
  advance(revision: number): void {
    const prev = this.snapshot;
    if (revision <= prev.revision) return;
    this.swap({ ...prev, revision, changed: new Set() });
  }

  private link(u: Upstream): void {
    for (const id of referencedIds(u)) {
      let set = this.referencedBy.get(id);
      if (!set) { set = new Set(); this.referencedBy.set(id, set); }
      set.add(u.id);
    }
  }

  private unlink(u: Upstream): void {
    for (const id of referencedIds(u)) {
      const set = this.referencedBy.get(id);
      set?.delete(u.id);
      if (set?.size === 0) this.referencedBy.delete(id);
    }
  }

  /** Moves the references of an upstream's old targets to its new ones (the same array: nothing to do). */
  private replaced(old: UpstreamPlan<P> | undefined, plan: UpstreamPlan<P> | undefined): void {
    if (old?.targets === plan?.targets) return;
    // New first: a pool both use is never closed in between.
    for (const t of plan?.targets ?? []) { this.poolRefs.add(t.pool); this.stateRefs.add(t.stateKey); }
    for (const t of old?.targets ?? []) {
      if (this.poolRefs.remove(t.pool)) this.pools.release(t.pool);
      if (this.stateRefs.remove(t.stateKey)) this.states.delete(t.stateKey);
    }
  }

  private swap(next: Snapshot<P>): void {
    this.snapshot = next;
    // A pool or state made for a plan that failed, or a verdict for a member no plan has.
    for (const p of this.loosePools) if (!this.poolRefs.has(p)) this.pools.release(p);
    for (const k of this.looseStates) if (!this.stateRefs.has(k)) this.states.delete(k);
    this.loosePools = new Set();
    this.looseStates = new Set();
    // Once per revision and object: each revision is built once here.
    for (const p of next.problems) {
      this.log.error({ revision: next.revision, kind: p.kind, id: p.id, error: p.error }, `${p.kind} ${p.id} cannot be built; left out of this snapshot, the rest applied`);
    }
    this.log.debug({ revision: next.revision, upstreams: next.upstreams.size, replanned: next.changed?.size ?? 'all' }, 'snapshot applied');
    for (const l of this.listeners) l(next);
  }

  /** Called after every swap (the health checker follows the member set this way). */
  onSnapshot(listener: (s: Snapshot<P>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void { this.pools.destroyAll(); }
}
