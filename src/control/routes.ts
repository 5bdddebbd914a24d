import { DEFAULT_ROUTE_TIMEOUT_MS } from '../model/defaults.js';
import { ModelError } from '../model/errors.js';
import { newId, nowIso } from '../model/ids.js';
import type { Route } from '../model/types.js';
import { validateRoute } from '../model/validate.js';
import type { Store } from '../store/store.js';
import type { RouteInput } from './inputs.js';
import { getOwnedUpstream } from './upstreams.js';

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

/** A route belongs with its upstream: same tenant, and the upstream must exist. */
export async function createRoute(store: Store, input: RouteInput, tenantId?: string): Promise<Route> {
  return store.transact(async (tx) => {
    const up = await getOwnedUpstream(tx, input.upstreamId, tenantId);
    const r = build(input, up.tenantId, null);
    validateRoute(r);
    await tx.put('route', r);
    return r;
  });
}

export async function replaceRoute(store: Store, id: string, input: RouteInput, tenantId?: string): Promise<Route> {
  return store.transact(async (tx) => {
    const prev = await tx.get('route', id);
    if (!prev || (tenantId !== undefined && prev.tenantId !== tenantId)) throw new ModelError('not_found', 'routeId', `route ${id} does not exist`);
    const up = await getOwnedUpstream(tx, input.upstreamId, prev.tenantId);
    const r = build(input, up.tenantId, prev);
    validateRoute(r);
    await tx.put('route', r);
    return r;
  });
}

export async function deleteRoute(store: Store, id: string, tenantId?: string): Promise<void> {
  await store.transact(async (tx) => {
    const prev = await tx.get('route', id);
    if (!prev || (tenantId !== undefined && prev.tenantId !== tenantId)) throw new ModelError('not_found', 'routeId', `route ${id} does not exist`);
    await tx.delete('route', id);
  });
}
