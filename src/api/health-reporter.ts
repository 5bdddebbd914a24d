import type { Upstream } from '../model/types.js';

export type HealthState = 'healthy' | 'unhealthy' | 'unknown' | 'off';

export interface MemberHealthReport {
  memberId: string;
  host: string;
  port: number;
  state: HealthState;
  reason: string;
  since: string | null;
}

/**
 * What the APIs read of member health. The health checker implements it; until an upstream
 * has checks configured every member reads `off` (Tencent `OFF`, Huawei `unknown`).
 */
export interface HealthReporter {
  report(u: Upstream): MemberHealthReport[];
  /**
   * What keeps the upstream as a whole from being served or checked on this node (a stored
   * object the data plane cannot build), or null.
   */
  problem(u: Upstream): string | null;
}

export const noHealth: HealthReporter = {
  problem: () => null,
  report: (u) => u.members.map((m) => ({
    memberId: m.id, host: m.host, port: m.port, state: u.healthCheck ? 'unknown' : 'off', reason: u.healthCheck ? 'no verdict yet' : 'health checks are off', since: null,
  })),
};
