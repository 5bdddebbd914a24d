import { ModelError } from '../../model/errors.js';
import { TRANSITIONAL, type ConnectionGroup, type L4Region, type Proxy, type StreamListener } from '../../model/gaap.js';
import { newPrefixedId, nowIso } from '../../model/ids.js';
import type { Kind } from '../../model/types.js';
import type { Store, Tx } from '../../store/store.js';
import type { Scope } from '../scope.js';

/** Operator settings for the L4 control plane; defaults are GAAP's documented quotas. */
export interface GaapLimits {
  proxiesPerGroup: number;
  /** A proxy's own listeners plus its group's. */
  listenersPerProxy: number;
  originsPerListener: number;
  portsPerCall: number;
  proxiesPerTenant: number;
}
export const DEFAULT_GAAP_LIMITS: GaapLimits = { proxiesPerGroup: 20, listenersPerProxy: 50, originsPerListener: 100, portsPerCall: 20, proxiesPerTenant: 50 };

/**
 * What the node contributes: the catalogue used while the operator has stored none is one
 * region named `defaultRegion`, access and origin, whose pool is `defaultPool` (the proxy
 * listener's host). Sizes offered there (for the README):
 *   bandwidth (Mbps): 10, 20, 50, 100, 200, 500, 1000 — the values older GAAP clients accept;
 *   concurrency (x10,000 connections): 2, 5, 10, 20, 30 ... 100 — GAAP's documented range.
 * The operator replaces the catalogue with replaceRegions / putRegion.
 */
export interface GaapSettings {
  defaultRegion: string;
  defaultPool: string[];
  limits: GaapLimits;
}
export const DEFAULT_BANDWIDTHS = [10, 20, 50, 100, 200, 500, 1000];
export const DEFAULT_CONCURRENCIES = [2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

export function gaapSettings(over: Partial<Omit<GaapSettings, 'limits'>> & { limits?: Partial<GaapLimits> } = {}): GaapSettings {
  return {
    defaultRegion: over.defaultRegion ?? 'default',
    defaultPool: over.defaultPool ?? ['127.0.0.1'],
    limits: { ...DEFAULT_GAAP_LIMITS, ...over.limits },
  };
}

export function defaultCatalogue(s: GaapSettings): L4Region[] {
  const at = new Date(0).toISOString();
  return [{
    id: s.defaultRegion, name: s.defaultRegion, access: true, origin: true,
    bandwidths: [...DEFAULT_BANDWIDTHS], concurrencies: [...DEFAULT_CONCURRENCIES], pool: [...s.defaultPool],
    ext: {}, createdAt: at, updatedAt: at,
  }];
}

/** The catalogue in force: the stored regions, or the default one while none is stored. */
export async function catalogue(tx: Tx | Store, s: GaapSettings): Promise<L4Region[]> {
  const stored = (await tx.list('l4Region')).items;
  return stored.length > 0 ? stored : defaultCatalogue(s);
}

export async function regionFor(tx: Tx | Store, s: GaapSettings, id: string, role: 'access' | 'origin', field: string): Promise<L4Region> {
  const r = (await catalogue(tx, s)).find((x) => x.id === id);
  if (!r || !r[role]) throw new ModelError('not_found', field, `${field}: ${role} region "${id.slice(0, 64)}" does not exist`, { entity: `${role}Region`, value: id.slice(0, 64) });
  return r;
}

/**
 * GAAP is a global service: its objects belong to a tenant alone, not to one of its
 * regional projects or instances, so a tenant scope's narrowing does not apply to them.
 */
export function sees(scope: Scope, o: { tenantId: string }): boolean {
  return scope.kind === 'operator' || o.tenantId === scope.tenantId;
}

type Owned = 'connectionGroup' | 'proxy' | 'streamListener' | 'origin';
const FIELD: Record<Owned, string> = { connectionGroup: 'groupId', proxy: 'proxyId', streamListener: 'listenerId', origin: 'originId' };
const ENTITY: Record<Owned, string> = { connectionGroup: 'group', proxy: 'proxy', streamListener: 'listener', origin: 'origin' };

/** The object if the scope sees it; another tenant's answers not found, like a missing one. */
export async function fetchOwned<K extends Owned>(tx: Tx | Store, scope: Scope, kind: K, id: string, field = FIELD[kind]) {
  const o = await tx.get(kind, id);
  if (!o || !sees(scope, o)) throw new ModelError('not_found', field, `${field}: ${ENTITY[kind]} ${id.slice(0, 64)} does not exist`, { entity: ENTITY[kind], value: id.slice(0, 64) });
  return o;
}

const PREFIX: Partial<Record<Kind, string>> = { connectionGroup: 'lg', proxy: 'link', streamListener: 'listener', origin: 'rs', originBinding: 'bind' };
const ID_ATTEMPTS = 8;

/** A fresh GAAP-form id for `kind`, drawn inside the writing transaction. */
export async function freshId(tx: Tx, kind: Kind): Promise<string> {
  for (let i = 0; i < ID_ATTEMPTS; i++) {
    const id = newPrefixedId(PREFIX[kind]!);
    if (!(await tx.get(kind, id))) return id;
  }
  throw new Error(`no free ${kind} id after ${ID_ATTEMPTS} attempts`);
}

/** Refuses a write on a proxy mid-task ('busy') or resting outside `allowed` ('not_running'). */
export function requireProxyState(p: Proxy, allowed: readonly Proxy['status'][] = ['RUNNING'], field = 'proxyId'): void {
  if (allowed.includes(p.status)) return;
  const busy = TRANSITIONAL.has(p.status);
  throw new ModelError('conflict', field, busy ? `proxy ${p.id} is ${p.status}: a task is under way, try again when it is done` : `proxy ${p.id} is ${p.status}, not ${allowed.join(' or ')}`, {
    entity: 'proxy', value: p.status, state: busy ? 'busy' : 'not_running', reason: busy ? 'has a task under way' : `is not ${allowed.join(' or ')}`,
  });
}

/**
 * Settings only the operator's scope may write (budget overrides, listener options): the
 * cloud faces have no parameters for them, and a tenant writing one would resell capacity.
 */
export function requireOperatorFields(scope: Scope, given: Record<string, unknown>, entity: string): void {
  if (scope.kind === 'operator') return;
  const field = Object.keys(given).find((k) => given[k] !== undefined);
  if (field !== undefined) throw new ModelError('unsupported', field, `${field} is set through the operator API only`, { entity, reason: 'is set through the operator API only' });
}

export function requireGroupActive(g: ConnectionGroup, field = 'groupId'): void {
  if (g.lifecycle !== 'active') {
    throw new ModelError('conflict', field, `group ${g.id} is being destroyed`, { entity: 'group', value: 'DESTROYING', state: 'busy', reason: 'is being destroyed' });
  }
}

export function requireListenerSettled(l: StreamListener, field = 'listenerId'): void {
  if (l.status !== 'running') throw new ModelError('conflict', field, `listener ${l.id} has a task under way (${l.status})`, { entity: 'listener', value: l.status, state: 'busy', reason: 'has a task under way' });
}

export async function groupProxies(tx: Tx | Store, groupId: string): Promise<Proxy[]> {
  return (await tx.list('proxy', { parentId: groupId })).items;
}

/** The listeners a proxy carries: its own and its group's templates. */
export async function listenersOf(tx: Tx | Store, p: Pick<Proxy, 'id' | 'groupId'>): Promise<StreamListener[]> {
  const own = (await tx.list('streamListener', { parentId: p.id })).items;
  return p.groupId === null ? own : [...own, ...(await tx.list('streamListener', { parentId: p.groupId })).items];
}

export const stamp = nowIso;
