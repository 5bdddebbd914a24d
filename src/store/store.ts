import { projectKey } from '../model/region.js';
import type { Kind, ObjectKinds } from '../model/types.js';

/**
 * One row of the change feed: what a committed write touched. `op` is 'put' for create
 * and update alike; readers re-read the object at `id` (or drop it on 'delete').
 */
export interface Change {
  revision: number;
  kind: Kind;
  id: string;
  op: 'put' | 'delete';
}

/** How long the store may take to answer (operator settings --store-timeout, --store-connect-timeout). */
export interface StoreTimeouts {
  /** One query, one lock wait, one whole transaction (SQLite: busy_timeout). */
  timeoutMs: number;
  /** Connecting to the server, or waiting for a free pooled connection (PostgreSQL only). */
  connectTimeoutMs: number;
}

export const DEFAULT_STORE_TIMEOUTS: StoreTimeouts = { timeoutMs: 5000, connectTimeoutMs: 3000 };

export interface ListQuery {
  /** Only objects of this tenant (upstreams, routes, keypairs, tokens, projects). */
  tenantId?: string;
  /** Only routes of this upstream. */
  upstreamId?: string;
  limit?: number;
  offset?: number;
}

export interface ListResult<T> { items: T[]; total: number }

/** Reads and writes inside one transaction. Writes are seen by later reads in the same tx. */
export interface Tx {
  get<K extends Kind>(kind: K, id: string): Promise<ObjectKinds[K] | null>;
  list<K extends Kind>(kind: K, query?: ListQuery): Promise<ListResult<ObjectKinds[K]>>;
  /** Create or replace. Throws ModelError('duplicate') when a unique key is taken by another object. */
  put<K extends Kind>(kind: K, obj: ObjectKinds[K]): Promise<void>;
  /** Returns false when there was nothing to delete. */
  delete(kind: Kind, id: string): Promise<boolean>;
  /** Lookup by the kind's unique key (see uniqueKey()). */
  findUnique<K extends Kind>(kind: K, key: string): Promise<ObjectKinds[K] | null>;
  /** Lookup by the kind's alias, the id another face shows (see aliasOf()). */
  findAlias<K extends Kind>(kind: K, alias: string): Promise<ObjectKinds[K] | null>;
}

export type Subscriber = (revision: number, changes: Change[]) => void;

/**
 * The one store interface, implemented by SQLite (embedded default) and PostgreSQL.
 * Every `transact` that writes is one database transaction and bumps the global revision
 * by exactly one; a throwing callback rolls everything back. Transactions are serialised,
 * so concurrent read-modify-write cycles do not lose updates.
 *
 * Every call ends within the store's deadline (StoreTimeouts); one that cannot rejects with
 * StoreUnavailableError (errors.ts). A write that timed out changed nothing, unless its
 * COMMIT had already been sent: then it is unknown, as with any lost connection.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  revision(): Promise<number>;
  get<K extends Kind>(kind: K, id: string): Promise<ObjectKinds[K] | null>;
  list<K extends Kind>(kind: K, query?: ListQuery): Promise<ListResult<ObjectKinds[K]>>;
  findUnique<K extends Kind>(kind: K, key: string): Promise<ObjectKinds[K] | null>;
  findAlias<K extends Kind>(kind: K, alias: string): Promise<ObjectKinds[K] | null>;
  /** Every object of every kind as of one revision: what the runtime builds a snapshot from. */
  loadAll(): Promise<{ revision: number; objects: { [K in Kind]: ObjectKinds[K][] } }>;
  transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Changes with revision > `revision`, oldest first. */
  changesSince(revision: number): Promise<Change[]>;
  /** Called after commit, once per committed write, in revision order. Returns an unsubscribe function. */
  subscribe(fn: Subscriber): () => void;
  close(): Promise<void>;
}

/**
 * The unique key of an object within its kind, or null when the kind has none.
 * Upstream names are unique per (tenant, instance); routes have none.
 */
export function uniqueKey<K extends Kind>(kind: K, obj: ObjectKinds[K]): string | null {
  switch (kind) {
    case 'tenant': return (obj as ObjectKinds['tenant']).name;
    case 'project': { const p = obj as ObjectKinds['project']; return projectKey(p.tenantId, p.region); }
    case 'instance': return null;
    case 'keypair': return (obj as ObjectKinds['keypair']).secretId;
    case 'token': return (obj as ObjectKinds['token']).hash;
    case 'upstream': { const u = obj as ObjectKinds['upstream']; return `${u.tenantId}/${u.instanceId}/${u.name}`; }
    case 'route': return null;
    default: return null;
  }
}

/**
 * The object's second unique key within its kind, or null: the id a face other than the
 * canonical one names it by. Upstreams have Tencent's (`upstream-xxxxxxxx`); older documents
 * written before it existed have none until the migration gives them one.
 */
export function aliasOf<K extends Kind>(kind: K, obj: ObjectKinds[K]): string | null {
  if (kind === 'upstream') return (obj as ObjectKinds['upstream']).tencentId ?? null;
  return null;
}

/** The tenant an object belongs to, for tenant-scoped listing (null for global kinds). */
export function tenantOf<K extends Kind>(kind: K, obj: ObjectKinds[K]): string | null {
  if (kind === 'tenant') return (obj as ObjectKinds['tenant']).id;
  if (kind === 'instance') return null;
  return ((obj as { tenantId?: string | null }).tenantId) ?? null;
}
