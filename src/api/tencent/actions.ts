import { randomBytes } from 'node:crypto';
import type { GaapSettings } from '../../control/gaap.js';
import { listRoutes } from '../../control/routes.js';
import { tenantScope, type TenantScope } from '../../control/scope.js';
import { createUpstream, deleteUpstream, getUpstream, listUpstreams, patchUpstream, type Limits } from '../../control/upstreams.js';
import { HEX32, TENCENT_UPSTREAM_ID } from '../../model/ids.js';
import type { L4Reporter } from '../../model/l4-report.js';
import type { Upstream } from '../../model/types.js';
import type { Store } from '../../store/store.js';
import type { HealthReporter } from '../health-reporter.js';
import { TencentError, toTencentError } from './errors.js';
import type { Params, Spec } from './params.js';
import {
  CREATE_UPSTREAM, DELETE_UPSTREAM, DESCRIBE_BIND_APIS, DESCRIBE_UPSTREAMS, MODIFY_UPSTREAM,
  createInput, modifyUpstream, parseFilters, TENCENT_DESCRIBES, upstreamInfo,
} from './upstream-map.js';

export interface ActionContext {
  store: Store;
  limits: Limits;
  health: HealthReporter;
  tenantId: string;
  region: string;
  /** The L4 catalogue defaults and quotas (GAAP). */
  gaap: GaapSettings;
  /** What this node's L4 data plane and its checks say of listeners and bindings. */
  l4: L4Reporter;
}

export interface Action {
  params: Record<string, Spec>;
  /** Take parameters beyond `params` as given (actions that refuse the whole call anyway). */
  open?: boolean;
  run(ctx: ActionContext, p: Params): Promise<Params>;
}

/** A Tencent request acts on the tenant's project in the request's region. */
function scopeOf(ctx: ActionContext): TenantScope {
  return tenantScope(ctx.tenantId, { region: ctx.region });
}

/**
 * The tenant's upstream in the request's region, else `notFoundCode`: never another tenant's.
 * Named by its Tencent id, or by the canonical 32-hex id that earlier releases showed here.
 */
async function ownUpstream(ctx: ActionContext, id: string, notFoundCode = 'ResourceNotFound'): Promise<Upstream> {
  if (!TENCENT_UPSTREAM_ID.test(id) && !HEX32.test(id)) {
    throw new TencentError(notFoundCode, `the upstream \`UpstreamId\` ${id} does not exist: an upstream id is \`upstream-\` and 8 lower-case letters and digits`);
  }
  try {
    return await getUpstream(ctx.store, scopeOf(ctx), id);
  } catch (err) {
    const te = toTencentError(err, notFoundCode);
    if (te && te.code === notFoundCode) throw new TencentError(notFoundCode, `the upstream \`UpstreamId\` ${id} does not exist in region ${ctx.region}`);
    throw te ?? err;
  }
}

export const ACTIONS: Record<string, Action> = {
  CreateUpstream: {
    params: CREATE_UPSTREAM,
    async run(ctx, p) {
      const u = await createUpstream(ctx.store, scopeOf(ctx), {}, createInput(p, `upstream-${randomBytes(4).toString('hex')}`), ctx.limits);
      return { UpstreamId: u.tencentId };
    },
  },

  DescribeUpstreams: {
    params: DESCRIBE_UPSTREAMS,
    async run(ctx, p) {
      const filters = parseFilters(p.Filters, ['UpstreamId', 'UpstreamName']);
      const ids = filters.get('UpstreamId');
      const names = filters.get('UpstreamName');
      const matching = (await listUpstreams(ctx.store, scopeOf(ctx))).items.filter((u) => (!ids || ids.has(u.tencentId) || ids.has(u.id)) && (!names || names.has(u.name)));
      const page = matching.slice(p.Offset as number, (p.Offset as number) + (p.Limit as number));
      return { Result: { TotalCount: matching.length, UpstreamSet: page.map((u) => upstreamInfo(u, ctx.health.report(u), true)) } };
    },
  },

  ModifyUpstream: {
    params: MODIFY_UPSTREAM,
    async run(ctx, p) {
      const current = await ownUpstream(ctx, p.UpstreamId as string, 'InvalidParameterValue.InvalidUpstream');
      const { patch, ext } = modifyUpstream(current, p);
      patch.ext = { tencent: ext };
      try {
        const u = await patchUpstream(ctx.store, scopeOf(ctx), current.id, patch, ctx.limits, TENCENT_DESCRIBES(patch));
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
      await deleteUpstream(ctx.store, scopeOf(ctx), u.id);
      return { UpstreamId: u.tencentId };
    },
  },

  DescribeUpstreamBindApis: {
    params: DESCRIBE_BIND_APIS,
    async run(ctx, p) {
      const u = await ownUpstream(ctx, p.UpstreamId as string);
      const filters = parseFilters(p.Filters, ['ServiceId', 'ApiId']);
      const routes = (await listRoutes(ctx.store, scopeOf(ctx), { upstreamId: u.id })).items;
      const binds = routes.map((r) => {
        const t = (r.ext.tencent as { serviceId?: string; serviceName?: string } | undefined) ?? {};
        return { ApiId: r.id, ServiceId: t.serviceId ?? '', ApiName: r.name || null, ServiceName: t.serviceName ?? null, BindTime: r.createdAt };
      }).filter((b) => (!filters.get('ApiId') || filters.get('ApiId')!.has(b.ApiId)) && (!filters.get('ServiceId') || filters.get('ServiceId')!.has(b.ServiceId)));
      const page = binds.slice(p.Offset as number, (p.Offset as number) + (p.Limit as number));
      return { Result: { TotalCount: binds.length, BindApiSet: page } };
    },
  },
};
