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

export class ModelError extends Error {
  constructor(
    readonly code: ModelErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}
