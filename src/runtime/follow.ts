import { performance } from 'node:perf_hooks';
import type { Store } from '../store/store.js';
import { DATA_PLANE_KINDS, type ObjectChange, type RuntimeConfig } from './config.js';
import { wholeConfigs, type ConfigSink } from './feed.js';

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;
const RESYNC_MS = 30_000;

/** What one apply cost: from starting the read to the snapshot swapped. */
export interface AppliedInfo {
  revision: number;
  ms: number;
  /** A full load (start, or the feed was pruned past the applied revision). */
  full: boolean;
  /** Change rows applied (a full load: the data-plane objects loaded). */
  changes: number;
}

export interface FollowOptions {
  /** How often the store's revision is compared with the applied one (default 30 s). */
  resyncMs?: number;
  /** Told when the follower has to reload in full (a pino logger fits). */
  logger?: { info(obj: object, msg: string): void };
  /** Called after each apply (the bench, metrics). */
  onApplied?: (a: AppliedInfo) => void;
}

export const PRUNED_RELOAD_MSG = 'reloading the config in full: the change feed was pruned past this node\'s revision';

function configOf(all: Awaited<ReturnType<Store['loadAll']>>): RuntimeConfig {
  const o = all.objects;
  return {
    revision: all.revision, upstreams: o.upstream, routes: o.route, instances: o.instance,
    l4: { regions: o.l4Region, proxies: o.proxy, listeners: o.streamListener, origins: o.origin, bindings: o.originBinding },
  };
}

/**
 * Follows the store: loads the full config at start, then after every committed revision
 * reads only what changed since the applied one (the change rows and the changed objects'
 * documents, in one read) and hands it on as a delta; when the feed was pruned past the
 * applied revision it loads in full again. `sink` may also be a function that takes whole
 * configs (each delta is then patched into a config index and handed over whole).
 *
 * Reads never overlap; revisions that arrive during one are folded into one more read, so a
 * burst of writes costs at most two. A read that failed (the store did not answer) is tried
 * again, 1 s later and then less often, so a revision announced during an outage still
 * arrives once the store answers again.
 *
 * A safety net besides: every `resyncMs` it asks the store for its revision (one small
 * query) and reads the delta when that differs from the applied one, so a revision whose
 * announcement never came (another node's write while this one's change feed was down,
 * say) is applied all the same.
 */
export function followStore(store: Store, sink: ConfigSink | ((c: RuntimeConfig) => void), onError: (err: unknown) => void, opts: FollowOptions = {}): { ready: Promise<void>; stop(): void } {
  const to = typeof sink === 'function' ? wholeConfigs(sink) : sink;
  let loading = false;
  let again = false;
  let stopped = false;
  let applied = -1;
  let retry: NodeJS.Timeout | null = null;
  let retryMs = RETRY_FIRST_MS;

  async function full(started: number): Promise<void> {
    const all = await store.loadAll();
    if (stopped || all.revision === applied) return;
    const config = configOf(all);
    to.full(config);
    applied = all.revision;
    const objects = config.upstreams.length + config.routes.length + config.instances.length
      + Object.values(config.l4).reduce((n, l: unknown[]) => n + l.length, 0);
    opts.onApplied?.({ revision: applied, ms: performance.now() - started, full: true, changes: objects });
  }

  async function step(): Promise<void> {
    const started = performance.now();
    if (applied < 0) return full(started);
    const read = await store.readSince(applied, DATA_PLANE_KINDS);
    if (stopped) return;
    if (!read.complete) {
      opts.logger?.info({ applied, prunedThrough: read.prunedThrough }, PRUNED_RELOAD_MSG);
      return full(started);
    }
    if (read.revision <= applied) return;
    // The follower's own sink always holds `applied`: a delta from it never leaves a gap.
    to.delta({ since: applied, revision: read.revision, changes: read.objects as ObjectChange[] });
    applied = read.revision;
    opts.onApplied?.({ revision: applied, ms: performance.now() - started, full: false, changes: read.changes.length });
  }

  async function load(): Promise<void> {
    if (loading) { again = true; return; }
    loading = true;
    try {
      do {
        again = false;
        await step();
      } while (again && !stopped);
      retryMs = RETRY_FIRST_MS;
    } catch (err) {
      // The data plane keeps serving the last snapshot.
      onError(err);
      if (!stopped && !retry) {
        retry = setTimeout(() => { retry = null; void load(); }, retryMs);
        retry.unref();
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
    } finally {
      loading = false;
    }
  }

  async function resync(): Promise<void> {
    // A load running or a retry pending will see the latest revision anyway.
    if (loading || retry || stopped || applied < 0) return;
    let rev: number;
    try {
      rev = await store.revision();
    } catch (err) {
      onError(err);
      return;
    }
    if (rev !== applied && !stopped) await load();
  }

  const unsubscribe = store.subscribe((rev) => { if (rev > applied) void load(); });
  const resyncTimer = setInterval(() => { void resync(); }, opts.resyncMs ?? RESYNC_MS);
  resyncTimer.unref();
  return {
    ready: load(),
    stop() { stopped = true; unsubscribe(); clearInterval(resyncTimer); if (retry) clearTimeout(retry); },
  };
}
