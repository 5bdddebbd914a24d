import { ModelError } from '../../model/errors.js';
import { portKey, type ClientIpMethod, type L4Scheduler, type OriginType, type Proxy, type StreamListener, type StreamProtocol, type UdpCheck } from '../../model/gaap.js';
import { validateListener, validatePorts } from '../../model/gaap-validate.js';
import type { Ext } from '../../model/types.js';
import type { Store, Tx } from '../../store/store.js';
import type { Scope } from '../scope.js';
import { checkPortsFree } from './addresses.js';
import {
  fetchOwned, freshId, groupProxies, listenersOf, requireGroupActive, requireListenerSettled, requireOperatorFields, requireProxyState, sees, stamp, type GaapSettings,
} from './common.js';

/** Exactly one of the two: a proxy's own listener, or a group's template. */
export type Holder = { proxyId: string; groupId?: undefined } | { groupId: string; proxyId?: undefined };

export interface ListenerSettings {
  name: string;
  scheduler: L4Scheduler;
  originType: OriginType;
  healthCheck?: boolean;
  delayLoop?: number;
  connectTimeout?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
  clientIp?: ClientIpMethod;
  failover?: boolean;
  udpCheck?: Partial<UdpCheck> | null;
  ext?: Ext;
  /** Operator scope only (GAAP has no parameters for these); absent: the defaults the model names. */
  proxyProtocolVersion?: 1 | 2;
  idleTimeout?: number;
  sessionPersist?: number;
}

/** Fields a listener keeps for life (GAAP: port, protocol, origin type and client-IP method). */
const IMMUTABLE = ['originType', 'clientIp'] as const;
/**
 * Operator options a patch may reset with null (back to absent: the default). The PROXY
 * protocol version stays modifiable, unlike clientIp: whether the origin reads a header at
 * all is the contract GAAP fixes, while v1 -> v2 is an origin upgrade the operator rolls out
 * (new connections send the new form, open ones are untouched), and recreating the listener
 * for it would cut its connections and lose its bindings.
 */
const RESETTABLE = ['proxyProtocolVersion', 'idleTimeout'] as const;
type Resettable = (typeof RESETTABLE)[number];
export type ListenerPatch = Partial<Omit<ListenerSettings, (typeof IMMUTABLE)[number] | Resettable>> & Partial<Pick<ListenerSettings, (typeof IMMUTABLE)[number]>>
  & { [K in Resettable]?: ListenerSettings[K] | null };

const operatorOptions = (o: { proxyProtocolVersion?: unknown; idleTimeout?: unknown; sessionPersist?: unknown }) => (
  { proxyProtocolVersion: o.proxyProtocolVersion, idleTimeout: o.idleTimeout, sessionPersist: o.sessionPersist });

function udpCheck(given: Partial<UdpCheck> | null | undefined): UdpCheck | null {
  if (!given) return null;
  return { type: given.type ?? 'port', port: given.port ?? 0, contextType: 'TEXT', send: given.send ?? '', receive: given.receive ?? '' };
}

/** The holder's proxies (one, or the group's members), each checked to be at rest. */
async function holderProxies(tx: Tx, scope: Scope, h: Holder): Promise<{ holderId: string; proxies: Proxy[]; isGroup: boolean }> {
  if ((h.proxyId === undefined) === (h.groupId === undefined)) {
    throw new ModelError('conflict', 'proxyId', 'give exactly one of proxyId and groupId', { entity: 'listener', reason: 'exactly one of proxyId and groupId' });
  }
  if (h.proxyId !== undefined) {
    const p = await fetchOwned(tx, scope, 'proxy', h.proxyId);
    requireProxyState(p);
    return { holderId: p.id, proxies: [p], isGroup: false };
  }
  const g = await fetchOwned(tx, scope, 'connectionGroup', h.groupId!);
  requireGroupActive(g);
  const proxies = await groupProxies(tx, g.id);
  for (const p of proxies) requireProxyState(p, ['RUNNING', 'CLOSED', 'CREATING'], 'groupId');
  return { holderId: g.id, proxies, isGroup: true };
}

/** One listener per port; a group's are carried by every proxy of the group, later ones included. */
export async function createListeners(store: Store, scope: Scope, s: GaapSettings, holder: Holder, protocol: StreamProtocol, ports: number[], input: ListenerSettings): Promise<StreamListener[]> {
  requireOperatorFields(scope, operatorOptions(input), 'listener');
  return store.transact(async (tx) => {
    validatePorts(ports, s.limits.portsPerCall);
    const { holderId, proxies, isGroup } = await holderProxies(tx, scope, holder);
    for (const p of proxies) {
      const count = (await listenersOf(tx, p)).length;
      if (count + ports.length > s.limits.listenersPerProxy) {
        throw new ModelError('limit_exceeded', 'ports', `a proxy carries at most ${s.limits.listenersPerProxy} listeners (${p.id} has ${count})`, { entity: 'listener', limit: s.limits.listenersPerProxy });
      }
    }
    // A group without proxies still keeps its templates apart.
    const own = new Set((await tx.list('streamListener', { parentId: holderId })).items.map((l) => portKey(l.protocol, l.port)));
    ports.forEach((port, i) => {
      if (own.has(portKey(protocol, port))) throw new ModelError('duplicate', `ports[${i}]`, `ports[${i}]: ${protocol.toUpperCase()} port ${port} is already used`, { entity: 'listenerPort', value: port });
    });
    await checkPortsFree(tx, proxies, ports.map((port, i) => ({ key: portKey(protocol, port), field: `ports[${i}]` })));
    const now = stamp();
    const out: StreamListener[] = [];
    for (const port of ports) {
      const l: StreamListener = {
        id: await freshId(tx, 'streamListener'), tenantId: proxies[0]?.tenantId ?? (await fetchOwned(tx, scope, 'connectionGroup', holderId)).tenantId,
        proxyId: isGroup ? null : holderId, groupId: isGroup ? holderId : null, holderId,
        name: input.name, protocol, port, scheduler: input.scheduler, originType: input.originType, healthCheck: input.healthCheck ?? protocol === 'tcp',
        delayLoop: input.delayLoop ?? 5, connectTimeout: input.connectTimeout ?? 2, healthyThreshold: input.healthyThreshold ?? 1, unhealthyThreshold: input.unhealthyThreshold ?? 1,
        clientIp: protocol === 'tcp' ? input.clientIp ?? 'toa' : input.clientIp ?? null, failover: input.failover ?? false,
        udpCheck: protocol === 'udp' ? udpCheck(input.udpCheck) : udpCheck(input.udpCheck ?? null),
        sessionPersist: input.sessionPersist ?? 0, status: 'running', ext: input.ext ?? {}, createdAt: now, updatedAt: now,
        ...(input.proxyProtocolVersion !== undefined ? { proxyProtocolVersion: input.proxyProtocolVersion } : {}),
        ...(input.idleTimeout !== undefined ? { idleTimeout: input.idleTimeout } : {}),
      };
      validateListener(l);
      await tx.put('streamListener', l);
      out.push(l);
    }
    return out;
  });
}

export const getListener = (store: Store, scope: Scope, id: string) => fetchOwned(store, scope, 'streamListener', id);

/** A holder's own listeners; for a proxy, `withGroup` adds the group templates it carries. */
export async function listListeners(store: Store, scope: Scope, holder: Holder, withGroup = true): Promise<StreamListener[]> {
  if (holder.proxyId !== undefined) {
    const p = await fetchOwned(store, scope, 'proxy', holder.proxyId);
    return withGroup ? listenersOf(store, p) : (await store.list('streamListener', { parentId: p.id })).items;
  }
  const g = await fetchOwned(store, scope, 'connectionGroup', holder.groupId!);
  return (await store.list('streamListener', { parentId: g.id })).items.filter((l) => sees(scope, l));
}

/** Every proxy that carries the listener must be at rest, and the listener itself settled. */
export async function requireListenerWritable(tx: Tx, scope: Scope, l: StreamListener): Promise<void> {
  requireListenerSettled(l);
  await holderProxies(tx, scope, l.proxyId !== null ? { proxyId: l.proxyId } : { groupId: l.groupId! });
}

/** What the patch names changes; the rest (the operator's options on a tenant's patch included) is kept. */
export async function modifyListener(store: Store, scope: Scope, id: string, patch: ListenerPatch): Promise<StreamListener> {
  requireOperatorFields(scope, operatorOptions(patch), 'listener');
  return store.transact(async (tx) => {
    const l = await fetchOwned(tx, scope, 'streamListener', id);
    for (const k of IMMUTABLE) {
      if (patch[k] !== undefined && patch[k] !== l[k]) throw new ModelError('conflict', k, `${k} cannot change after creation`, { entity: 'listener', value: patch[k], reason: 'cannot change after creation' });
    }
    await requireListenerWritable(tx, scope, l);
    const defined = Object.fromEntries(Object.entries(patch).filter(([k, v]) => v !== undefined && v !== null && k !== 'udpCheck'));
    const next: StreamListener = {
      ...l, ...defined,
      udpCheck: patch.udpCheck === undefined ? l.udpCheck : udpCheck(patch.udpCheck === null ? null : { ...l.udpCheck, ...patch.udpCheck }),
      updatedAt: stamp(),
    };
    for (const k of RESETTABLE) if (patch[k] === null) delete next[k];
    validateListener(next);
    await tx.put('streamListener', next);
    return next;
  });
}

/**
 * Deletes listeners of one holder. Ids that are not the holder's are reported, not fatal
 * (GAAP's InvalidStatusListenerSet); without force a bound listener refuses the whole call.
 */
export async function deleteListeners(store: Store, scope: Scope, holder: Holder, ids: string[], force: boolean): Promise<{ deleted: string[]; invalid: string[] }> {
  return store.transact(async (tx) => {
    if (ids.length === 0) throw new ModelError('missing', 'listenerIds', 'listenerIds needs at least one id', { entity: 'listener' });
    const { holderId } = await holderProxies(tx, scope, holder);
    const r = { deleted: [] as string[], invalid: [] as string[] };
    const mine: StreamListener[] = [];
    for (const id of new Set(ids)) {
      const l = await tx.get('streamListener', id);
      if (!l || l.holderId !== holderId || !sees(scope, l) || l.status !== 'running') r.invalid.push(id); else mine.push(l);
    }
    for (const l of mine) {
      const bound = (await tx.list('originBinding', { parentId: l.id })).items;
      if (bound.length > 0 && !force) throw new ModelError('in_use', 'listenerIds', `listener ${l.id} is bound to ${bound.length} origin(s)`, { entity: 'binding', value: l.id, limit: bound.length });
    }
    for (const l of mine) {
      for (const b of (await tx.list('originBinding', { parentId: l.id })).items) await tx.delete('originBinding', b.id);
      await tx.delete('streamListener', l.id);
      r.deleted.push(l.id);
    }
    return r;
  });
}
