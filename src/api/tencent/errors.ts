import { ModelError, type ModelErrorCode } from '../../model/errors.js';
import { StoreUnavailableError } from '../../store/errors.js';
import { callerName, type FieldNames } from '../kit/field-names.js';
import { shown, type Catalogue } from '../kit/catalogue.js';

/** An API 3.0 error: answered with HTTP 200 and `Response.Error.{Code,Message}`. */
export class TencentError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'TencentError';
  }
}

/** What a model error's template reads: the parameter in Tencent's words, and the error's data. */
export interface ModelArgs {
  param: string;
  entity?: string;
  limit?: number;
  value?: unknown;
  reason?: string;
}

/** Tencent's noun for a kind of object, as its quota and not-found messages say it. */
const NOUN: Record<string, [one: string, many: string, per: string]> = {
  upstream: ['upstream', 'upstreams', 'per region'],
  member: ['node', 'nodes', 'per upstream'],
  route: ['API', 'APIs', ''],
  instance: ['instance', 'instances', ''],
};
const noun = (entity: string | undefined, many = false) => (NOUN[entity ?? ''] ?? ['resource', 'resources', ''])[many ? 1 : 0];

const why = (a: ModelArgs, fallback: string) => a.reason ?? fallback;

/**
 * Every model error code as Tencent answers it (HTTP 200, the code in `Response.Error`),
 * worded from the error's structured data: the parameter the caller wrote, the limit, the value.
 */
export const MODEL_CATALOGUE: Catalogue<ModelErrorCode, ModelArgs> = {
  missing: { code: 'MissingParameter', status: 200, message: (a) => `the parameter \`${a.param}\` is required` },
  invalid_type: { code: 'InvalidParameter.FormatError', status: 200, message: (a) => `the parameter \`${a.param}\` ${why(a, 'has the wrong type')}` },
  out_of_range: {
    code: 'InvalidParameterValue.RangeExceeded', status: 200,
    message: (a) => (typeof a.limit === 'number' && typeof a.value === 'number'
      ? `the parameter \`${a.param}\` must be ${a.value > a.limit ? 'at most' : 'at least'} ${a.limit}, got ${a.value}${a.reason ? ` (it ${a.reason})` : ''}`
      : `the parameter \`${a.param}\` ${why(a, 'is out of range')}`),
  },
  too_long: { code: 'InvalidParameterValue.RangeExceeded', status: 200, message: (a) => `the parameter \`${a.param}\` is longer than ${a.limit ?? 'allowed'} characters` },
  bad_format: {
    code: 'InvalidParameter.FormatError', status: 200,
    message: (a) => `the parameter \`${a.param}\`${a.value !== undefined ? ` ${shown(a.value)}` : ''} ${why(a, 'has an invalid format')}`,
  },
  not_in_options: { code: 'InvalidParameterValue.NotInOptions', status: 200, message: (a) => `the parameter \`${a.param}\` is not one of the allowed values` },
  duplicate: {
    code: 'ResourceInUse', status: 200,
    message: (a) => `the parameter \`${a.param}\`${a.value !== undefined ? ` ${shown(a.value)}` : ''} is already in use`,
  },
  not_found: {
    code: 'ResourceNotFound', status: 200,
    message: (a) => `the ${noun(a.entity)} \`${a.param}\`${a.value !== undefined ? ` ${shown(a.value)}` : ''} does not exist`,
  },
  in_use: {
    code: 'UnsupportedOperation.UnsupportedDeleteUpstream', status: 200,
    message: (a) => `the upstream \`${a.param}\`${a.value !== undefined ? ` ${shown(a.value)}` : ''} is bound to ${a.limit ?? 'some'} ${noun(a.entity, a.limit !== 1)}: unbind them first`,
  },
  conflict: { code: 'UnsupportedOperation', status: 200, message: (a) => `the parameter \`${a.param}\` ${why(a, 'conflicts with the upstream as it is')}` },
  limit_exceeded: {
    code: 'LimitExceeded', status: 200,
    message: (a) => `the quota is reached: at most ${a.limit ?? '?'} ${noun(a.entity, true)}${NOUN[a.entity ?? '']?.[2] ? ` ${NOUN[a.entity ?? '']![2]}` : ''} (\`${a.param}\`)`,
  },
  unsupported: { code: 'UnsupportedOperation', status: 200, message: (a) => `the parameter \`${a.param}\` ${why(a, 'asks for something sluice does not support')}` },
};

/** Canonical field paths to the parameter a Tencent caller wrote; null when Tencent has none. */
const FIELDS: FieldNames = [
  [/^members\[(\d+)\]\.weight$/, 'Nodes.$1.Weight'],
  [/^members\[(\d+)\]\.port$/, 'Nodes.$1.Port'],
  [/^members\[(\d+)\]\.host$/, 'Nodes.$1.Host'],
  [/^members\[(\d+)\]\.ecsId$/, 'Nodes.$1.VmInstanceId'],
  [/^members\[(\d+)\]\.tags$/, 'Nodes.$1.Tags'],
  [/^members\[(\d+)\]/, 'Nodes.$1'],
  [/^members$/, 'Nodes'],
  [/^name$/, 'UpstreamName'],
  [/^description$/, 'UpstreamDescription'],
  [/^retries$/, 'Retries'],
  [/^upstreamHost$/, 'UpstreamHost'],
  [/^scheme$/, 'Scheme'],
  [/^networkId$/, 'UniqVpcId'],
  [/^tags/, 'Tags'],
  [/^upstreamId$/, 'UpstreamId'],
  [/^upstreams$/, 'UpstreamId'],
  [/^healthCheck\.interval$/, 'HealthChecker.ActiveCheckInterval'],
  [/^healthCheck\.timeout$/, 'HealthChecker.ActiveCheckTimeout'],
  [/^healthCheck\.path$/, 'HealthChecker.ActiveCheckHttpPath'],
  [/^healthCheck\.healthyStatuses$/, 'HealthChecker.HealthyHttpStatus'],
  [/^healthCheck\.unhealthyStatuses$/, 'HealthChecker.UnhealthyHttpStatus'],
  [/^healthCheck\.unhealthyTimeout$/, 'HealthChecker.UnhealthyTimeout'],
  [/^healthCheck\.requestHeaders$/, 'HealthChecker.ActiveRequestHeader'],
  [/^healthCheck\.tcpFailureThreshold$/, 'HealthChecker.TcpFailureThreshold'],
  [/^healthCheck\.httpFailureThreshold$/, 'HealthChecker.HttpFailureThreshold'],
  [/^healthCheck\.timeoutThreshold$/, 'HealthChecker.TimeoutThreshold'],
];

/**
 * The Tencent parameter for a canonical field. A field Tencent has no name for (one another
 * face set, say `healthCheck.port`) is named by the Tencent parameter that holds it, so a
 * caller never reads sluice's internal names.
 */
export function tencentParam(field: string): string {
  const named = callerName(FIELDS, field);
  if (named !== null) return named;
  if (field.startsWith('healthCheck')) return 'HealthChecker';
  if (field.startsWith('memberGroups')) return 'Nodes';
  return 'UpstreamId';
}

/** A model error in Tencent's words: its code and the parameter name the caller used. */
export function fromModelError(e: ModelError, notFoundCode = 'ResourceNotFound'): TencentError {
  const entry = MODEL_CATALOGUE[e.code] ?? MODEL_CATALOGUE.unsupported;
  const args: ModelArgs = { param: tencentParam(e.field), ...e.details };
  return new TencentError(e.code === 'not_found' ? notFoundCode : entry.code, entry.message(args));
}

export function toTencentError(err: unknown, notFoundCode?: string): TencentError | null {
  if (err instanceof TencentError) return err;
  if (err instanceof ModelError) return fromModelError(err, notFoundCode);
  // A common API 3.0 code: the caller may retry, unlike InternalError.
  if (err instanceof StoreUnavailableError) return new TencentError('ServiceUnavailable', `the service is temporarily unavailable: ${err.message}; retry later`);
  return null;
}
