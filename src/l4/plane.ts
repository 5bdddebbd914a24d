import type { Logger } from 'pino';
import { TRANSITIONAL, type ProxyStatus } from '../model/gaap.js';
import type { ListenerReport } from '../model/l4-report.js';
import type { RuntimeConfig } from '../runtime/config.js';
import { applyUpdate, newMemberState, type HealthUpdate, type MemberState } from '../runtime/member-state.js';
import { ProxyBudget } from './budget.js';
import type { CounterView } from './counters.js';
import { RateLimitedLog, type L4Listener, type ListenerContext } from './listener.js';
import { OriginPicker } from './pick.js';
import { buildL4Snapshot, type L4Snapshot, type ListenerPlan, type ProxyPlan } from './plan.js';
import { TcpListener } from './tcp.js';
import { UdpListener } from './udp.js';
import { StatsSampler } from './stats.js';
import { messageOf } from '../model/errors.js';
import type { StatRow } from '../model/l4-stats.js';
import type { L4SessionObserver } from '../model/l4-session.js';

export interface L4PlaneOptions {
  /** The access region this node serves. */
  region: string;
  logger: Logger;
  /** Proxies this process serves (with workers: its share); absent: every proxy of the region. */
  serves?: (proxyId: string) => boolean;
  /** How long DeleteListeners and DestroyProxies let open connections go on before the rest are reset. */
  drainMs: number;
  /** Over how long the resets at the end of a drain are spread (default: a tenth of drainMs, 1-10 s). */
  spreadMs?: number;
  /**
   * A proxy's transitional state has been applied here (its sockets are as the state says).
   * Resolves false when the report did not land; it is sent again a second later.
   */
  onApplied?: (proxyId: string, status: ProxyStatus) => Promise<boolean>;
  /** A listener's report changed (null: no longer served here); workers relay it to the primary. */
  onListenerReport?: (listenerId: string, report: ListenerReport | null) => void;
  /** Per-minute statistics deltas of the proxies and listeners served here (stats.ts). */
  onStats?: (rows: StatRow[]) => void;
  /** Hears every TCP connection and UDP session as it ends (the access log). */
  sessions?: L4SessionObserver | null;
}

/** How often a listener whose port could not be bound tries again. */
const REBIND_MS = 5000;
/** A port just given up by a listener of this process can take a moment to be free again. */
const BIND_TRIES = 5;
const BIND_RETRY_MS = 40;
const REPORT_RETRY_MS = 1000;

interface LiveListener {
  listener: L4Listener;
  /** What the socket is bound to: a change means a new socket. */
  bindKey: string;
  report: ListenerReport;
  rebind: NodeJS.Timeout | null;
}

interface LiveProxy {
  plan: ProxyPlan;
  budget: ProxyBudget;
  listeners: Map<string, LiveListener>;
  refusalLog: RateLimitedLog;
  /** Listeners of this proxy still draining (the budget lives until they are done). */
  draining: number;
}

function bindKey(l: ListenerPlan): string {
  return `${l.protocol}/${l.address}/${l.port}`;
}


/**
 * The L4 data plane of one process: follows the config, binds the listeners of the proxies
 * it serves, keeps one budget per proxy, retunes in place, stops accepting where a proxy is
 * closed, drains what is deleted, and reports each proxy's task as applied. Each listener
 * is its own socket: adding, changing or removing one touches no other's connections.
 */
export class L4Plane {
  snapshot: L4Snapshot = { revision: -1, proxies: new Map(), problems: [] };
  private readonly proxies = new Map<string, LiveProxy>();
  private readonly states = new Map<string, MemberState>();
  private readonly subscribers = new Set<(s: L4Snapshot) => void>();
  private readonly reported = new Map<string, ProxyStatus>();
  private readonly drains = new Set<Promise<void>>();
  private work: Promise<void> = Promise.resolve();
  private pending: L4Snapshot | null = null;
  /** The last plan the sockets were brought to. */
  private reconciled: L4Snapshot | null = null;
  private reportRetry: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly log: Logger;
  private readonly spreadMs: number;
  private readonly sampler: StatsSampler;

  constructor(private readonly opts: L4PlaneOptions) {
    this.log = opts.logger;
    this.sampler = new StatsSampler(opts.onStats ?? (() => undefined));
    this.spreadMs = opts.spreadMs ?? Math.min(10_000, Math.max(1000, opts.drainMs / 10));
  }

  /** Builds this revision's plan at once (health follows it) and reconciles sockets in order. */
  apply(config: Pick<RuntimeConfig, 'revision' | 'l4'>): void {
    if (this.closed || config.revision <= this.snapshot.revision) return;
    const next = buildL4Snapshot(config.revision, config.l4, {
      region: this.opts.region, serves: this.opts.serves, previous: this.snapshot, state: (k) => this.state(k),
    });
    this.snapshot = next;
    for (const p of next.problems) {
      this.log.error({ revision: next.revision, kind: p.kind, id: p.id, error: p.error }, `${p.kind} ${p.id} cannot be built; left out of this snapshot, the rest applied`);
    }
    const used = new Set<string>();
    for (const p of next.proxies.values()) for (const l of p.listeners) for (const t of l.targets) used.add(t.stateKey);
    for (const k of this.states.keys()) if (!used.has(k)) this.states.delete(k);
    for (const s of this.subscribers) s(next);
    // Only the newest plan matters to the sockets: a burst of revisions reconciles once more.
    const queued = this.pending !== null;
    this.pending = next;
    if (!queued) {
      this.work = this.work.then(async () => {
        const s = this.pending!;
        this.pending = null;
        await this.reconcile(s);
      }).catch((err: unknown) => this.log.error({ err }, 'L4 plane could not apply a revision'));
    }
  }

  /** A revision that changed no L4 object: the plan stands, only its revision moves (no sockets touched). */
  advance(revision: number): void {
    if (this.closed || revision <= this.snapshot.revision) return;
    this.snapshot = { ...this.snapshot, revision };
  }

  /** Resolves once every revision applied so far is in the sockets (tests, shutdown). */
  settled(): Promise<void> { return this.work; }

  onSnapshot(fn: (s: L4Snapshot) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  setHealth(u: HealthUpdate): void {
    const s = this.states.get(u.key);
    if (s) applyUpdate(s, u);
  }

  /** This process's view of a listener, or null when it does not serve it. */
  listenerReport(id: string): ListenerReport | null {
    for (const p of this.proxies.values()) {
      const l = p.listeners.get(id);
      if (l) return l.report;
    }
    return null;
  }

  /** The live budget of a proxy served here (tests and metrics read its counters). */
  budget(proxyId: string): ProxyBudget | null {
    return this.proxies.get(proxyId)?.budget ?? null;
  }

  /** Every proxy's and listener's counters now: the read interface for metrics collectors. */
  counters(): CounterView[] {
    return this.sampler.views();
  }

  /** Hands on the statistics counted since the last flush at once (tests). */
  flushStats(): void {
    this.sampler.flush();
  }

  /** Stops accepting everywhere, lets connections go on for `graceMs`, then resets the rest. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.reportRetry) clearTimeout(this.reportRetry);
    await this.work;
    for (const [id, p] of this.proxies) {
      for (const [lid, l] of p.listeners) this.drainListener(p, lid, l, graceMs, Math.min(1000, graceMs));
      this.proxies.delete(id);
    }
    await Promise.allSettled([...this.drains]);
    this.sampler.close();
  }

  private state(key: string): MemberState {
    let s = this.states.get(key);
    if (!s) { s = newMemberState(); this.states.set(key, s); }
    return s;
  }

  private async reconcile(s: L4Snapshot): Promise<void> {
    if (this.closed) return;
    // Removals first, so that a port given up here can be taken by a listener created now.
    for (const [id, live] of this.proxies) {
      const plan = s.proxies.get(id);
      const wanted = plan && !plan.destroying ? new Map(plan.listeners.map((l) => [l.id, bindKey(l)])) : new Map<string, string>();
      for (const [lid, l] of live.listeners) {
        if (wanted.get(lid) !== l.bindKey) this.drainListener(live, lid, l, this.opts.drainMs, this.spreadMs);
      }
      if (!plan) { this.proxies.delete(id); this.sampler.untrackProxy(id); }
    }
    const binds: Promise<void>[] = [];
    for (const plan of s.proxies.values()) {
      let live = this.proxies.get(plan.id);
      if (!live) {
        live = { plan, budget: new ProxyBudget(plan.byteRate, plan.connectionCap), listeners: new Map(), refusalLog: new RateLimitedLog(this.log), draining: 0 };
        this.proxies.set(plan.id, live);
        this.sampler.trackProxy(plan.id, live.budget);
      }
      live.plan = plan;
      live.budget.retune(plan.byteRate, plan.connectionCap);
      if (!plan.destroying) {
        for (const lp of plan.listeners) binds.push(this.place(live, lp));
      }
    }
    await Promise.all(binds);
    this.reconciled = s;
    this.reportApplied(s);
  }

  /** Creates, updates or re-accepts one listener as its proxy's state says. */
  private async place(live: LiveProxy, lp: ListenerPlan): Promise<void> {
    const existing = live.listeners.get(lp.id);
    if (existing) {
      existing.listener.update(lp);
      await this.setAccepting(live, lp.id, existing, live.plan.accepting);
      return;
    }
    const ctx: ListenerContext = { budget: live.budget, picker: new OriginPicker(), log: this.log, refusalLog: live.refusalLog, sessions: this.opts.sessions ?? null };
    const listener: L4Listener = lp.protocol === 'tcp' ? new TcpListener(lp, ctx) : new UdpListener(lp, ctx);
    const l: LiveListener = { listener, bindKey: bindKey(lp), report: { bound: false, error: null, healthNote: null }, rebind: null };
    live.listeners.set(lp.id, l);
    this.sampler.track(lp.proxyId, lp.id, listener);
    if (!live.plan.accepting) {
      // A closed proxy's listeners exist but hold no socket until it opens again.
      await this.setAccepting(live, lp.id, l, false);
      return;
    }
    await this.bind(live, lp.id, l, () => listener.start());
  }

  private async setAccepting(live: LiveProxy, id: string, l: LiveListener, on: boolean): Promise<void> {
    if (!on) {
      if (l.rebind) { clearTimeout(l.rebind); l.rebind = null; }
      await l.listener.setAccepting(false);
      this.setReport(id, l, { bound: false, error: null, healthNote: null });
      return;
    }
    if (l.report.bound) return;
    await this.bind(live, id, l, () => l.listener.setAccepting(true));
  }

  private async bind(live: LiveProxy, id: string, l: LiveListener, start: () => Promise<void>): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await start();
        this.setReport(id, l, { bound: true, error: null, healthNote: null });
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' && i < BIND_TRIES) { await new Promise((r) => setTimeout(r, BIND_RETRY_MS)); continue; }
        const error = code === 'EADDRINUSE' ? `port ${l.listener.plan.port} on ${l.listener.plan.address} is taken on this machine` : messageOf(err);
        if (l.report.error !== error) this.log.warn({ proxy: live.plan.id, listener: id, address: l.listener.plan.address, port: l.listener.plan.port, error }, 'L4 listener cannot bind; trying again every 5 s');
        this.setReport(id, l, { bound: false, error, healthNote: null });
        if (!l.rebind) {
          l.rebind = setTimeout(() => {
            l.rebind = null;
            if (this.closed || live.listeners.get(id) !== l || !live.plan.accepting) return;
            void this.bind(live, id, l, () => l.listener.setAccepting(true));
          }, REBIND_MS);
          l.rebind.unref();
        }
        return;
      }
    }
  }

  private drainListener(live: LiveProxy, id: string, l: LiveListener, deadlineMs: number, spreadMs: number): void {
    live.listeners.delete(id);
    if (l.rebind) { clearTimeout(l.rebind); l.rebind = null; }
    this.opts.onListenerReport?.(id, null);
    live.draining++;
    const done = l.listener.drain(deadlineMs, spreadMs)
      .catch((err: unknown) => this.log.error({ err, listener: id }, 'L4 listener drain failed'))
      .finally(() => {
        this.drains.delete(done);
        this.sampler.untrack(live.plan.id, id, l.listener);
        live.draining--;
        if (live.draining === 0 && live.listeners.size === 0 && this.proxies.get(live.plan.id) !== live) live.budget.close();
      });
    this.drains.add(done);
  }

  private setReport(id: string, l: LiveListener, r: ListenerReport): void {
    const old = l.report;
    l.report = r;
    if (old.bound !== r.bound || old.error !== r.error) this.opts.onListenerReport?.(id, r);
  }

  /** Each proxy's transitional state, once per state, to whoever settles it (control markApplied). */
  private reportApplied(s: L4Snapshot): void {
    const onApplied = this.opts.onApplied;
    if (!onApplied || this.closed) return;
    for (const id of this.reported.keys()) if (!s.proxies.has(id)) this.reported.delete(id);
    for (const p of s.proxies.values()) {
      if (!TRANSITIONAL.has(p.status)) { this.reported.delete(p.id); continue; }
      if (this.reported.get(p.id) === p.status) continue;
      this.reported.set(p.id, p.status);
      const status = p.status;
      onApplied(p.id, status).then((ok) => ok, () => false).then((ok) => {
        if (ok || this.closed || this.reported.get(p.id) !== status) return;
        this.reported.delete(p.id);
        if (!this.reportRetry) {
          this.reportRetry = setTimeout(() => { this.reportRetry = null; if (this.reconciled) this.reportApplied(this.reconciled); }, REPORT_RETRY_MS);
          this.reportRetry.unref();
        }
      }, () => undefined);
    }
  }
}
