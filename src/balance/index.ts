import type { Strategy } from '../model/types.js';
import type { Balancer, PickContext, Target } from './balancer.js';
import { ConsistentHashRing } from './ring.js';
import { TieredBalancer } from './tiered.js';
import { WeightedLeastConnections } from './wlc.js';
import { WeightedRoundRobin } from './wrr.js';

export type { Balancer, Target, PickContext } from './balancer.js';

const byClientIp = <T extends Target>(ctx: PickContext<T>): string => ctx.clientIp;
/** URI hash keys on the path only: the query string is excluded, so `/a?x=1` and `/a?x=2` stay together. */
const byPath = <T extends Target>(ctx: PickContext<T>): string => ctx.path;

function single<T extends Target>(strategy: Strategy, targets: T[]): Balancer<T> {
  switch (strategy) {
    case 'wrr': return new WeightedRoundRobin(targets);
    case 'wlc': return new WeightedLeastConnections(targets);
    case 'source_ip_hash': return new ConsistentHashRing(targets, byClientIp);
    case 'uri_hash': return new ConsistentHashRing(targets, byPath);
    // A stored object can hold what no face writes; failing here isolates that upstream.
    default: throw new Error(`unknown balancing strategy ${JSON.stringify(strategy)}`);
  }
}

/**
 * Builds the balancer for one upstream. `targets` holds only members that can ever take
 * traffic (enabled, effective weight > 0), primaries and backups together.
 * The runtime keeps a balancer instance across snapshots while the target set is unchanged,
 * which is how round-robin position and in-flight counts survive a swap.
 */
export function createBalancer<T extends Target>(strategy: Strategy, targets: T[]): Balancer<T> {
  const primaries = targets.filter((t) => !t.backup && t.weight > 0);
  const backups = targets.filter((t) => t.backup && t.weight > 0);
  return new TieredBalancer(
    primaries.length ? single(strategy, primaries) : null,
    backups.length ? single(strategy, backups) : null,
  );
}
