import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { OPERATOR } from '../../control/scope.js';
import * as ups from '../../control/upstreams.js';
import type { Upstream } from '../../model/types.js';
import { withId, withSub, type Id, type NativeDeps, type Sub } from './common.js';
import * as S from './schemas.js';

const list = (u: Upstream) => ({ items: u.members, total: u.members.length });

/** /v1/upstreams/{id}/members: add-or-update by endpoint, replace, patch one, enable/disable. */
export const memberRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store, limits }) => {
  const mutate = (id: string, fn: (u: Upstream) => Upstream | void) => ups.updateUpstream(store, OPERATOR, id, fn, limits);

  app.get('/v1/upstreams/:id/members', { schema: { tags: ['members'], ...withId() } }, async (req) => list(await ups.getUpstream(store, OPERATOR, (req.params as Id).id)));
  app.post('/v1/upstreams/:id/members', {
    schema: { tags: ['members'], ...withId({ body: Type.Object({ members: Type.Array(S.MemberInput, { minItems: 1, maxItems: 10000 }) }, { additionalProperties: false }) }), description: 'Add-or-update by host and port; the first of duplicates in one call wins.' },
  }, async (req) => list(await mutate((req.params as Id).id, (x) => ups.upsertMembers(x, (req.body as { members: S.TMemberInput[] }).members))));
  app.put('/v1/upstreams/:id/members', { schema: { tags: ['members'], ...withId({ body: S.MembersReplace }), description: 'Replace all members, or those of one group.' } }, async (req) => {
    const b = req.body as { members: S.TMemberInput[]; group?: string };
    return list(await mutate((req.params as Id).id, (x) => ups.replaceMembers(x, b.members, b.group)));
  });
  app.patch('/v1/upstreams/:id/members/:sub', { schema: { tags: ['members'], ...withSub({ body: Type.Partial(S.MemberInput) }) } }, async (req) => {
    const p = req.params as Sub;
    const u = await mutate(p.id, (x) => { ups.patchMember(x, p.sub, req.body as Partial<S.TMemberInput>); });
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
};
