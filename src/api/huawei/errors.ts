import { ModelError } from '../../model/errors.js';
import { StoreUnavailableError } from '../../store/errors.js';
import type { Issue, Path } from '../params.js';

/** An APIG error: a real HTTP status and `{error_code, error_msg}`. */
export class HuaweiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'HuaweiError';
  }
}

// Huawei's own wording, so that clients matching on the text keep working; sluice's detail
// (where the value sits and what is allowed) follows it.
export const missing = (name: string, detail = '') =>
  new HuaweiError(400, 'APIG.2001', `The request parameters must be specified, parameter name:${name}${detail}`);
export const outOfRange = (name: string, detail = '') =>
  new HuaweiError(400, 'APIG.2004', `The parameter value is outside the allowable range,parameterName:${name}. Please refer to the support documentation${detail}`);
export const invalid = (name: string, detail = '') =>
  new HuaweiError(400, 'APIG.2012', `Invalid parameter value,parameterName:${name}. Please refer to the support documentation${detail}`);
export const channelNotFound = (id: string) => new HuaweiError(404, 'APIG.3023', `The VPC channel does not exist,id:${id}`);
export const memberNotFound = (id: string) => new HuaweiError(404, 'APIG.3024', `The VPC instance does not exist,id:${id}`);
export const groupNotFound = (id: string) => new HuaweiError(404, 'APIG.3023', `The member group does not exist,id:${id}`);
export const instanceNotFound = (id: string) => new HuaweiError(404, 'APIG.3030', `The instance does not exist;id:${id}`);
export const wrongChannelType = (type: string) =>
  new HuaweiError(403, 'APIG.3471', `The operation cannot be performed on this type of VPC channel (${type})`);

/** `members[1].weight` from ['members', 1, 'weight']. */
export function pathText(path: Path): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
}

/** Huawei names the leaf parameter (`weight`), not the path to it. */
function leaf(path: Path): string {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return path[i] as string;
  return 'body';
}

export function report(issue: Issue): HuaweiError {
  const name = leaf(issue.path);
  const at = pathText(issue.path);
  switch (issue.kind) {
    case 'missing': return missing(name, at === name ? '' : ` (${at})`);
    case 'type': return invalid(name, ` (${at} must be ${issue.want})`);
    case 'enum': return invalid(name, ` (${at} must be one of ${issue.options.join(', ')}, got ${JSON.stringify(issue.got)})`);
    case 'range': return outOfRange(name, ` (${at} must be ${issue.min ?? '-∞'}-${issue.max ?? '∞'}, got ${issue.got})`);
    case 'length':
      return issue.max !== undefined && issue.got.length > issue.max
        ? new HuaweiError(400, 'APIG.2006', `The parameter value is too long,parameterName:${name}. Please refer to the support documentation (${at} holds at most ${issue.max} characters)`)
        : new HuaweiError(400, 'APIG.2005', `The parameter value is too short,parameterName:${name}. Please refer to the support documentation (${at} needs at least ${issue.min} characters)`);
    case 'pattern': return invalid(name, ` (${at}: ${JSON.stringify(issue.got)})`);
    case 'items': return outOfRange(name, ` (${at} holds at most ${issue.max} items)`);
    case 'unknown': return invalid(name, ` (${at} is not a known parameter)`);
  }
}

/** Canonical model field paths to the names a Huawei caller wrote. */
const FIELD: [RegExp, string][] = [
  [/^members\[(\d+)\]\.group$/, 'members[$1].member_group_name'],
  [/^members\[(\d+)\]\.backup$/, 'members[$1].is_backup'],
  [/^members\[(\d+)\]\.ecsId$/, 'members[$1].ecs_id'],
  [/^memberGroups\[(\d+)\]\.name$/, 'member_groups[$1].member_group_name'],
  [/^memberGroups\[(\d+)\]\.weight$/, 'member_groups[$1].member_group_weight'],
  [/^memberGroups\[(\d+)\]\.remark$/, 'member_groups[$1].member_group_remark'],
  [/^memberGroups\[(\d+)\]\.referenceUpstreamId$/, 'member_groups[$1].reference_vpc_channel_id'],
  [/^memberGroups\[(\d+)\]\.microservicePort$/, 'member_groups[$1].microservice_port'],
  [/^memberGroups/, 'member_groups'],
  [/^healthCheck\.interval$/, 'vpc_health_config.time_interval'],
  [/^healthCheck\.healthyThreshold$/, 'vpc_health_config.threshold_normal'],
  [/^healthCheck\.unhealthyThreshold$/, 'vpc_health_config.threshold_abnormal'],
  [/^healthCheck\.healthyStatuses$/, 'vpc_health_config.http_code'],
  [/^healthCheck\./, 'vpc_health_config.'],
  [/^memberGroupName$/, 'member_group_name'],
  [/^memberGroupId$/, 'member_group_id'],
  [/^memberId$/, 'member_id'],
  [/^upstreamId$/, 'vpc_channel_id'],
];

function huaweiField(field: string): string {
  for (const [re, to] of FIELD) if (re.test(field)) return field.replace(re, to);
  return field;
}

/** A model error in APIG's codes and statuses, naming the parameter the caller sent. */
export function fromModelError(e: ModelError): HuaweiError {
  const at = huaweiField(e.field);
  const name = at.replace(/^.*[.\]]/, '') || at;
  const detail = ` (${e.message.split(e.field).join(at)})`;
  switch (e.code) {
    case 'missing': return missing(name, detail);
    case 'out_of_range': case 'too_long': return outOfRange(name, detail);
    case 'bad_format':
      if (/^members\[\d+\]\.host$/.test(e.field)) return new HuaweiError(400, 'APIG.2015', `Invalid IP address,parameterName:host${detail}`);
      return invalid(name, detail);
    case 'not_found':
      if (e.field === 'upstreamId' || /referenceUpstreamId$/.test(e.field)) return new HuaweiError(404, 'APIG.3023', `The VPC channel does not exist${detail}`);
      if (e.field === 'memberId') return new HuaweiError(404, 'APIG.3024', `The VPC instance does not exist${detail}`);
      if (e.field === 'memberGroupId') return new HuaweiError(404, 'APIG.3023', `The member group does not exist${detail}`);
      if (e.field === 'instanceId') return new HuaweiError(404, 'APIG.3030', `The instance does not exist${detail}`);
      return invalid(name, detail);
    case 'duplicate':
      if (e.field === 'name') return new HuaweiError(400, 'APIG.3208', `The VPC channel name already exists${detail}`);
      return invalid(name, detail);
    case 'in_use': return new HuaweiError(403, 'APIG.3414', `The VPC channel is being used by an API${detail}`);
    case 'conflict':
      if (e.field === 'upstreamId') return new HuaweiError(409, 'APIG.3719', `The VPC channel is referenced by another VPC channel${detail}`);
      return invalid(name, detail);
    case 'limit_exceeded':
      if (e.field === 'members') return new HuaweiError(403, 'APIG.3110', `The number of backend servers in the VPC channel has reached the upper limit${detail}`);
      return new HuaweiError(403, 'APIG.3109', `The number of VPC channels has reached the upper limit${detail}`);
    default: return invalid(name, detail);
  }
}

export function toHuaweiError(err: unknown): HuaweiError | null {
  if (err instanceof HuaweiError) return err;
  if (err instanceof ModelError) return fromModelError(err);
  // APIG has no "unavailable" code (spec D.7): its system error, with the reason after Huawei's words.
  if (err instanceof StoreUnavailableError) return new HuaweiError(500, 'APIG.9999', `System error (${err.message}; retry later)`);
  return null;
}
