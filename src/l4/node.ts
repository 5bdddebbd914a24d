import type { Logger } from 'pino';
import { L4HealthChecker } from '../health/l4-checker.js';
import type { ProxyStatus } from '../model/gaap.js';
import type { L4Reporter, ListenerReport } from '../model/l4-report.js';
import type { RuntimeConfig } from '../runtime/config.js';
import { newMemberState, type HealthUpdate } from '../runtime/member-state.js';
import { L4Plane } from './plane.js';
import { buildL4Snapshot, type L4Snapshot } from './plan.js';

export interface L4NodeOptions {
  /** The access region this node serves. */
  region: string;
  logger: Logger;
  drainMs: number;
  /** true: worker processes carry the traffic (each its share); this process only checks and reports. */
  inWorkers: boolean;
  /** Settles a proxy's task in the store (control markApplied); false when that did not land. */
  settle(proxyId: string, status: ProxyStatus): Promise<boolean>;
  /** Hands a verdict to every worker (with workers). */
  broadcastHealth(u: HealthUpdate): void;
}

/**
 * The L4 side of one node: the plane that carries traffic (here, or in the workers), the
 * one health checker over the whole region, and what the APIs read of both.
 */
export interface L4Node {
  /** This process's plane, or null when the workers carry the traffic. */
  plane: L4Plane | null;
  health: L4HealthChecker;
  reporter: L4Reporter;
  apply(c: Pick<RuntimeConfig, 'revision' | 'l4'>): void;
  /** A revision that changed no L4 object. */
  advance(revision: number): void;
  /** A worker's listener report (null: it no longer serves the listener). */
  workerListener(id: string, report: ListenerReport | null): void;
  close(graceMs: number): Promise<void>;
}

/** What the APIs read: the sockets' side from whoever serves the listener, health from the checker. */
export function l4Reporter(listener: (id: string) => ListenerReport | null, health: L4HealthChecker): L4Reporter {
  return {
    listener(id) {
      const r = listener(id);
      return r && { ...r, healthNote: health.healthNote(id) };
    },
    binding: (listenerId, bindingId) => health.binding(listenerId, bindingId),
  };
}

export function startL4Node(opts: L4NodeOptions): L4Node {
  const plane = opts.inWorkers ? null : new L4Plane({ region: opts.region, logger: opts.logger, drainMs: opts.drainMs, onApplied: opts.settle });
  const workerListeners = new Map<string, ListenerReport>();
  const health = new L4HealthChecker(opts.logger, (u) => {
    plane?.setHealth(u);
    opts.broadcastHealth(u);
  });
  plane?.onSnapshot((s) => health.sync(s));
  let regionPlan: L4Snapshot | null = null;
  return {
    plane, health,
    reporter: l4Reporter((id) => (plane ? plane.listenerReport(id) : workerListeners.get(id) ?? null), health),
    apply(c) {
      if (plane) { plane.apply(c); return; }
      if (c.revision <= (regionPlan?.revision ?? -1)) return;
      // The primary's region plan (with workers) feeds only the health checker: its states are never read.
      regionPlan = buildL4Snapshot(c.revision, c.l4, { region: opts.region, previous: regionPlan, state: newMemberState });
      health.sync(regionPlan);
    },
    advance(revision) {
      if (plane) plane.advance(revision);
      else if (regionPlan && revision > regionPlan.revision) regionPlan = { ...regionPlan, revision };
    },
    workerListener(id, report) {
      if (report) workerListeners.set(id, report);
      else workerListeners.delete(id);
    },
    async close(graceMs) {
      await plane?.close(graceMs);
      health.close();
    },
  };
}
