import {
  addOrigins, bindOrigins, fetchOwned, getListener, listBindings, listOrigins, originUse, removeOrigins, renameOrigin, type BindingInput,
} from '../../../control/gaap.js';
import type { FailoverRole } from '../../../model/gaap.js';
import type { Action } from '../actions.js';
import { TencentError } from '../errors.js';
import type { Params } from '../params.js';
import { parseFilters } from '../upstream-map.js';
import { l4Call, scopeOf } from './listeners.js';
import { bindRealServer, realServerInfo, tagsIn } from './map.js';
import * as P from './params.js';

// Real servers (GAAP's origins) and their bindings to TCP/UDP listeners (cloud-apis.md C.5).

const NAMES = { name: 'RealServerName' };

export const ORIGIN_ACTIONS: Record<string, Action> = {
  AddRealServers: {
    params: P.ADD_REAL_SERVERS,
    async run(ctx, p) {
      return l4Call(NAMES, async () => {
        const made = await addOrigins(ctx.store, scopeOf(ctx), {
          cloudProjectId: p.ProjectId as number, addresses: p.RealServerIP as string[], name: p.RealServerName as string, tags: tagsIn(p.TagSet),
        });
        return { RealServerSet: made.map((o) => ({ RealServerId: o.id, RealServerIP: o.address })) };
      });
    },
  },

  DescribeRealServers: {
    params: P.DESCRIBE_REAL_SERVERS,
    async run(ctx, p) {
      const f = parseFilters(p.Filters, ['RealServerName', 'RealServerIP']);
      const has = (name: string, v: string) => !f.get(name) || f.get(name)!.has(v);
      const project = p.ProjectId as number;
      const search = (p.SearchValue as string | undefined)?.toLowerCase();
      const want = tagsIn(p.TagSet);
      const matching = (await listOrigins(ctx.store, scopeOf(ctx))).filter((o) => (project === -1 || o.cloudProjectId === project)
        && (search === undefined || o.address.includes(search)) && has('RealServerName', o.name) && has('RealServerIP', o.address)
        && (want.length === 0 || want.some((w) => o.tags.some((t) => t.key === w.key && t.value === w.value))))
        .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? -1 : 1));
      const offset = (p.Offset as number | undefined) ?? 0;
      return { TotalCount: matching.length, RealServerSet: matching.slice(offset, offset + ((p.Limit as number | undefined) ?? 20)).map(realServerInfo) };
    },
  },

  ModifyRealServerName: {
    params: P.MODIFY_REAL_SERVER_NAME,
    async run(ctx, p) {
      return l4Call(NAMES, async () => {
        await renameOrigin(ctx.store, scopeOf(ctx), p.RealServerId as string, p.RealServerName as string);
        return {};
      });
    },
  },

  RemoveRealServers: {
    params: P.REAL_SERVER_IDS,
    async run(ctx, p) {
      return l4Call({}, async () => {
        await removeOrigins(ctx.store, scopeOf(ctx), p.RealServerIds as string[]);
        return {};
      });
    },
  },

  DescribeRealServersStatus: {
    params: P.REAL_SERVER_IDS,
    async run(ctx, p) {
      const ids = p.RealServerIds as string[];
      if (ids.length === 0) throw new TencentError('MissingParameter', 'the parameter `RealServerIds` is required (at least one real server id)');
      try {
        return await l4Call({}, async () => {
          const set = [];
          for (const [i, id] of ids.entries()) {
            await fetchOwned(ctx.store, scopeOf(ctx), 'origin', id, `originIds[${i}]`);
            const use = (await originUse(ctx.store, scopeOf(ctx), id))[0];
            set.push({ RealServerId: id, BindStatus: use ? 1 : 0, ProxyId: use?.proxyId ?? null, GroupId: use?.groupId ?? null });
          }
          return { TotalCount: set.length, RealServerStatusSet: set };
        });
      } catch (err) {
        // GAAP's word here for a real server the caller does not have.
        if (err instanceof TencentError && err.code === 'ResourceNotFound') throw new TencentError('InvalidParameterValue.RealServerNotBelong', err.message);
        throw err;
      }
    },
  },

  BindListenerRealServers: {
    params: P.BIND_LISTENER_REAL_SERVERS,
    async run(ctx, p) {
      const set: BindingInput[] = ((p.RealServerBindSet ?? []) as Params[]).map((e) => ({
        originId: e.RealServerId as string, port: e.RealServerPort as number, address: e.RealServerIP as string,
        weight: e.RealServerWeight as number | undefined, role: e.RealServerFailoverRole as FailoverRole | undefined,
      }));
      return l4Call({}, async () => {
        await bindOrigins(ctx.store, scopeOf(ctx), ctx.gaap, p.ListenerId as string, set);
        return {};
      });
    },
  },

  DescribeListenerRealServers: {
    params: P.LISTENER_ID,
    async run(ctx, p) {
      return l4Call({}, async () => {
        const scope = scopeOf(ctx);
        const l = await getListener(ctx.store, scope, p.ListenerId as string);
        const origins = await listOrigins(ctx.store, scope);
        const byId = new Map(origins.map((o) => [o.id, o]));
        // Candidates: the caller's real servers of the kind the listener takes (IP or domain).
        const candidates = origins.filter((o) => o.type === l.originType).map((o) => ({
          RealServerIP: o.address, RealServerId: o.id, RealServerName: o.name, ProjectId: o.cloudProjectId, InBanBlacklist: 0,
        }));
        const bound = await listBindings(ctx.store, scope, l.id);
        return {
          TotalCount: candidates.length, RealServerSet: candidates,
          BindRealServerTotalCount: bound.length, BindRealServerSet: bound.map((b) => bindRealServer(l, b, byId.get(b.originId), ctx.l4)),
        };
      });
    },
  },
};
