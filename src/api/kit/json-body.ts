import { findPrototypeKey } from '../../model/keys.js';
import type { Params, Path } from '../params.js';

/** How a dialect words each way a body can fail to be a JSON object. */
export interface JsonBodyErrors {
  notJson(): Error;
  notObject(): Error;
  /** A key that names prototype machinery, wherever it sits (the dialect's unknown-parameter error). */
  prototypeKey(path: Path): Error;
}

/**
 * A body as one JSON object: empty is `{}`; anything else that is not an object is the
 * dialect's error, and so is a prototype key anywhere in it. JSON.parse makes `__proto__`
 * an own key (it never swaps a prototype), so refusing it here keeps it from reaching code
 * that copies keys with assignment.
 */
export function parseJsonObject(body: Buffer, errors: JsonBodyErrors): Params {
  if (body.length === 0) return {};
  let parsed: unknown;
  try { parsed = JSON.parse(body.toString('utf8')); } catch { throw errors.notJson(); }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw errors.notObject();
  // Past the depth bound the validator takes over (a free-form value that deep is refused there).
  const bad = findPrototypeKey(parsed);
  if (Array.isArray(bad)) throw errors.prototypeKey(bad);
  return parsed as Params;
}
