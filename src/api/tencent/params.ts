import { checkFields as checkAny, type Issue, type Params, type Spec } from '../params.js';
import { TencentError } from './errors.js';

export type { Params, Spec } from '../params.js';

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
export function checkFields(fields: Record<string, Spec>, value: Params, fromText: boolean): Params {
  return checkAny(fields, value, [], { report, fromText });
}
