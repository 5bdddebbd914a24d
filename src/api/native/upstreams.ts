import type { FastifyPluginAsync } from 'fastify';
import { EVERYTHING } from '../../control/describes.js';
import { OPERATOR } from '../../control/scope.js';
import * as ups from '../../control/upstreams.js';
import { err, page, withId, type Id, type NativeDeps } from './common.js';
import * as S from './schemas.js';

/** /v1/upstreams and an upstream's health. */
export const upstreamRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store, limits, defaultRegion, health, stats }) => {
  app.post('/v1/upstreams', { schema: { tags: ['upstreams'], body: S.UpstreamCreate, response: err } }, async (req, reply) => {
    const { tenantId, region, instanceId, ...input } = req.body as S.TUpstreamCreate;
    const u = await ups.createUpstream(store, OPERATOR, { tenantId, region: region ?? defaultRegion, instanceId }, input, limits);
    return reply.status(201).send(u);
  });
  app.get('/v1/upstreams', { schema: { tags: ['upstreams'], querystring: S.Paging } }, async (req) => ups.listUpstreams(store, OPERATOR, page(req)));
  app.get('/v1/upstreams/:id', { schema: { tags: ['upstreams'], ...withId() } }, async (req) => ups.getUpstream(store, OPERATOR, (req.params as Id).id));
  // The operator API describes the whole model: its PUT is a full update of everything.
  app.put('/v1/upstreams/:id', { schema: { tags: ['upstreams'], ...withId({ body: S.UpstreamReplace }), description: 'Full update: omitted fields return to defaults, lists are replaced.' } }, async (req) =>
    ups.replaceUpstream(store, OPERATOR, (req.params as Id).id, req.body as S.TUpstreamReplace, EVERYTHING, limits));
  app.patch('/v1/upstreams/:id', { schema: { tags: ['upstreams'], ...withId({ body: S.UpstreamPatch }), description: 'Partial update: only the fields given change.' } }, async (req) =>
    ups.patchUpstream(store, OPERATOR, (req.params as Id).id, req.body as S.TUpstreamPatch, limits));
  app.delete('/v1/upstreams/:id', { schema: { tags: ['upstreams'], ...withId() } }, async (req, reply) => {
    await ups.deleteUpstream(store, OPERATOR, (req.params as Id).id);
    return reply.status(204).send();
  });
  app.get('/v1/upstreams/:id/health', {
    schema: { tags: ['upstreams'], ...withId(), response: { ...err, 200: S.UpstreamHealth }, description: 'Each member\'s health across the live nodes, and each node\'s verdict.' },
  }, async (req) => {
    const u = await ups.getUpstream(store, OPERATOR, (req.params as Id).id);
    return { upstreamId: u.id, error: health.problem(u), members: health.report(u).map((m) => ({ ...m, nodes: m.nodes ?? [] })) };
  });
  app.get('/v1/upstreams/:id/stats', {
    schema: { tags: ['upstreams'], ...withId({ response: { ...err, 200: S.UpstreamStatsBody } }), description: 'Requests, attempts, retries and latency this node counted for the upstream (GET /metrics has the same series).' },
  }, async (req) => {
    const u = await ups.getUpstream(store, OPERATOR, (req.params as Id).id);
    return stats.upstream(u.id);
  });
};
