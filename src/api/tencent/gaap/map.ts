import { isIP } from 'node:net';
import { groupState } from '../../../control/gaap.js';
import type { ConnectionGroup, L4Region, ListenerStatus, Origin, OriginBinding, Proxy, StreamListener } from '../../../model/gaap.js';
import type { L4Reporter } from '../../../model/l4-report.js';
import type { Ext, Tag } from '../../../model/types.js';
import type { Params } from '../params.js';

// The canonical L4 objects as GAAP shows them (cloud-apis.md C.1-C.3, E.2): Unix-second
// times, TagPair tags, old and new id names side by side, the group status a string in lists
// and an int in details.

export const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);

export const tagsIn = (set: unknown): Tag[] => ((set ?? []) as { TagKey: string; TagValue?: string }[]).map((t) => ({ key: t.TagKey, value: t.TagValue ?? '' }));
export const tagsOut = (tags: readonly Tag[]) => tags.map((t) => ({ TagKey: t.key, TagValue: t.value }));

/** Cloud-only fields a request carried, kept under ext.tencent and shown back as given. */
export function cloudOnly(p: Params, names: readonly string[]): Ext {
  const kept = Object.fromEntries(names.filter((n) => p[n] !== undefined).map((n) => [n, p[n]]));
  return Object.keys(kept).length ? { tencent: kept } : {};
}
const kept = (ext: Ext, name: string): unknown => (ext.tencent as Record<string, unknown> | undefined)?.[name];

/** FeatureBitmap bits from the right: 1 L4 (always), 4 IPv6 (when the pool has v6 addresses). */
function features(r: L4Region): number {
  return 1 | (r.pool.some((e) => isIP(e.split('/')[0] ?? '') === 6) ? 8 : 0);
}

export function regionDetail(r: L4Region | undefined, id: string): Params {
  if (!r) return { RegionId: id, RegionName: id, RegionArea: '', RegionAreaName: '', IDCType: 'dc', FeatureBitmap: 1, SupportFeature: { NetworkType: ['normal'] } };
  return {
    RegionId: r.id, RegionName: r.name, RegionArea: (kept(r.ext, 'RegionArea') as string | undefined) ?? '', RegionAreaName: (kept(r.ext, 'RegionAreaName') as string | undefined) ?? '',
    IDCType: 'dc', FeatureBitmap: features(r), SupportFeature: { NetworkType: ['normal'] },
  };
}

export function accessRegionDetail(r: L4Region): Params {
  const d = regionDetail(r, r.id);
  return { RegionId: d.RegionId, RegionName: d.RegionName, RegionArea: d.RegionArea, RegionAreaName: d.RegionAreaName, IDCType: d.IDCType, FeatureBitmap: d.FeatureBitmap, BandwidthList: [...r.bandwidths], ConcurrentList: [...r.concurrencies] };
}

export function proxyInfo(p: Proxy, regions: ReadonlyMap<string, L4Region>): Params {
  return {
    InstanceId: p.id, ProxyId: p.id, CreateTime: unix(p.createdAt), ProjectId: p.cloudProjectId, ProxyName: p.name,
    AccessRegion: p.accessRegion, RealServerRegion: p.originRegion, Bandwidth: p.bandwidth, Concurrent: p.concurrent, Status: p.status,
    Domain: '', IP: p.address, Version: '2.0', Scalarable: 1, SupportProtocols: ['TCP', 'UDP'], GroupId: p.groupId, PolicyId: null,
    AccessRegionInfo: regionDetail(regions.get(p.accessRegion), p.accessRegion), RealServerRegionInfo: regionDetail(regions.get(p.originRegion), p.originRegion),
    ForwardIP: '', TagSet: tagsOut(p.tags), SupportSecurity: 0, BillingType: p.billingType, RelatedGlobalDomains: [],
    ModifyConfigTime: p.configChangedAt === null ? null : unix(p.configChangedAt), ProxyType: 100, ClientIPMethod: [0, 1],
    IPAddressVersion: p.ipVersion, NetworkType: p.networkType, PackageType: p.packageType, BanStatus: 'RECOVER',
    IPList: [{ IP: p.address, Provider: 'BGP', Bandwidth: p.bandwidth }], Http3Supported: kept(p.ext, 'Http3Supported') ?? 0,
    InBanBlacklist: 0, FeatureBitmap: 1, IsAutoScaleProxy: 0, IsSupportTLSChoice: 0,
  };
}

/** ProxyGroupDetail.Status is an int: 0 running, 1 creating, 4 destroying, 11 moving, 12 partially deployed. */
const GROUP_INT: Record<ReturnType<typeof groupState>, number> = { RUNNING: 0, CREATING: 1, DESTROYING: 4, CHANGING: 12, CLOSED: 0 };

export function groupInfo(g: ConnectionGroup, proxies: readonly Proxy[], regions: ReadonlyMap<string, L4Region>): Params {
  return {
    GroupId: g.id, Domain: null, GroupName: g.name, ProjectId: g.cloudProjectId, RealServerRegionInfo: regionDetail(regions.get(g.originRegion), g.originRegion),
    Status: groupState(g, proxies), TagSet: tagsOut(g.tags), Version: '2.0', CreateTime: unix(g.createdAt), ProxyType: 0,
    Http3Supported: kept(g.ext, 'Http3Supported') ?? 0, FeatureBitmap: 1,
  };
}

export function groupDetail(g: ConnectionGroup, proxies: readonly Proxy[], regions: ReadonlyMap<string, L4Region>): Params {
  return {
    CreateTime: unix(g.createdAt), ProjectId: g.cloudProjectId, ProxyNum: proxies.length, Status: GROUP_INT[groupState(g, proxies)],
    OwnerUin: g.tenantId, CreateUin: g.tenantId, GroupName: g.name, DnsDefaultIp: '', Domain: null,
    RealServerRegionInfo: regionDetail(regions.get(g.originRegion), g.originRegion), IsOldGroup: false, GroupId: g.id, TagSet: tagsOut(g.tags),
    PolicyId: null, Version: '2.0', ClientIPMethod: [0, 1], IPAddressVersion: g.ipVersion, PackageType: g.packageType,
    Http3Supported: kept(g.ext, 'Http3Supported') ?? 0, FeatureBitmap: 1, IsSupportTLSChoice: 0,
  };
}

/** ListenerStatus: 0 running, 1 creating, 2 destroying, 3 origins being adjusted, 4 configuration changing. */
const LISTENER_INT: Record<ListenerStatus, number> = { running: 0, creating: 1, destroying: 2, binding: 3, changing: 4 };

/** One binding as the node's checks see it, in the terms GAAP's encodings need. */
interface BindingHealth { abnormal: boolean; downIps: string[]; unresolved: boolean }

/**
 * With HealthCheck 0 GAAP reports every origin normal, whatever the data plane still holds
 * (it may not have applied the change yet); no verdict (not probed yet, not served on this
 * node) reads normal too.
 */
function healthOf(l: StreamListener, b: OriginBinding, o: Origin | undefined, l4: L4Reporter): BindingHealth {
  const r = l.healthCheck ? l4.binding(l.id, b.id) : null;
  if (!r) return { abnormal: false, downIps: [], unresolved: false };
  // DownIPList is the failed addresses a domain resolved to; an IP origin's own is not listed.
  const domain = o?.type === 'domain';
  return { abnormal: !r.healthy, downIps: domain ? [...r.downIps] : [], unresolved: domain && !r.healthy && r.downIps.length === 0 };
}

/** A bound real server: RealServerStatus 0 normal, 1 abnormal; an abnormal domain with no DownIPList did not resolve. */
export function bindRealServer(l: StreamListener, b: OriginBinding, o: Origin | undefined, l4: L4Reporter): Params {
  const h = healthOf(l, b, o, l4);
  return {
    RealServerId: b.originId, RealServerIP: o?.address ?? '', RealServerWeight: b.weight, RealServerStatus: h.abnormal ? 1 : 0, RealServerPort: b.port,
    DownIPList: h.downIps, RealServerFailoverRole: b.role,
  };
}

/** BindStatus reads the other way round on UDP than on TCP: TCP 1 normal, 0 abnormal; UDP 0 normal, 1 an IP abnormal, 2 a name unresolved. */
function bindStatus(l: StreamListener, health: readonly BindingHealth[]): number {
  const abnormal = health.filter((h) => h.abnormal);
  if (l.protocol === 'tcp') return abnormal.length > 0 ? 0 : 1;
  if (abnormal.length === 0) return 0;
  return abnormal.some((h) => h.unresolved) ? 2 : 1;
}

/**
 * A listener whose socket this node could not bind (its port taken on the machine) reads
 * creating (1): it is not serving, GAAP has no failed state, and clients that poll for 0
 * must not take it as up. Why is in the operator API's dataPlane.error.
 */
function listenerStatus(l: StreamListener, l4: L4Reporter): number {
  const served = l4.listener(l.id);
  return served !== null && served.error !== null ? LISTENER_INT.creating : LISTENER_INT[l.status];
}

export function listenerInfo(l: StreamListener, bound: readonly OriginBinding[], origins: ReadonlyMap<string, Origin>, l4: L4Reporter): Params {
  const health = bound.map((b) => healthOf(l, b, origins.get(b.originId), l4));
  const common: Params = {
    ListenerId: l.id, ListenerName: l.name, Port: l.port, RealServerPort: null, RealServerType: l.originType === 'ip' ? 'IP' : 'DOMAIN',
    Protocol: l.protocol.toUpperCase(), ListenerStatus: listenerStatus(l, l4), Scheduler: l.scheduler,
    ConnectTimeout: l.connectTimeout, DelayLoop: l.delayLoop, HealthCheck: l.healthCheck ? 1 : 0,
    RealServerSet: bound.map((b) => bindRealServer(l, b, origins.get(b.originId), l4)), CreateTime: unix(l.createdAt),
    HealthyThreshold: l.healthyThreshold, UnhealthyThreshold: l.unhealthyThreshold, FailoverSwitch: l.failover ? 1 : 0,
    SessionPersist: l.sessionPersist, ProxyId: l.proxyId, GroupId: l.groupId, BindStatus: bindStatus(l, health),
  };
  if (l.protocol === 'tcp') return { ...common, ClientIPMethod: l.clientIp === 'proxy_protocol' ? 1 : 0 };
  const c = l.udpCheck;
  return {
    ...common, CheckType: (c?.type ?? 'port').toUpperCase(), CheckPort: c?.port ?? 0, ContextType: c?.contextType ?? 'TEXT',
    SendContext: c?.send ?? '', RecvContext: c?.receive ?? '',
  };
}

export function realServerInfo(o: Origin): Params {
  return { RealServerIP: o.address, RealServerId: o.id, RealServerName: o.name, ProjectId: o.cloudProjectId, TagSet: tagsOut(o.tags) };
}
