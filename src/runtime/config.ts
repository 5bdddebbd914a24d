import type { Route, Upstream } from '../model/types.js';

/** Everything the data plane needs, at one store revision. Plain data: it crosses to workers over IPC. */
export interface RuntimeConfig {
  revision: number;
  upstreams: Upstream[];
  routes: Route[];
}

/** Before the first revision is loaded. */
export const EMPTY_CONFIG: RuntimeConfig = { revision: -1, upstreams: [], routes: [] };
