import {
  createListeners, deleteListeners, getListener, listBindings, listListeners, listOrigins, modifyListener,
  type Holder, type ListenerPatch, type ListenerSettings,
} from '../../../control/gaap.js';
import { tenantScope, type TenantScope } from '../../../control/scope.js';
import { ModelError } from '../../../model/errors.js';
import type { L4Scheduler, StreamListener, StreamProtocol, UdpCheck } from '../../../model/gaap.js';
import type { Action, ActionContext } from '../actions.js';
import { TencentError } from '../errors.js';
import type { Params } from '../params.js';
import { gaapCall } from './errors.js';
import { listenerInfo } from './map.js';
import * as P from './params.js';

// TCP and UDP listeners (cloud-apis.md C.4). A listener belongs to a proxy or to a group;
// a group's is carried by every proxy of the group, later ones included (control/gaap).

export const scopeOf = (ctx: ActionContext): TenantScope => tenantScope(ctx.tenantId);
const LISTENER_NAMES = { name: 'ListenerName' };

/** ProxyId or GroupId, never both; null when neither is given and `required` is false. */
function holderOf(p: Params, required: boolean): Holder | null {
  if (p.ProxyId !== undefined && p.GroupId !== undefined) {
    throw new TencentError('InvalidParameter', 'the parameters `ProxyId` and `GroupId` cannot both be given: a listener belongs to a proxy or to a group');
  }
  if (p.ProxyId !== undefined) return { proxyId: p.ProxyId as string };
  if (p.GroupId !== undefined) return { groupId: p.GroupId as string };
  if (required) throw new TencentError('MissingParameter', 'the parameter `ProxyId` or `GroupId` is required');
  return null;
}

/**
 * A listener write refused for its proxy's state: GAAP's listener actions answer
 * InstanceStatusNotInRuning for a proxy mid-task too (ActionIsDoing is a proxy action's code).
 */
export async function l4Call<T>(rename: Record<string, string>, call: () => Promise<T>): Promise<T> {
  try {
    return await gaapCall(rename, call);
  } catch (err) {
    if (err instanceof TencentError && err.code === 'FailedOperation.ActionIsDoing') throw new TencentError('FailedOperation.InstanceStatusNotInRuning', err.message);
    throw err;
  }
}

const switchOf = (v: unknown): boolean | undefined => (v === undefined ? undefined : v === 1);

/** The UDP check fields given, and only those (a modify merges them onto the stored check). */
function udpCheckIn(p: Params): Partial<UdpCheck> {
  const c: Partial<UdpCheck> = {};
  if (p.CheckType !== undefined) c.type = p.CheckType === 'PING' ? 'ping' : 'port';
  if (p.CheckPort !== undefined) c.port = p.CheckPort as number;
  if (p.SendContext !== undefined) c.send = p.SendContext as string;
  if (p.RecvContext !== undefined) c.receive = p.RecvContext as string;
  return c;
}

function settingsIn(p: Params, protocol: StreamProtocol): ListenerSettings {
  return {
    name: p.ListenerName as string, scheduler: p.Scheduler as L4Scheduler, originType: p.RealServerType === 'DOMAIN' ? 'domain' : 'ip',
    healthCheck: switchOf(p.HealthCheck), delayLoop: p.DelayLoop as number | undefined, connectTimeout: p.ConnectTimeout as number | undefined,
    healthyThreshold: p.HealthyThreshold as number | undefined, unhealthyThreshold: p.UnhealthyThreshold as number | undefined,
    clientIp: protocol === 'tcp' ? (p.ClientIPMethod === 1 ? 'proxy_protocol' : 'toa') : undefined, failover: switchOf(p.FailoverSwitch),
    udpCheck: protocol === 'udp' ? udpCheckIn(p) : undefined,
  };
}

function createAction(protocol: StreamProtocol): Action {
  return {
    params: protocol === 'tcp' ? P.CREATE_TCP_LISTENERS : P.CREATE_UDP_LISTENERS,
    async run(ctx, p) {
      const holder = holderOf(p, true)!;
      if (((p.RealServerPorts as number[] | undefined) ?? []).length > 0) {
        throw new TencentError('InvalidParameterValue', 'the parameter `RealServerPorts` applies only to version 1.0 proxies; these are 2.0: give each origin\'s port in BindListenerRealServers');
      }
      return l4Call(LISTENER_NAMES, async () => {
        const made = await createListeners(ctx.store, scopeOf(ctx), ctx.gaap, holder, protocol, p.Ports as number[], settingsIn(p, protocol));
        return { ListenerIds: made.map((l) => l.id) };
      });
    },
  };
}

const notFound = (id: string) => new ModelError('not_found', 'listenerId', `listener ${id.slice(0, 64)} does not exist`, { entity: 'listener', value: id.slice(0, 64) });

/** The listener of this protocol, and of the holder when one is named; anything else is not found. */
async function listenerFor(ctx: ActionContext, p: Params, protocol: StreamProtocol): Promise<StreamListener> {
  const holder = holderOf(p, false);
  const id = p.ListenerId as string;
  const l = await getListener(ctx.store, scopeOf(ctx), id);
  if (l.protocol !== protocol) throw notFound(id);
  if (holder && l.holderId !== (holder.proxyId ?? holder.groupId)) throw notFound(id);
  return l;
}

function describeAction(protocol: StreamProtocol): Action {
  return {
    params: P.DESCRIBE_LISTENERS,
    async run(ctx, p) {
      const holder = holderOf(p, false);
      if (!holder && p.ListenerId === undefined) throw new TencentError('MissingParameter', 'one of the parameters `ProxyId`, `GroupId` or `ListenerId` is required');
      if (p.SearchValue !== undefined && (p.ListenerName !== undefined || p.Port !== undefined)) {
        throw new TencentError('InvalidParameter', 'the parameter `SearchValue` cannot be combined with `ListenerName` or `Port`');
      }
      return l4Call({}, async () => {
        const scope = scopeOf(ctx);
        let all: StreamListener[];
        if (holder) {
          // By proxy: its own listeners and the group ones it carries.
          all = await listListeners(ctx.store, scope, holder);
          if (p.ListenerId !== undefined) {
            all = all.filter((l) => l.id === p.ListenerId);
            if (all.length === 0) throw notFound(p.ListenerId as string);
          }
        } else all = [await getListener(ctx.store, scope, p.ListenerId as string)];
        const search = p.SearchValue as string | undefined;
        const matching = all.filter((l) => l.protocol === protocol
          && (p.ListenerName === undefined || l.name === p.ListenerName) && (p.Port === undefined || l.port === p.Port)
          && (search === undefined || l.name.includes(search) || String(l.port).includes(search)))
          .sort((a, b) => a.port - b.port || (a.id < b.id ? -1 : 1));
        const offset = (p.Offset as number | undefined) ?? 0;
        const shown = matching.slice(offset, offset + ((p.Limit as number | undefined) ?? 20));
        const origins = new Map((await listOrigins(ctx.store, scope)).map((o) => [o.id, o]));
        const set = [];
        for (const l of shown) set.push(listenerInfo(l, await listBindings(ctx.store, scope, l.id), origins, ctx.l4));
        return { TotalCount: matching.length, ListenerSet: set };
      });
    },
  };
}

function modifyAction(protocol: StreamProtocol): Action {
  return {
    params: protocol === 'tcp' ? P.MODIFY_TCP_LISTENER : P.MODIFY_UDP_LISTENER,
    async run(ctx, p) {
      holderOf(p, false);
      return l4Call(LISTENER_NAMES, async () => {
        const l = await listenerFor(ctx, p, protocol);
        const check = protocol === 'udp' ? udpCheckIn(p) : {};
        const patch: ListenerPatch = {
          name: p.ListenerName as string | undefined, scheduler: p.Scheduler as L4Scheduler | undefined, healthCheck: switchOf(p.HealthCheck),
          delayLoop: p.DelayLoop as number | undefined, connectTimeout: p.ConnectTimeout as number | undefined,
          healthyThreshold: p.HealthyThreshold as number | undefined, unhealthyThreshold: p.UnhealthyThreshold as number | undefined,
          failover: switchOf(p.FailoverSwitch), udpCheck: Object.keys(check).length > 0 ? check : undefined,
        };
        await modifyListener(ctx.store, scopeOf(ctx), l.id, patch);
        return {};
      });
    },
  };
}

export const LISTENER_ACTIONS: Record<string, Action> = {
  CreateTCPListeners: createAction('tcp'),
  CreateUDPListeners: createAction('udp'),
  DescribeTCPListeners: describeAction('tcp'),
  DescribeUDPListeners: describeAction('udp'),
  ModifyTCPListenerAttribute: modifyAction('tcp'),
  ModifyUDPListenerAttribute: modifyAction('udp'),

  DeleteListeners: {
    params: P.DELETE_LISTENERS,
    async run(ctx, p) {
      const holder = holderOf(p, true)!;
      return l4Call({}, async () => {
        const r = await deleteListeners(ctx.store, scopeOf(ctx), holder, p.ListenerIds as string[], p.Force === 1);
        return { OperationSucceedListenerSet: r.deleted, OperationFailedListenerSet: [] as string[], InvalidStatusListenerSet: r.invalid };
      });
    },
  },
};
