import { RateLimiterMemory } from 'rate-limiter-flexible';

/** A budget of requests per second for each tenant and operation, kept in this process. */
export interface TenantRateLimiter {
  readonly perSecond: number;
  /** True when the request fits the tenant's budget for `operation`, false when it is over. */
  take(tenantId: string, operation: string): Promise<boolean>;
}

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
