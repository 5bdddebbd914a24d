import type { Route, Upstream } from '../model/types.js';

/** Everything the data plane needs, at one store revision. Plain data: it crosses to workers over IPC. */
export interface RuntimeConfig {
  revision: number;
  upstreams: Upstream[];
  routes: Route[];
}
