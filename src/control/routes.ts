import { DEFAULT_ROUTE_TIMEOUT_MS } from '../model/defaults.js';
import { ModelError } from '../model/errors.js';
import { newId, nowIso } from '../model/ids.js';
import type { Route } from '../model/types.js';
import { validateRoute } from '../model/validate.js';
import type { ListQuery, ListResult, Store, Tx } from '../store/store.js';
import type { RouteInput } from './inputs.js';
import { reaches, resolveScope, type Scope } from './scope.js';
import { getUpstream } from './upstreams.js';

function build(input: RouteInput, tenantId: string, prev: Route | null): Route {
  const now = nowIso();
  return {
    id: prev?.id ?? newId(),
    tenantId,
    upstreamId: input.upstreamId,
    name: input.name ?? '',
    hosts: (input.hosts ?? []).map((h) => h.toLowerCase()),
    paths: input.paths ?? [],
    methods: (input.methods ?? []).map((m) => m.toUpperCase()),
    stripPrefix: input.stripPrefix ?? false,
    timeoutMs: input.timeoutMs ?? DEFAULT_ROUTE_TIMEOUT_MS,
    ext: input.ext ?? {},
    createdAt: prev?.createdAt ?? now,
    updatedAt: now,
  };
}

function routeNotFound(id: string): ModelError {
  return new ModelError('not_found', 'routeId', `route ${id} does not exist`, { entity: 'route', value: id });
}

/** A route lives with its upstream: the scope reaches it when it reaches that upstream. */
export async function getRoute(tx: Tx | Store, scope: Scope, id: string): Promise<Route> {
  const r = await tx.get('route', id);
  if (!r) throw routeNotFound(id);
  if (scope.kind === 'tenant') {
    const up = await tx.get('upstream', r.upstreamId);
    if (r.tenantId !== scope.tenantId || !up || !reaches(await resolveScope(tx, scope), up)) throw routeNotFound(id);
  }
  return r;
}

/** Routes the scope reaches; `upstreamId` narrows to one upstream's (which the scope must reach). */
export async function listRoutes(store: Store, scope: Scope, query: Pick<ListQuery, 'tenantId' | 'limit' | 'offset'> & { upstreamId?: string } = {}): Promise<ListResult<Route>> {
  // Named in any form getUpstream accepts; the routes point at the canonical id.
  const upstreamId = query.upstreamId === undefined ? undefined : (await getUpstream(store, scope, query.upstreamId)).id;
  const { upstreamId: _named, ...paging } = query;
  if (scope.kind === 'operator') return store.list('route', { ...paging, parentId: upstreamId });
  const r = await resolveScope(store, scope);
  const ups = new Map((await store.list('upstream', { tenantId: scope.tenantId, limit: 100_000 })).items.map((u) => [u.id, u]));
  const items = (await store.list('route', { tenantId: scope.tenantId, parentId: upstreamId, limit: 100_000 })).items
    .filter((x) => { const u = ups.get(x.upstreamId); return u !== undefined && reaches(r, u); })
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  const offset = query.offset ?? 0;
  return { items: items.slice(offset, query.limit === undefined ? undefined : offset + query.limit), total: items.length };
}

/** A route belongs with its upstream: same tenant, and the upstream must exist in the scope. */
export async function createRoute(store: Store, scope: Scope, input: RouteInput): Promise<Route> {
  return store.transact(async (tx) => {
    const up = await getUpstream(tx, scope, input.upstreamId);
    const r = build({ ...input, upstreamId: up.id }, up.tenantId, null);
    validateRoute(r);
    await tx.put('route', r);
    return r;
  });
}

/** A route may move to another upstream of the same tenant, never across tenants. */
export async function replaceRoute(store: Store, scope: Scope, id: string, input: RouteInput): Promise<Route> {
  return store.transact(async (tx) => {
    const prev = await getRoute(tx, scope, id);
    const up = await getUpstream(tx, scope, input.upstreamId);
    if (up.tenantId !== prev.tenantId) throw new ModelError('not_found', 'upstreamId', `upstream ${input.upstreamId} does not exist`, { entity: 'upstream', value: input.upstreamId });
    const r = build({ ...input, upstreamId: up.id }, up.tenantId, prev);
    validateRoute(r);
    await tx.put('route', r);
    return r;
  });
}

export async function deleteRoute(store: Store, scope: Scope, id: string): Promise<void> {
  await store.transact(async (tx) => {
    await getRoute(tx, scope, id);
    await tx.delete('route', id);
  });
}
