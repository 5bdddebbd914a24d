import type { L4Region, Origin, OriginBinding, Proxy, StreamListener } from '../model/gaap.js';
import type { Route, Upstream } from '../model/types.js';

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
  l4: L4Objects;
}

export const EMPTY_L4: L4Objects = { regions: [], proxies: [], listeners: [], origins: [], bindings: [] };

/** Before the first revision is loaded. */
export const EMPTY_CONFIG: RuntimeConfig = { revision: -1, upstreams: [], routes: [], l4: EMPTY_L4 };
