import { newId, nowIso } from '../model/ids.js';
import { messageOf } from '../model/errors.js';
import { outageLog } from '../model/outage-log.js';
import { nodeView, type NodeBeat, type NodeRow, type NodeView } from '../model/node.js';
import type { StoreLog } from './postgres.js';
import type { Store } from './store.js';

export interface NodeIdentity {
  name: string;
  labels: Record<string, string>;
  version: string;
}

export interface NodeHeartbeat {
  /** This process's node id (fresh per start). */
  readonly id: string;
  /** Beats soon, outside the interval: the applied revision moved. Beats already due coalesce. */
  poke(): void;
  /** Stops beating and removes this node's row (a clean shutdown is no outage). */
  stop(): Promise<void>;
}

/** Every this many beats (a minute at the default interval) a node prunes the change feed. */
export const PRUNE_EVERY_BEATS = 12;

/**
 * The revision every live node has applied: the change rows up to it are no longer needed.
 * A node that is down, or has applied nothing yet, does not hold the feed back: it reloads
 * in full when it comes back (or starts). null: no live node.
 */
export function pruneFloor(rows: readonly NodeRow[]): number | null {
  let floor: number | null = null;
  for (const n of rows) {
    if (nodeView(n).status !== 'up' || n.appliedRevision < 0) continue;
    floor = floor === null ? n.appliedRevision : Math.min(floor, n.appliedRevision);
  }
  return floor;
}

/**
 * A node silent this long is taken out of the registry (with its health verdicts). Ids are
 * per start, so a killed node never beats under its id again; a day keeps a crash in view
 * for whoever looks the next morning without rows piling up with every crash.
 */
export const FORGET_DOWN_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Prunes the feed through what every live node has applied, and forgets nodes silent for
 * `forgetAfterMs` (never one still up); returns the floor, or null when nothing was pruned.
 */
export async function pruneFeed(store: Store, forgetAfterMs = FORGET_DOWN_AFTER_MS): Promise<number | null> {
  const rows = await store.nodes();
  for (const n of rows) if (n.silentMs > forgetAfterMs && nodeView(n).status === 'down') await store.forgetNode(n.id);
  const floor = pruneFloor(rows);
  return floor === null ? null : store.prune(floor);
}

/**
 * Tells the store every `intervalMs` that this node is alive and which revision its data
 * plane runs. The first beat is awaited, so a started node is listed. A beat that fails is
 * logged once per outage and the loop goes on; the next one repairs the row. Every
 * `pruneEvery` beats it also prunes the change feed (pruneFeed); every node does, which is
 * harmless: the floor only rises.
 */
export async function startHeartbeat(store: Store, me: NodeIdentity, intervalMs: number, applied: () => number, log: StoreLog, pruneEvery = PRUNE_EVERY_BEATS): Promise<NodeHeartbeat> {
  const base = { id: newId(), ...me, startedAt: nowIso(), heartbeatMs: intervalMs };
  const beatNow = (): NodeBeat => ({ ...base, appliedRevision: applied() });
  const node = () => ({ node: base.id });
  const beatLog = outageLog(log, { failed: 'node heartbeat failed; other nodes may show this one down until the store answers', back: 'node heartbeat reaches the store again' }, node);
  const pruneLog = outageLog(log, { failed: 'could not prune the change feed; trying again later', back: 'change feed pruning reaches the store again' }, node);
  let beats = 0;
  const prune = async (): Promise<void> => {
    try {
      await pruneFeed(store);
      pruneLog.ok();
    } catch (err) {
      pruneLog.failed(err);
    }
  };
  let inFlight: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const beat = (): Promise<void> => {
    if (inFlight) { again = true; return inFlight; }
    inFlight = (async () => {
      do {
        again = false;
        try {
          await store.heartbeat(beatNow());
          beatLog.ok();
        } catch (err) {
          beatLog.failed(err);
        }
      } while (again && !stopped);
      inFlight = null;
    })();
    return inFlight;
  };
  await store.heartbeat(beatNow());
  const timer = setInterval(() => {
    void beat().then(() => { if (++beats % pruneEvery === 0 && !stopped) return prune(); });
  }, intervalMs);
  timer.unref();
  return {
    id: base.id,
    poke() { if (!stopped) void beat(); },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await inFlight;
      // Deleted rather than kept as "stopped": ids are per start, so kept rows would pile up
      // with every restart, and a node that left on purpose is no node of the cluster.
      await store.forgetNode(base.id).catch((err: unknown) => log.warn({ node: base.id, reason: messageOf(err) }, 'could not remove this node from the registry; it will show as down'));
    },
  };
}

/** The registry as the operator sees it: every row, each up or down by its silence. */
export async function listNodes(store: Store): Promise<{ items: NodeView[]; total: number }> {
  const items = (await store.nodes()).map(nodeView);
  return { items, total: items.length };
}

/** How long a read of the registry serves its readers (a Describe call does not query it per proxy). */
export const NODE_CACHE_MS = 1000;

/**
 * The registry as read at most once per `ttlMs`, shared by every reader of one store in this
 * process (GAAP liveness, the cluster health view); concurrent readers share one query.
 */
export class NodeCache {
  private last: { at: number; nodes: NodeView[] } | null = null;
  private pending: Promise<NodeView[]> | null = null;

  constructor(private readonly store: Store, private readonly ttlMs = NODE_CACHE_MS) {}

  /**
   * The ids of the nodes up as of the last read (null: none yet), so that a synchronous reader
   * agrees with what the last asynchronous one saw.
   */
  upNow(): ReadonlySet<string> | null {
    const last = this.last;
    if (last === null) return null;
    if (this.up === null || this.up.of !== last.nodes) this.up = { of: last.nodes, ids: new Set(last.nodes.filter((n) => n.status === 'up').map((n) => n.id)) };
    return this.up.ids;
  }

  private up: { of: NodeView[]; ids: ReadonlySet<string> } | null = null;

  /** Every registry row with its status, at most `ttlMs` old. Rejects when the store does not answer. */
  nodes(): Promise<NodeView[]> {
    if (this.last && Date.now() - this.last.at < this.ttlMs) return Promise.resolve(this.last.nodes);
    this.pending ??= (async () => {
      try {
        const nodes = (await this.store.nodes()).map(nodeView);
        this.last = { at: Date.now(), nodes };
        return nodes;
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }
}

const caches = new WeakMap<Store, NodeCache>();

/** The one NodeCache of `store` in this process. */
export function nodeCache(store: Store): NodeCache {
  let c = caches.get(store);
  if (!c) { c = new NodeCache(store); caches.set(store, c); }
  return c;
}
