import type { Registry } from 'prom-client';
import type { ExchangeObserver, ExchangeRecord } from '../model/exchange.js';
import type { Outcome } from '../model/health.js';
import type { Router } from '../runtime/router.js';
import type { MemberTarget, RoutePlan, Snapshot, UpstreamPlan } from '../runtime/snapshot.js';
import { Histo, LiveMetric } from './live.js';

/** Attempt outcomes as labelled: the passive-health outcomes, and `http_error` for a 5xx answer. */
export const ATTEMPT_OUTCOMES = ['ok', 'http_error', 'connect', 'tls', 'reset', 'timeout'] as const;
const OUTCOME_INDEX: Record<Outcome, number> = { ok: 0, connect: 2, tls: 3, reset: 4, timeout: 5 };

/** Status classes by status / 100; `none`: the client got no status (it left, or the answer broke off before its head). */
export const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

class MemberSeries {
  readonly outcomes = new Float64Array(ATTEMPT_OUTCOMES.length);
  constructor(readonly upstream: string, readonly member: string) {}
}

class RouteSeries {
  readonly classes = new Float64Array(STATUS_CLASSES.length);
  bytesIn = 0;
  bytesOut = 0;
  constructor(readonly route: string, readonly upstream: string) {}
}

class UpstreamSeries {
  readonly requestSeconds = new Histo();
  readonly upstreamSeconds = new Histo();
  retries = 0;
  /** The plan's targets these members were built for (the same array: nothing to redo). */
  targets: readonly MemberTarget[] = [];
  members = new Map<string, MemberSeries>();
  constructor(readonly id: string) {}
}

/**
 * The L7 data plane's metrics in one process: series per route, upstream and member, built
 * when the snapshot plans them (`sync`) and dropped with them, so that the label sets are the
 * config's ids and nothing a client sent. The hot path finds its series by the target object
 * or an id it already holds, and bumps numbers.
 */
export class L7Metrics implements ExchangeObserver {
  private readonly upstreams = new Map<string, UpstreamSeries>();
  private readonly byTarget = new Map<MemberTarget, MemberSeries>();
  private readonly routes = new Map<string, RouteSeries>();
  /** Requests no route matched (and bad requests refused before routing). */
  private readonly unrouted = new RouteSeries('', '');
  private readonly gatewayErrors = new Map<string, number>();
  private router: Router<RoutePlan> | null = null;
  private inFlight = 0;

  constructor(registry: Registry) {
    new LiveMetric('sluice_http_requests_total', 'Client requests by route, upstream and status class of the answer (route and upstream empty: no route matched)', 'counter', (out) => {
      for (const r of this.allRoutes()) for (let i = 0; i < STATUS_CLASSES.length; i++) {
        if (r.classes[i]! > 0) out.push({ labels: { route: r.route, upstream: r.upstream, class: STATUS_CLASSES[i]! }, value: r.classes[i]! });
      }
    }).register(registry);
    new LiveMetric('sluice_http_request_body_bytes_total', 'Request body bytes sent to members (or read, for an answer the gateway made), by route and upstream', 'counter', (out) => {
      for (const r of this.allRoutes()) out.push({ labels: { route: r.route, upstream: r.upstream }, value: r.bytesIn });
    }).register(registry);
    new LiveMetric('sluice_http_response_body_bytes_total', 'Response body bytes sent to clients, by route and upstream', 'counter', (out) => {
      for (const r of this.allRoutes()) out.push({ labels: { route: r.route, upstream: r.upstream }, value: r.bytesOut });
    }).register(registry);
    new LiveMetric('sluice_upstream_attempts_total', 'Attempts on members by upstream, member and outcome (http_error: a 5xx answer)', 'counter', (out) => {
      for (const u of this.upstreams.values()) for (const m of u.members.values()) for (let i = 0; i < ATTEMPT_OUTCOMES.length; i++) {
        out.push({ labels: { upstream: m.upstream, member: m.member, outcome: ATTEMPT_OUTCOMES[i]! }, value: m.outcomes[i]! });
      }
    }).register(registry);
    new LiveMetric('sluice_upstream_retries_total', 'Attempts after the first of a request, by upstream', 'counter', (out) => {
      for (const u of this.upstreams.values()) out.push({ labels: { upstream: u.id }, value: u.retries });
    }).register(registry);
    new LiveMetric('sluice_http_request_duration_seconds', 'From the request reaching the gateway to its exchange ending, by upstream', 'histogram', (out) => {
      for (const u of this.upstreams.values()) u.requestSeconds.samples('sluice_http_request_duration_seconds', { upstream: u.id }, out);
    }).register(registry);
    new LiveMetric('sluice_upstream_response_seconds', 'From the answering attempt\'s start to its answer\'s head, by upstream', 'histogram', (out) => {
      for (const u of this.upstreams.values()) u.upstreamSeconds.samples('sluice_upstream_response_seconds', { upstream: u.id }, out);
    }).register(registry);
    new LiveMetric('sluice_http_requests_in_flight', 'Client requests being served (WebSockets until their tunnel closes)', 'gauge', (out) => {
      out.push({ labels: {}, value: this.inFlight });
    }).register(registry);
    new LiveMetric('sluice_http_gateway_errors_total', 'Answers the gateway made itself, by its error code (x-sluice-error)', 'counter', (out) => {
      for (const [code, n] of this.gatewayErrors) out.push({ labels: { code }, value: n });
    }).register(registry);
  }

  private *allRoutes(): Iterable<RouteSeries> {
    yield this.unrouted;
    yield* this.routes.values();
  }

  /** Follows a swapped snapshot: the series of the upstreams it (re)planned or removed, and of its routes when its router is new. */
  sync(s: Snapshot): void {
    if (s.changed === null) {
      for (const id of [...this.upstreams.keys()]) if (!s.upstreams.has(id)) this.drop(id);
      for (const plan of s.upstreams.values()) this.plan(plan);
    } else {
      for (const id of s.changed) {
        const plan = s.upstreams.get(id);
        if (plan) this.plan(plan); else this.drop(id);
      }
    }
    if (s.router !== this.router) this.syncRoutes(s.router);
  }

  private plan(p: UpstreamPlan): void {
    let u = this.upstreams.get(p.upstream.id);
    if (!u) { u = new UpstreamSeries(p.upstream.id); this.upstreams.set(u.id, u); }
    if (u.targets === p.targets) return;
    for (const t of u.targets) this.byTarget.delete(t);
    // A member that stays keeps its counts; one that left is dropped with its series.
    const members = new Map<string, MemberSeries>();
    for (const t of p.targets) {
      const m = u.members.get(t.id) ?? new MemberSeries(u.id, t.id);
      members.set(t.id, m);
      this.byTarget.set(t, m);
    }
    u.members = members;
    u.targets = p.targets;
  }

  private drop(id: string): void {
    const u = this.upstreams.get(id);
    if (!u) return;
    for (const t of u.targets) this.byTarget.delete(t);
    this.upstreams.delete(id);
  }

  private syncRoutes(router: Router<RoutePlan>): void {
    this.router = router;
    const next = new Map<string, RouteSeries>();
    for (const { route } of router.values) {
      const old = this.routes.get(route.id);
      next.set(route.id, old && old.upstream === route.upstreamId ? old : new RouteSeries(route.id, route.upstreamId));
    }
    this.routes.clear();
    for (const [id, r] of next) this.routes.set(id, r);
  }

  /** Every attempt on a member (the proxy's onAttempt hook). */
  attempt(t: MemberTarget, outcome: Outcome, status: number): void {
    const m = this.byTarget.get(t);
    // An attempt that began on targets re-planned since: its member's series moved on.
    if (m === undefined) return;
    m.outcomes[outcome === 'ok' && status >= 500 ? 1 : OUTCOME_INDEX[outcome]]!++;
  }

  started(): void { this.inFlight++; }

  ended(r: ExchangeRecord): void {
    this.inFlight--;
    const route = r.routeId === null ? this.unrouted : this.routes.get(r.routeId);
    if (route !== undefined) {
      route.classes[r.status === 0 ? 0 : Math.min(5, Math.trunc(r.status / 100))]!++;
      route.bytesIn += r.bytesIn;
      route.bytesOut += r.bytesOut;
    }
    if (r.errorCode !== null) this.gatewayErrors.set(r.errorCode, (this.gatewayErrors.get(r.errorCode) ?? 0) + 1);
    const u = r.upstreamId === null ? undefined : this.upstreams.get(r.upstreamId);
    if (u === undefined) return;
    u.requestSeconds.observe((r.endMs - r.startMs) / 1000);
    if (r.upstreamMs !== null) u.upstreamSeconds.observe(r.upstreamMs / 1000);
    if (r.attempts > 1) u.retries += r.attempts - 1;
  }
}
