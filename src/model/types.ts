import type { ConnectionGroup, L4Region, Origin, OriginBinding, Proxy, StreamListener } from './gaap.js';

// The canonical, dialect-neutral model. Every dialect maps onto these types; nothing a
// dialect sends is dropped: fields with no meaning on our machines live in `ext`.

export type Scheme = 'http' | 'https' | 'grpc' | 'grpcs';
/** wrr: smooth weighted round robin; wlc: weighted least connections; the hashes are consistent hashes. */
export type Strategy = 'wrr' | 'wlc' | 'source_ip_hash' | 'uri_hash';
export type MemberType = 'ip' | 'ecs';
export type ChannelType = 'builtin' | 'microservice' | 'reference';
export type HealthProtocol = 'tcp' | 'http' | 'https';

export interface Tag { key: string; value: string }

/** Dialect-specific data stored and returned faithfully (K8s services, dict_code, microservice info...). */
export type Ext = Record<string, unknown>;

export interface HealthCheck {
  /** Active probing on/off. */
  active: boolean;
  /** Passive checks from real traffic on/off. */
  passive: boolean;
  protocol: HealthProtocol;
  path: string;
  method: 'GET' | 'HEAD';
  /** 0 = the member's own port. */
  port: number;
  /** Consecutive successful probes that make a member healthy (1-10). */
  healthyThreshold: number;
  /** Consecutive failed probes that make a member unhealthy (1-10). */
  unhealthyThreshold: number;
  /** Passive: consecutive TCP errors / HTTP errors / timeouts that mark unhealthy; 0 = off (0-254). */
  tcpFailureThreshold: number;
  httpFailureThreshold: number;
  timeoutThreshold: number;
  /** Seconds between probes (1-300); must be greater than timeout. */
  interval: number;
  /** Probe timeout in seconds (1-30). */
  timeout: number;
  /** Status sets in the `200,201,210-299` form. */
  healthyStatuses: string;
  unhealthyStatuses: string;
  requestHeaders: Record<string, string>;
  /** Seconds after which a passively-marked member is given another chance (default 30). */
  unhealthyTimeout: number;
  /** Present the gateway's client certificate on HTTPS probes. */
  clientTls: boolean;
  ext: Ext;
}

export interface MemberGroup {
  id: string;
  name: string;
  /** 0-100, or null when the group sets no weight. */
  weight: number | null;
  remark: string;
  /** For reference channels: the upstream whose members this group stands for. */
  referenceUpstreamId: string | null;
  microserviceVersion: string;
  microservicePort: number;
  microserviceLabels: { name: string; value: string }[];
  ext: Ext;
  createdAt: string;
  updatedAt: string;
}

export interface Member {
  id: string;
  host: string;
  /** 0 = the upstream's port. */
  port: number;
  /** 0-10000; null = take the group's weight, else 1. 0 = gets no traffic. */
  weight: number | null;
  backup: boolean;
  /** Huawei status 1 (true) / 2 (false). */
  enabled: boolean;
  /** Id of a MemberGroup of the same upstream, or null. */
  groupId: string | null;
  ecsId: string;
  ecsName: string;
  tags: string[];
  ext: Ext;
  createdAt: string;
}

export interface Upstream {
  /** The canonical id (32-hex): Huawei's, the operator API's, the store's key. */
  id: string;
  /** The id Tencent's face shows and accepts (`upstream-xxxxxxxx`), unique across the store. */
  tencentId: string;
  tenantId: string;
  projectId: string;
  instanceId: string;
  name: string;
  description: string;
  scheme: Scheme;
  strategy: Strategy;
  /** Default member port, 0 = by scheme (80/443). */
  port: number;
  /** Further attempts after the first, on other members (default 3). */
  retries: number;
  /** Host header sent to members; null = pass the client's. */
  upstreamHost: string | null;
  /** Verify upstream TLS certificates (https/grpcs). */
  tlsVerify: boolean;
  /** When no member is healthy: 'open' spreads over all enabled members, 'closed' answers 503. */
  failMode: 'open' | 'closed';
  memberType: MemberType;
  channelType: ChannelType;
  tags: Tag[];
  /** Tencent UniqVpcId; stored, never interpreted. */
  networkId: string;
  healthCheck: HealthCheck | null;
  memberGroups: MemberGroup[];
  members: Member[];
  ext: Ext;
  createdAt: string;
  updatedAt: string;
}

export interface Route {
  id: string;
  tenantId: string;
  upstreamId: string;
  name: string;
  /** Exact hosts and `*.suffix` wildcards; empty = any host. */
  hosts: string[];
  /** Path prefixes; empty = `/`. */
  paths: string[];
  /** Empty = any method. */
  methods: string[];
  stripPrefix: boolean;
  /** Upstream response timeout in milliseconds. */
  timeoutMs: number;
  ext: Ext;
  createdAt: string;
  updatedAt: string;
}

export interface Tenant { id: string; name: string; createdAt: string }

export interface Project { id: string; tenantId: string; region: string; createdAt: string }

export interface Instance { id: string; name: string; region: string; isDefault: boolean; createdAt: string }

/** Secret key kept in clear: HMAC verification needs it. Never logged, shown once. */
export interface KeyPair { id: string; tenantId: string; secretId: string; secretKey: string; createdAt: string }

/** tenantId null = an operator token. Only the SHA-256 of the token is stored. */
export interface Token { id: string; tenantId: string | null; name: string; hash: string; createdAt: string; expiresAt: string | null }

export interface ObjectKinds {
  tenant: Tenant;
  project: Project;
  instance: Instance;
  keypair: KeyPair;
  token: Token;
  upstream: Upstream;
  route: Route;
  l4Region: L4Region;
  connectionGroup: ConnectionGroup;
  proxy: Proxy;
  streamListener: StreamListener;
  origin: Origin;
  originBinding: OriginBinding;
}
export type Kind = keyof ObjectKinds;
export const KINDS: readonly Kind[] = ['tenant', 'project', 'instance', 'keypair', 'token', 'upstream', 'route',
  'l4Region', 'connectionGroup', 'proxy', 'streamListener', 'origin', 'originBinding'];
