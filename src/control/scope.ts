import { ModelError } from '../model/errors.js';
import { projectKey } from '../model/region.js';
import type { Store, Tx } from '../store/store.js';

/**
 * Who is asking, passed to every control call; there is no default. The operator sees
 * everything. A tenant sees its own objects, narrowed to one project (named by id, as
 * Huawei does, or by region, as Tencent does) and one instance when those are given.
 */
export type Scope = OperatorScope | TenantScope;

export interface OperatorScope { readonly kind: 'operator' }

export interface TenantScope {
  readonly kind: 'tenant';
  readonly tenantId: string;
  /** Only objects of this project. */
  readonly projectId?: string;
  /** Only objects of the tenant's project in this region (none while that project does not exist). */
  readonly region?: string;
  /** Only objects of this instance. */
  readonly instanceId?: string;
}

export const OPERATOR: OperatorScope = Object.freeze({ kind: 'operator' });

export function tenantScope(tenantId: string, narrow: { projectId?: string; region?: string; instanceId?: string } = {}): TenantScope {
  return { kind: 'tenant', tenantId, ...narrow };
}

/** What an object carries that a scope can be checked against. */
export interface Owned { tenantId: string | null; projectId?: string; instanceId?: string }

/** A scope with its region turned into a project id (null: no such project, nothing is visible). */
export interface Resolved {
  tenantId: string | null;
  projectId: string | null | undefined;
  instanceId: string | undefined;
}

export async function resolveScope(tx: Tx | Store, scope: Scope): Promise<Resolved> {
  if (scope.kind === 'operator') return { tenantId: null, projectId: undefined, instanceId: undefined };
  let projectId: string | null | undefined = scope.projectId;
  if (scope.region !== undefined) {
    const p = await tx.findUnique('project', projectKey(scope.tenantId, scope.region));
    projectId = p && (projectId === undefined || projectId === p.id) ? p.id : null;
  }
  return { tenantId: scope.tenantId, projectId, instanceId: scope.instanceId };
}

/** The one ownership check: does the (resolved) scope reach this object? */
export function reaches(r: Resolved, o: Owned): boolean {
  if (r.tenantId === null) return true;
  if (o.tenantId !== r.tenantId) return false;
  if (r.projectId === null) return false;
  if (r.projectId !== undefined && o.projectId !== r.projectId) return false;
  if (r.instanceId !== undefined && o.instanceId !== r.instanceId) return false;
  return true;
}

/** Operator-only calls (tenants, instances, credentials) refuse any other scope. */
export function requireOperator(scope: Scope, what: string): void {
  if (scope.kind !== 'operator') throw new ModelError('not_found', 'scope', `${what} is not available to tenants`, { entity: what });
}

/** The tenant a tenant scope names, or `given` for the operator (who must name one). */
export function tenantFor(scope: Scope, given: string | undefined): string {
  if (scope.kind === 'tenant') {
    if (given !== undefined && given !== scope.tenantId) throw new ModelError('not_found', 'tenantId', `tenant ${given} does not exist`, { entity: 'tenant' });
    return scope.tenantId;
  }
  if (given === undefined) throw new ModelError('missing', 'tenantId', 'tenantId is required', { entity: 'upstream' });
  return given;
}
