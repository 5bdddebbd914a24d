/**
 * The balancer contract shared by every strategy. A balancer is built once per upstream
 * per snapshot from the members that can take traffic; it never scans all members per pick.
 */

/** What a balancer needs to know of a member: precomputed by the runtime. */
export interface Target {
  /** Stable identity (the member id); used for hashing and for carrying state over swaps. */
  id: string;
  /** Effective weight (member weight, else group weight, else 1); > 0 (zero-weight members are never given to a balancer). */
  weight: number;
  backup: boolean;
}

/** Per-request inputs a strategy may use. */
export interface PickContext<T extends Target = Target> {
  /** Client address, for source-IP hashing. */
  clientIp: string;
  /** Request path without the query, for URI hashing. */
  path: string;
  /**
   * Eligibility filter (health, already-tried members on retry). Absent = all eligible.
   * A balancer must skip targets for which it returns false and still stay O(log n)
   * in the common case where most targets are eligible.
   */
  eligible?: (t: T) => boolean;
}

export interface Balancer<T extends Target = Target> {
  /** A target, or null when none is eligible. Backups only when no primary is eligible. */
  pick(ctx: PickContext<T>): T | null;
  /** Request accounting for least-connections; no-ops for other strategies. */
  onStart(t: T): void;
  onEnd(t: T): void;
}
