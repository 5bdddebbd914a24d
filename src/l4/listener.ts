import type { Logger } from 'pino';
import type { ProxyBudget } from './budget.js';
import type { ListenerTotals } from './counters.js';
import type { OriginPicker } from './pick.js';
import type { ListenerPlan } from './plan.js';
import type { L4End, L4SessionObserver, L4SessionRecord } from '../model/l4-session.js';

/** What a listener draws on besides its plan: its proxy's budget, its affinity table, the log. */
export interface ListenerContext {
  budget: ProxyBudget;
  picker: OriginPicker;
  log: Logger;
  /** Refusals at the concurrency cap are logged at most once per this many ms per proxy. */
  refusalLog: RateLimitedLog;
  /** Hears every connection and session as it ends (the access log); absent or null: nothing is recorded. */
  sessions?: L4SessionObserver | null;
}

/** The record of a connection or session that never began (refused at the cap, no origin...). */
export function refusal(plan: ListenerPlan, address: string, port: number, end: L4End): L4SessionRecord {
  const now = Date.now();
  return {
    proxyId: plan.proxyId, listenerId: plan.id, protocol: plan.protocol, clientAddress: address, clientPort: port,
    originHost: null, originPort: null, startMs: now, endMs: now, bytesIn: 0, bytesOut: 0, datagramsIn: 0, datagramsOut: 0, end,
  };
}

/**
 * One TCP or UDP port of one proxy on this process. The plane creates it once per
 * (proxy, listener id, protocol, port), feeds it new plans as the config changes, and tells
 * it when its proxy stops or starts accepting and when it goes away.
 */
export interface L4Listener {
  readonly plan: ListenerPlan;
  /** Binds the socket; rejects (EADDRINUSE, say) without throwing anything else anywhere. */
  start(): Promise<void>;
  /** New origins, scheduler, timeouts, checks: for new connections and sessions only. */
  update(plan: ListenerPlan): void;
  /**
   * false: no new connections or sessions, open ones go on (Close). true again: accept
   * (Open), binding anew where the socket was given up; rejects when the port is taken.
   */
  setAccepting(on: boolean): Promise<void>;
  /**
   * Destroy/DeleteListeners: stop accepting, let open connections and sessions go on for up
   * to `deadlineMs`, then reset what is left, spread over `spreadMs` rather than all at
   * once. Resolves when nothing of the listener is left.
   */
  drain(deadlineMs: number, spreadMs: number): Promise<void>;
  /** Open TCP connections or live UDP sessions. */
  readonly open: number;
  /** What it carried since it was created (counters.ts). */
  totals(): ListenerTotals;
  /** The most connections or sessions open at once since the last call (then: as many as are open now). */
  takePeak(): number;
}

/**
 * At most one line per `everyMs`, with the count of what was not logged in between. On a hot
 * path ask `due()` first, so that a flood builds no fields object for lines never written.
 */
export class RateLimitedLog {
  private last = 0;
  private suppressed = 0;
  constructor(private readonly log: Logger, private readonly everyMs = 1000) {}

  /** Whether a line may be written now; a no counts as suppressed. */
  due(): boolean {
    const now = Date.now();
    if (now - this.last < this.everyMs) { this.suppressed++; return false; }
    this.last = now;
    return true;
  }

  /** Writes the line `due()` allowed, with the count suppressed since the last one. */
  write(fields: Record<string, unknown>, msg: string): void {
    this.log.warn({ ...fields, suppressed: this.suppressed }, msg);
    this.suppressed = 0;
  }

  warn(fields: Record<string, unknown>, msg: string): void {
    if (this.due()) this.write(fields, msg);
  }
}

/**
 * Ends `items` spread evenly over `spreadMs` (a reconnect storm is what an instant reset of
 * thousands of connections would cause), resolving once all have been ended.
 */
export async function endSpread<T>(items: readonly T[], spreadMs: number, end: (t: T) => void): Promise<void> {
  if (items.length === 0) return;
  const batches = Math.max(1, Math.min(items.length, Math.ceil(spreadMs / 10)));
  const per = Math.ceil(items.length / batches);
  const gap = batches > 1 ? spreadMs / batches : 0;
  for (let i = 0; i < items.length; i += per) {
    if (i > 0) await new Promise((r) => setTimeout(r, gap));
    for (const t of items.slice(i, i + per)) end(t);
  }
}
