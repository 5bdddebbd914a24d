import { Pool, type Dispatcher } from 'undici';
import type { PoolSource } from '../runtime/pools.js';
import type { MemberTarget, RoutePlan, UpstreamPlan } from '../runtime/snapshot.js';
import type { Runtime } from '../runtime/runtime.js';
import type { MemberPool } from './lean/member-pool.js';

/**
 * A member's connection pool: undici's for the node:http engine, the lean engine's own
 * (lean/member-pool.ts) for it. One engine runs per process (engine.ts), so each casts to its own.
 */
export type ProxyPool = Dispatcher | MemberPool;

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

/**
 * Keep-alive connection pools, one per origin and TLS policy, shared by every snapshot
 * that sends there. A pool no plan uses any more is closed gracefully: requests already
 * queued on it finish first.
 */
export class PoolRegistry implements PoolSource<Dispatcher> {
  private readonly pools = new Map<string, Dispatcher>();
  private readonly keys = new Map<Dispatcher, string>();

  constructor(private readonly opts: PoolOptions = DEFAULT_POOL_OPTIONS) {}

  get(origin: string, tls: { verify: boolean }): Dispatcher {
    const key = `${origin}|${tls.verify ? 'verify' : 'noverify'}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        pipelining: 1,
        keepAliveTimeout: this.opts.keepAliveMs,
        keepAliveMaxTimeout: this.opts.keepAliveMs,
        connect: { timeout: this.opts.connectTimeoutMs, rejectUnauthorized: tls.verify },
      });
      this.pools.set(key, pool);
      this.keys.set(pool, key);
    }
    return pool;
  }

  release(pool: Dispatcher): void {
    const key = this.keys.get(pool);
    if (key === undefined) return;
    this.keys.delete(pool);
    this.pools.delete(key);
    pool.close().catch(() => { /* already closed or destroyed */ });
  }

  destroyAll(): void {
    for (const p of this.pools.values()) p.destroy().catch(() => {});
    this.pools.clear();
    this.keys.clear();
  }
}
