/**
 * Where a snapshot's members get their connection pools. The data plane that dispatches
 * implements it (proxy/lean/member-pool.ts); the runtime only hands each member target the
 * pool for its origin and TLS policy, and says when no plan uses one any more.
 */
export interface PoolSource<P> {
  get(origin: string, tls: { verify: boolean }): P;
  /** Closes a pool no plan uses any more (requests already on it finish first); a later get opens a new one. */
  release(pool: P): void;
  destroyAll(): void;
}
