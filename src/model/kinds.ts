import type { Kind, ObjectKinds } from './types.js';
import { projectKey } from './region.js';

/**
 * What the store needs to know about one kind of object, besides its JSON document. A new kind
 * is a model type (types.ts: ObjectKinds, KINDS) and one entry in KIND_DESCRIPTORS; the stores
 * read nothing else, so nothing in store/ changes.
 */
export interface KindDescriptor<T = any> {
  /**
   * A key no two objects of the kind may share, and the field a duplicate is reported on;
   * null: only the id is unique.
   */
  unique: { field: string; key: (obj: T) => string } | null;
  /** The tenant that owns the object (what `ListQuery.tenantId` finds it by); null for global kinds. */
  owner: ((obj: T) => string | null) | null;
  /** The object this one hangs under (what `ListQuery.parentId` finds it by): its kind and the field holding its id. */
  parent: { kind: Kind; field: keyof T & string } | null;
  /**
   * A second unique lookup: the id another face shows the object by (an upstream's Tencent
   * id), and the field a duplicate is reported on. Absent: none.
   */
  alias?: { field: string; key: (obj: T) => string | null };
}

/** Every kind's descriptor, keyed by kind: which kinds a store holds, and how it indexes each. */
export type KindRegistry = Readonly<Record<string, KindDescriptor>>;

const ownTenant = (o: { tenantId: string | null }): string | null => o.tenantId;

export const KIND_DESCRIPTORS: { readonly [K in Kind]: KindDescriptor<ObjectKinds[K]> } = {
  tenant: { unique: { field: 'name', key: (t) => t.name }, owner: (t) => t.id, parent: null },
  project: { unique: { field: 'region', key: (p) => projectKey(p.tenantId, p.region) }, owner: ownTenant, parent: null },
  instance: { unique: null, owner: null, parent: null },
  keypair: { unique: { field: 'secretId', key: (k) => k.secretId }, owner: ownTenant, parent: null },
  token: { unique: { field: 'hash', key: (t) => t.hash }, owner: ownTenant, parent: null },
  // Upstream names are unique per tenant and instance.
  upstream: {
    unique: { field: 'name', key: (u) => `${u.tenantId}/${u.instanceId}/${u.name}` }, owner: ownTenant, parent: null,
    alias: { field: 'tencentId', key: (u) => u.tencentId ?? null },
  },
  route: { unique: null, owner: ownTenant, parent: { kind: 'upstream', field: 'upstreamId' } },
  // L4 (model/gaap.ts). Regions are the operator's catalogue, keyed by their id alone.
  l4Region: { unique: null, owner: null, parent: null },
  connectionGroup: { unique: null, owner: ownTenant, parent: null },
  // A ClientToken names one proxy per tenant: the alias finds the earlier request.
  proxy: {
    unique: null, owner: ownTenant, parent: { kind: 'connectionGroup', field: 'groupId' },
    alias: { field: 'clientToken', key: (p) => (p.clientToken === null ? null : `${p.tenantId}/${p.clientToken}`) },
  },
  // holderId is a proxy id or a group id (model/gaap.ts StreamListener).
  streamListener: { unique: null, owner: ownTenant, parent: { kind: 'proxy', field: 'holderId' } },
  // One origin per address in a tenant's cloud project (GAAP DuplicateRS).
  origin: { unique: { field: 'address', key: (o) => `${o.tenantId}/${o.cloudProjectId}/${o.address}` }, owner: ownTenant, parent: null },
  originBinding: { unique: null, owner: ownTenant, parent: { kind: 'streamListener', field: 'listenerId' } },
};

