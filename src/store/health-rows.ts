import type { HealthRow, HealthState } from '../model/health.js';

/** A health row as both stores' drivers return it (BIGINT arrives as a string from pg). */
export interface HealthSqlRow {
  node_id: string; key: string; subject: string; state: string; reason: string; since_ms: number | string; down_ips: string;
}

export function healthRowOf(r: HealthSqlRow): HealthRow {
  return {
    nodeId: r.node_id, key: r.key, subject: r.subject, state: r.state as HealthState, reason: r.reason,
    sinceMs: Number(r.since_ms), downIps: JSON.parse(r.down_ips) as string[],
  };
}
