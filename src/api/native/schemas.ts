import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { REGION_PATTERN } from '../../model/region.js';
import { INT_MAX } from '../params.js';

// Written once: fastify validates requests against these and @fastify/swagger turns the same
// objects into /v1/openapi.json. Canonical field names, so the operator API is the model.

const Strict = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()]);

const regionName = (description?: string) => Type.String({ minLength: 1, maxLength: 64, pattern: REGION_PATTERN.source, description });
const Region = regionName();

export const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() }, { $id: 'Error' });

export const Ext = Type.Record(Type.String(), Type.Unknown(), { description: 'dialect-specific data, stored and returned as is' });
export const TagSchema = Type.Object({ key: Type.String({ maxLength: 128 }), value: Type.String({ maxLength: 256 }) }, Strict);

export const HealthCheckInput = Type.Object({
  active: Type.Optional(Type.Boolean()),
  passive: Type.Optional(Type.Boolean()),
  protocol: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('http'), Type.Literal('https')])),
  path: Type.Optional(Type.String({ maxLength: 2048 })),
  method: Type.Optional(Type.Union([Type.Literal('GET'), Type.Literal('HEAD')])),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  healthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  tcpFailureThreshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 254 })),
  httpFailureThreshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 254 })),
  timeoutThreshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 254 })),
  interval: Type.Optional(Type.Integer({ minimum: 1, maximum: 300, description: 'seconds; must exceed timeout' })),
  timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 30, description: 'seconds' })),
  healthyStatuses: Type.Optional(Type.String({ maxLength: 256, description: 'e.g. 200,201,210-299' })),
  unhealthyStatuses: Type.Optional(Type.String({ maxLength: 256 })),
  requestHeaders: Type.Optional(Type.Record(Type.String(), Type.String())),
  unhealthyTimeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
  clientTls: Type.Optional(Type.Boolean()),
  ext: Type.Optional(Ext),
}, Strict);

export const MemberInput = Type.Object({
  host: Type.String({ minLength: 1, maxLength: 253 }),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: '0 = the upstream port' })),
  weight: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 10000 }))),
  backup: Type.Optional(Type.Boolean()),
  enabled: Type.Optional(Type.Boolean()),
  group: Type.Optional(Nullable(Type.String({ maxLength: 64, description: 'member group name' }))),
  ecsId: Type.Optional(Type.String({ maxLength: 255 })),
  ecsName: Type.Optional(Type.String({ maxLength: 64 })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 64 })),
  ext: Type.Optional(Ext),
}, Strict);

export const MemberGroupInput = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  weight: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 100 }))),
  remark: Type.Optional(Type.String({ maxLength: 255 })),
  referenceUpstreamId: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  microserviceVersion: Type.Optional(Type.String({ maxLength: 64 })),
  microservicePort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  microserviceLabels: Type.Optional(Type.Array(Type.Object({ name: Type.String({ maxLength: 63 }), value: Type.String({ maxLength: 63 }) }, Strict), { maxItems: 10 })),
  ext: Type.Optional(Ext),
}, Strict);

const UpstreamFields = {
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  scheme: Type.Optional(Type.Union([Type.Literal('http'), Type.Literal('https'), Type.Literal('grpc'), Type.Literal('grpcs')])),
  strategy: Type.Optional(Type.Union([Type.Literal('wrr'), Type.Literal('wlc'), Type.Literal('source_ip_hash'), Type.Literal('uri_hash')])),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
  upstreamHost: Type.Optional(Nullable(Type.String({ maxLength: 253 }))),
  tlsVerify: Type.Optional(Type.Boolean()),
  failMode: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
  memberType: Type.Optional(Type.Union([Type.Literal('ip'), Type.Literal('ecs')])),
  tags: Type.Optional(Type.Array(TagSchema, { maxItems: 64 })),
  networkId: Type.Optional(Type.String({ maxLength: 128 })),
  healthCheck: Type.Optional(Nullable(HealthCheckInput)),
  memberGroups: Type.Optional(Type.Array(MemberGroupInput, { maxItems: 100 })),
  members: Type.Optional(Type.Array(MemberInput, { maxItems: 10000 })),
  ext: Type.Optional(Ext),
};

export const UpstreamCreate = Type.Object({
  tenantId: Type.String({ minLength: 1, maxLength: 64 }),
  region: Type.Optional(regionName('default: the gateway default region')),
  instanceId: Type.Optional(Type.String({ maxLength: 64 })),
  name: Type.String({ minLength: 1, maxLength: 128 }),
  channelType: Type.Optional(Type.Union([Type.Literal('builtin'), Type.Literal('reference')])),
  ...UpstreamFields,
}, Strict);

export const UpstreamReplace = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }), ...UpstreamFields }, Strict);
export const UpstreamPatch = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })), ...UpstreamFields }, Strict);

export const RouteInput = Type.Object({
  upstreamId: Type.String({ minLength: 1, maxLength: 64 }),
  name: Type.Optional(Type.String({ maxLength: 128 })),
  hosts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 64 })),
  paths: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { maxItems: 64 })),
  methods: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 16 }), { maxItems: 16 })),
  stripPrefix: Type.Optional(Type.Boolean()),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600000 })),
  ext: Type.Optional(Ext),
}, Strict);

export const TenantCreate = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }) }, Strict);
export const InstanceCreate = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), region: Region }, Strict);
export const ProjectOpen = Type.Object({ region: Region }, Strict);
export const TokenCreate = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 64 })),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 31536000 })),
}, Strict);
export const MembersEnable = Type.Object({ memberIds: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 10000 }) }, Strict);
export const MembersReplace = Type.Object({ members: Type.Array(MemberInput, { maxItems: 10000 }), group: Type.Optional(Type.String({ maxLength: 64 })) }, Strict);

export const Paging = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: INT_MAX, default: 0 })),
  tenantId: Type.Optional(Type.String({ maxLength: 64 })),
}, Strict);

const HealthStateOut = Type.Union(['healthy', 'unhealthy', 'unknown', 'off'].map((v) => Type.Literal(v)));
const NodeVerdictOut = Type.Object({
  nodeId: Type.String(), nodeName: Type.String(), state: HealthStateOut, reason: Type.String(),
  since: Type.String({ description: 'when this node\'s verdict last changed' }),
});
export const UpstreamHealth = Type.Object({
  upstreamId: Type.String(),
  error: Nullable(Type.String({ description: 'what keeps the upstream from being served or checked on this node' })),
  members: Type.Array(Type.Object({
    memberId: Type.String(), host: Type.String(), port: Type.Integer(),
    state: HealthStateOut,
    reason: Type.String(),
    since: Nullable(Type.String({ description: 'null: no verdict (checks off, member disabled, not served, or none yet)' })),
    nodes: Type.Array(NodeVerdictOut, {
      description: 'the verdict of every live node that has one (this node\'s own included). The member is unhealthy only when every one of them says so, healthy when any does, unknown when none has a verdict',
    }),
  })),
});

export const IdParam = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const SubIdParam = Type.Object({ id: Type.String({ maxLength: 64 }), sub: Type.String({ maxLength: 64 }) });

export type TUpstreamCreate = Static<typeof UpstreamCreate>;
export type TUpstreamReplace = Static<typeof UpstreamReplace>;
export type TUpstreamPatch = Static<typeof UpstreamPatch>;
export type TRouteInput = Static<typeof RouteInput>;
export type TMemberInput = Static<typeof MemberInput>;
export type TMemberGroupInput = Static<typeof MemberGroupInput>;
export type TPaging = Static<typeof Paging>;

const Latency = Type.Object({
  count: Type.Integer(), mean: Nullable(Type.Number()), p50: Nullable(Type.Number()), p90: Nullable(Type.Number()), p99: Nullable(Type.Number()),
}, { description: 'Seconds; quantiles estimated from the histogram buckets as Prometheus does' });
export const UpstreamStatsBody = Type.Object({
  upstreamId: Type.String(),
  requests: Type.Record(Type.String(), Type.Number(), { description: 'Client requests by status class of the answer (none, 1xx ... 5xx)' }),
  attempts: Type.Record(Type.String(), Type.Record(Type.String(), Type.Number()), { description: 'Attempts by member id, then outcome (ok, http_error, connect, tls, reset, timeout)' }),
  retries: Type.Number(),
  latency: Type.Object({ request: Latency, upstream: Latency }),
}, { $id: 'UpstreamStats', description: 'What this node counted for the upstream since it started (its workers included)' });
