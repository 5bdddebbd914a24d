import type { ProxyRoutePlan as RoutePlan, ProxyRuntime as Runtime, ProxyUpstreamPlan } from './pools.js';
import type { RouteMatch } from '../runtime/router.js';
import type { ProxyFailure } from './errors.js';

/**
 * Where a request goes, worked out once from its Host, URL and socket. The route's upstream
 * plan comes from the same snapshot as the route; `match` is null when there is neither.
 */
export interface Resolved { host: string; path: string; hashPath: string; clientIp: string; match: RouteMatch<RoutePlan> | null; upstream: ProxyUpstreamPlan | undefined }

/** The host a Host value routes on: lower-cased, without its port. */
export function routeHost(rawHost: string): string {
  const colon = rawHost.startsWith('[') ? rawHost.indexOf(']:') + 1 : rawHost.lastIndexOf(':');
  return (colon > 0 ? rawHost.slice(0, colon) : rawHost).toLowerCase();
}

/**
 * Routes a request by its Host (as sent), target (path and query) and method; both engines
 * share it. `host` is routeHost(rawHost), passed by a caller that keeps it per connection.
 */
export function resolveTarget(runtime: Runtime, rawHost: string, url: string, method: string, clientIp: string, host = routeHost(rawHost)): Resolved {
  const q = url.indexOf('?');
  const hashPath = q < 0 ? url : url.slice(0, q);
  const snapshot = runtime.snapshot;
  const found = snapshot.router.match(host, hashPath, method);
  const upstream = found ? snapshot.upstreams.get(found.value.route.upstreamId) : undefined;
  const match = upstream ? found : null;
  let path = url;
  if (match?.value.route.stripPrefix && match.prefix !== '/') {
    const rest = url.slice(match.prefix.length);
    path = rest.startsWith('/') ? rest : `/${rest}`;
  }
  return { host: rawHost, path, hashPath, clientIp, match, upstream };
}

export function notFound(host: string, path: string): ProxyFailure {
  return { code: 'route_not_found', message: `no route for ${host}${path}` };
}
