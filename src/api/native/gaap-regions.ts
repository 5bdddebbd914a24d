import type { FastifyPluginAsync } from 'fastify';
import * as gaap from '../../control/gaap.js';
import { OPERATOR } from '../../control/scope.js';
import { err, withId, type Id, type NativeDeps } from './common.js';
import * as G from './gaap-schemas.js';

/** /v1/l4-regions: the operator's L4 catalogue (where proxies go, their sizes, their address pools). */
export const gaapRegionRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store, gaap: s }) => {
  app.get('/v1/l4-regions', { schema: { tags: ['l4 regions'], response: err, description: 'The catalogue in force; the default region while none is stored.' } }, async () => {
    const items = await gaap.listRegions(store, OPERATOR, s);
    return { items, total: items.length };
  });
  app.put('/v1/l4-regions/:id', {
    schema: { tags: ['l4 regions'], ...withId({ body: G.RegionPut }), description: 'Create or replace one region. Existing proxies keep their address; a region may not drop a role its proxies or groups use.' },
  }, async (req) => gaap.putRegion(store, OPERATOR, s, { id: (req.params as Id).id, ...(req.body as G.TRegionPut) }));
  app.delete('/v1/l4-regions/:id', { schema: { tags: ['l4 regions'], ...withId(), description: 'Refused while a proxy or group uses the region, and for the last one.' } }, async (req, reply) => {
    await gaap.deleteRegion(store, OPERATOR, s, (req.params as Id).id);
    return reply.status(204).send();
  });
};
