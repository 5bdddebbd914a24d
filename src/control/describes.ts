import { memberEndpoint } from '../model/member.js';
import type { HealthCheck, Member, MemberGroup, Upstream } from '../model/types.js';
import type { MemberGroupInput, MemberInput, UpstreamInput } from './inputs.js';

/**
 * The fields a face's write speaks for. On a full replace a described field takes the value
 * the face sent (or its default when the face left it out); every other field keeps what is
 * stored, so a setting made through one face survives a replace through another. `ext`
 * names the ext namespaces the face owns (`'all'`: the whole ext object).
 */
export interface Described {
  upstream: readonly (keyof UpstreamInput)[];
  healthCheck: readonly (keyof HealthCheck)[];
  member: readonly (keyof MemberInput)[];
  group: readonly (keyof MemberGroupInput)[];
  ext: 'all' | readonly string[];
}

const UPSTREAM_FIELDS: readonly (keyof UpstreamInput)[] = [
  'name', 'description', 'scheme', 'strategy', 'port', 'retries', 'upstreamHost', 'tlsVerify', 'failMode', 'memberType',
  'channelType', 'tags', 'networkId', 'healthCheck', 'memberGroups', 'members', 'ext',
];
export const HEALTH_FIELDS: readonly (keyof HealthCheck)[] = [
  'active', 'passive', 'protocol', 'path', 'method', 'port', 'healthyThreshold', 'unhealthyThreshold', 'tcpFailureThreshold',
  'httpFailureThreshold', 'timeoutThreshold', 'interval', 'timeout', 'healthyStatuses', 'unhealthyStatuses', 'requestHeaders',
  'unhealthyTimeout', 'clientTls', 'ext',
];
export const MEMBER_FIELDS: readonly (keyof MemberInput)[] = ['host', 'port', 'weight', 'backup', 'enabled', 'group', 'ecsId', 'ecsName', 'tags', 'ext'];
export const GROUP_FIELDS: readonly (keyof MemberGroupInput)[] = [
  'name', 'weight', 'remark', 'referenceUpstreamId', 'microserviceVersion', 'microservicePort', 'microserviceLabels', 'ext',
];

/** A face that describes the whole model (the operator API's PUT). */
export const EVERYTHING: Described = { upstream: UPSTREAM_FIELDS, healthCheck: HEALTH_FIELDS, member: MEMBER_FIELDS, group: GROUP_FIELDS, ext: 'all' };

/** A partial update: exactly the fields given (lists given are replaced whole, their items fully described). */
export function givenFields(patch: Partial<UpstreamInput>): Described {
  const upstream = UPSTREAM_FIELDS.filter((k) => patch[k] !== undefined);
  const hc = patch.healthCheck ?? {};
  return { ...EVERYTHING, upstream, healthCheck: HEALTH_FIELDS.filter((k) => hc[k] !== undefined) };
}

type Obj = Record<string, unknown>;

function mergeExt(given: Obj | undefined, prev: Obj | undefined, owned: Described['ext'], describedAtAll: boolean): Obj | undefined {
  if (!prev) return given;
  if (!describedAtAll) return prev;
  if (owned === 'all') return given;
  const out: Obj = { ...prev };
  for (const ns of owned) {
    if (given && Object.hasOwn(given, ns)) out[ns] = given[ns];
    else delete out[ns];
  }
  for (const [k, v] of Object.entries(given ?? {})) if (!owned.includes(k)) out[k] ??= v;
  return out;
}

/** `given`'s described fields, `prev`'s others (or `given`'s when it has them or there is no prev); undefined keys dropped. */
function merge<T extends object>(givenT: Partial<T>, prevT: Partial<T> | undefined, fields: readonly (keyof T)[], all: readonly (keyof T)[], ext: Described['ext']): Partial<T> {
  const given = givenT as Obj;
  const prev = prevT as Obj | undefined;
  const out: Obj = {};
  for (const k of all) {
    if (k === 'ext') continue;
    // A field the face does not describe keeps the stored value unless the face sent one anyway.
    const key = k as string;
    const v = prev === undefined || fields.includes(k) ? given[key] : given[key] ?? prev[key];
    if (v !== undefined) out[key] = v;
  }
  const e = mergeExt(given.ext as Obj | undefined, prev?.ext as Obj | undefined, ext, fields.includes('ext' as keyof T) || ext !== 'all');
  if (e !== undefined) out.ext = e;
  return out as Partial<T>;
}

function groupAsInput(g: MemberGroup): MemberGroupInput {
  return {
    name: g.name, weight: g.weight, remark: g.remark, referenceUpstreamId: g.referenceUpstreamId, microserviceVersion: g.microserviceVersion,
    microservicePort: g.microservicePort, microserviceLabels: g.microserviceLabels, ext: g.ext,
  };
}

function memberAsInput(u: Upstream, m: Member): MemberInput {
  const group = m.groupId === null ? null : u.memberGroups.find((g) => g.id === m.groupId)?.name ?? null;
  return { host: m.host, port: m.port, weight: m.weight, backup: m.backup, enabled: m.enabled, group, ecsId: m.ecsId, ecsName: m.ecsName, tags: m.tags, ext: m.ext };
}

/** The stored upstream in input form: what a replace describing nothing would write. */
export function upstreamAsInput(u: Upstream): UpstreamInput {
  return {
    name: u.name, description: u.description, scheme: u.scheme, strategy: u.strategy, port: u.port, retries: u.retries,
    upstreamHost: u.upstreamHost, tlsVerify: u.tlsVerify, failMode: u.failMode, memberType: u.memberType, channelType: u.channelType,
    tags: u.tags, networkId: u.networkId, healthCheck: u.healthCheck, ext: u.ext,
    memberGroups: u.memberGroups.map(groupAsInput), members: u.members.map((m) => memberAsInput(u, m)),
  };
}

/**
 * The input a full replace writes: the face's described fields over the stored upstream.
 * Members are matched by endpoint, groups by name, so a member or group the face sends again
 * keeps what other faces set on it.
 */
export function carryOver(given: Partial<UpstreamInput>, prev: Upstream, d: Described): UpstreamInput {
  const base = upstreamAsInput(prev);
  const out = merge<UpstreamInput>(given, base, d.upstream, UPSTREAM_FIELDS, d.ext) as UpstreamInput;

  if (d.upstream.includes('healthCheck')) {
    const hc = given.healthCheck;
    out.healthCheck = hc == null ? null : merge<HealthCheck>(hc, prev.healthCheck ?? undefined, d.healthCheck, HEALTH_FIELDS, d.ext);
  }
  if (d.upstream.includes('memberGroups')) {
    const byName = new Map(base.memberGroups!.map((g) => [g.name, g]));
    out.memberGroups = (given.memberGroups ?? []).map((g) => merge<MemberGroupInput>(g, byName.get(g.name), d.group, GROUP_FIELDS, d.ext) as MemberGroupInput);
  }
  if (d.upstream.includes('members')) {
    const next = { port: out.port ?? 0, scheme: out.scheme ?? 'http' } as const;
    const byEndpoint = new Map(base.members!.map((m) => [memberEndpoint(prev, m.host, m.port), m]));
    out.members = (given.members ?? []).map((m) => merge<MemberInput>(m, byEndpoint.get(memberEndpoint(next, m.host, m.port)), d.member, MEMBER_FIELDS, d.ext) as MemberInput);
  }
  return out;
}
