import { createBalancer, type Balancer, type Target } from '../balance/index.js';
import { memberPort } from '../model/defaults.js';
import { effectiveWeight } from '../model/member.js';
import type { Route, Upstream } from '../model/types.js';
import type { RuntimeConfig } from './config.js';
import { memberStateKey, type MemberState } from './member-state.js';
import { Router } from './router.js';
import { messageOf } from '../model/errors.js';

/**
 * One member as the data plane sees it: where to send, through which pool, and its health.
 * `P` is the pool type of the data plane that dispatches (the runtime never uses one).
 */
export interface MemberTarget<P = unknown> extends Target {
  upstreamId: string;
  host: string;
  port: number;
  /** scheme://host:port, the pool key (grpc -> http, grpcs -> https). */
  origin: string;
  pool: P;
  /** Key of this member's health state (runtime/member-state.ts). */
  stateKey: string;
  /**
   * TLS server name: the upstream Host if set, else the member's host name; null for an IP
   * member, when the client's Host is used (as nginx's proxy_ssl_name $host).
   */
  servername: string | null;
  state: MemberState;
}

export interface UpstreamPlan<P = unknown> {
  upstream: Upstream;
  targets: MemberTarget<P>[];
  balancer: Balancer<MemberTarget<P>>;
  /** Identity of the balancing inputs: a plan whose signature is unchanged keeps its balancer. */
  signature: string;
  /**
   * Why this upstream could not be built, or null. A broken upstream stays in the snapshot
   * with no members, so its routes answer 503 `upstream_unavailable` rather than falling
   * through to another route, and the health API can say what is wrong.
   */
  error: string | null;
}

/**
 * A compiled route. Its upstream's plan is looked up, by `route.upstreamId`, in the snapshot
 * the route was found in: an upstream re-planned on its own leaves the router as it is.
 */
export interface RoutePlan { route: Route }

/** An object the builder left out of (or emptied in) a snapshot, and why. */
export interface BuildProblem { kind: 'upstream' | 'route'; id: string; error: string }

export interface Snapshot<P = unknown> {
  revision: number;
  router: Router<RoutePlan>;
  /** Every upstream of the revision, a broken one too (with its error). Never mutated once swapped in. */
  upstreams: ReadonlyMap<string, UpstreamPlan<P>>;
  /** Objects of this revision that could not be built; the rest applied without them. */
  problems: BuildProblem[];
  /** The upstreams (re)planned or removed since the previous snapshot; null: built whole. */
  changed: ReadonlySet<string> | null;
}

/** An upstream's current object by id (reference channels resolve the channels they name). */
export type UpstreamLookup = (id: string) => Upstream | undefined;

/** What a snapshot build needs from the long-lived runtime. */
export interface SnapshotDeps<P> {
  previous: Snapshot<P> | null;
  pool(origin: string, tls: { verify: boolean }): P;
  memberState(key: string): MemberState;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function isIpLiteral(host: string): boolean {
  return IPV4.test(host) || host.includes(':');
}

function originOf(u: Upstream, host: string, port: number): string {
  const tls = u.scheme === 'https' || u.scheme === 'grpcs';
  const h = host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${h}:${port}`;
}

/** A member that can take traffic, as the balancer will see it. */
interface Candidate { id: string; host: string; port: number; weight: number; backup: boolean; stateKey: string }

function ownCandidates(u: Upstream): Candidate[] {
  return u.members
    .filter((m) => m.enabled)
    .map((m) => {
      const port = memberPort(u, m);
      return { id: m.id, host: m.host, port, weight: effectiveWeight(u, m), backup: m.backup, stateKey: memberStateKey(u.id, m.id, m.host, port) };
    })
    .filter((c) => c.weight > 0);
}

/**
 * A reference channel serves the members of the channels its groups point at, each weighted
 * by its own weight times its group's. With checks of its own it keeps its own verdicts;
 * without, it follows the referenced channel's.
 */
function referencedCandidates(u: Upstream, byId: UpstreamLookup): Candidate[] {
  const out: Candidate[] = [];
  for (const g of u.memberGroups) {
    const ref = g.referenceUpstreamId ? byId(g.referenceUpstreamId) : undefined;
    if (!ref) continue;
    for (const c of ownCandidates(ref)) {
      const id = `${g.id}/${c.id}`;
      out.push({
        ...c, id, weight: c.weight * (g.weight ?? 1),
        stateKey: u.healthCheck ? memberStateKey(u.id, id, c.host, c.port) : c.stateKey,
      });
    }
  }
  return out.filter((c) => c.weight > 0);
}

function planUpstream<P>(u: Upstream, byId: UpstreamLookup, deps: SnapshotDeps<P>): UpstreamPlan<P> {
  const tls = { verify: u.tlsVerify };
  const members = u.channelType === 'reference' ? referencedCandidates(u, byId) : ownCandidates(u);
  const signature = JSON.stringify([u.strategy, u.scheme, u.tlsVerify, u.upstreamHost, members.map((c) => [c.id, c.host, c.port, c.weight, c.backup, c.stateKey])]);
  const fixedName = (u.upstreamHost ?? '').replace(/:\d+$/, '') || null;

  const old = deps.previous?.upstreams.get(u.id);
  if (old && old.error === null && old.signature === signature) {
    return { upstream: u, targets: old.targets, balancer: old.balancer, signature, error: null };
  }
  const targets: MemberTarget<P>[] = members.map((c) => {
    const origin = originOf(u, c.host, c.port);
    return {
      id: c.id, weight: c.weight, backup: c.backup, upstreamId: u.id, host: c.host, port: c.port, origin,
      pool: deps.pool(origin, tls),
      stateKey: c.stateKey,
      servername: fixedName ?? (isIpLiteral(c.host) ? null : c.host),
      state: deps.memberState(c.stateKey),
    };
  });
  return { upstream: u, targets, balancer: createBalancer(u.strategy, targets), signature, error: null };
}

/**
 * The upstreams a reference channel takes members from; a change of one of them re-plans it.
 * One level: a referenced channel contributes its own members only.
 */
export function referencedIds(u: Upstream): string[] {
  if (u.channelType !== 'reference' || !Array.isArray(u.memberGroups)) return [];
  return u.memberGroups.flatMap((g) => (g.referenceUpstreamId ? [g.referenceUpstreamId] : []));
}

/**
 * An upstream's plan; one that cannot be built is isolated: an empty plan with its error,
 * told in `problems`.
 */
export function planOrBroken<P>(u: Upstream, byId: UpstreamLookup, deps: SnapshotDeps<P>, problems: BuildProblem[]): UpstreamPlan<P> {
  try {
    return planUpstream(u, byId, deps);
  } catch (err) {
    const error = messageOf(err);
    problems.push({ kind: 'upstream', id: u.id, error });
    return { upstream: u, targets: [], balancer: createBalancer('wrr', []), signature: '', error };
  }
}

/** The route table: a route whose upstream the snapshot does not hold is left out. */
export function buildRouter(routes: Iterable<Route>, upstreams: ReadonlyMap<string, unknown>, problems: BuildProblem[]): Router<RoutePlan> {
  return new Router<RoutePlan>([...routes], (route) => (upstreams.has(route.upstreamId) ? { route } : null),
    (route, err) => problems.push({ kind: 'route', id: String(route.id), error: messageOf(err) }));
}

/**
 * Builds the immutable snapshot for one config revision, of the upstreams this node `serves`
 * (its routes are left out of the router with them). An object that cannot be built
 * (one an older release or another node stored, say) is isolated: it is listed in
 * `problems` and everything else applies, so one tenant's bad object never holds back
 * another's config.
 */
export function buildSnapshot<P>(config: RuntimeConfig, deps: SnapshotDeps<P>, serves: (u: Upstream) => boolean = () => true): Snapshot<P> {
  const upstreams = new Map<string, UpstreamPlan<P>>();
  const problems: BuildProblem[] = [];
  const byId = new Map(config.upstreams.map((u) => [u.id, u]));
  const lookup: UpstreamLookup = (id) => byId.get(id);
  for (const u of config.upstreams) if (serves(u)) upstreams.set(u.id, planOrBroken(u, lookup, deps, problems));
  return { revision: config.revision, router: buildRouter(config.routes, upstreams, problems), upstreams, problems, changed: null };
}
