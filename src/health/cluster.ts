import { l4BindingOfKey } from '../l4/plan.js';
import { outageLog } from '../model/outage-log.js';
import {
  aggregateDownIps, aggregateVerdicts, type HealthReporter, type HealthRow, type Judged, type MemberHealthReport, type NodeVerdict,
} from '../model/health.js';
import type { BindingHealthReport, L4Reporter } from '../model/l4-report.js';
import type { Upstream } from '../model/types.js';
import { NO_STATS } from '../model/l4-stats.js';
import { memberStateKey } from '../runtime/member-state.js';
import type { NodeCache } from '../store/nodes.js';
import type { StoreLog } from '../store/postgres.js';
import type { Store } from '../store/store.js';

/** How often the other nodes' verdicts are read while there are other nodes. */
export const CLUSTER_REFRESH_MS = 1000;

/** Another live node's verdict, with the name the operator API shows. */
interface Remote extends Judged { nodeId: string; downIps: string[] }

export interface ClusterHealthOptions {
  store: Store;
  nodes: NodeCache;
  /** This node's L7 reports (the checker), exactly what a single node answers. */
  local: HealthReporter;
  /** This node's L4 reports (null: it serves no region). */
  localL4: L4Reporter | null;
  /** This node's registry id and name (its own verdicts are live, never read back from the table). */
  self: () => { id: string; name: string } | null;
  log: StoreLog;
  refreshMs?: number;
}

export interface ClusterHealth extends HealthReporter, L4Reporter {
  /** Starts refreshing the other nodes' verdicts (cluster stores only). */
  start(): void;
  stop(): void;
}

const bindingKey = (listenerId: string, bindingId: string) => `${listenerId}\u0000${bindingId}`;

/**
 * What the APIs read of health on a node of a cluster: this node's verdicts live (so a single
 * node answers exactly as it always did) merged with the other live nodes' rows of the health
 * table, read every `refreshMs` and only while there are other live nodes. The merge is
 * model/health.ts aggregateVerdicts; `off` and "not served" come from the config, the same on
 * every node, and are this node's own answer. GAAP bindings are probed only by the nodes of
 * their proxy's access region, so their rows are already that region's verdicts.
 */
export function clusterHealth(opts: ClusterHealthOptions): ClusterHealth {
  const refreshMs = opts.refreshMs ?? CLUSTER_REFRESH_MS;
  let members = new Map<string, Remote[]>();
  let bindings = new Map<string, Remote[]>();
  let timer: NodeJS.Timeout | null = null;
  const outage = outageLog(opts.log, {
    failed: 'could not read other nodes\' health verdicts; answering from the last ones read',
    back: 'other nodes\' health verdicts are read again',
  });
  let stopped = false;

  const index = (rows: HealthRow[], names: ReadonlyMap<string, string>): void => {
    const m = new Map<string, Remote[]>();
    const b = new Map<string, Remote[]>();
    for (const r of rows) {
      const nodeName = names.get(r.nodeId);
      if (nodeName === undefined || r.state === 'unknown') continue;
      const v: Remote = { nodeId: r.nodeId, nodeName, state: r.state, reason: r.reason, sinceMs: r.sinceMs, downIps: r.downIps };
      const l4 = l4BindingOfKey(r.key);
      const into = l4 ? b : m;
      const k = l4 ? bindingKey(l4.listenerId, l4.bindingId) : r.key;
      const list = into.get(k);
      if (list) list.push(v); else into.set(k, [v]);
    }
    members = m;
    bindings = b;
  };

  const refresh = async (): Promise<void> => {
    try {
      const me = opts.self()?.id;
      const others = new Map((await opts.nodes.nodes()).filter((n) => n.status === 'up' && n.id !== me).map((n) => [n.id, n.name]));
      // Alone: nothing to read; the verdicts of nodes that went down stop counting at once.
      if (others.size === 0) index([], others);
      else index(await opts.store.healthRows(), others);
      outage.ok();
    } catch (err) {
      // The last rows read stay: a store outage is no reason to forget what the others said.
      outage.failed(err);
    }
  };

  const loop = (): void => {
    if (stopped) return;
    timer = setTimeout(() => { void refresh().finally(loop); }, refreshMs);
    timer.unref();
  };

  // The rows were indexed at the last refresh; a node seen down since (by the registry read
  // the GAAP status also comes from) stops counting at once, so that the two views agree.
  const live = (vs: readonly Remote[] | undefined): Remote[] => {
    if (vs === undefined) return [];
    const up = opts.nodes.upNow();
    return up === null ? [...vs] : vs.filter((v) => up.has(v.nodeId));
  };

  const own = (state: Judged['state'], reason: string, sinceMs: number): Remote | null => {
    const me = opts.self();
    return me && (state === 'healthy' || state === 'unhealthy') ? { nodeId: me.id, nodeName: me.name, state, reason, sinceMs, downIps: [] } : null;
  };

  const listed = (vs: readonly Remote[]): NodeVerdict[] =>
    [...vs].sort((a, b) => a.nodeName.localeCompare(b.nodeName) || a.nodeId.localeCompare(b.nodeId)).map((v) => ({ nodeId: v.nodeId, nodeName: v.nodeName, state: v.state, reason: v.reason, since: new Date(v.sinceMs).toISOString() }));

  const member = (u: Upstream, r: MemberHealthReport): MemberHealthReport => {
    // since null and a state: the config decided (off, not served), the same on every node.
    if (r.since === null && r.state !== 'unknown') return { ...r, nodes: [] };
    const mine = r.since === null ? null : own(r.state, r.reason, Date.parse(r.since));
    const vs = [...(mine ? [mine] : []), ...live(members.get(memberStateKey(u.id, r.memberId, r.host, r.port)))];
    const agg = aggregateVerdicts(vs);
    if (!agg) return { ...r, nodes: [] };
    return { ...r, state: agg.state, reason: agg.reason, since: new Date(agg.sinceMs).toISOString(), nodes: listed(vs) };
  };

  return {
    problem: (u) => opts.local.problem(u),
    report: (u) => opts.local.report(u).map((r) => member(u, r)),
    listener: (id) => opts.localL4?.listener(id) ?? null,
    // The statistics sum over nodes in control/gaap/statistics.ts, from the store's rows.
    stats: opts.localL4?.stats ?? NO_STATS,
    binding(listenerId, bindingId): BindingHealthReport | null {
      const mine = opts.localL4?.binding(listenerId, bindingId) ?? null;
      const vs = live(bindings.get(bindingKey(listenerId, bindingId)));
      if (vs.length === 0) return mine;
      // Only the healthy flag and the addresses of this node's verdict matter here.
      if (mine) vs.push({ nodeId: '', nodeName: '', state: mine.healthy ? 'healthy' : 'unhealthy', reason: '', sinceMs: 0, downIps: mine.downIps });
      const agg = aggregateVerdicts(vs)!;
      return { healthy: agg.state !== 'unhealthy', downIps: aggregateDownIps(agg.state, vs.map((v) => v.downIps)) };
    },
    start() {
      if (timer || stopped) return;
      void refresh().finally(loop);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
