import { createHash, randomBytes } from 'node:crypto';
import { ModelError } from '../model/errors.js';
import { newId, nowIso } from '../model/ids.js';
import type { Instance, KeyPair, Project, Tenant, Token } from '../model/types.js';
import { projectKey } from '../model/region.js';
import type { ListQuery, ListResult, Store, Tx } from '../store/store.js';
import { requireOperator, tenantFor, type Scope } from './scope.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

type Page = Pick<ListQuery, 'limit' | 'offset'>;

export async function createTenant(store: Store, scope: Scope, name: string): Promise<Tenant> {
  requireOperator(scope, 'tenant');
  return store.transact(async (tx) => {
    const t: Tenant = { id: newId(), name, createdAt: nowIso() };
    await tx.put('tenant', t);
    return t;
  });
}

export async function requireTenant(tx: Tx | Store, id: string): Promise<Tenant> {
  const t = await tx.get('tenant', id);
  if (!t) throw new ModelError('not_found', 'tenantId', `tenant ${id} does not exist`, { entity: 'tenant', value: id });
  return t;
}

/** A tenant the scope may see: any for the operator, itself for a tenant. */
export async function getTenant(store: Store, scope: Scope, id: string): Promise<Tenant> {
  return requireTenant(store, tenantFor(scope, id));
}

export async function listTenants(store: Store, scope: Scope, page: Page = {}): Promise<ListResult<Tenant>> {
  requireOperator(scope, 'tenant');
  return store.list('tenant', page);
}

/** A tenant's own objects of one kind (key pairs, tokens, projects): the tenant must exist. */
async function listOwned<K extends 'keypair' | 'token' | 'project'>(store: Store, scope: Scope, kind: K, tenantId: string) {
  const id = tenantFor(scope, tenantId);
  await requireTenant(store, id);
  return store.list(kind, { tenantId: id });
}

export const listKeyPairs = (store: Store, scope: Scope, tenantId: string) => listOwned(store, scope, 'keypair', tenantId);
export const listTokens = (store: Store, scope: Scope, tenantId: string) => listOwned(store, scope, 'token', tenantId);
export const listProjects = (store: Store, scope: Scope, tenantId: string) => listOwned(store, scope, 'project', tenantId);

/** A tenant's deletion takes its credentials with it; refused while it owns upstreams. */
export async function deleteTenant(store: Store, scope: Scope, id: string): Promise<void> {
  requireOperator(scope, 'tenant');
  await store.transact(async (tx) => {
    await requireTenant(tx, id);
    const ups = await tx.list('upstream', { tenantId: id, limit: 1 });
    if (ups.total > 0) throw new ModelError('in_use', 'tenantId', `tenant ${id} still owns ${ups.total} upstream(s)`);
    for (const kind of ['keypair', 'token', 'project'] as const) {
      for (const o of (await tx.list(kind, { tenantId: id })).items) await tx.delete(kind, o.id);
    }
    await tx.delete('tenant', id);
  });
}

/** The tenant's project in a region, created on first use (Tencent requests name only a region). */
export async function ensureProject(tx: Tx, tenantId: string, region: string): Promise<Project> {
  const found = await tx.findUnique('project', projectKey(tenantId, region));
  if (found) return found;
  const p: Project = { id: newId(), tenantId, region, createdAt: nowIso() };
  await tx.put('project', p);
  return p;
}

/** The tenant's project in a region, made if missing: how a Huawei caller learns its project_id. */
export async function openProject(store: Store, scope: Scope, tenantId: string, region: string): Promise<{ project: Project; created: boolean }> {
  tenantId = tenantFor(scope, tenantId);
  return store.transact(async (tx) => {
    await requireTenant(tx, tenantId);
    const found = await tx.findUnique('project', projectKey(tenantId, region));
    return found ? { project: found, created: false } : { project: await ensureProject(tx, tenantId, region), created: true };
  });
}

/** Every region has a default instance, created on first use. */
export async function ensureDefaultInstance(tx: Tx, region: string): Promise<Instance> {
  const all = (await tx.list('instance')).items;
  const found = all.find((i) => i.region === region && i.isDefault);
  if (found) return found;
  const inst: Instance = { id: newId(), name: `default-${region}`, region, isDefault: true, createdAt: nowIso() };
  await tx.put('instance', inst);
  return inst;
}

export async function createInstance(store: Store, scope: Scope, name: string, region: string): Promise<Instance> {
  requireOperator(scope, 'instance');
  return store.transact(async (tx) => {
    const all = (await tx.list('instance')).items;
    const inst: Instance = { id: newId(), name, region, isDefault: !all.some((i) => i.region === region && i.isDefault), createdAt: nowIso() };
    await tx.put('instance', inst);
    return inst;
  });
}

function instanceNotFound(id: string): ModelError {
  return new ModelError('not_found', 'instanceId', `instance ${id} does not exist`, { entity: 'instance', value: id });
}

/** Instances are the operator's: every tenant's upstreams may live on one. */
export async function getInstance(store: Store, scope: Scope, id: string): Promise<Instance> {
  requireOperator(scope, 'instance');
  const i = await store.get('instance', id);
  if (!i) throw instanceNotFound(id);
  return i;
}

export async function listInstances(store: Store, scope: Scope, page: Page = {}): Promise<ListResult<Instance>> {
  requireOperator(scope, 'instance');
  return store.list('instance', page);
}

export async function deleteInstance(store: Store, scope: Scope, id: string): Promise<void> {
  requireOperator(scope, 'instance');
  await store.transact(async (tx) => {
    if (!(await tx.get('instance', id))) throw instanceNotFound(id);
    const used = (await tx.list('upstream')).items.some((u) => u.instanceId === id);
    if (used) throw new ModelError('in_use', 'instanceId', `instance ${id} still holds upstreams`);
    await tx.delete('instance', id);
  });
}

/** A new key pair; the secret key is returned here and never again by any API. */
export async function createKeyPair(store: Store, scope: Scope, tenantId: string): Promise<KeyPair> {
  tenantId = tenantFor(scope, tenantId);
  return store.transact(async (tx) => {
    await requireTenant(tx, tenantId);
    // AKID prefix mirrors Tencent's SecretId look; 36 chars fit both clouds' AK length limits.
    const k: KeyPair = {
      id: newId(),
      tenantId,
      secretId: `AKID${randomBytes(16).toString('hex')}`,
      secretKey: randomBytes(24).toString('base64url'),
      createdAt: nowIso(),
    };
    await tx.put('keypair', k);
    return k;
  });
}

/** A new token: the clear text is returned once, only its hash is stored. */
export async function createToken(
  store: Store,
  scope: Scope,
  tenantId: string | null,
  name: string,
  ttlSeconds: number | null,
  clear = `slc_${randomBytes(24).toString('base64url')}`,
): Promise<{ token: Token; clear: string }> {
  // Only the operator makes operator tokens (tenantId null).
  if (tenantId === null) requireOperator(scope, 'token');
  else tenantId = tenantFor(scope, tenantId);
  const owner = tenantId;
  return store.transact(async (tx) => {
    if (owner !== null) await requireTenant(tx, owner);
    const token: Token = {
      id: newId(),
      tenantId: owner,
      name,
      hash: hashToken(clear),
      createdAt: nowIso(),
      expiresAt: ttlSeconds === null ? null : new Date(Date.now() + ttlSeconds * 1000).toISOString(),
    };
    await tx.put('token', token);
    return { token, clear };
  });
}

/** The token a clear text stands for, if it exists and has not expired. */
export async function lookupToken(store: Store, clear: string): Promise<Token | null> {
  const t = await store.findUnique('token', hashToken(clear));
  if (!t) return null;
  if (t.expiresAt !== null && Date.parse(t.expiresAt) <= Date.now()) return null;
  return t;
}

export async function deleteOwned(store: Store, scope: Scope, kind: 'keypair' | 'token', tenantId: string, id: string): Promise<void> {
  tenantId = tenantFor(scope, tenantId);
  await store.transact(async (tx) => {
    const o = await tx.get(kind, id);
    if (!o || o.tenantId !== tenantId) throw new ModelError('not_found', 'id', `${kind} ${id} does not exist`, { entity: kind, value: id });
    await tx.delete(kind, id);
  });
}
