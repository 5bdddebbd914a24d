/**
 * A budget of requests per second for each tenant and operation. The faces ask it before
 * they act; where it counts (this process, or the cluster's database) is the node's choice.
 */
export interface TenantRateLimiter {
  readonly perSecond: number;
  /** True when the request fits the tenant's budget for `operation`, false when it is over. */
  take(tenantId: string, operation: string): Promise<boolean>;
}

/** Makes one face's limiter: `face` keeps the faces' budgets apart where they share a table. */
export type RateLimiterFactory = (face: string, perSecond: number) => TenantRateLimiter;
