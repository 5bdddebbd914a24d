import type { Logger } from 'pino';
import { L4HealthChecker } from '../health/l4-checker.js';
import type { ProxyStatus } from '../model/gaap.js';
import type { L4Reporter, ListenerReport } from '../model/l4-report.js';
import type { RuntimeConfig } from '../runtime/config.js';
import { newMemberState, type HealthUpdate } from '../runtime/member-state.js';
import { L4Plane } from './plane.js';
import { buildL4Snapshot, type L4Snapshot } from './plan.js';
import { statsFlushMs } from './stats.js';
import type { L4SessionObserver } from '../model/l4-session.js';
import { emptyFigures, MINUTE_MS, minuteOf, realServerSubject, StatsBook, type StatRow } from '../model/l4-stats.js';

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
  /** Hears every connection and session this process's plane carries, as it ends (the access log). */
  sessions?: L4SessionObserver | null;
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
  /** This node's per-minute statistics: the plane's (or the workers') deltas and the checks' verdicts. */
  book: StatsBook;
  /** A worker's statistics deltas. */
  workerStats(rows: StatRow[]): void;
  /** This node's registry id, once it has one (its rows in the store are then read from the book). */
  setNodeId(id: string): void;
  close(graceMs: number): Promise<void>;
}

/** What the APIs read: the sockets' side from whoever serves the listener, health from the checker, statistics from the book. */
export function l4Reporter(listener: (id: string) => ListenerReport | null, health: L4HealthChecker, book = new StatsBook(), nodeId: () => string | null = () => null): L4Reporter {
  return {
    stats: { nodeId, range: (subjects, from, to) => book.range(subjects, from, to) },
    listener(id) {
      const r = listener(id);
      return r && { ...r, healthNote: health.healthNote(id) };
    },
    binding: (listenerId, bindingId) => health.binding(listenerId, bindingId),
  };
}

/** How often each binding's health is read into its minute. */
const HEALTH_READ_MS = 10_000;

/**
 * Each binding's health for the minute: 1 normal, 0 abnormal (a minute keeps the worse of its
 * readings). Checks off: normal, as GAAP reports such origins.
 */
function healthRows(s: L4Snapshot | null, health: L4HealthChecker, now: number): StatRow[] {
  if (s === null) return [];
  const minuteMs = minuteOf(now);
  const rows: StatRow[] = [];
  for (const p of s.proxies.values()) {
    for (const l of p.listeners) {
      for (const t of l.targets) {
        const up = l.check === null || health.stateOf(t.stateKey)?.state !== 'unhealthy' ? 1 : 0;
        rows.push({ subject: realServerSubject(l.id, t.originId), minuteMs, figures: { ...emptyFigures(), up } });
      }
    }
  }
  return rows;
}

export function startL4Node(opts: L4NodeOptions): L4Node {
  const book = new StatsBook();
  let nodeId: string | null = null;
  const plane = opts.inWorkers ? null : new L4Plane({ region: opts.region, logger: opts.logger, drainMs: opts.drainMs, onApplied: opts.settle, onStats: (rows) => book.add(rows), sessions: opts.sessions });
  const workerListeners = new Map<string, ListenerReport>();
  let regionPlan: L4Snapshot | null = null;
  const plan = (): L4Snapshot | null => plane?.snapshot ?? regionPlan;
  const recordHealth = (): void => book.add(healthRows(plan(), health, Date.now()));
  const health = new L4HealthChecker(opts.logger, (u) => {
    plane?.setHealth(u);
    opts.broadcastHealth(u);
    // An origin going down marks its minute at once, however short the outage.
    if (u.state === 'unhealthy') recordHealth();
  });
  // Every binding's state several times a minute (so that no minute goes unread), and the
  // book pruned to its window once a minute.
  let pruned = 0;
  const healthTimer = setInterval(() => {
    recordHealth();
    if (Date.now() - pruned >= MINUTE_MS) { pruned = Date.now(); book.prune(); }
  }, Math.min(statsFlushMs(), HEALTH_READ_MS));
  healthTimer.unref();
  plane?.onSnapshot((s) => health.sync(s));
  return {
    plane, health, book,
    reporter: l4Reporter((id) => (plane ? plane.listenerReport(id) : workerListeners.get(id) ?? null), health, book, () => nodeId),
    workerStats: (rows) => book.add(rows),
    setNodeId(id) { nodeId = id; },
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
      clearInterval(healthTimer);
      await plane?.close(graceMs);
      health.close();
    },
  };
}
