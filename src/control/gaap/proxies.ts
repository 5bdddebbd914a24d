import { ModelError } from '../../model/errors.js';
import { SETTLES_TO, TRANSITIONAL, type ConnectionGroup, type IpVersion, type Proxy, type ProxyStatus } from '../../model/gaap.js';
import { validateBudget, validateName, validateSize, validateTags } from '../../model/gaap-validate.js';
import type { Ext, Tag } from '../../model/types.js';
import type { Store, Tx } from '../../store/store.js';
import { requireOperator, tenantFor, type Scope } from '../scope.js';
import { requireTenant } from '../tenants.js';
import { allocateAddress, keysOf } from './addresses.js';
import { asServed } from './liveness.js';
import {
  fetchOwned, freshId, groupProxies, listenersOf, regionFor, requireGroupActive, requireOperatorFields, requireProxyState, sees, stamp, type GaapSettings,
} from './common.js';

/** The operator's budget overrides; null resets one to what the proxy's size sells. */
export interface BudgetOverrides {
  connectionCap?: number | null;
  byteRate?: number | null;
}

/** `p` with the overrides given applied; a reset leaves the field absent (the size's own). */
function withBudget<T extends BudgetOverrides>(p: T, o: BudgetOverrides): T {
  const next: T = { ...p };
  for (const k of ['connectionCap', 'byteRate'] as const) {
    if (o[k] === undefined) continue;
    if (o[k] === null) delete next[k]; else next[k] = o[k];
  }
  validateBudget(next);
  return next;
}

export interface ProxyInput {
  name: string;
  cloudProjectId?: number;
  accessRegion: string;
  bandwidth: number;
  concurrent: number;
  /** Required for a standalone proxy; a group's proxy serves the group's. */
  originRegion?: string;
  groupId?: string;
  clientToken?: string;
  /** Copy this RUNNING proxy's own listeners and bindings. */
  clonedFrom?: string;
  ipVersion?: IpVersion;
  networkType?: string;
  packageType?: string;
  billingType?: number;
  tags?: Tag[];
  ext?: Ext;
  /** Operator scope only; a clone takes its source's unless given. */
  connectionCap?: number | null;
  byteRate?: number | null;
}

export interface GroupInput {
  name: string;
  cloudProjectId?: number;
  originRegion: string;
  ipVersion?: IpVersion;
  packageType?: string;
  tags?: Tag[];
  /** One proxy per entry (GAAP AccessRegionSet). */
  accessRegions?: { accessRegion: string; bandwidth: number; concurrent: number; networkType?: string }[];
  ext?: Ext;
}

/** Partial success, GAAP style: the ids acted on, and those whose state did not allow it. */
export interface BatchResult { changed: string[]; invalidStatus: string[] }

async function tenantProxyCount(tx: Tx, tenantId: string): Promise<number> {
  return (await tx.list('proxy', { tenantId, limit: 1 })).total;
}

/** The one way a proxy comes to exist: limits, size, address, then the write. */
async function makeProxy(tx: Tx, s: GaapSettings, tenantId: string, input: ProxyInput, group: ConnectionGroup | null, field: string, carried: string[]): Promise<Proxy> {
  const budget = withBudget<BudgetOverrides>({}, { connectionCap: input.connectionCap, byteRate: input.byteRate });
  validateName(`${field}name`, input.name, 32, 'proxy');
  validateTags(`${field}tags`, input.tags ?? []);
  if (input.clientToken !== undefined && !/^[\x21-\x7e]{1,64}$/.test(input.clientToken)) {
    throw new ModelError('bad_format', 'clientToken', 'clientToken must be 1-64 visible ASCII characters', { entity: 'proxy', reason: 'must be 1-64 visible ASCII characters' });
  }
  if ((await tenantProxyCount(tx, tenantId)) >= s.limits.proxiesPerTenant) {
    throw new ModelError('limit_exceeded', 'proxies', `a tenant holds at most ${s.limits.proxiesPerTenant} proxies`, { entity: 'proxy', limit: s.limits.proxiesPerTenant, reason: 'per tenant' });
  }
  if (group && (await groupProxies(tx, group.id)).length >= s.limits.proxiesPerGroup) {
    throw new ModelError('limit_exceeded', 'groupId', `a group holds at most ${s.limits.proxiesPerGroup} proxies`, { entity: 'proxy', limit: s.limits.proxiesPerGroup, reason: 'per group' });
  }
  const access = await regionFor(tx, s, input.accessRegion, 'access', `${field}accessRegion`);
  validateSize(access, input.bandwidth, input.concurrent);
  let originRegion = group?.originRegion;
  if (!group) {
    if (input.originRegion === undefined) throw new ModelError('missing', 'originRegion', 'originRegion is required for a proxy outside a group', { entity: 'proxy' });
    originRegion = (await regionFor(tx, s, input.originRegion, 'origin', 'originRegion')).id;
  }
  const ipVersion = group?.ipVersion ?? input.ipVersion ?? 'IPv4';
  const groupKeys = group ? keysOf((await tx.list('streamListener', { parentId: group.id })).items) : [];
  const now = stamp();
  const p: Proxy = {
    id: await freshId(tx, 'proxy'), tenantId, cloudProjectId: input.cloudProjectId ?? group?.cloudProjectId ?? 0, name: input.name,
    groupId: group?.id ?? null, accessRegion: access.id, originRegion: originRegion!, bandwidth: input.bandwidth, concurrent: input.concurrent,
    status: input.clonedFrom ? 'CLONING' : 'CREATING',
    address: await allocateAddress(tx, access, ipVersion, [...groupKeys, ...carried]),
    ipVersion, networkType: input.networkType ?? 'normal', packageType: input.packageType ?? group?.packageType ?? 'Thunder',
    billingType: input.billingType ?? 0, tags: input.tags ?? [], clientToken: input.clientToken ?? null, clonedFrom: input.clonedFrom ?? null,
    configChangedAt: null, ...budget, ext: input.ext ?? {}, createdAt: now, updatedAt: now,
  };
  await tx.put('proxy', p);
  return p;
}

export async function createGroup(store: Store, scope: Scope, s: GaapSettings, input: GroupInput & { tenantId?: string }): Promise<{ group: ConnectionGroup; proxies: Proxy[] }> {
  const tenantId = tenantFor(scope, input.tenantId);
  return store.transact(async (tx) => {
    await requireTenant(tx, tenantId);
    validateName('name', input.name, 30, 'group');
    validateTags('tags', input.tags ?? []);
    const origin = await regionFor(tx, s, input.originRegion, 'origin', 'originRegion');
    const entries = input.accessRegions ?? [];
    if (entries.length > s.limits.proxiesPerGroup) {
      throw new ModelError('limit_exceeded', 'accessRegions', `a group holds at most ${s.limits.proxiesPerGroup} proxies`, { entity: 'proxy', limit: s.limits.proxiesPerGroup, reason: 'per group' });
    }
    const now = stamp();
    const group: ConnectionGroup = {
      id: await freshId(tx, 'connectionGroup'), tenantId, cloudProjectId: input.cloudProjectId ?? 0, name: input.name, originRegion: origin.id,
      ipVersion: input.ipVersion ?? 'IPv4', packageType: input.packageType ?? 'Thunder', tags: input.tags ?? [], lifecycle: 'active',
      ext: input.ext ?? {}, createdAt: now, updatedAt: now,
    };
    await tx.put('connectionGroup', group);
    const proxies: Proxy[] = [];
    for (const [i, e] of entries.entries()) {
      proxies.push(await makeProxy(tx, s, tenantId, { name: input.name, ...e, tags: input.tags }, group, `accessRegions[${i}].`, []));
    }
    return { group, proxies };
  });
}

export const getGroup = (store: Store, scope: Scope, id: string) => fetchOwned(store, scope, 'connectionGroup', id);

export async function listGroups(store: Store, scope: Scope): Promise<ConnectionGroup[]> {
  const q = scope.kind === 'tenant' ? { tenantId: scope.tenantId } : {};
  return (await store.list('connectionGroup', q)).items;
}

/**
 * What a group's status reads as: being destroyed; creating while every proxy is; changing
 * (partially deployed) while some proxy has a task; closed when all are; else running.
 */
export function groupState(g: ConnectionGroup, proxies: readonly Proxy[]): 'RUNNING' | 'CREATING' | 'DESTROYING' | 'CLOSED' | 'CHANGING' {
  if (g.lifecycle === 'destroying') return 'DESTROYING';
  if (proxies.length > 0 && proxies.every((p) => p.status === 'CREATING')) return 'CREATING';
  if (proxies.some((p) => TRANSITIONAL.has(p.status))) return 'CHANGING';
  if (proxies.length > 0 && proxies.every((p) => p.status === 'CLOSED')) return 'CLOSED';
  return 'RUNNING';
}

export async function modifyGroup(store: Store, scope: Scope, id: string, patch: { name?: string; cloudProjectId?: number }): Promise<ConnectionGroup> {
  return store.transact(async (tx) => {
    const g = await fetchOwned(tx, scope, 'connectionGroup', id);
    requireGroupActive(g);
    const next = { ...g, name: patch.name ?? g.name, cloudProjectId: patch.cloudProjectId ?? g.cloudProjectId, updatedAt: stamp() };
    validateName('name', next.name, 30, 'group');
    await tx.put('connectionGroup', next);
    return next;
  });
}

async function hasBindings(tx: Tx, listenerIds: string[]): Promise<boolean> {
  for (const id of listenerIds) if ((await tx.list('originBinding', { parentId: id, limit: 1 })).total > 0) return true;
  return false;
}

async function dropListeners(tx: Tx, holderId: string): Promise<void> {
  for (const l of (await tx.list('streamListener', { parentId: holderId })).items) {
    for (const b of (await tx.list('originBinding', { parentId: l.id })).items) await tx.delete('originBinding', b.id);
    await tx.delete('streamListener', l.id);
  }
}

/**
 * Without force: refused while proxies remain or a group listener has bindings. With force:
 * every proxy goes DESTROYING and the group goes with the last of them (at once if empty).
 */
export async function deleteGroup(store: Store, scope: Scope, id: string, force: boolean): Promise<'deleted' | 'destroying'> {
  return store.transact(async (tx) => {
    const g = await fetchOwned(tx, scope, 'connectionGroup', id);
    requireGroupActive(g);
    const proxies = await groupProxies(tx, g.id);
    const listeners = (await tx.list('streamListener', { parentId: g.id })).items;
    if (!force && proxies.length > 0) throw new ModelError('in_use', 'groupId', `group ${id} still holds ${proxies.length} proxies`, { entity: 'proxy', limit: proxies.length, value: id });
    if (!force && (await hasBindings(tx, listeners.map((l) => l.id)))) throw new ModelError('in_use', 'groupId', `group ${id} has listeners bound to origins`, { entity: 'binding', value: id });
    for (const p of proxies) if (TRANSITIONAL.has(p.status)) requireProxyState(p, [], 'groupId');
    if (proxies.length === 0) {
      await dropListeners(tx, g.id);
      await tx.delete('connectionGroup', g.id);
      return 'deleted';
    }
    for (const p of proxies) await tx.put('proxy', { ...p, status: 'DESTROYING', updatedAt: stamp() });
    await tx.put('connectionGroup', { ...g, lifecycle: 'destroying', updatedAt: stamp() });
    return 'destroying';
  });
}

export async function createProxy(store: Store, scope: Scope, s: GaapSettings, input: ProxyInput & { tenantId?: string }): Promise<Proxy> {
  const tenantId = tenantFor(scope, input.tenantId);
  requireOperatorFields(scope, { connectionCap: input.connectionCap, byteRate: input.byteRate }, 'proxy');
  return store.transact(async (tx) => {
    await requireTenant(tx, tenantId);
    if (input.clientToken !== undefined) {
      const earlier = await tx.findAlias('proxy', `${tenantId}/${input.clientToken}`);
      if (earlier) throw new ModelError('duplicate', 'clientToken', `clientToken was already used (proxy ${earlier.id})`, { entity: 'request', value: earlier.id, reason: 'was already used' });
    }
    const group = input.groupId === undefined ? null : await fetchOwned(tx, scope, 'connectionGroup', input.groupId);
    if (group) requireGroupActive(group);
    const source = input.clonedFrom === undefined ? null : await fetchOwned(tx, scope, 'proxy', input.clonedFrom, 'clonedFrom');
    if (source) requireProxyState(source, ['RUNNING'], 'clonedFrom');
    const copied = source ? (await tx.list('streamListener', { parentId: source.id })).items : [];
    const groupCount = group ? (await tx.list('streamListener', { parentId: group.id })).total : 0;
    if (copied.length + groupCount > s.limits.listenersPerProxy) {
      throw new ModelError('limit_exceeded', 'clonedFrom', `a proxy carries at most ${s.limits.listenersPerProxy} listeners`, { entity: 'listener', limit: s.limits.listenersPerProxy });
    }
    // A clone sells what its source sells, the operator's overrides included.
    const budget = source ? { connectionCap: input.connectionCap !== undefined ? input.connectionCap : source.connectionCap, byteRate: input.byteRate !== undefined ? input.byteRate : source.byteRate } : {};
    const p = await makeProxy(tx, s, tenantId, { ...input, ...budget }, group, '', keysOf(copied));
    for (const l of copied) {
      const id = await freshId(tx, 'streamListener');
      await tx.put('streamListener', { ...l, id, proxyId: p.id, groupId: null, holderId: p.id, status: 'running', createdAt: p.createdAt, updatedAt: p.createdAt });
      for (const b of (await tx.list('originBinding', { parentId: l.id })).items) {
        await tx.put('originBinding', { ...b, id: await freshId(tx, 'originBinding'), listenerId: id, createdAt: p.createdAt });
      }
    }
    return p;
  });
}

/** One proxy as the faces show it (its status as served, liveness.ts). `field` names the id in a refusal. */
export async function getProxy(store: Store, scope: Scope, id: string, field?: string): Promise<Proxy> {
  return (await asServed(store, [await fetchOwned(store, scope, 'proxy', id, field)]))[0]!;
}

/** The scope's proxies as the faces show them (their status as served, liveness.ts). */
export async function listProxies(store: Store, scope: Scope, filter: { groupId?: string } = {}): Promise<Proxy[]> {
  const q = { ...(scope.kind === 'tenant' ? { tenantId: scope.tenantId } : {}), ...(filter.groupId !== undefined ? { parentId: filter.groupId } : {}) };
  return asServed(store, (await store.list('proxy', q)).items.filter((p) => sees(scope, p)));
}

/** Every id must be the scope's proxy (one unknown id refuses the whole call). */
async function ownedProxies(tx: Tx, scope: Scope, ids: string[]): Promise<Proxy[]> {
  if (ids.length === 0) throw new ModelError('missing', 'proxyIds', 'proxyIds needs at least one id', { entity: 'proxy' });
  const out: Proxy[] = [];
  for (const [i, id] of [...new Set(ids)].entries()) out.push(await fetchOwned(tx, scope, 'proxy', id, `proxyIds[${i}]`));
  return out;
}

/**
 * Bandwidth and concurrency within the access region's offer, and (operator scope) the budget
 * overrides; the proxy passes through ADJUSTING, so the data plane reports when it retuned.
 * A change of sizes alone keeps the overrides: what the operator set outlives a tenant's resize.
 */
export async function modifyProxyConfiguration(store: Store, scope: Scope, s: GaapSettings, id: string, patch: { bandwidth?: number; concurrent?: number } & BudgetOverrides): Promise<Proxy> {
  requireOperatorFields(scope, { connectionCap: patch.connectionCap, byteRate: patch.byteRate }, 'proxy');
  return store.transact(async (tx) => {
    const p = await fetchOwned(tx, scope, 'proxy', id);
    if ([patch.bandwidth, patch.concurrent, patch.connectionCap, patch.byteRate].every((v) => v === undefined)) {
      throw new ModelError('missing', 'bandwidth', scope.kind === 'operator' ? 'bandwidth, concurrent, connectionCap or byteRate is required' : 'bandwidth or concurrent is required', { entity: 'proxy' });
    }
    requireProxyState(p);
    const region = await regionFor(tx, s, p.accessRegion, 'access', 'proxyId');
    // ModifyConfigTime is GAAP's record of the sizes the tenant bought; an operator retune is not one.
    const resized = patch.bandwidth !== undefined || patch.concurrent !== undefined;
    const next = withBudget<Proxy>({
      ...p, bandwidth: patch.bandwidth ?? p.bandwidth, concurrent: patch.concurrent ?? p.concurrent, status: 'ADJUSTING',
      configChangedAt: resized ? stamp() : p.configChangedAt, updatedAt: stamp(),
    }, patch);
    validateSize(region, next.bandwidth, next.concurrent);
    await tx.put('proxy', next);
    return next;
  });
}

/** Renames every proxy given; refused whole when one is mid-task. */
export async function renameProxies(store: Store, scope: Scope, ids: string[], name: string): Promise<Proxy[]> {
  return store.transact(async (tx) => {
    validateName('name', name, 32, 'proxy');
    const ps = await ownedProxies(tx, scope, ids);
    for (const p of ps) requireProxyState(p, ['RUNNING', 'CLOSED', 'ISOLATED']);
    const out = ps.map((p) => ({ ...p, name, updatedAt: stamp() }));
    for (const p of out) await tx.put('proxy', p);
    return out;
  });
}

async function switchAll(tx: Tx, proxies: Proxy[], from: ProxyStatus, to: ProxyStatus): Promise<BatchResult> {
  const r: BatchResult = { changed: [], invalidStatus: [] };
  for (const p of proxies) {
    if (p.status !== from) { r.invalidStatus.push(p.id); continue; }
    await tx.put('proxy', { ...p, status: to, updatedAt: stamp() });
    r.changed.push(p.id);
  }
  return r;
}

/** Close acts on RUNNING proxies (-> CLOSING), open on CLOSED ones (-> OPENING); others are reported. */
export async function setProxiesOpen(store: Store, scope: Scope, ids: string[], open: boolean): Promise<BatchResult> {
  return store.transact(async (tx) => switchAll(tx, await ownedProxies(tx, scope, ids), open ? 'CLOSED' : 'RUNNING', open ? 'OPENING' : 'CLOSING'));
}

export async function setGroupOpen(store: Store, scope: Scope, groupId: string, open: boolean): Promise<BatchResult> {
  return store.transact(async (tx) => {
    const g = await fetchOwned(tx, scope, 'connectionGroup', groupId);
    requireGroupActive(g);
    return switchAll(tx, await groupProxies(tx, g.id), open ? 'CLOSED' : 'RUNNING', open ? 'OPENING' : 'CLOSING');
  });
}

/**
 * The proxies go DESTROYING (deleted once applied). One batch stays within one group (or
 * standalone); without force, any bound listener among them refuses the whole batch.
 */
export async function destroyProxies(store: Store, scope: Scope, ids: string[], force: boolean): Promise<BatchResult> {
  return store.transact(async (tx) => {
    const ps = await ownedProxies(tx, scope, ids);
    if (new Set(ps.map((p) => p.groupId)).size > 1) throw new ModelError('conflict', 'proxyIds', 'proxyIds span more than one group', { entity: 'proxy', reason: 'span more than one group' });
    if (!force) {
      for (const p of ps) {
        if (await hasBindings(tx, (await listenersOf(tx, p)).map((l) => l.id))) {
          throw new ModelError('in_use', 'proxyIds', `proxy ${p.id} has listeners bound to origins`, { entity: 'binding', value: p.id });
        }
      }
    }
    const r: BatchResult = { changed: [], invalidStatus: [] };
    for (const p of ps) {
      if (TRANSITIONAL.has(p.status)) { r.invalidStatus.push(p.id); continue; }
      await tx.put('proxy', { ...p, status: 'DESTROYING', updatedAt: stamp() });
      r.changed.push(p.id);
    }
    return r;
  });
}

/**
 * Called by the data plane once a node serving the proxy's access region has applied it in
 * state `seen`: a transitional state settles (DESTROYING deletes the proxy, its listeners and
 * bindings, and a destroying group with its last proxy). A proxy that moved on since (or is
 * gone) is left alone, so a late report cannot undo a newer task. Returns the new status.
 */
export async function markApplied(store: Store, scope: Scope, proxyId: string, seen: ProxyStatus): Promise<ProxyStatus | 'gone' | null> {
  requireOperator(scope, 'markApplied');
  return store.transact(async (tx) => {
    const p = await tx.get('proxy', proxyId);
    if (!p || p.status !== seen) return null;
    const to = SETTLES_TO[p.status];
    if (to === undefined) return null;
    if (to !== 'gone') {
      await tx.put('proxy', { ...p, status: to, updatedAt: stamp() });
      return to;
    }
    await dropListeners(tx, p.id);
    await tx.delete('proxy', p.id);
    if (p.groupId !== null) {
      const g = await tx.get('connectionGroup', p.groupId);
      if (g && g.lifecycle === 'destroying' && (await groupProxies(tx, g.id)).length === 0) {
        await dropListeners(tx, g.id);
        await tx.delete('connectionGroup', g.id);
      }
    }
    return 'gone';
  });
}
