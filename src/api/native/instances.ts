import type { FastifyPluginAsync } from 'fastify';
import { OPERATOR } from '../../control/scope.js';
import * as tenants from '../../control/tenants.js';
import { err, page, withId, type Id, type NativeDeps } from './common.js';
import * as S from './schemas.js';

/** /v1/instances: the gateway instances every region has (a default one made on first use). */
export const instanceRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store }) => {
  app.post('/v1/instances', { schema: { tags: ['instances'], body: S.InstanceCreate, response: err } }, async (req, reply) => {
    const b = req.body as { name: string; region: string };
    return reply.status(201).send(await tenants.createInstance(store, OPERATOR, b.name, b.region));
  });
  app.get('/v1/instances', { schema: { tags: ['instances'], querystring: S.Paging } }, async (req) => {
    const { limit, offset } = page(req);
    return tenants.listInstances(store, OPERATOR, { limit, offset });
  });
  app.get('/v1/instances/:id', { schema: { tags: ['instances'], ...withId() } }, async (req) => tenants.getInstance(store, OPERATOR, (req.params as Id).id));
  app.delete('/v1/instances/:id', { schema: { tags: ['instances'], ...withId() } }, async (req, reply) => {
    await tenants.deleteInstance(store, OPERATOR, (req.params as Id).id);
    return reply.status(204).send();
  });
};
