import type { Proxy, ProxyStatus } from '../../model/gaap.js';
import { nodeCache } from '../../store/nodes.js';
import type { Store } from '../../store/store.js';

/**
 * What a RUNNING proxy reads while no live node's `region` label is its access region:
 * nothing accepts on its listeners, so RUNNING would be a lie. From GAAP's status table
 * (spec gaap.md 1.2):
 * - RECOVERING ("under maintenance", operator-side) is the platform's own outage that ends
 *   in RUNNING with no client action, which is what happens when a node of the region is up
 *   again. Terraform and SDK scripts poll for RUNNING and wait on anything else; Terraform's
 *   read shows `enable = false`, true of a proxy that carries no traffic.
 * - CLOSED / ISOLATED are a tenant's or operator's choice: Terraform would answer with
 *   OpenProxies, which a stored RUNNING proxy refuses. CREATING / OPENING / ADJUSTING name a
 *   task the client started. UNKNOWN (which Terraform knows) is outside the table.
 * Only RUNNING needs a serving node: the transitional states already say "not yet", and
 * CLOSED / ISOLATED carry no traffic anyway. This is a view: the stored status (what writes
 * check, what the node of the region applies when it comes) stays RUNNING.
 */
export const UNSERVED_STATUS: ProxyStatus = 'RECOVERING';

/** The access regions some live node serves, from the registry (cached, NODE_CACHE_MS); null when the store did not answer. */
async function servedRegions(store: Store): Promise<Set<string> | null> {
  try {
    const nodes = await nodeCache(store).nodes();
    return new Set(nodes.flatMap((n) => (n.status === 'up' && n.labels.region !== undefined ? [n.labels.region] : [])));
  } catch {
    return null;
  }
}

/**
 * The proxies as every face shows them: RUNNING reads UNSERVED_STATUS while no live node serves
 * the access region. Without an answer from the registry the stored status is shown; the
 * registry is read only when some proxy is RUNNING.
 */
export async function asServed<T extends Proxy>(store: Store, proxies: readonly T[]): Promise<T[]> {
  if (!proxies.some((p) => p.status === 'RUNNING')) return [...proxies];
  const served = await servedRegions(store);
  if (served === null) return [...proxies];
  return proxies.map((p) => (p.status === 'RUNNING' && !served.has(p.accessRegion) ? { ...p, status: UNSERVED_STATUS } : p));
}
