import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { L4CheckSpec, L4Snapshot, ListenerPlan, OriginTarget } from '../l4/plan.js';
import type { HealthState, HealthVerdict } from '../model/health.js';
import type { BindingHealthReport } from '../model/l4-report.js';
import type { HealthUpdate } from '../runtime/member-state.js';
import { detectPing, probePing, probeTcpConnect, probeUdpPort, type PingSupport, type ProbeResult } from './l4-probe.js';
import { codeOf } from '../model/errors.js';

/** Probes in flight at once, node-wide (one per address: a domain's round takes several). */
const MAX_CONCURRENT_PROBES = 256;
/**
 * Name lookups at once: getaddrinfo runs on libuv's thread pool (4 threads unless
 * UV_THREADPOOL_SIZE says otherwise), and a lookup queued there would spend its deadline
 * waiting; here the deadline starts when the lookup does.
 */
const MAX_CONCURRENT_LOOKUPS = 4;

export const PING_NOTE = 'PING checks need ICMP echo, which this node cannot send; its origins report normal';

/** One resolved address of a target (the IP itself for an IP origin), with its own counters. */
interface Address {
  ip: string;
  state: HealthState;
  reason: string;
  successes: number;
  failures: number;
}

interface Watched {
  key: string;
  listenerId: string;
  bindingId: string;
  host: string;
  /** The port probed (a UDP PORT check may name its own). */
  probePort: number;
  domain: boolean;
  spec: L4CheckSpec;
  /** What probing depends on: when it changes, counters start over. */
  signature: string;
  addresses: Map<string, Address>;
  /** Rounds in a row the name did not resolve. */
  dnsFailures: number;
  state: HealthState;
  reason: string;
  since: number;
  timer: NodeJS.Timeout | null;
  removed: boolean;
  /** A PING check on a node that cannot send ICMP: never probed, reported as no verdict. */
  unprobeable: boolean;
}

export interface L4CheckerOptions {
  /** How domain origins are resolved (default: the system resolver, every address). */
  lookup?: (host: string) => Promise<{ address: string }[]>;
}

export interface L4CheckerStats { targets: number; timers: number; probesInFlight: number; probesQueued: number; probesSent: number }

const bindingKey = (listenerId: string, bindingId: string) => `${listenerId}\u0000${bindingId}`;

/**
 * The node's one L4 health authority (gaap.md 3.6). Follows the L4 snapshots, probes every
 * bound origin of every listener with checks on (TCP connect, UDP PORT, PING), resolves
 * domain origins each round and probes every address, and publishes a verdict only when a
 * binding's state changes. Targets that share an origin across listeners are probed once per
 * binding: their thresholds and intervals may differ, and the rate is the configured one.
 */
export class L4HealthChecker {
  private readonly watched = new Map<string, Watched>();
  /** (listener, binding) -> state key, as of the last sync. */
  private byBinding = new Map<string, string>();
  /** Listener -> its check kind, for listeners with checks on, as of the last sync. */
  private kinds = new Map<string, L4CheckSpec['kind']>();
  private inFlight = 0;
  private sent = 0;
  private readonly waiting: (() => void)[] = [];
  private lookupsInFlight = 0;
  private readonly lookupWaiting: (() => void)[] = [];
  /** One lookup per name at a time, shared by every binding that names it. */
  private readonly pendingLookups = new Map<string, Promise<string[]>>();
  private closed = false;
  private ping: Promise<PingSupport> | null = null;
  private pingKnown: PingSupport | null = null;
  /** Told the key of every binding whose verdict (or down addresses) changed or went away. */
  private changed: (key: string) => void = () => undefined;

  private readonly lookup: NonNullable<L4CheckerOptions['lookup']>;

  constructor(
    private readonly log: Logger,
    private readonly publish: (u: HealthUpdate) => void,
    opts: L4CheckerOptions = {},
  ) {
    this.lookup = opts.lookup ?? ((host) => lookup(host, { all: true }));
  }

  /** Starts watching new bindings, stops watching those that left, restarts those whose check or address changed. */
  sync(s: L4Snapshot): void {
    if (this.closed) return;
    const seen = new Set<string>();
    const byBinding = new Map<string, string>();
    const kinds = new Map<string, L4CheckSpec['kind']>();
    for (const proxy of s.proxies.values()) {
      for (const l of proxy.listeners) {
        if (l.check === null) { this.checksOff(l); continue; }
        kinds.set(l.id, l.check.kind);
        if (l.check.kind === 'udp-ping') this.detectPingOnce();
        for (const t of l.targets) {
          byBinding.set(bindingKey(l.id, t.id), t.stateKey);
          // A group's listener is carried by each of its proxies: one binding, one key, one watch.
          if (seen.has(t.stateKey)) continue;
          seen.add(t.stateKey);
          this.watch(l, l.check, t);
        }
      }
    }
    this.byBinding = byBinding;
    this.kinds = kinds;
    for (const [key, w] of this.watched) if (!seen.has(key)) this.unwatch(w, 'removed from the config or checks turned off');
  }

  /** With HealthCheck 0 every origin is normal: a verdict left from when checks were on is withdrawn. */
  private checksOff(l: ListenerPlan): void {
    for (const t of l.targets) {
      if (t.state.state === 'unknown') continue;
      this.publish({ key: t.stateKey, state: 'unknown', reason: 'health checks are off', since: Date.now() });
      this.changed(t.stateKey);
    }
  }

  private watch(l: ListenerPlan, spec: L4CheckSpec, t: OriginTarget): void {
    const probePort = spec.kind === 'udp-port' && spec.port > 0 ? spec.port : t.port;
    const signature = JSON.stringify([spec, t.host, probePort]);
    const old = this.watched.get(t.stateKey);
    if (old && old.signature === signature) return;
    if (old) this.unwatch(old, 'health check changed');
    const w: Watched = {
      key: t.stateKey, listenerId: l.id, bindingId: t.id, host: t.host, probePort, domain: isIP(t.host) === 0, spec, signature,
      addresses: new Map(), dnsFailures: 0, state: 'unknown', reason: 'no verdict yet', since: Date.now(),
      timer: null, removed: false, unprobeable: false,
    };
    this.watched.set(w.key, w);
    // Counters start over, and so does the verdict: a new check owes nothing to the old one.
    if (t.state.state !== 'unknown') this.publish({ key: w.key, state: w.state, reason: w.reason, since: w.since });
    this.changed(w.key);
    // The first probe at once, give or take: a big config is spread over its first second
    // (at most an interval), so that origins shared by many bindings see no burst of connects.
    this.schedule(w, Math.random() * Math.min(1000, spec.intervalMs));
  }

  private unwatch(w: Watched, why: string): void {
    w.removed = true;
    if (w.timer) clearTimeout(w.timer);
    w.timer = null;
    this.watched.delete(w.key);
    this.changed(w.key);
    this.log.debug({ listener: w.listenerId, binding: w.bindingId, why }, 'l4 health: binding no longer watched');
  }

  private detectPingOnce(): void {
    this.ping ??= detectPing().then((r) => {
      this.pingKnown = r;
      if (!r.ok) this.log.warn({ why: r.why }, 'l4 health: this node cannot send ICMP echo; PING checks do not run and their origins report normal');
      return r;
    });
  }

  private schedule(w: Watched, delayMs: number): void {
    if (this.closed || w.removed || w.unprobeable) return;
    w.timer = setTimeout(() => { w.timer = null; void this.round(w); }, delayMs);
  }

  /** Runs `fn` once one of the node's probe slots is free. */
  private async limited(fn: () => Promise<ProbeResult>): Promise<ProbeResult> {
    if (this.inFlight >= MAX_CONCURRENT_PROBES) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
    this.sent++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private probeOne(w: Watched, ip: string): Promise<ProbeResult> {
    const s = w.spec;
    switch (s.kind) {
      case 'tcp': return probeTcpConnect(ip, w.probePort, s.timeoutMs);
      case 'udp-port': return probeUdpPort({ host: ip, port: w.probePort, timeoutMs: s.timeoutMs, send: s.send, receive: s.receive });
      case 'udp-ping': return probePing(ip, s.timeoutMs);
    }
  }

  private async round(w: Watched): Promise<void> {
    try {
      if (w.spec.kind === 'udp-ping') {
        this.detectPingOnce();
        const ping = await this.ping!;
        if (!ping.ok) { w.unprobeable = true; return; }
      }
      const ips = w.domain ? await this.resolve(w) : [w.host];
      if (ips === null || w.removed) return;
      for (const ip of w.addresses.keys()) if (!ips.includes(ip)) w.addresses.delete(ip);
      for (const ip of ips) {
        if (!w.addresses.has(ip)) w.addresses.set(ip, { ip, state: 'unknown', reason: 'no verdict yet', successes: 0, failures: 0 });
      }
      const results = await Promise.all(ips.map((ip) => this.limited(() => this.probeOne(w, ip))));
      if (w.removed) return;
      const downBefore = this.downIps(w).join();
      ips.forEach((ip, i) => this.count(w, w.addresses.get(ip)!, results[i]!));
      this.judge(w);
      // A domain's failing addresses can change with no change of verdict (one of two down).
      if (this.downIps(w).join() !== downBefore) this.changed(w.key);
    } catch (err) {
      // Probes never throw; this is a bug, and the binding keeps its verdict until the next round.
      this.log.error({ err, listener: w.listenerId, binding: w.bindingId }, 'l4 health: probe round failed');
    } finally {
      // The next round up to one interval after this one ended: 80-100 % of it, so targets
      // do not march in step, and the unhealthy verdict comes within interval x threshold.
      this.schedule(w, w.spec.intervalMs * (0.8 + Math.random() * 0.2));
    }
  }

  /** A domain's addresses now, or null when it did not resolve (counted as a failed round). */
  private async resolve(w: Watched): Promise<string[] | null> {
    try {
      let p = this.pendingLookups.get(w.host);
      if (!p) {
        p = this.lookupOnce(w.host, w.spec.timeoutMs).finally(() => this.pendingLookups.delete(w.host));
        this.pendingLookups.set(w.host, p);
      }
      const ips = await p;
      w.dnsFailures = 0;
      return ips;
    } catch (err) {
      if (w.removed) return null;
      w.dnsFailures++;
      if (w.dnsFailures >= w.spec.unhealthyThreshold) {
        // Abnormal with no down addresses: GAAP's sign of a name that does not resolve.
        w.addresses.clear();
        const reason = `${w.host} does not resolve: ${codeOf(err)} (${w.dnsFailures} in a row)`;
        if (w.state !== 'unhealthy') this.set(w, 'unhealthy', reason);
        else w.reason = reason;
      }
      return null;
    }
  }

  /** Every address of `host`, within `timeoutMs` of the lookup's start; rejects when there is none. */
  private async lookupOnce(host: string, timeoutMs: number): Promise<string[]> {
    if (this.lookupsInFlight >= MAX_CONCURRENT_LOOKUPS) await new Promise<void>((r) => this.lookupWaiting.push(r));
    this.lookupsInFlight++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('resolution timed out'), { code: `no answer within ${timeoutMs} ms` })), timeoutMs);
      });
      const found = await Promise.race([this.lookup(host), deadline]);
      const ips = [...new Set(found.map((a) => a.address))];
      if (ips.length === 0) throw Object.assign(new Error('no addresses'), { code: 'no addresses' });
      return ips;
    } finally {
      clearTimeout(timer);
      this.lookupsInFlight--;
      this.lookupWaiting.shift()?.();
    }
  }

  private count(w: Watched, a: Address, r: ProbeResult): void {
    if (r.ok) {
      a.successes++; a.failures = 0;
      if (a.state !== 'healthy' && a.successes >= w.spec.healthyThreshold) { a.state = 'healthy'; a.reason = `${r.reason} (${a.successes} in a row)`; }
    } else {
      a.failures++; a.successes = 0;
      if (a.state !== 'unhealthy' && a.failures >= w.spec.unhealthyThreshold) { a.state = 'unhealthy'; a.reason = `${r.reason} (${a.failures} in a row)`; }
    }
  }

  /** The binding from its addresses: down when every one is down, up when one is up. */
  private judge(w: Watched): void {
    const all = [...w.addresses.values()];
    const down = all.filter((a) => a.state === 'unhealthy');
    const up = all.filter((a) => a.state === 'healthy');
    if (all.length > 0 && down.length === all.length) {
      const reason = w.domain ? `every address of ${w.host} fails: ${down.map((a) => a.reason).join('; ')}` : down[0]!.reason;
      if (w.state !== 'unhealthy') this.set(w, 'unhealthy', reason);
    } else if (up.length > 0) {
      const reason = w.domain ? `${up.length} of ${all.length} addresses of ${w.host} pass` : up[0]!.reason;
      if (w.state !== 'healthy') this.set(w, 'healthy', reason);
    }
  }

  private set(w: Watched, state: HealthState, reason: string): void {
    const from = w.state;
    w.state = state; w.reason = reason; w.since = Date.now();
    (state === 'unhealthy' ? this.log.warn : this.log.info).call(this.log, {
      listener: w.listenerId, binding: w.bindingId, address: `${w.host}:${w.probePort}`, check: w.spec.kind, from, to: state, reason,
    }, `l4 origin ${state}`);
    this.publish({ key: w.key, state, reason, since: w.since });
    this.changed(w.key);
  }

  private downIps(w: Watched): string[] {
    return [...w.addresses.values()].filter((a) => a.state === 'unhealthy').map((a) => a.ip);
  }

  /** One listener for changed keys (set once, by whoever publishes this node's verdicts). */
  onChange(fn: (key: string) => void): void { this.changed = fn; }

  /** The current verdict of one binding's state key as the health table keeps it; null when not watched or never probed here. */
  verdictOf(key: string): HealthVerdict | null {
    const w = this.watched.get(key);
    if (!w || w.unprobeable) return null;
    return { key, subject: w.listenerId, state: w.state, reason: w.reason, sinceMs: w.since, downIps: this.downIps(w) };
  }

  /** Every current verdict, for a worker that starts late. */
  verdicts(): HealthUpdate[] {
    return [...this.watched.values()].map((w) => ({ key: w.key, state: w.state, reason: w.reason, since: w.since }));
  }

  /** What checks say of one binding; null while there is no verdict (checks off, not served here, not yet probed). */
  binding(listenerId: string, bindingId: string): BindingHealthReport | null {
    const key = this.byBinding.get(bindingKey(listenerId, bindingId));
    const w = key === undefined ? undefined : this.watched.get(key);
    if (!w || w.unprobeable) return null;
    const downIps = this.downIps(w);
    if (w.state === 'unknown' && downIps.length === 0) return null;
    return { healthy: w.state !== 'unhealthy', downIps };
  }

  /** Why a listener's checks do not give verdicts on this node, or null. */
  healthNote(listenerId: string): string | null {
    if (this.kinds.get(listenerId) === 'udp-ping' && this.pingKnown?.ok === false) return `${PING_NOTE} (${this.pingKnown.why})`;
    return null;
  }

  /** The state and reason of one binding's key (the operator API and tests read it). */
  stateOf(key: string): { state: HealthState; reason: string; since: number } | null {
    const w = this.watched.get(key);
    return w ? { state: w.state, reason: w.reason, since: w.since } : null;
  }

  stats(): L4CheckerStats {
    let timers = 0;
    for (const w of this.watched.values()) if (w.timer) timers++;
    return { targets: this.watched.size, timers, probesInFlight: this.inFlight, probesQueued: this.waiting.length, probesSent: this.sent };
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.watched.values()]) this.unwatch(w, 'shutting down');
    // Queued probes run and settle by their deadlines; their results are dropped (removed).
  }
}
