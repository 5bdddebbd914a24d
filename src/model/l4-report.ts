import { NO_STATS, type StatsReader } from './l4-stats.js';

/**
 * What the APIs read of the L4 data plane on this node: whether a listener's sockets are up,
 * and what health checks say of each bound origin. The data plane and its health checker
 * implement it (app.ts joins them); api/ sees only this interface.
 */

/** A listener as the data plane holds it. */
export interface ListenerReport {
  /** The listener's sockets are bound and accepting. */
  bound: boolean;
  /** Why it is not (the port is taken on this machine, say), or null. */
  error: string | null;
  /** A note on its health checks that is not a verdict (a PING check this node cannot send, say), or null. */
  healthNote: string | null;
}

/** One binding (listener, origin, port) as health checks see it. */
export interface BindingHealthReport {
  /** false when checks say the origin cannot take traffic (every resolved address down, for a domain). */
  healthy: boolean;
  /** Resolved addresses of a domain origin (or the IP itself) that fail their checks. */
  downIps: string[];
}

export interface L4Reporter {
  /** null: no process of this node serves the listener (its proxy is in another region, or not applied yet). */
  listener(listenerId: string): ListenerReport | null;
  /** null: no verdict (checks off, or not probed yet): GAAP reads that as normal. */
  binding(listenerId: string, bindingId: string): BindingHealthReport | null;
  /** This node's per-minute statistics (model/l4-stats.ts). */
  stats: StatsReader;
}

/** Before a data plane is attached (control-plane tests): nothing is served here. */
export const NO_L4: L4Reporter = { listener: () => null, binding: () => null, stats: NO_STATS };
