import { poolAddresses } from '../../model/address-pool.js';
import { ModelError } from '../../model/errors.js';
import { portKey, type IpVersion, type L4Region, type Proxy, type StreamListener } from '../../model/gaap.js';
import type { Tx } from '../../store/store.js';
import { listenersOf } from './common.js';

// Who binds what where. Every listener of a proxy binds (address, protocol, port); proxies
// that share an address must therefore never carry the same protocol and port. Addresses are
// physical, so every tenant's proxies count.

async function onAddress(tx: Tx, accessRegion: string, address: string): Promise<Proxy[]> {
  return (await tx.list('proxy')).items.filter((p) => p.accessRegion === accessRegion && p.address === address);
}

/** The port keys (model/gaap.ts portKey) already bound on an address, and by which proxy. */
async function boundOn(tx: Tx, accessRegion: string, address: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of await onAddress(tx, accessRegion, address)) {
    for (const l of await listenersOf(tx, p)) out.set(portKey(l.protocol, l.port), p.id);
  }
  return out;
}

function sellOut(region: L4Region, ipVersion: IpVersion): ModelError {
  return new ModelError('limit_exceeded', 'accessRegion', `region ${region.id} has no ${ipVersion} address to give a proxy`, {
    entity: 'address', value: region.id, reason: `has no ${ipVersion} address to give`,
  });
}

export function duplicatePort(field: string, key: string, by: string): ModelError {
  const [protocol, port] = key.split('/');
  return new ModelError('duplicate', field, `${field}: ${protocol!.toUpperCase()} port ${port} is already used on this address (by ${by})`, {
    entity: 'listenerPort', value: Number(port), reason: `${protocol!.toUpperCase()} port ${port} is already used on this address`,
  });
}

/**
 * An address for a new proxy in `region` that will carry listeners on `carried` port keys:
 * one of its own while the pool has a free one, else the least shared address where none of
 * those ports is taken. An empty pool (for this IP version) sells out.
 */
export async function allocateAddress(tx: Tx, region: L4Region, ipVersion: IpVersion, carried: readonly string[]): Promise<string> {
  const family = ipVersion === 'IPv6' ? 6 : 4;
  const inRegion = (await tx.list('proxy')).items.filter((p) => p.accessRegion === region.id);
  const sharers = new Map<string, number>();
  for (const p of inRegion) sharers.set(p.address, (sharers.get(p.address) ?? 0) + 1);
  const pool: string[] = [];
  for (const a of poolAddresses(region.pool, family)) {
    if (!sharers.has(a)) return a;
    pool.push(a);
  }
  if (pool.length === 0) throw sellOut(region, ipVersion);
  let best: string | null = null;
  let clash: { key: string; by: string } | null = null;
  for (const a of pool.sort((x, y) => sharers.get(x)! - sharers.get(y)!)) {
    const bound = await boundOn(tx, region.id, a);
    const hit = carried.find((k) => bound.has(k));
    if (hit === undefined) { best = a; break; }
    clash ??= { key: hit, by: bound.get(hit)! };
  }
  if (best === null) throw duplicatePort('ports', clash!.key, clash!.by);
  return best;
}

/**
 * Refuses listeners on `keys` for `holders` (one proxy, or every proxy of a group) when any of
 * those ports is bound on a holder's address already, or would be bound twice by this call.
 */
export async function checkPortsFree(tx: Tx, holders: readonly Proxy[], keys: readonly { key: string; field: string }[]): Promise<void> {
  const added = new Map<string, Set<string>>();
  for (const h of holders) {
    const where = `${h.accessRegion}/${h.address}`;
    const bound = await boundOn(tx, h.accessRegion, h.address);
    const mine = added.get(where) ?? new Set<string>();
    for (const { key, field } of keys) {
      if (bound.has(key)) throw duplicatePort(field, key, bound.get(key)!);
      if (mine.has(key)) throw duplicatePort(field, key, h.id);
      mine.add(key);
    }
    added.set(where, mine);
  }
}

/** Port keys within one holder's own listeners (the same proxy or group twice). */
export function keysOf(listeners: readonly StreamListener[]): string[] {
  return listeners.map((l) => portKey(l.protocol, l.port));
}
