import type { Store } from '../store/store.js';
import type { RuntimeConfig } from './config.js';

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * Follows the store: loads the full config at start and again after every committed
 * revision, and hands it to `apply`. Loads never overlap; revisions that arrive during a
 * load are folded into one more load, so a burst of writes costs at most two loads. A load
 * that failed (the store did not answer) is tried again, 1 s later and then less often, so
 * a revision announced during an outage still arrives once the store answers again.
 */
export function followStore(store: Store, apply: (c: RuntimeConfig) => void, onError: (err: unknown) => void): { ready: Promise<void>; stop(): void } {
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

  const unsubscribe = store.subscribe((rev) => { if (rev > applied) void load(); });
  return { ready: load(), stop() { stopped = true; unsubscribe(); if (retry) clearTimeout(retry); } };
}
