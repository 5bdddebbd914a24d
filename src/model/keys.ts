/**
 * Keys that name an object's prototype machinery. A parsed key must never be one of them:
 * assigning `__proto__` swaps an object's prototype, and `constructor.prototype` reaches the
 * shared one. Every face refuses them as unknown parameters, wherever they sit, and the model
 * refuses them where a key becomes data (probe header names).
 */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function isPrototypeKey(key: string): boolean {
  return PROTOTYPE_KEYS.has(key);
}

/** How deep a free-form value may nest: deeper than any face's parameters do. */
export const MAX_FREE_FORM_DEPTH = 32;

/**
 * The path of the first prototype key inside `value`, `'too_deep'` when it nests past
 * MAX_FREE_FORM_DEPTH before one is found, or null.
 */
export function findPrototypeKey(value: unknown, path: (string | number)[] = [], depth = 0): (string | number)[] | 'too_deep' | null {
  if (typeof value !== 'object' || value === null) return null;
  if (depth > MAX_FREE_FORM_DEPTH) return 'too_deep';
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, v] of entries) {
    if (typeof key === 'string' && isPrototypeKey(key)) return [...path, key];
    const hit = findPrototypeKey(v, [...path, key], depth + 1);
    if (hit) return hit;
  }
  return null;
}
