import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import gaapModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/gaap/v20180529/gaap_client.js';
import { markApplied } from '../../src/control/gaap.js';
import { OPERATOR } from '../../src/control/scope.js';
import type { ProxyStatus } from '../../src/model/gaap.js';
import { standInNodes, startTestGateway, type ApiResult, type TestGateway } from '../helpers/gateway.js';

// The official SDK client is pointed at sluice; it honours http_proxy, so that goes.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

type Call = (req: Record<string, unknown>) => Promise<Record<string, any>>;
interface Gaap { [action: string]: Call }
const { Client } = gaapModule as unknown as { Client: new (cfg: unknown) => Gaap };
const call = (c: Gaap, action: string, req: Record<string, unknown> = {}) => c[action]!.call(c, req);

describe('operator API: L4 (GAAP) objects under /v1', () => {
  let gw: TestGateway;
  let tenant: string;
  let sdk: Gaap;
  const REGION = 'nat-test';

  async function expectError(p: Promise<ApiResult>, status: number, code: string, field?: string) {
    const r = await p;
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.code, code, JSON.stringify(r.body));
    if (field) assert.ok(r.body.message.includes(field), `message names ${field}: ${r.body.message}`);
  }
  /** What the data plane does once it has applied a proxy. */
  const applied = (id: string, seen: ProxyStatus) => markApplied(gw.sluice.store, OPERATOR, id, seen);
  async function runningProxy(extra: Record<string, unknown> = {}): Promise<any> {
    const r = await gw.api('POST', '/v1/proxies', { tenantId: tenant, name: 'p', accessRegion: REGION, originRegion: REGION, bandwidth: 10, concurrent: 2, ...extra });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(await applied(r.body.id, 'CREATING'), 'RUNNING');
    return r.body;
  }

  let standIns: () => Promise<void> = async () => undefined;
  before(async () => {
    // No node of this gateway serves REGION's proxies: the test reports them applied as that
    // node would (markApplied), so every transitional state can be seen.
    gw = await startTestGateway({ defaultRegion: REGION, nodeRegion: null, tencentRatePerSecond: 10_000 });
    // ... and stands in for their registry rows: RUNNING reads as such only while a node serves the region.
    standIns = await standInNodes(gw.sluice.store, [REGION, 'edge-1', 'far', 'l4-ops']);
    const t = await gw.api('POST', '/v1/tenants', { name: 'l4-owner' });
    tenant = t.body.id;
    const k = await gw.api('POST', `/v1/tenants/${tenant}/keys`);
    sdk = new Client({
      credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqTimeout: 10 } },
    });
  });
  after(async () => { await standIns(); await gw.close(); });

  test('the OpenAPI document lists the L4 paths', async () => {
    const r = await gw.api('GET', '/v1/openapi.json');
    assert.equal(r.status, 200);
    for (const p of ['/v1/l4-regions', '/v1/l4-regions/{id}', '/v1/connection-groups', '/v1/connection-groups/{id}', '/v1/connection-groups/{id}/close',
      '/v1/connection-groups/{id}/open', '/v1/proxies', '/v1/proxies/{id}', '/v1/proxies/{id}/close', '/v1/proxies/{id}/open',
      '/v1/listeners', '/v1/listeners/{id}', '/v1/listeners/{id}/bindings', '/v1/origins', '/v1/origins/{id}']) {
      assert.ok(r.body.paths[p], `${p} is documented`);
    }
    assert.ok(r.body.paths['/v1/l4-regions/{id}'].put.requestBody, 'the region body is described');
    assert.ok(r.body.paths['/v1/proxies/{id}'].patch, 'PATCH /v1/proxies/{id} is described');
  });

  test('regions: the default catalogue, PUT creates and replaces, validation names the field, DELETE refused while in use', async () => {
    const first = await gw.api('GET', '/v1/l4-regions');
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.items.map((r: any) => r.id), [REGION]);
    assert.deepEqual(first.body.items[0].pool, ['127.0.0.1']);

    const put = await gw.api('PUT', '/v1/l4-regions/edge-1', { name: 'Edge', access: true, origin: false, bandwidths: [20, 10], concurrencies: [2], pool: ['127.0.2.0/30'] });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual([put.body.id, put.body.name, put.body.bandwidths, put.body.pool], ['edge-1', 'Edge', [10, 20], ['127.0.2.0/30']]);
    const replaced = await gw.api('PUT', '/v1/l4-regions/edge-1', { access: true, origin: false, bandwidths: [10], concurrencies: [2, 5], pool: ['127.0.2.8'] });
    assert.deepEqual([replaced.body.name, replaced.body.concurrencies, replaced.body.pool], ['edge-1', [2, 5], ['127.0.2.8']]);
    assert.deepEqual((await gw.api('GET', '/v1/l4-regions')).body.items.map((r: any) => r.id).sort(), ['edge-1', REGION].sort());

    await expectError(gw.api('PUT', '/v1/l4-regions/bad', { access: true, origin: true, bandwidths: ['10'], concurrencies: [2], pool: [] }), 400, 'invalid_type', 'body.bandwidths[0]');
    await expectError(gw.api('PUT', '/v1/l4-regions/bad', { access: true, origin: true, bandwidths: [10], concurrencies: [2] }), 400, 'missing', 'body.pool');
    await expectError(gw.api('PUT', '/v1/l4-regions/bad', { access: true, origin: true, bandwidths: [10], concurrencies: [2], pool: ['not-an-ip'] }), 400, 'bad_format', 'pool[0]');
    await expectError(gw.api('PUT', '/v1/l4-regions/bad', { access: true, origin: true, bandwidths: [10], concurrencies: [2], pool: [], colour: 'red' }), 400, 'unknown_field', 'body.colour');
    await expectError(gw.api('PUT', '/v1/l4-regions/bad', { access: false, origin: false, bandwidths: [10], concurrencies: [2], pool: [] }), 409, 'conflict', 'access');
    await expectError(gw.api('DELETE', '/v1/l4-regions/nowhere'), 404, 'not_found', 'nowhere');

    // A proxy placed in edge-1 holds it.
    const p = await gw.api('POST', '/v1/proxies', { tenantId: tenant, name: 'edge', accessRegion: 'edge-1', originRegion: REGION, bandwidth: 10, concurrent: 5 });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    assert.equal(p.body.address, '127.0.2.8');
    await expectError(gw.api('DELETE', '/v1/l4-regions/edge-1'), 409, 'in_use', 'edge-1');
    await expectError(gw.api('PUT', '/v1/l4-regions/edge-1', { access: false, origin: true, bandwidths: [10], concurrencies: [2], pool: [] }), 409, 'in_use', 'edge-1');
    await applied(p.body.id, 'CREATING');
    assert.equal((await gw.api('DELETE', `/v1/proxies/${p.body.id}`)).status, 202);
    assert.equal(await applied(p.body.id, 'DESTROYING'), 'gone');
    assert.equal((await gw.api('DELETE', '/v1/l4-regions/edge-1')).status, 204);
    assert.deepEqual((await gw.api('GET', '/v1/l4-regions')).body.items.map((r: any) => r.id), [REGION]);
  });

  test('connection groups: create with proxies, list by tenant with paging, patch, close/open, delete with force', async () => {
    const made = await gw.api('POST', '/v1/connection-groups', {
      tenantId: tenant, name: 'games', originRegion: REGION, cloudProjectId: 4, tags: [{ key: 'env', value: 'prod' }],
      accessRegions: [{ accessRegion: REGION, bandwidth: 10, concurrent: 2 }, { accessRegion: REGION, bandwidth: 20, concurrent: 5 }],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const g = made.body;
    assert.match(g.id, /^lg-[a-z0-9]{8}$/);
    assert.deepEqual([g.name, g.status, g.proxyIds.length, g.cloudProjectId], ['games', 'CREATING', 2, 4]);
    const other = await gw.api('POST', '/v1/connection-groups', { tenantId: gw.tenantId, name: 'theirs', originRegion: REGION });
    assert.equal(other.status, 201);

    const mine = await gw.api('GET', `/v1/connection-groups?tenantId=${tenant}`);
    assert.deepEqual(mine.body.items.map((x: any) => x.id), [g.id]);
    const paged = await gw.api('GET', '/v1/connection-groups?limit=1&offset=1');
    assert.equal(paged.body.total, 2);
    assert.equal(paged.body.items.length, 1);
    await expectError(gw.api('GET', '/v1/connection-groups?limit=0'), 400, 'out_of_range', 'limit');

    for (const id of g.proxyIds) await applied(id, 'CREATING');
    const patched = await gw.api('PATCH', `/v1/connection-groups/${g.id}`, { name: 'arcade' });
    assert.deepEqual([patched.status, patched.body.name, patched.body.status], [200, 'arcade', 'RUNNING']);
    await expectError(gw.api('PATCH', `/v1/connection-groups/${g.id}`, { name: 7 }), 400, 'invalid_type', 'body.name');
    await expectError(gw.api('PATCH', '/v1/connection-groups/lg-00000000', { name: 'x' }), 404, 'not_found', 'lg-00000000');
    await expectError(gw.api('POST', '/v1/connection-groups', { tenantId: tenant, name: 'g', originRegion: 'mars' }), 404, 'not_found', 'originRegion');
    await expectError(gw.api('POST', '/v1/connection-groups', { tenantId: tenant, originRegion: REGION }), 400, 'missing', 'body.name');

    const closed = await gw.api('POST', `/v1/connection-groups/${g.id}/close`);
    assert.deepEqual([closed.status, closed.body.changed.length, closed.body.invalidStatus], [200, 2, []]);
    for (const id of g.proxyIds) await applied(id, 'CLOSING');
    assert.equal((await gw.api('GET', `/v1/connection-groups/${g.id}`)).body.status, 'CLOSED');
    assert.equal((await gw.api('POST', `/v1/connection-groups/${g.id}/open`)).body.changed.length, 2);
    for (const id of g.proxyIds) await applied(id, 'OPENING');

    await expectError(gw.api('DELETE', `/v1/connection-groups/${g.id}`), 409, 'in_use', g.id);
    await expectError(gw.api('DELETE', `/v1/connection-groups/${g.id}?force=maybe`), 400, 'invalid_type', 'force');
    const del = await gw.api('DELETE', `/v1/connection-groups/${g.id}?force=true`);
    assert.deepEqual([del.status, del.body.status], [202, 'DESTROYING']);
    for (const id of g.proxyIds) await applied(id, 'DESTROYING');
    await expectError(gw.api('GET', `/v1/connection-groups/${g.id}`), 404, 'not_found', g.id);
    assert.equal((await gw.api('DELETE', `/v1/connection-groups/${other.body.id}`)).status, 204);
  });

  test('proxies: create standalone and in a group, filter, resize within the offer, rename, close/open, destroy', async () => {
    const g = (await gw.api('POST', '/v1/connection-groups', { tenantId: tenant, name: 'pg', originRegion: REGION })).body;
    const inGroup = await gw.api('POST', '/v1/proxies', { tenantId: tenant, name: 'member', accessRegion: REGION, bandwidth: 10, concurrent: 2, groupId: g.id });
    assert.equal(inGroup.status, 201, JSON.stringify(inGroup.body));
    assert.deepEqual([inGroup.body.groupId, inGroup.body.originRegion, inGroup.body.status], [g.id, REGION, 'CREATING']);
    const p = await runningProxy({ name: 'solo' });
    assert.match(p.id, /^link-[a-z0-9]{8}$/);

    assert.deepEqual((await gw.api('GET', `/v1/proxies?groupId=${g.id}`)).body.items.map((x: any) => x.id), [inGroup.body.id]);
    assert.ok((await gw.api('GET', `/v1/proxies?tenantId=${tenant}`)).body.items.some((x: any) => x.id === p.id));
    assert.equal((await gw.api('GET', `/v1/proxies?tenantId=${gw.tenantId}`)).body.total, 0);
    assert.equal((await gw.api('GET', `/v1/proxies/${p.id}`)).body.name, 'solo');
    await expectError(gw.api('GET', '/v1/proxies/link-00000000'), 404, 'not_found', 'link-00000000');
    await expectError(gw.api('POST', '/v1/proxies', { tenantId: tenant, name: 'x', accessRegion: REGION, bandwidth: 10, concurrent: 2 }), 400, 'missing', 'originRegion');
    await expectError(gw.api('POST', '/v1/proxies', { tenantId: tenant, name: 'x', accessRegion: REGION, originRegion: REGION, bandwidth: 15, concurrent: 2 }), 400, 'not_in_options', 'bandwidth');
    await expectError(gw.api('POST', '/v1/proxies', { tenantId: tenant, name: 'x', accessRegion: REGION, originRegion: REGION, bandwidth: 10, concurrent: 'many' }), 400, 'invalid_type', 'body.concurrent');
    await expectError(gw.api('POST', '/v1/proxies', { tenantId: 'nobody', name: 'x', accessRegion: REGION, originRegion: REGION, bandwidth: 10, concurrent: 2 }), 404, 'not_found', 'nobody');

    const resized = await gw.api('PATCH', `/v1/proxies/${p.id}`, { bandwidth: 50, concurrent: 10 });
    assert.deepEqual([resized.status, resized.body.bandwidth, resized.body.concurrent, resized.body.status], [200, 50, 10, 'ADJUSTING']);
    // A task under way: a second write is refused, not half-applied.
    await expectError(gw.api('PATCH', `/v1/proxies/${p.id}`, { bandwidth: 100 }), 409, 'conflict', 'ADJUSTING');
    await applied(p.id, 'ADJUSTING');
    await expectError(gw.api('PATCH', `/v1/proxies/${p.id}`, { bandwidth: 7 }), 400, 'not_in_options', 'bandwidth');
    await expectError(gw.api('PATCH', `/v1/proxies/${p.id}`, { name: 'n', bandwidth: 10 }), 400, 'conflict', 'body.name');
    await expectError(gw.api('PATCH', `/v1/proxies/${p.id}`, { maxConnections: 10 }), 400, 'unknown_field', 'body.maxConnections');
    assert.equal((await gw.api('PATCH', `/v1/proxies/${p.id}`, { name: 'renamed' })).body.name, 'renamed');

    const closing = await gw.api('POST', `/v1/proxies/${p.id}/close`);
    assert.deepEqual([closing.status, closing.body.status], [200, 'CLOSING']);
    await expectError(gw.api('POST', `/v1/proxies/${p.id}/open`), 409, 'conflict', 'CLOSING');
    await applied(p.id, 'CLOSING');
    assert.equal((await gw.api('POST', `/v1/proxies/${p.id}/open`)).body.status, 'OPENING');
    await applied(p.id, 'OPENING');
    const gone = await gw.api('DELETE', `/v1/proxies/${p.id}`);
    assert.deepEqual([gone.status, gone.body.status], [202, 'DESTROYING']);
    await applied(p.id, 'DESTROYING');
    await expectError(gw.api('GET', `/v1/proxies/${p.id}`), 404, 'not_found', p.id);
  });

  test('listeners, origins and bindings: create, patch, bind the whole set, refuse removal while bound', async () => {
    const p = await runningProxy({ name: 'l4' });
    const made = await gw.api('POST', '/v1/listeners', { proxyId: p.id, protocol: 'tcp', ports: [8001, 8002], name: 'web', scheduler: 'wrr' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.total, 2);
    const l = made.body.items[0];
    assert.match(l.id, /^listener-[a-z0-9]{8}$/);
    assert.deepEqual([l.protocol, l.port, l.scheduler, l.originType, l.clientIp], ['tcp', 8001, 'wrr', 'ip', 'toa']);
    const udp = await gw.api('POST', '/v1/listeners', { proxyId: p.id, protocol: 'udp', ports: [8001], name: 'dns', scheduler: 'rr', udpCheck: { type: 'ping' } });
    assert.equal(udp.status, 201, JSON.stringify(udp.body));
    assert.equal(udp.body.items[0].udpCheck.type, 'ping');
    assert.equal((await gw.api('GET', `/v1/listeners?proxyId=${p.id}`)).body.total, 3);
    await expectError(gw.api('GET', '/v1/listeners'), 400, 'missing', 'proxyId');
    await expectError(gw.api('POST', '/v1/listeners', { proxyId: p.id, protocol: 'tcp', ports: [8001], name: 'again', scheduler: 'rr' }), 409, 'duplicate', 'ports[0]');
    await expectError(gw.api('POST', '/v1/listeners', { proxyId: p.id, protocol: 'tcp', ports: [70000], name: 'x', scheduler: 'rr' }), 400, 'out_of_range', 'body.ports[0]');
    await expectError(gw.api('POST', '/v1/listeners', { proxyId: p.id, protocol: 'sctp', ports: [9000], name: 'x', scheduler: 'rr' }), 400, 'not_in_options', 'body.protocol');
    await expectError(gw.api('POST', '/v1/listeners', { protocol: 'tcp', ports: [9000], name: 'x', scheduler: 'rr' }), 400, 'missing', 'body.proxyId');
    await expectError(gw.api('POST', '/v1/listeners', { proxyId: 'link-00000000', protocol: 'tcp', ports: [9000], name: 'x', scheduler: 'rr' }), 404, 'not_found', 'link-00000000');

    const patched = await gw.api('PATCH', `/v1/listeners/${l.id}`, { name: 'web2', delayLoop: 10, connectTimeout: 5 });
    assert.deepEqual([patched.status, patched.body.name, patched.body.delayLoop, patched.body.port], [200, 'web2', 10, 8001]);
    await expectError(gw.api('PATCH', `/v1/listeners/${l.id}`, { port: 9 }), 400, 'unknown_field', 'body.port');
    // Below delayLoop is a model rule, checked on the listener as it would become.
    await expectError(gw.api('PATCH', `/v1/listeners/${l.id}`, { delayLoop: 5, connectTimeout: 10 }), 400, 'out_of_range', 'connectTimeout');
    assert.equal((await gw.api('GET', `/v1/listeners/${l.id}`)).body.delayLoop, 10, 'a refused patch writes nothing');
    await expectError(gw.api('GET', '/v1/listeners/listener-00000000'), 404, 'not_found', 'listener-00000000');

    const os = await gw.api('POST', '/v1/origins', { tenantId: tenant, addresses: ['127.0.0.10', 'origin.example'], name: 'backs' });
    assert.equal(os.status, 201, JSON.stringify(os.body));
    const [ip, dom] = os.body.items;
    assert.match(ip.id, /^rs-[a-z0-9]{8}$/);
    assert.deepEqual([ip.type, dom.type], ['ip', 'domain']);
    await expectError(gw.api('POST', '/v1/origins', { tenantId: tenant, addresses: ['127.0.0.10'], name: 'again' }), 409, 'duplicate', 'addresses[0]');
    await expectError(gw.api('POST', '/v1/origins', { tenantId: tenant, addresses: [], name: 'none' }), 400, 'too_few', 'body.addresses');
    assert.equal((await gw.api('PATCH', `/v1/origins/${ip.id}`, { name: 'primary' })).body.name, 'primary');
    assert.equal((await gw.api('GET', `/v1/origins/${ip.id}`)).body.name, 'primary');
    assert.equal((await gw.api('GET', `/v1/origins?tenantId=${tenant}`)).body.total, 2);
    await expectError(gw.api('PATCH', '/v1/origins/rs-00000000', { name: 'x' }), 404, 'not_found', 'rs-00000000');

    const bound = await gw.api('PUT', `/v1/listeners/${l.id}/bindings`, { bindings: [{ originId: ip.id, port: 80, weight: 5 }, { originId: ip.id, port: 81 }] });
    assert.equal(bound.status, 200, JSON.stringify(bound.body));
    assert.deepEqual(bound.body.items.map((b: any) => [b.port, b.weight]), [[80, 5], [81, 1]]);
    await expectError(gw.api('PUT', `/v1/listeners/${l.id}/bindings`, { bindings: [{ originId: dom.id, port: 80 }] }), 409, 'conflict', 'bindings[0]');
    await expectError(gw.api('PUT', `/v1/listeners/${l.id}/bindings`, { bindings: [{ originId: ip.id, port: 0 }] }), 400, 'out_of_range', 'body.bindings[0].port');
    await expectError(gw.api('PUT', `/v1/listeners/${l.id}/bindings`, { bindings: [{ originId: 'rs-00000000', port: 80 }] }), 404, 'not_found', 'bindings[0].originId');
    assert.equal((await gw.api('GET', `/v1/listeners/${l.id}/bindings`)).body.total, 2);

    await expectError(gw.api('DELETE', `/v1/origins/${ip.id}`), 409, 'in_use', ip.id);
    await expectError(gw.api('DELETE', `/v1/listeners/${l.id}`), 409, 'in_use', l.id);
    assert.equal((await gw.api('PUT', `/v1/listeners/${l.id}/bindings`, { bindings: [{ originId: ip.id, port: 80 }] })).body.total, 1);
    assert.equal((await gw.api('DELETE', `/v1/listeners/${l.id}?force=true`)).status, 204);
    await expectError(gw.api('GET', `/v1/listeners/${l.id}/bindings`), 404, 'not_found', l.id);
    assert.equal((await gw.api('DELETE', `/v1/origins/${ip.id}`)).status, 204);
    await expectError(gw.api('GET', `/v1/origins/${ip.id}`), 404, 'not_found', ip.id);

    // A group's listener is a template its proxies carry.
    const g = (await gw.api('POST', '/v1/connection-groups', { tenantId: tenant, name: 'tg', originRegion: REGION })).body;
    const gl = await gw.api('POST', '/v1/listeners', { groupId: g.id, protocol: 'tcp', ports: [8100], name: 'tpl', scheduler: 'rr' });
    assert.equal(gl.status, 201, JSON.stringify(gl.body));
    assert.deepEqual((await gw.api('GET', `/v1/listeners?groupId=${g.id}`)).body.items.map((x: any) => x.id), [gl.body.items[0].id]);
  });

  test('what /v1 makes the Tencent GAAP face sees, and the other way round', async () => {
    const g = (await gw.api('POST', '/v1/connection-groups', { tenantId: tenant, name: 'shared', originRegion: REGION, cloudProjectId: 0 })).body;
    const d = (await call(sdk, 'DescribeProxyGroupDetails', { GroupId: g.id })).ProxyGroupDetail;
    assert.deepEqual([d.GroupId, d.GroupName, d.RealServerRegionInfo.RegionId], [g.id, 'shared', REGION]);

    const made = await call(sdk, 'CreateProxy', { ProjectId: 0, ProxyName: 'from-sdk', AccessRegion: REGION, RealServerRegion: REGION, Bandwidth: 20, Concurrent: 5, GroupId: g.id });
    const seen = await gw.api('GET', `/v1/proxies/${made.InstanceId}`);
    assert.equal(seen.status, 200, JSON.stringify(seen.body));
    assert.deepEqual([seen.body.name, seen.body.tenantId, seen.body.groupId, seen.body.bandwidth, seen.body.concurrent], ['from-sdk', tenant, g.id, 20, 5]);
    assert.deepEqual((await gw.api('GET', `/v1/connection-groups/${g.id}`)).body.proxyIds, [made.InstanceId]);

    // A region the operator adds through /v1 is offered to tenants.
    await gw.api('PUT', '/v1/l4-regions/far', { name: 'Far', access: true, origin: false, bandwidths: [10], concurrencies: [2], pool: ['127.0.3.1'] });
    const access = (await call(sdk, 'DescribeAccessRegions')).AccessRegionSet.map((r: any) => r.RegionId);
    assert.ok(access.includes('far'), JSON.stringify(access));
    const p = await runningProxy({ name: 'far-one', accessRegion: 'far' });
    const detail = (await call(sdk, 'DescribeProxyDetail', { ProxyId: p.id })).ProxyDetail;
    assert.deepEqual([detail.ProxyName, detail.IP, detail.Status], ['far-one', '127.0.3.1', 'RUNNING']);
  });
  describe('the operator\'s L4 settings: budget overrides on proxies, options on listeners', () => {
    // A region the gateway does not serve by default, so no data plane moves these proxies:
    // each state change here is the one this test reports.
    const OPS = 'l4-ops';
    async function opsProxy(extra: Record<string, unknown> = {}): Promise<any> {
      const r = await gw.api('POST', '/v1/proxies', { tenantId: tenant, name: 'ops', accessRegion: OPS, originRegion: OPS, bandwidth: 10, concurrent: 2, ...extra });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(await applied(r.body.id, r.body.status), 'RUNNING');
      return (await gw.api('GET', `/v1/proxies/${r.body.id}`)).body;
    }
    async function adjusted(id: string): Promise<any> {
      assert.equal(await applied(id, 'ADJUSTING'), 'RUNNING');
      return (await gw.api('GET', `/v1/proxies/${id}`)).body;
    }
    const gaapFails = async (p: Promise<unknown>, code: string, names: string) => assert.rejects(p, (e: { code?: string; message: string }) => {
      assert.equal(e.code, code, e.message);
      assert.ok(e.message.includes(names), `message names ${names}: ${e.message}`);
      return true;
    });

    before(async () => {
      const r = await gw.api('PUT', `/v1/l4-regions/${OPS}`, { name: 'Ops', access: true, origin: true, bandwidths: [10, 20], concurrencies: [2, 5], pool: ['127.0.5.0/28'] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    });

    test('the OpenAPI document describes them', async () => {
      const doc = (await gw.api('GET', '/v1/openapi.json')).body;
      const body = (path: string, verb: string) => doc.paths[path][verb].requestBody.content['application/json'].schema.properties;
      for (const f of ['connectionCap', 'byteRate']) {
        assert.ok(body('/v1/proxies/{id}', 'patch')[f].description.includes('null'), `PATCH /v1/proxies/{id} ${f}`);
        assert.ok(body('/v1/proxies', 'post')[f].description, `POST /v1/proxies ${f}`);
      }
      for (const f of ['proxyProtocolVersion', 'idleTimeout', 'sessionPersist']) {
        assert.ok(body('/v1/listeners', 'post')[f].description, `POST /v1/listeners ${f}`);
        assert.ok(body('/v1/listeners/{id}', 'patch')[f].description, `PATCH /v1/listeners/{id} ${f}`);
      }
      assert.ok(doc.paths['/v1/proxies/{id}'].get.description.includes('budget'));
    });

    test('proxies: connectionCap and byteRate set, shown with the budget in force, reset by null; every bad value refused', async () => {
      const p = await opsProxy();
      assert.deepEqual([p.connectionCap, p.byteRate, p.budget], [null, null, { byteRate: 1_250_000, connectionCap: 20_000 }], 'unset: the size\'s own');
      const listed = (await gw.api('GET', `/v1/proxies?tenantId=${tenant}&limit=500`)).body.items.find((x: any) => x.id === p.id);
      assert.deepEqual(listed.budget, { byteRate: 1_250_000, connectionCap: 20_000 }, 'lists show it too');

      const set = await gw.api('PATCH', `/v1/proxies/${p.id}`, { connectionCap: 3, byteRate: 100_000 });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual([set.body.status, set.body.connectionCap, set.body.byteRate, set.body.budget], ['ADJUSTING', 3, 100_000, { byteRate: 100_000, connectionCap: 3 }]);
      await expectError(gw.api('PATCH', `/v1/proxies/${p.id}`, { byteRate: 200_000 }), 409, 'conflict', 'ADJUSTING');
      let now = await adjusted(p.id);
      assert.deepEqual([now.status, now.budget], ['RUNNING', { byteRate: 100_000, connectionCap: 3 }]);

      now = (await gw.api('PATCH', `/v1/proxies/${p.id}`, { byteRate: null })).body;
      assert.deepEqual([now.byteRate, now.connectionCap, now.budget], [null, 3, { byteRate: 1_250_000, connectionCap: 3 }]);
      await adjusted(p.id);
      now = (await gw.api('PATCH', `/v1/proxies/${p.id}`, { bandwidth: 20, connectionCap: null })).body;
      assert.deepEqual([now.bandwidth, now.connectionCap, now.budget], [20, null, { byteRate: 2_500_000, connectionCap: 20_000 }]);
      await adjusted(p.id);

      const made = await gw.api('POST', '/v1/proxies', { tenantId: tenant, name: 'capped', accessRegion: OPS, originRegion: OPS, bandwidth: 10, concurrent: 2, connectionCap: 0 });
      assert.deepEqual([made.status, made.body.connectionCap, made.body.budget.connectionCap], [201, 0, 0], 'set at creation; 0 refuses every new connection');

      const before = await gw.api('GET', `/v1/proxies/${p.id}`);
      for (const [body, code, field] of [
        [{ connectionCap: '5' }, 'invalid_type', 'body.connectionCap'],
        [{ connectionCap: 2.5 }, 'invalid_type', 'body.connectionCap'],
        [{ connectionCap: true }, 'invalid_type', 'body.connectionCap'],
        [{ connectionCap: -1 }, 'out_of_range', 'body.connectionCap'],
        [{ connectionCap: 10_000_001 }, 'out_of_range', 'body.connectionCap'],
        [{ byteRate: 999 }, 'out_of_range', 'body.byteRate'],
        [{ byteRate: 125_000_000_001 }, 'out_of_range', 'body.byteRate'],
        [{ byteRate: {} }, 'invalid_type', 'body.byteRate'],
        [{ byteRate: 1e300 }, 'out_of_range', 'body.byteRate'],
      ] as const) {
        await expectError(gw.api('PATCH', `/v1/proxies/${p.id}`, body), 400, code, field);
        await expectError(gw.api('POST', '/v1/proxies', { tenantId: tenant, name: 'x', accessRegion: OPS, originRegion: OPS, bandwidth: 10, concurrent: 2, ...body }), 400, code, field);
      }
      await expectError(gw.api('PATCH', `/v1/proxies/${p.id}`, { name: 'n', byteRate: 5_000 }), 400, 'conflict', 'body.name');
      await expectError(gw.api('PATCH', `/v1/proxies/${p.id}`, {}), 400, 'missing', 'connectionCap');
      await expectError(gw.api('PATCH', '/v1/proxies/link-00000000', { byteRate: 5_000 }), 404, 'not_found', 'link-00000000');
      assert.deepEqual((await gw.api('GET', `/v1/proxies/${p.id}`)).body, before.body, 'refused writes change nothing');
    });

    test('listeners: proxyProtocolVersion, idleTimeout, sessionPersist on create and patch, effective values shown; every bad value refused', async () => {
      const p = await opsProxy();
      const base = { proxyId: p.id, name: 'l', scheduler: 'rr' };
      const tcp = await gw.api('POST', '/v1/listeners', { ...base, protocol: 'tcp', ports: [9101], clientIp: 'proxy_protocol', proxyProtocolVersion: 2, idleTimeout: 60, sessionPersist: 30 });
      assert.equal(tcp.status, 201, JSON.stringify(tcp.body));
      const t0 = tcp.body.items[0];
      assert.deepEqual([t0.proxyProtocolVersion, t0.idleTimeout, t0.sessionPersist, t0.effective], [2, 60, 30, { proxyProtocolVersion: 2, idleTimeout: 60 }]);
      const udp = (await gw.api('POST', '/v1/listeners', { ...base, protocol: 'udp', ports: [9101], idleTimeout: 30 })).body.items[0];
      assert.deepEqual([udp.proxyProtocolVersion, udp.idleTimeout, udp.effective], [null, 30, { proxyProtocolVersion: null, idleTimeout: 30 }]);
      const toa = (await gw.api('POST', '/v1/listeners', { ...base, protocol: 'tcp', ports: [9102] })).body.items[0];
      assert.deepEqual([toa.clientIp, toa.proxyProtocolVersion, toa.idleTimeout, toa.sessionPersist, toa.effective], ['toa', null, null, 0, { proxyProtocolVersion: null, idleTimeout: 900 }]);
      const v1 = (await gw.api('POST', '/v1/listeners', { ...base, protocol: 'tcp', ports: [9103], clientIp: 'proxy_protocol' })).body.items[0];
      assert.deepEqual([v1.proxyProtocolVersion, v1.effective.proxyProtocolVersion], [null, 1], 'GAAP\'s v1 unless asked');

      const patched = await gw.api('PATCH', `/v1/listeners/${t0.id}`, { proxyProtocolVersion: 1, idleTimeout: 86_400, sessionPersist: 0 });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual([patched.body.proxyProtocolVersion, patched.body.idleTimeout, patched.body.sessionPersist], [1, 86_400, 0]);
      const reset = (await gw.api('PATCH', `/v1/listeners/${t0.id}`, { proxyProtocolVersion: null, idleTimeout: null })).body;
      assert.deepEqual([reset.proxyProtocolVersion, reset.idleTimeout, reset.effective], [null, null, { proxyProtocolVersion: 1, idleTimeout: 900 }]);
      assert.deepEqual((await gw.api('GET', `/v1/listeners/${t0.id}`)).body.effective, { proxyProtocolVersion: 1, idleTimeout: 900 });
      assert.ok((await gw.api('GET', `/v1/listeners?proxyId=${p.id}`)).body.items.every((l: any) => typeof l.effective.idleTimeout === 'number'));

      const create = (extra: Record<string, unknown>) => gw.api('POST', '/v1/listeners', { ...base, protocol: 'tcp', ports: [9200], ...extra });
      await expectError(create({ protocol: 'udp', proxyProtocolVersion: 2 }), 409, 'conflict', 'proxyProtocolVersion');
      await expectError(create({ clientIp: 'toa', proxyProtocolVersion: 2 }), 409, 'conflict', 'proxyProtocolVersion');
      await expectError(create({ proxyProtocolVersion: 1 }), 409, 'conflict', 'proxyProtocolVersion');
      await expectError(create({ clientIp: 'proxy_protocol', proxyProtocolVersion: 3 }), 400, 'not_in_options', 'body.proxyProtocolVersion');
      await expectError(create({ clientIp: 'proxy_protocol', proxyProtocolVersion: '2' }), 400, 'not_in_options', 'body.proxyProtocolVersion');
      await expectError(create({ clientIp: 'proxy_protocol', proxyProtocolVersion: null }), 400, 'not_in_options', 'body.proxyProtocolVersion');
      await expectError(create({ idleTimeout: 0 }), 400, 'out_of_range', 'body.idleTimeout');
      await expectError(create({ idleTimeout: 86_401 }), 400, 'out_of_range', 'body.idleTimeout');
      await expectError(create({ idleTimeout: '60' }), 400, 'invalid_type', 'body.idleTimeout');
      await expectError(create({ idleTimeout: 1.5 }), 400, 'invalid_type', 'body.idleTimeout');
      await expectError(create({ sessionPersist: 3_601 }), 400, 'out_of_range', 'body.sessionPersist');
      await expectError(create({ sessionPersist: -1 }), 400, 'out_of_range', 'body.sessionPersist');
      await expectError(create({ sessionPersist: null }), 400, 'invalid_type', 'body.sessionPersist');
      await expectError(gw.api('PATCH', `/v1/listeners/${udp.id}`, { proxyProtocolVersion: 2 }), 409, 'conflict', 'proxyProtocolVersion');
      await expectError(gw.api('PATCH', `/v1/listeners/${toa.id}`, { proxyProtocolVersion: 1 }), 409, 'conflict', 'proxyProtocolVersion');
      await expectError(gw.api('PATCH', `/v1/listeners/${udp.id}`, { idleTimeout: 0 }), 400, 'out_of_range', 'body.idleTimeout');
      await expectError(gw.api('PATCH', `/v1/listeners/${udp.id}`, { idleTimeout: 'long' }), 400, 'invalid_type', 'body.idleTimeout');
      await expectError(gw.api('PATCH', `/v1/listeners/${udp.id}`, { sessionPersist: 7_200 }), 400, 'out_of_range', 'body.sessionPersist');
      assert.equal((await gw.api('GET', `/v1/listeners?proxyId=${p.id}`)).body.total, 4, 'no refused create wrote a listener');
      assert.equal((await gw.api('GET', `/v1/listeners/${udp.id}`)).body.idleTimeout, 30, 'no refused patch wrote');
    });

    test('the tenant\'s GAAP face cannot reach them, keeps them through its own modifies, and a clone copies them', async () => {
      const p = await opsProxy();
      await gw.api('PATCH', `/v1/proxies/${p.id}`, { byteRate: 50_000, connectionCap: 8 });
      await adjusted(p.id);
      const tl = (await gw.api('POST', '/v1/listeners', { proxyId: p.id, protocol: 'tcp', ports: [9301], name: 't', scheduler: 'rr', clientIp: 'proxy_protocol', proxyProtocolVersion: 2, idleTimeout: 45, sessionPersist: 20 })).body.items[0];
      const ul = (await gw.api('POST', '/v1/listeners', { proxyId: p.id, protocol: 'udp', ports: [9301], name: 'u', scheduler: 'rr', idleTimeout: 300 })).body.items[0];

      // The tenant resizes: its bandwidth changes, the operator's byteRate stays the budget.
      await call(sdk, 'ModifyProxyConfiguration', { ProxyId: p.id, Bandwidth: 20 });
      assert.equal((await call(sdk, 'DescribeProxyDetail', { ProxyId: p.id })).ProxyDetail.Bandwidth, 20);
      let now = await adjusted(p.id);
      assert.deepEqual([now.bandwidth, now.byteRate, now.connectionCap, now.budget], [20, 50_000, 8, { byteRate: 50_000, connectionCap: 8 }]);
      await call(sdk, 'ModifyProxyConfiguration', { InstanceId: p.id, Concurrent: 5 });
      now = await adjusted(p.id);
      assert.deepEqual([now.concurrent, now.budget], [5, { byteRate: 50_000, connectionCap: 8 }]);

      // The tenant modifies its listeners: what it names changes, the operator's options stay.
      await call(sdk, 'ModifyTCPListenerAttribute', { ListenerId: tl.id, ProxyId: p.id, ListenerName: 'renamed', DelayLoop: 10, ConnectTimeout: 4 });
      await call(sdk, 'ModifyUDPListenerAttribute', { ListenerId: ul.id, ListenerName: 'u2', Scheduler: 'wrr' });
      const t1 = (await gw.api('GET', `/v1/listeners/${tl.id}`)).body;
      assert.deepEqual([t1.name, t1.delayLoop, t1.proxyProtocolVersion, t1.idleTimeout, t1.sessionPersist], ['renamed', 10, 2, 45, 20]);
      const u1 = (await gw.api('GET', `/v1/listeners/${ul.id}`)).body;
      assert.deepEqual([u1.name, u1.scheduler, u1.idleTimeout], ['u2', 'wrr', 300]);
      const seen = (await call(sdk, 'DescribeTCPListeners', { ProxyId: p.id })).ListenerSet[0];
      assert.deepEqual([seen.ListenerName, seen.ClientIPMethod, seen.SessionPersist], ['renamed', 1, 20], 'SessionPersist is read-only through GAAP');

      // GAAP has no parameters for them: unknown to the face, nothing written.
      const r0 = await gw.sluice.store.revision();
      await gaapFails(call(sdk, 'ModifyProxyConfiguration', { ProxyId: p.id, Bandwidth: 10, ByteRate: 1_000_000 }), 'UnknownParameter', 'ByteRate');
      await gaapFails(call(sdk, 'ModifyTCPListenerAttribute', { ListenerId: tl.id, IdleTimeout: 5 }), 'UnknownParameter', 'IdleTimeout');
      await gaapFails(call(sdk, 'ModifyTCPListenerAttribute', { ListenerId: tl.id, SessionPersist: 5 }), 'UnknownParameter', 'SessionPersist');
      await gaapFails(call(sdk, 'CreateTCPListeners', { ProxyId: p.id, ListenerName: 'x', Ports: [9302], Scheduler: 'rr', RealServerType: 'IP', ClientIPMethod: 1, ProxyProtocolVersion: 2 }), 'UnknownParameter', 'ProxyProtocolVersion');
      assert.equal(await gw.sluice.store.revision(), r0);

      // A tenant's clone sells what the source sells.
      const cloned = await call(sdk, 'CreateProxy', { ProjectId: 0, ProxyName: 'clone', AccessRegion: OPS, RealServerRegion: OPS, Bandwidth: 10, Concurrent: 2, ClonedProxyId: p.id });
      const c = (await gw.api('GET', `/v1/proxies/${cloned.InstanceId}`)).body;
      assert.deepEqual([c.status, c.byteRate, c.connectionCap, c.budget], ['CLONING', 50_000, 8, { byteRate: 50_000, connectionCap: 8 }]);
      const copies = (await gw.api('GET', `/v1/listeners?proxyId=${c.id}`)).body.items.sort((a: any, b: any) => (a.protocol < b.protocol ? -1 : 1));
      assert.deepEqual(copies.map((l: any) => [l.protocol, l.proxyProtocolVersion, l.idleTimeout, l.sessionPersist]), [['tcp', 2, 45, 20], ['udp', null, 300, 0]]);
    });
  });
});
