import type { Upstream } from './types.js';

/** A member's health as every layer names it (the APIs map it to each cloud's words). */
export type HealthState = 'healthy' | 'unhealthy' | 'unknown' | 'off';

/** What one attempt of real traffic showed (passive checks); a response is `ok` with its status. */
export type Outcome = 'ok' | 'connect' | 'tls' | 'reset' | 'timeout';

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
