import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import gaapModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/gaap/v20180529/gaap_client.js';
import { markApplied, putRegion } from '../../src/control/gaap.js';
import { OPERATOR } from '../../src/control/scope.js';
import type { ProxyStatus } from '../../src/model/gaap.js';
import { startSluiceProcess } from '../helpers/cli.js';
import { standInNodes, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { pgAvailable, pgTarget, pgTestSchema, pgUrlVia } from '../helpers/pg.js';

// The official SDK client is pointed at sluice; it honours http_proxy, so that goes.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

type Call = (req: Record<string, unknown>) => Promise<Record<string, any>>;
interface Gaap { request(action: string, req: Record<string, unknown>): Promise<Record<string, any>>; [action: string]: Call | Gaap['request'] }
const { Client } = gaapModule as unknown as { Client: new (cfg: unknown) => Gaap };

const call = (c: Gaap, action: string, req: Record<string, unknown> = {}) => (c[action] as Call).call(c, req);

// The whole suite runs on both stores: the embedded SQLite default and PostgreSQL (a private
// schema on the test server; skipped only where PostgreSQL is not required and not there).
const PG_OK = await pgAvailable();

for (const storeName of ['sqlite', 'postgres'] as const) describe(`Tencent GAAP face on ${storeName}, driven by tencentcloud-sdk-nodejs gaap.v20180529`, { skip: storeName === 'postgres' && !PG_OK }, () => {
  let dropSchema: (() => Promise<void>) | null = null;
  let gw: TestGateway;
  const clients: Record<string, Gaap> = {};
  const REGION = 'sz-test';

  async function fails(p: Promise<unknown>, code: string, names?: string) {
    await assert.rejects(p, (err: { code?: string; message: string }) => {
      assert.equal(err.code, code, err.message);
      if (names) assert.ok(err.message.includes(`\`${names}\``), `message names ${names}: ${err.message}`);
      return true;
    });
  }

  /** What the node serving REGION does once it has applied the proxy in `seen`. */
  const applied = (id: string, seen: ProxyStatus) => markApplied(gw.sluice.store, OPERATOR, id, seen);

  let standIns: () => Promise<void> = async () => undefined;
  before(async () => {
    // The default catalogue is the gateway's region; its pool is the proxy listener's host.
    // Tencent's 20 requests per second per action would throttle the table of bad requests.
    let storeUrl: string | undefined;
    if (storeName === 'postgres') {
      const { schema, drop } = await pgTestSchema();
      dropSchema = drop;
      storeUrl = pgUrlVia(pgTarget().port, schema);
    }
    // No node of this gateway serves REGION's proxies: the test reports them applied as that
    // node would (markApplied), so every transitional state can be seen.
    gw = await startTestGateway({ defaultRegion: REGION, nodeRegion: null, tencentRatePerSecond: 10_000, storeUrl });
    // ... and stands in for their registry rows: RUNNING reads as such only while a node serves the region.
    standIns = await standInNodes(gw.sluice.store, [REGION, 'edge']);
    for (const who of ['alice', 'mallory', 'pager']) {
      const t = await gw.api('POST', '/v1/tenants', { name: who });
      const k = await gw.api('POST', `/v1/tenants/${t.body.id}/keys`);
      clients[who] = new Client({
        credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
        profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqTimeout: 10 } },
      });
    }
  });
  after(async () => { await standIns(); await gw.close(); await dropSchema?.(); });

  test('a fresh gateway offers one region, its own, with GAAP\'s sizes, and proxies there take the proxy listener\'s address', async () => {
    const c = clients.alice!;
    const access = await call(c, 'DescribeAccessRegions');
    assert.deepEqual(access.AccessRegionSet.map((r: any) => r.RegionId), [REGION]);
    assert.deepEqual((await call(c, 'DescribeDestRegions')).DestRegionSet.map((r: any) => r.RegionId), [REGION]);
    const by = await call(c, 'DescribeAccessRegionsByDestRegion', { DestRegion: REGION });
    assert.deepEqual(by.AccessRegionSet[0].BandwidthList, [10, 20, 50, 100, 200, 500, 1000]);
    assert.deepEqual(by.AccessRegionSet[0].ConcurrentList, [2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    assert.equal((await call(c, 'CheckProxyCreate', { AccessRegion: REGION, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 })).CheckFlag, 1);
    const made = await call(c, 'CreateProxy', { ProjectId: 0, ProxyName: 'first', AccessRegion: REGION, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 });
    const d = (await call(c, 'DescribeProxyDetail', { ProxyId: made.InstanceId })).ProxyDetail;
    assert.equal(d.IP, '127.0.0.1');
    assert.equal(d.AccessRegion, REGION);
    // No node here serves REGION: the proxy stays CREATING until one reports it applied.
    assert.equal(d.Status, 'CREATING');
  });

  describe('with an operator catalogue', () => {
    before(async () => {
      const s = gw.sluice.gaap;
      await putRegion(gw.sluice.store, OPERATOR, s, { id: 'edge', name: 'Edge', access: true, origin: false, bandwidths: [10, 20], concurrencies: [2, 5], pool: ['127.0.1.0/29'] });
      await putRegion(gw.sluice.store, OPERATOR, s, { id: 'dry', access: true, origin: false, bandwidths: [10], concurrencies: [2], pool: [] });
    });

    const standalone = (c: Gaap, extra: Record<string, unknown> = {}) => call(c, 'CreateProxy', {
      ProjectId: 0, ProxyName: 'solo', AccessRegion: REGION, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2, ...extra,
    });
    async function running(c: Gaap, extra: Record<string, unknown> = {}): Promise<string> {
      const id = (await standalone(c, extra)).InstanceId as string;
      assert.equal(await applied(id, 'CREATING'), 'RUNNING');
      return id;
    }

    test('the catalogue: regions by role, sizes per region, unknown regions and sizes refused by name', async () => {
      const c = clients.alice!;
      assert.deepEqual((await call(c, 'DescribeAccessRegions')).AccessRegionSet.map((r: any) => r.RegionId).sort(), ['dry', 'edge', REGION].sort());
      assert.deepEqual((await call(c, 'DescribeDestRegions')).DestRegionSet.map((r: any) => r.RegionId), [REGION]);
      const by = await call(c, 'DescribeAccessRegionsByDestRegion', { DestRegion: REGION });
      const edge = by.AccessRegionSet.find((r: any) => r.RegionId === 'edge');
      assert.deepEqual([edge.RegionName, edge.BandwidthList, edge.ConcurrentList], ['Edge', [10, 20], [2, 5]]);
      // A sold-out region offers nothing to accelerate.
      assert.equal(by.AccessRegionSet.some((r: any) => r.RegionId === 'dry'), false);
      await fails(call(c, 'DescribeAccessRegionsByDestRegion', { DestRegion: 'edge' }), 'InvalidParameterValue.UnknownDestRegion', 'DestRegion');
      await fails(call(c, 'CheckProxyCreate', { AccessRegion: 'edge', RealServerRegion: REGION, Bandwidth: 50, Concurrent: 2 }), 'InvalidParameterValue.InvalidBandwidth', 'Bandwidth');
      await fails(call(c, 'CheckProxyCreate', { AccessRegion: 'edge', RealServerRegion: REGION, Bandwidth: 10, Concurrent: 3 }), 'InvalidParameterValue.InvalidConcurrency', 'Concurrent');
      await fails(call(c, 'CheckProxyCreate', { AccessRegion: 'mars', RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 }), 'InvalidParameterValue.UnknownAccessRegion', 'AccessRegion');
      await fails(call(c, 'CheckProxyCreate', { AccessRegion: 'edge', RealServerRegion: 'edge', Bandwidth: 10, Concurrent: 2 }), 'InvalidParameterValue.UnknownDestRegion', 'RealServerRegion');
      assert.equal((await call(c, 'CheckProxyCreate', { AccessRegion: 'dry', RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 })).CheckFlag, 0);
    });

    test('a group with two proxies through its lifecycle: list status a string, details an int', async () => {
      const c = clients.alice!;
      const { GroupId } = await call(c, 'CreateProxyGroup', {
        ProjectId: 3, GroupName: 'games', RealServerRegion: REGION, TagSet: [{ TagKey: 'env', TagValue: 'prod' }], Http3Supported: 1,
        AccessRegionSet: [{ AccessRegion: REGION, Bandwidth: 10, Concurrent: 2 }, { AccessRegion: 'edge', Bandwidth: 20, Concurrent: 5, NetworkType: 'normal' }],
      });
      assert.match(GroupId, /^lg-[a-z0-9]{8}$/);
      const detail = async () => (await call(c, 'DescribeProxyGroupDetails', { GroupId })).ProxyGroupDetail;
      const listed = async () => (await call(c, 'DescribeProxyGroupList', { Offset: 0, Limit: 100, ProjectId: 3 })).ProxyGroupList.find((g: any) => g.GroupId === GroupId);
      const d = await detail();
      assert.deepEqual([d.ProxyNum, d.Status, d.GroupName, d.ProjectId, d.Http3Supported, d.RealServerRegionInfo.RegionId], [2, 1, 'games', 3, 1, REGION]);
      assert.deepEqual(d.TagSet, [{ TagKey: 'env', TagValue: 'prod' }]);
      assert.equal((await listed()).Status, 'CREATING');
      const proxies = (await call(c, 'DescribeProxies', { Filters: [{ Name: 'GroupId', Values: [GroupId] }] })).ProxySet;
      assert.equal(proxies.length, 2);
      for (const p of proxies) {
        assert.match(p.ProxyId, /^link-[a-z0-9]{8}$/);
        assert.equal(p.InstanceId, p.ProxyId);
        assert.equal(p.Status, 'CREATING');
        assert.equal(p.RealServerRegion, REGION);
      }
      assert.deepEqual(proxies.map((p: any) => [p.AccessRegion, p.Bandwidth, p.Concurrent]).sort(), [[REGION, 10, 2], ['edge', 20, 5]].sort());

      await applied(proxies[0].ProxyId, 'CREATING');
      assert.equal((await listed()).Status, 'CHANGING');
      assert.equal((await detail()).Status, 12);
      await applied(proxies[1].ProxyId, 'CREATING');
      assert.equal((await listed()).Status, 'RUNNING');
      assert.equal((await detail()).Status, 0);

      await call(c, 'ModifyProxyGroupAttribute', { GroupId, GroupName: 'games-2' });
      assert.equal((await detail()).GroupName, 'games-2');
      await fails(call(c, 'ModifyProxyGroupAttribute', { GroupId, GroupName: 'x'.repeat(31) }), 'InvalidParameterValue.RangeExceeded', 'GroupName');
      await fails(call(c, 'DeleteProxyGroup', { GroupId }), 'FailedOperation.DeleteProxyGroupProxyRemained', 'GroupId');
      const outside = await running(c);
      await fails(call(c, 'DestroyProxies', { ProxyIds: [proxies[0].ProxyId, outside], Force: 1 }), 'FailedOperation.BelongDifferentGroup', 'ProxyIds');

      assert.deepEqual(await call(c, 'CloseProxyGroup', { GroupId }).then((r) => r.InvalidStatusInstanceSet), []);
      for (const p of proxies) assert.equal(await applied(p.ProxyId, 'CLOSING'), 'CLOSED');
      assert.equal((await listed()).Status, 'CLOSED');
      assert.deepEqual(await call(c, 'OpenProxyGroup', { GroupId }).then((r) => r.InvalidStatusInstanceSet), []);
      for (const p of proxies) assert.equal(await applied(p.ProxyId, 'OPENING'), 'RUNNING');

      await call(c, 'DeleteProxyGroup', { GroupId, Force: 1 });
      assert.equal((await listed()).Status, 'DESTROYING');
      assert.equal((await detail()).Status, 4);
      await fails(call(c, 'ModifyProxyGroupAttribute', { GroupId, GroupName: 'late' }), 'FailedOperation.GroupStatusNotInRuning', 'GroupId');
      for (const p of proxies) assert.equal(await applied(p.ProxyId, 'DESTROYING'), 'gone');
      await fails(call(c, 'DescribeProxyGroupDetails', { GroupId }), 'ResourceNotFound', 'GroupId');
    });

    test('DescribeProxies by ids (new and old names) and by filters, paged without overlap', async () => {
      const c = clients.pager!;
      const ids: string[] = [];
      for (const [i, region] of [REGION, REGION, 'edge', 'edge', REGION].entries()) {
        ids.push((await standalone(c, { ProxyName: `p${i}`, AccessRegion: region, ProjectId: i % 2 })).InstanceId);
      }
      const byIds = await call(c, 'DescribeProxies', { ProxyIds: [ids[0], ids[2]] });
      assert.deepEqual(byIds.ProxySet.map((p: any) => p.ProxyId).sort(), [ids[0], ids[2]].sort());
      assert.deepEqual(byIds.InstanceSet, byIds.ProxySet);
      assert.deepEqual((await call(c, 'DescribeProxies', { InstanceIds: [ids[4]] })).InstanceSet.map((p: any) => p.InstanceId), [ids[4]]);
      const edge = await call(c, 'DescribeProxies', { Filters: [{ Name: 'AccessRegion', Values: ['edge'] }] });
      assert.deepEqual([edge.TotalCount, edge.ProxySet.every((p: any) => p.AccessRegion === 'edge')], [2, true]);
      assert.equal((await call(c, 'DescribeProxies', { Filters: [{ Name: 'ProjectId', Values: ['1'] }] })).TotalCount, 2);
      assert.equal((await call(c, 'DescribeProxies', { Independent: 0 })).TotalCount, 0);

      const seen: string[] = [];
      for (let offset = 0; offset < 10; offset += 2) {
        const r = await call(c, 'DescribeProxies', { Offset: offset, Limit: 2, Order: 'asc', OrderField: 'proxy_id' });
        assert.equal(r.TotalCount, 5);
        seen.push(...r.ProxySet.map((p: any) => p.ProxyId));
        if (r.ProxySet.length < 2) break;
      }
      assert.deepEqual(seen, [...ids].sort());
      await fails(call(c, 'DescribeProxies', { ProxyIds: [ids[0]], Filters: [{ Name: 'GroupId', Values: ['lg-x'] }] }), 'InvalidParameter', 'Filters');
      await fails(call(c, 'DescribeProxies', { Filters: [{ Name: 'Colour', Values: ['x'] }] }), 'InvalidParameterValue.InvalidFilterNotSupportedName', 'Filters.0.Name');
      await fails(call(c, 'DescribeProxies', { Limit: 101 }), 'InvalidParameterValue.RangeExceeded', 'Limit');
    });

    test('ModifyProxyConfiguration: only sizes the access region offers, only while RUNNING, through ADJUSTING', async () => {
      const c = clients.alice!;
      const fresh = (await standalone(c, { AccessRegion: 'edge' })).InstanceId;
      await fails(call(c, 'ModifyProxyConfiguration', { ProxyId: fresh, Bandwidth: 20 }), 'FailedOperation.ActionIsDoing', 'ProxyId');
      await applied(fresh, 'CREATING');
      const before = await gw.sluice.store.revision();
      // 50 Mbps is offered in the default region but not in edge.
      await fails(call(c, 'ModifyProxyConfiguration', { ProxyId: fresh, Bandwidth: 50 }), 'InvalidParameterValue.InvalidBandwidth', 'Bandwidth');
      await fails(call(c, 'ModifyProxyConfiguration', { InstanceId: fresh, Concurrent: 10 }), 'InvalidParameterValue.InvalidConcurrency', 'Concurrent');
      await fails(call(c, 'ModifyProxyConfiguration', { ProxyId: fresh }), 'MissingParameter', 'Bandwidth');
      assert.equal(await gw.sluice.store.revision(), before);
      await call(c, 'ModifyProxyConfiguration', { ProxyId: fresh, Bandwidth: 20, Concurrent: 5 });
      let d = (await call(c, 'DescribeProxyDetail', { ProxyId: fresh })).ProxyDetail;
      assert.deepEqual([d.Status, d.Bandwidth, d.Concurrent, typeof d.ModifyConfigTime], ['ADJUSTING', 20, 5, 'number']);
      assert.equal(await applied(fresh, 'ADJUSTING'), 'RUNNING');
      d = (await call(c, 'DescribeProxyDetail', { ProxyId: fresh })).ProxyDetail;
      assert.equal(d.Status, 'RUNNING');
    });

    test('close, open, rename and destroy proxies, with partial results for proxies in the wrong state', async () => {
      const c = clients.alice!;
      const a = await running(c);
      const b = (await standalone(c)).InstanceId;
      const status = async (ids: string[]) => (await call(c, 'DescribeProxiesStatus', { ProxyIds: ids })).InstanceStatusSet.map((s: any) => [s.InstanceId, s.Status]);
      assert.deepEqual((await call(c, 'CloseProxies', { ProxyIds: [a, b] })).InvalidStatusInstanceSet, [b]);
      assert.deepEqual(await status([a, b]), [[a, 'CLOSING'], [b, 'CREATING']]);
      assert.equal(await applied(a, 'CLOSING'), 'CLOSED');
      assert.deepEqual((await call(c, 'OpenProxies', { ProxyIds: [a] })).InvalidStatusInstanceSet, []);
      assert.equal(await applied(a, 'OPENING'), 'RUNNING');
      await call(c, 'ModifyProxiesAttribute', { ProxyIds: [a], ProxyName: 'renamed' });
      assert.equal((await call(c, 'DescribeProxyDetail', { ProxyId: a })).ProxyDetail.ProxyName, 'renamed');
      await fails(call(c, 'ModifyProxiesAttribute', { ProxyIds: [a, b], ProxyName: 'both' }), 'FailedOperation.ActionIsDoing', 'ProxyIds');
      await fails(call(c, 'ModifyProxiesAttribute', { ProxyIds: [a], ProxyName: 'n'.repeat(33) }), 'InvalidParameterValue.RangeExceeded', 'ProxyName');

      assert.deepEqual((await call(c, 'DestroyProxies', { ProxyIds: [a, b], Force: 0 })).InvalidStatusInstanceSet, [b]);
      assert.deepEqual(await status([a]), [[a, 'DESTROYING']]);
      assert.equal(await applied(a, 'DESTROYING'), 'gone');
      await fails(call(c, 'DescribeProxyDetail', { ProxyId: a }), 'ResourceNotFound', 'ProxyId');
      await fails(call(c, 'DescribeProxiesStatus', { InstanceIds: [b, a] }), 'ResourceNotFound', 'InstanceIds.1');
    });

    test('CreateProxy with a ClientToken: a repeat makes no second proxy; the token on another request is DuplicatedRequest', async () => {
      const c = clients.alice!;
      const req = { ClientToken: 'order-42', ProxyName: 'idem', TagSet: [{ TagKey: 'k', TagValue: 'v' }] };
      const first = await standalone(c, req);
      const again = await standalone(c, req);
      assert.equal(again.InstanceId, first.InstanceId);
      const named = (await call(c, 'DescribeProxies', { Limit: 100 })).ProxySet.filter((p: any) => p.ProxyName === 'idem');
      assert.equal(named.length, 1);
      const before = await gw.sluice.store.revision();
      await fails(standalone(c, { ...req, Bandwidth: 20 }), 'FailedOperation.DuplicatedRequest', 'ClientToken');
      assert.equal(await gw.sluice.store.revision(), before);
      // Another tenant's tokens are its own.
      assert.notEqual((await standalone(clients.mallory!, req)).InstanceId, first.InstanceId);
    });

    test('a region with no address left sells out', async () => {
      const c = clients.alice!;
      const before = await gw.sluice.store.revision();
      await fails(standalone(c, { AccessRegion: 'dry' }), 'FailedOperation.ProxySellOut', 'AccessRegion');
      await fails(call(c, 'CreateProxyGroup', { ProjectId: 0, GroupName: 'g', RealServerRegion: REGION, AccessRegionSet: [{ AccessRegion: 'dry', Bandwidth: 10, Concurrent: 2 }] }), 'FailedOperation.ProxySellOut', 'AccessRegionSet.0.AccessRegion');
      assert.equal(await gw.sluice.store.revision(), before);
    });

    test('another tenant\'s groups and proxies are not found and never listed', async () => {
      const { GroupId } = await call(clients.alice!, 'CreateProxyGroup', { ProjectId: 0, GroupName: 'private', RealServerRegion: REGION, AccessRegionSet: [{ AccessRegion: REGION, Bandwidth: 10, Concurrent: 2 }] });
      const proxy = await running(clients.alice!, { ProxyName: 'private' });
      const m = clients.mallory!;
      const before = await gw.sluice.store.revision();
      await fails(call(m, 'DescribeProxyGroupDetails', { GroupId }), 'ResourceNotFound', 'GroupId');
      await fails(call(m, 'DeleteProxyGroup', { GroupId, Force: 1 }), 'ResourceNotFound', 'GroupId');
      await fails(call(m, 'CloseProxyGroup', { GroupId }), 'ResourceNotFound', 'GroupId');
      await fails(call(m, 'ModifyProxyGroupAttribute', { GroupId, GroupName: 'mine' }), 'ResourceNotFound', 'GroupId');
      await fails(standalone(m, { GroupId }), 'ResourceNotFound', 'GroupId');
      await fails(call(m, 'DescribeProxyDetail', { ProxyId: proxy }), 'ResourceNotFound', 'ProxyId');
      await fails(call(m, 'DestroyProxies', { ProxyIds: [proxy], Force: 1 }), 'ResourceNotFound', 'ProxyIds.0');
      await fails(call(m, 'CloseProxies', { ProxyIds: [proxy] }), 'ResourceNotFound', 'ProxyIds.0');
      await fails(call(m, 'ModifyProxyConfiguration', { ProxyId: proxy, Bandwidth: 20 }), 'ResourceNotFound', 'ProxyId');
      await fails(call(m, 'DescribeProxiesStatus', { ProxyIds: [proxy] }), 'ResourceNotFound', 'ProxyIds.0');
      assert.equal(await gw.sluice.store.revision(), before);
      assert.equal((await call(m, 'DescribeProxies', { ProxyIds: [proxy] })).TotalCount, 0);
      const groups = (await call(m, 'DescribeProxyGroupList', { Offset: 0, Limit: 100, ProjectId: -1 })).ProxyGroupList;
      assert.equal(groups.some((g: any) => g.GroupId === GroupId), false);
    });

    test('bad input: the documented code, a message naming the parameter, and nothing written', async () => {
      const c = clients.alice!;
      const base = { ProjectId: 0, ProxyName: 'bad', AccessRegion: REGION, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 };
      const group = { ProjectId: 0, GroupName: 'bad', RealServerRegion: REGION };
      const rows: [string, Record<string, unknown>, string, string][] = [
        ['CreateProxy', { ...base, Bandwidth: 'ten' }, 'InvalidParameter.FormatError', 'Bandwidth'],
        ['CreateProxy', { ...base, Bandwidth: 15 }, 'InvalidParameterValue.InvalidBandwidth', 'Bandwidth'],
        ['CreateProxy', { ...base, ProxyName: 'x'.repeat(33) }, 'InvalidParameterValue.RangeExceeded', 'ProxyName'],
        ['CreateProxy', { ...base, ProjectId: -1 }, 'InvalidParameterValue.RangeExceeded', 'ProjectId'],
        ['CreateProxy', { ...base, RealServerRegion: undefined }, 'MissingParameter', 'RealServerRegion'],
        ['CreateProxy', { ...base, AccessRegion: 'nowhere' }, 'InvalidParameterValue.UnknownAccessRegion', 'AccessRegion'],
        ['CreateProxy', { ...base, ClientToken: 'has space' }, 'InvalidParameter.FormatError', 'ClientToken'],
        ['CreateProxy', { ...base, IPAddressVersion: 'IPv5' }, 'InvalidParameterValue.NotInOptions', 'IPAddressVersion'],
        ['CreateProxy', { ...base, TagSet: [{ TagValue: 'v' }] }, 'MissingParameter', 'TagSet.0.TagKey'],
        ['CreateProxy', { ...base, Bogus: 1 }, 'UnknownParameter', 'Bogus'],
        ['CreateProxy', { ...base, ClonedProxyId: 'link-zzzzzzzz' }, 'ResourceNotFound', 'ClonedProxyId'],
        ['CreateProxyGroup', { ...group, GroupName: 'g'.repeat(31) }, 'InvalidParameterValue.RangeExceeded', 'GroupName'],
        ['CreateProxyGroup', { ...group, RealServerRegion: 'edge' }, 'InvalidParameterValue.UnknownDestRegion', 'RealServerRegion'],
        ['CreateProxyGroup', { ...group, AccessRegionSet: [{ AccessRegion: REGION, Bandwidth: 10, Concurrent: 2 }, { AccessRegion: 'edge', Bandwidth: 50, Concurrent: 2 }] }, 'InvalidParameterValue.InvalidBandwidth', 'AccessRegionSet.1.Bandwidth'],
        ['CreateProxyGroup', { ...group, AccessRegionSet: [{ AccessRegion: 'nowhere', Bandwidth: 10, Concurrent: 2 }] }, 'InvalidParameterValue.UnknownAccessRegion', 'AccessRegionSet.0.AccessRegion'],
        ['CreateProxyGroup', { ...group, AccessRegionSet: [{ AccessRegion: REGION, Bandwidth: 10 }] }, 'MissingParameter', 'AccessRegionSet.0.Concurrent'],
        ['CreateProxyGroup', { ...group, AccessRegionSet: Array.from({ length: 21 }, () => ({ AccessRegion: REGION, Bandwidth: 10, Concurrent: 2 })) }, 'FailedOperation.LimitNumofProxiesInGroup', 'AccessRegionSet'],
        ['DescribeProxyGroupList', { Offset: 0, Limit: 10 }, 'MissingParameter', 'ProjectId'],
        ['DescribeProxyGroupList', { Offset: 0, Limit: 101, ProjectId: 0 }, 'InvalidParameterValue.RangeExceeded', 'Limit'],
        ['DescribeProxyGroupList', { Offset: -1, Limit: 10, ProjectId: 0 }, 'InvalidParameterValue.RangeExceeded', 'Offset'],
        ['DeleteProxyGroup', { GroupId: 'lg-zzzzzzzz', Force: 2 }, 'InvalidParameterValue.NotInOptions', 'Force'],
        ['DeleteProxyGroup', { GroupId: 'lg-zzzzzzzz' }, 'ResourceNotFound', 'GroupId'],
        ['DestroyProxies', { ProxyIds: ['link-zzzzzzzz'] }, 'MissingParameter', 'Force'],
        ['DestroyProxies', { ProxyIds: ['link-zzzzzzzz'], Force: 0 }, 'ResourceNotFound', 'ProxyIds.0'],
        ['CloseProxies', { ProxyIds: [] }, 'MissingParameter', 'ProxyIds'],
        ['OpenProxies', { ProxyIds: 'link-zzzzzzzz' }, 'InvalidParameter.FormatError', 'ProxyIds'],
        ['ModifyProxyConfiguration', { InstanceId: 'link-zzzzzzzz', Bandwidth: 20 }, 'ResourceNotFound', 'InstanceId'],
        ['DescribeProxyDetail', { ProxyId: 'link-zzzzzzzz' }, 'ResourceNotFound', 'ProxyId'],
        ['DescribeProxyGroupDetails', {}, 'MissingParameter', 'GroupId'],
      ];
      for (const [action, req, code, names] of rows) {
        const before = await gw.sluice.store.revision();
        await fails(c.request(action, req), code, names);
        assert.equal(await gw.sluice.store.revision(), before, `${action} ${names} wrote nothing`);
      }
    });

    test('HTTP/HTTPS listener, domain and rule actions answer UnsupportedOperation, not InvalidAction', async () => {
      const c = clients.alice!;
      for (const [action, req] of [['CreateHTTPListener', { ListenerName: 'web', Port: 80, ProxyId: 'link-zzzzzzzz' }], ['CreateRule', { Anything: { goes: 1 } }], ['DescribeHTTPSListeners', {}]] as const) {
        await assert.rejects(call(c, action, req), (err: { code?: string; message: string }) => {
          assert.equal(err.code, 'UnsupportedOperation', err.message);
          assert.match(err.message, /L7 .*not supported/);
          return true;
        });
      }
    });
  });
});

describe('GAAP on `sluice start`, over GET', () => {
  test('--region names the one default region, the GAAP quota flags apply; query-string values reach the actions typed', async () => {
    const gw = await startSluiceProcess(['--region', 'cli-region', '--max-ports-per-call', '2', '--max-proxies-per-group', '1']);
    try {
      const api = async (path: string) => (await fetch(gw.adminUrl + path, { method: 'POST', headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'cli' }) })).json() as Promise<any>;
      const t = await api('/v1/tenants');
      const k = await api(`/v1/tenants/${t.id}/keys`);
      const c = new Client({
        credential: { secretId: k.secretId, secretKey: k.secretKey }, region: 'ap-guangzhou',
        profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqMethod: 'GET', reqTimeout: 10 } },
      });
      assert.deepEqual((await call(c, 'DescribeAccessRegions')).AccessRegionSet.map((r: any) => r.RegionId), ['cli-region']);
      const made = await call(c, 'CreateProxy', { ProjectId: 0, ProxyName: 'q', AccessRegion: 'cli-region', RealServerRegion: 'cli-region', Bandwidth: 20, Concurrent: 5, TagSet: [{ TagKey: 'a', TagValue: 'b' }] });
      const got = (await call(c, 'DescribeProxies', { ProxyIds: [made.InstanceId], Limit: 5 })).ProxySet;
      assert.deepEqual(got.map((p: any) => [p.ProxyId, p.Bandwidth, p.Concurrent, p.IP]), [[made.InstanceId, 20, 5, '127.0.0.1']]);
      // The node serves its own region: it applies the proxy, which then reads RUNNING.
      let status = got[0].Status;
      for (let i = 0; i < 200 && status !== 'RUNNING'; i++) {
        assert.equal(status, 'CREATING');
        await new Promise((r) => setTimeout(r, 10));
        status = (await call(c, 'DescribeProxies', { ProxyIds: [made.InstanceId] })).ProxySet[0].Status;
      }
      assert.equal(status, 'RUNNING');
      assert.deepEqual(got[0].TagSet, [{ TagKey: 'a', TagValue: 'b' }]);
      // The operator's quotas, not GAAP's defaults: two proxies in a group, three ports in a call.
      const fails = (p: Promise<unknown>, code: string) => assert.rejects(p, (err: { code?: string; message: string }) => { assert.equal(err.code, code, err.message); return true; });
      await fails(call(c, 'CreateProxyGroup', { ProjectId: 0, GroupName: 'two', RealServerRegion: 'cli-region', AccessRegionSet: [{ AccessRegion: 'cli-region', Bandwidth: 10, Concurrent: 2 }, { AccessRegion: 'cli-region', Bandwidth: 10, Concurrent: 2 }] }), 'FailedOperation.LimitNumofProxiesInGroup');
      const { GroupId } = await call(c, 'CreateProxyGroup', { ProjectId: 0, GroupName: 'one', RealServerRegion: 'cli-region', AccessRegionSet: [{ AccessRegion: 'cli-region', Bandwidth: 10, Concurrent: 2 }] });
      await fails(call(c, 'CreateTCPListeners', { GroupId, ListenerName: 'l', Ports: [7001, 7002, 7003], Scheduler: 'rr', HealthCheck: 0, RealServerType: 'IP' }), 'FailedOperation.OperateLimitNumofListener');
      assert.equal((await call(c, 'CreateTCPListeners', { GroupId, ListenerName: 'l', Ports: [7001, 7002], Scheduler: 'rr', HealthCheck: 0, RealServerType: 'IP' })).ListenerIds.length, 2);
    } finally {
      await gw.cleanup();
    }
  });
});
