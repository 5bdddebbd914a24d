import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ModelError, type ModelErrorCode } from '../../model/errors.js';
import { StoreUnavailableError } from '../../store/errors.js';

/** An error of the operator API: a stable code, a status, a message naming the field. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const MODEL_STATUS: Record<ModelErrorCode, number> = {
  missing: 400, invalid_type: 400, out_of_range: 400, too_long: 400, bad_format: 400, not_in_options: 400,
  duplicate: 409, not_found: 404, in_use: 409, conflict: 409, limit_exceeded: 403, unsupported: 400,
};

const AJV_CODE: Record<string, string> = {
  required: 'missing', type: 'invalid_type', minimum: 'out_of_range', maximum: 'out_of_range',
  minLength: 'too_short', maxLength: 'too_long', minItems: 'too_few', maxItems: 'too_many',
  enum: 'not_in_options', const: 'not_in_options', anyOf: 'not_in_options', pattern: 'bad_format',
  format: 'bad_format', additionalProperties: 'unknown_field',
};

interface AjvIssue { keyword: string; instancePath: string; message?: string; params: Record<string, unknown> }

/** `body.members[0].weight`-style path of the offending field, as the caller wrote it. */
function fieldOf(context: string, v: AjvIssue): string {
  let path = context + v.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  if (v.keyword === 'required') path += `.${String(v.params.missingProperty)}`;
  if (v.keyword === 'additionalProperties') path += `.${String(v.params.additionalProperty)}`;
  return path;
}

function describe(context: string, issues: AjvIssue[]): ApiError {
  // A union reports one issue per branch, then anyOf. A nullable number out of range should
  // say "out of range", so a branch's specific complaint wins over the union's; a union of
  // literals (only const complaints) is "not one of the allowed values".
  const union = issues.find((i) => i.keyword === 'anyOf');
  const branches = union ? issues.filter((i) => i.instancePath === union.instancePath && i !== union) : [];
  const specific = branches.find((i) => i.keyword !== 'type' && i.keyword !== 'const');
  const allTypes = branches.length > 0 && branches.every((i) => i.keyword === 'type');
  const v = union ? (specific ?? (allTypes ? { ...union, keyword: 'type', message: 'has the wrong type' } : union)) : issues[0];
  const field = fieldOf(context, v);
  const code = AJV_CODE[v.keyword] ?? 'invalid_value';
  let message: string;
  switch (v.keyword) {
    case 'required': message = `${field} is required`; break;
    case 'additionalProperties': message = `${field} is not a known field`; break;
    case 'anyOf': message = `${field} is not one of the allowed values`; break;
    default: message = `${field} ${v.message ?? 'is invalid'}`;
  }
  return new ApiError(400, code, message);
}

export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  // The control plane says so at once; the data plane keeps serving its last snapshot.
  if (err instanceof StoreUnavailableError) return new ApiError(503, err.code, `${err.message}; the data plane keeps serving the last configuration it loaded, retry later`);
  if (err instanceof ModelError) {
    const message = err.message.includes(err.field) ? err.message : `${err.field}: ${err.message}`;
    return new ApiError(MODEL_STATUS[err.code], err.code, message);
  }
  const fe = err as FastifyError & { validation?: AjvIssue[]; validationContext?: string };
  if (fe.validation) return describe(fe.validationContext ?? 'body', fe.validation);
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new ApiError(413, 'body_too_large', 'request body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new ApiError(415, 'unsupported_media_type', 'send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return new ApiError(400, 'malformed_json', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new ApiError(400, 'malformed_json', `the body is not valid JSON: ${fe.message}`);
  }
  if (fe instanceof SyntaxError || fe.statusCode === 400) return new ApiError(400, 'malformed_json', `the body is not valid JSON: ${fe.message}`);
  if (fe.statusCode === 404) return new ApiError(404, 'not_found', fe.message);
  return null;
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = toApiError(err);
  if (e) {
    void reply.status(e.status).send({ code: e.code, message: e.message });
    return;
  }
  req.log.error({ err }, 'unhandled error in admin API');
  void reply.status(500).send({ code: 'internal_error', message: 'internal error; see the gateway log' });
}
