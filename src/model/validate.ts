import { ModelError } from './errors.js';
import { memberHostProblem, upstreamHostProblem } from './host.js';
import { isPrototypeKey } from './keys.js';
import { memberEndpoint } from './member.js';
import { parseStatusSet } from './status-set.js';
import type { HealthCheck, Route, Upstream } from './types.js';

// The invariants that hold whatever dialect wrote an object. Dialects check their own
// wire rules first; these run once more in control/ before every write.

function range(field: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v)) throw new ModelError('invalid_type', field, `${field} must be an integer`, { value: v, reason: 'must be an integer' });
  if (v < lo || v > hi) throw new ModelError('out_of_range', field, `${field} must be between ${lo} and ${hi}, got ${v}`, { limit: v < lo ? lo : hi, value: v });
}

function maxLen(field: string, v: string, n: number): void {
  if (v.length > n) throw new ModelError('too_long', field, `${field} must be at most ${n} characters`, { limit: n });
}

export function validateHealthCheck(h: HealthCheck, prefix = 'healthCheck'): void {
  range(`${prefix}.port`, h.port, 0, 65535);
  range(`${prefix}.healthyThreshold`, h.healthyThreshold, 1, 10);
  range(`${prefix}.unhealthyThreshold`, h.unhealthyThreshold, 1, 10);
  range(`${prefix}.tcpFailureThreshold`, h.tcpFailureThreshold, 0, 254);
  range(`${prefix}.httpFailureThreshold`, h.httpFailureThreshold, 0, 254);
  range(`${prefix}.timeoutThreshold`, h.timeoutThreshold, 0, 254);
  range(`${prefix}.interval`, h.interval, 1, 300);
  range(`${prefix}.timeout`, h.timeout, 1, 30);
  range(`${prefix}.unhealthyTimeout`, h.unhealthyTimeout, 1, 86_400);
  if (h.timeout >= h.interval) {
    throw new ModelError('out_of_range', `${prefix}.timeout`, `${prefix}.timeout (${h.timeout}) must be less than ${prefix}.interval (${h.interval})`, { limit: h.interval - 1, value: h.timeout, reason: `must be less than the check interval (${h.interval} s)` });
  }
  if (h.protocol !== 'tcp' && h.path === '') {
    throw new ModelError('missing', `${prefix}.path`, `${prefix}.path is required for ${h.protocol.toUpperCase()} checks`);
  }
  if (h.protocol !== 'tcp' && !h.path.startsWith('/')) {
    throw new ModelError('bad_format', `${prefix}.path`, `${prefix}.path must start with /`, { value: h.path.slice(0, 64), reason: 'must start with /' });
  }
  maxLen(`${prefix}.path`, h.path, 2048);
  // The probe sends these as written: node:http refuses spaces, controls and bad header names.
  if (!/^[\x21-\x7e]*$/.test(h.path)) {
    throw new ModelError('bad_format', `${prefix}.path`, `${prefix}.path may hold only visible ASCII (percent-encode the rest)`, { reason: 'may hold only visible ASCII (percent-encode the rest)' });
  }
  parseStatusSet(h.healthyStatuses, `${prefix}.healthyStatuses`);
  parseStatusSet(h.unhealthyStatuses, `${prefix}.unhealthyStatuses`);
  validateProbeHeaders(h.requestHeaders, `${prefix}.requestHeaders`);
}

/** RFC 9110 token characters: what a field name may hold. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible characters, spaces and tabs: no CR, LF, NUL or other controls to split a probe's head (node:http refuses them). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Headers a probe sends as written: real field names and values, a bounded number of them. */
function validateProbeHeaders(headers: Record<string, string>, field: string): void {
  const names = Object.keys(headers);
  if (names.length > 32) throw new ModelError('out_of_range', field, `${field} holds at most 32 headers`, { limit: 32, value: names.length, reason: 'holds at most 32 headers' });
  for (const name of names) {
    if (!HEADER_NAME.test(name) || name.length > 256 || isPrototypeKey(name)) {
      throw new ModelError('bad_format', field, `${field}: ${JSON.stringify(name.slice(0, 64))} is not a header name a probe can send`, { value: name.slice(0, 64), reason: 'is not a header name a probe can send' });
    }
    const value = headers[name];
    if (typeof value !== 'string' || !HEADER_VALUE.test(value) || value.length > 4096) {
      throw new ModelError('bad_format', field, `${field}: the value of ${name} holds characters a header cannot carry`, { value: name.slice(0, 64), reason: 'has a value with characters a header cannot carry' });
    }
  }
}

export function validateUpstream(u: Upstream): void {
  if (u.name === '') throw new ModelError('missing', 'name', 'name is required');
  maxLen('name', u.name, 128);
  maxLen('description', u.description, 1024);
  range('port', u.port, 0, 65535);
  range('retries', u.retries, 0, 10);
  if (u.upstreamHost !== null) {
    maxLen('upstreamHost', u.upstreamHost, 253);
    const problem = upstreamHostProblem(u.upstreamHost);
    if (problem) throw new ModelError('bad_format', 'upstreamHost', `upstreamHost ${JSON.stringify(u.upstreamHost)} ${problem}`, { value: u.upstreamHost, reason: problem });
  }

  const groups = new Set<string>();
  const groupNames = new Set<string>();
  u.memberGroups.forEach((g, i) => {
    const f = `memberGroups[${i}]`;
    if (g.name === '') throw new ModelError('missing', `${f}.name`, `${f}.name is required`);
    maxLen(`${f}.name`, g.name, 64);
    maxLen(`${f}.remark`, g.remark, 255);
    if (g.weight !== null) range(`${f}.weight`, g.weight, 0, 100);
    range(`${f}.microservicePort`, g.microservicePort, 0, 65535);
    if (groupNames.has(g.name)) throw new ModelError('duplicate', `${f}.name`, `${f}.name: member group "${g.name}" appears twice`, { entity: 'memberGroup', value: g.name, reason: 'appears twice' });
    if (g.referenceUpstreamId === u.id) throw new ModelError('conflict', `${f}.referenceUpstreamId`, `${f}.referenceUpstreamId cannot point at the upstream itself`, { value: g.referenceUpstreamId, reason: 'cannot point at the channel itself' });
    groupNames.add(g.name);
    groups.add(g.id);
  });

  const addresses = new Set<string>();
  u.members.forEach((m, i) => {
    const f = `members[${i}]`;
    if (m.host === '') throw new ModelError('missing', `${f}.host`, `${f}.host is required`);
    maxLen(`${f}.host`, m.host, 253);
    const problem = memberHostProblem(m.host);
    if (problem) throw new ModelError('bad_format', `${f}.host`, `${f}.host ${JSON.stringify(m.host)} ${problem}`, { value: m.host, reason: problem });
    range(`${f}.port`, m.port, 0, 65535);
    if (m.weight !== null) range(`${f}.weight`, m.weight, 0, 10_000);
    if (m.groupId !== null && !groups.has(m.groupId)) {
      throw new ModelError('not_found', `${f}.group`, `${f} names a member group that does not exist in this upstream`, { entity: 'memberGroup', reason: 'names a member group that does not exist' });
    }
    const addr = memberEndpoint(u, m.host, m.port);
    if (addresses.has(addr)) throw new ModelError('duplicate', `${f}.host`, `${f}.host: member ${addr} appears twice in the upstream`, { entity: 'member', value: addr });
    addresses.add(addr);
  });

  if (u.healthCheck) validateHealthCheck(u.healthCheck);
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT']);

export function validateRoute(r: Route): void {
  maxLen('name', r.name, 128);
  r.hosts.forEach((h, i) => {
    maxLen(`hosts[${i}]`, h, 253);
    if (!HOST_PATTERN.test(h)) throw new ModelError('bad_format', `hosts[${i}]`, `hosts[${i}] "${h}" is not a host name or *.suffix wildcard`);
  });
  r.paths.forEach((p, i) => {
    maxLen(`paths[${i}]`, p, 2048);
    if (!p.startsWith('/')) throw new ModelError('bad_format', `paths[${i}]`, `paths[${i}] must start with /`);
  });
  r.methods.forEach((m, i) => {
    if (!METHODS.has(m)) throw new ModelError('not_in_options', `methods[${i}]`, `methods[${i}] "${m}" is not an HTTP method`);
  });
  range('timeoutMs', r.timeoutMs, 1, 3_600_000);
}
