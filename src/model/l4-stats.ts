/**
 * GAAP statistics as every layer holds them: per subject (a proxy, a listener, a real server
 * on a listener) and per minute, the figures of one node. The data plane produces additive
 * deltas of them, the node's book merges them, the store keeps each node's minutes and the
 * control layer sums them over nodes. One merge rule, here.
 */

export const MINUTE_MS = 60_000;
/** How far back a node keeps (and publishes) its minutes: 24 hours. */
export const STATS_WINDOW_MS = 24 * 60 * MINUTE_MS;

/** One subject's figures for one minute on one node (or summed over nodes). */
export interface MinuteFigures {
  /** Payload bytes client to origin, and origin to client. */
  bytesIn: number;
  bytesOut: number;
  /** UDP datagrams each way (TCP's packets are not seen from user space: not counted). */
  packetsIn: number;
  packetsOut: number;
  /** The most TCP connections plus UDP sessions open at once within the minute. */
  concurrent: number;
  /** Connections and sessions opened, refused at the concurrency cap, datagrams the bandwidth budget dropped. */
  opened: number;
  refused: number;
  dropped: number;
  /** Real server subjects: 1 when checks found it normal all minute, 0 when it was abnormal at some point. */
  up?: number;
}

/** A delta or a row: one subject's minute (minuteMs: the minute's start, Unix ms). */
export interface StatRow {
  subject: string;
  minuteMs: number;
  figures: MinuteFigures;
}

export const proxySubject = (proxyId: string): string => `proxy:${proxyId}`;
export const listenerSubject = (listenerId: string): string => `listener:${listenerId}`;
export const realServerSubject = (listenerId: string, originId: string): string => `rs:${listenerId}:${originId}`;

export function emptyFigures(): MinuteFigures {
  return { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, concurrent: 0, opened: 0, refused: 0, dropped: 0 };
}

export const minuteOf = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/**
 * Folds `d` into `into`. Over time within one node (deltas of one minute), counts add, the
 * concurrent peak is the larger, health the worse. `acrossNodes`: the same minute of two
 * nodes, where open connections add up as well (each node carries its own).
 */
export function mergeFigures(into: MinuteFigures, d: MinuteFigures, acrossNodes = false): void {
  into.bytesIn += d.bytesIn;
  into.bytesOut += d.bytesOut;
  into.packetsIn += d.packetsIn;
  into.packetsOut += d.packetsOut;
  into.concurrent = acrossNodes ? into.concurrent + d.concurrent : Math.max(into.concurrent, d.concurrent);
  into.opened += d.opened;
  into.refused += d.refused;
  into.dropped += d.dropped;
  if (d.up !== undefined) into.up = into.up === undefined ? d.up : Math.min(into.up, d.up);
}

/**
 * One node's minutes: only minutes with something to say are held, and none older than the
 * window, so memory is bounded by subjects x 1,440 at most. Tracks which minutes changed
 * since the last `takeChanged`, for the publisher.
 */
export class StatsBook {
  private readonly subjects = new Map<string, Map<number, MinuteFigures>>();
  private changed = new Map<string, Set<number>>();

  constructor(private readonly windowMs = STATS_WINDOW_MS, private readonly now: () => number = Date.now) {}

  add(rows: Iterable<StatRow>): void {
    for (const r of rows) {
      let minutes = this.subjects.get(r.subject);
      if (!minutes) this.subjects.set(r.subject, (minutes = new Map()));
      const cur = minutes.get(r.minuteMs);
      if (cur) mergeFigures(cur, r.figures);
      else minutes.set(r.minuteMs, { ...r.figures });
      let ch = this.changed.get(r.subject);
      if (!ch) this.changed.set(r.subject, (ch = new Set()));
      ch.add(r.minuteMs);
    }
  }

  /** The minutes of `subjects` from `fromMs` (inclusive) to `toMs` (exclusive). */
  range(subjects: readonly string[], fromMs: number, toMs: number): StatRow[] {
    const out: StatRow[] = [];
    for (const subject of subjects) {
      const minutes = this.subjects.get(subject);
      if (!minutes) continue;
      for (const [minuteMs, figures] of minutes) if (minuteMs >= fromMs && minuteMs < toMs) out.push({ subject, minuteMs, figures: { ...figures } });
    }
    return out;
  }

  /** The current figures of every minute that changed since the last call. */
  takeChanged(): StatRow[] {
    const ch = this.changed;
    this.changed = new Map();
    const out: StatRow[] = [];
    for (const [subject, minutes] of ch) {
      const held = this.subjects.get(subject);
      for (const m of minutes) {
        const f = held?.get(m);
        if (f) out.push({ subject, minuteMs: m, figures: { ...f } });
      }
    }
    return out;
  }

  /** Drops minutes past the window; returns the cut-off (minutes before it are gone). */
  prune(): number {
    const cut = minuteOf(this.now() - this.windowMs);
    for (const [subject, minutes] of this.subjects) {
      for (const m of minutes.keys()) if (m < cut) minutes.delete(m);
      if (minutes.size === 0) this.subjects.delete(subject);
    }
    return cut;
  }
}

/** What the APIs read of this node's statistics (api/ sees only this). */
export interface StatsReader {
  /** This node's id in the registry (its rows in the store are read from here instead), or null before it has one. */
  nodeId(): string | null;
  range(subjects: readonly string[], fromMs: number, toMs: number): StatRow[];
}

export const NO_STATS: StatsReader = { nodeId: () => null, range: () => [] };
