import type { FastifyPluginAsync } from 'fastify';
import { OPERATOR } from '../../control/scope.js';
import * as tenants from '../../control/tenants.js';
import type { KeyPair, Token } from '../../model/types.js';
import { err, page, withId, withSub, type Id, type NativeDeps, type Sub } from './common.js';
import * as S from './schemas.js';

/** Key pairs are listed without their secret: it is shown once, at creation. */
function publicKey(k: KeyPair) {
  return { id: k.id, tenantId: k.tenantId, secretId: k.secretId, createdAt: k.createdAt };
}

function publicToken(t: Token) {
  return { id: t.id, tenantId: t.tenantId, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt };
}

/** /v1/tenants and what hangs off a tenant: key pairs, tokens, projects. */
export const tenantRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store }) => {
  app.post('/v1/tenants', { schema: { tags: ['tenants'], body: S.TenantCreate, response: err } }, async (req, reply) =>
    reply.status(201).send(await tenants.createTenant(store, OPERATOR, (req.body as { name: string }).name)));
  app.get('/v1/tenants', { schema: { tags: ['tenants'], querystring: S.Paging } }, async (req) => {
    const { limit, offset } = page(req);
    return tenants.listTenants(store, OPERATOR, { limit, offset });
  });
  app.get('/v1/tenants/:id', { schema: { tags: ['tenants'], ...withId() } }, async (req) => tenants.getTenant(store, OPERATOR, (req.params as Id).id));
  app.delete('/v1/tenants/:id', { schema: { tags: ['tenants'], ...withId() } }, async (req, reply) => {
    await tenants.deleteTenant(store, OPERATOR, (req.params as Id).id);
    return reply.status(204).send();
  });

  app.post('/v1/tenants/:id/keys', { schema: { tags: ['credentials'], ...withId(), description: 'The secret key is in this response only.' } }, async (req, reply) => {
    const k = await tenants.createKeyPair(store, OPERATOR, (req.params as Id).id);
    return reply.status(201).send({ ...publicKey(k), secretKey: k.secretKey });
  });
  app.get('/v1/tenants/:id/keys', { schema: { tags: ['credentials'], ...withId() } }, async (req) => {
    const r = await tenants.listKeyPairs(store, OPERATOR, (req.params as Id).id);
    return { items: r.items.map(publicKey), total: r.total };
  });
  app.delete('/v1/tenants/:id/keys/:sub', { schema: { tags: ['credentials'], ...withSub() } }, async (req, reply) => {
    const p = req.params as Sub;
    await tenants.deleteOwned(store, OPERATOR, 'keypair', p.id, p.sub);
    return reply.status(204).send();
  });

  app.post('/v1/tenants/:id/tokens', { schema: { tags: ['credentials'], ...withId({ body: S.TokenCreate }), description: 'The token is in this response only.' } }, async (req, reply) => {
    const b = (req.body ?? {}) as { name?: string; ttlSeconds?: number };
    const { token, clear } = await tenants.createToken(store, OPERATOR, (req.params as Id).id, b.name ?? '', b.ttlSeconds ?? null);
    return reply.status(201).send({ ...publicToken(token), token: clear });
  });
  app.get('/v1/tenants/:id/tokens', { schema: { tags: ['credentials'], ...withId() } }, async (req) => {
    const r = await tenants.listTokens(store, OPERATOR, (req.params as Id).id);
    return { items: r.items.map(publicToken), total: r.total };
  });
  app.delete('/v1/tenants/:id/tokens/:sub', { schema: { tags: ['credentials'], ...withSub() } }, async (req, reply) => {
    const p = req.params as Sub;
    await tenants.deleteOwned(store, OPERATOR, 'token', p.id, p.sub);
    return reply.status(204).send();
  });

  app.post('/v1/tenants/:id/projects', {
    schema: { tags: ['tenants'], ...withId({ body: S.ProjectOpen }), description: "The tenant's project in a region (made on first use; 201 when made now, 200 when it existed). Its id is the Huawei project_id." },
  }, async (req, reply) => {
    const { project, created } = await tenants.openProject(store, OPERATOR, (req.params as Id).id, (req.body as { region: string }).region);
    return reply.status(created ? 201 : 200).send(project);
  });
  app.get('/v1/tenants/:id/projects', { schema: { tags: ['tenants'], ...withId() } }, async (req) => tenants.listProjects(store, OPERATOR, (req.params as Id).id));
};
