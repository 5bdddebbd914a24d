import { outageLog } from '../model/outage-log.js';
import { MINUTE_MS, STATS_WINDOW_MS, type StatRow, type StatsBook } from '../model/l4-stats.js';
import type { StoreLog } from './postgres.js';
import type { Store } from './store.js';

export interface StatsPublisher {
  /** Publishes what changed now (tests; shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Copies this node's changed minutes from its book to the store every `everyMs` (once a
 * minute by default) in one batch, so that any node of a cluster can sum every node's
 * figures, and prunes every node's rows past the window once a minute. A batch that fails is
 * kept (newest figures win) and sent with the next; the failure is logged once per outage.
 * The data plane never waits on it.
 */
export function startStatsPublisher(store: Store, book: StatsBook, nodeId: string, everyMs: number, log: StoreLog): StatsPublisher {
  const pending = new Map<string, StatRow>();
  const outage = outageLog(log, { failed: 'could not publish GAAP statistics; kept for the next try', back: 'GAAP statistics reach the store again' }, () => ({ node: nodeId }));
  let lastPrune = 0;
  let running: Promise<void> | null = null;
  let stopped = false;
  const publish = async (): Promise<void> => {
    for (const r of book.takeChanged()) pending.set(`${r.subject}\u0000${r.minuteMs}`, r);
    try {
      if (pending.size > 0) {
        const batch = [...pending.values()];
        await store.putStats(nodeId, batch);
        for (const r of batch) {
          const k = `${r.subject}\u0000${r.minuteMs}`;
          if (pending.get(k) === r) pending.delete(k);
        }
      }
      const now = Date.now();
      if (now - lastPrune >= MINUTE_MS) {
        lastPrune = now;
        await store.pruneStats(now - STATS_WINDOW_MS - MINUTE_MS);
      }
      outage.ok();
    } catch (err) {
      outage.failed(err);
    }
  };
  const run = (): Promise<void> => {
    running ??= publish().finally(() => { running = null; });
    return running;
  };
  const timer = setInterval(() => { if (!stopped) void run(); }, everyMs);
  timer.unref();
  return {
    async flush() { await running; await run(); },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
