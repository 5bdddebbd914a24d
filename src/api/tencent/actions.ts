import { randomBytes } from 'node:crypto';
import { createUpstream, deleteUpstream, getOwnedUpstream, patchUpstream, type Limits } from '../../control/upstreams.js';
import type { Upstream } from '../../model/types.js';
import type { Store } from '../../store/store.js';
import type { HealthReporter } from '../health-reporter.js';
import { TencentError, toTencentError } from './errors.js';
import type { Params, Spec } from './params.js';
import {
  CREATE_UPSTREAM, DELETE_UPSTREAM, DESCRIBE_BIND_APIS, DESCRIBE_UPSTREAMS, MODIFY_UPSTREAM,
  createInput, modifyUpstream, parseFilters, upstreamInfo,
} from './upstream-map.js';

export interface ActionContext {
  store: Store;
  limits: Limits;
  health: HealthReporter;
  tenantId: string;
  region: string;
}

export interface Action {
  params: Record<string, Spec>;
  run(ctx: ActionContext, p: Params): Promise<Params>;
}

/** The tenant's upstream in the request's region, else `notFoundCode`: never another tenant's. */
async function ownUpstream(ctx: ActionContext, id: string, notFoundCode = 'ResourceNotFound'): Promise<Upstream> {
  try {
    const u = await getOwnedUpstream(ctx.store, id, ctx.tenantId);
    const project = await ctx.store.findUnique('project', `${ctx.tenantId}/${ctx.region}`);
    if (!project || u.projectId !== project.id) throw new TencentError(notFoundCode, `the upstream \`UpstreamId\` ${id} does not exist in region ${ctx.region}`);
    return u;
  } catch (err) {
    throw toTencentError(err, notFoundCode) ?? err;
  }
}

async function regionUpstreams(ctx: ActionContext): Promise<Upstream[]> {
  const project = await ctx.store.findUnique('project', `${ctx.tenantId}/${ctx.region}`);
  if (!project) return [];
  const all = await ctx.store.list('upstream', { tenantId: ctx.tenantId, limit: 100_000 });
  return all.items.filter((u) => u.projectId === project.id).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

export const ACTIONS: Record<string, Action> = {
  CreateUpstream: {
    params: CREATE_UPSTREAM,
    async run(ctx, p) {
      const u = await createUpstream(ctx.store, { tenantId: ctx.tenantId, region: ctx.region }, createInput(p, `upstream-${randomBytes(4).toString('hex')}`), ctx.limits);
      return { UpstreamId: u.id };
    },
  },

  DescribeUpstreams: {
    params: DESCRIBE_UPSTREAMS,
    async run(ctx, p) {
      const filters = parseFilters(p.Filters, ['UpstreamId', 'UpstreamName']);
      const ids = filters.get('UpstreamId');
      const names = filters.get('UpstreamName');
      const matching = (await regionUpstreams(ctx)).filter((u) => (!ids || ids.has(u.id)) && (!names || names.has(u.name)));
      const page = matching.slice(p.Offset as number, (p.Offset as number) + (p.Limit as number));
      return { Result: { TotalCount: matching.length, UpstreamSet: page.map((u) => upstreamInfo(u, ctx.health.report(u), true)) } };
    },
  },

  ModifyUpstream: {
    params: MODIFY_UPSTREAM,
    async run(ctx, p) {
      const current = await ownUpstream(ctx, p.UpstreamId as string, 'InvalidParameterValue.InvalidUpstream');
      const { patch, ext } = modifyUpstream(current, p);
      patch.ext = { ...current.ext, tencent: ext };
      try {
        const u = await patchUpstream(ctx.store, current.id, patch, ctx.tenantId, ctx.limits);
        return { Result: upstreamInfo(u, ctx.health.report(u), false) };
      } catch (err) {
        throw toTencentError(err, 'InvalidParameterValue.InvalidUpstream') ?? err;
      }
    },
  },

  DeleteUpstream: {
    params: DELETE_UPSTREAM,
    async run(ctx, p) {
      const u = await ownUpstream(ctx, p.UpstreamId as string);
      await deleteUpstream(ctx.store, u.id, ctx.tenantId);
      return { UpstreamId: u.id };
    },
  },

  DescribeUpstreamBindApis: {
    params: DESCRIBE_BIND_APIS,
    async run(ctx, p) {
      const u = await ownUpstream(ctx, p.UpstreamId as string);
      const filters = parseFilters(p.Filters, ['ServiceId', 'ApiId']);
      const routes = (await ctx.store.list('route', { parentId: u.id, limit: 100_000 })).items
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
      const binds = routes.map((r) => {
        const t = (r.ext.tencent as { serviceId?: string; serviceName?: string } | undefined) ?? {};
        return { ApiId: r.id, ServiceId: t.serviceId ?? '', ApiName: r.name || null, ServiceName: t.serviceName ?? null, BindTime: r.createdAt };
      }).filter((b) => (!filters.get('ApiId') || filters.get('ApiId')!.has(b.ApiId)) && (!filters.get('ServiceId') || filters.get('ServiceId')!.has(b.ServiceId)));
      const page = binds.slice(p.Offset as number, (p.Offset as number) + (p.Limit as number));
      return { Result: { TotalCount: binds.length, BindApiSet: page } };
    },
  },
};
