import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { TenantRateLimiter } from '../../model/rate-limit.js';

export type { TenantRateLimiter } from '../../model/rate-limit.js';

/** A budget kept in this process: the whole budget of a single node (SQLite). */
export function tenantRateLimiter(perSecond: number): TenantRateLimiter {
  const limiter = new RateLimiterMemory({ points: perSecond, duration: 1 });
  return {
    perSecond,
    async take(tenantId, operation) {
      try {
        await limiter.consume(`${tenantId}:${operation}`);
        return true;
      } catch (err) {
        // The memory limiter rejects with its result object when over budget; anything
        // else is a real failure and must not pass for a refusal.
        if (err instanceof Error) throw err;
        return false;
      }
    },
  };
}
