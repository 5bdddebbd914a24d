import { findPrototypeKey, isPrototypeKey, MAX_FREE_FORM_DEPTH } from '../model/keys.js';
/**
 * Declarative parameter specs and one validator for the cloud dialects. The validator finds
 * the first problem and hands it, as an `Issue`, to the dialect's reporter, which words it
 * in the dialect's own error codes and parameter names.
 */
export type Spec =
  | { type: 'string'; required?: boolean; enum?: readonly string[]; ignoreCase?: boolean; minLength?: number; maxLength?: number; pattern?: RegExp }
  | { type: 'int'; required?: boolean; min?: number; max?: number; enum?: readonly number[] }
  | { type: 'bool'; required?: boolean }
  | { type: 'array'; required?: boolean; items: Spec; maxItems?: number }
  | { type: 'object'; required?: boolean; fields: Record<string, Spec>; open?: boolean }
  | { type: 'any'; required?: boolean };

export type Params = Record<string, unknown>;

/** Where a value sits: object keys and array indices from the root of the request. */
export type Path = readonly (string | number)[];

export type Issue =
  | { kind: 'missing'; path: Path }
  | { kind: 'type'; path: Path; want: string }
  | { kind: 'enum'; path: Path; options: readonly (string | number)[]; got: unknown }
  | { kind: 'range'; path: Path; min?: number; max?: number; got: number }
  | { kind: 'length'; path: Path; min?: number; max?: number; got: string }
  | { kind: 'pattern'; path: Path; got: string }
  | { kind: 'items'; path: Path; max: number }
  | { kind: 'unknown'; path: Path };

export type Reporter = (issue: Issue) => Error;

/** Integers beyond these are refused as out of range unless a spec sets its own bounds. */
export const INT_MIN = -2_147_483_648;
export const INT_MAX = 2_147_483_647;

/** Throws on the first prototype key anywhere inside a free-form value, or on nesting past the bound. */
function checkFreeForm(value: unknown, path: Path, opts: CheckOptions): void {
  const bad = findPrototypeKey(value, [...path]);
  if (bad === 'too_deep') throw opts.report({ kind: 'type', path, want: `a value nested at most ${MAX_FREE_FORM_DEPTH} levels deep` });
  if (bad) throw opts.report({ kind: 'unknown', path: bad });
}

export interface CheckOptions {
  report: Reporter;
  /** Values came from a query string: digits may stand for integers, true/false for booleans. */
  fromText?: boolean;
}

function typeName(s: Spec): string {
  return s.type === 'int' ? 'an integer' : s.type === 'bool' ? 'a boolean' : s.type === 'array' ? 'an array' : s.type === 'object' ? 'an object' : 'a string';
}

/** Validates `value` against `spec` and returns the clean value (undefined when absent). */
export function check(spec: Spec, value: unknown, path: Path, opts: CheckOptions): unknown {
  if (value === undefined || value === null) {
    if (spec.required) throw opts.report({ kind: 'missing', path });
    return undefined;
  }
  const bad = () => opts.report({ kind: 'type', path, want: typeName(spec) });
  switch (spec.type) {
    case 'any': checkFreeForm(value, path, opts); return value;
    case 'string': {
      if (typeof value !== 'string') throw bad();
      let v = value;
      if (spec.enum) {
        const found = spec.enum.find((o) => (spec.ignoreCase ? o.toLowerCase() === v.toLowerCase() : o === v));
        if (found === undefined) throw opts.report({ kind: 'enum', path, options: spec.enum, got: v });
        v = found;
      }
      if ((spec.minLength !== undefined && v.length < spec.minLength) || (spec.maxLength !== undefined && v.length > spec.maxLength)) {
        throw opts.report({ kind: 'length', path, min: spec.minLength, max: spec.maxLength, got: v });
      }
      if (spec.pattern && !spec.pattern.test(v)) throw opts.report({ kind: 'pattern', path, got: v });
      return v;
    }
    case 'int': {
      let n = value;
      if (opts.fromText && typeof n === 'string' && /^-?\d+$/.test(n)) n = Number(n);
      if (typeof n !== 'number' || !Number.isInteger(n)) throw bad();
      if (spec.enum && !spec.enum.includes(n)) throw opts.report({ kind: 'enum', path, options: spec.enum, got: n });
      // No integer is unbounded: what no spec limits stays within 32 bits, so a huge value is
      // the face's range error here rather than a failure in the store.
      const min = spec.min ?? INT_MIN;
      const max = spec.max ?? INT_MAX;
      if (n < min || n > max) throw opts.report({ kind: 'range', path, min, max, got: n });
      return n;
    }
    case 'bool': {
      if (opts.fromText && (value === 'true' || value === 'false')) return value === 'true';
      if (typeof value !== 'boolean') throw bad();
      return value;
    }
    case 'array': {
      if (!Array.isArray(value)) throw bad();
      if (spec.maxItems !== undefined && value.length > spec.maxItems) throw opts.report({ kind: 'items', path, max: spec.maxItems });
      return value.map((v, i) => {
        // A list has no optional places: a null item is a wrong type, not an absent one.
        if (v === null || v === undefined) throw opts.report({ kind: 'type', path: [...path, i], want: typeName(spec.items) });
        return check(spec.items, v, [...path, i], opts);
      });
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) throw bad();
      return checkFields(spec.fields, value as Params, path, opts, spec.open);
    }
  }
}

export function checkFields(fields: Record<string, Spec>, value: Params, path: Path, opts: CheckOptions, open = false): Params {
  const out: Params = {};
  for (const key of Object.keys(value)) {
    // Own keys only: `key in fields` would take `constructor` or `toString` for declared fields.
    if (isPrototypeKey(key) || !Object.hasOwn(fields, key)) {
      if (open && !isPrototypeKey(key)) { checkFreeForm(value[key], [...path, key], opts); out[key] = value[key]; continue; }
      throw opts.report({ kind: 'unknown', path: [...path, key] });
    }
  }
  for (const [key, spec] of Object.entries(fields)) {
    const v = check(spec, value[key], [...path, key], opts);
    if (v !== undefined) out[key] = v;
  }
  return out;
}
