import { TencentError } from './errors.js';

/**
 * Parameter specs for API 3.0 actions, and one validator that speaks Tencent's error codes.
 * POST JSON arrives typed; GET arrives flattened (`Nodes.0.Host=...`) with every value a
 * string, so `coerce` turns digits into integers and true/false into booleans first.
 */
export type Spec =
  | { type: 'string'; required?: boolean; enum?: readonly string[]; maxLength?: number }
  | { type: 'int'; required?: boolean; min?: number; max?: number }
  | { type: 'bool'; required?: boolean }
  | { type: 'array'; required?: boolean; items: Spec; maxItems?: number }
  | { type: 'object'; required?: boolean; fields: Record<string, Spec>; open?: boolean }
  | { type: 'any'; required?: boolean };

export type Params = Record<string, unknown>;

/** `a.0.b=x` pairs into nested objects and arrays (0-based indices, as the SDK sends). */
export function unflatten(query: URLSearchParams): Params {
  const root: Params = {};
  for (const [key, value] of query) {
    const parts = key.split('.');
    let node: Record<string, unknown> | unknown[] = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]!);
      const slot = Array.isArray(node) ? Number(part) : part;
      const container = node as Record<string | number, unknown>;
      if (last) container[slot] = value;
      else {
        container[slot] ??= nextIsIndex ? [] : {};
        node = container[slot] as Record<string, unknown> | unknown[];
      }
    });
  }
  return root;
}

function typeName(s: Spec): string {
  return s.type === 'int' ? 'an integer' : s.type === 'bool' ? 'a boolean' : s.type === 'array' ? 'an array' : s.type === 'object' ? 'an object' : 'a string';
}

/** Validates `value` against `spec`; `fromText` coerces GET strings. Returns the clean value. */
export function check(spec: Spec, value: unknown, path: string, fromText: boolean): unknown {
  if (value === undefined || value === null) {
    if (spec.required) throw new TencentError('MissingParameter', `the parameter \`${path}\` is required`);
    return undefined;
  }
  const bad = () => new TencentError('InvalidParameter.FormatError', `the parameter \`${path}\` must be ${typeName(spec)}`);
  switch (spec.type) {
    case 'any': return value;
    case 'string': {
      if (typeof value !== 'string') throw bad();
      if (spec.enum && !spec.enum.includes(value)) {
        throw new TencentError('InvalidParameterValue.NotInOptions', `the parameter \`${path}\` must be one of ${spec.enum.join(', ')}, got "${value}"`);
      }
      if (spec.maxLength !== undefined && value.length > spec.maxLength) {
        throw new TencentError('InvalidParameterValue.RangeExceeded', `the parameter \`${path}\` is longer than ${spec.maxLength} characters`);
      }
      return value;
    }
    case 'int': {
      let n = value;
      if (fromText && typeof n === 'string' && /^-?\d+$/.test(n)) n = Number(n);
      if (typeof n !== 'number' || !Number.isInteger(n)) throw bad();
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new TencentError('InvalidParameterValue.RangeExceeded', `the parameter \`${path}\` must be within [${spec.min ?? '-∞'}, ${spec.max ?? '∞'}], got ${n}`);
      }
      return n;
    }
    case 'bool': {
      if (fromText && (value === 'true' || value === 'false')) return value === 'true';
      if (typeof value !== 'boolean') throw bad();
      return value;
    }
    case 'array': {
      // A GET array arrives as an object with index keys when indices are sparse; be strict.
      if (!Array.isArray(value)) throw bad();
      if (spec.maxItems !== undefined && value.length > spec.maxItems) {
        throw new TencentError('InvalidParameterValue.RangeExceeded', `the parameter \`${path}\` holds at most ${spec.maxItems} items`);
      }
      return value.map((v, i) => check(spec.items, v, `${path}.${i}`, fromText));
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) throw bad();
      return checkFields(spec.fields, value as Params, `${path}.`, fromText, spec.open);
    }
  }
}

export function checkFields(fields: Record<string, Spec>, value: Params, prefix: string, fromText: boolean, open = false): Params {
  const out: Params = {};
  for (const key of Object.keys(value)) {
    if (!(key in fields)) {
      if (open) { out[key] = value[key]; continue; }
      throw new TencentError('UnknownParameter', `the parameter \`${prefix}${key}\` is not recognized`);
    }
  }
  for (const [key, spec] of Object.entries(fields)) {
    const v = check(spec, value[key], `${prefix}${key}`, fromText);
    if (v !== undefined) out[key] = v;
  }
  return out;
}
