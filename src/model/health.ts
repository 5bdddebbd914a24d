import type { Upstream } from './types.js';

/** A member's health as every layer names it (the APIs map it to each cloud's words). */
export type HealthState = 'healthy' | 'unhealthy' | 'unknown' | 'off';

/** What one attempt of real traffic showed (passive checks); a response is `ok` with its status. */
export type Outcome = 'ok' | 'connect' | 'tls' | 'reset' | 'timeout';

export interface MemberHealthReport {
  memberId: string;
  host: string;
  port: number;
  state: HealthState;
  reason: string;
  /** null: not a node's verdict (config says so: checks off, member disabled, not served; or none yet). */
  since: string | null;
  /** The verdicts of the live nodes behind `state` (the cluster view fills it; the operator API lists it). */
  nodes?: NodeVerdict[];
}

/**
 * What the APIs read of member health. The health checker implements it; until an upstream
 * has checks configured every member reads `off` (Tencent `OFF`, Huawei `unknown`).
 */
export interface HealthReporter {
  report(u: Upstream): MemberHealthReport[];
  /**
   * What keeps the upstream as a whole from being served or checked on this node (a stored
   * object the data plane cannot build), or null.
   */
  problem(u: Upstream): string | null;
}

/**
 * One node's verdict on one member or binding as the health table keeps it (the store's
 * row, outside the revisioned feed). `key` is the data plane's state key; `subject` the
 * object it belongs to (an upstream's id, a GAAP listener's id) so one object's rows are
 * read together; `sinceMs` is when the node's verdict last changed, by the node's clock.
 */
export interface HealthVerdict {
  key: string;
  subject: string;
  state: HealthState;
  reason: string;
  sinceMs: number;
  /** L4 bindings of a domain origin: resolved addresses that fail their checks; [] otherwise. */
  downIps: string[];
}

export interface HealthRow extends HealthVerdict { nodeId: string }

/** One node's verdict as the operator API lists it beside the aggregate. */
export interface NodeVerdict {
  nodeId: string;
  nodeName: string;
  state: HealthState;
  reason: string;
  since: string;
}

/** What the aggregate rule needs of one node's verdict. */
export interface Judged { nodeName: string; state: HealthState; reason: string; sinceMs: number }

/**
 * The cluster's verdict on a member (or an L4 binding) from the verdicts of the live nodes
 * that have one (`unknown` is no verdict, and is not passed here): healthy when any node says
 * healthy, unhealthy only when every one says so; null when none has a verdict.
 *
 * Why: a node routes around a member only by its own checks, so a member one node cannot
 * reach still serves the traffic of the others; calling it down while any node can use it
 * would misreport a member that takes traffic. Every node failing it is the signal that the
 * member itself (not one node's path to it) is down.
 *
 * `since`: a healthy aggregate dates from the earliest healthy verdict (it has been usable
 * since then), an unhealthy one from the latest (the last node to give up on it). One
 * verdict is returned as it is, so a single node's answers read exactly as before.
 */
export function aggregateVerdicts(vs: readonly Judged[]): { state: HealthState; reason: string; sinceMs: number } | null {
  if (vs.length === 0) return null;
  if (vs.length === 1) return { state: vs[0]!.state, reason: vs[0]!.reason, sinceMs: vs[0]!.sinceMs };
  const healthy = vs.filter((v) => v.state === 'healthy');
  if (healthy.length === 0) {
    const last = vs.reduce((a, b) => (b.sinceMs > a.sinceMs ? b : a));
    return { state: 'unhealthy', reason: `unhealthy on all ${vs.length} nodes; last on ${last.nodeName}: ${last.reason}`, sinceMs: last.sinceMs };
  }
  const first = healthy.reduce((a, b) => (b.sinceMs < a.sinceMs ? b : a));
  const down = vs.filter((v) => v.state !== 'healthy');
  const reason = down.length === 0
    ? `healthy on all ${vs.length} nodes: ${first.reason}`
    : `healthy on ${healthy.length} of ${vs.length} nodes; unhealthy on ${down.map((d) => `${d.nodeName} (${d.reason})`).join(', ')}`;
  return { state: 'healthy', reason, sinceMs: first.sinceMs };
}

/**
 * GAAP's DownIPList over several nodes' verdicts on one domain binding, by the same rule: an
 * address is listed as down while the binding is usable only when every node fails it (some
 * node reaches the others); once every node fails the binding, every address any node saw fail
 * is listed (none would read as "the name does not resolve", which one node's view may not say).
 */
export function aggregateDownIps(state: HealthState, lists: readonly (readonly string[])[]): string[] {
  if (lists.length === 0) return [];
  if (state === 'unhealthy') return [...new Set(lists.flat())];
  return lists[0]!.filter((ip) => lists.every((l) => l.includes(ip)));
}
