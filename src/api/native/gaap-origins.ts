import type { FastifyPluginAsync } from 'fastify';
import * as gaap from '../../control/gaap.js';
import { OPERATOR } from '../../control/scope.js';
import { err, page, slice, withId, type Id, type NativeDeps } from './common.js';
import * as G from './gaap-schemas.js';
import * as S from './schemas.js';

/** /v1/origins: the addresses (IPs or domains) a tenant binds L4 listeners to. */
export const gaapOriginRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store }) => {
  app.get('/v1/origins', { schema: { tags: ['origins'], querystring: S.Paging, response: err } }, async (req) => slice(await gaap.listOrigins(store, OPERATOR), page(req)));
  app.get('/v1/origins/:id', { schema: { tags: ['origins'], ...withId() } }, async (req) => gaap.getOrigin(store, OPERATOR, (req.params as Id).id));
  app.post('/v1/origins', { schema: { tags: ['origins'], body: G.OriginCreate, response: err, description: 'One origin per address.' } }, async (req, reply) => {
    const items = await gaap.addOrigins(store, OPERATOR, req.body as G.TOriginCreate);
    return reply.status(201).send({ items, total: items.length });
  });
  app.patch('/v1/origins/:id', { schema: { tags: ['origins'], ...withId({ body: G.OriginPatch }) } }, async (req) =>
    gaap.renameOrigin(store, OPERATOR, (req.params as Id).id, (req.body as { name: string }).name));
  app.delete('/v1/origins/:id', { schema: { tags: ['origins'], ...withId(), description: 'Refused while bound.' } }, async (req, reply) => {
    await gaap.removeOrigins(store, OPERATOR, [(req.params as Id).id]);
    return reply.status(204).send();
  });
};
