import { outageLog } from '../model/outage-log.js';
import type { HealthVerdict } from '../model/health.js';
import type { StoreLog } from '../store/postgres.js';
import type { Store } from '../store/store.js';

/** Where a changed key's current verdict is read when the batch goes out (a checker). */
export interface VerdictSource { verdictOf(key: string): HealthVerdict | null }

export interface PublisherOptions {
  /** How long changes gather before one batch goes to the store (default 250 ms). */
  batchMs?: number;
  /** How soon a batch the store refused is tried again, with the state then current (default 1000 ms). */
  retryMs?: number;
}

export interface HealthPublisher {
  /** `key` of `source` changed (or went away): it goes out with the next batch. O(1), never waits. */
  mark(key: string, source: VerdictSource): void;
  /** Starts sending, as `nodeId` (known once the node is registered); marks before it wait. */
  start(nodeId: string): void;
  /** Stops sending and waits for a batch in flight (before the node's rows are forgotten). */
  stop(): Promise<void>;
}

/**
 * Sends this node's verdicts to the health table when they change, not on every probe:
 * changed keys are coalesced (a key marked ten times goes once) and read at send time, so a
 * batch carries the latest state and memory is bounded by the keys that changed since the
 * last batch landed. A key with no verdict (not watched, or `unknown`) is deleted: no row
 * means no verdict. A failed batch keeps its keys and is retried with the state of then;
 * the first failure of an outage is logged, and the recovery.
 */
export function startHealthPublisher(store: Store, log: StoreLog, opts: PublisherOptions = {}): HealthPublisher {
  const batchMs = opts.batchMs ?? 250;
  const retryMs = opts.retryMs ?? 1000;
  let dirty = new Map<string, VerdictSource>();
  let nodeId: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  const outage = outageLog(log, {
    failed: 'could not publish health verdicts; other nodes read this node\'s last ones until the store answers',
    back: 'health verdicts reach the store again',
  }, () => ({ node: nodeId }));
  let stopped = false;

  const schedule = (ms: number): void => {
    if (timer || inFlight || stopped || nodeId === null || dirty.size === 0) return;
    timer = setTimeout(() => { timer = null; inFlight = send().finally(() => { inFlight = null; schedule(outage.failing ? retryMs : batchMs); }); }, ms);
    timer.unref();
  };

  const send = async (): Promise<void> => {
    const batch = dirty;
    dirty = new Map();
    const put: HealthVerdict[] = [];
    const drop: string[] = [];
    for (const [key, source] of batch) {
      const v = source.verdictOf(key);
      if (v === null || v.state === 'unknown') drop.push(key); else put.push(v);
    }
    try {
      await store.putHealth(nodeId!, put, drop);
      outage.ok();
    } catch (err) {
      // Keys marked meanwhile are newer and stay as marked; the rest go back for the retry.
      for (const [key, source] of batch) if (!dirty.has(key)) dirty.set(key, source);
      outage.failed(err);
    }
  };

  return {
    mark(key, source) {
      if (stopped) return;
      dirty.set(key, source);
      schedule(outage.failing ? retryMs : batchMs);
    },
    start(id) {
      nodeId = id;
      schedule(batchMs);
    },
    async stop() {
      stopped = true;
      if (timer) { clearTimeout(timer); timer = null; }
      await inFlight;
    },
  };
}
