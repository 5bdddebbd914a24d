import type { FastifyPluginAsync } from 'fastify';
import * as gaap from '../../control/gaap.js';
import { OPERATOR } from '../../control/scope.js';
import type { Proxy } from '../../model/gaap.js';
import { err, slice, withId, type Id, type NativeDeps } from './common.js';
import { ApiError } from './errors.js';
import * as G from './gaap-schemas.js';
import { proxyView } from './gaap-views.js';

/** A batch of one that changed nothing: the proxy's state did not allow the task. */
function refused(p: Proxy, task: string): ApiError {
  return new ApiError(409, 'conflict', `id: proxy ${p.id} is ${p.status}, it cannot ${task} now`);
}

const BUDGET = 'connectionCap and byteRate show the operator\'s overrides (null: none); budget shows what the data plane enforces (byteRate in payload bytes per second per direction, connectionCap in open connections plus UDP sessions).';

function isoSeconds(v: string, field: string): number {
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new ApiError(400, 'bad_format', `query.${field}: ${JSON.stringify(v.slice(0, 40))} is not an ISO 8601 date-time`);
  return Math.floor(ms / 1000);
}

/** /v1/proxies: L4 proxies, standalone or in a group, and their lifecycle. */
export const gaapProxyRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store, gaap: s, l4 }) => {
  app.get('/v1/proxies', { schema: { tags: ['proxies'], querystring: G.GaapPaging, response: err } }, async (req) => {
    const q = req.query as G.TGaapPaging;
    const r = slice(await gaap.listProxies(store, OPERATOR, q.groupId === undefined ? {} : { groupId: q.groupId }), q);
    return { items: r.items.map(proxyView), total: r.total };
  });
  app.get('/v1/proxies/:id', { schema: { tags: ['proxies'], ...withId(), description: BUDGET } }, async (req) => proxyView(await gaap.getProxy(store, OPERATOR, (req.params as Id).id)));
  app.get('/v1/proxies/:id/stats', {
    schema: {
      tags: ['proxies'], ...withId({ querystring: G.StatsQuery, response: { ...err, 200: G.StatsAnswer } }),
      description: 'GAAP statistics of the proxy, summed over every node: per bucket of `granularity` seconds, the max of its minutes (InBandwidth/OutBandwidth in Mbps, a minute\'s average; Concurrent: the most connections plus UDP sessions open at once; InPackets/OutPackets: UDP datagrams per second, TCP packets are not measured). A point is null where nothing is kept (older than 24 h) or the metric is not measured.',
    },
  }, async (req) => {
    const id = (req.params as Id).id;
    const q = req.query as G.TStatsQuery;
    const now = Date.now();
    const toS = q.to === undefined ? Math.floor(now / 1000) : isoSeconds(q.to, 'to');
    const fromS = q.from === undefined ? toS - 3600 : isoSeconds(q.from, 'from');
    const metrics = q.metrics === undefined ? ['InBandwidth', 'OutBandwidth', 'Concurrent', 'InPackets', 'OutPackets'] : q.metrics.split(',');
    const series = await gaap.proxyStatistics(store, OPERATOR, l4.stats, id, { fromS, toS, granularity: q.granularity ?? 60 }, metrics, now);
    return { proxyId: id, from: new Date(fromS * 1000).toISOString(), to: new Date(toS * 1000).toISOString(), granularity: q.granularity ?? 60, metrics: Object.fromEntries(series.map((x) => [x.metric, x.points])) };
  });
  app.post('/v1/proxies', { schema: { tags: ['proxies'], body: G.ProxyCreate, response: err, description: `Standalone (originRegion required) or in a group (groupId). The proxy is CREATING until a node applies it. ${BUDGET}` } }, async (req, reply) =>
    reply.status(201).send(proxyView(await gaap.createProxy(store, OPERATOR, s, req.body as G.TProxyCreate))));
  app.patch('/v1/proxies/:id', {
    schema: {
      tags: ['proxies'], ...withId({ body: G.ProxyPatch }),
      description: 'Rename, or reconfigure (bandwidth/concurrent within the access region\'s offer, and the operator\'s connectionCap/byteRate, null resetting one to the size\'s own; the proxy goes ADJUSTING until the data plane has retuned it in place): one or the other per call.',
    },
  }, async (req) => {
    const id = (req.params as Id).id;
    const b = req.body as G.TProxyPatch;
    const reconfigure = [b.bandwidth, b.concurrent, b.connectionCap, b.byteRate].some((v) => v !== undefined);
    // Two tasks on two state rules; one call doing both could half-apply.
    if (b.name !== undefined && reconfigure) throw new ApiError(400, 'conflict', 'body.name cannot change in the same call as bandwidth, concurrent, connectionCap or byteRate');
    if (b.name !== undefined) return proxyView((await gaap.renameProxies(store, OPERATOR, [id], b.name))[0]!);
    return proxyView(await gaap.modifyProxyConfiguration(store, OPERATOR, s, id, b));
  });
  for (const action of ['close', 'open'] as const) {
    app.post(`/v1/proxies/:id/${action}`, { schema: { tags: ['proxies'], ...withId(), description: action === 'close' ? 'RUNNING -> CLOSING' : 'CLOSED -> OPENING' } }, async (req) => {
      const id = (req.params as Id).id;
      const r = await gaap.setProxiesOpen(store, OPERATOR, [id], action === 'open');
      const p = await gaap.getProxy(store, OPERATOR, id);
      if (r.changed.length === 0) throw refused(p, action);
      return proxyView(p);
    });
  }
  app.delete('/v1/proxies/:id', {
    schema: { tags: ['proxies'], ...withId({ querystring: G.Force }), description: 'The proxy goes DESTROYING (202) and is deleted once applied; without force refused while a listener is bound.' },
  }, async (req, reply) => {
    const id = (req.params as Id).id;
    const r = await gaap.destroyProxies(store, OPERATOR, [id], (req.query as { force?: boolean }).force ?? false);
    const p = await gaap.getProxy(store, OPERATOR, id);
    if (r.changed.length === 0) throw refused(p, 'be destroyed');
    return reply.status(202).send(proxyView(p));
  });
};
