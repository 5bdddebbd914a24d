import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import gaapModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/gaap/v20180529/gaap_client.js';
import { markApplied, putRegion } from '../../src/control/gaap.js';
import { OPERATOR } from '../../src/control/scope.js';
import type { ProxyStatus } from '../../src/model/gaap.js';
import { standInNodes, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PG_URL, pgAvailable, pgTestSchema } from '../helpers/pg.js';

// TCP/UDP listeners, real servers and bindings through the official SDK client, unmodified.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

type Call = (req: Record<string, unknown>) => Promise<Record<string, any>>;
interface Gaap { request(action: string, req: Record<string, unknown>): Promise<Record<string, any>>; [action: string]: Call | Gaap['request'] }
const { Client } = gaapModule as unknown as { Client: new (cfg: unknown) => Gaap };

const call = (c: Gaap, action: string, req: Record<string, unknown> = {}) => (c[action] as Call).call(c, req);

/** Where the gateway keeps its objects: its own SQLite file, or a private PostgreSQL schema. */
const STORES: [string, (() => Promise<{ storeUrl: string; drop: () => Promise<void> }>) | null][] = [
  ['SQLite', null],
  ['PostgreSQL', async () => {
    const { schema, drop } = await pgTestSchema();
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return { storeUrl: url.toString(), drop };
  }],
];
const PG = await pgAvailable();

for (const [storeName, pgStore] of STORES) describe(`GAAP TCP/UDP listeners and real servers on ${storeName}, driven by tencentcloud-sdk-nodejs gaap.v20180529`, { skip: pgStore !== null && !PG && 'PostgreSQL not reachable' }, () => {
  let gw: TestGateway;
  let drop = async () => {};
  const clients: Record<string, Gaap> = {};
  // The default region has one address (every proxy there shares it); "wide" gives each its own.
  const REGION = 'sz-test';
  const WIDE = 'wide';

  async function fails(p: Promise<unknown>, code: string, names?: string) {
    await assert.rejects(p, (err: { code?: string; message: string }) => {
      assert.equal(err.code, code, err.message);
      if (names) assert.ok(err.message.includes(`\`${names}\``), `message names ${names}: ${err.message}`);
      return true;
    });
  }
  /** Refused with `code` naming `names`, and nothing written. */
  async function refused(p: () => Promise<unknown>, code: string, names: string) {
    const before = await gw.sluice.store.revision();
    await fails(p(), code, names);
    assert.equal(await gw.sluice.store.revision(), before, `${code} ${names} wrote nothing`);
  }

  /** What the L4 data plane will do once it exists: report the proxy applied in `seen`. */
  const applied = (id: string, seen: ProxyStatus) => markApplied(gw.sluice.store, OPERATOR, id, seen);

  async function running(c: Gaap, region = WIDE): Promise<string> {
    const { InstanceId } = await call(c, 'CreateProxy', { ProjectId: 0, ProxyName: 'p', AccessRegion: region, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 });
    assert.equal(await applied(InstanceId, 'CREATING'), 'RUNNING');
    return InstanceId as string;
  }
  const tcp = (c: Gaap, extra: Record<string, unknown>) => call(c, 'CreateTCPListeners', { ListenerName: 'tcp', Scheduler: 'rr', HealthCheck: 1, RealServerType: 'IP', ...extra });
  const udp = (c: Gaap, extra: Record<string, unknown>) => call(c, 'CreateUDPListeners', { ListenerName: 'udp', Scheduler: 'rr', RealServerType: 'IP', ...extra });
  const bound = async (c: Gaap, ListenerId: string) => (await call(c, 'DescribeListenerRealServers', { ListenerId })).BindRealServerSet
    .map((b: any) => [b.RealServerId, b.RealServerPort, b.RealServerWeight, b.RealServerFailoverRole]).sort();

  let standIns: () => Promise<void> = async () => undefined;
  before(async () => {
    const pg = pgStore ? await pgStore() : null;
    if (pg) drop = pg.drop;
    // No node of this gateway serves REGION's proxies: the test reports them applied as that
    // node would (markApplied), so every transitional state can be seen.
    gw = await startTestGateway({ defaultRegion: REGION, nodeRegion: null, tencentRatePerSecond: 10_000, ...(pg ? { storeUrl: pg.storeUrl } : {}) });
    // ... and stands in for their registry rows: RUNNING reads as such only while a node serves the region.
    standIns = await standInNodes(gw.sluice.store, [REGION, WIDE]);
    await putRegion(gw.sluice.store, OPERATOR, gw.sluice.gaap, { id: WIDE, name: 'Wide', access: true, origin: false, bandwidths: [10], concurrencies: [2], pool: ['127.0.2.0/26'] });
    for (const who of ['alice', 'mallory']) {
      const t = await gw.api('POST', '/v1/tenants', { name: who });
      const k = await gw.api('POST', `/v1/tenants/${t.body.id}/keys`);
      clients[who] = new Client({
        credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
        profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqTimeout: 10 } },
      });
    }
  });
  after(async () => { await standIns(); await gw.close(); await drop(); });

  test('a proxy\'s TCP and UDP listeners: every field, origins bound and replaced, modified, deleted', async () => {
    const c = clients.alice!;
    const ProxyId = await running(c);
    const { ListenerIds } = await tcp(c, {
      ProxyId, ListenerName: 'game', Ports: [8080, 8081], Scheduler: 'wrr', DelayLoop: 10, ConnectTimeout: 3, ClientIPMethod: 1, HealthyThreshold: 2, UnhealthyThreshold: 3,
    });
    assert.equal(ListenerIds.length, 2);
    for (const id of ListenerIds) assert.match(id, /^listener-[a-z0-9]{8}$/);
    const [t1, t2] = ListenerIds as [string, string];
    // UDP ports are a space of their own: 8080 again is fine.
    const u1 = (await udp(c, { ProxyId, Ports: [8080], HealthCheck: 1, CheckType: 'PORT', CheckPort: 53, ContextType: 'TEXT', SendContext: 'ping', RecvContext: 'pong' })).ListenerIds[0] as string;

    const tl = await call(c, 'DescribeTCPListeners', { ProxyId });
    assert.equal(tl.TotalCount, 2);
    const l = tl.ListenerSet.find((x: any) => x.ListenerId === t1);
    assert.deepEqual(
      [l.ListenerName, l.Port, l.Protocol, l.ListenerStatus, l.BindStatus, l.Scheduler, l.DelayLoop, l.ConnectTimeout, l.HealthCheck, l.ClientIPMethod,
        l.HealthyThreshold, l.UnhealthyThreshold, l.FailoverSwitch, l.SessionPersist, l.RealServerType, l.ProxyId, l.GroupId, l.RealServerSet],
      ['game', 8080, 'TCP', 0, 1, 'wrr', 10, 3, 1, 1, 2, 3, 0, 0, 'IP', ProxyId, null, []],
    );
    assert.equal(typeof l.CreateTime, 'number');
    const ul = (await call(c, 'DescribeUDPListeners', { ProxyId })).ListenerSet;
    assert.deepEqual(ul.map((x: any) => [x.ListenerId, x.Protocol, x.BindStatus, x.HealthCheck, x.CheckType, x.CheckPort, x.ContextType, x.SendContext, x.RecvContext, x.ClientIPMethod]),
      [[u1, 'UDP', 0, 1, 'PORT', 53, 'TEXT', 'ping', 'pong', undefined]]);
    assert.deepEqual((await call(c, 'DescribeTCPListeners', { ProxyId, Port: 8081 })).ListenerSet.map((x: any) => x.ListenerId), [t2]);
    assert.equal((await call(c, 'DescribeTCPListeners', { ProxyId, SearchValue: '808' })).TotalCount, 2);
    assert.equal((await call(c, 'DescribeTCPListeners', { ProxyId, ListenerName: 'nope' })).TotalCount, 0);
    const paged = await call(c, 'DescribeTCPListeners', { ProxyId, Offset: 1, Limit: 1 });
    assert.deepEqual([paged.TotalCount, paged.ListenerSet.map((x: any) => x.Port)], [2, [8081]]);
    assert.deepEqual((await call(c, 'DescribeTCPListeners', { ListenerId: t1 })).ListenerSet.map((x: any) => x.ListenerId), [t1]);
    // A UDP listener is no TCP listener.
    assert.equal((await call(c, 'DescribeTCPListeners', { ListenerId: u1 })).TotalCount, 0);

    const rs = (await call(c, 'AddRealServers', { ProjectId: 0, RealServerIP: ['10.0.0.1', '10.0.0.2'], RealServerName: 'web', TagSet: [{ TagKey: 'k', TagValue: 'v' }] })).RealServerSet;
    assert.deepEqual(rs.map((r: any) => r.RealServerIP), ['10.0.0.1', '10.0.0.2']);
    for (const r of rs) assert.match(r.RealServerId, /^rs-[a-z0-9]{8}$/);
    const [a, b] = rs.map((r: any) => r.RealServerId) as [string, string];
    const dom = (await call(c, 'AddRealServers', { ProjectId: 0, RealServerIP: ['origin.example.com'], RealServerName: 'dns' })).RealServerSet[0].RealServerId as string;
    await refused(() => call(c, 'AddRealServers', { ProjectId: 0, RealServerIP: ['10.0.0.1'], RealServerName: 'again' }), 'InvalidParameterValue.DuplicateRS', 'RealServerIP.0');
    const listed = await call(c, 'DescribeRealServers', { ProjectId: -1, Filters: [{ Name: 'RealServerName', Values: ['web'] }] });
    assert.deepEqual(listed.RealServerSet.map((r: any) => [r.RealServerIP, r.RealServerName, r.ProjectId, r.TagSet]).sort(),
      [['10.0.0.1', 'web', 0, [{ TagKey: 'k', TagValue: 'v' }]], ['10.0.0.2', 'web', 0, [{ TagKey: 'k', TagValue: 'v' }]]]);
    assert.equal((await call(c, 'DescribeRealServers', { ProjectId: 0, SearchValue: 'example' })).TotalCount, 1);
    assert.equal((await call(c, 'DescribeRealServers', { ProjectId: 7 })).TotalCount, 0);

    await call(c, 'BindListenerRealServers', { ListenerId: t1, RealServerBindSet: [{ RealServerId: a, RealServerIP: '10.0.0.1', RealServerPort: 80, RealServerWeight: 5 }, { RealServerId: b, RealServerIP: '10.0.0.2', RealServerPort: 80 }] });
    const lr = await call(c, 'DescribeListenerRealServers', { ListenerId: t1 });
    // Candidates are the IP real servers (the listener takes IPs); no health data yet reads normal.
    assert.deepEqual([lr.TotalCount, lr.RealServerSet.map((r: any) => r.RealServerId).sort()], [2, [a, b].sort()]);
    assert.equal(lr.BindRealServerTotalCount, 2);
    for (const x of lr.BindRealServerSet) assert.deepEqual([x.RealServerStatus, x.DownIPList], [0, []]);
    assert.deepEqual(await bound(c, t1), [[a, 80, 5, null], [b, 80, 1, null]].sort());
    assert.equal((await call(c, 'DescribeTCPListeners', { ListenerId: t1, ProxyId })).ListenerSet[0].RealServerSet.length, 2);
    const st = (await call(c, 'DescribeRealServersStatus', { RealServerIds: [a, dom] })).RealServerStatusSet;
    assert.deepEqual(st.map((x: any) => [x.RealServerId, x.BindStatus, x.ProxyId, x.GroupId]), [[a, 1, ProxyId, null], [dom, 0, null, null]]);

    await refused(() => call(c, 'RemoveRealServers', { RealServerIds: [dom, a] }), 'FailedOperation.RealServerAlreadyBound', 'RealServerIds.1');
    await refused(() => call(c, 'BindListenerRealServers', { ListenerId: t1, RealServerBindSet: [{ RealServerId: a, RealServerIP: '10.0.0.1', RealServerPort: 80, RealServerFailoverRole: 'slave' }] }),
      'InvalidParameterValue', 'RealServerBindSet.0.RealServerFailoverRole');
    await refused(() => call(c, 'BindListenerRealServers', { ListenerId: t1, RealServerBindSet: [{ RealServerId: dom, RealServerIP: 'origin.example.com', RealServerPort: 80 }] }),
      'InvalidParameterValue', 'RealServerBindSet.0.RealServerId');

    // The set given is the whole set.
    await call(c, 'BindListenerRealServers', { ListenerId: t1, RealServerBindSet: [{ RealServerId: b, RealServerIP: '10.0.0.2', RealServerPort: 81 }] });
    assert.deepEqual(await bound(c, t1), [[b, 81, 1, null]]);

    await call(c, 'ModifyTCPListenerAttribute', { ListenerId: t1, ProxyId, ListenerName: 'game-2', Scheduler: 'lc', DelayLoop: 20, ConnectTimeout: 10, FailoverSwitch: 1, HealthCheck: 0 });
    const m = (await call(c, 'DescribeTCPListeners', { ListenerId: t1 })).ListenerSet[0];
    assert.deepEqual([m.ListenerName, m.Scheduler, m.DelayLoop, m.ConnectTimeout, m.FailoverSwitch, m.HealthCheck, m.ClientIPMethod, m.Port],
      ['game-2', 'lc', 20, 10, 1, 0, 1, 8080]);
    await refused(() => call(c, 'ModifyTCPListenerAttribute', { ListenerId: t1, ConnectTimeout: 30 }), 'InvalidParameterValue.RangeExceeded', 'ConnectTimeout');
    await refused(() => call(c, 'ModifyTCPListenerAttribute', { ListenerId: u1, ListenerName: 'x' }), 'ResourceNotFound', 'ListenerId');
    // Failover on: roles are taken (master by default).
    await call(c, 'BindListenerRealServers', { ListenerId: t1, RealServerBindSet: [{ RealServerId: a, RealServerIP: '10.0.0.1', RealServerPort: 80 }, { RealServerId: b, RealServerIP: '10.0.0.2', RealServerPort: 80, RealServerFailoverRole: 'slave' }] });
    assert.deepEqual(await bound(c, t1), [[a, 80, 1, 'master'], [b, 80, 1, 'slave']].sort());

    await call(c, 'ModifyUDPListenerAttribute', { ListenerId: u1, CheckType: 'PING', SendContext: '', RecvContext: '', DelayLoop: 30 });
    const mu = (await call(c, 'DescribeUDPListeners', { ListenerId: u1 })).ListenerSet[0];
    assert.deepEqual([mu.CheckType, mu.SendContext, mu.DelayLoop, mu.CheckPort], ['PING', '', 30, 53]);

    await refused(() => call(c, 'DeleteListeners', { ListenerIds: [t1], ProxyId, Force: 0 }), 'FailedOperation.RealServerAlreadyBound', 'ListenerIds');
    const del = await call(c, 'DeleteListeners', { ListenerIds: [t1, 'listener-zzzzzzzz'], ProxyId, Force: 1 });
    assert.deepEqual([del.OperationSucceedListenerSet, del.InvalidStatusListenerSet, del.OperationFailedListenerSet], [[t1], ['listener-zzzzzzzz'], []]);
    assert.deepEqual((await call(c, 'DescribeTCPListeners', { ProxyId })).ListenerSet.map((x: any) => x.ListenerId), [t2]);
    assert.equal((await call(c, 'DescribeRealServersStatus', { RealServerIds: [a] })).RealServerStatusSet[0].BindStatus, 0);

    await call(c, 'ModifyRealServerName', { RealServerId: a, RealServerName: 'renamed' });
    assert.equal((await call(c, 'DescribeRealServers', { ProjectId: 0, Filters: [{ Name: 'RealServerIP', Values: ['10.0.0.1'] }] })).RealServerSet[0].RealServerName, 'renamed');
    await call(c, 'RemoveRealServers', { RealServerIds: [a, b, dom] });
    assert.equal((await call(c, 'DescribeRealServers', { ProjectId: -1 })).TotalCount, 0);
    await call(c, 'DeleteListeners', { ListenerIds: [t2, u1], ProxyId, Force: 0 });
    assert.equal((await call(c, 'DescribeUDPListeners', { ProxyId })).TotalCount, 0);
  });

  test('ClonedProxyId: the clone is CLONING until applied and carries a copy of the source\'s listeners and bindings', async () => {
    const c = clients.alice!;
    const source = await running(c);
    const [lid] = (await tcp(c, { ProxyId: source, ListenerName: 'copied', Ports: [9100], Scheduler: 'wrr' })).ListenerIds as [string];
    const rid = (await call(c, 'AddRealServers', { ProjectId: 0, RealServerIP: ['10.7.7.7'], RealServerName: 'clone-origin' })).RealServerSet[0].RealServerId as string;
    await call(c, 'BindListenerRealServers', { ListenerId: lid, RealServerBindSet: [{ RealServerId: rid, RealServerIP: '10.7.7.7', RealServerPort: 9000, RealServerWeight: 7 }] });
    const { InstanceId: clone } = await call(c, 'CreateProxy', { ProjectId: 0, ProxyName: 'clone', AccessRegion: WIDE, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2, ClonedProxyId: source });
    assert.equal((await call(c, 'DescribeProxyDetail', { ProxyId: clone })).ProxyDetail.Status, 'CLONING');
    assert.equal(await applied(clone, 'CLONING'), 'RUNNING');
    const copied = (await call(c, 'DescribeTCPListeners', { ProxyId: clone })).ListenerSet;
    assert.deepEqual(copied.map((x: any) => [x.ListenerName, x.Port, x.Scheduler, x.ProxyId]), [['copied', 9100, 'wrr', clone]]);
    assert.notEqual(copied[0].ListenerId, lid, 'a listener of its own');
    const sourceBindings = await bound(c, lid);
    assert.deepEqual(sourceBindings.map((b: unknown[]) => b.slice(0, 3)), [[rid, 9000, 7]]);
    assert.deepEqual(await bound(c, copied[0].ListenerId), sourceBindings, 'the bindings are copied');
    // The source is untouched; a proxy still being created cannot be cloned (its task is under way).
    assert.equal((await call(c, 'DescribeTCPListeners', { ProxyId: source })).TotalCount, 1);
    const { InstanceId: fresh } = await call(c, 'CreateProxy', { ProjectId: 0, ProxyName: 'fresh', AccessRegion: WIDE, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 });
    await fails(call(c, 'CreateProxy', { ProjectId: 0, ProxyName: 'x', AccessRegion: WIDE, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2, ClonedProxyId: fresh }), 'FailedOperation.ActionIsDoing');
  });

  test('group listeners: made while the proxies are CREATING, carried by every proxy of the group, a later one included', async () => {
    const c = clients.alice!;
    const { GroupId } = await call(c, 'CreateProxyGroup', { ProjectId: 0, GroupName: 'g', RealServerRegion: REGION, AccessRegionSet: [{ AccessRegion: WIDE, Bandwidth: 10, Concurrent: 2 }] });
    const first = (await call(c, 'DescribeProxies', { Filters: [{ Name: 'GroupId', Values: [GroupId] }] })).ProxySet[0];
    assert.equal(first.Status, 'CREATING');
    const tg = (await tcp(c, { GroupId, Ports: [9000] })).ListenerIds[0] as string;
    const ug = (await udp(c, { GroupId, Ports: [9000] })).ListenerIds[0] as string;
    const rs = (await call(c, 'AddRealServers', { ProjectId: 0, RealServerIP: ['10.1.0.1'], RealServerName: 'g' })).RealServerSet[0].RealServerId as string;
    await call(c, 'BindListenerRealServers', { ListenerId: tg, RealServerBindSet: [{ RealServerId: rs, RealServerIP: '10.1.0.1', RealServerPort: 9000 }] });
    assert.deepEqual((await call(c, 'DescribeRealServersStatus', { RealServerIds: [rs] })).RealServerStatusSet[0].GroupId, GroupId);

    // A standalone proxy takes listeners once it runs, not while it is being created.
    const { InstanceId: lone } = await call(c, 'CreateProxy', { ProjectId: 0, ProxyName: 'lone', AccessRegion: WIDE, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 });
    await refused(() => tcp(c, { ProxyId: lone, Ports: [9100] }), 'FailedOperation.InstanceStatusNotInRuning', 'ProxyId');

    const { InstanceId: later } = await call(c, 'CreateProxy', { ProjectId: 0, ProxyName: 'later', AccessRegion: WIDE, GroupId, Bandwidth: 10, Concurrent: 2 });
    for (const ProxyId of [first.ProxyId, later]) {
      const carried = (await call(c, 'DescribeTCPListeners', { ProxyId })).ListenerSet;
      assert.deepEqual(carried.map((x: any) => [x.ListenerId, x.Port, x.GroupId, x.ProxyId, x.RealServerSet.length]), [[tg, 9000, GroupId, null, 1]]);
      assert.deepEqual((await call(c, 'DescribeUDPListeners', { ProxyId })).ListenerSet.map((x: any) => x.ListenerId), [ug]);
    }
    assert.deepEqual((await call(c, 'DescribeTCPListeners', { GroupId })).ListenerSet.map((x: any) => x.ListenerId), [tg]);
    // The group's listener is the group's to change and delete, not a proxy's.
    await refused(() => call(c, 'ModifyTCPListenerAttribute', { ListenerId: tg, ProxyId: later, ListenerName: 'x' }), 'ResourceNotFound', 'ListenerId');
    await call(c, 'ModifyTCPListenerAttribute', { ListenerId: tg, GroupId, ListenerName: 'g-2' });
    assert.equal((await call(c, 'DescribeTCPListeners', { ProxyId: later })).ListenerSet[0].ListenerName, 'g-2');
    await refused(() => call(c, 'DeleteListeners', { ListenerIds: [tg], GroupId, Force: 0 }), 'FailedOperation.RealServerAlreadyBound', 'ListenerIds');
    const del = await call(c, 'DeleteListeners', { ListenerIds: [tg, ug], GroupId, Force: 1 });
    assert.deepEqual(del.OperationSucceedListenerSet.sort(), [tg, ug].sort());
    assert.equal((await call(c, 'DescribeTCPListeners', { ProxyId: later })).TotalCount, 0);
  });

  test('ports: unique per proxy and protocol space, and across proxies that share an address', async () => {
    const c = clients.alice!;
    const p = await running(c);
    await tcp(c, { ProxyId: p, Ports: [7000] });
    await refused(() => tcp(c, { ProxyId: p, Ports: [7001, 7000] }), 'InvalidParameterValue.DuplicatedListenerPort', 'Ports.1');
    await refused(() => tcp(c, { ProxyId: p, Ports: [7002, 7002] }), 'InvalidParameterValue.DuplicatedListenerPort', 'Ports.1');
    await udp(c, { ProxyId: p, Ports: [7000] });
    await refused(() => udp(c, { ProxyId: p, Ports: [7000] }), 'InvalidParameterValue.DuplicatedListenerPort', 'Ports.0');

    // The default region has a single address: both proxies (of two tenants) bind on it.
    const x = await running(c, REGION);
    const y = await running(clients.mallory!, REGION);
    const ip = async (cl: Gaap, id: string) => (await call(cl, 'DescribeProxyDetail', { ProxyId: id })).ProxyDetail.IP;
    assert.equal(await ip(c, x), await ip(clients.mallory!, y));
    await tcp(c, { ProxyId: x, Ports: [7100] });
    await refused(() => tcp(clients.mallory!, { ProxyId: y, Ports: [7100] }), 'InvalidParameterValue.DuplicatedListenerPort', 'Ports.0');
    await udp(clients.mallory!, { ProxyId: y, Ports: [7100] });
    await tcp(clients.mallory!, { ProxyId: y, Ports: [7101] });
  });

  test('a proxy carries at most 50 listeners (GAAP\'s quota), TCP and UDP together', async () => {
    const c = clients.alice!;
    const p = await running(c);
    const ports = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    await tcp(c, { ProxyId: p, Ports: ports(1000, 20) });
    await udp(c, { ProxyId: p, Ports: ports(1000, 20) });
    await refused(() => tcp(c, { ProxyId: p, Ports: ports(1020, 11) }), 'FailedOperation.LimitNumofListener', 'Ports');
    await tcp(c, { ProxyId: p, Ports: ports(1020, 10) });
    await refused(() => udp(c, { ProxyId: p, Ports: [2000] }), 'FailedOperation.LimitNumofListener', 'Ports');
    assert.equal((await call(c, 'DescribeTCPListeners', { ProxyId: p, Limit: 100 })).TotalCount, 30);
  });

  test('another tenant\'s listeners and real servers are not found', async () => {
    const c = clients.alice!;
    const m = clients.mallory!;
    const p = await running(c);
    const l = (await tcp(c, { ProxyId: p, Ports: [6000] })).ListenerIds[0] as string;
    const rs = (await call(c, 'AddRealServers', { ProjectId: 0, RealServerIP: ['10.2.0.1'], RealServerName: 'mine' })).RealServerSet[0].RealServerId as string;
    const mp = await running(m);
    const ml = (await tcp(m, { ProxyId: mp, Ports: [6000] })).ListenerIds[0] as string;
    const rows: [string, Record<string, unknown>, string, string][] = [
      ['DescribeTCPListeners', { ListenerId: l }, 'ResourceNotFound', 'ListenerId'],
      ['DescribeTCPListeners', { ProxyId: p }, 'ResourceNotFound', 'ProxyId'],
      ['CreateTCPListeners', { ListenerName: 'x', Scheduler: 'rr', HealthCheck: 0, RealServerType: 'IP', ProxyId: p, Ports: [6001] }, 'ResourceNotFound', 'ProxyId'],
      ['ModifyTCPListenerAttribute', { ListenerId: l, ListenerName: 'x' }, 'ResourceNotFound', 'ListenerId'],
      ['DeleteListeners', { ListenerIds: [l], ProxyId: p, Force: 1 }, 'ResourceNotFound', 'ProxyId'],
      ['BindListenerRealServers', { ListenerId: l }, 'ResourceNotFound', 'ListenerId'],
      ['BindListenerRealServers', { ListenerId: ml, RealServerBindSet: [{ RealServerId: rs, RealServerIP: '10.2.0.1', RealServerPort: 80 }] }, 'InvalidParameterValue.RealServerNotBelong', 'RealServerBindSet.0.RealServerId'],
      ['DescribeListenerRealServers', { ListenerId: l }, 'ResourceNotFound', 'ListenerId'],
      ['ModifyRealServerName', { RealServerId: rs, RealServerName: 'x' }, 'ResourceNotFound', 'RealServerId'],
      ['RemoveRealServers', { RealServerIds: [rs] }, 'ResourceNotFound', 'RealServerIds.0'],
      ['DescribeRealServersStatus', { RealServerIds: [rs] }, 'InvalidParameterValue.RealServerNotBelong', 'RealServerIds.0'],
    ];
    for (const [action, req, code, names] of rows) await refused(() => m.request(action, req), code, names);
    assert.equal((await call(m, 'DescribeRealServers', { ProjectId: -1 })).RealServerSet.some((r: any) => r.RealServerId === rs), false);
    // Another tenant's real server is no candidate either.
    assert.equal((await call(m, 'DescribeListenerRealServers', { ListenerId: ml })).RealServerSet.some((r: any) => r.RealServerId === rs), false);
    assert.equal((await call(c, 'DescribeTCPListeners', { ListenerId: l })).TotalCount, 1);
  });

  test('bad input for every action: the documented code, the parameter named, nothing written', async () => {
    const c = clients.alice!;
    const ProxyId = await running(c);
    const L = (await tcp(c, { ProxyId, Ports: [5000] })).ListenerIds[0] as string;
    const U = (await udp(c, { ProxyId, Ports: [5000] })).ListenerIds[0] as string;
    const RS = (await call(c, 'AddRealServers', { ProjectId: 0, RealServerIP: ['10.3.0.1'], RealServerName: 'r' })).RealServerSet[0].RealServerId as string;
    const t = { ListenerName: 'bad', Scheduler: 'rr', HealthCheck: 1, RealServerType: 'IP', ProxyId, Ports: [5100] };
    const u = { ListenerName: 'bad', Scheduler: 'rr', RealServerType: 'IP', ProxyId, Ports: [5100] };
    const one = (o: Record<string, unknown> = {}) => ({ RealServerId: RS, RealServerIP: '10.3.0.1', RealServerPort: 80, ...o });
    const rows: [string, Record<string, unknown>, string, string][] = [
      ['CreateTCPListeners', { ...t, Ports: ['x'] }, 'InvalidParameter.FormatError', 'Ports.0'],
      ['CreateTCPListeners', { ...t, Ports: [0] }, 'InvalidParameterValue.InvalidListenerPort', 'Ports.0'],
      ['CreateTCPListeners', { ...t, Ports: [5101, 65000] }, 'InvalidParameterValue.InvalidListenerPort', 'Ports.1'],
      ['CreateTCPListeners', { ...t, Ports: [21] }, 'InvalidParameterValue.InvalidListenerPort', 'Ports.0'],
      ['CreateTCPListeners', { ...t, Ports: Array.from({ length: 21 }, (_, i) => 5200 + i) }, 'FailedOperation.OperateLimitNumofListener', 'Ports'],
      ['CreateTCPListeners', { ...t, Ports: [] }, 'MissingParameter', 'Ports'],
      ['CreateTCPListeners', { ...t, Ports: [5000] }, 'InvalidParameterValue.DuplicatedListenerPort', 'Ports.0'],
      ['CreateTCPListeners', { ...t, Scheduler: 'lrtt' }, 'InvalidParameterValue.NotInOptions', 'Scheduler'],
      ['CreateTCPListeners', { ...t, DelayLoop: 4 }, 'InvalidParameterValue.RangeExceeded', 'DelayLoop'],
      ['CreateTCPListeners', { ...t, ConnectTimeout: 61 }, 'InvalidParameterValue.RangeExceeded', 'ConnectTimeout'],
      ['CreateTCPListeners', { ...t, DelayLoop: 5, ConnectTimeout: 5 }, 'InvalidParameterValue.RangeExceeded', 'ConnectTimeout'],
      ['CreateTCPListeners', { ...t, HealthyThreshold: 11 }, 'InvalidParameterValue.RangeExceeded', 'HealthyThreshold'],
      ['CreateTCPListeners', { ...t, UnhealthyThreshold: 0 }, 'InvalidParameterValue.RangeExceeded', 'UnhealthyThreshold'],
      ['CreateTCPListeners', { ...t, ClientIPMethod: 2 }, 'InvalidParameterValue.NotInOptions', 'ClientIPMethod'],
      ['CreateTCPListeners', { ...t, RealServerType: 'HOST' }, 'InvalidParameterValue.NotInOptions', 'RealServerType'],
      ['CreateTCPListeners', { ...t, RealServerType: 'DOMAIN', Scheduler: 'wrr' }, 'InvalidParameterValue', 'Scheduler'],
      ['CreateTCPListeners', { ...t, RealServerType: 'DOMAIN', FailoverSwitch: 1 }, 'InvalidParameterValue', 'FailoverSwitch'],
      ['CreateTCPListeners', { ...t, GroupId: 'lg-zzzzzzzz' }, 'InvalidParameter', 'ProxyId'],
      ['CreateTCPListeners', { ...t, ProxyId: undefined }, 'MissingParameter', 'ProxyId'],
      ['CreateTCPListeners', { ...t, ProxyId: 'link-zzzzzzzz' }, 'ResourceNotFound', 'ProxyId'],
      ['CreateTCPListeners', { ...t, ProxyId: undefined, GroupId: 'lg-zzzzzzzz' }, 'ResourceNotFound', 'GroupId'],
      ['CreateTCPListeners', { ...t, ListenerName: 'n'.repeat(31) }, 'InvalidParameterValue.RangeExceeded', 'ListenerName'],
      ['CreateTCPListeners', { ...t, HealthCheck: undefined }, 'MissingParameter', 'HealthCheck'],
      ['CreateTCPListeners', { ...t, HealthCheck: 'yes' }, 'InvalidParameter.FormatError', 'HealthCheck'],
      ['CreateTCPListeners', { ...t, Bogus: 1 }, 'UnknownParameter', 'Bogus'],
      ['CreateTCPListeners', { ...t, RealServerPorts: [80] }, 'InvalidParameterValue', 'RealServerPorts'],
      ['CreateUDPListeners', { ...u, ClientIPMethod: 0 }, 'UnknownParameter', 'ClientIPMethod'],
      ['CreateUDPListeners', { ...u, CheckType: 'HTTP' }, 'InvalidParameterValue.NotInOptions', 'CheckType'],
      ['CreateUDPListeners', { ...u, CheckType: 'PING', SendContext: 'x' }, 'InvalidParameterValue', 'SendContext'],
      ['CreateUDPListeners', { ...u, ContextType: 'HEX' }, 'InvalidParameterValue.NotInOptions', 'ContextType'],
      ['CreateUDPListeners', { ...u, CheckPort: 70000 }, 'InvalidParameterValue.RangeExceeded', 'CheckPort'],
      ['CreateUDPListeners', { ...u, SendContext: 's'.repeat(501) }, 'InvalidParameterValue.RangeExceeded', 'SendContext'],
      ['CreateUDPListeners', { ...u, Ports: [5000] }, 'InvalidParameterValue.DuplicatedListenerPort', 'Ports.0'],
      ['CreateUDPListeners', { ...u, Scheduler: undefined }, 'MissingParameter', 'Scheduler'],
      ['DescribeTCPListeners', {}, 'MissingParameter', 'ProxyId'],
      ['DescribeTCPListeners', { ProxyId, GroupId: 'lg-zzzzzzzz' }, 'InvalidParameter', 'ProxyId'],
      ['DescribeTCPListeners', { ProxyId, SearchValue: 'x', Port: 80 }, 'InvalidParameter', 'SearchValue'],
      ['DescribeTCPListeners', { ProxyId, Limit: 101 }, 'InvalidParameterValue.RangeExceeded', 'Limit'],
      ['DescribeTCPListeners', { ProxyId, Port: 'x' }, 'InvalidParameter.FormatError', 'Port'],
      ['DescribeTCPListeners', { ListenerId: 'listener-zzzzzzzz' }, 'ResourceNotFound', 'ListenerId'],
      ['DescribeUDPListeners', { ProxyId, ListenerId: 'listener-zzzzzzzz' }, 'ResourceNotFound', 'ListenerId'],
      ['DescribeUDPListeners', { GroupId: 'lg-zzzzzzzz' }, 'ResourceNotFound', 'GroupId'],
      ['ModifyTCPListenerAttribute', {}, 'MissingParameter', 'ListenerId'],
      ['ModifyTCPListenerAttribute', { ListenerId: 'listener-zzzzzzzz' }, 'ResourceNotFound', 'ListenerId'],
      ['ModifyTCPListenerAttribute', { ListenerId: L, ClientIPMethod: 0 }, 'UnknownParameter', 'ClientIPMethod'],
      ['ModifyTCPListenerAttribute', { ListenerId: L, DelayLoop: 301 }, 'InvalidParameterValue.RangeExceeded', 'DelayLoop'],
      ['ModifyTCPListenerAttribute', { ListenerId: L, Scheduler: 'fast' }, 'InvalidParameterValue.NotInOptions', 'Scheduler'],
      ['ModifyTCPListenerAttribute', { ListenerId: L, ListenerName: 'n'.repeat(31) }, 'InvalidParameterValue.RangeExceeded', 'ListenerName'],
      ['ModifyTCPListenerAttribute', { ListenerId: L, GroupId: 'lg-zzzzzzzz' }, 'ResourceNotFound', 'ListenerId'],
      ['ModifyTCPListenerAttribute', { ListenerId: L, CheckType: 'PING' }, 'UnknownParameter', 'CheckType'],
      ['ModifyUDPListenerAttribute', { ListenerId: U, CheckType: 'ICMP' }, 'InvalidParameterValue.NotInOptions', 'CheckType'],
      ['ModifyUDPListenerAttribute', { ListenerId: U, CheckType: 'PING', SendContext: 'x' }, 'InvalidParameterValue', 'SendContext'],
      ['ModifyUDPListenerAttribute', { ListenerId: L }, 'ResourceNotFound', 'ListenerId'],
      ['DeleteListeners', { ListenerIds: [L], ProxyId }, 'MissingParameter', 'Force'],
      ['DeleteListeners', { ListenerIds: L, ProxyId, Force: 1 }, 'InvalidParameter.FormatError', 'ListenerIds'],
      ['DeleteListeners', { ListenerIds: [], ProxyId, Force: 1 }, 'MissingParameter', 'ListenerIds'],
      ['DeleteListeners', { ListenerIds: [L], Force: 1 }, 'MissingParameter', 'ProxyId'],
      ['DeleteListeners', { ListenerIds: [L], ProxyId: 'link-zzzzzzzz', Force: 1 }, 'ResourceNotFound', 'ProxyId'],
      ['DeleteListeners', { ListenerIds: [L], ProxyId, Force: 3 }, 'InvalidParameterValue.NotInOptions', 'Force'],
      ['AddRealServers', { ProjectId: 0, RealServerIP: ['not an address!'], RealServerName: 'r' }, 'InvalidParameter.FormatError', 'RealServerIP.0'],
      ['AddRealServers', { ProjectId: 0, RealServerIP: ['10.3.0.9', '10.3.0.9'], RealServerName: 'r' }, 'InvalidParameterValue.DuplicateRS', 'RealServerIP.1'],
      ['AddRealServers', { ProjectId: 0, RealServerIP: [], RealServerName: 'r' }, 'MissingParameter', 'RealServerIP'],
      ['AddRealServers', { ProjectId: 0, RealServerIP: ['10.3.0.9'], RealServerName: 'n'.repeat(31) }, 'InvalidParameterValue.RangeExceeded', 'RealServerName'],
      ['AddRealServers', { ProjectId: 'x', RealServerIP: ['10.3.0.9'], RealServerName: 'r' }, 'InvalidParameter.FormatError', 'ProjectId'],
      ['AddRealServers', { ProjectId: 0, RealServerIP: ['10.3.0.9'] }, 'MissingParameter', 'RealServerName'],
      ['DescribeRealServers', { ProjectId: 0, Limit: 51 }, 'InvalidParameterValue.RangeExceeded', 'Limit'],
      ['DescribeRealServers', {}, 'MissingParameter', 'ProjectId'],
      ['DescribeRealServers', { ProjectId: 0, Filters: [{ Name: 'Port', Values: ['1'] }] }, 'InvalidParameterValue.InvalidFilterNotSupportedName', 'Filters.0.Name'],
      ['ModifyRealServerName', { RealServerId: 'rs-zzzzzzzz', RealServerName: 'x' }, 'ResourceNotFound', 'RealServerId'],
      ['ModifyRealServerName', { RealServerId: RS, RealServerName: 'n'.repeat(31) }, 'InvalidParameterValue.RangeExceeded', 'RealServerName'],
      ['RemoveRealServers', { RealServerIds: [] }, 'MissingParameter', 'RealServerIds'],
      ['RemoveRealServers', { RealServerIds: [RS, 'rs-zzzzzzzz'] }, 'ResourceNotFound', 'RealServerIds.1'],
      ['DescribeRealServersStatus', { RealServerIds: ['rs-zzzzzzzz'] }, 'InvalidParameterValue.RealServerNotBelong', 'RealServerIds.0'],
      ['DescribeRealServersStatus', { RealServerIds: [{}] }, 'InvalidParameter.FormatError', 'RealServerIds.0'],
      ['BindListenerRealServers', { ListenerId: 'listener-zzzzzzzz' }, 'ResourceNotFound', 'ListenerId'],
      ['BindListenerRealServers', { ListenerId: L, RealServerBindSet: [one({ RealServerPort: 0 })] }, 'InvalidParameterValue.RangeExceeded', 'RealServerBindSet.0.RealServerPort'],
      ['BindListenerRealServers', { ListenerId: L, RealServerBindSet: [one({ RealServerWeight: 101 })] }, 'InvalidParameterValue.RangeExceeded', 'RealServerBindSet.0.RealServerWeight'],
      ['BindListenerRealServers', { ListenerId: L, RealServerBindSet: [one({ RealServerFailoverRole: 'boss' })] }, 'InvalidParameterValue.NotInOptions', 'RealServerBindSet.0.RealServerFailoverRole'],
      ['BindListenerRealServers', { ListenerId: L, RealServerBindSet: [one({ RealServerIP: undefined })] }, 'MissingParameter', 'RealServerBindSet.0.RealServerIP'],
      ['BindListenerRealServers', { ListenerId: L, RealServerBindSet: [one({ RealServerIP: '10.3.0.2' })] }, 'InvalidParameterValue', 'RealServerBindSet.0.RealServerIP'],
      ['BindListenerRealServers', { ListenerId: L, RealServerBindSet: [one(), one({ RealServerId: 'rs-zzzzzzzz' })] }, 'InvalidParameterValue.RealServerNotBelong', 'RealServerBindSet.1.RealServerId'],
      ['BindListenerRealServers', { ListenerId: L, RealServerBindSet: [one(), one()] }, 'InvalidParameterValue', 'RealServerBindSet.1'],
      ['BindListenerRealServers', { ListenerId: L, RealServerBindSet: Array.from({ length: 101 }, (_, i) => one({ RealServerPort: 1000 + i })) }, 'FailedOperation.LimitRealServerNum', 'RealServerBindSet'],
      ['BindListenerRealServers', { ListenerId: L, RealServerBindSet: [one({ Extra: 1 })] }, 'UnknownParameter', 'RealServerBindSet.0.Extra'],
      ['DescribeListenerRealServers', {}, 'MissingParameter', 'ListenerId'],
      ['DescribeListenerRealServers', { ListenerId: 'listener-zzzzzzzz' }, 'ResourceNotFound', 'ListenerId'],
    ];
    for (const [action, req, code, names] of rows) await refused(() => c.request(action, req), code, names);
  });
});
