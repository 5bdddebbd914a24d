import { createHash } from 'node:crypto';
import {
  createGroup, createProxy, deleteGroup, destroyProxies, getGroup, getProxy, listGroups, listProxies, listRegions,
  modifyGroup, modifyProxyConfiguration, regionFor, renameProxies, setGroupOpen, setProxiesOpen, type BatchResult,
} from '../../../control/gaap.js';
import { tenantScope, type TenantScope } from '../../../control/scope.js';
import { poolAddresses } from '../../../model/address-pool.js';
import { ModelError } from '../../../model/errors.js';
import type { ConnectionGroup, IpVersion, L4Region, Proxy } from '../../../model/gaap.js';
import { validateSize } from '../../../model/gaap-validate.js';
import type { Action, ActionContext } from '../actions.js';
import { TencentError } from '../errors.js';
import type { Params } from '../params.js';
import { parseFilters } from '../upstream-map.js';
import { gaapCall } from './errors.js';
import { L7_ACTIONS } from './l7.js';
import { LISTENER_ACTIONS } from './listeners.js';
import { accessRegionDetail, cloudOnly, groupDetail, groupInfo, proxyInfo, regionDetail, tagsIn } from './map.js';
import { ORIGIN_ACTIONS } from './origins.js';
import * as P from './params.js';

/** GAAP is global: a tenant's objects are its own in every region, so X-TC-Region narrows nothing. */
const scopeOf = (ctx: ActionContext): TenantScope => tenantScope(ctx.tenantId);

async function regionMap(ctx: ActionContext): Promise<Map<string, L4Region>> {
  return new Map((await listRegions(ctx.store, scopeOf(ctx), ctx.gaap)).map((r) => [r.id, r]));
}

/** The proxy ids of a batch call, under their new name or the old one (never both). */
function proxyIds(p: Params): { ids: string[]; rename: Record<string, string> } {
  if (p.ProxyIds !== undefined && p.InstanceIds !== undefined) throw new TencentError('InvalidParameter', 'the parameters `ProxyIds` and `InstanceIds` name the same thing: give one of them');
  const old = p.ProxyIds === undefined && p.InstanceIds !== undefined;
  const ids = (old ? p.InstanceIds : p.ProxyIds) as string[] | undefined;
  if (!ids || ids.length === 0) throw new TencentError('MissingParameter', 'the parameter `ProxyIds` is required (at least one proxy id)');
  return { ids, rename: old ? { proxyIds: 'InstanceIds' } : {} };
}

const batch = (r: BatchResult) => ({ InvalidStatusInstanceSet: r.invalidStatus, OperationFailedInstanceSet: [] as string[] });

/** Whether a resource carries any of the tags asked for (GAAP's TagSet filters are OR). */
function anyTag(tags: readonly { key: string; value: string }[], wanted: unknown): boolean {
  const want = tagsIn(wanted);
  return want.length === 0 || want.some((w) => tags.some((t) => t.key === w.key && t.value === w.value));
}

function page<T>(items: T[], p: Params): T[] {
  const offset = (p.Offset as number | undefined) ?? 0;
  return items.slice(offset, offset + ((p.Limit as number | undefined) ?? 20));
}

/** Newest first unless asked otherwise; the id breaks ties so that pages never overlap. */
function ordered<T extends { id: string; createdAt: string }>(items: T[], p: Params, key: (x: T) => string | number = (x) => x.createdAt): T[] {
  const dir = p.Order === 'asc' ? 1 : -1;
  return [...items].sort((a, b) => {
    const ka = key(a); const kb = key(b);
    return (ka < kb ? -1 : ka > kb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * dir;
  });
}

const ORDER_KEYS: Record<string, (p: Proxy) => string | number> = {
  create_time: (p) => p.createdAt, proxy_id: (p) => p.id, bandwidth: (p) => p.bandwidth, concurrent_connections: (p) => p.concurrent,
};

/** What a CreateProxy call asked for: a repeat with the same ClientToken must ask the same. */
const fingerprint = (p: Params) => createHash('sha256').update(JSON.stringify(p)).digest('hex');

async function proxiesOfGroup(ctx: ActionContext, g: ConnectionGroup): Promise<Proxy[]> {
  return listProxies(ctx.store, scopeOf(ctx), { groupId: g.id });
}

const GROUP_NAMES = { name: 'GroupName' };
const PROXY_NAMES = { name: 'ProxyName' };

const ACTIONS: Record<string, Action> = {
  DescribeDestRegions: {
    params: P.DESCRIBE_DEST_REGIONS,
    async run(ctx) {
      const regions = [...(await regionMap(ctx)).values()].filter((r) => r.origin);
      return { TotalCount: regions.length, DestRegionSet: regions.map((r) => regionDetail(r, r.id)) };
    },
  },

  DescribeAccessRegions: {
    params: P.DESCRIBE_ACCESS_REGIONS,
    async run(ctx) {
      const regions = [...(await regionMap(ctx)).values()].filter((r) => r.access);
      return { TotalCount: regions.length, AccessRegionSet: regions.map((r) => regionDetail(r, r.id)) };
    },
  },

  DescribeAccessRegionsByDestRegion: {
    params: P.ACCESS_BY_DEST,
    async run(ctx, p) {
      const regions = await regionMap(ctx);
      const dest = p.DestRegion as string;
      if (!regions.get(dest)?.origin) throw new TencentError('InvalidParameterValue.UnknownDestRegion', `the origin region \`DestRegion\` ${JSON.stringify(dest.slice(0, 64))} does not exist`);
      const family = p.IPAddressVersion === 'IPv6' ? 6 : 4;
      const access = [...regions.values()].filter((r) => r.access && !poolAddresses(r.pool, family).next().done);
      return { TotalCount: access.length, AccessRegionSet: access.map(accessRegionDetail) };
    },
  },

  CheckProxyCreate: {
    params: P.CHECK_PROXY_CREATE,
    async run(ctx, p) {
      return gaapCall({}, async () => {
        const access = await regionFor(ctx.store, ctx.gaap, p.AccessRegion as string, 'access', 'accessRegion');
        let ipVersion = (p.IPAddressVersion as IpVersion | undefined) ?? 'IPv4';
        if (p.GroupId !== undefined) {
          const g = await getGroup(ctx.store, scopeOf(ctx), p.GroupId as string);
          ipVersion = g.ipVersion;
        } else {
          await regionFor(ctx.store, ctx.gaap, p.RealServerRegion as string, 'origin', 'originRegion');
        }
        validateSize(access, p.Bandwidth as number, p.Concurrent as number);
        // A region whose pool holds no address of the version is sold out.
        return { CheckFlag: poolAddresses(access.pool, ipVersion === 'IPv6' ? 6 : 4).next().done ? 0 : 1 };
      });
    },
  },

  CreateProxyGroup: {
    params: P.CREATE_PROXY_GROUP,
    async run(ctx, p) {
      const entries = ((p.AccessRegionSet ?? []) as Params[]).map((e) => ({
        accessRegion: e.AccessRegion as string, bandwidth: e.Bandwidth as number, concurrent: e.Concurrent as number, networkType: e.NetworkType as string | undefined,
      }));
      return gaapCall(GROUP_NAMES, async () => {
        // The control layer checks sizes per proxy; checked here first, a refusal names its entry.
        const regions = await regionMap(ctx);
        const ipVersion = (p.IPAddressVersion as IpVersion | undefined) ?? 'IPv4';
        entries.forEach((e, i) => {
          const r = regions.get(e.accessRegion);
          if (!r?.access) return;
          try {
            validateSize(r, e.bandwidth, e.concurrent);
          } catch (err) {
            if (err instanceof ModelError) throw new ModelError(err.code, `accessRegions[${i}].${err.field}`, err.message, err.details);
            throw err;
          }
          if (poolAddresses(r.pool, ipVersion === 'IPv6' ? 6 : 4).next().done) {
            throw new ModelError('limit_exceeded', `accessRegions[${i}].accessRegion`, `region ${r.id} has no ${ipVersion} address`, { entity: 'address', value: r.id, reason: `has no ${ipVersion} address to give` });
          }
        });
        const { group } = await createGroup(ctx.store, scopeOf(ctx), ctx.gaap, {
          name: p.GroupName as string, cloudProjectId: p.ProjectId as number, originRegion: p.RealServerRegion as string,
          ipVersion: p.IPAddressVersion as IpVersion | undefined, packageType: p.PackageType as string | undefined, tags: tagsIn(p.TagSet),
          accessRegions: entries, ext: cloudOnly(p, ['Http3Supported']),
        });
        return { GroupId: group.id };
      });
    },
  },

  DescribeProxyGroupList: {
    params: P.DESCRIBE_PROXY_GROUP_LIST,
    async run(ctx, p) {
      const filters = parseFilters(p.Filters, ['RealServerRegion', 'PackageType']);
      const project = p.ProjectId as number;
      const matching = (await listGroups(ctx.store, scopeOf(ctx))).filter((g) => (project === -1 || g.cloudProjectId === project)
        && (!filters.get('RealServerRegion') || filters.get('RealServerRegion')!.has(g.originRegion))
        && (!filters.get('PackageType') || filters.get('PackageType')!.has(g.packageType))
        && anyTag(g.tags, p.TagSet));
      const regions = await regionMap(ctx);
      const shown = await Promise.all(page(ordered(matching, p), p).map(async (g) => groupInfo(g, await proxiesOfGroup(ctx, g), regions)));
      return { TotalCount: matching.length, ProxyGroupList: shown };
    },
  },

  DescribeProxyGroupDetails: {
    params: P.GROUP_ID,
    async run(ctx, p) {
      return gaapCall({}, async () => {
        const g = await getGroup(ctx.store, scopeOf(ctx), p.GroupId as string);
        return { ProxyGroupDetail: groupDetail(g, await proxiesOfGroup(ctx, g), await regionMap(ctx)) };
      });
    },
  },

  ModifyProxyGroupAttribute: {
    params: P.MODIFY_PROXY_GROUP,
    async run(ctx, p) {
      return gaapCall(GROUP_NAMES, async () => {
        await modifyGroup(ctx.store, scopeOf(ctx), p.GroupId as string, { name: p.GroupName as string | undefined, cloudProjectId: p.ProjectId as number | undefined });
        return {};
      });
    },
  },

  DeleteProxyGroup: {
    params: P.DELETE_PROXY_GROUP,
    async run(ctx, p) {
      return gaapCall({}, async () => {
        await deleteGroup(ctx.store, scopeOf(ctx), p.GroupId as string, p.Force === 1);
        return {};
      });
    },
  },

  CloseProxyGroup: {
    params: P.GROUP_ID,
    async run(ctx, p) {
      return gaapCall({}, async () => batch(await setGroupOpen(ctx.store, scopeOf(ctx), p.GroupId as string, false)));
    },
  },

  OpenProxyGroup: {
    params: P.GROUP_ID,
    async run(ctx, p) {
      return gaapCall({}, async () => batch(await setGroupOpen(ctx.store, scopeOf(ctx), p.GroupId as string, true)));
    },
  },

  CreateProxy: {
    params: P.CREATE_PROXY,
    async run(ctx, p) {
      const asked = fingerprint(p);
      return gaapCall(PROXY_NAMES, async () => {
        try {
          const made = await createProxy(ctx.store, scopeOf(ctx), ctx.gaap, {
            name: p.ProxyName as string, cloudProjectId: p.ProjectId as number, accessRegion: p.AccessRegion as string,
            bandwidth: p.Bandwidth as number, concurrent: p.Concurrent as number, originRegion: p.RealServerRegion as string | undefined,
            groupId: p.GroupId as string | undefined, clientToken: p.ClientToken as string | undefined, clonedFrom: p.ClonedProxyId as string | undefined,
            ipVersion: p.IPAddressVersion as IpVersion | undefined, networkType: p.NetworkType as string | undefined,
            packageType: p.PackageType as string | undefined, billingType: p.BillingType as number | undefined, tags: tagsIn(p.TagSet),
            ext: { tencent: { ...(cloudOnly(p, ['Http3Supported']).tencent as Params | undefined), request: asked } },
          });
          return { InstanceId: made.id };
        } catch (err) {
          // A retry with the token and the same request is the same call: the proxy it made.
          if (err instanceof ModelError && err.code === 'duplicate' && err.field === 'clientToken' && typeof err.details.value === 'string') {
            const earlier = await getProxy(ctx.store, scopeOf(ctx), err.details.value);
            if ((earlier.ext.tencent as Params | undefined)?.request === asked) return { InstanceId: earlier.id };
            throw new ModelError('duplicate', 'clientToken', err.message, { ...err.details, value: p.ClientToken, reason: 'was already used by a different CreateProxy request' });
          }
          throw err;
        }
      });
    },
  },

  DescribeProxies: {
    params: P.DESCRIBE_PROXIES,
    async run(ctx, p) {
      const ids = (p.ProxyIds ?? p.InstanceIds) as string[] | undefined;
      if (ids && p.Filters !== undefined) throw new TencentError('InvalidParameter', 'the parameter `Filters` cannot be combined with `ProxyIds` or `InstanceIds`');
      const f = parseFilters(p.Filters, ['ProjectId', 'AccessRegion', 'RealServerRegion', 'GroupId', 'IPAddressVersion', 'PackageType']);
      const has = (name: string, v: string | null) => !f.get(name) || (v !== null && f.get(name)!.has(v));
      const wanted = ids ? new Set([...ids, ...((p.InstanceIds as string[] | undefined) ?? [])]) : null;
      const matching = (await listProxies(ctx.store, scopeOf(ctx))).filter((x) => (!wanted || wanted.has(x.id))
        && has('ProjectId', String(x.cloudProjectId)) && has('AccessRegion', x.accessRegion) && has('RealServerRegion', x.originRegion)
        && has('GroupId', x.groupId) && has('IPAddressVersion', x.ipVersion) && has('PackageType', x.packageType)
        && (p.Independent === undefined || (p.Independent === 1) === (x.groupId === null))
        && anyTag(x.tags, p.TagSet));
      const regions = await regionMap(ctx);
      const shown = page(ordered(matching, p, ORDER_KEYS[(p.OrderField as string | undefined) ?? 'create_time']), p).map((x) => proxyInfo(x, regions));
      return { TotalCount: matching.length, InstanceSet: shown, ProxySet: shown };
    },
  },

  DescribeProxyDetail: {
    params: P.PROXY_ID,
    async run(ctx, p) {
      return gaapCall({}, async () => ({ ProxyDetail: proxyInfo(await getProxy(ctx.store, scopeOf(ctx), p.ProxyId as string), await regionMap(ctx)) }));
    },
  },

  DescribeProxiesStatus: {
    params: P.PROXIES_STATUS,
    async run(ctx, p) {
      const { ids, rename } = proxyIds(p);
      return gaapCall(rename, async () => {
        const set = [];
        for (const [i, id] of ids.entries()) {
          const x = await getProxy(ctx.store, scopeOf(ctx), id, `proxyIds[${i}]`);
          set.push({ InstanceId: x.id, Status: x.status });
        }
        return { InstanceStatusSet: set };
      });
    },
  },

  ModifyProxyConfiguration: {
    params: P.MODIFY_PROXY_CONFIGURATION,
    async run(ctx, p) {
      if (p.ProxyId !== undefined && p.InstanceId !== undefined) throw new TencentError('InvalidParameter', 'the parameters `ProxyId` and `InstanceId` name the same thing: give one of them');
      const id = (p.ProxyId ?? p.InstanceId) as string | undefined;
      if (id === undefined) throw new TencentError('MissingParameter', 'the parameter `ProxyId` is required');
      const rename: Record<string, string> = p.ProxyId === undefined ? { proxyId: 'InstanceId' } : {};
      return gaapCall(rename, async () => {
        await modifyProxyConfiguration(ctx.store, scopeOf(ctx), ctx.gaap, id, { bandwidth: p.Bandwidth as number | undefined, concurrent: p.Concurrent as number | undefined });
        return {};
      });
    },
  },

  ModifyProxiesAttribute: {
    params: P.MODIFY_PROXIES_ATTRIBUTE,
    async run(ctx, p) {
      const { ids, rename } = proxyIds(p);
      // A batch refused for one proxy's state is refused as the whole list.
      return gaapCall({ proxyId: rename.proxyIds ?? 'ProxyIds', ...rename, ...PROXY_NAMES }, async () => {
        await renameProxies(ctx.store, scopeOf(ctx), ids, p.ProxyName as string);
        return {};
      });
    },
  },

  CloseProxies: {
    params: P.PROXY_IDS,
    async run(ctx, p) {
      const { ids, rename } = proxyIds(p);
      return gaapCall(rename, async () => batch(await setProxiesOpen(ctx.store, scopeOf(ctx), ids, false)));
    },
  },

  OpenProxies: {
    params: P.PROXY_IDS,
    async run(ctx, p) {
      const { ids, rename } = proxyIds(p);
      return gaapCall(rename, async () => batch(await setProxiesOpen(ctx.store, scopeOf(ctx), ids, true)));
    },
  },

  DestroyProxies: {
    params: P.DESTROY_PROXIES,
    async run(ctx, p) {
      const { ids, rename } = proxyIds(p);
      return gaapCall(rename, async () => batch(await destroyProxies(ctx.store, scopeOf(ctx), ids, p.Force === 1)));
    },
  },
};

/**
 * Tencent GAAP (2018-05-29): the region catalogue, connection groups, proxies, TCP/UDP
 * listeners (listeners.ts) and real servers with their bindings (origins.ts). HTTP/HTTPS
 * listeners, domains and rules answer UnsupportedOperation (l7.ts).
 */
export const GAAP_ACTIONS: ReadonlyMap<string, Action> = new Map(Object.entries({ ...ACTIONS, ...LISTENER_ACTIONS, ...ORIGIN_ACTIONS, ...L7_ACTIONS }));
