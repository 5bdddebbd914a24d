import { ModelError } from '../../model/errors.js';
import { StoreUnavailableError } from '../../store/errors.js';

/** An API 3.0 error: answered with HTTP 200 and `Response.Error.{Code,Message}`. */
export class TencentError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'TencentError';
  }
}

/** Canonical field paths to the names a Tencent caller wrote. */
function tencentField(field: string): string {
  return field
    .replace(/^members\[(\d+)\]\.weight$/, 'Nodes.$1.Weight')
    .replace(/^members\[(\d+)\]\.port$/, 'Nodes.$1.Port')
    .replace(/^members\[(\d+)\]\.host$/, 'Nodes.$1.Host')
    .replace(/^members\[(\d+)\]/, 'Nodes.$1')
    .replace(/^members$/, 'Nodes')
    .replace(/^name$/, 'UpstreamName')
    .replace(/^description$/, 'UpstreamDescription')
    .replace(/^retries$/, 'Retries')
    .replace(/^upstreamHost$/, 'UpstreamHost')
    .replace(/^upstreamId$/, 'UpstreamId')
    .replace(/^upstreams$/, 'UpstreamId')
    .replace(/^healthCheck\.interval$/, 'HealthChecker.ActiveCheckInterval')
    .replace(/^healthCheck\.timeout$/, 'HealthChecker.ActiveCheckTimeout')
    .replace(/^healthCheck\.path$/, 'HealthChecker.ActiveCheckHttpPath')
    .replace(/^healthCheck\.healthyStatuses$/, 'HealthChecker.HealthyHttpStatus')
    .replace(/^healthCheck\.unhealthyStatuses$/, 'HealthChecker.UnhealthyHttpStatus')
    .replace(/^healthCheck\.unhealthyTimeout$/, 'HealthChecker.UnhealthyTimeout')
    .replace(/^healthCheck\.requestHeaders$/, 'HealthChecker.ActiveRequestHeader')
    .replace(/^healthCheck/, 'HealthChecker');
}

/** A model error in Tencent's words: its code and the parameter name the caller used. */
export function fromModelError(e: ModelError, notFoundCode = 'ResourceNotFound'): TencentError {
  const field = tencentField(e.field);
  const translated = e.message.split(e.field).join(field);
  const message = translated.includes(field) ? translated : `${field}: ${translated}`;
  switch (e.code) {
    case 'missing': return new TencentError('MissingParameter', message);
    case 'out_of_range': case 'too_long': return new TencentError('InvalidParameterValue.RangeExceeded', message);
    case 'not_in_options': return new TencentError('InvalidParameterValue.NotInOptions', message);
    case 'invalid_type': case 'bad_format': return new TencentError('InvalidParameter.FormatError', message);
    case 'not_found': return new TencentError(notFoundCode, message);
    case 'in_use': return new TencentError('UnsupportedOperation.UnsupportedDeleteUpstream', message);
    case 'limit_exceeded': return new TencentError('LimitExceeded', message);
    case 'duplicate': return new TencentError('ResourceInUse', `${message} (${field})`);
    default: return new TencentError('UnsupportedOperation', message);
  }
}

export function toTencentError(err: unknown, notFoundCode?: string): TencentError | null {
  if (err instanceof TencentError) return err;
  if (err instanceof ModelError) return fromModelError(err, notFoundCode);
  // A common API 3.0 code: the caller may retry, unlike InternalError.
  if (err instanceof StoreUnavailableError) return new TencentError('ServiceUnavailable', `the service is temporarily unavailable: ${err.message}; retry later`);
  return null;
}
