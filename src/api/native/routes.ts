import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { OPERATOR } from '../../control/scope.js';
import * as routes from '../../control/routes.js';
import { err, page, withId, type Id, type NativeDeps } from './common.js';
import { gaapGroupRoutes } from './gaap-groups.js';
import { gaapListenerRoutes } from './gaap-listeners.js';
import { gaapOriginRoutes } from './gaap-origins.js';
import { gaapProxyRoutes } from './gaap-proxies.js';
import { gaapRegionRoutes } from './gaap-regions.js';
import { instanceRoutes } from './instances.js';
import { memberGroupRoutes } from './member-groups.js';
import { memberRoutes } from './members.js';
import { nodeRoutes } from './nodes.js';
import { tenantRoutes } from './tenants.js';
import { upstreamRoutes } from './upstreams.js';
import * as S from './schemas.js';

export type { NativeDeps } from './common.js';

/** /v1/routes: what sends client requests to an upstream. */
export const routeRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store }) => {
  app.post('/v1/routes', { schema: { tags: ['routes'], body: S.RouteInput, response: err } }, async (req, reply) =>
    reply.status(201).send(await routes.createRoute(store, OPERATOR, req.body as S.TRouteInput)));
  app.get('/v1/routes', { schema: { tags: ['routes'], querystring: S.Paging } }, async (req) => routes.listRoutes(store, OPERATOR, page(req)));
  app.get('/v1/routes/:id', { schema: { tags: ['routes'], ...withId() } }, async (req) => routes.getRoute(store, OPERATOR, (req.params as Id).id));
  app.put('/v1/routes/:id', { schema: { tags: ['routes'], ...withId({ body: S.RouteInput }) } }, async (req) =>
    routes.replaceRoute(store, OPERATOR, (req.params as Id).id, req.body as S.TRouteInput));
  app.delete('/v1/routes/:id', { schema: { tags: ['routes'], ...withId() } }, async (req, reply) => {
    await routes.deleteRoute(store, OPERATOR, (req.params as Id).id);
    return reply.status(204).send();
  });
};

/** The operator API, one plugin per resource, in the order the OpenAPI document lists them. */
export const NATIVE_PLUGINS: readonly FastifyPluginAsync<NativeDeps>[] = [
  tenantRoutes, instanceRoutes, upstreamRoutes, memberRoutes, memberGroupRoutes, routeRoutes,
  gaapRegionRoutes, gaapGroupRoutes, gaapProxyRoutes, gaapListenerRoutes, gaapOriginRoutes, nodeRoutes,
];

/**
 * Mounts the operator API on `app` (the scope that holds the operator-token hook: the
 * plugins are its children, so the hook runs before every one of their routes).
 */
export async function registerNativeRoutes(app: FastifyInstance, deps: NativeDeps): Promise<void> {
  for (const plugin of NATIVE_PLUGINS) await app.register(plugin, deps);
}
