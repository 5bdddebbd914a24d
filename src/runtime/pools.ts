/**
 * Where a snapshot's members get their connection pools. The data plane that dispatches
 * implements it (proxy/pools.ts, on undici); the runtime only hands each member target the
 * pool for its origin and TLS policy, and says after every swap which ones are still used.
 */
export interface PoolSource<P> {
  get(origin: string, tls: { verify: boolean }): P;
  /** Closes every pool not in `inUse` (requests already on one finish first). */
  retain(inUse: ReadonlySet<P>): void;
  destroyAll(): void;
}
