import type { ProxyBudget } from './budget.js';
import { zeroTotals, type CounterView, type ListenerTotals } from './counters.js';
import type { L4Listener } from './listener.js';
import { emptyFigures, listenerSubject, MINUTE_MS, minuteOf, proxySubject, type MinuteFigures, type StatRow } from '../model/l4-stats.js';

/**
 * How often the sampler folds the counters into minutes and hands them on (the primary's
 * book, the worker channel). The default is the minute itself, on the minute; a shorter one
 * (a divisor of the minute) hands on partial minutes that the book adds up. Test knob:
 * SLUICE_STATS_FLUSH_MS.
 */
export function statsFlushMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.SLUICE_STATS_FLUSH_MS);
  return Number.isInteger(v) && v >= 10 && v <= MINUTE_MS ? v : MINUTE_MS;
}

interface TrackedListener {
  proxyId: string;
  listenerId: string;
  listener: L4Listener;
  /** Totals as of the last sample. */
  last: ListenerTotals;
  /** Drained: sampled once more, then forgotten. */
  gone: boolean;
}

interface TrackedProxy {
  budget: ProxyBudget;
  /** What the samples handed on so far, summed over its listeners (deleted ones included). */
  sampled: ListenerTotals;
  gone: boolean;
}

function delta(now: ListenerTotals, last: ListenerTotals): ListenerTotals {
  return {
    bytesIn: now.bytesIn - last.bytesIn, bytesOut: now.bytesOut - last.bytesOut,
    packetsIn: now.packetsIn - last.packetsIn, packetsOut: now.packetsOut - last.packetsOut, packets: now.packets,
    opened: now.opened - last.opened, refused: now.refused - last.refused, dropped: now.dropped - last.dropped,
  };
}

function addTotals(into: ListenerTotals, d: ListenerTotals): void {
  into.bytesIn += d.bytesIn; into.bytesOut += d.bytesOut; into.packetsIn += d.packetsIn; into.packetsOut += d.packetsOut;
  into.opened += d.opened; into.refused += d.refused; into.dropped += d.dropped;
  if (d.packets) into.packets = true;
}

function figuresOf(d: ListenerTotals, concurrent: number): MinuteFigures {
  return {
    ...emptyFigures(), bytesIn: d.bytesIn, bytesOut: d.bytesOut, packetsIn: d.packetsIn, packetsOut: d.packetsOut,
    concurrent, opened: d.opened, refused: d.refused, dropped: d.dropped,
  };
}

const quiet = (f: MinuteFigures): boolean =>
  f.bytesIn === 0 && f.bytesOut === 0 && f.packetsIn === 0 && f.packetsOut === 0 && f.concurrent === 0 && f.opened === 0 && f.refused === 0 && f.dropped === 0;

/**
 * Turns the plane's cumulative counters into per-minute deltas: every flush period (aligned
 * to the clock, so a default period is exactly one minute) it reads each listener's totals
 * and peak and each proxy's peak, and hands on the deltas of the minute that period lies in.
 * Nothing here runs per chunk or per datagram.
 */
export class StatsSampler {
  private readonly listeners = new Map<string, TrackedListener>();
  private readonly proxies = new Map<string, TrackedProxy>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly sink: (rows: StatRow[]) => void, private readonly flushMs = statsFlushMs(), private readonly now: () => number = Date.now) {}

  trackProxy(proxyId: string, budget: ProxyBudget): void {
    const p = this.proxies.get(proxyId);
    if (p) { p.budget = budget; p.gone = false; }
    else this.proxies.set(proxyId, { budget, sampled: zeroTotals(false), gone: false });
    this.arm();
  }

  /** The proxy left this process: sampled once more, then forgotten. */
  untrackProxy(proxyId: string): void {
    const p = this.proxies.get(proxyId);
    if (p) p.gone = true;
  }

  track(proxyId: string, listenerId: string, listener: L4Listener): void {
    // A group's listener is carried by each of its proxies: one entry per proxy.
    this.listeners.set(`${proxyId}/${listenerId}`, { proxyId, listenerId, listener, last: listener.totals(), gone: false });
    this.arm();
  }

  /** The listener is drained (nothing of it is left): what it carried since the last sample is still handed on. */
  untrack(proxyId: string, listenerId: string, listener: L4Listener): void {
    const t = this.listeners.get(`${proxyId}/${listenerId}`);
    if (t && t.listener === listener) t.gone = true;
  }

  /** Every proxy's and listener's counters now (metrics collectors walk these). */
  views(): CounterView[] {
    const out: CounterView[] = [];
    const unsampled = new Map<string, ListenerTotals>();
    for (const t of this.listeners.values()) {
      const totals = t.listener.totals();
      if (!t.gone) out.push({ proxyId: t.proxyId, listenerId: t.listenerId, protocol: t.listener.plan.protocol, totals, open: t.listener.open, byteRate: 0, connectionCap: 0 });
      let u = unsampled.get(t.proxyId);
      if (!u) unsampled.set(t.proxyId, (u = zeroTotals(false)));
      addTotals(u, delta(totals, t.last));
    }
    for (const [id, p] of this.proxies) {
      if (p.gone) continue;
      const totals = { ...p.sampled };
      const u = unsampled.get(id);
      if (u) addTotals(totals, u);
      out.push({ proxyId: id, listenerId: null, protocol: null, totals, open: p.budget.connections, byteRate: p.budget.byteRate, connectionCap: p.budget.connectionCap });
    }
    return out;
  }

  /** Hands on what was counted since the last flush (tests; shutdown). */
  flush(): void {
    this.sample(this.now());
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer || this.closed) return;
    const now = this.now();
    const at = Math.floor(now / this.flushMs) * this.flushMs + this.flushMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sample(at);
      if (this.proxies.size > 0 || this.listeners.size > 0) this.arm();
    }, at - now);
    this.timer.unref();
  }

  /** `at`: the end of the period sampled (the timer's due time, so a late timer keeps its minute). */
  private sample(at: number): void {
    if (this.closed) return;
    const minuteMs = minuteOf(at - 1);
    const rows: StatRow[] = [];
    const perProxy = new Map<string, ListenerTotals>();
    for (const [key, t] of this.listeners) {
      const now = t.listener.totals();
      const d = delta(now, t.last);
      t.last = now;
      const f = figuresOf(d, t.listener.takePeak());
      if (!quiet(f)) rows.push({ subject: listenerSubject(t.listenerId), minuteMs, figures: f });
      let p = perProxy.get(t.proxyId);
      if (!p) perProxy.set(t.proxyId, (p = zeroTotals(false)));
      addTotals(p, d);
      if (t.gone) this.listeners.delete(key);
    }
    for (const [id, p] of this.proxies) {
      const d = perProxy.get(id) ?? zeroTotals(false);
      addTotals(p.sampled, d);
      const f = figuresOf(d, p.budget.takePeak());
      if (!quiet(f)) rows.push({ subject: proxySubject(id), minuteMs, figures: f });
      if (p.gone && ![...this.listeners.values()].some((l) => l.proxyId === id)) this.proxies.delete(id);
    }
    if (rows.length > 0) this.sink(rows);
  }
}
