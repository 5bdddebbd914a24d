import type { HealthReporter } from '../model/health.js';

// The types live in model/ (the checker and the data plane use them too); re-exported for the faces.
export type { HealthReporter, HealthState, MemberHealthReport } from '../model/health.js';

/** The reporter of a node without a checker: every member `off`, or `unknown` once checks are set. */
export const noHealth: HealthReporter = {
  problem: () => null,
  report: (u) => u.members.map((m) => ({
    memberId: m.id, host: m.host, port: m.port, state: u.healthCheck ? 'unknown' : 'off', reason: u.healthCheck ? 'no verdict yet' : 'health checks are off', since: null,
  })),
};
