import type { Described } from '../../control/describes.js';
import { dedupeFirst } from '../../control/upstreams.js';
import type { MemberGroupInput, MemberInput, UpstreamInput } from '../../control/inputs.js';
import { defaultProbeTimeout, memberPort } from '../../model/defaults.js';
import { effectiveWeight } from '../../model/member.js';
import { memberHostProblem, normaliseMemberHost } from '../../model/host.js';
import type { ChannelType, HealthCheck, Member, MemberGroup, Strategy, Upstream } from '../../model/types.js';
import type { HealthState, MemberHealthReport } from '../health-reporter.js';
import type { Params, Spec } from '../params.js';
import { HuaweiError, invalid, missing } from './errors.js';

// Huawei VPC channel fields <-> the canonical model (spec D.3-D.5). What APIG sends that our
// machines do not act on (dict_code, microservice group fields) is stored and returned.

// Name rules as regular expressions with the length in them, the way APIG checks them:
// a bad length is an invalid value (APIG.2012), like a bad character.
const CHANNEL_NAME = /^[A-Za-z\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5_.-]{2,63}$/;
const GROUP_NAME = CHANNEL_NAME;
const DICT_CODE = /^[A-Za-z0-9._-]{3,64}$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const HTTP_CODE = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;
/** An ECS id: 1-64 letters, digits, hyphens and underscores (APIG's MemberInfo). */
const ECS_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** An ECS name: 1-64 letters, digits, Chinese characters, hyphens, underscores and dots. */
const ECS_NAME = /^[A-Za-z0-9\u4e00-\u9fa5_.-]{1,64}$/;

const MEMBER: Spec = {
  type: 'object', open: true, fields: {
    host: { type: 'string', maxLength: 64 },
    weight: { type: 'int', min: 0, max: 10_000 },
    is_backup: { type: 'bool' },
    member_group_name: { type: 'string', maxLength: 64 },
    status: { type: 'int', enum: [1, 2] },
    port: { type: 'int', min: 0, max: 65_535 },
    ecs_id: { type: 'string', maxLength: 255, pattern: ECS_ID },
    ecs_name: { type: 'string', maxLength: 64, pattern: ECS_NAME },
  },
};

export const HEALTH_FIELDS: Record<string, Spec> = {
  protocol: { type: 'string', required: true, enum: ['TCP', 'HTTP', 'HTTPS'], ignoreCase: true },
  path: { type: 'string', maxLength: 512 },
  method: { type: 'string', enum: ['GET', 'HEAD'], ignoreCase: true },
  port: { type: 'int', min: 0, max: 65_535 },
  threshold_normal: { type: 'int', required: true, min: 1, max: 10 },
  threshold_abnormal: { type: 'int', required: true, min: 1, max: 10 },
  time_interval: { type: 'int', required: true, min: 1, max: 300 },
  http_code: { type: 'string', maxLength: 512 },
  enable_client_ssl: { type: 'bool' },
  status: { type: 'int', enum: [1, 2] },
  timeout: { type: 'int', min: 1, max: 30 },
};
export const HEALTH_CONFIG: Spec = { type: 'object', open: true, fields: HEALTH_FIELDS };

export const MEMBER_GROUP_FIELDS: Record<string, Spec> = {
  member_group_name: { type: 'string', required: true, pattern: GROUP_NAME },
  member_group_remark: { type: 'string', maxLength: 255 },
  member_group_weight: { type: 'int', min: 0, max: 100 },
  dict_code: { type: 'string', pattern: DICT_CODE },
  microservice_version: { type: 'string', maxLength: 64 },
  microservice_port: { type: 'int', min: 0, max: 65_535 },
  microservice_labels: {
    type: 'array', maxItems: 10, items: {
      type: 'object', fields: { label_name: { type: 'string', required: true, pattern: LABEL }, label_value: { type: 'string', required: true, pattern: LABEL } },
    },
  },
  reference_vpc_channel_id: { type: 'string', maxLength: 64 },
};
export const MEMBER_GROUP: Spec = { type: 'object', open: true, fields: MEMBER_GROUP_FIELDS };

export const MEMBERS = { type: 'array', items: MEMBER, maxItems: 1000 } as const satisfies Spec;

export const CHANNEL: Record<string, Spec> = {
  name: { type: 'string', required: true, pattern: CHANNEL_NAME },
  port: { type: 'int', required: true, min: 1, max: 65_535 },
  balance_strategy: { type: 'int', required: true, enum: [1, 2, 3, 4] },
  member_type: { type: 'string', required: true, enum: ['ip', 'ecs'] },
  // 0 is what a client sends for "not set" (an SDK model's default): it defers to vpc_channel_type.
  type: { type: 'int', enum: [0, 2, 3] },
  vpc_channel_type: { type: 'string', enum: ['builtin', 'microservice', 'reference'] },
  dict_code: { type: 'string', pattern: DICT_CODE },
  member_groups: { type: 'array', items: MEMBER_GROUP, maxItems: 100 },
  members: MEMBERS,
  vpc_health_config: HEALTH_CONFIG,
  microservice_info: { type: 'object', open: true, fields: { service_type: { type: 'string' } } },
};

export const MEMBERS_BODY: Record<string, Spec> = { members: { ...MEMBERS, required: true } };
export const MEMBERS_REPLACE_BODY: Record<string, Spec> = { members: MEMBERS, member_group_name: { type: 'string', maxLength: 64 } };
export const MEMBER_IDS_BODY: Record<string, Spec> = { member_ids: { type: 'array', required: true, maxItems: 1000, items: { type: 'string', maxLength: 64 } } };
export const GROUPS_BODY: Record<string, Spec> = { member_groups: { type: 'array', required: true, items: MEMBER_GROUP, maxItems: 100 } };

const STRATEGY_IN: Record<number, Strategy> = { 1: 'wrr', 2: 'wlc', 3: 'source_ip_hash', 4: 'uri_hash' };
const STRATEGY_OUT: Record<Strategy, number> = { wrr: 1, wlc: 2, source_ip_hash: 3, uri_hash: 4 };

/** Huawei-only data kept on the upstream. */
interface HuaweiExt { dictCode?: string }

const NOT_YET = 'microservice channels (CSE, CCE, Nacos) need service discovery, which sluice does not have yet; use vpc_channel_type builtin or reference';

/**
 * The channel type a request names, as APIG words it: `vpc_channel_type` when given; else
 * `type` (legacy): 2 a server channel, 3 a microservice channel only with `microservice_info`
 * (without it, a server channel); `type` empty or 0 defers to the fallback. Microservice
 * channels are refused, never half-accepted.
 */
export function channelType(p: Params, fallback: ChannelType): ChannelType {
  const service = (p.microservice_info as Params | undefined)?.service_type;
  const hasService = typeof service === 'string' && service !== '';
  const byType = p.type === 3 ? (hasService ? 'microservice' : 'builtin') : p.type === 2 ? 'builtin' : undefined;
  const named = p.vpc_channel_type as ChannelType | undefined;
  if (named !== undefined && byType !== undefined && (named === 'microservice') !== (byType === 'microservice')) {
    throw invalid('type', ` (type ${String(p.type)} contradicts vpc_channel_type ${named})`);
  }
  const t = named ?? byType ?? fallback;
  if (t === 'microservice') throw invalid(named ? 'vpc_channel_type' : 'type', ` (${NOT_YET})`);
  if (hasService) throw invalid('microservice_info', ` (${NOT_YET})`);
  return t;
}

export function memberInput(m: Params, memberType: string, i: number): MemberInput {
  const at = ` (members[${i}])`;
  const host = m.host as string | undefined;
  if (memberType === 'ecs') {
    if (!m.ecs_id) throw missing('ecs_id', at);
    if (!m.ecs_name) throw missing('ecs_name', at);
    // No ECS inventory to resolve the id against: the address has to come with it.
    if (!host) throw new HuaweiError(404, 'APIG.3092', `The ECS does not exist,id:${String(m.ecs_id)} (sluice cannot look ECS ids up: give the server's address in members[${i}].host)`);
  } else if (!host) throw missing('host', at);
  const bare = normaliseMemberHost(host);
  const problem = memberHostProblem(bare);
  if (problem) throw new HuaweiError(400, 'APIG.2015', `Invalid IP address,parameterName:host (members[${i}].host ${JSON.stringify(host)} ${problem})`);
  return {
    host: bare,
  port: (m.port as number | undefined) ?? 0,
    weight: m.weight as number | undefined,
    backup: (m.is_backup as boolean | undefined) ?? false,
    enabled: m.status !== 2,
    group: (m.member_group_name as string | undefined) || null,
    // Left out when not sent: on an ip channel they are not APIG's to reset (a Tencent VmInstanceId).
    ecsId: m.ecs_id as string | undefined,
    ecsName: m.ecs_name as string | undefined,
  };
}

export function membersInput(list: Params[], memberType: string, channel: { port: number; scheme?: Upstream['scheme'] }): MemberInput[] {
  return dedupeFirst(list.map((m, i) => memberInput(m, memberType, i)), { port: channel.port, scheme: channel.scheme ?? 'http' });
}

export function groupInput(g: Params, channel: ChannelType): MemberGroupInput {
  const ref = (g.reference_vpc_channel_id as string | undefined) || null;
  if (ref !== null && channel !== 'reference') throw invalid('reference_vpc_channel_id', ' (only reference channels point at other channels)');
  return {
    name: g.member_group_name as string,
    weight: g.member_group_weight as number | undefined ?? null,
    remark: (g.member_group_remark as string | undefined) ?? '',
    referenceUpstreamId: ref,
    microserviceVersion: (g.microservice_version as string | undefined) ?? '',
    microservicePort: (g.microservice_port as number | undefined) ?? 0,
    microserviceLabels: ((g.microservice_labels as { label_name: string; label_value: string }[] | undefined) ?? []).map((l) => ({ name: l.label_name, value: l.label_value })),
    ext: g.dict_code ? { huawei: { dictCode: g.dict_code } } : {},
  };
}

export function groupsInput(list: Params[], channel: ChannelType): MemberGroupInput[] {
  const seen = new Set<string>();
  return list.map((g) => groupInput(g, channel)).filter((g) => !seen.has(g.name) && (seen.add(g.name), true));
}

export function healthInput(h: Params): Partial<HealthCheck> {
  const protocol = (h.protocol as string).toLowerCase() as HealthCheck['protocol'];
  const interval = h.time_interval as number;
  const httpCode = h.http_code as string | undefined;
  if (protocol !== 'tcp' && !h.path) throw missing('path', ` (vpc_health_config.path is required for ${protocol.toUpperCase()} checks)`);
  if (protocol === 'http' && !httpCode) throw missing('http_code', ' (vpc_health_config.http_code is required for HTTP checks)');
  if (httpCode !== undefined && !HTTP_CODE.test(httpCode)) throw invalid('http_code', ` (use e.g. 200,201,210-299; got ${JSON.stringify(httpCode)})`);
  const timeout = (h.timeout as number | undefined) ?? defaultProbeTimeout(interval);
  if (timeout >= interval) throw invalid('timeout', ` (vpc_health_config.timeout ${timeout} must be less than time_interval ${interval})`);
  return {
    active: h.status !== 2,
    protocol,
  path: (h.path as string | undefined) || '/',
  method: ((h.method as string | undefined) ?? 'GET').toUpperCase() as 'GET' | 'HEAD',
  port: (h.port as number | undefined) ?? 0,
    healthyThreshold: h.threshold_normal as number,
    unhealthyThreshold: h.threshold_abnormal as number,
    interval, timeout,
    healthyStatuses: httpCode || '200',
    clientTls: (h.enable_client_ssl as boolean | undefined) ?? false,
  };
}

/** VpcCreate (validated) to a canonical input: the body of create and of full update. */
export function channelInput(p: Params, type: ChannelType): UpstreamInput {
  const port = p.port as number;
  const groups = groupsInput((p.member_groups as Params[] | undefined) ?? [], type);
  // A reference channel's members are the referenced channels'; any sent are ignored.
  // A member without a weight of its own takes its group's (model effectiveWeight).
  const members = type === 'reference' ? [] : membersInput((p.members as Params[] | undefined) ?? [], p.member_type as string, { port });
  const ext: HuaweiExt = p.dict_code ? { dictCode: p.dict_code as string } : {};
  return {
    name: p.name as string,
    port,
    strategy: STRATEGY_IN[p.balance_strategy as number],
    memberType: p.member_type as 'ip' | 'ecs',
    channelType: type,
    memberGroups: groups,
    members,
    healthCheck: p.vpc_health_config ? healthInput(p.vpc_health_config as Params) : null,
    ext: { huawei: ext },
  };
}

/** What APIG's health config speaks for; passive checks, unhealthy statuses and probe headers are other faces'. */
const HEALTH_DESCRIBED: Described['healthCheck'] = [
  'active', 'protocol', 'path', 'method', 'port', 'healthyThreshold', 'unhealthyThreshold', 'interval', 'timeout', 'healthyStatuses', 'clientTls',
];
const MEMBER_DESCRIBED: Described['member'] = ['host', 'port', 'weight', 'backup', 'enabled', 'group'];
const GROUP_DESCRIBED: Described['group'] = [
  'name', 'weight', 'remark', 'referenceUpstreamId', 'microserviceVersion', 'microservicePort', 'microserviceLabels', 'ext',
];

/** UpdateVpcChannel's full update: the channel's own fields, its groups, members and health config. */
export function HUAWEI_CHANNEL_DESCRIBES(memberType: string): Described {
  return {
    upstream: ['name', 'port', 'strategy', 'memberType', 'channelType', 'memberGroups', 'members', 'healthCheck', 'ext'],
    healthCheck: HEALTH_DESCRIBED,
    // An ECS channel's members are named by ECS id and name; an ip channel's are not.
    member: memberType === 'ecs' ? [...MEMBER_DESCRIBED, 'ecsId', 'ecsName'] : MEMBER_DESCRIBED,
    group: GROUP_DESCRIBED,
    ext: ['huawei'],
  };
}

/** UpdateHealthCheck replaces the health config and nothing else. */
export const HUAWEI_HEALTH_DESCRIBES: Described = { upstream: ['healthCheck'], healthCheck: HEALTH_DESCRIBED, member: [], group: [], ext: ['huawei'] };

// ---- responses ----------------------------------------------------------------------

const HEALTH_STATUS: Record<HealthState, string> = { healthy: 'healthy', unhealthy: 'unhealthy', unknown: 'unknown', off: 'unknown' };

function huaweiExt(x: { ext: Record<string, unknown> }): HuaweiExt {
  return (x.ext.huawei as HuaweiExt | undefined) ?? {};
}

export function groupInfo(g: MemberGroup): Params {
  const out: Params = {
    member_group_id: g.id, member_group_name: g.name, member_group_remark: g.remark,
  dict_code: huaweiExt(g).dictCode ?? '',
  microservice_version: g.microserviceVersion, microservice_port: g.microservicePort,
    microservice_labels: g.microserviceLabels.map((l) => ({ label_name: l.name, label_value: l.value })),
  reference_vpc_channel_id: g.referenceUpstreamId ?? '',
    create_time: g.createdAt, update_time: g.updatedAt,
  };
  // APIG always shows the field. No weight means "each member's own": null, not a 0 that a
  // read-modify-write client would then apply to every member (null sent back is "not set").
  out.member_group_weight = g.weight;
  return out;
}

export function memberInfo(u: Upstream, m: Member, health: MemberHealthReport | undefined): Params {
  const group = m.groupId ? u.memberGroups.find((g) => g.id === m.groupId) : undefined;
  return {
    id: m.id, host: m.host, port: memberPort(u, m),
    weight: effectiveWeight(u, m),
    is_backup: m.backup, status: m.enabled ? 1 : 2,
  member_group_name: group?.name ?? '', member_group_id: group?.id ?? '',
    ecs_id: m.ecsId || m.host, ecs_name: m.ecsName || m.host,
    vpc_channel_id: u.id, create_time: m.createdAt,
    health_status: HEALTH_STATUS[health?.state ?? 'off'],
  };
}

/** 2 (abnormal) when checks are on and no enabled member is anything but unhealthy. */
export function channelStatus(u: Upstream, health: MemberHealthReport[]): number {
  const enabled = new Set(u.members.filter((m) => m.enabled).map((m) => m.id));
  const mine = health.filter((h) => enabled.has(h.memberId));
  return mine.length > 0 && mine.every((h) => h.state === 'unhealthy') ? 2 : 1;
}

export function healthConfigInfo(u: Upstream): Params | null {
  const h = u.healthCheck;
  if (!h) return null;
  return {
    id: u.id, vpc_channel_id: u.id, create_time: u.createdAt,
  protocol: h.protocol.toUpperCase(), path: h.path, method: h.method, port: h.port,
  threshold_normal: h.healthyThreshold, threshold_abnormal: h.unhealthyThreshold,
  time_interval: h.interval, timeout: h.timeout, http_code: h.healthyStatuses,
  enable_client_ssl: h.clientTls, status: h.active ? 1 : 2,
  };
}

export function channelInfo(u: Upstream, health: MemberHealthReport[], detail: boolean): Params {
  const info: Params = {
    id: u.id, name: u.name, port: u.port, balance_strategy: STRATEGY_OUT[u.strategy], member_type: u.memberType,
    type: 2, vpc_channel_type: u.channelType, dict_code: huaweiExt(u).dictCode ?? '',
    create_time: u.createdAt, status: channelStatus(u, health),
    member_groups: u.memberGroups.map(groupInfo),
    microservice_info: { id: '', authorization_id: '', service_type: '', cse_info: null, cce_info: null, create_time: '', update_time: '' },
  };
  if (detail) {
    const byId = new Map(health.map((h) => [h.memberId, h]));
    info.members = u.members.map((m) => memberInfo(u, m, byId.get(m.id)));
    info.vpc_health_config = healthConfigInfo(u);
  }
  return info;
}
