import { isPrototypeKey } from '../../model/keys.js';
import { checkFields as checkAny, type Issue, type Params, type Spec } from '../params.js';
import { TencentError } from './errors.js';

export type { Params, Spec } from '../params.js';

/** Flattened array indices: canonical decimals (no `01`, `-1`, `1e3`), far below any array limit. */
const INDEX = /^(0|[1-9]\d{0,4})$/;
const NUMERIC = /^[-+]?\d+$/;
/** Deeper than any action's parameters nest. */
const MAX_DEPTH = 8;

const formatError = (key: string, why: string) => new TencentError('InvalidParameter.FormatError', `the parameter \`${key}\` ${why}`);

type Node = Record<string, unknown> | unknown[];

/**
 * `a.0.b=x` pairs into nested objects and arrays (0-based indices, as the SDK sends). Every
 * key is taken at face value or refused: a repeated key, a name used both as a value and as
 * a container, an index that leaves a gap, or a prototype key is a format error naming the
 * parameter. Containers have no prototype while they are built, so no key can reach one.
 */
export function unflatten(query: URLSearchParams): Params {
  const root: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of query) {
    const parts = key.split('.');
    if (parts.length > MAX_DEPTH) throw formatError(key, `nests deeper than ${MAX_DEPTH} levels`);
    let node: Node = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const here = parts.slice(0, i + 1).join('.');
      if (isPrototypeKey(part)) throw new TencentError('UnknownParameter', `the parameter \`${here}\` is not recognized`);
      if (NUMERIC.test(part) && !INDEX.test(part)) throw formatError(here, 'has an index that is not a plain 0-based number below 100000');
      let slot: string | number = part;
      if (Array.isArray(node)) {
        if (!INDEX.test(part)) throw formatError(here, 'must be a 0-based index of the list it is in');
        slot = Number(part);
        if (slot > node.length) throw formatError(here, `leaves a gap: ${parts.slice(0, i).join('.')}.${node.length} comes first`);
      } else if (part === '') throw formatError(key, 'has an empty name segment');
      const container = node as Record<string | number, unknown>;
      const existing = container[slot];
      if (i === parts.length - 1) {
        if (existing !== undefined) throw formatError(here, typeof existing === 'string' ? 'is given more than once' : 'is both a value and a list or object');
        container[slot] = value;
        break;
      }
      const wantList = INDEX.test(parts[i + 1]!);
      if (existing === undefined) {
        const made: Node = wantList ? [] : Object.create(null) as Record<string, unknown>;
        container[slot] = made;
        node = made;
      } else if (typeof existing === 'string') {
        throw formatError(here, 'is both a value and a list or object');
      } else if (Array.isArray(existing) !== wantList) {
        throw formatError(here, 'is used both as a list and as an object');
      } else node = existing as Node;
    }
  }
  return root;
}

/** An issue in Tencent's words: its error code and the parameter as the caller wrote it. */
function report(issue: Issue): TencentError {
  const path = issue.path.join('.');
  switch (issue.kind) {
    case 'missing': return new TencentError('MissingParameter', `the parameter \`${path}\` is required`);
    case 'type': return new TencentError('InvalidParameter.FormatError', `the parameter \`${path}\` must be ${issue.want}`);
    case 'enum': return new TencentError('InvalidParameterValue.NotInOptions', `the parameter \`${path}\` must be one of ${issue.options.join(', ')}, got "${String(issue.got)}"`);
    case 'range': return new TencentError('InvalidParameterValue.RangeExceeded', `the parameter \`${path}\` must be within [${issue.min ?? '-∞'}, ${issue.max ?? '∞'}], got ${issue.got}`);
    case 'length': return new TencentError('InvalidParameterValue.RangeExceeded', `the parameter \`${path}\` is longer than ${issue.max} characters`);
    case 'pattern': return new TencentError('InvalidParameter.FormatError', `the parameter \`${path}\` has an invalid format`);
    case 'items': return new TencentError('InvalidParameterValue.RangeExceeded', `the parameter \`${path}\` holds at most ${issue.max} items`);
    case 'unknown': return new TencentError('UnknownParameter', `the parameter \`${path}\` is not recognized`);
  }
}

/** Validates a request's parameters; GET values arrive as text and are coerced. */
export function checkFields(fields: Record<string, Spec>, value: Params, fromText: boolean, open = false): Params {
  return checkAny(fields, value, [], { report, fromText }, open);
}
