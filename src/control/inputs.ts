import type { ChannelType, Ext, HealthCheck, MemberType, Scheme, Strategy, Tag } from '../model/types.js';

// Dialect-neutral commands: what a dialect hands to control/ after parsing its wire format.
// Groups are referred to by name (every dialect does), ids are assigned here.

export interface MemberInput {
  host: string;
  port?: number;
  weight?: number | null;
  backup?: boolean;
  enabled?: boolean;
  group?: string | null;
  ecsId?: string;
  ecsName?: string;
  tags?: string[];
  ext?: Ext;
}

export interface MemberGroupInput {
  name: string;
  weight?: number | null;
  remark?: string;
  referenceUpstreamId?: string | null;
  microserviceVersion?: string;
  microservicePort?: number;
  microserviceLabels?: { name: string; value: string }[];
  ext?: Ext;
}

export interface UpstreamInput {
  name: string;
  description?: string;
  scheme?: Scheme;
  strategy?: Strategy;
  port?: number;
  retries?: number;
  upstreamHost?: string | null;
  tlsVerify?: boolean;
  failMode?: 'open' | 'closed';
  memberType?: MemberType;
  channelType?: ChannelType;
  tags?: Tag[];
  networkId?: string;
  healthCheck?: Partial<HealthCheck> | null;
  memberGroups?: MemberGroupInput[];
  members?: MemberInput[];
  ext?: Ext;
}

/** Where a new upstream goes, beyond what the caller's Scope already fixes. */
export interface Placement {
  /** The owner; the operator must name one, a tenant scope is its own. */
  tenantId?: string;
  /** Region of the tenant's project (created on first use); default: the scope's project or region. */
  region?: string;
  /** Instance id; default: the scope's instance, else the region's default instance. */
  instanceId?: string;
}

export interface RouteInput {
  upstreamId: string;
  name?: string;
  hosts?: string[];
  paths?: string[];
  methods?: string[];
  stripPrefix?: boolean;
  timeoutMs?: number;
  ext?: Ext;
}
