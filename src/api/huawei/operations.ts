import type { Instance, Project, Upstream } from '../../model/types.js';
import { ModelError } from '../../model/errors.js';
import type { Store } from '../../store/store.js';
import { tenantScope, type TenantScope } from '../../control/scope.js';
import {
  createUpstream, deleteUpstream, findGroup, getUpstream, listUpstreams, removeGroup, removeMember, replaceGroup, replaceMembers,
  replaceUpstream, setMembersEnabled, updateUpstream, upsertGroups, upsertMembers, type Limits,
} from '../../control/upstreams.js';
import { memberPort } from '../../model/defaults.js';
import { HEX32 } from '../../model/ids.js';
import type { HealthReporter } from '../health-reporter.js';
import type { Params, Spec } from '../params.js';
import {
  CHANNEL, channelInfo, channelInput, channelType, GROUPS_BODY, groupInfo, groupInput, groupsInput,
  HEALTH_FIELDS, healthConfigInfo, healthInput, HUAWEI_CHANNEL_DESCRIBES, HUAWEI_HEALTH_DESCRIBES, MEMBER_GROUP_FIELDS, MEMBER_IDS_BODY, memberInfo, MEMBERS_BODY,
  MEMBERS_REPLACE_BODY, membersInput,
} from './channel-map.js';
import { channelNotFound, groupNotFound, invalid, wrongChannelType } from './errors.js';

export interface OperationContext {
  store: Store;
  limits: Limits;
  health: HealthReporter;
  tenantId: string;
  project: Project;
  instance: Instance;
}

export interface OperationRequest {
  /** Path parameters: vpc_channel_id, member_id, member_group_id. */
  ids: Record<string, string>;
  query: Params;
  body: Params;
}

export interface Operation {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Suffix after /v2/{project_id}/apigw/instances/{instance_id}. */
  path: string;
  status: 200 | 201 | 204;
  /** Body fields; absent = the operation takes no body. */
  body?: Record<string, Spec>;
  /** Query fields beyond offset/limit; unknown query parameters are ignored, as APIG does. */
  query?: Record<string, Spec>;
  run(ctx: OperationContext, req: OperationRequest): Promise<Params | null>;
}

const text = (maxLength = 255): Spec => ({ type: 'string', maxLength });

/** A Huawei request acts in the project and instance its path names. */
function scopeOf(ctx: OperationContext): TenantScope {
  return tenantScope(ctx.tenantId, { projectId: ctx.project.id, instanceId: ctx.instance.id });
}

/** Control's "no such upstream" in APIG's words; every other error passes through. */
function asChannelError(id: string, err: unknown): unknown {
  return err instanceof ModelError && err.code === 'not_found' && err.field === 'upstreamId' ? channelNotFound(id) : err;
}

/**
 * The caller's channel in this project and instance; anything else does not exist for them.
 * APIG names channels by 32-hex ids only: control would resolve a Tencent id too, Huawei does not.
 */
async function ownChannel(ctx: OperationContext, id: string): Promise<Upstream> {
  if (!HEX32.test(id)) throw channelNotFound(id);
  try {
    return await getUpstream(ctx.store, scopeOf(ctx), id);
  } catch (err) {
    throw asChannelError(id, err);
  }
}

/** Members can be listed on any channel but changed only on those that hold their own. */
async function ownMemberChannel(ctx: OperationContext, id: string): Promise<Upstream> {
  const u = await ownChannel(ctx, id);
  if (u.channelType === 'reference') throw wrongChannelType(u.channelType);
  return u;
}

const change = (ctx: OperationContext, u: Upstream, fn: (u: Upstream) => Upstream | void) =>
  updateUpstream(ctx.store, scopeOf(ctx), u.id, fn, ctx.limits).catch((err: unknown) => { throw asChannelError(u.id, err); });

// ---- lists --------------------------------------------------------------------------

/** APIG's paging: offset < 0 -> 0; limit <= 0 -> 20; limit > 500 -> 500. */
function page<T>(items: T[], q: Params): { size: number; total: number; items: T[] } {
  const offset = Math.max(0, (q.offset as number | undefined) ?? 0);
  let limit = (q.limit as number | undefined) ?? 20;
  if (limit <= 0) limit = 20;
  if (limit > 500) limit = 500;
  const slice = items.slice(offset, offset + limit);
  return { size: slice.length, total: items.length, items: slice };
}

/** Name filters are substring matches unless `precise_search` names them. */
function matcher(q: Params, param: string): (value: string) => boolean {
  const want = q[param] as string | undefined;
  if (want === undefined || want === '') return () => true;
  const precise = String(q.precise_search ?? '').split(',').map((s) => s.trim()).includes(param);
  return precise ? (v) => v === want : (v) => v.toLowerCase().includes(want.toLowerCase());
}

const PAGING: Record<string, Spec> = { offset: { type: 'int' }, limit: { type: 'int' }, precise_search: text() };

function listChannels(ctx: OperationContext, all: Upstream[], q: Params): Params {
  const name = matcher(q, 'name');
  const groupName = matcher(q, 'member_group_name');
  const hits = all.filter((u) =>
    (q.id === undefined || u.id === q.id)
    && name(u.name)
    && (q.dict_code === undefined || ((u.ext.huawei as { dictCode?: string } | undefined)?.dictCode ?? '') === q.dict_code)
    && (q.vpc_channel_type === undefined || u.channelType === q.vpc_channel_type)
    && (q.member_host === undefined || u.members.some((m) => m.host === q.member_host))
    && (q.member_port === undefined || u.members.some((m) => memberPort(u, m) === q.member_port))
    && (q.member_group_name === undefined || u.memberGroups.some((g) => groupName(g.name)))
    && (q.member_group_id === undefined || u.memberGroups.some((g) => g.id === q.member_group_id)));
  const p = page(hits, q);
  return { size: p.size, total: p.total, vpc_channels: p.items.map((u) => channelInfo(u, ctx.health.report(u), false)) };
}

function membersPage(ctx: OperationContext, u: Upstream, q: Params): Params {
  const name = matcher(q, 'name');
  const groupName = matcher(q, 'member_group_name');
  const groups = new Map(u.memberGroups.map((g) => [g.id, g]));
  const hits = u.members.filter((m) => {
    const g = m.groupId ? groups.get(m.groupId) : undefined;
    return name(m.ecsName || m.host)
      && (q.member_group_name === undefined || (g !== undefined && groupName(g.name)))
      && (q.member_group_id === undefined || m.groupId === q.member_group_id);
  });
  const p = page(hits, q);
  const health = new Map(ctx.health.report(u).map((h) => [h.memberId, h]));
  return { size: p.size, total: p.total, members: p.items.map((m) => memberInfo(u, m, health.get(m.id))) };
}

function groupsPage(u: Upstream, q: Params): Params {
  const groupName = matcher(q, 'member_group_name');
  const hits = u.memberGroups.filter((g) => groupName(g.name)
    && (q.dict_code === undefined || ((g.ext.huawei as { dictCode?: string } | undefined)?.dictCode ?? '') === q.dict_code));
  const p = page(hits, q);
  return { size: p.size, total: p.total, member_groups: p.items.map(groupInfo) };
}

// ---- the 17 operations --------------------------------------------------------------

const CH = '/vpc-channels/:vpc_channel_id';

export const OPERATIONS: Operation[] = [
  {
    name: 'CreateVpcChannelV2', method: 'POST', path: '/vpc-channels', status: 201, body: CHANNEL,
    async run(ctx, { body }) {
      const type = channelType(body, 'builtin');
      const u = await createUpstream(ctx.store, scopeOf(ctx), {}, channelInput(body, type), ctx.limits);
      return channelInfo(u, ctx.health.report(u), false);
    },
  },
  {
    name: 'ListVpcChannelsV2', method: 'GET', path: '/vpc-channels', status: 200,
    query: {
      ...PAGING, id: text(64), name: text(64), dict_code: text(64), member_host: text(64), member_port: { type: 'int', min: 0, max: 65_535 },
      member_group_name: text(64), member_group_id: text(64), vpc_channel_type: { type: 'string', enum: ['builtin', 'microservice', 'reference'] },
    },
    async run(ctx, { query }) {
      return listChannels(ctx, (await listUpstreams(ctx.store, scopeOf(ctx))).items, query);
    },
  },
  {
    name: 'ShowDetailsOfVpcChannelV2', method: 'GET', path: CH, status: 200,
    async run(ctx, { ids }) {
      const u = await ownChannel(ctx, ids.vpc_channel_id!);
      return channelInfo(u, ctx.health.report(u), true);
    },
  },
  {
    name: 'UpdateVpcChannelV2', method: 'PUT', path: CH, status: 200, body: CHANNEL,
    async run(ctx, { ids, body }) {
      const prev = await ownChannel(ctx, ids.vpc_channel_id!);
      const type = channelType(body, prev.channelType);
      if (type !== prev.channelType) throw invalid('vpc_channel_type', ` (a ${prev.channelType} channel cannot become ${type})`);
      // Full update of what APIG describes; control carries over what only other faces set.
      const u = await replaceUpstream(ctx.store, scopeOf(ctx), prev.id, channelInput(body, type), HUAWEI_CHANNEL_DESCRIBES(body.member_type as string), ctx.limits)
        .catch((err: unknown) => { throw asChannelError(prev.id, err); });
      return channelInfo(u, ctx.health.report(u), false);
    },
  },
  {
    name: 'DeleteVpcChannelV2', method: 'DELETE', path: CH, status: 204,
    async run(ctx, { ids }) {
      const u = await ownChannel(ctx, ids.vpc_channel_id!);
      await deleteUpstream(ctx.store, scopeOf(ctx), u.id);
      return null;
    },
  },
  {
    name: 'AddingBackendInstancesV2', method: 'POST', path: `${CH}/members`, status: 201, body: MEMBERS_BODY,
    async run(ctx, { ids, body }) {
      const cur = await ownMemberChannel(ctx, ids.vpc_channel_id!);
      const inputs = membersInput(body.members as Params[], cur.memberType, cur);
      const u = await change(ctx, cur, (x) => upsertMembers(x, inputs));
      return membersPage(ctx, u, { limit: 500 });
    },
  },
  {
    name: 'ListBackendInstancesV2', method: 'GET', path: `${CH}/members`, status: 200,
    query: { ...PAGING, name: text(64), member_group_name: text(64), member_group_id: text(64) },
    async run(ctx, { ids, query }) {
      return membersPage(ctx, await ownChannel(ctx, ids.vpc_channel_id!), query);
    },
  },
  {
    name: 'UpdateBackendInstancesV2', method: 'PUT', path: `${CH}/members`, status: 200, body: MEMBERS_REPLACE_BODY,
    async run(ctx, { ids, body }) {
      const cur = await ownMemberChannel(ctx, ids.vpc_channel_id!);
      const group = (body.member_group_name as string | undefined) || undefined;
      const inputs = membersInput((body.members as Params[] | undefined) ?? [], cur.memberType, cur);
      const u = await change(ctx, cur, (x) => replaceMembers(x, inputs, group));
      return membersPage(ctx, u, { limit: 500 });
    },
  },
  {
    name: 'DeleteBackendInstanceV2', method: 'DELETE', path: `${CH}/members/:member_id`, status: 204,
    async run(ctx, { ids }) {
      const cur = await ownMemberChannel(ctx, ids.vpc_channel_id!);
      await change(ctx, cur, (x) => removeMember(x, ids.member_id!));
      return null;
    },
  },
  ...(['enable', 'disable'] as const).map((what): Operation => ({
    name: what === 'enable' ? 'BatchEnableMembers' : 'BatchDisableMembers',
    method: 'POST', path: `${CH}/members/batch-${what}`, status: 204, body: MEMBER_IDS_BODY,
    async run(ctx, { ids, body }) {
      const cur = await ownMemberChannel(ctx, ids.vpc_channel_id!);
      await change(ctx, cur, (x) => setMembersEnabled(x, body.member_ids as string[], what === 'enable'));
      return null;
    },
  })),
  {
    name: 'UpdateHealthCheck', method: 'PUT', path: `${CH}/health-config`, status: 200, body: HEALTH_FIELDS,
    async run(ctx, { ids, body }) {
      const cur = await ownChannel(ctx, ids.vpc_channel_id!);
      // APIG's health config replaces what APIG describes; passive checks and probe headers stay.
      const u = await replaceUpstream(ctx.store, scopeOf(ctx), cur.id, { healthCheck: healthInput(body) }, HUAWEI_HEALTH_DESCRIBES, ctx.limits)
        .catch((err: unknown) => { throw asChannelError(cur.id, err); });
      return healthConfigInfo(u);
    },
  },
  {
    name: 'CreateMemberGroup', method: 'POST', path: `${CH}/member-groups`, status: 201, body: GROUPS_BODY,
    async run(ctx, { ids, body }) {
      const cur = await ownChannel(ctx, ids.vpc_channel_id!);
      const inputs = groupsInput(body.member_groups as Params[], cur.channelType);
      const u = await change(ctx, cur, (x) => upsertGroups(x, inputs));
      return groupsPage(u, { limit: 500 });
    },
  },
  {
    name: 'ListMemberGroups', method: 'GET', path: `${CH}/member-groups`, status: 200,
    query: { ...PAGING, member_group_name: text(64), dict_code: text(64) },
    async run(ctx, { ids, query }) {
      return groupsPage(await ownChannel(ctx, ids.vpc_channel_id!), query);
    },
  },
  {
    name: 'ShowDetailsOfMemberGroup', method: 'GET', path: `${CH}/member-groups/:member_group_id`, status: 200,
    async run(ctx, { ids }) {
      const u = await ownChannel(ctx, ids.vpc_channel_id!);
      const g = u.memberGroups.find((x) => x.id === ids.member_group_id);
      if (!g) throw groupNotFound(ids.member_group_id!);
      return groupInfo(g);
    },
  },
  {
    name: 'UpdateMemberGroup', method: 'PUT', path: `${CH}/member-groups/:member_group_id`, status: 200, body: MEMBER_GROUP_FIELDS,
    async run(ctx, { ids, body }) {
      const cur = await ownChannel(ctx, ids.vpc_channel_id!);
      const input = groupInput(body, cur.channelType);
      const u = await change(ctx, cur, (x) => { replaceGroup(x, ids.member_group_id!, input); });
      return groupInfo(findGroup(u, ids.member_group_id!));
    },
  },
  {
    name: 'DeleteMemberGroup', method: 'DELETE', path: `${CH}/member-groups/:member_group_id`, status: 204,
    async run(ctx, { ids }) {
      const cur = await ownChannel(ctx, ids.vpc_channel_id!);
      await change(ctx, cur, (x) => removeGroup(x, ids.member_group_id!));
      return null;
    },
  },
];
