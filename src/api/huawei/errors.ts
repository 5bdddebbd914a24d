import { ModelError } from '../../model/errors.js';
import { StoreUnavailableError } from '../../store/errors.js';
import type { Issue, Path } from '../params.js';
import { shown, type Catalogue } from '../kit/catalogue.js';

/** An APIG error: a real HTTP status and `{error_code, error_msg}`. */
export class HuaweiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'HuaweiError';
  }
}

/** What an APIG template reads: the parameter (or id) and sluice's detail after Huawei's words. */
export interface HuaweiArgs { name?: string; id?: string; detail?: string }

const d = (a: HuaweiArgs) => a.detail ?? '';

// Huawei's own wording, so that clients matching on the text keep working; sluice's detail
// (where the value sits and what is allowed) follows it.
export const CATALOGUE = {
  missing: { code: 'APIG.2001', status: 400, message: (a) => `The request parameters must be specified, parameter name:${a.name}${d(a)}` },
  tooShort: { code: 'APIG.2005', status: 400, message: (a) => `The parameter value is too short,parameterName:${a.name}. Please refer to the support documentation${d(a)}` },
  tooLong: { code: 'APIG.2006', status: 400, message: (a) => `The parameter value is too long,parameterName:${a.name}. Please refer to the support documentation${d(a)}` },
  outOfRange: { code: 'APIG.2004', status: 400, message: (a) => `The parameter value is outside the allowable range,parameterName:${a.name}. Please refer to the support documentation${d(a)}` },
  invalid: { code: 'APIG.2012', status: 400, message: (a) => `Invalid parameter value,parameterName:${a.name}. Please refer to the support documentation${d(a)}` },
  badIp: { code: 'APIG.2015', status: 400, message: (a) => `Invalid IP address,parameterName:${a.name}${d(a)}` },
  nameExists: { code: 'APIG.3208', status: 400, message: (a) => `The VPC channel name already exists${d(a)}` },
  channelNotFound: { code: 'APIG.3023', status: 404, message: (a) => `The VPC channel does not exist${a.id !== undefined ? `,id:${a.id}` : ''}${d(a)}` },
  memberNotFound: { code: 'APIG.3024', status: 404, message: (a) => `The VPC instance does not exist${a.id !== undefined ? `,id:${a.id}` : ''}${d(a)}` },
  groupNotFound: { code: 'APIG.3023', status: 404, message: (a) => `The member group does not exist${a.id !== undefined ? `,id:${a.id}` : ''}${d(a)}` },
  instanceNotFound: { code: 'APIG.3030', status: 404, message: (a) => `The instance does not exist${a.id !== undefined ? `;id:${a.id}` : ''}${d(a)}` },
  ecsNotFound: { code: 'APIG.3092', status: 404, message: (a) => `The ECS does not exist,id:${a.id}${d(a)}` },
  channelQuota: { code: 'APIG.3109', status: 403, message: (a) => `The number of VPC channels has reached the upper limit${d(a)}` },
  memberQuota: { code: 'APIG.3110', status: 403, message: (a) => `The number of backend servers in the VPC channel has reached the upper limit${d(a)}` },
  inUse: { code: 'APIG.3414', status: 403, message: (a) => `The VPC channel is being used by an API${d(a)}` },
  wrongType: { code: 'APIG.3471', status: 403, message: (a) => `The operation cannot be performed on this type of VPC channel${d(a)}` },
  referenced: { code: 'APIG.3719', status: 409, message: (a) => `The VPC channel is referenced by another VPC channel${d(a)}` },
  notPublished: { code: 'APIG.0101', status: 404, message: (a) => `The API does not exist or has not been published in the environment${d(a)}` },
  tooManyRequests: { code: 'APIG.9008', status: 500, message: (a) => `Too many requests, please try again later${d(a)}` },
  internal: { code: 'APIG.9999', status: 500, message: (a) => `System error${d(a)}` },
} satisfies Catalogue<string, HuaweiArgs>;

export type HuaweiErrorKind = keyof typeof CATALOGUE;

/** The catalogue's error `kind` with these arguments. */
export function apig(kind: HuaweiErrorKind, args: HuaweiArgs = {}): HuaweiError {
  const e = CATALOGUE[kind];
  return new HuaweiError(e.status, e.code, e.message(args));
}

export const missing = (name: string, detail = '') => apig('missing', { name, detail });
export const outOfRange = (name: string, detail = '') => apig('outOfRange', { name, detail });
export const invalid = (name: string, detail = '') => apig('invalid', { name, detail });
export const channelNotFound = (id: string) => apig('channelNotFound', { id });
export const memberNotFound = (id: string) => apig('memberNotFound', { id });
export const groupNotFound = (id: string) => apig('groupNotFound', { id });
export const instanceNotFound = (id: string) => apig('instanceNotFound', { id });
export const wrongChannelType = (type: string) => apig('wrongType', { detail: ` (${type})` });

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
        ? apig('tooLong', { name, detail: ` (${at} holds at most ${issue.max} characters)` })
        : apig('tooShort', { name, detail: ` (${at} needs at least ${issue.min} characters)` });
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

const NOUNS: Record<string, string> = { upstream: 'VPC channels', member: 'backend servers', route: 'APIs', memberGroup: 'member groups', instance: 'instances' };

/** sluice's detail after Huawei's words, from the error's data: never the English of the model. */
function modelDetail(e: ModelError, at: string): string {
  const { limit, value, reason, entity } = e.details;
  const v = value !== undefined ? ` ${shown(value)}` : '';
  switch (e.code) {
    case 'missing': return ` (${at} is required)`;
    case 'out_of_range':
      if (typeof limit === 'number' && typeof value === 'number') return ` (${at} must be ${value > limit ? 'at most' : 'at least'} ${limit}, got ${value}${reason ? `: it ${reason}` : ''})`;
      return ` (${at}${reason ? ` ${reason}` : ' is out of range'})`;
    case 'too_long': return ` (${at} holds at most ${limit ?? '?'} characters)`;
    case 'limit_exceeded': return ` (at most ${limit ?? '?'} ${NOUNS[entity ?? ''] ?? 'objects'})`;
    case 'in_use': return ` (${at}${v} is used by ${limit ?? 'some'} ${NOUNS[entity ?? ''] ?? 'objects'})`;
    default: return ` (${at}${v}${reason ? ` ${reason}` : ''})`;
  }
}

/** A model error in APIG's codes and statuses, naming the parameter the caller sent. */
export function fromModelError(e: ModelError): HuaweiError {
  const at = huaweiField(e.field);
  const name = at.replace(/^.*[.\]]/, '') || at;
  const detail = modelDetail(e, at);
  const id = e.details.value !== undefined ? String(e.details.value) : undefined;
  switch (e.code) {
    case 'missing': return missing(name, detail);
    case 'out_of_range': case 'too_long': return outOfRange(name, detail);
    case 'bad_format':
      if (/^members\[\d+\]\.host$/.test(e.field)) return apig('badIp', { name: 'host', detail });
      return invalid(name, detail);
    case 'not_found':
      if (e.field === 'upstreamId' || /referenceUpstreamId$/.test(e.field)) return apig('channelNotFound', { id });
      if (e.field === 'memberId') return apig('memberNotFound', { id });
      if (e.field === 'memberGroupId') return apig('groupNotFound', { id });
      if (e.field === 'instanceId') return apig('instanceNotFound', { id });
      return invalid(name, detail);
    case 'duplicate':
      if (e.field === 'name') return apig('nameExists', { detail });
      return invalid(name, detail);
    case 'in_use': return apig('inUse', { detail });
    case 'conflict':
      if (e.field === 'upstreamId') return apig('referenced', { detail });
      return invalid(name, detail);
    case 'limit_exceeded':
      return apig(e.field === 'members' ? 'memberQuota' : 'channelQuota', { detail });
    default: return invalid(name, detail);
  }
}

export function toHuaweiError(err: unknown): HuaweiError | null {
  if (err instanceof HuaweiError) return err;
  if (err instanceof ModelError) return fromModelError(err);
  // APIG has no "unavailable" code (spec D.7): its system error, with the reason after Huawei's words.
  if (err instanceof StoreUnavailableError) return apig('internal', { detail: ` (${err.message}; retry later)` });
  return null;
}
