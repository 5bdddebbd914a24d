import { ModelError } from '../../model/errors.js';
import type { L4Region } from '../../model/gaap.js';
import { validateRegion } from '../../model/gaap-validate.js';
import type { Store, Tx } from '../../store/store.js';
import { requireOperator, type Scope } from '../scope.js';
import { catalogue, stamp, type GaapSettings } from './common.js';

export type RegionInput = Pick<L4Region, 'id' | 'access' | 'origin' | 'bandwidths' | 'concurrencies' | 'pool'> & Partial<Pick<L4Region, 'name' | 'ext'>>;

/** The catalogue every tenant reads (DescribeAccessRegions, DescribeDestRegions...). */
export async function listRegions(store: Store, _scope: Scope, s: GaapSettings): Promise<L4Region[]> {
  return catalogue(store, s);
}

function build(input: RegionInput, prev: L4Region | undefined, i: number | null): L4Region {
  const now = stamp();
  const r: L4Region = {
    id: input.id, name: input.name ?? input.id, access: input.access, origin: input.origin,
    bandwidths: [...input.bandwidths].sort((a, b) => a - b), concurrencies: [...input.concurrencies].sort((a, b) => a - b),
    pool: [...input.pool], ext: input.ext ?? {}, createdAt: prev?.createdAt ?? now, updatedAt: now,
  };
  validateRegion(r, i === null ? 'region' : `regions[${i}]`);
  return r;
}

/** A region whose removal (or loss of a role) would strand proxies or groups is refused. */
async function checkStillServes(tx: Tx, next: ReadonlyMap<string, L4Region>): Promise<void> {
  for (const p of (await tx.list('proxy')).items) {
    if (!next.get(p.accessRegion)?.access) throw inUse(p.accessRegion, `proxy ${p.id} is placed there`);
    if (!next.get(p.originRegion)?.origin) throw inUse(p.originRegion, `proxy ${p.id} serves origins there`);
  }
  for (const g of (await tx.list('connectionGroup')).items) {
    if (!next.get(g.originRegion)?.origin) throw inUse(g.originRegion, `group ${g.id} serves origins there`);
  }
}

function inUse(region: string, why: string): ModelError {
  return new ModelError('in_use', 'regions', `region ${region} is still in use: ${why}`, { entity: 'region', value: region, reason: why });
}

/**
 * Replaces the whole catalogue (operator only). Existing proxies keep the address they have,
 * even when the new pool no longer holds it; new ones draw from the new pool.
 */
export async function replaceRegions(store: Store, scope: Scope, inputs: RegionInput[]): Promise<L4Region[]> {
  requireOperator(scope, 'region');
  return store.transact(async (tx) => {
    const prev = new Map((await tx.list('l4Region')).items.map((r) => [r.id, r]));
    const next = new Map<string, L4Region>();
    inputs.forEach((input, i) => {
      if (next.has(input.id)) throw new ModelError('duplicate', `regions[${i}].id`, `regions[${i}].id: region ${input.id} is given twice`, { entity: 'region', value: input.id });
      next.set(input.id, build(input, prev.get(input.id), i));
    });
    if (next.size === 0) throw new ModelError('missing', 'regions', 'the catalogue needs at least one region', { entity: 'region' });
    await checkStillServes(tx, next);
    for (const id of prev.keys()) if (!next.has(id)) await tx.delete('l4Region', id);
    for (const r of next.values()) await tx.put('l4Region', r);
    return [...next.values()];
  });
}

/**
 * Adds or replaces one region. The first one stored replaces the default catalogue, which is
 * then carried into the store so that its proxies keep their region.
 */
export async function putRegion(store: Store, scope: Scope, s: GaapSettings, input: RegionInput): Promise<L4Region> {
  requireOperator(scope, 'region');
  return store.transact(async (tx) => {
    const current = await catalogue(tx, s);
    const prev = current.find((r) => r.id === input.id);
    const r = build(input, prev, null);
    const next = new Map(current.map((x) => [x.id, x]));
    next.set(r.id, r);
    await checkStillServes(tx, next);
    for (const x of next.values()) await tx.put('l4Region', x);
    return r;
  });
}

export async function deleteRegion(store: Store, scope: Scope, s: GaapSettings, id: string): Promise<void> {
  requireOperator(scope, 'region');
  await store.transact(async (tx) => {
    const current = await catalogue(tx, s);
    if (!current.some((r) => r.id === id)) throw new ModelError('not_found', 'regionId', `region ${id.slice(0, 64)} does not exist`, { entity: 'region', value: id.slice(0, 64) });
    if (current.length === 1) throw new ModelError('conflict', 'regionId', 'the catalogue needs at least one region', { entity: 'region', value: id });
    const next = new Map(current.filter((r) => r.id !== id).map((x) => [x.id, x]));
    await checkStillServes(tx, next);
    for (const x of next.values()) await tx.put('l4Region', x);
    await tx.delete('l4Region', id);
  });
}
