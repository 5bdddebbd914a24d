import type { HealthState } from '../model/health.js';

/**
 * What the data plane knows of one member address beyond the config: whether it may take
 * traffic now. Kept across snapshots (keyed by upstream, member and address) so health
 * survives config changes; the health checker writes it, the balancers' filter reads it.
 */
export interface MemberState {
  /** The hot-path flag: false only when the member is known to be unhealthy. */
  healthy: boolean;
  state: HealthState;
  /** Why it is in this state (shown by the health API). */
  reason: string;
  /** Since when (ms since epoch). */
  since: number;
}

/** A verdict as it travels from the health checker to every copy of the data plane. */
export interface HealthUpdate { key: string; state: HealthState; reason: string; since: number }

export function memberStateKey(upstreamId: string, memberId: string, host: string, port: number): string {
  return `${upstreamId}/${memberId}/${host}:${port}`;
}

export function applyUpdate(s: MemberState, u: HealthUpdate): void {
  s.state = u.state;
  s.healthy = u.state !== 'unhealthy';
  s.reason = u.reason;
  s.since = u.since;
}

/** A member the data plane has no verdict for yet: eligible. */
export function newMemberState(): MemberState {
  return { healthy: true, state: 'unknown', reason: 'no verdict yet', since: Date.now() };
}
