import type { FastifyPluginAsync } from 'fastify';
import * as gaap from '../../control/gaap.js';
import { OPERATOR } from '../../control/scope.js';
import type { ConnectionGroup } from '../../model/gaap.js';
import type { Store } from '../../store/store.js';
import { err, page, slice, withId, type Id, type NativeDeps } from './common.js';
import * as G from './gaap-schemas.js';
import * as S from './schemas.js';

/** A group as the operator sees it: its status is derived from its proxies, so it is shown. */
async function view(store: Store, g: ConnectionGroup) {
  const proxies = await gaap.listProxies(store, OPERATOR, { groupId: g.id });
  return { ...g, status: gaap.groupState(g, proxies), proxyIds: proxies.map((p) => p.id) };
}

/** /v1/connection-groups: a tenant's groups of proxies serving one origin region. */
export const gaapGroupRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store, gaap: s }) => {
  app.get('/v1/connection-groups', { schema: { tags: ['connection groups'], querystring: S.Paging, response: err } }, async (req) => {
    const r = slice(await gaap.listGroups(store, OPERATOR), page(req));
    return { items: await Promise.all(r.items.map((g) => view(store, g))), total: r.total };
  });
  app.get('/v1/connection-groups/:id', { schema: { tags: ['connection groups'], ...withId() } }, async (req) => view(store, await gaap.getGroup(store, OPERATOR, (req.params as Id).id)));
  app.post('/v1/connection-groups', { schema: { tags: ['connection groups'], body: G.GroupCreate, response: err, description: 'One proxy per accessRegions entry.' } }, async (req, reply) => {
    const { group, proxies } = await gaap.createGroup(store, OPERATOR, s, req.body as G.TGroupCreate);
    return reply.status(201).send({ ...group, status: gaap.groupState(group, proxies), proxyIds: proxies.map((p) => p.id) });
  });
  app.patch('/v1/connection-groups/:id', { schema: { tags: ['connection groups'], ...withId({ body: G.GroupPatch }) } }, async (req) =>
    view(store, await gaap.modifyGroup(store, OPERATOR, (req.params as Id).id, req.body as { name?: string; cloudProjectId?: number })));
  app.delete('/v1/connection-groups/:id', {
    schema: { tags: ['connection groups'], ...withId({ querystring: G.Force }), description: 'Without force refused while it holds proxies or bound listeners; with force its proxies go DESTROYING (202) and the group goes with the last.' },
  }, async (req, reply) => {
    const id = (req.params as Id).id;
    const r = await gaap.deleteGroup(store, OPERATOR, id, (req.query as { force?: boolean }).force ?? false);
    return r === 'deleted' ? reply.status(204).send() : reply.status(202).send({ id, status: 'DESTROYING' });
  });
  for (const action of ['close', 'open'] as const) {
    app.post(`/v1/connection-groups/:id/${action}`, { schema: { tags: ['connection groups'], ...withId(), description: `Proxies ${action === 'close' ? 'RUNNING go CLOSING' : 'CLOSED go OPENING'}; the others are listed in invalidStatus.` } }, async (req) =>
      gaap.setGroupOpen(store, OPERATOR, (req.params as Id).id, action === 'open'));
  }
};
