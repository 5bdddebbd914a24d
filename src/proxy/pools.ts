import type { MemberTarget, RoutePlan, UpstreamPlan } from '../runtime/snapshot.js';
import type { Runtime } from '../runtime/runtime.js';
import type { MemberPool } from './lean/member-pool.js';

/** A member's keep-alive connection pool (lean/member-pool.ts MemberPools hands them out). */
export type ProxyPool = MemberPool;

/** The runtime, snapshot pieces and member targets of the L7 proxy. */
export type ProxyRuntime = Runtime<ProxyPool>;
export type ProxyTarget = MemberTarget<ProxyPool>;
export type ProxyRoutePlan = RoutePlan;
export type ProxyUpstreamPlan = UpstreamPlan<ProxyPool>;

export interface PoolOptions {
  /** Connect timeout per attempt. */
  connectTimeoutMs: number;
  /** Idle keep-alive connections are closed after this long. */
  keepAliveMs: number;
}

export const DEFAULT_POOL_OPTIONS: PoolOptions = { connectTimeoutMs: 5_000, keepAliveMs: 30_000 };
