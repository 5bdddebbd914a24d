import { isPrototypeKey, type Params, type Path } from '../params.js';

/** How a dialect words each way a body can fail to be a JSON object. */
export interface JsonBodyErrors {
  notJson(): Error;
  notObject(): Error;
  /** A key that names prototype machinery, wherever it sits (the dialect's unknown-parameter error). */
  prototypeKey(path: Path): Error;
}

/** Deeper than any face's parameters nest: a body beyond it is not one of ours. */
const MAX_DEPTH = 32;

function firstPrototypeKey(value: unknown, path: (string | number)[], depth: number): Path | null {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = firstPrototypeKey(value[i], [...path, i], depth + 1);
      if (hit) return hit;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    if (isPrototypeKey(key)) return [...path, key];
    const hit = firstPrototypeKey((value as Params)[key], [...path, key], depth + 1);
    if (hit) return hit;
  }
  return null;
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
  const bad = firstPrototypeKey(parsed, [], 0);
  if (bad) throw errors.prototypeKey(bad);
  return parsed as Params;
}
