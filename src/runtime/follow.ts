import type { Store } from '../store/store.js';
import type { RuntimeConfig } from './config.js';

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;
const RESYNC_MS = 30_000;

export interface FollowOptions {
  /** How often the store's revision is compared with the applied one (default 30 s). */
  resyncMs?: number;
}

/**
 * Follows the store: loads the full config at start and again after every committed
 * revision, and hands it to `apply`. Loads never overlap; revisions that arrive during a
 * load are folded into one more load, so a burst of writes costs at most two loads. A load
 * that failed (the store did not answer) is tried again, 1 s later and then less often, so
 * a revision announced during an outage still arrives once the store answers again.
 *
 * A safety net besides: every `resyncMs` it asks the store for its revision (one small
 * query) and loads when that differs from the applied one, so a revision whose
 * announcement never came (another node's write while this one's change feed was down,
 * say) is applied all the same.
 */
export function followStore(store: Store, apply: (c: RuntimeConfig) => void, onError: (err: unknown) => void, opts: FollowOptions = {}): { ready: Promise<void>; stop(): void } {
  let loading = false;
  let again = false;
  let stopped = false;
  let applied = -1;
  let retry: NodeJS.Timeout | null = null;
  let retryMs = RETRY_FIRST_MS;

  async function load(): Promise<void> {
    if (loading) { again = true; return; }
    loading = true;
    try {
      do {
        again = false;
        const all = await store.loadAll();
        if (stopped) return;
        if (all.revision !== applied) {
          applied = all.revision;
          const o = all.objects;
          apply({
            revision: all.revision, upstreams: o.upstream, routes: o.route,
            l4: { regions: o.l4Region, proxies: o.proxy, listeners: o.streamListener, origins: o.origin, bindings: o.originBinding },
          });
        }
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
