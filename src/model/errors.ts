/**
 * A broken invariant or bad input, dialect-neutral. `code` is stable; `field` names the
 * offending field in canonical terms (dialects translate it to their own names).
 */
export type ModelErrorCode =
  | 'missing'
  | 'invalid_type'
  | 'out_of_range'
  | 'too_long'
  | 'bad_format'
  | 'not_in_options'
  | 'duplicate'
  | 'not_found'
  | 'in_use'
  | 'conflict'
  | 'limit_exceeded'
  | 'unsupported';

/**
 * What a face needs to word an error in its own catalogue without reading the English
 * message: the kind of object, the limit that was crossed, the value that was refused.
 */
export interface ModelErrorDetails {
  /** The kind of object concerned (`upstream`, `member`, `route`...). */
  entity?: string;
  /** The bound that was crossed (a quota, a maximum length, a range end). */
  limit?: number;
  /** The refused value, when it is short enough to show. */
  value?: unknown;
  /** Why, in words that name no field (faces put their own parameter name in front). */
  reason?: string;
  /**
   * On a 'conflict' caused by the object's state: 'busy' while a task on it is under way
   * (GAAP "has task" / "action is doing"), 'not_running' when it rests in a state the
   * operation does not act on (GAAP "...StatusNotInRuning").
   */
  state?: 'busy' | 'not_running';
}

export class ModelError extends Error {
  constructor(
    readonly code: ModelErrorCode,
    readonly field: string,
    message: string,
    readonly details: ModelErrorDetails = {},
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/** What a caught value says, whatever was thrown (logs and problem lists). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A system error's code (ECONNREFUSED...), else what the caught value says. */
export function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? messageOf(err);
}
