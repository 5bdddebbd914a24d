/**
 * What the data plane knows of one member address beyond the config: whether it may take
 * traffic now. Kept across snapshots (keyed by upstream, member and address) so health
 * survives config changes; the health checker writes it, the balancers' filter reads it.
 */
export interface MemberState {
  healthy: boolean;
  /** Why it is in this state (shown by the health API). */
  reason: string;
  /** Since when (ms since epoch). */
  since: number;
}

export function memberStateKey(upstreamId: string, memberId: string, host: string, port: number): string {
  return `${upstreamId}/${memberId}/${host}:${port}`;
}
