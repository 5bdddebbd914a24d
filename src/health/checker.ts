import type { Logger } from 'pino';
import type { HealthReporter, HealthState, HealthVerdict, MemberHealthReport, Outcome } from '../model/health.js';
import { memberPort } from '../model/defaults.js';
import { parseStatusSet } from '../model/status-set.js';
import type { HealthCheck, Upstream } from '../model/types.js';
import { memberStateKey, type HealthUpdate } from '../runtime/member-state.js';
import type { Snapshot, UpstreamPlan } from '../runtime/snapshot.js';
import { probe, probeAgent, type ClientCert, type ProbeSpec } from './probe.js';
import { messageOf } from '../model/errors.js';


/** Probes in flight at once, node-wide; the rest wait their turn. */
const MAX_CONCURRENT_PROBES = 256;

interface Watched {
  key: string;
  upstreamId: string;
  memberId: string;
  host: string;
  port: number;
  check: HealthCheck;
  /** Identity of what probing depends on: when it changes, counters start over. */
  signature: string;
  spec: ProbeSpec | null;
  unhealthyStatuses: Uint8Array;
  state: HealthState;
  reason: string;
  since: number;
  successes: number;
  failures: number;
  passiveTcp: number;
  passiveHttp: number;
  passiveTimeouts: number;
  timer: NodeJS.Timeout | null;
  /** Passive recovery after the unhealthy timeout. */
  recovery: NodeJS.Timeout | null;
  probing: boolean;
  removed: boolean;
}

/** Hears what the checker does (metrics): members watched and let go, verdicts, probes. */
export interface HealthObserver {
  watched(key: string, upstreamId: string, memberId: string, state: HealthState, since: number): void;
  verdict(key: string, state: HealthState, since: number): void;
  unwatched(key: string): void;
  probed(key: string, ok: boolean): void;
}

export interface CheckerStats { members: number; timers: number; probesInFlight: number; probesQueued: number }

/**
 * The node's one health authority. Follows the snapshots to know which members to watch,
 * probes them (active), counts what real traffic tells (passive), and publishes every
 * change of verdict once through `publish` — to this process's data plane and, through
 * the primary, to every worker, so that all of them see the same verdict.
 */
export class HealthChecker implements HealthReporter {
  private readonly watched = new Map<string, Watched>();
  private inFlight = 0;
  private readonly queue: Watched[] = [];
  private closed = false;

  /** The watched keys of each upstream: a re-planned upstream's old members are found here. */
  private readonly byUpstream = new Map<string, Set<string>>();

  /** Upstreams the data plane could not build (not served), kept up to date from every snapshot. */
  private readonly unbuilt = new Map<string, string>();
  /** Upstreams whose checks could not be set up (served, not checked), from the last sync. */
  private readonly uncheckable = new Map<string, string>();

  /** Upstreams already told that they ask for client TLS the gateway cannot give. */
  private readonly warnedNoCert = new Set<string>();

  /** Told the key of every verdict that changed or went away (the node's publisher to the store). */
  private changed: (key: string) => void = () => undefined;

  constructor(
    private readonly log: Logger,
    private readonly publish: (u: HealthUpdate) => void,
    /** The gateway's client certificate, presented on HTTPS probes of checks that ask for it. */
    private readonly clientCert: ClientCert | null = null,
    /** The User-Agent of HTTP(S) probes (probeAgent). */
    private readonly userAgent = probeAgent(null),
    private readonly observer: HealthObserver | null = null,
  ) {}

  /**
   * Starts watching new members, stops watching removed ones, keeps the rest as they are: of
   * the upstreams the snapshot re-planned, or of every upstream when it was built whole.
   */
  sync(snapshot: Snapshot): void {
    if (snapshot.changed !== null) {
      for (const id of snapshot.changed) this.syncUpstream(id, snapshot.upstreams.get(id));
      return;
    }
    for (const id of [...this.byUpstream.keys()]) if (!snapshot.upstreams.has(id)) this.syncUpstream(id, undefined);
    this.unbuilt.clear();
    this.uncheckable.clear();
    for (const [id, plan] of snapshot.upstreams) this.syncUpstream(id, plan);
  }

  /** One upstream's members as its plan has them (undefined: the upstream is gone). */
  private syncUpstream(id: string, plan: UpstreamPlan | undefined): void {
    this.unbuilt.delete(id);
    this.uncheckable.delete(id);
    const seen = new Set<string>();
    if (plan && plan.error !== null) this.unbuilt.set(id, plan.error);
    const check = plan?.error === null ? plan.upstream.healthCheck : undefined;
    if (plan && check && (check.active || check.passive)) {
      const u = plan.upstream;
      // A stored check this node cannot run (an older release wrote it, say) stops only
      // this upstream's probing, and is reported; the other upstreams are still watched.
      try {
        const signature = JSON.stringify([check, u.upstreamHost, u.tlsVerify]);
        for (const t of plan.targets) {
          seen.add(t.stateKey);
          this.watch(u, check, signature, t.stateKey, t.id, t.host, t.port, t.servername);
        }
      } catch (err) {
        const error = messageOf(err);
        this.uncheckable.set(u.id, error);
        this.log.error({ upstream: u.id, error }, 'health check cannot be set up; its members are not probed');
      }
    }
    for (const key of this.byUpstream.get(id) ?? []) {
      const w = this.watched.get(key);
      if (w && !seen.has(key)) this.unwatch(w, 'removed from the config');
    }
    if (seen.size > 0) this.byUpstream.set(id, seen); else this.byUpstream.delete(id);
  }

  private watch(u: Upstream, check: HealthCheck, signature: string, key: string, memberId: string, host: string, port: number, servername: string | null): void {
    const old = this.watched.get(key);
    if (old && old.signature === signature) return;
    if (old) this.unwatch(old, 'health check changed');
    const probePort = check.port || port;
    const wantsCert = check.clientTls && check.protocol === 'https';
    if (wantsCert && !this.clientCert && !this.warnedNoCert.has(u.id)) {
      this.warnedNoCert.add(u.id);
      this.log.warn({ upstream: u.id }, 'health check asks for client TLS but the gateway has no client certificate (--upstream-client-cert); probing without one');
    }
    const w: Watched = {
      key, upstreamId: u.id, memberId, host, port, check, signature,
      spec: check.active ? {
        protocol: check.protocol, host, port: probePort, timeoutMs: check.timeout * 1000, method: check.method, path: check.path,
        headers: check.requestHeaders, hostHeader: u.upstreamHost ?? (probePort === 80 || probePort === 443 ? host : `${host}:${probePort}`),
        servername, tlsVerify: u.tlsVerify, healthy: parseStatusSet(check.healthyStatuses, 'healthyStatuses'),
        clientCert: wantsCert ? this.clientCert : null, userAgent: this.userAgent,
      } : null,
      unhealthyStatuses: parseStatusSet(check.unhealthyStatuses, 'unhealthyStatuses'),
      state: 'unknown', reason: 'no verdict yet', since: Date.now(),
      successes: 0, failures: 0, passiveTcp: 0, passiveHttp: 0, passiveTimeouts: 0,
      timer: null, recovery: null, probing: false, removed: false,
    };
    this.watched.set(key, w);
    this.observer?.watched(key, u.id, memberId, w.state, w.since);
    this.publish({ key, state: w.state, reason: w.reason, since: w.since });
    this.changed(key);
    // The first probe at once (a little jitter spreads a big config over the first 100 ms).
    if (w.spec) this.schedule(w, Math.random() * 100);
  }

  private unwatch(w: Watched, why: string): void {
    w.removed = true;
    if (w.timer) clearTimeout(w.timer);
    if (w.recovery) clearTimeout(w.recovery);
    w.timer = w.recovery = null;
    this.watched.delete(w.key);
    this.observer?.unwatched(w.key);
    this.changed(w.key);
    this.log.debug({ upstream: w.upstreamId, member: w.memberId, why }, 'health: member no longer watched');
  }

  private schedule(w: Watched, delayMs: number): void {
    if (this.closed || w.removed) return;
    w.timer = setTimeout(() => { w.timer = null; this.enqueue(w); }, delayMs);
  }

  private enqueue(w: Watched): void {
    if (this.inFlight >= MAX_CONCURRENT_PROBES) { this.queue.push(w); return; }
    void this.run(w);
  }

  private async run(w: Watched): Promise<void> {
    this.inFlight++;
    w.probing = true;
    try {
      const r = await probe(w.spec!);
      if (!w.removed) {
        this.observer?.probed(w.key, r.ok);
        this.activeResult(w, r.ok, r.reason);
      }
    } finally {
      w.probing = false;
      this.inFlight--;
      let next = this.queue.shift();
      while (next?.removed) next = this.queue.shift();
      if (next) void this.run(next);
      // Next probe up to one interval after this one ended: 80-100 % of it, so members do
      // not march in step, and never later than the interval (the unhealthy verdict then
      // comes within interval × threshold).
      this.schedule(w, w.check.interval * 1000 * (0.8 + Math.random() * 0.2));
    }
  }

  private activeResult(w: Watched, ok: boolean, reason: string): void {
    const c = w.check;
    if (ok) {
      w.successes++; w.failures = 0;
      if (w.state !== 'healthy' && w.successes >= c.healthyThreshold) {
        this.set(w, 'healthy', `${reason} (${w.successes} in a row)`);
      }
    } else {
      w.failures++; w.successes = 0;
      if (w.state !== 'unhealthy' && w.failures >= c.unhealthyThreshold) {
        this.set(w, 'unhealthy', `${reason} (${w.failures} in a row)`);
      }
    }
  }

  /** An attempt's outcome from real traffic (passive checks). */
  outcome(key: string, outcome: Outcome, status: number): void {
    const w = this.watched.get(key);
    if (!w || !w.check.passive) return;
    const c = w.check;
    let verdict: string | null = null;
    if (outcome === 'connect' || outcome === 'tls' || outcome === 'reset') {
      w.passiveTcp++;
      if (c.tcpFailureThreshold > 0 && w.passiveTcp >= c.tcpFailureThreshold) verdict = `passive: ${w.passiveTcp} connection failures in a row`;
    } else if (outcome === 'timeout') {
      w.passiveTimeouts++;
      if (c.timeoutThreshold > 0 && w.passiveTimeouts >= c.timeoutThreshold) verdict = `passive: ${w.passiveTimeouts} timeouts in a row`;
    } else if (w.unhealthyStatuses[status]) {
      w.passiveHttp++;
      if (c.httpFailureThreshold > 0 && w.passiveHttp >= c.httpFailureThreshold) verdict = `passive: ${w.passiveHttp} unhealthy statuses in a row (last ${status})`;
    } else {
      w.passiveTcp = w.passiveHttp = w.passiveTimeouts = 0;
    }
    if (verdict && w.state !== 'unhealthy') {
      this.set(w, 'unhealthy', verdict);
      // Never down for good: another chance after the unhealthy timeout, or sooner if the
      // active probes see it healthy.
      w.recovery = setTimeout(() => {
        w.recovery = null;
        if (!w.removed && w.state === 'unhealthy') this.set(w, 'healthy', `given another chance after ${c.unhealthyTimeout} s`);
      }, c.unhealthyTimeout * 1000);
    }
  }

  private set(w: Watched, state: HealthState, reason: string): void {
    const from = w.state;
    w.state = state; w.reason = reason; w.since = Date.now();
    w.passiveTcp = w.passiveHttp = w.passiveTimeouts = 0;
    if (state === 'healthy' && w.recovery) { clearTimeout(w.recovery); w.recovery = null; }
    (state === 'unhealthy' ? this.log.warn : this.log.info).call(this.log, { upstream: w.upstreamId, member: w.memberId, address: `${w.host}:${w.port}`, from, to: state, reason }, `member ${state}`);
    this.observer?.verdict(w.key, state, w.since);
    this.publish({ key: w.key, state, reason, since: w.since });
    this.changed(w.key);
  }

  /** One listener for changed keys (set once, by whoever publishes this node's verdicts). */
  onChange(fn: (key: string) => void): void { this.changed = fn; }

  /** The current verdict of one state key as the health table keeps it, or null when it is not watched. */
  verdictOf(key: string): HealthVerdict | null {
    const w = this.watched.get(key);
    return w ? { key, subject: w.upstreamId, state: w.state, reason: w.reason, sinceMs: w.since, downIps: [] } : null;
  }

  /** Every current verdict, for a worker that starts late. */
  verdicts(): HealthUpdate[] {
    return [...this.watched.values()].map((w) => ({ key: w.key, state: w.state, reason: w.reason, since: w.since }));
  }

  problem(u: Upstream): string | null {
    const unbuilt = this.unbuilt.get(u.id);
    if (unbuilt !== undefined) return `not served: the data plane cannot build this upstream (${unbuilt})`;
    const uncheckable = this.uncheckable.get(u.id);
    return uncheckable === undefined ? null : `health checks cannot run (${uncheckable})`;
  }

  report(u: Upstream): MemberHealthReport[] {
    const unbuilt = this.unbuilt.get(u.id);
    return u.members.map((m) => {
      const port = memberPort(u, m);
      const base = { memberId: m.id, host: m.host, port };
      if (!m.enabled) return { ...base, state: 'off', reason: 'member disabled', since: null };
      if (unbuilt !== undefined) return { ...base, state: 'unhealthy', reason: `not served: the upstream cannot be built (${unbuilt})`, since: null };
      const check = u.healthCheck;
      if (!check || (!check.active && !check.passive)) return { ...base, state: 'off', reason: 'health checks are off', since: null };
      const w = this.watched.get(memberStateKey(u.id, m.id, m.host, port));
      const uncheckable = this.uncheckable.get(u.id);
      if (!w && uncheckable !== undefined) return { ...base, state: 'unknown', reason: `health checks cannot run (${uncheckable})`, since: null };
      if (!w) return { ...base, state: 'unknown', reason: 'no verdict yet', since: null };
      return { ...base, state: w.state, reason: w.reason, since: new Date(w.since).toISOString() };
    });
  }

  /** State keys of every watched member (upstreamId/memberId/host:port). */
  watchedKeys(): string[] { return [...this.watched.keys()]; }

  stats(): CheckerStats {
    let timers = 0;
    for (const w of this.watched.values()) timers += (w.timer ? 1 : 0) + (w.recovery ? 1 : 0);
    return { members: this.watched.size, timers, probesInFlight: this.inFlight, probesQueued: this.queue.length };
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.watched.values()]) this.unwatch(w, 'shutting down');
    this.byUpstream.clear();
    this.queue.length = 0;
  }
}
