import { ModelError } from '../../../model/errors.js';
import { shown } from '../../kit/catalogue.js';
import { callerName, type FieldNames } from '../../kit/field-names.js';
import { MODEL_CATALOGUE, TencentError, toTencentError } from '../errors.js';

// Control-plane refusals in GAAP's words. The control layer says what went wrong in data
// (ModelError code, field, details.entity/state/reason); GAAP has a code of its own for most
// of them (C.6), and every message names the parameter the caller wrote.

/** Canonical field paths to GAAP parameters; `$1` is the list index. */
const FIELDS: FieldNames = [
  [/^accessRegions\[(\d+)\]\.accessRegion$/, 'AccessRegionSet.$1.AccessRegion'],
  [/^accessRegions\[(\d+)\]\.bandwidth$/, 'AccessRegionSet.$1.Bandwidth'],
  [/^accessRegions\[(\d+)\]\.concurrent$/, 'AccessRegionSet.$1.Concurrent'],
  [/^accessRegions\[(\d+)\]\.name$/, 'GroupName'],
  [/^accessRegions/, 'AccessRegionSet'],
  [/^(?:accessRegions\[\d+\]\.)?tags\[(\d+)\]\.key$/, 'TagSet.$1.TagKey'],
  [/^(?:accessRegions\[\d+\]\.)?tags\[(\d+)\]/, 'TagSet.$1'],
  [/^tags/, 'TagSet'],
  [/^accessRegion$/, 'AccessRegion'],
  [/^originRegion$/, 'RealServerRegion'],
  [/^bandwidth$/, 'Bandwidth'],
  [/^concurrent$/, 'Concurrent'],
  [/^groupId$/, 'GroupId'],
  [/^proxyId$/, 'ProxyId'],
  [/^proxyIds\[(\d+)\]$/, 'ProxyIds.$1'],
  [/^proxyIds$/, 'ProxyIds'],
  [/^clientToken$/, 'ClientToken'],
  [/^clonedFrom$/, 'ClonedProxyId'],
  [/^cloudProjectId$/, 'ProjectId'],
  [/^proxies$/, 'AccessRegion'],
  [/^ports\[(\d+)\]$/, 'Ports.$1'],
  [/^ports$/, 'Ports'],
  [/^scheduler$/, 'Scheduler'],
  [/^originType$/, 'RealServerType'],
  [/^healthCheck$/, 'HealthCheck'],
  [/^delayLoop$/, 'DelayLoop'],
  [/^connectTimeout$/, 'ConnectTimeout'],
  [/^healthyThreshold$/, 'HealthyThreshold'],
  [/^unhealthyThreshold$/, 'UnhealthyThreshold'],
  [/^clientIp$/, 'ClientIPMethod'],
  [/^failover$/, 'FailoverSwitch'],
  [/^udpCheck\.port$/, 'CheckPort'],
  [/^udpCheck\.send$/, 'SendContext'],
  [/^udpCheck\.receive$/, 'RecvContext'],
  [/^udpCheck/, 'CheckType'],
  [/^listenerId$/, 'ListenerId'],
  [/^listenerIds$/, 'ListenerIds'],
  [/^bindings\[(\d+)\]\.originId$/, 'RealServerBindSet.$1.RealServerId'],
  [/^bindings\[(\d+)\]\.address$/, 'RealServerBindSet.$1.RealServerIP'],
  [/^bindings\[(\d+)\]\.port$/, 'RealServerBindSet.$1.RealServerPort'],
  [/^bindings\[(\d+)\]\.weight$/, 'RealServerBindSet.$1.RealServerWeight'],
  [/^bindings\[(\d+)\]\.role$/, 'RealServerBindSet.$1.RealServerFailoverRole'],
  [/^bindings\[(\d+)\]$/, 'RealServerBindSet.$1'],
  [/^bindings$/, 'RealServerBindSet'],
  [/^addresses\[(\d+)\]$/, 'RealServerIP.$1'],
  [/^addresses$/, 'RealServerIP'],
  [/^originIds\[(\d+)\]$/, 'RealServerIds.$1'],
  [/^originIds$/, 'RealServerIds'],
  [/^originId$/, 'RealServerId'],
];

/**
 * The GAAP parameter for a canonical field. `rename` holds the action's own names: what
 * `name` is (GroupName or ProxyName), or InstanceIds where the caller used the old name.
 */
export function gaapParam(field: string, rename: Record<string, string> = {}): string {
  const base = field.replace(/\[\d+\]$/, '');
  const idx = /\[(\d+)\]$/.exec(field)?.[1];
  if (rename[field] !== undefined) return rename[field]!;
  if (rename[base] !== undefined) return idx === undefined ? rename[base]! : `${rename[base]!}.${idx}`;
  return callerName(FIELDS, field) ?? (field === 'name' ? 'Name' : 'RequestId');
}

const THING: Record<string, string> = { listenerPort: 'listener port', binding: 'binding', group: 'proxy group', proxy: 'proxy', listener: 'listener', origin: 'real server', accessRegion: 'access region', originRegion: 'origin region' };

/** The GAAP code for a model error, or null where the shared API 3.0 catalogue has the right one. */
function gaapCode(e: ModelError): string | null {
  const d = e.details;
  switch (e.code) {
    case 'not_found':
      if (/^bindings\[\d+\]\.originId$/.test(e.field)) return 'InvalidParameterValue.RealServerNotBelong';
      if (d.entity === 'accessRegion') return 'InvalidParameterValue.UnknownAccessRegion';
      if (d.entity === 'originRegion') return 'InvalidParameterValue.UnknownDestRegion';
      return 'ResourceNotFound';
    case 'not_in_options':
      if (/bandwidth$/.test(e.field)) return 'InvalidParameterValue.InvalidBandwidth';
      if (/concurrent$/.test(e.field)) return 'InvalidParameterValue.InvalidConcurrency';
      if (/^ports\[\d+\]$/.test(e.field)) return 'InvalidParameterValue.InvalidListenerPort';
      return null;
    case 'out_of_range':
      if (/^ports\[\d+\]$/.test(e.field)) return 'InvalidParameterValue.InvalidListenerPort';
      return null;
    case 'limit_exceeded':
      if (d.entity === 'address') return 'FailedOperation.ProxySellOut';
      if (d.reason === 'per group') return 'FailedOperation.LimitNumofProxiesInGroup';
      if (d.entity === 'listener') return 'FailedOperation.LimitNumofListener';
      if (d.entity === 'port') return 'FailedOperation.OperateLimitNumofListener';
      if (d.entity === 'binding') return 'FailedOperation.LimitRealServerNum';
      return 'LimitExceeded';
    case 'conflict':
      if (d.entity === 'group' && d.state) return 'FailedOperation.GroupStatusNotInRuning';
      if (d.entity === 'listener' && d.state) return 'FailedOperation.ListenerHasTask';
      if (d.state === 'busy') return 'FailedOperation.ActionIsDoing';
      if (d.state === 'not_running') return 'FailedOperation.InstanceStatusNotInRuning';
      if (e.field === 'proxyIds') return 'FailedOperation.BelongDifferentGroup';
      // A listener, binding or origin setting that contradicts another one.
      if (d.entity === 'listener' || d.entity === 'binding' || d.entity === 'origin') return 'InvalidParameterValue';
      return null;
    case 'in_use':
      if (d.entity === 'proxy') return 'FailedOperation.DeleteProxyGroupProxyRemained';
      if (d.entity === 'binding') return 'FailedOperation.RealServerAlreadyBound';
      return 'ResourceInUse';
    case 'duplicate':
      if (e.field === 'clientToken') return 'FailedOperation.DuplicatedRequest';
      if (d.entity === 'listenerPort') return 'InvalidParameterValue.DuplicatedListenerPort';
      if (d.entity === 'origin') return 'InvalidParameterValue.DuplicateRS';
      if (d.entity === 'binding') return 'InvalidParameterValue';
      return null;
    default:
      return null;
  }
}

const QUOTA: Record<string, string> = { listener: 'listeners per proxy', port: 'ports per call', binding: 'real servers per listener' };

function gaapMessage(e: ModelError, param: string): string {
  const d = e.details;
  const value = d.value !== undefined ? ` ${shown(d.value)}` : '';
  switch (e.code) {
    case 'not_found': return `the ${THING[d.entity ?? ''] ?? 'resource'} \`${param}\`${value} does not exist`;
    case 'duplicate': return `the parameter \`${param}\`${value} ${d.reason ?? 'is already in use'}`;
    case 'out_of_range': return `the parameter \`${param}\`${value} ${d.reason ?? 'is out of range'}`;
    case 'not_in_options': return `the parameter \`${param}\`${value} ${d.reason ?? 'is not one of the allowed values'}`;
    case 'limit_exceeded':
      if (d.entity === 'address') return `the region \`${param}\`${value} ${d.reason ?? 'has no address left'}: sold out`;
      return `the quota is reached (\`${param}\`): at most ${d.limit ?? '?'} ${QUOTA[d.entity ?? ''] ?? `proxies ${d.reason ?? ''}`.trim()}`;
    case 'in_use':
      return d.entity === 'proxy'
        ? `the proxy group \`${param}\`${value} still holds ${d.limit ?? 'some'} proxies: destroy them first or set Force to 1`
        : /^RealServerIds/.test(param)
          ? `the real server \`${param}\`${value} is bound to a listener: unbind it first`
          : `the parameter \`${param}\`${value} has listeners bound to real servers: unbind them first or set Force to 1`;
    case 'conflict':
      if (d.state) return `the ${THING[d.entity ?? ''] ?? 'resource'} \`${param}\` is in state${value} and ${d.reason ?? 'cannot take this action now'}`;
      return `the parameter \`${param}\`${value} ${d.reason ?? 'conflicts with the resource as it is'}`;
    default: return `the parameter \`${param}\`${value} ${d.reason ?? 'is refused'}`;
  }
}

/** Any error a GAAP action meets, as GAAP answers it (null: not ours, the guard's InternalError). */
export function toGaapError(err: unknown, rename: Record<string, string> = {}): TencentError | null {
  if (!(err instanceof ModelError)) return toTencentError(err);
  const param = gaapParam(err.field, rename);
  const code = gaapCode(err);
  if (code !== null) return new TencentError(code, gaapMessage(err, param));
  const entry = MODEL_CATALOGUE[err.code] ?? MODEL_CATALOGUE.unsupported;
  return new TencentError(entry.code, entry.message({ param, ...err.details }));
}

/** Runs a control call, turning its refusals into GAAP errors. */
export async function gaapCall<T>(rename: Record<string, string>, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toGaapError(err, rename) ?? err;
  }
}
