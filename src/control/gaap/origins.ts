import { canonicalAddress } from '../../model/address-pool.js';
import { ModelError } from '../../model/errors.js';
import type { FailoverRole, Origin, OriginBinding } from '../../model/gaap.js';
import { originTypeOf, validateBinding, validateName, validateTags } from '../../model/gaap-validate.js';
import type { Ext, Tag } from '../../model/types.js';
import type { Store, Tx } from '../../store/store.js';
import { tenantFor, type Scope } from '../scope.js';
import { requireTenant } from '../tenants.js';
import { fetchOwned, freshId, stamp, type GaapSettings } from './common.js';
import { requireListenerWritable } from './listeners.js';

export interface OriginsInput { tenantId?: string; cloudProjectId?: number; addresses: string[]; name: string; tags?: Tag[]; ext?: Ext }

/** One origin per address; an address the tenant's project already has refuses the call. */
export async function addOrigins(store: Store, scope: Scope, input: OriginsInput): Promise<Origin[]> {
  const tenantId = tenantFor(scope, input.tenantId);
  return store.transact(async (tx) => {
    await requireTenant(tx, tenantId);
    validateName('name', input.name, 30, 'origin');
    validateTags('tags', input.tags ?? []);
    if (input.addresses.length === 0) throw new ModelError('missing', 'addresses', 'addresses needs at least one address', { entity: 'origin' });
    const cloudProjectId = input.cloudProjectId ?? 0;
    const seen = new Set<string>();
    const now = stamp();
    const out: Origin[] = [];
    for (const [i, raw] of input.addresses.entries()) {
      const field = `addresses[${i}]`;
      const type = originTypeOf(raw, field);
      const address = type === 'ip' ? canonicalAddress(raw) : raw.toLowerCase();
      if (seen.has(address) || (await tx.findUnique('origin', `${tenantId}/${cloudProjectId}/${address}`))) {
        throw new ModelError('duplicate', field, `${field}: origin ${address} already exists`, { entity: 'origin', value: address });
      }
      seen.add(address);
      const o: Origin = { id: await freshId(tx, 'origin'), tenantId, cloudProjectId, address, type, name: input.name, tags: input.tags ?? [], ext: input.ext ?? {}, createdAt: now, updatedAt: now };
      await tx.put('origin', o);
      out.push(o);
    }
    return out;
  });
}

export const getOrigin = (store: Store, scope: Scope, id: string) => fetchOwned(store, scope, 'origin', id);

export async function listOrigins(store: Store, scope: Scope): Promise<Origin[]> {
  return (await store.list('origin', scope.kind === 'tenant' ? { tenantId: scope.tenantId } : {})).items;
}

export async function renameOrigin(store: Store, scope: Scope, id: string, name: string): Promise<Origin> {
  return store.transact(async (tx) => {
    const o = await fetchOwned(tx, scope, 'origin', id);
    validateName('name', name, 30, 'origin');
    const next = { ...o, name, updatedAt: stamp() };
    await tx.put('origin', next);
    return next;
  });
}

async function bindingsOf(tx: Tx | Store, o: Origin): Promise<OriginBinding[]> {
  return (await tx.list('originBinding', { tenantId: o.tenantId })).items.filter((b) => b.originId === o.id);
}

/** Where an origin is bound (DescribeRealServersStatus): the listeners and their holders. */
export async function originUse(store: Store, scope: Scope, id: string): Promise<{ listenerId: string; proxyId: string | null; groupId: string | null }[]> {
  const o = await fetchOwned(store, scope, 'origin', id);
  const out = [];
  for (const b of await bindingsOf(store, o)) {
    const l = await store.get('streamListener', b.listenerId);
    if (l) out.push({ listenerId: l.id, proxyId: l.proxyId, groupId: l.groupId });
  }
  return out;
}

/** Refused whole while any of them is bound. */
export async function removeOrigins(store: Store, scope: Scope, ids: string[]): Promise<void> {
  await store.transact(async (tx) => {
    if (ids.length === 0) throw new ModelError('missing', 'originIds', 'originIds needs at least one id', { entity: 'origin' });
    const os: Origin[] = [];
    for (const [i, id] of [...new Set(ids)].entries()) os.push(await fetchOwned(tx, scope, 'origin', id, `originIds[${i}]`));
    for (const [i, o] of os.entries()) {
      const bound = await bindingsOf(tx, o);
      if (bound.length > 0) throw new ModelError('in_use', `originIds[${i}]`, `origin ${o.id} is bound to listener ${bound[0]!.listenerId}`, { entity: 'binding', value: o.id, limit: bound.length });
    }
    for (const o of os) await tx.delete('origin', o.id);
  });
}

export interface BindingInput { originId: string; port: number; weight?: number; role?: FailoverRole; /** When given, must be the origin's address. */ address?: string }

/**
 * The set given becomes the listener's whole set (empty unbinds all). Weights default to 1;
 * roles need failover on the listener, and default to master when it is on.
 */
export async function bindOrigins(store: Store, scope: Scope, s: GaapSettings, listenerId: string, set: BindingInput[]): Promise<OriginBinding[]> {
  return store.transact(async (tx) => {
    const l = await fetchOwned(tx, scope, 'streamListener', listenerId);
    await requireListenerWritable(tx, scope, l);
    if (set.length > s.limits.originsPerListener) {
      throw new ModelError('limit_exceeded', 'bindings', `a listener binds at most ${s.limits.originsPerListener} origins`, { entity: 'binding', limit: s.limits.originsPerListener, value: set.length });
    }
    const prev = new Map((await tx.list('originBinding', { parentId: l.id })).items.map((b) => [`${b.originId}/${b.port}`, b]));
    const seen = new Set<string>();
    const next: OriginBinding[] = [];
    for (const [i, b] of set.entries()) {
      const field = `bindings[${i}]`;
      const o = await tx.get('origin', b.originId);
      if (!o || o.tenantId !== l.tenantId) throw new ModelError('not_found', `${field}.originId`, `${field}.originId: origin ${b.originId.slice(0, 64)} does not exist`, { entity: 'origin', value: b.originId.slice(0, 64) });
      if (b.address !== undefined && (o.type === 'ip' ? canonicalAddress(b.address) : b.address.toLowerCase()) !== o.address) {
        throw new ModelError('conflict', `${field}.address`, `${field}.address is not the address of origin ${o.id}`, { entity: 'origin', value: b.address.slice(0, 64), reason: 'is not the origin\'s address' });
      }
      if (o.type !== l.originType) throw new ModelError('conflict', `${field}.originId`, `${field}: origin ${o.id} is ${o.type === 'ip' ? 'an IP' : 'a domain'}, the listener takes ${l.originType === 'ip' ? 'IPs' : 'domains'}`, { entity: 'origin', value: o.id, reason: 'does not match the listener\'s origin type' });
      const key = `${o.id}/${b.port}`;
      if (seen.has(key)) throw new ModelError('duplicate', field, `${field}: origin ${o.id} port ${b.port} is given twice`, { entity: 'binding', value: key });
      seen.add(key);
      const old = prev.get(key);
      const nb: OriginBinding = {
        id: old?.id ?? await freshId(tx, 'originBinding'), tenantId: l.tenantId, listenerId: l.id, originId: o.id, port: b.port,
        weight: b.weight ?? 1, role: b.role ?? (l.failover ? 'master' : null), createdAt: old?.createdAt ?? stamp(),
      };
      validateBinding(nb, l, field);
      next.push(nb);
    }
    for (const [key, b] of prev) if (!seen.has(key)) await tx.delete('originBinding', b.id);
    for (const b of next) await tx.put('originBinding', b);
    return next;
  });
}

export async function listBindings(store: Store, scope: Scope, listenerId: string): Promise<OriginBinding[]> {
  const l = await fetchOwned(store, scope, 'streamListener', listenerId);
  return (await store.list('originBinding', { parentId: l.id })).items;
}
