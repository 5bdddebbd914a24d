import type { L4Region, Origin, OriginBinding, Proxy, StreamListener } from '../model/gaap.js';
import type { Instance, ObjectKinds, Route, Upstream } from '../model/types.js';

/** The L4 objects of one revision, as stored (the L4 plane builds its plan from them). */
export interface L4Objects {
  regions: L4Region[];
  proxies: Proxy[];
  listeners: StreamListener[];
  origins: Origin[];
  bindings: OriginBinding[];
}

/** Everything the data plane needs, at one store revision. Plain data: it crosses to workers over IPC. */
export interface RuntimeConfig {
  revision: number;
  upstreams: Upstream[];
  routes: Route[];
  /** Gateway instances (their regions label the L7 routes per node). */
  instances: Instance[];
  l4: L4Objects;
}

export const EMPTY_L4: L4Objects = { regions: [], proxies: [], listeners: [], origins: [], bindings: [] };

/** Before the first revision is loaded. */
export const EMPTY_CONFIG: RuntimeConfig = { revision: -1, upstreams: [], routes: [], instances: [], l4: EMPTY_L4 };

/** The kinds the data plane is built from; a change of any other kind only moves the revision. */
export const L4_KINDS = ['l4Region', 'proxy', 'streamListener', 'origin', 'originBinding'] as const;
export const DATA_PLANE_KINDS = ['upstream', 'route', 'instance', ...L4_KINDS] as const;
export type DataPlaneKind = typeof DATA_PLANE_KINDS[number];

/** One changed object as it is now: its document, or null once deleted. */
export type ObjectChange = { [K in DataPlaneKind]: { kind: K; id: string; doc: ObjectKinds[K] | null } }[DataPlaneKind];

/**
 * The revisions after `since` up to `revision`, as the changed data-plane objects now are.
 * Plain data: it crosses to workers over IPC. Empty `changes`: only the revision moved.
 */
export interface ConfigDelta {
  since: number;
  revision: number;
  changes: ObjectChange[];
}
