import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { OPERATOR } from '../../control/scope.js';
import * as ups from '../../control/upstreams.js';
import type { MemberGroupInput } from '../../control/inputs.js';
import type { Upstream } from '../../model/types.js';
import { withId, withSub, type Id, type NativeDeps, type Sub } from './common.js';
import * as S from './schemas.js';

const list = (u: Upstream) => ({ items: u.memberGroups, total: u.memberGroups.length });

/** /v1/upstreams/{id}/member-groups: add-or-update by name, replace one, delete one (with its members). */
export const memberGroupRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store, limits }) => {
  const mutate = (id: string, fn: (u: Upstream) => Upstream | void) => ups.updateUpstream(store, OPERATOR, id, fn, limits);

  app.get('/v1/upstreams/:id/member-groups', { schema: { tags: ['member groups'], ...withId() } }, async (req) => list(await ups.getUpstream(store, OPERATOR, (req.params as Id).id)));
  app.post('/v1/upstreams/:id/member-groups', {
    schema: { tags: ['member groups'], ...withId({ body: Type.Object({ memberGroups: Type.Array(S.MemberGroupInput, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false }) }), description: 'Add-or-update by name.' },
  }, async (req) => list(await mutate((req.params as Id).id, (x) => ups.upsertGroups(x, (req.body as { memberGroups: S.TMemberGroupInput[] }).memberGroups))));
  app.put('/v1/upstreams/:id/member-groups/:sub', { schema: { tags: ['member groups'], ...withSub({ body: S.MemberGroupInput }) } }, async (req) => {
    const p = req.params as Sub;
    const b = req.body as S.TMemberGroupInput;
    // Name, weight and remark are always this call's; other fields change only when given.
    const described = ['name', 'weight', 'remark', ...Object.keys(b)] as (keyof MemberGroupInput)[];
    const u = await mutate(p.id, (x) => { ups.replaceGroup(x, p.sub, b, described); });
    return ups.findGroup(u, p.sub);
  });
  app.delete('/v1/upstreams/:id/member-groups/:sub', { schema: { tags: ['member groups'], ...withSub() } }, async (req, reply) => {
    const p = req.params as Sub;
    await mutate(p.id, (x) => ups.removeGroup(x, p.sub));
    return reply.status(204).send();
  });
};
