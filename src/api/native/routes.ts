import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Upstream } from '../../model/types.js';
import type { Store } from '../../store/store.js';
import * as tenants from '../../control/tenants.js';
import * as ups from '../../control/upstreams.js';
import * as routes from '../../control/routes.js';
import type { Limits } from '../../control/upstreams.js';
import type { HealthReporter } from '../health-reporter.js';
import { ApiError } from './errors.js';
import * as S from './schemas.js';

export interface NativeDeps {
  store: Store;
  limits: Limits;
  defaultRegion: string;
  health: HealthReporter;
}

type Id = { id: string };
type Sub = { id: string; sub: string };

// Documented error responses; typed loosely so that handlers may answer 201/204 as well.
const err: Record<string, unknown> = { 400: S.ErrorBody, 401: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };
const withId = (extra: object = {}) => ({ params: S.IdParam, response: err, ...extra });
const withSub = (extra: object = {}) => ({ params: S.SubIdParam, response: err, ...extra });

function page(req: FastifyRequest): { limit: number; offset: number; tenantId?: string } {
  const q = req.query as S.TPaging;
  return { limit: q.limit ?? 20, offset: q.offset ?? 0, tenantId: q.tenantId };
}

/** Key pairs are listed without their secret: it is shown once, at creation. */
function publicKey(k: { id: string; tenantId: string; secretId: string; createdAt: string }) {
  return { id: k.id, tenantId: k.tenantId, secretId: k.secretId, createdAt: k.createdAt };
}

function publicToken(t: { id: string; tenantId: string | null; name: string; createdAt: string; expiresAt: string | null }) {
  return { id: t.id, tenantId: t.tenantId, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt };
}

export function registerNativeRoutes(app: FastifyInstance, deps: NativeDeps): void {
  const { store, limits } = deps;

  // ---- tenants and their credentials ---------------------------------------------
  app.post('/v1/tenants', { schema: { tags: ['tenants'], body: S.TenantCreate, response: err } }, async (req, reply) => {
    const t = await tenants.createTenant(store, (req.body as { name: string }).name);
    return reply.status(201).send(t);
  });
  app.get('/v1/tenants', { schema: { tags: ['tenants'], querystring: S.Paging } }, async (req) => {
    const { limit, offset } = page(req);
    return store.list('tenant', { limit, offset });
  });
  app.get('/v1/tenants/:id', { schema: { tags: ['tenants'], ...withId() } }, async (req) => tenants.requireTenant(store, (req.params as Id).id));
  app.delete('/v1/tenants/:id', { schema: { tags: ['tenants'], ...withId() } }, async (req, reply) => {
    await tenants.deleteTenant(store, (req.params as Id).id);
    return reply.status(204).send();
  });

  app.post('/v1/tenants/:id/keys', { schema: { tags: ['credentials'], ...withId(), description: 'The secret key is in this response only.' } }, async (req, reply) => {
    const k = await tenants.createKeyPair(store, (req.params as Id).id);
    return reply.status(201).send({ ...publicKey(k), secretKey: k.secretKey });
  });
  app.get('/v1/tenants/:id/keys', { schema: { tags: ['credentials'], ...withId() } }, async (req) => {
    const id = (req.params as Id).id;
    await tenants.requireTenant(store, id);
    const r = await store.list('keypair', { tenantId: id });
    return { items: r.items.map(publicKey), total: r.total };
  });
  app.delete('/v1/tenants/:id/keys/:sub', { schema: { tags: ['credentials'], ...withSub() } }, async (req, reply) => {
    const p = req.params as Sub;
    await tenants.deleteOwned(store, 'keypair', p.id, p.sub);
    return reply.status(204).send();
  });

  app.post('/v1/tenants/:id/tokens', { schema: { tags: ['credentials'], ...withId({ body: S.TokenCreate }), description: 'The token is in this response only.' } }, async (req, reply) => {
    const b = (req.body ?? {}) as { name?: string; ttlSeconds?: number };
    const { token, clear } = await tenants.createToken(store, (req.params as Id).id, b.name ?? '', b.ttlSeconds ?? null);
    return reply.status(201).send({ ...publicToken(token), token: clear });
  });
  app.get('/v1/tenants/:id/tokens', { schema: { tags: ['credentials'], ...withId() } }, async (req) => {
    const id = (req.params as Id).id;
    await tenants.requireTenant(store, id);
    const r = await store.list('token', { tenantId: id });
    return { items: r.items.map(publicToken), total: r.total };
  });
  app.delete('/v1/tenants/:id/tokens/:sub', { schema: { tags: ['credentials'], ...withSub() } }, async (req, reply) => {
    const p = req.params as Sub;
    await tenants.deleteOwned(store, 'token', p.id, p.sub);
    return reply.status(204).send();
  });

  app.post('/v1/tenants/:id/projects', {
    schema: { tags: ['tenants'], ...withId({ body: S.ProjectOpen }), description: "The tenant's project in a region (made on first use; 201 when made now, 200 when it existed). Its id is the Huawei project_id." },
  }, async (req, reply) => {
    const { project, created } = await tenants.openProject(store, (req.params as Id).id, (req.body as { region: string }).region);
    return reply.status(created ? 201 : 200).send(project);
  });
  app.get('/v1/tenants/:id/projects', { schema: { tags: ['tenants'], ...withId() } }, async (req) => {
    const id = (req.params as Id).id;
    await tenants.requireTenant(store, id);
    return store.list('project', { tenantId: id });
  });

  // ---- instances -------------------------------------------------------------------
  app.post('/v1/instances', { schema: { tags: ['instances'], body: S.InstanceCreate, response: err } }, async (req, reply) => {
    const b = req.body as { name: string; region: string };
    return reply.status(201).send(await tenants.createInstance(store, b.name, b.region));
  });
  app.get('/v1/instances', { schema: { tags: ['instances'], querystring: S.Paging } }, async (req) => {
    const { limit, offset } = page(req);
    return store.list('instance', { limit, offset });
  });
  app.get('/v1/instances/:id', { schema: { tags: ['instances'], ...withId() } }, async (req) => {
    const i = await store.get('instance', (req.params as Id).id);
    if (!i) throw new ApiError(404, 'not_found', `instance ${(req.params as Id).id} does not exist`);
    return i;
  });
  app.delete('/v1/instances/:id', { schema: { tags: ['instances'], ...withId() } }, async (req, reply) => {
    await tenants.deleteInstance(store, (req.params as Id).id);
    return reply.status(204).send();
  });

  // ---- upstreams -------------------------------------------------------------------
  app.post('/v1/upstreams', { schema: { tags: ['upstreams'], body: S.UpstreamCreate, response: err } }, async (req, reply) => {
    const { tenantId, region, instanceId, ...input } = req.body as S.TUpstreamCreate;
    const u = await ups.createUpstream(store, { tenantId, region: region ?? deps.defaultRegion, instanceId }, input, limits);
    return reply.status(201).send(u);
  });
  app.get('/v1/upstreams', { schema: { tags: ['upstreams'], querystring: S.Paging } }, async (req) => store.list('upstream', page(req)));
  app.get('/v1/upstreams/:id', { schema: { tags: ['upstreams'], ...withId() } }, async (req) => ups.getOwnedUpstream(store, (req.params as Id).id));
  app.put('/v1/upstreams/:id', { schema: { tags: ['upstreams'], ...withId({ body: S.UpstreamReplace }), description: 'Full update: omitted fields return to defaults, lists are replaced.' } }, async (req) =>
    ups.replaceUpstream(store, (req.params as Id).id, req.body as S.TUpstreamReplace, undefined, limits));
  app.patch('/v1/upstreams/:id', { schema: { tags: ['upstreams'], ...withId({ body: S.UpstreamPatch }), description: 'Partial update: only the fields given change.' } }, async (req) =>
    ups.patchUpstream(store, (req.params as Id).id, req.body as S.TUpstreamPatch, undefined, limits));
  app.delete('/v1/upstreams/:id', { schema: { tags: ['upstreams'], ...withId() } }, async (req, reply) => {
    await ups.deleteUpstream(store, (req.params as Id).id);
    return reply.status(204).send();
  });
  app.get('/v1/upstreams/:id/health', { schema: { tags: ['upstreams'], ...withId() } }, async (req) => {
    const u = await ups.getOwnedUpstream(store, (req.params as Id).id);
    return { upstreamId: u.id, error: deps.health.problem(u), members: deps.health.report(u) };
  });

  // ---- members ---------------------------------------------------------------------
  const mutate = (id: string, fn: (u: Upstream) => Upstream) => ups.updateUpstream(store, id, fn, undefined, limits);
  app.get('/v1/upstreams/:id/members', { schema: { tags: ['members'], ...withId() } }, async (req) => {
    const u = await ups.getOwnedUpstream(store, (req.params as Id).id);
    return { items: u.members, total: u.members.length };
  });
  app.post('/v1/upstreams/:id/members', {
    schema: { tags: ['members'], ...withId({ body: Type.Object({ members: Type.Array(S.MemberInput, { minItems: 1, maxItems: 10000 }) }, { additionalProperties: false }) }), description: 'Add-or-update by host and port; the first of duplicates in one call wins.' },
  }, async (req) => {
    const u = await mutate((req.params as Id).id, (x) => ups.upsertMembers(x, (req.body as { members: S.TMemberInput[] }).members));
    return { items: u.members, total: u.members.length };
  });
  app.put('/v1/upstreams/:id/members', { schema: { tags: ['members'], ...withId({ body: S.MembersReplace }), description: 'Replace all members, or those of one group.' } }, async (req) => {
    const b = req.body as { members: S.TMemberInput[]; group?: string };
    const u = await mutate((req.params as Id).id, (x) => ups.replaceMembers(x, b.members, b.group));
    return { items: u.members, total: u.members.length };
  });
  app.patch('/v1/upstreams/:id/members/:sub', { schema: { tags: ['members'], ...withSub({ body: Type.Partial(S.MemberInput) }) } }, async (req) => {
    const p = req.params as Sub;
    const u = await mutate(p.id, (x) => {
      const m = ups.findMember(x, p.sub);
      const b = req.body as Partial<S.TMemberInput>;
      const groupName = b.group !== undefined ? b.group : x.memberGroups.find((g) => g.id === m.groupId)?.name ?? null;
      const next = ups.buildMember({ ...m, ...b, group: groupName }, m, x.memberGroups, 'member', m.createdAt);
      x.members = x.members.map((y) => (y.id === m.id ? next : y));
      return x;
    });
    return ups.findMember(u, p.sub);
  });
  app.delete('/v1/upstreams/:id/members/:sub', { schema: { tags: ['members'], ...withSub() } }, async (req, reply) => {
    const p = req.params as Sub;
    await mutate(p.id, (x) => ups.removeMember(x, p.sub));
    return reply.status(204).send();
  });
  for (const action of ['enable', 'disable'] as const) {
    app.post(`/v1/upstreams/:id/members/${action}`, { schema: { tags: ['members'], ...withId({ body: S.MembersEnable }) } }, async (req, reply) => {
      await mutate((req.params as Id).id, (x) => ups.setMembersEnabled(x, (req.body as { memberIds: string[] }).memberIds, action === 'enable'));
      return reply.status(204).send();
    });
  }

  // ---- member groups ---------------------------------------------------------------
  app.get('/v1/upstreams/:id/member-groups', { schema: { tags: ['member groups'], ...withId() } }, async (req) => {
    const u = await ups.getOwnedUpstream(store, (req.params as Id).id);
    return { items: u.memberGroups, total: u.memberGroups.length };
  });
  app.post('/v1/upstreams/:id/member-groups', {
    schema: { tags: ['member groups'], ...withId({ body: Type.Object({ memberGroups: Type.Array(S.MemberGroupInput, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false }) }), description: 'Add-or-update by name.' },
  }, async (req) => {
    const u = await mutate((req.params as Id).id, (x) => ups.upsertGroups(x, (req.body as { memberGroups: S.TMemberGroupInput[] }).memberGroups));
    return { items: u.memberGroups, total: u.memberGroups.length };
  });
  app.put('/v1/upstreams/:id/member-groups/:sub', { schema: { tags: ['member groups'], ...withSub({ body: S.MemberGroupInput }) } }, async (req) => {
    const p = req.params as Sub;
    const u = await mutate(p.id, (x) => {
      const g = ups.findGroup(x, p.sub);
      const b = req.body as S.TMemberGroupInput;
      if (b.name !== g.name && x.memberGroups.some((o) => o.name === b.name)) throw new ApiError(409, 'duplicate', `name: member group "${b.name}" already exists`);
      Object.assign(g, { ...b, weight: b.weight ?? null, remark: b.remark ?? '', updatedAt: new Date().toISOString() });
      return x;
    });
    return ups.findGroup(u, p.sub);
  });
  app.delete('/v1/upstreams/:id/member-groups/:sub', { schema: { tags: ['member groups'], ...withSub() } }, async (req, reply) => {
    const p = req.params as Sub;
    await mutate(p.id, (x) => ups.removeGroup(x, p.sub));
    return reply.status(204).send();
  });

  // ---- routes ----------------------------------------------------------------------
  app.post('/v1/routes', { schema: { tags: ['routes'], body: S.RouteInput, response: err } }, async (req, reply) =>
    reply.status(201).send(await routes.createRoute(store, req.body as S.TRouteInput)));
  app.get('/v1/routes', { schema: { tags: ['routes'], querystring: S.Paging } }, async (req) => store.list('route', page(req)));
  app.get('/v1/routes/:id', { schema: { tags: ['routes'], ...withId() } }, async (req) => {
    const r = await store.get('route', (req.params as Id).id);
    if (!r) throw new ApiError(404, 'not_found', `route ${(req.params as Id).id} does not exist`);
    return r;
  });
  app.put('/v1/routes/:id', { schema: { tags: ['routes'], ...withId({ body: S.RouteInput }) } }, async (req) =>
    routes.replaceRoute(store, (req.params as Id).id, req.body as S.TRouteInput));
  app.delete('/v1/routes/:id', { schema: { tags: ['routes'], ...withId() } }, async (req, reply) => {
    await routes.deleteRoute(store, (req.params as Id).id);
    return reply.status(204).send();
  });
}
