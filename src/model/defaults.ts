import type { HealthCheck, Member, Scheme, Upstream } from './types.js';

export const DEFAULT_RETRIES = 3;
export const DEFAULT_ROUTE_TIMEOUT_MS = 60_000;

export function defaultHealthCheck(): HealthCheck {
  return {
    active: true,
    passive: false,
    protocol: 'tcp',
    path: '/',
    method: 'GET',
    port: 0,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    tcpFailureThreshold: 0,
    httpFailureThreshold: 0,
    timeoutThreshold: 0,
    interval: 5,
    timeout: 3,
    healthyStatuses: '200-399',
    unhealthyStatuses: '500-599',
    requestHeaders: {},
    unhealthyTimeout: 30,
    clientTls: false,
    ext: {},
  };
}

/**
 * A probe timeout when the caller gives only an interval: 5 s (both clouds' default), but
 * always below the interval, which the model requires.
 */
export function defaultProbeTimeout(interval: number): number {
  return Math.max(1, Math.min(5, interval - 1));
}

/** The port a member is reached on: its own, else the upstream's, else the scheme's. */
export function memberPort(u: Pick<Upstream, 'port' | 'scheme'>, m: Pick<Member, 'port'>): number {
  return m.port || u.port || schemeDefaultPort(u.scheme);
}

/** The port a member is reached on when neither it nor its upstream names one. */
export function schemeDefaultPort(scheme: Scheme): number {
  return scheme === 'https' || scheme === 'grpcs' ? 443 : 80;
}
