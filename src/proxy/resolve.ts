import type { ProxyRoutePlan as RoutePlan, ProxyRuntime as Runtime, ProxyUpstreamPlan } from './pools.js';
import type { RouteMatch } from '../runtime/router.js';
import type { ProxyFailure } from './errors.js';

/**
 * Where a request goes, worked out once from its Host, URL and socket. The route's upstream
 * plan comes from the same snapshot as the route: both are there, or neither (no route, or
 * a route whose upstream is gone), so one test of `match` tells both.
 */
export type Resolved = { host: string; path: string; hashPath: string; clientIp: string }
  & ({ match: RouteMatch<RoutePlan>; upstream: ProxyUpstreamPlan } | { match: null; upstream: null });

/** The host a Host value routes on: lower-cased, without its port. */
export function routeHost(rawHost: string): string {
  const colon = rawHost.startsWith('[') ? rawHost.indexOf(']:') + 1 : rawHost.lastIndexOf(':');
  return (colon > 0 ? rawHost.slice(0, colon) : rawHost).toLowerCase();
}

/**
 * Routes a request by its Host (as sent), target (path and query) and method;
 * `host` is routeHost(rawHost), passed by a caller that keeps it per connection.
 */
export function resolveTarget(runtime: Runtime, rawHost: string, url: string, method: string, clientIp: string, host = routeHost(rawHost)): Resolved {
  const q = url.indexOf('?');
  const hashPath = q < 0 ? url : url.slice(0, q);
  const snapshot = runtime.snapshot;
  const found = snapshot.router.match(host, hashPath, method);
  const upstream = found ? snapshot.upstreams.get(found.value.route.upstreamId) : undefined;
  if (!found || !upstream) return { host: rawHost, path: url, hashPath, clientIp, match: null, upstream: null };
  let path = url;
  if (found.value.route.stripPrefix && found.prefix !== '/') {
    const rest = url.slice(found.prefix.length);
    path = rest.startsWith('/') ? rest : `/${rest}`;
  }
  return { host: rawHost, path, hashPath, clientIp, match: found, upstream };
}

export function notFound(host: string, path: string): ProxyFailure {
  return { code: 'route_not_found', message: `no route for ${host}${path}` };
}
