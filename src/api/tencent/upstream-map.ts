import { givenFields, type Described } from '../../control/describes.js';
import type { MemberInput, UpstreamInput } from '../../control/inputs.js';
import { defaultProbeTimeout } from '../../model/defaults.js';
import { effectiveWeight } from '../../model/member.js';
import type { HealthCheck, Scheme, Upstream } from '../../model/types.js';
import type { HealthState, MemberHealthReport } from '../health-reporter.js';
import { TencentError } from './errors.js';
import type { Params, Spec } from './params.js';

// Tencent Upstream fields <-> the canonical model. What Tencent sends that our machines do
// not act on (UniqVpcId, K8s services, Algorithm spelling, node K8s fields) is stored and
// returned as sent.

const NODE: Spec = {
  type: 'object', fields: {
    Host: { type: 'string', required: true, maxLength: 253 },
    Port: { type: 'int', required: true, min: 0, max: 65535 },
    Weight: { type: 'int', required: true, min: 0, max: 100 },
    VmInstanceId: { type: 'string', maxLength: 128 },
    Tags: { type: 'array', items: { type: 'string', maxLength: 128 }, maxItems: 64 },
    // Output-only: accepted (a Describe result can be sent back), kept where meaningful.
    Healthy: { type: 'string' },
    ServiceName: { type: 'string' }, NameSpace: { type: 'string' }, ClusterId: { type: 'string' },
    Source: { type: 'string' }, UniqueServiceName: { type: 'string' },
  },
};

const HEALTH: Spec = {
  type: 'object', fields: {
    EnableActiveCheck: { type: 'bool', required: true },
    EnablePassiveCheck: { type: 'bool', required: true },
    HealthyHttpStatus: { type: 'string', required: true, maxLength: 512 },
    UnhealthyHttpStatus: { type: 'string', required: true, maxLength: 512 },
    TcpFailureThreshold: { type: 'int', required: true, min: 0, max: 254 },
    TimeoutThreshold: { type: 'int', required: true, min: 0, max: 254 },
    HttpFailureThreshold: { type: 'int', required: true, min: 0, max: 254 },
    ActiveCheckHttpPath: { type: 'string', maxLength: 2048 },
    ActiveCheckTimeout: { type: 'int', min: 1, max: 30 },
    ActiveCheckInterval: { type: 'int', min: 1, max: 300 },
    ActiveRequestHeader: { type: 'array', items: { type: 'any' }, maxItems: 32 },
    UnhealthyTimeout: { type: 'int', min: 1, max: 86400 },
  },
};

const K8S_SERVICE: Spec = {
  type: 'object', fields: {
    Weight: { type: 'int', required: true, min: 0, max: 100 },
    ClusterId: { type: 'string', required: true },
    Namespace: { type: 'string', required: true },
    ServiceName: { type: 'string', required: true },
    Port: { type: 'int', required: true, min: 0, max: 65535 },
    ExtraLabels: { type: 'array', required: true, items: { type: 'object', fields: { Key: { type: 'string', required: true }, Value: { type: 'string', required: true } } } },
    Name: { type: 'string' },
  },
};

const SCHEMES = ['HTTP', 'HTTPS', 'gRPC', 'gRPCs'] as const;
const ALGORITHMS = ['ROUND-ROBIN', 'ROUND_ROBIN'] as const;

const COMMON: Record<string, Spec> = {
  UpstreamName: { type: 'string', maxLength: 128 },
  UpstreamDescription: { type: 'string', maxLength: 1024 },
  UpstreamType: { type: 'string', enum: ['IP_PORT', 'K8S'] },
  Retries: { type: 'int', min: 0, max: 10 },
  UpstreamHost: { type: 'string', maxLength: 253 },
  Nodes: { type: 'array', items: NODE, maxItems: 1000 },
  HealthChecker: HEALTH,
  K8sService: { type: 'array', items: K8S_SERVICE, maxItems: 100 },
};

export const CREATE_UPSTREAM: Record<string, Spec> = {
  ...COMMON,
  Scheme: { type: 'string', required: true, enum: SCHEMES },
  Algorithm: { type: 'string', required: true, enum: ALGORITHMS },
  UniqVpcId: { type: 'string', required: true, maxLength: 128 },
  Tags: { type: 'array', items: { type: 'object', fields: { Key: { type: 'string', required: true }, Value: { type: 'string', required: true } } }, maxItems: 64 },
};

export const MODIFY_UPSTREAM: Record<string, Spec> = {
  ...COMMON,
  UpstreamId: { type: 'string', required: true, maxLength: 64 },
  Scheme: { type: 'string', enum: SCHEMES },
  Algorithm: { type: 'string', enum: ALGORITHMS },
  UniqVpcId: { type: 'string', maxLength: 128 },
};

const FILTERS: Spec = {
  type: 'array', maxItems: 10, items: { type: 'object', fields: { Name: { type: 'string', required: true }, Values: { type: 'array', required: true, items: { type: 'string' }, maxItems: 100 } } },
};

export const DESCRIBE_UPSTREAMS: Record<string, Spec> = {
  Limit: { type: 'int', required: true, min: 1, max: 100 },
  Offset: { type: 'int', required: true, min: 0 },
  Filters: FILTERS,
};

export const DELETE_UPSTREAM: Record<string, Spec> = { UpstreamId: { type: 'string', required: true, maxLength: 64 } };

export const DESCRIBE_BIND_APIS: Record<string, Spec> = {
  Limit: { type: 'int', required: true, min: 1, max: 100 },
  Offset: { type: 'int', required: true, min: 0 },
  UpstreamId: { type: 'string', required: true, maxLength: 64 },
  Filters: FILTERS,
};

/** Filters as {name -> accepted values}; an unknown name is InvalidFilterNotSupportedName. */
export function parseFilters(filters: unknown, allowed: readonly string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  ((filters ?? []) as { Name: string; Values: string[] }[]).forEach((f, i) => {
    if (!allowed.includes(f.Name)) {
      throw new TencentError('InvalidParameterValue.InvalidFilterNotSupportedName', `the parameter \`Filters.${i}.Name\` must be one of ${allowed.join(', ')}, got "${f.Name}"`);
    }
    out.set(f.Name, new Set([...(out.get(f.Name) ?? []), ...f.Values]));
  });
  return out;
}

const SCHEME_IN: Record<string, Scheme> = { HTTP: 'http', HTTPS: 'https', gRPC: 'grpc', gRPCs: 'grpcs' };
const SCHEME_OUT: Record<Scheme, string> = { http: 'HTTP', https: 'HTTPS', grpc: 'gRPC', grpcs: 'gRPCs' };

function nodeInput(n: Params): MemberInput {
  const k8s = Object.fromEntries(['ServiceName', 'NameSpace', 'ClusterId', 'Source', 'UniqueServiceName'].filter((k) => n[k] !== undefined).map((k) => [k, n[k]]));
  return {
    host: n.Host as string, port: n.Port as number, weight: n.Weight as number,
    ecsId: (n.VmInstanceId as string | undefined) ?? '', tags: (n.Tags as string[] | undefined) ?? [],
    ext: Object.keys(k8s).length ? { tencent: k8s } : {},
  };
}

/** Tencent's documented default for both ActiveCheckInterval and ActiveCheckTimeout, in seconds. */
const TENCENT_PROBE_DEFAULT = 5;

/** Tencent-only health data: what the caller sent where the model keeps something else. */
interface TencentHealthExt { activeCheckTimeout?: number; probeTimeout?: number }

/**
 * Tencent documents 5 s for both interval and timeout, and the model wants a probe to end
 * before the next one is due (timeout < interval). So a timeout that reaches the interval
 * probes for one second less than the interval, and Describe still answers what the caller
 * sent (or Tencent's default). An interval of 1 s leaves no such timeout: refused, in
 * Tencent's words.
 */
function probeTimeout(h: Params): { interval: number; timeout: number; shown: number } {
  const interval = (h.ActiveCheckInterval as number | undefined) ?? TENCENT_PROBE_DEFAULT;
  const shown = (h.ActiveCheckTimeout as number | undefined) ?? TENCENT_PROBE_DEFAULT;
  if (interval < 2) {
    throw new TencentError('InvalidParameterValue.RangeExceeded', `the parameter \`HealthChecker.ActiveCheckInterval\` must be at least 2, got ${interval} (a probe's timeout, at least 1 s, must end before the next probe)`);
  }
  // Tencent allows a timeout equal to the interval (its defaults are 5 and 5); the probe
  // then ends a second before the next one, as the model requires.
  const timeout = h.ActiveCheckTimeout === undefined ? defaultProbeTimeout(interval) : Math.min(shown, interval - 1);
  return { interval, timeout, shown };
}

/**
 * Tencent's failure thresholds count consecutive failures of one kind (0 = that kind never
 * counts). The active checker counts failed probes of any kind against one threshold, so it
 * takes the strictest one the caller set (at most the model's 10); with none set, the
 * model's default stands.
 */
function unhealthyThreshold(h: Params): number | undefined {
  const set = [h.TcpFailureThreshold, h.TimeoutThreshold, h.HttpFailureThreshold].filter((n): n is number => typeof n === 'number' && n > 0);
  return set.length ? Math.min(10, ...set) : undefined;
}

function healthInput(h: Params, scheme: Scheme): Partial<HealthCheck> {
  const { interval, timeout, shown } = probeTimeout(h);
  const headers = (h.ActiveRequestHeader as unknown[] | undefined) ?? [];
  // fromEntries defines own keys: a Key such as `__proto__` stays a key, for the model's header rule to refuse.
  const requestHeaders: Record<string, string> = Object.fromEntries(headers.flatMap((x) => {
    const kv = x as { Key?: unknown; Value?: unknown };
    return typeof kv?.Key === 'string' && typeof kv.Value === 'string' ? [[kv.Key, kv.Value]] : [];
  }));
  const threshold = unhealthyThreshold(h);
  const ext: TencentHealthExt = { activeCheckTimeout: shown, probeTimeout: timeout };
  return {
    active: h.EnableActiveCheck as boolean, passive: h.EnablePassiveCheck as boolean,
    protocol: scheme === 'https' || scheme === 'grpcs' ? 'https' : 'http',
    path: (h.ActiveCheckHttpPath as string | undefined) ?? '/',
    healthyStatuses: h.HealthyHttpStatus as string, unhealthyStatuses: h.UnhealthyHttpStatus as string,
    tcpFailureThreshold: h.TcpFailureThreshold as number, timeoutThreshold: h.TimeoutThreshold as number,
    httpFailureThreshold: h.HttpFailureThreshold as number, interval, timeout,
    ...(threshold !== undefined ? { unhealthyThreshold: threshold } : {}),
    unhealthyTimeout: (h.UnhealthyTimeout as number | undefined) ?? 30, requestHeaders,
    ext: { tencent: ext },
  };
}

/** Tencent-only data kept on the upstream. */
interface TencentExt { algorithm?: string; upstreamType?: string; k8sServices?: unknown[] }

export function tencentExt(u: Upstream): TencentExt {
  return (u.ext.tencent as TencentExt | undefined) ?? {};
}

/** CreateUpstream parameters (validated) to a canonical input. */
export function createInput(p: Params, generatedName: string): UpstreamInput {
  const scheme = SCHEME_IN[p.Scheme as string]!;
  const ext: TencentExt = { algorithm: p.Algorithm as string, upstreamType: (p.UpstreamType as string | undefined) ?? 'IP_PORT', k8sServices: (p.K8sService as unknown[] | undefined) ?? [] };
  return {
    name: (p.UpstreamName as string | undefined) || generatedName,
    description: (p.UpstreamDescription as string | undefined) ?? '',
    scheme, strategy: 'wrr',
    retries: p.Retries as number | undefined,
    upstreamHost: (p.UpstreamHost as string | undefined) || null,
    networkId: p.UniqVpcId as string,
    tags: ((p.Tags as { Key: string; Value: string }[] | undefined) ?? []).map((t) => ({ key: t.Key, value: t.Value })),
    healthCheck: p.HealthChecker ? healthInput(p.HealthChecker as Params, scheme) : null,
    members: ((p.Nodes as Params[] | undefined) ?? []).map(nodeInput),
    ext: { tencent: ext },
  };
}

/** What a Tencent Node says of a member; backup, enabled, group and ECS name are other faces'. */
const NODE_FIELDS: readonly (keyof MemberInput)[] = ['host', 'port', 'weight', 'ecsId', 'tags', 'ext'];

/** ModifyUpstream changes the fields it was given; the nodes it sends keep what other faces set on them. */
export function TENCENT_DESCRIBES(patch: Partial<UpstreamInput>): Described {
  return { ...givenFields(patch), member: NODE_FIELDS, ext: ['tencent'] };
}

/** ModifyUpstream: given fields change, omitted ones stay; a given Nodes list replaces all nodes. */
export function modifyUpstream(u: Upstream, p: Params): { patch: Partial<UpstreamInput>; ext: TencentExt } {
  const ext: TencentExt = { ...tencentExt(u) };
  const patch: Partial<UpstreamInput> = {};
  if (p.UpstreamName !== undefined) patch.name = p.UpstreamName as string;
  if (p.UpstreamDescription !== undefined) patch.description = p.UpstreamDescription as string;
  if (p.Scheme !== undefined) patch.scheme = SCHEME_IN[p.Scheme as string]!;
  if (p.Algorithm !== undefined) { ext.algorithm = p.Algorithm as string; patch.strategy = 'wrr'; }
  if (p.UpstreamType !== undefined) ext.upstreamType = p.UpstreamType as string;
  if (p.K8sService !== undefined) ext.k8sServices = p.K8sService as unknown[];
  if (p.Retries !== undefined) patch.retries = p.Retries as number;
  if (p.UpstreamHost !== undefined) patch.upstreamHost = (p.UpstreamHost as string) || null;
  if (p.UniqVpcId !== undefined) patch.networkId = p.UniqVpcId as string;
  if (p.HealthChecker !== undefined) {
    const check = healthInput(p.HealthChecker as Params, patch.scheme ?? u.scheme);
    // Tencent has no protocol field: a TCP check set through another face stays TCP.
    if (u.healthCheck?.protocol === 'tcp') delete check.protocol;
    patch.healthCheck = check;
  }
  if (p.Nodes !== undefined) patch.members = (p.Nodes as Params[]).map(nodeInput);
  return { patch, ext };
}

const HEALTHY: Record<HealthState, string> = { healthy: 'HEALTHY', unhealthy: 'UNHEALTHY', unknown: 'NO_DATA', off: 'OFF' };

function healthOut(h: HealthCheck | null): Params | null {
  if (!h) return null;
  const t = (h.ext.tencent as TencentHealthExt | undefined) ?? {};
  // What the caller sent, while the probe still runs with the timeout derived from it
  // (another face may have set its own since).
  const timeout = t.activeCheckTimeout !== undefined && t.probeTimeout === h.timeout ? t.activeCheckTimeout : h.timeout;
  return {
    EnableActiveCheck: h.active, EnablePassiveCheck: h.passive,
    HealthyHttpStatus: h.healthyStatuses, UnhealthyHttpStatus: h.unhealthyStatuses,
    TcpFailureThreshold: h.tcpFailureThreshold, TimeoutThreshold: h.timeoutThreshold, HttpFailureThreshold: h.httpFailureThreshold,
    ActiveCheckHttpPath: h.path, ActiveCheckTimeout: timeout, ActiveCheckInterval: h.interval,
    // What the probe really sends, whichever face set it.
    ActiveRequestHeader: Object.entries(h.requestHeaders).map(([Key, Value]) => ({ Key, Value })),
    UnhealthyTimeout: h.unhealthyTimeout,
  };
}

/** UpstreamInfo (DescribeUpstreams) or, without Tags, ModifyUpstreamResultInfo. */
export function upstreamInfo(u: Upstream, health: MemberHealthReport[], withTags: boolean): Params {
  const ext = tencentExt(u);
  const byId = new Map(health.map((h) => [h.memberId, h]));
  const info: Params = {
    UpstreamId: u.tencentId, UpstreamName: u.name, UpstreamDescription: u.description,
    Scheme: SCHEME_OUT[u.scheme], Algorithm: ext.algorithm ?? 'ROUND-ROBIN', UniqVpcId: u.networkId, Retries: u.retries,
    Nodes: u.members.map((m) => ({
      Host: m.host, Port: m.port, Weight: m.enabled ? Math.min(100, effectiveWeight(u, m)) : 0,
      VmInstanceId: m.ecsId || null, Tags: m.tags,
      Healthy: HEALTHY[byId.get(m.id)?.state ?? 'off'],
      ...((m.ext.tencent as Params | undefined) ?? {}),
    })),
    CreatedTime: u.createdAt,
    HealthChecker: healthOut(u.healthCheck),
    UpstreamType: ext.upstreamType ?? 'IP_PORT',
    K8sServices: ext.k8sServices ?? [],
    UpstreamHost: u.upstreamHost,
  };
  if (withTags) info.Tags = u.tags.map((t) => ({ Key: t.key, Value: t.value }));
  return info;
}
