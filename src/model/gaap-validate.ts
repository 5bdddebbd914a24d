import { isIP } from 'node:net';
import { parsePoolEntry } from './address-pool.js';
import { ModelError } from './errors.js';
import { PORT_MAX, PORT_MIN, RESERVED_PORTS, type L4Region, type OriginBinding, type Proxy, type StreamListener } from './gaap.js';
import type { Tag } from './types.js';

// The L4 invariants, whatever face wrote the object (ranges from GAAP's documentation:
// health check 5-300 s / 2-60 s below the interval, thresholds 1-10, ports 1-64999 without 21).

function int(field: string, v: unknown, lo: number, hi: number, entity?: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ModelError('invalid_type', field, `${field} must be an integer`, { entity, value: v, reason: 'must be an integer' });
  if (v < lo || v > hi) throw new ModelError('out_of_range', field, `${field} must be between ${lo} and ${hi}, got ${v}`, { entity, limit: v < lo ? lo : hi, value: v, reason: `must be between ${lo} and ${hi}` });
}

export function validateName(field: string, v: string, max: number, entity: string): void {
  if (v === '') throw new ModelError('missing', field, `${field} is required`, { entity });
  if ([...v].length > max) throw new ModelError('too_long', field, `${field} must be at most ${max} characters`, { entity, limit: max, reason: `must be at most ${max} characters` });
}

export function validateTags(field: string, tags: Tag[]): void {
  tags.forEach((t, i) => {
    if (t.key === '') throw new ModelError('missing', `${field}[${i}].key`, `${field}[${i}].key is required`, { entity: 'tag' });
    if (t.key.length > 127 || t.value.length > 255) throw new ModelError('too_long', `${field}[${i}]`, `${field}[${i}]: keys hold at most 127 characters, values 255`, { entity: 'tag', limit: t.key.length > 127 ? 127 : 255 });
  });
}

function sizes(field: string, v: number[]): void {
  if (v.length === 0) throw new ModelError('missing', field, `${field} needs at least one value`, { entity: 'region' });
  v.forEach((x, i) => int(`${field}[${i}]`, x, 1, 1_000_000, 'region'));
  if (new Set(v).size !== v.length) throw new ModelError('duplicate', field, `${field} lists a value twice`, { entity: 'region' });
}

export function validateRegion(r: L4Region, prefix = 'region'): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(r.id)) {
    throw new ModelError('bad_format', `${prefix}.id`, `${prefix}.id must be letters, digits, - and _ (at most 64), got "${r.id.slice(0, 64)}"`, { entity: 'region', value: r.id.slice(0, 64), reason: 'must be letters, digits, - and _ (at most 64)' });
  }
  validateName(`${prefix}.name`, r.name, 64, 'region');
  if (!r.access && !r.origin) throw new ModelError('conflict', `${prefix}.access`, `${prefix} must be an access region, an origin region or both`, { entity: 'region' });
  sizes(`${prefix}.bandwidths`, r.bandwidths);
  sizes(`${prefix}.concurrencies`, r.concurrencies);
  if (r.pool.length > 1024) throw new ModelError('out_of_range', `${prefix}.pool`, `${prefix}.pool holds at most 1024 entries`, { entity: 'region', limit: 1024 });
  r.pool.forEach((e, i) => parsePoolEntry(e, `${prefix}.pool[${i}]`));
}

/** A proxy's size must be one the access region offers. */
export function validateSize(region: L4Region, bandwidth: number, concurrent: number): void {
  int('bandwidth', bandwidth, 1, 1_000_000, 'proxy');
  int('concurrent', concurrent, 1, 1_000_000, 'proxy');
  if (!region.bandwidths.includes(bandwidth)) {
    throw new ModelError('not_in_options', 'bandwidth', `bandwidth ${bandwidth} is not offered in region ${region.id} (one of ${region.bandwidths.join(', ')})`, { entity: 'proxy', value: bandwidth, reason: `must be one of ${region.bandwidths.join(', ')}` });
  }
  if (!region.concurrencies.includes(concurrent)) {
    throw new ModelError('not_in_options', 'concurrent', `concurrent ${concurrent} is not offered in region ${region.id} (one of ${region.concurrencies.join(', ')})`, { entity: 'proxy', value: concurrent, reason: `must be one of ${region.concurrencies.join(', ')}` });
  }
}

/**
 * The operator's budget overrides (null or absent: the size's own).
 * connectionCap 0..10,000,000: 0 is a deliberate "refuse every new connection" (drain a proxy
 * without closing it); GAAP sells at most 100 x 10,000, and ten times that is more sockets
 * than one node's descriptor table holds, so a larger value is a typo, not a plan.
 * byteRate 1,000..125,000,000,000 bytes/s: below 1 kB/s the bucket's minimum depth (64 KiB)
 * is over a minute of rate and shaping degenerates into long stalls; the top is 1 Tbit/s,
 * beyond any NIC a node has, and keeps rate x milliseconds far inside safe integers.
 */
export const CONNECTION_CAP_MAX = 10_000_000;
export const BYTE_RATE_MIN = 1_000;
export const BYTE_RATE_MAX = 125_000_000_000;

export function validateBudget(p: Pick<Proxy, 'connectionCap' | 'byteRate'>): void {
  if (p.connectionCap !== undefined && p.connectionCap !== null) int('connectionCap', p.connectionCap, 0, CONNECTION_CAP_MAX, 'proxy');
  if (p.byteRate !== undefined && p.byteRate !== null) int('byteRate', p.byteRate, BYTE_RATE_MIN, BYTE_RATE_MAX, 'proxy');
}

/** One create call's ports: each valid, none twice, at most `max` of them. */
export function validatePorts(ports: number[], max: number): void {
  if (ports.length === 0) throw new ModelError('missing', 'ports', 'ports needs at least one port', { entity: 'listener' });
  if (ports.length > max) throw new ModelError('limit_exceeded', 'ports', `at most ${max} ports per call, got ${ports.length}`, { entity: 'port', limit: max, value: ports.length });
  const seen = new Set<number>();
  ports.forEach((p, i) => {
    int(`ports[${i}]`, p, PORT_MIN, PORT_MAX, 'listener');
    if (RESERVED_PORTS.has(p)) throw new ModelError('not_in_options', `ports[${i}]`, `ports[${i}]: port ${p} is reserved`, { entity: 'listener', value: p, reason: 'is reserved' });
    if (seen.has(p)) throw new ModelError('duplicate', `ports[${i}]`, `ports[${i}]: port ${p} is given twice`, { entity: 'listenerPort', value: p, reason: 'is given twice' });
    seen.add(p);
  });
}

export function validateListener(l: StreamListener): void {
  validateName('name', l.name, 30, 'listener');
  int('port', l.port, PORT_MIN, PORT_MAX, 'listener');
  int('delayLoop', l.delayLoop, 5, 300, 'listener');
  int('connectTimeout', l.connectTimeout, 2, 60, 'listener');
  if (l.connectTimeout >= l.delayLoop) {
    throw new ModelError('out_of_range', 'connectTimeout', `connectTimeout (${l.connectTimeout}) must be less than delayLoop (${l.delayLoop})`, { entity: 'listener', limit: l.delayLoop - 1, value: l.connectTimeout, reason: `must be less than the check interval (${l.delayLoop} s)` });
  }
  int('healthyThreshold', l.healthyThreshold, 1, 10, 'listener');
  int('unhealthyThreshold', l.unhealthyThreshold, 1, 10, 'listener');
  if (!['rr', 'wrr', 'lc'].includes(l.scheduler)) {
    throw new ModelError('not_in_options', 'scheduler', `scheduler must be rr, wrr or lc, got "${String(l.scheduler).slice(0, 16)}"`, { entity: 'listener', value: l.scheduler, reason: 'must be rr, wrr or lc' });
  }
  if (l.originType === 'domain' && l.scheduler === 'wrr') {
    throw new ModelError('conflict', 'scheduler', 'scheduler wrr is not available with domain origins', { entity: 'listener', value: l.scheduler, reason: 'wrr is not available with domain origins' });
  }
  if (l.originType === 'domain' && l.failover) {
    throw new ModelError('conflict', 'failover', 'failover is not available with domain origins', { entity: 'listener', reason: 'is not available with domain origins' });
  }
  if (l.protocol === 'tcp' && l.udpCheck !== null) throw new ModelError('conflict', 'udpCheck', 'udpCheck applies to UDP listeners only', { entity: 'listener', reason: 'applies to UDP listeners only' });
  if (l.protocol === 'udp' && l.clientIp !== null) throw new ModelError('conflict', 'clientIp', 'clientIp applies to TCP listeners only', { entity: 'listener', reason: 'applies to TCP listeners only' });
  validateL4Options(l);
  const c = l.udpCheck;
  if (c) {
    if (c.type !== 'port' && c.type !== 'ping') throw new ModelError('not_in_options', 'udpCheck.type', 'udpCheck.type must be port or ping', { entity: 'listener', value: c.type, reason: 'must be port or ping' });
    int('udpCheck.port', c.port, 0, 65_535, 'listener');
    if (c.type === 'ping' && (c.send !== '' || c.receive !== '')) {
      throw new ModelError('conflict', 'udpCheck.send', 'udpCheck.send and udpCheck.receive apply to port checks only', { entity: 'listener', reason: 'applies to port checks only' });
    }
    if (c.send.length > 500 || c.receive.length > 500) throw new ModelError('too_long', c.send.length > 500 ? 'udpCheck.send' : 'udpCheck.receive', 'udpCheck texts hold at most 500 characters', { entity: 'listener', limit: 500 });
  }
}

/**
 * The operator's listener options. Idle timeout up to a day: longer and a dead peer behind a
 * NAT that dropped its mapping holds a connection slot of the proxy's cap for days.
 * Session persistence up to an hour (GAAP's consoles offer 0-3600 s).
 */
export const IDLE_TIMEOUT_MAX = 86_400;
export const SESSION_PERSIST_MAX = 3_600;

function validateL4Options(l: StreamListener): void {
  const v = l.proxyProtocolVersion;
  if (v !== undefined) {
    if (v !== 1 && v !== 2) throw new ModelError('not_in_options', 'proxyProtocolVersion', `proxyProtocolVersion must be 1 or 2, got ${String(v).slice(0, 16)}`, { entity: 'listener', value: v, reason: 'must be 1 or 2' });
    if (l.protocol !== 'tcp' || l.clientIp !== 'proxy_protocol') {
      throw new ModelError('conflict', 'proxyProtocolVersion', 'proxyProtocolVersion applies only to TCP listeners whose clientIp is proxy_protocol', { entity: 'listener', value: v, reason: 'applies only to TCP listeners whose clientIp is proxy_protocol' });
    }
  }
  if (l.idleTimeout !== undefined) int('idleTimeout', l.idleTimeout, 1, IDLE_TIMEOUT_MAX, 'listener');
  int('sessionPersist', l.sessionPersist, 0, SESSION_PERSIST_MAX, 'listener');
}

/** A binding on its own; the set-wide rules (duplicates, count) are the caller's. */
export function validateBinding(b: OriginBinding, listener: StreamListener, field: string): void {
  int(`${field}.port`, b.port, 1, 65_535, 'binding');
  int(`${field}.weight`, b.weight, 1, 100, 'binding');
  if (b.role !== null && !listener.failover) {
    throw new ModelError('conflict', `${field}.role`, `${field}.role needs failover on the listener`, { entity: 'binding', value: b.role, reason: 'needs failover on the listener' });
  }
  if (b.role !== null && b.role !== 'master' && b.role !== 'slave') {
    throw new ModelError('not_in_options', `${field}.role`, `${field}.role must be master or slave`, { entity: 'binding', value: b.role, reason: 'must be master or slave' });
  }
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** An origin address: an IP, or a domain name. */
export function originTypeOf(address: string, field: string): 'ip' | 'domain' {
  if (isIP(address) !== 0) return 'ip';
  if (DOMAIN.test(address) && !/^[\d.]+$/.test(address)) return 'domain';
  throw new ModelError('bad_format', field, `${field} "${address.slice(0, 64)}" is neither an IP address nor a domain name`, { entity: 'origin', value: address.slice(0, 64), reason: 'is neither an IP address nor a domain name' });
}
