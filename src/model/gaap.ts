import type { Ext, Tag } from './types.js';

// The canonical L4 model (connection groups, proxies, stream listeners, origins, bindings):
// dialect-neutral. Tencent GAAP is the face it was shaped on; its encodings (status ints, 0/1
// switches, `InstanceId` duplicates) belong to that face, not here. Ids keep GAAP's forms
// (`lg-`, `link-`, `listener-`, `rs-` + 8 characters) because no other face names these objects.

/**
 * An entry of the operator's region catalogue: where proxies may be placed (access) and which
 * origin side they may serve (origin), the sizes a proxy there may have, and the addresses its
 * proxies bind their listeners on. A global kind: no tenant owns it.
 */
export interface L4Region {
  /** The region id clients name (`AccessRegion`, `RealServerRegion`); the store key. */
  id: string;
  name: string;
  access: boolean;
  origin: boolean;
  /** Allowed bandwidths in Mbps, ascending. */
  bandwidths: number[];
  /** Allowed concurrencies in units of 10,000 simultaneous connections, ascending. */
  concurrencies: number[];
  /** IPs and CIDRs (v4 or v6) proxies of this region take their address from; empty: sold out. */
  pool: string[];
  ext: Ext;
  createdAt: string;
  updatedAt: string;
}

export type IpVersion = 'IPv4' | 'IPv6';

/** A group's own lifecycle; what clients see as its status is derived from its proxies (groupState). */
export type GroupLifecycle = 'active' | 'destroying';

export interface ConnectionGroup {
  id: string;
  tenantId: string;
  /** The cloud's project number (GAAP ProjectId); not sluice's project. */
  cloudProjectId: number;
  name: string;
  /** The one origin region every proxy of the group serves. */
  originRegion: string;
  ipVersion: IpVersion;
  /** Stored as given (GAAP PackageType). */
  packageType: string;
  tags: Tag[];
  lifecycle: GroupLifecycle;
  /** Cloud-only fields kept as given (Version, Http3Supported...). */
  ext: Ext;
  createdAt: string;
  updatedAt: string;
}

/** GAAP's proxy states, kept by name: clients poll for them. */
export type ProxyStatus =
  | 'CREATING' | 'RUNNING' | 'OPENING' | 'CLOSING' | 'CLOSED' | 'ADJUSTING' | 'ISOLATING' | 'ISOLATED'
  | 'DESTROYING' | 'CLONING' | 'RECOVERING' | 'MOVING';

/**
 * States a task is under way in: a node has not yet applied the proxy's configuration, and
 * every write on the proxy waits until it has (markApplied settles them).
 */
export const TRANSITIONAL: ReadonlySet<ProxyStatus> = new Set<ProxyStatus>(['CREATING', 'OPENING', 'CLOSING', 'ADJUSTING', 'ISOLATING', 'DESTROYING', 'CLONING', 'RECOVERING', 'MOVING']);

/** Where each transitional state lands once a node has applied it ('gone': the proxy is deleted). */
export const SETTLES_TO: Readonly<Partial<Record<ProxyStatus, ProxyStatus | 'gone'>>> = {
  CREATING: 'RUNNING', CLONING: 'RUNNING', OPENING: 'RUNNING', ADJUSTING: 'RUNNING', RECOVERING: 'RUNNING', MOVING: 'RUNNING',
  CLOSING: 'CLOSED', ISOLATING: 'ISOLATED', DESTROYING: 'gone',
};

export interface Proxy {
  id: string;
  tenantId: string;
  cloudProjectId: number;
  name: string;
  /** null: a standalone proxy, with its own origin region. */
  groupId: string | null;
  accessRegion: string;
  originRegion: string;
  /** Mbps, one of the access region's allowed values. */
  bandwidth: number;
  /** Units of 10,000 simultaneous connections, one of the access region's allowed values. */
  concurrent: number;
  status: ProxyStatus;
  /** The address every listener of the proxy binds on, from the access region's pool. */
  address: string;
  ipVersion: IpVersion;
  /** Stored as given (GAAP NetworkType, PackageType, BillingType). */
  networkType: string;
  packageType: string;
  billingType: number;
  tags: Tag[];
  /** The idempotency token the proxy was created with (unique per tenant), or null. */
  clientToken: string | null;
  /** The proxy this one was cloned from, or null. */
  clonedFrom: string | null;
  /** When bandwidth or concurrency last changed, or null. */
  configChangedAt: string | null;
  /**
   * Operator overrides of the budget the sizes sell (set through the operator API only; absent
   * or null: the size's own). Exact open TCP connections plus live UDP sessions, instead of
   * `concurrent` x 10,000; payload bytes per second per direction, instead of `bandwidth` x 125,000.
   */
  connectionCap?: number | null;
  byteRate?: number | null;
  ext: Ext;
  createdAt: string;
  updatedAt: string;
}

export type StreamProtocol = 'tcp' | 'udp';
export type L4Scheduler = 'rr' | 'wrr' | 'lc';
/** toa: the client address in a TCP option; proxy_protocol: a PROXY protocol v1 line first. */
export type ClientIpMethod = 'toa' | 'proxy_protocol';
export type OriginType = 'ip' | 'domain';
/** A listener's own task state; only 'running' exists until a data plane reports on listeners. */
export type ListenerStatus = 'running' | 'creating' | 'destroying' | 'binding' | 'changing';

export interface UdpCheck {
  type: 'port' | 'ping';
  /** The port a PORT check probes; 0 = the binding's port. */
  port: number;
  contextType: 'TEXT';
  send: string;
  receive: string;
}

/**
 * One port of a proxy, or a template every proxy of a group carries (proxies added later
 * included): exactly one of proxyId / groupId is set, and `holderId` repeats it so one
 * descriptor parent finds both (the id prefixes `link-` / `lg-` tell them apart).
 */
export interface StreamListener {
  id: string;
  tenantId: string;
  proxyId: string | null;
  groupId: string | null;
  holderId: string;
  name: string;
  protocol: StreamProtocol;
  port: number;
  scheduler: L4Scheduler;
  originType: OriginType;
  healthCheck: boolean;
  /** Seconds between probes, 5-300. */
  delayLoop: number;
  /** Probe timeout in seconds, 2-60 and below delayLoop. */
  connectTimeout: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** TCP only (null on UDP); fixed at creation. */
  clientIp: ClientIpMethod | null;
  /** Master/slave bindings. */
  failover: boolean;
  /** UDP only (null on TCP). */
  udpCheck: UdpCheck | null;
  /** Seconds of source affinity; read-only through GAAP (0 = off). */
  sessionPersist: number;
  /** Which PROXY protocol version a proxy_protocol listener sends (operator API; absent: 1, GAAP's form). */
  proxyProtocolVersion?: 1 | 2;
  /** Seconds without a byte either way before a TCP connection or UDP session ends (operator API; absent: the protocol's default). */
  idleTimeout?: number;
  status: ListenerStatus;
  ext: Ext;
  createdAt: string;
  updatedAt: string;
}

/** GAAP's real server: an address a tenant binds listeners to. The port lives on the binding. */
export interface Origin {
  id: string;
  tenantId: string;
  cloudProjectId: number;
  /** An IP or a domain name. */
  address: string;
  type: OriginType;
  name: string;
  tags: Tag[];
  ext: Ext;
  createdAt: string;
  updatedAt: string;
}

export type FailoverRole = 'master' | 'slave';

export interface OriginBinding {
  id: string;
  tenantId: string;
  listenerId: string;
  originId: string;
  port: number;
  /** 1-100 (default 1); meaningful under wrr. */
  weight: number;
  /** Set only while the listener has failover on. */
  role: FailoverRole | null;
  createdAt: string;
}

/** A TCP connection idle this long ends (nginx stream: 10 min, Envoy: 1 h). */
export const DEFAULT_TCP_IDLE_S = 900;
/** A UDP session idle this long expires (RFC 4787 asks NAT mappings for at least 2 min). */
export const DEFAULT_UDP_IDLE_S = 120;
/** The budget a proxy's sizes sell: Mbps of payload per direction, units of 10,000 connections. */
export const BYTES_PER_MBPS = 125_000;
export const CONNECTIONS_PER_UNIT = 10_000;

export function proxyByteRate(p: Pick<Proxy, 'bandwidth' | 'byteRate'>): number {
  return p.byteRate ?? p.bandwidth * BYTES_PER_MBPS;
}
export function proxyConnectionCap(p: Pick<Proxy, 'concurrent' | 'connectionCap'>): number {
  return p.connectionCap ?? p.concurrent * CONNECTIONS_PER_UNIT;
}
export function listenerIdleSeconds(l: Pick<StreamListener, 'protocol' | 'idleTimeout'>): number {
  return l.idleTimeout ?? (l.protocol === 'tcp' ? DEFAULT_TCP_IDLE_S : DEFAULT_UDP_IDLE_S);
}

/** The PROXY protocol version a listener's connections send upstream first, or null: none. */
export function listenerProxyProtocol(l: Pick<StreamListener, 'protocol' | 'clientIp' | 'proxyProtocolVersion'>): 1 | 2 | null {
  return l.protocol === 'tcp' && l.clientIp === 'proxy_protocol' ? (l.proxyProtocolVersion ?? 1) : null;
}

/** Listener ports: 1-64999, 21 excluded (GAAP keeps it). */
export const PORT_MIN = 1;
export const PORT_MAX = 64_999;
export const RESERVED_PORTS: ReadonlySet<number> = new Set([21]);

/**
 * The space a listener port lives in on its address: TCP-family listeners share one, UDP has
 * its own (HTTP/HTTPS listeners, if ever modelled, would join 'tcp').
 */
export function portKey(protocol: StreamProtocol, port: number): string {
  return `${protocol}/${port}`;
}
