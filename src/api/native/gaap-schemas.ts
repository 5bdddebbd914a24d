import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { BYTE_RATE_MAX, BYTE_RATE_MIN, CONNECTION_CAP_MAX, IDLE_TIMEOUT_MAX, SESSION_PERSIST_MAX } from '../../model/gaap-validate.js';
import { INT_MAX } from '../params.js';
import { Ext, TagSchema } from './schemas.js';

// The operator API's L4 objects (regions, connection groups, proxies, stream listeners,
// origins, bindings) in canonical field names; validation and /v1/openapi.json both read these.

const Strict = { additionalProperties: false } as const;
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Tags = Type.Array(TagSchema, { maxItems: 50 });
const Size = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const IpVersion = Type.Union([Type.Literal('IPv4'), Type.Literal('IPv6')]);
const Nullable = <T extends TSchema>(t: T, description?: string) => Type.Union([t, Type.Null()], description === undefined ? {} : { description });

// The operator's L4 settings (the cloud faces have none of them); bounds are the model's.
const Budget = {
  connectionCap: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: CONNECTION_CAP_MAX }),
    'exact cap on open TCP connections plus live UDP sessions across the proxy\'s listeners, instead of concurrent x 10,000; 0 refuses every new connection; null: the size\'s own')),
  byteRate: Type.Optional(Nullable(Type.Integer({ minimum: BYTE_RATE_MIN, maximum: BYTE_RATE_MAX }),
    'payload bytes per second in each direction (client to origin, origin to client), shared by the proxy\'s listeners, instead of bandwidth x 125,000; null: the size\'s own')),
};
const PP_VERSION = 'PROXY protocol version sent first upstream on a TCP listener whose clientIp is proxy_protocol: 1 (the text line, GAAP\'s form) or 2 (binary)';
const IDLE = 'seconds without a byte either way before a TCP connection or UDP session ends (default 900 on TCP, 120 on UDP)';
const ListenerOptions = {
  sessionPersist: Type.Optional(Type.Integer({ minimum: 0, maximum: SESSION_PERSIST_MAX, description: 'seconds a client address keeps its origin (source-IP affinity); 0: off' })),
};
const PpVersion = Type.Union([Type.Literal(1), Type.Literal(2)]);
const IdleTimeout = Type.Integer({ minimum: 1, maximum: IDLE_TIMEOUT_MAX, description: IDLE });

export const RegionPut = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  access: Type.Boolean({ description: 'proxies may be placed here' }),
  origin: Type.Boolean({ description: 'proxies may serve origins here' }),
  bandwidths: Type.Array(Size, { minItems: 1, maxItems: 100, description: 'allowed bandwidths, Mbps' }),
  concurrencies: Type.Array(Size, { minItems: 1, maxItems: 100, description: 'allowed concurrencies, units of 10,000 connections' }),
  pool: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 1024, description: 'IPs and CIDRs proxies take their address from; empty: sold out' }),
  ext: Type.Optional(Ext),
}, Strict);

export const StatsQuery = Type.Object({
  from: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 date-time (default: an hour before `to`)' })),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 date-time (default: now)' })),
  granularity: Type.Optional(Type.Integer({ description: 'seconds per bucket: 60, 300, 3600 or 86400 (default 60)' })),
  metrics: Type.Optional(Type.String({ maxLength: 200, description: 'comma-separated GAAP metric names (default: InBandwidth,OutBandwidth,Concurrent,InPackets,OutPackets)' })),
}, Strict);

const StatsPoint = Type.Object({ time: Type.Integer({ description: 'bucket start, Unix seconds' }), value: Nullable(Type.Number(), 'null: no data kept, or not measured') });
export const StatsAnswer = Type.Object({
  proxyId: Type.String(), from: Type.String(), to: Type.String(), granularity: Type.Integer(),
  metrics: Type.Record(Type.String(), Type.Array(StatsPoint), { description: 'per metric name, one point per bucket up to now' }),
});

export const GaapPaging = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: INT_MAX, default: 0 })),
  tenantId: Type.Optional(Type.String({ maxLength: 64 })),
  groupId: Type.Optional(Type.String({ maxLength: 64, description: 'only this group\'s proxies' })),
}, Strict);

export const Force = Type.Object({ force: Type.Optional(Type.Boolean({ default: false })) }, Strict);

const AccessEntry = Type.Object({
  accessRegion: Id, bandwidth: Size, concurrent: Size, networkType: Type.Optional(Type.String({ maxLength: 32 })),
}, Strict);

export const GroupCreate = Type.Object({
  tenantId: Id,
  name: Type.String({ minLength: 1, maxLength: 30 }),
  originRegion: Id,
  cloudProjectId: Type.Optional(Type.Integer({ minimum: 0, maximum: INT_MAX })),
  ipVersion: Type.Optional(IpVersion),
  packageType: Type.Optional(Type.String({ maxLength: 32 })),
  tags: Type.Optional(Tags),
  accessRegions: Type.Optional(Type.Array(AccessEntry, { maxItems: 100, description: 'one proxy per entry' })),
  ext: Type.Optional(Ext),
}, Strict);

export const GroupPatch = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 30 })),
  cloudProjectId: Type.Optional(Type.Integer({ minimum: 0, maximum: INT_MAX })),
}, Strict);

export const ProxyCreate = Type.Object({
  tenantId: Id,
  name: Type.String({ minLength: 1, maxLength: 32 }),
  accessRegion: Id,
  bandwidth: Size,
  concurrent: Size,
  originRegion: Type.Optional(Type.String({ maxLength: 64, description: 'required outside a group' })),
  groupId: Type.Optional(Id),
  cloudProjectId: Type.Optional(Type.Integer({ minimum: 0, maximum: INT_MAX })),
  clientToken: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  clonedFrom: Type.Optional(Id),
  ipVersion: Type.Optional(IpVersion),
  networkType: Type.Optional(Type.String({ maxLength: 32 })),
  packageType: Type.Optional(Type.String({ maxLength: 32 })),
  billingType: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
  tags: Type.Optional(Tags),
  ext: Type.Optional(Ext),
  ...Budget,
}, { ...Strict, description: 'A clone (clonedFrom) takes its source\'s connectionCap and byteRate unless given.' });

export const ProxyPatch = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  bandwidth: Type.Optional(Size),
  concurrent: Type.Optional(Size),
  ...Budget,
}, Strict);

const UdpCheck = Type.Object({
  type: Type.Optional(Type.Union([Type.Literal('port'), Type.Literal('ping')])),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  send: Type.Optional(Type.String({ maxLength: 500 })),
  receive: Type.Optional(Type.String({ maxLength: 500 })),
}, Strict);

const ListenerFields = {
  healthCheck: Type.Optional(Type.Boolean()),
  delayLoop: Type.Optional(Type.Integer({ minimum: 5, maximum: 300, description: 'seconds between probes' })),
  connectTimeout: Type.Optional(Type.Integer({ minimum: 2, maximum: 60, description: 'seconds; below delayLoop' })),
  healthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  failover: Type.Optional(Type.Boolean()),
  udpCheck: Type.Optional(Type.Union([UdpCheck, Type.Null()])),
  ext: Type.Optional(Ext),
};
const Scheduler = Type.Union([Type.Literal('rr'), Type.Literal('wrr'), Type.Literal('lc')]);
const OriginType = Type.Union([Type.Literal('ip'), Type.Literal('domain')]);
const ClientIp = Type.Union([Type.Literal('toa'), Type.Literal('proxy_protocol')]);

export const ListenerCreate = Type.Object({
  proxyId: Type.Optional(Id),
  groupId: Type.Optional(Id),
  protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  ports: Type.Array(Type.Integer({ minimum: 1, maximum: 64999 }), { minItems: 1, maxItems: 100, description: 'one listener per port' }),
  name: Type.String({ minLength: 1, maxLength: 30 }),
  scheduler: Scheduler,
  originType: Type.Optional(OriginType),
  clientIp: Type.Optional(ClientIp),
  ...ListenerFields,
  proxyProtocolVersion: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)], { description: `${PP_VERSION}; default 1` })),
  idleTimeout: Type.Optional(IdleTimeout),
  ...ListenerOptions,
}, { ...Strict, description: 'Exactly one of proxyId and groupId.' });

export const ListenerPatch = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 30 })),
  scheduler: Type.Optional(Scheduler),
  ...ListenerFields,
  proxyProtocolVersion: Type.Optional(Nullable(PpVersion, `${PP_VERSION}; null: back to 1`)),
  idleTimeout: Type.Optional(Nullable(IdleTimeout, 'null: back to the protocol\'s default')),
  ...ListenerOptions,
}, Strict);

export const ListenerQuery = Type.Object({
  proxyId: Type.Optional(Type.String({ maxLength: 64 })),
  groupId: Type.Optional(Type.String({ maxLength: 64 })),
}, { ...Strict, description: 'Exactly one of proxyId and groupId.' });

export const OriginCreate = Type.Object({
  tenantId: Id,
  addresses: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { minItems: 1, maxItems: 100 }),
  name: Type.String({ minLength: 1, maxLength: 30 }),
  cloudProjectId: Type.Optional(Type.Integer({ minimum: 0, maximum: INT_MAX })),
  tags: Type.Optional(Tags),
  ext: Type.Optional(Ext),
}, Strict);

export const OriginPatch = Type.Object({ name: Type.String({ minLength: 1, maxLength: 30 }) }, Strict);
export const TenantFilter = Type.Object({ tenantId: Type.Optional(Type.String({ maxLength: 64 })) }, Strict);

export const BindingsPut = Type.Object({
  bindings: Type.Array(Type.Object({
    originId: Id,
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    role: Type.Optional(Type.Union([Type.Literal('master'), Type.Literal('slave')])),
  }, Strict), { maxItems: 1000, description: 'the whole set; empty unbinds all' }),
}, Strict);

const OrNull = <T extends Parameters<typeof Type.Union>[0][number]>(t: T, description: string) => Type.Union([t, Type.Null()], { description });

/** What this node's data plane holds of a listener (null: no process here serves it). */
export const ListenerDataPlane = OrNull(Type.Object({
  bound: Type.Boolean({ description: 'its sockets are bound and accepting' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why not (the port is taken on this machine, say)' }),
  healthNote: Type.Union([Type.String(), Type.Null()], { description: 'a note on its checks that is no verdict (a PING check this node cannot send, say)' }),
}), 'null: no process of this node serves the listener (another region, or not applied yet)');

/** What this node's checks say of a binding (null: no verdict; reads as healthy). */
export const BindingHealth = OrNull(Type.Object({
  healthy: Type.Boolean({ description: 'false: the origin takes no new connections (for a domain: every resolved address is down, or the name does not resolve)' }),
  downIps: Type.Array(Type.String(), { description: 'addresses that fail their checks (a domain\'s resolved ones, or the IP itself); empty while unhealthy: the name does not resolve' }),
}), 'null: no verdict (checks off, not served on this node, or not probed yet): traffic goes to it');

/** Stored fields as written, plus the data plane's view. */
export const ListenerOut = Type.Object({ id: Type.String(), dataPlane: ListenerDataPlane }, { additionalProperties: true });
export const ListenerList = Type.Object({ items: Type.Array(ListenerOut), total: Type.Integer() });
export const BindingOut = Type.Object({ id: Type.String(), health: BindingHealth }, { additionalProperties: true });
export const BindingList = Type.Object({ items: Type.Array(BindingOut), total: Type.Integer() });

export type TRegionPut = Static<typeof RegionPut>;
export type TGaapPaging = Static<typeof GaapPaging>;
export type TStatsQuery = Static<typeof StatsQuery>;
export type TGroupCreate = Static<typeof GroupCreate>;
export type TProxyCreate = Static<typeof ProxyCreate>;
export type TProxyPatch = Static<typeof ProxyPatch>;
export type TListenerCreate = Static<typeof ListenerCreate>;
export type TListenerPatch = Static<typeof ListenerPatch>;
export type TOriginCreate = Static<typeof OriginCreate>;
export type TBindingsPut = Static<typeof BindingsPut>;
