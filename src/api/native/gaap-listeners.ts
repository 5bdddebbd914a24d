import type { FastifyPluginAsync } from 'fastify';
import * as gaap from '../../control/gaap.js';
import type { Holder } from '../../control/gaap/listeners.js';
import { OPERATOR } from '../../control/scope.js';
import type { OriginBinding, StreamListener } from '../../model/gaap.js';
import type { L4Reporter } from '../../model/l4-report.js';
import { err, withId, type Id, type NativeDeps } from './common.js';
import { ApiError } from './errors.js';
import * as G from './gaap-schemas.js';
import { listenerView } from './gaap-views.js';

const OPTIONS = 'proxyProtocolVersion and idleTimeout show what was set (null: the default); effective shows what the data plane uses.';

function holderOf(where: string, q: { proxyId?: string; groupId?: string }): Holder {
  if ((q.proxyId === undefined) === (q.groupId === undefined)) throw new ApiError(400, 'missing', `${where}.proxyId or ${where}.groupId is required (exactly one)`);
  return q.proxyId !== undefined ? { proxyId: q.proxyId } : { groupId: q.groupId! };
}

const holderOfListener = (l: StreamListener): Holder => (l.proxyId !== null ? { proxyId: l.proxyId } : { groupId: l.groupId! });

const withDataPlane = (l4: L4Reporter, l: StreamListener) => ({ ...listenerView(l), dataPlane: l4.listener(l.id) });
/** With checks off every origin is healthy whatever the data plane still holds (it may not have applied the change yet). */
const withHealth = (l4: L4Reporter, l: StreamListener, bs: readonly OriginBinding[]) =>
  bs.map((b) => ({ ...b, health: l.healthCheck ? l4.binding(l.id, b.id) : null }));
const ok = (schema: object) => ({ ...err, 200: schema });

/** /v1/listeners: TCP/UDP listeners of a proxy, or templates every proxy of a group carries. */
export const gaapListenerRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store, gaap: s, l4 }) => {
  app.get('/v1/listeners', { schema: { tags: ['listeners'], querystring: G.ListenerQuery, response: ok(G.ListenerList), description: `A proxy's listeners include its group's templates. ${OPTIONS}` } }, async (req) => {
    const items = await gaap.listListeners(store, OPERATOR, holderOf('querystring', req.query as { proxyId?: string; groupId?: string }));
    return { items: items.map((l) => withDataPlane(l4, l)), total: items.length };
  });
  app.get('/v1/listeners/:id', { schema: { tags: ['listeners'], ...withId(), response: ok(G.ListenerOut), description: `\`dataPlane\`: the listener as this node serves it. ${OPTIONS}` } }, async (req) =>
    withDataPlane(l4, await gaap.getListener(store, OPERATOR, (req.params as Id).id)));
  app.post('/v1/listeners', { schema: { tags: ['listeners'], body: G.ListenerCreate, response: err, description: `One listener per port. ${OPTIONS}` } }, async (req, reply) => {
    const { proxyId, groupId, protocol, ports, originType, ...settings } = req.body as G.TListenerCreate;
    const items = await gaap.createListeners(store, OPERATOR, s, holderOf('body', { proxyId, groupId }), protocol, ports, { ...settings, originType: originType ?? 'ip' });
    return reply.status(201).send({ items: items.map(listenerView), total: items.length });
  });
  app.patch('/v1/listeners/:id', {
    schema: { tags: ['listeners'], ...withId({ body: G.ListenerPatch }), description: 'Port, protocol, origin type and client-IP method are fixed at creation; proxyProtocolVersion is not (new connections send the new form). null resets proxyProtocolVersion and idleTimeout to their defaults.' },
  }, async (req) => listenerView(await gaap.modifyListener(store, OPERATOR, (req.params as Id).id, req.body as G.TListenerPatch)));
  app.delete('/v1/listeners/:id', { schema: { tags: ['listeners'], ...withId({ querystring: G.Force }), description: 'Without force refused while bound to origins.' } }, async (req, reply) => {
    const id = (req.params as Id).id;
    const l = await gaap.getListener(store, OPERATOR, id);
    const r = await gaap.deleteListeners(store, OPERATOR, holderOfListener(l), [id], (req.query as { force?: boolean }).force ?? false);
    if (r.deleted.length === 0) throw new ApiError(409, 'conflict', `id: listener ${id} has a task under way (${l.status})`);
    return reply.status(204).send();
  });

  app.get('/v1/listeners/:id/bindings', { schema: { tags: ['listeners'], ...withId(), response: ok(G.BindingList), description: '`health`: what the checks of the live nodes serving the proxy\'s region say of each binding (unhealthy only when every one of them fails it).' } }, async (req) => {
    const id = (req.params as Id).id;
    const l = await gaap.getListener(store, OPERATOR, id);
    const items = await gaap.listBindings(store, OPERATOR, id);
    return { items: withHealth(l4, l, items), total: items.length };
  });
  app.put('/v1/listeners/:id/bindings', { schema: { tags: ['listeners'], ...withId({ body: G.BindingsPut }), description: 'The set given replaces the whole set; weights default to 1, roles need failover.' } }, async (req) => {
    const items = await gaap.bindOrigins(store, OPERATOR, s, (req.params as Id).id, (req.body as G.TBindingsPut).bindings);
    return { items, total: items.length };
  });
};
