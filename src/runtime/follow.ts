import type { Store } from '../store/store.js';
import type { RuntimeConfig } from './config.js';

/**
 * Follows the store: loads the full config at start and again after every committed
 * revision, and hands it to `apply`. Loads never overlap; revisions that arrive during a
 * load are folded into one more load, so a burst of writes costs at most two loads.
 */
export function followStore(store: Store, apply: (c: RuntimeConfig) => void, onError: (err: unknown) => void): { ready: Promise<void>; stop(): void } {
  let loading = false;
  let again = false;
  let stopped = false;
  let applied = -1;

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
          apply({ revision: all.revision, upstreams: all.objects.upstream, routes: all.objects.route });
        }
      } while (again && !stopped);
    } catch (err) {
      // The data plane keeps serving the last snapshot; the next revision retries.
      onError(err);
    } finally {
      loading = false;
    }
  }

  const unsubscribe = store.subscribe((rev) => { if (rev > applied) void load(); });
  return { ready: load(), stop() { stopped = true; unsubscribe(); } };
}
