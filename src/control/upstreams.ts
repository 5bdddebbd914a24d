import { DEFAULT_RETRIES, defaultHealthCheck } from '../model/defaults.js';
import { ModelError } from '../model/errors.js';
import { normaliseMemberHost } from '../model/host.js';
import { newId, newTencentUpstreamId, nowIso, TENCENT_UPSTREAM_ID } from '../model/ids.js';
import { applyGroupWeight, memberEndpoint } from '../model/member.js';
import type { Member, MemberGroup, Upstream } from '../model/types.js';
import { validateUpstream } from '../model/validate.js';
import type { ListQuery, ListResult, Store, Tx } from '../store/store.js';
import { carryOver, givenFields, GROUP_FIELDS, type Described } from './describes.js';
import type { MemberGroupInput, MemberInput, Placement, UpstreamInput } from './inputs.js';
import { reaches, resolveScope, tenantFor, type Scope } from './scope.js';
import { ensureDefaultInstance, ensureProject, requireTenant } from './tenants.js';

/** Options shared by every write that can touch an upstream. */
export interface Limits {
  /** Upstreams per (tenant, instance); Huawei's documented default is 30. */
  maxUpstreamsPerInstance: number;
  maxMembersPerUpstream: number;
}
export const DEFAULT_LIMITS: Limits = { maxUpstreamsPerInstance: 30, maxMembersPerUpstream: 1000 };

function buildGroup(input: MemberGroupInput, prev: MemberGroup | undefined, now: string): MemberGroup {
  return {
    id: prev?.id ?? newId(),
    name: input.name,
    weight: input.weight ?? null,
    remark: input.remark ?? '',
    referenceUpstreamId: input.referenceUpstreamId ?? null,
    microserviceVersion: input.microserviceVersion ?? '',
    microservicePort: input.microservicePort ?? 0,
    microserviceLabels: input.microserviceLabels ?? [],
    ext: input.ext ?? {},
    createdAt: prev?.createdAt ?? now,
    updatedAt: now,
  };
}

function groupIdFor(name: string | null | undefined, groups: MemberGroup[], field: string): string | null {
  if (name === null || name === undefined || name === '') return null;
  const g = groups.find((x) => x.name === name);
  if (!g) throw new ModelError('not_found', field, `${field}: member group "${name}" does not exist in this upstream`);
  return g.id;
}

export function buildMember(input: MemberInput, prev: Member | undefined, groups: MemberGroup[], field: string, now: string): Member {
  return {
    id: prev?.id ?? newId(),
    host: normaliseMemberHost(input.host),
    port: input.port ?? 0,
    weight: input.weight === undefined ? null : input.weight,
    backup: input.backup ?? false,
    enabled: input.enabled ?? true,
    groupId: groupIdFor(input.group, groups, `${field}.group`),
    ecsId: input.ecsId ?? '',
    ecsName: input.ecsName ?? '',
    tags: input.tags ?? [],
    ext: input.ext ?? {},
    createdAt: prev?.createdAt ?? now,
  };
}

/**
 * Turns an input into a full upstream. `prev` (on a full update) lends its ids to the groups
 * and members that are still there, matched by group name and member address, so that health
 * state and balancer state follow them across the update.
 */
function materialise(input: UpstreamInput, base: Omit<Upstream, 'memberGroups' | 'members' | 'healthCheck'>, prev: Upstream | null): Upstream {
  const now = nowIso();
  const u: Upstream = {
    ...base,
    name: input.name,
    description: input.description ?? '',
    scheme: input.scheme ?? 'http',
    strategy: input.strategy ?? 'wrr',
    port: input.port ?? 0,
    retries: input.retries ?? DEFAULT_RETRIES,
    // '' and null both mean "pass the client's Host"; only a real value is checked and sent.
    upstreamHost: input.upstreamHost || null,
    tlsVerify: input.tlsVerify ?? true,
    failMode: input.failMode ?? 'open',
    memberType: input.memberType ?? 'ip',
    channelType: input.channelType ?? 'builtin',
    tags: input.tags ?? [],
    networkId: input.networkId ?? '',
    healthCheck: input.healthCheck ? { ...defaultHealthCheck(), ...input.healthCheck } : null,
    memberGroups: [],
    members: [],
    ext: input.ext ?? {},
    updatedAt: now,
  };
  const prevGroups = new Map((prev?.memberGroups ?? []).map((g) => [g.name, g]));
  u.memberGroups = (input.memberGroups ?? []).map((g) => buildGroup(g, prevGroups.get(g.name), now));
  const prevMembers = new Map((prev?.members ?? []).map((m) => [memberEndpoint(prev!, m.host, m.port), m]));
  u.members = (input.members ?? []).map((m, i) =>
    buildMember(m, prevMembers.get(memberEndpoint(u, m.host, m.port)), u.memberGroups, `members[${i}]`, now));
  return u;
}

async function checkReferences(tx: Tx, u: Upstream): Promise<void> {
  for (const [i, g] of u.memberGroups.entries()) {
    if (g.referenceUpstreamId === null) continue;
    const ref = await tx.get('upstream', g.referenceUpstreamId);
    if (!ref || ref.tenantId !== u.tenantId) {
      throw new ModelError('not_found', `memberGroups[${i}].referenceUpstreamId`, `memberGroups[${i}].referenceUpstreamId: upstream ${g.referenceUpstreamId} does not exist`, { entity: 'upstream', value: g.referenceUpstreamId });
    }
    if (ref.channelType === 'reference') {
      throw new ModelError('conflict', `memberGroups[${i}].referenceUpstreamId`, `memberGroups[${i}].referenceUpstreamId must name a channel with members of its own, not another reference channel`);
    }
  }
}

/** Tries this often before giving up: a collision in 36^8 ids is already rare. */
const ID_ATTEMPTS = 8;

/** A Tencent id no other upstream has, drawn inside the writing transaction. */
async function freshTencentId(tx: Tx): Promise<string> {
  for (let i = 0; i < ID_ATTEMPTS; i++) {
    const id = newTencentUpstreamId();
    if (!(await tx.findAlias('upstream', id))) return id;
  }
  throw new Error(`no free Tencent upstream id after ${ID_ATTEMPTS} attempts`);
}

/**
 * Validates and writes an upstream inside `tx`; the one way every dialect writes one. An
 * upstream made through any face gets its Tencent id here, so every face can name it.
 */
export async function writeUpstream(tx: Tx, u: Upstream, limits: Limits): Promise<Upstream> {
  u.tencentId ||= await freshTencentId(tx);
  validateUpstream(u);
  if (u.members.length > limits.maxMembersPerUpstream) {
    throw new ModelError('limit_exceeded', 'members', `an upstream holds at most ${limits.maxMembersPerUpstream} members`, { entity: 'member', limit: limits.maxMembersPerUpstream });
  }
  await checkReferences(tx, u);
  await tx.put('upstream', u);
  return u;
}

/**
 * A new upstream where `place` says (the operator names the tenant and region; a tenant
 * scope supplies its own tenant, and its project or region and instance).
 */
export async function createUpstream(store: Store, scope: Scope, place: Placement, input: UpstreamInput, limits = DEFAULT_LIMITS): Promise<Upstream> {
  return store.transact(async (tx) => {
    const tenantId = tenantFor(scope, place.tenantId);
    await requireTenant(tx, tenantId);
    let region = place.region ?? (scope.kind === 'tenant' ? scope.region : undefined);
    if (scope.kind === 'tenant' && scope.projectId !== undefined) {
      const p = await tx.get('project', scope.projectId);
      if (!p || p.tenantId !== tenantId) throw new ModelError('not_found', 'projectId', `project ${scope.projectId} does not exist`, { entity: 'project' });
      region = p.region;
    }
    if (region === undefined) throw new ModelError('missing', 'region', 'region is required', { entity: 'upstream' });
    const project = await ensureProject(tx, tenantId, region);
    let instanceId = (scope.kind === 'tenant' ? scope.instanceId : undefined) ?? place.instanceId;
    if (instanceId === undefined) instanceId = (await ensureDefaultInstance(tx, region)).id;
    else if (!(await tx.get('instance', instanceId))) throw new ModelError('not_found', 'instanceId', `instance ${instanceId} does not exist`, { entity: 'instance', value: instanceId });
    const existing = (await tx.list('upstream', { tenantId })).items.filter((x) => x.instanceId === instanceId);
    if (existing.length >= limits.maxUpstreamsPerInstance) {
      throw new ModelError('limit_exceeded', 'upstreams', `at most ${limits.maxUpstreamsPerInstance} upstreams per instance`, { entity: 'upstream', limit: limits.maxUpstreamsPerInstance });
    }
    const now = nowIso();
    const u = materialise(input, {
      id: newId(), tencentId: '', tenantId, projectId: project.id, instanceId,
      name: input.name, description: '', scheme: 'http', strategy: 'wrr', port: 0, retries: DEFAULT_RETRIES,
      upstreamHost: null, tlsVerify: true, failMode: 'open', memberType: 'ip', channelType: 'builtin',
      tags: [], networkId: '', ext: {}, createdAt: now, updatedAt: now,
    }, null);
    return writeUpstream(tx, u, limits);
  });
}

function upstreamNotFound(id: string): ModelError {
  return new ModelError('not_found', 'upstreamId', `upstream ${id} does not exist`, { entity: 'upstream', value: id });
}

/**
 * The upstream if the scope reaches it; another tenant's (or project's, instance's) does not
 * exist. `id` is the canonical id or the Tencent id: the forms cannot be mistaken for each
 * other, and each face checks that its callers use its own. Callers go on with `u.id`.
 */
export async function getUpstream(tx: Tx | Store, scope: Scope, id: string): Promise<Upstream> {
  const u = TENCENT_UPSTREAM_ID.test(id) ? await tx.findAlias('upstream', id) : await tx.get('upstream', id);
  if (!u || !reaches(await resolveScope(tx, scope), u)) throw upstreamNotFound(id);
  return u;
}

/**
 * The upstreams the scope reaches, oldest first. The operator may filter by tenant; a
 * tenant's list is its own whatever it asks.
 */
export async function listUpstreams(store: Store, scope: Scope, query: Pick<ListQuery, 'tenantId' | 'limit' | 'offset'> = {}): Promise<ListResult<Upstream>> {
  if (scope.kind === 'operator') return store.list('upstream', query);
  const r = await resolveScope(store, scope);
  const items = (await store.list('upstream', { tenantId: scope.tenantId, limit: 100_000 })).items
    .filter((u) => reaches(r, u))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  const offset = query.offset ?? 0;
  return { items: items.slice(offset, query.limit === undefined ? undefined : offset + query.limit), total: items.length };
}

/**
 * Full replace of the fields `described` names (those left out return to their defaults);
 * every other field is carried over from the stored upstream. `input` may be derived from
 * the current upstream inside the transaction.
 */
export async function replaceUpstream(
  store: Store, scope: Scope, id: string, input: Partial<UpstreamInput> | ((prev: Upstream) => Partial<UpstreamInput>), described: Described, limits = DEFAULT_LIMITS,
): Promise<Upstream> {
  return store.transact(async (tx) => {
    const prev = await getUpstream(tx, scope, id);
    const given = typeof input === 'function' ? input(prev) : input;
    const merged = carryOver(given, prev, described);
    merged.channelType ??= prev.channelType;
    if (merged.channelType !== prev.channelType) {
      throw new ModelError('conflict', 'channelType', 'channelType cannot change on update', { entity: 'upstream', value: merged.channelType });
    }
    return writeUpstream(tx, materialise(merged, prev, prev), limits);
  });
}

/** Partial update: only the fields given change (a list given replaces the stored one). */
export async function patchUpstream(store: Store, scope: Scope, id: string, patch: Partial<UpstreamInput>, limits = DEFAULT_LIMITS, described = givenFields(patch)): Promise<Upstream> {
  return replaceUpstream(store, scope, id, patch, described, limits);
}

/** Applies `mutate` to the current upstream inside one transaction and writes the result. */
export async function updateUpstream(
  store: Store,
  scope: Scope,
  id: string,
  mutate: (u: Upstream, tx: Tx) => Upstream | void | Promise<Upstream | void>,
  limits = DEFAULT_LIMITS,
): Promise<Upstream> {
  return store.transact(async (tx) => {
    const prev = await getUpstream(tx, scope, id);
    const draft = structuredClone(prev);
    const next = (await mutate(draft, tx)) ?? draft;
    next.id = prev.id; next.tencentId = prev.tencentId; next.tenantId = prev.tenantId; next.projectId = prev.projectId;
    next.instanceId = prev.instanceId; next.createdAt = prev.createdAt; next.channelType = prev.channelType;
    next.updatedAt = nowIso();
    return writeUpstream(tx, next, limits);
  });
}

function replaceMemberList(u: Upstream, members: MemberInput[], now: string): Member[] {
  const prev = new Map(u.members.map((m) => [memberEndpoint(u, m.host, m.port), m]));
  return members.map((m, i) => buildMember(m, prev.get(memberEndpoint(u, m.host, m.port)), u.memberGroups, `members[${i}]`, now));
}

/** Refused while a route or a reference channel uses the upstream. */
export async function deleteUpstream(store: Store, scope: Scope, id: string): Promise<void> {
  await store.transact(async (tx) => {
    const u = await getUpstream(tx, scope, id);
    const routes = await tx.list('route', { parentId: u.id });
    if (routes.total > 0) {
      throw new ModelError('in_use', 'upstreamId', `upstream ${id} is used by ${routes.total} route(s): delete or rebind them first`, { entity: 'route', limit: routes.total, value: id });
    }
    const referrers = (await tx.list('upstream', {})).items.filter((x) => x.memberGroups.some((g) => g.referenceUpstreamId === u.id));
    if (referrers.length > 0) {
      throw new ModelError('conflict', 'upstreamId', `upstream ${id} is referenced by upstream ${referrers[0].id}`, { entity: 'upstream', value: id });
    }
    await tx.delete('upstream', u.id);
  });
}

// ---- members ------------------------------------------------------------------------

/**
 * Add-or-update by address (host + effective port): a member already there is updated in
 * place (keeping its id), a new one is appended, members not mentioned are kept. When the
 * same address appears more than once in `inputs`, the first wins.
 */
export function upsertMembers(u: Upstream, inputs: MemberInput[]): Upstream {
  const now = nowIso();
  const seen = new Set<string>();
  inputs.forEach((m, i) => {
    const addr = memberEndpoint(u, m.host, m.port);
    if (seen.has(addr)) return;
    seen.add(addr);
    const idx = u.members.findIndex((x) => memberEndpoint(u, x.host, x.port) === addr);
    const prev = idx >= 0 ? u.members[idx] : undefined;
    const next = buildMember(m, prev, u.memberGroups, `members[${i}]`, now);
    if (idx >= 0) u.members[idx] = next; else u.members.push(next);
  });
  return u;
}

/** Replaces the members of one group (or, with group undefined, all members). */
export function replaceMembers(u: Upstream, inputs: MemberInput[], group?: string): Upstream {
  const now = nowIso();
  if (group === undefined) {
    u.members = replaceMemberList(u, dedupeFirst(inputs, u), now);
    return u;
  }
  const gid = groupIdFor(group, u.memberGroups, 'memberGroupName');
  const keep = u.members.filter((m) => m.groupId !== gid);
  const prev = new Map(u.members.filter((m) => m.groupId === gid).map((m) => [memberEndpoint(u, m.host, m.port), m]));
  const mine = dedupeFirst(inputs.filter((m) => (m.group ?? group) === group), u)
    .map((m, i) => buildMember({ ...m, group }, prev.get(memberEndpoint(u, m.host, m.port)), u.memberGroups, `members[${i}]`, now));
  u.members = [...keep, ...mine];
  return u;
}

/** The inputs without repeated endpoints: the first definition of each endpoint wins. */
export function dedupeFirst(inputs: MemberInput[], u: Pick<Upstream, 'port' | 'scheme'>): MemberInput[] {
  const seen = new Set<string>();
  return inputs.filter((m) => {
    const a = memberEndpoint(u, m.host, m.port);
    if (seen.has(a)) return false;
    seen.add(a);
    return true;
  });
}

export function findMember(u: Upstream, memberId: string): Member {
  const m = u.members.find((x) => x.id === memberId);
  if (!m) throw new ModelError('not_found', 'memberId', `member ${memberId} does not exist in upstream ${u.id}`, { entity: 'member', value: memberId });
  return m;
}

export function setMembersEnabled(u: Upstream, memberIds: string[], enabled: boolean): Upstream {
  for (const id of memberIds) findMember(u, id).enabled = enabled;
  return u;
}

export function removeMember(u: Upstream, memberId: string): Upstream {
  findMember(u, memberId);
  u.members = u.members.filter((m) => m.id !== memberId);
  return u;
}

// ---- member groups ------------------------------------------------------------------

/**
 * Add-or-update groups by name; the first of duplicate names in one call wins. A group
 * given a weight sets its members' weights (applyGroupWeight), whichever face asks.
 */
export function upsertGroups(u: Upstream, inputs: MemberGroupInput[]): Upstream {
  const now = nowIso();
  const seen = new Set<string>();
  for (const g of inputs) {
    if (seen.has(g.name)) continue;
    seen.add(g.name);
    const idx = u.memberGroups.findIndex((x) => x.name === g.name);
    const next = buildGroup(g, idx >= 0 ? u.memberGroups[idx] : undefined, now);
    if (idx >= 0) u.memberGroups[idx] = next; else u.memberGroups.push(next);
    applyGroupWeight(u, next);
  }
  return u;
}

export function findGroup(u: Upstream, groupId: string): MemberGroup {
  const g = u.memberGroups.find((x) => x.id === groupId);
  if (!g) throw new ModelError('not_found', 'memberGroupId', `member group ${groupId} does not exist in upstream ${u.id}`, { entity: 'memberGroup', value: groupId });
  return g;
}

/**
 * Replaces the fields of one group that `described` names (a rename included), keeping its
 * id, its members and its other fields; a weight given sets its members' weights.
 */
export function replaceGroup(u: Upstream, groupId: string, input: MemberGroupInput, described: readonly (keyof MemberGroupInput)[] = GROUP_FIELDS): MemberGroup {
  const prev = findGroup(u, groupId);
  if (input.name !== prev.name && u.memberGroups.some((o) => o.name === input.name)) {
    throw new ModelError('duplicate', 'name', `name: member group "${input.name}" already exists`, { entity: 'member group', value: input.name });
  }
  const carried = Object.fromEntries(GROUP_FIELDS.filter((k) => !described.includes(k)).map((k) => [k, prev[k as keyof MemberGroup]]));
  const next = buildGroup({ ...input, ...carried } as MemberGroupInput, prev, nowIso());
  u.memberGroups[u.memberGroups.indexOf(prev)] = next;
  applyGroupWeight(u, next);
  return next;
}

/** Changes the given fields of one member, keeping the rest (its group included). */
export function patchMember(u: Upstream, memberId: string, patch: Partial<MemberInput>): Member {
  const m = findMember(u, memberId);
  const group = patch.group !== undefined ? patch.group : u.memberGroups.find((g) => g.id === m.groupId)?.name ?? null;
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const next = buildMember({ ...m, ...defined, group }, m, u.memberGroups, 'member', m.createdAt);
  u.members = u.members.map((y) => (y.id === m.id ? next : y));
  return next;
}

/** Removing a group removes its members with it (Huawei's behaviour). */
export function removeGroup(u: Upstream, groupId: string): Upstream {
  findGroup(u, groupId);
  u.memberGroups = u.memberGroups.filter((g) => g.id !== groupId);
  u.members = u.members.filter((m) => m.groupId !== groupId);
  return u;
}
