import type { Spec } from '../params.js';

// Request parameters of the GAAP actions, as tencentcloud-sdk-nodejs types them
// (gaap_models.d.ts). Ranges the whole service shares are here; the sizes a region offers are
// the catalogue's, checked by the control layer.

const str = (o: Partial<Extract<Spec, { type: 'string' }>> = {}): Spec => ({ type: 'string', ...o });
const int = (o: Partial<Extract<Spec, { type: 'int' }>> = {}): Spec => ({ type: 'int', ...o });
const list = (items: Spec, maxItems: number, required = false): Spec => ({ type: 'array', items, maxItems, required });

const REGION = str({ minLength: 1, maxLength: 64 });
const PROJECT = int({ min: 0, max: 2_147_483_647 });
const TOKEN = str({ minLength: 1, maxLength: 64, pattern: /^[\x21-\x7e]+$/ });
const IP_VERSION = str({ enum: ['IPv4', 'IPv6'] });
const PACKAGE = str({ enum: ['Thunder', 'Accelerator', 'CrossBorder'] });
const NETWORK = str({ enum: ['normal', 'cn2', 'triple', 'secure_eip'] });
const SWITCH = int({ enum: [0, 1] });
const TAG: Spec = { type: 'object', fields: { TagKey: str({ required: true, maxLength: 127 }), TagValue: str({ maxLength: 255 }) } };
const TAGS: Spec = list(TAG, 50);
const FILTERS = (maxItems: number): Spec => list({ type: 'object', fields: { Name: str({ required: true }), Values: list(str({ maxLength: 128 }), 5, true) } }, maxItems);
const IDS: Spec = list(str({ maxLength: 64 }), 100);
const OFFSET = int({ min: 0 });
const LIMIT = int({ min: 1, max: 100 });

export const DESCRIBE_DEST_REGIONS: Record<string, Spec> = { QualityType: SWITCH };
export const DESCRIBE_ACCESS_REGIONS: Record<string, Spec> = {};
export const ACCESS_BY_DEST: Record<string, Spec> = { DestRegion: { ...REGION, required: true } as Spec, IPAddressVersion: IP_VERSION, PackageType: PACKAGE };

export const CHECK_PROXY_CREATE: Record<string, Spec> = {
  AccessRegion: { ...REGION, required: true } as Spec, RealServerRegion: { ...REGION, required: true } as Spec,
  Bandwidth: int({ required: true }), Concurrent: int({ required: true }), GroupId: str({ maxLength: 64 }),
  IPAddressVersion: IP_VERSION, NetworkType: NETWORK, PackageType: PACKAGE, Http3Supported: SWITCH,
};

export const CREATE_PROXY_GROUP: Record<string, Spec> = {
  ProjectId: { ...PROJECT, required: true } as Spec, GroupName: str({ required: true }), RealServerRegion: { ...REGION, required: true } as Spec,
  TagSet: TAGS, IPAddressVersion: IP_VERSION, PackageType: PACKAGE, Http3Supported: SWITCH,
  AccessRegionSet: list({
    type: 'object',
    fields: { AccessRegion: { ...REGION, required: true } as Spec, Bandwidth: int({ required: true }), Concurrent: int({ required: true }), NetworkType: NETWORK },
  }, 100),
};

export const DESCRIBE_PROXY_GROUP_LIST: Record<string, Spec> = {
  Offset: { ...OFFSET, required: true } as Spec, Limit: { ...LIMIT, required: true } as Spec, ProjectId: int({ required: true, min: -1 }),
  Filters: FILTERS(10), TagSet: list(TAG, 5),
};

export const GROUP_ID: Record<string, Spec> = { GroupId: str({ required: true, maxLength: 64 }) };
export const MODIFY_PROXY_GROUP: Record<string, Spec> = { GroupId: str({ required: true, maxLength: 64 }), GroupName: str(), ProjectId: PROJECT };
export const DELETE_PROXY_GROUP: Record<string, Spec> = { GroupId: str({ required: true, maxLength: 64 }), Force: SWITCH };

export const CREATE_PROXY: Record<string, Spec> = {
  ProjectId: { ...PROJECT, required: true } as Spec, ProxyName: str({ required: true }), AccessRegion: { ...REGION, required: true } as Spec,
  Bandwidth: int({ required: true }), Concurrent: int({ required: true }), RealServerRegion: REGION, ClientToken: TOKEN,
  GroupId: str({ maxLength: 64 }), TagSet: TAGS, ClonedProxyId: str({ maxLength: 64 }), BillingType: SWITCH,
  IPAddressVersion: IP_VERSION, NetworkType: NETWORK, PackageType: PACKAGE, Http3Supported: SWITCH,
};

export const DESCRIBE_PROXIES: Record<string, Spec> = {
  InstanceIds: IDS, ProxyIds: IDS, Offset: OFFSET, Limit: LIMIT, Filters: FILTERS(10), TagSet: list(TAG, 5),
  Independent: SWITCH, Order: str({ enum: ['asc', 'desc'] }), OrderField: str({ enum: ['create_time', 'proxy_id', 'bandwidth', 'concurrent_connections'] }),
};

export const PROXY_ID: Record<string, Spec> = { ProxyId: str({ required: true, maxLength: 64 }) };
export const PROXY_IDS: Record<string, Spec> = { InstanceIds: IDS, ProxyIds: IDS, ClientToken: TOKEN };
export const PROXIES_STATUS: Record<string, Spec> = { InstanceIds: IDS, ProxyIds: IDS };
export const MODIFY_PROXY_CONFIGURATION: Record<string, Spec> = {
  InstanceId: str({ maxLength: 64 }), ProxyId: str({ maxLength: 64 }), Bandwidth: int(), Concurrent: int(), ClientToken: TOKEN, BillingType: SWITCH,
};
export const MODIFY_PROXIES_ATTRIBUTE: Record<string, Spec> = { ...PROXY_IDS, ProxyName: str({ required: true }) };
export const DESTROY_PROXIES: Record<string, Spec> = { ...PROXY_IDS, Force: { ...SWITCH, required: true } as Spec };

// TCP/UDP listeners and real servers (cloud-apis.md C.4, C.5). Port ranges, the per-call port
// count and the origins-per-listener quota are the control layer's: it answers them with GAAP's
// own codes (InvalidListenerPort, OperateLimitNumofListener, LimitRealServerNum).
const ID = str({ maxLength: 64 });
const SCHEDULER = str({ enum: ['rr', 'wrr', 'lc'] });
const ORIGIN_TYPE = str({ enum: ['IP', 'DOMAIN'] });
const DELAY_LOOP = int({ min: 5, max: 300 });
const CONNECT_TIMEOUT = int({ min: 2, max: 60 });
const THRESHOLD = int({ min: 1, max: 10 });
const PORT_LIST = list(int(), 1000, true);
const UDP_CHECK: Record<string, Spec> = {
  CheckType: str({ enum: ['PORT', 'PING'] }), CheckPort: int({ min: 1, max: 65_535 }), ContextType: str({ enum: ['TEXT'] }),
  SendContext: str({ maxLength: 500 }), RecvContext: str({ maxLength: 500 }),
};
const HEALTH: Record<string, Spec> = {
  DelayLoop: DELAY_LOOP, ConnectTimeout: CONNECT_TIMEOUT, HealthyThreshold: THRESHOLD, UnhealthyThreshold: THRESHOLD, FailoverSwitch: SWITCH,
};

export const CREATE_TCP_LISTENERS: Record<string, Spec> = {
  ListenerName: str({ required: true }), Ports: PORT_LIST, Scheduler: { ...SCHEDULER, required: true } as Spec, HealthCheck: { ...SWITCH, required: true } as Spec,
  RealServerType: { ...ORIGIN_TYPE, required: true } as Spec, ProxyId: ID, GroupId: ID, RealServerPorts: list(int(), 1000), ClientIPMethod: SWITCH, ...HEALTH,
};
export const CREATE_UDP_LISTENERS: Record<string, Spec> = {
  ListenerName: str({ required: true }), Ports: PORT_LIST, Scheduler: { ...SCHEDULER, required: true } as Spec, RealServerType: { ...ORIGIN_TYPE, required: true } as Spec,
  ProxyId: ID, GroupId: ID, RealServerPorts: list(int(), 1000), HealthCheck: SWITCH, ...HEALTH, ...UDP_CHECK,
};
export const DESCRIBE_LISTENERS: Record<string, Spec> = {
  ProxyId: ID, GroupId: ID, ListenerId: ID, ListenerName: str({ maxLength: 30 }), Port: int({ min: 1, max: 65_535 }),
  SearchValue: str({ maxLength: 64 }), Offset: OFFSET, Limit: LIMIT,
};
export const MODIFY_TCP_LISTENER: Record<string, Spec> = {
  ListenerId: str({ required: true, maxLength: 64 }), ProxyId: ID, GroupId: ID, ListenerName: str(), Scheduler: SCHEDULER, HealthCheck: SWITCH, ...HEALTH,
};
export const MODIFY_UDP_LISTENER: Record<string, Spec> = { ...MODIFY_TCP_LISTENER, ...UDP_CHECK };
export const DELETE_LISTENERS: Record<string, Spec> = {
  ListenerIds: list(str({ maxLength: 64 }), 100, true), Force: { ...SWITCH, required: true } as Spec, ProxyId: ID, GroupId: ID,
};

export const ADD_REAL_SERVERS: Record<string, Spec> = {
  ProjectId: { ...PROJECT, required: true } as Spec, RealServerIP: list(str({ maxLength: 253 }), 100, true), RealServerName: str({ required: true }), TagSet: TAGS,
};
export const DESCRIBE_REAL_SERVERS: Record<string, Spec> = {
  ProjectId: int({ required: true, min: -1, max: 2_147_483_647 }), SearchValue: str({ maxLength: 253 }), Offset: OFFSET, Limit: int({ min: 1, max: 50 }),
  TagSet: list(TAG, 5), Filters: FILTERS(10),
};
export const MODIFY_REAL_SERVER_NAME: Record<string, Spec> = { RealServerId: str({ required: true, maxLength: 64 }), RealServerName: str({ required: true }) };
export const REAL_SERVER_IDS: Record<string, Spec> = { RealServerIds: list(str({ maxLength: 64 }), 100, true) };
export const BIND_LISTENER_REAL_SERVERS: Record<string, Spec> = {
  ListenerId: str({ required: true, maxLength: 64 }),
  RealServerBindSet: list({
    type: 'object',
    fields: {
      RealServerId: str({ required: true, maxLength: 64 }), RealServerPort: int({ required: true }), RealServerIP: str({ required: true, maxLength: 253 }),
      RealServerWeight: int(), RealServerFailoverRole: str({ enum: ['master', 'slave'] }),
    },
  }, 1000),
};
export const LISTENER_ID: Record<string, Spec> = { ListenerId: str({ required: true, maxLength: 64 }) };
