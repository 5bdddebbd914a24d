import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import clientModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/apigateway/v20180808/apigateway_client.js';
import gaapModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/gaap/v20180529/gaap_client.js';
import { startBackends, type Backend } from '../helpers/backends.js';
import { startSluiceProcess, type SluiceProcess } from '../helpers/cli.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createServer } from 'node:net';

// The official SDK honours http_proxy: traffic in tests stays on loopback.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

const { Client } = clientModule as unknown as { Client: new (cfg: unknown) => SdkClient };
const { Client: GaapClient } = gaapModule as unknown as { Client: new (cfg: unknown) => SdkClient & { DescribeProxyGroupList: SdkCall } };
type SdkCall = (req: Record<string, unknown>) => Promise<Record<string, any>>;
interface SdkClient {
  CreateUpstream: SdkCall; DescribeUpstreams: SdkCall; ModifyUpstream: SdkCall; DeleteUpstream: SdkCall; DescribeUpstreamBindApis: SdkCall;
  request(action: string, req: Record<string, unknown>): Promise<Record<string, any>>;
  apiVersion: string;
}

describe('Tencent API 3.0 dialect, driven by tencentcloud-sdk-nodejs', () => {
  let gw: SluiceProcess;
  let backends: Backend[];
  const keys: Record<string, { secretId: string; secretKey: string; tenantId: string }> = {};

  async function op(method: string, path: string, body?: unknown) {
    const res = await fetch(gw.adminUrl + path, { method, headers: { authorization: `Bearer ${gw.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  function client(who: string, opts: { method?: 'GET' | 'POST'; secretKey?: string; secretId?: string; region?: string } = {}): SdkClient {
    const k = keys[who]!;
    return new Client({
      credential: { secretId: opts.secretId ?? k.secretId, secretKey: opts.secretKey ?? k.secretKey },
      region: opts.region ?? 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqMethod: opts.method ?? 'POST', reqTimeout: 10 } },
    });
  }

  async function fails(p: Promise<unknown>, code: string, names?: string) {
    await assert.rejects(p, (err: { code?: string; message: string }) => {
      assert.equal(err.code, code, err.message);
      if (names) assert.ok(err.message.includes(names), `message names ${names}: ${err.message}`);
      return true;
    });
  }

  const node = (b: Backend, weight = 10) => ({ Host: '127.0.0.1', Port: b.port, Weight: weight });
  const HEALTH = { EnableActiveCheck: false, EnablePassiveCheck: true, HealthyHttpStatus: '200', UnhealthyHttpStatus: '500,502-504', TcpFailureThreshold: 3, TimeoutThreshold: 3, HttpFailureThreshold: 0, UnhealthyTimeout: 30 };

  before(async () => {
    gw = await startSluiceProcess();
    backends = await startBackends(['n1', 'n2', 'n3']);
    for (const who of ['alice', 'mallory', 'burst']) {
      const t = await op('POST', '/v1/tenants', { name: who });
      const k = await op('POST', `/v1/tenants/${t.body.id}/keys`);
      keys[who] = { secretId: k.body.secretId, secretKey: k.body.secretKey, tenantId: t.body.id };
    }
  });
  after(async () => {
    await gw.cleanup();
    await Promise.all(backends.map((b) => b.close()));
  });

  async function traffic(host: string, n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await request(`${gw.proxyUrl}/`, { headers: { host } });
      assert.equal(r.statusCode, 200);
      seen.add(((await r.body.json()) as { name: string }).name);
    }
    return seen;
  }

  test('the lifecycle of an upstream over POST, with real traffic', async () => {
    const c = client('alice');
    const created = await c.CreateUpstream({
      UpstreamName: 'orders', UpstreamDescription: 'order service', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-12345678',
      Retries: 2, UpstreamHost: 'orders.internal', Nodes: backends.map((b) => ({ ...node(b), Tags: ['blue'], VmInstanceId: 'ins-1' })),
      HealthChecker: HEALTH,
      K8sService: [{ Weight: 10, ClusterId: 'cls-1', Namespace: 'default', ServiceName: 'orders', Port: 80, ExtraLabels: [{ Key: 'app', Value: 'orders' }], Name: 'orders-svc' }],
      Tags: [{ Key: 'env', Value: 'test' }],
    });
    const id = created.UpstreamId as string;
    assert.match(id, /^upstream-[a-z0-9]{8}$/, 'Tencent\'s id form');
    assert.ok(created.RequestId);

    const d = await c.DescribeUpstreams({ Limit: 10, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [id] }] });
    assert.equal(d.Result.TotalCount, 1);
    const info = d.Result.UpstreamSet[0];
    assert.equal(info.UpstreamName, 'orders');
    assert.equal(info.Scheme, 'HTTP');
    assert.equal(info.Algorithm, 'ROUND-ROBIN');
    assert.equal(info.UniqVpcId, 'vpc-12345678');
    assert.equal(info.Retries, 2);
    assert.equal(info.UpstreamHost, 'orders.internal');
    assert.equal(info.UpstreamType, 'IP_PORT');
    assert.deepEqual(info.Tags, [{ Key: 'env', Value: 'test' }]);
    assert.equal(info.K8sServices[0].Name, 'orders-svc');
    assert.equal(info.HealthChecker.UnhealthyHttpStatus, '500,502-504');
    assert.equal(info.HealthChecker.EnablePassiveCheck, true);
    assert.equal(info.Nodes.length, 3);
    assert.deepEqual(info.Nodes[0].Tags, ['blue']);
    assert.equal(info.Nodes[0].Weight, 10);
    assert.ok(['HEALTHY', 'NO_DATA'].includes(info.Nodes[0].Healthy), info.Nodes[0].Healthy);

    // Bound through the operator API; traffic reaches the SDK-created nodes.
    const route = await op('POST', '/v1/routes', { upstreamId: id, hosts: ['tc.test'], name: 'orders-api' });
    assert.equal(route.status, 201);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual([...(await traffic('tc.test', 6))].sort(), ['n1', 'n2', 'n3']);

    const binds = await c.DescribeUpstreamBindApis({ Limit: 10, Offset: 0, UpstreamId: id });
    assert.equal(binds.Result.TotalCount, 1);
    assert.equal(binds.Result.BindApiSet[0].ApiId, route.body.id);
    assert.equal(binds.Result.BindApiSet[0].ApiName, 'orders-api');

    const m = await c.ModifyUpstream({ UpstreamId: id, Algorithm: 'ROUND_ROBIN', Nodes: [node(backends[2]!, 50)] });
    assert.equal(m.Result.Algorithm, 'ROUND_ROBIN', 'echoed as sent');
    assert.equal(m.Result.UpstreamName, 'orders', 'omitted fields stay');
    assert.equal(m.Result.Tags, undefined, 'ModifyUpstreamResultInfo has no Tags');
    assert.equal(m.Result.Nodes.length, 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual([...(await traffic('tc.test', 4))], ['n3']);

    await fails(c.DeleteUpstream({ UpstreamId: id }), 'UnsupportedOperation.UnsupportedDeleteUpstream');
    assert.equal((await op('DELETE', `/v1/routes/${route.body.id}`)).status, 204);
    assert.equal((await c.DeleteUpstream({ UpstreamId: id })).UpstreamId, id);
    assert.equal((await c.DescribeUpstreams({ Limit: 10, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [id] }] })).Result.TotalCount, 0);
  });

  test('over GET: flattened parameters are coerced and the same upstream comes back', async () => {
    const c = client('alice', { method: 'GET' });
    const { UpstreamId: id } = await c.CreateUpstream({
      UpstreamName: 'by-get', Scheme: 'HTTPS', Algorithm: 'ROUND_ROBIN', UniqVpcId: 'vpc-get', Retries: 5,
      Nodes: [{ Host: '10.0.0.1', Port: 8443, Weight: 30, Tags: ['a', 'b'] }, { Host: '10.0.0.2', Port: 8443, Weight: 0 }],
      HealthChecker: { ...HEALTH, EnableActiveCheck: true, ActiveCheckHttpPath: '/ping', ActiveCheckInterval: 10, ActiveCheckTimeout: 2 },
    });
    const info = (await c.DescribeUpstreams({ Limit: 1, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [id] }] })).Result.UpstreamSet[0];
    assert.equal(info.Scheme, 'HTTPS');
    assert.equal(info.Algorithm, 'ROUND_ROBIN');
    assert.equal(info.Retries, 5);
    assert.deepEqual(info.Nodes.map((n: { Port: number; Weight: number }) => [n.Port, n.Weight]), [[8443, 30], [8443, 0]]);
    assert.deepEqual(info.Nodes[0].Tags, ['a', 'b']);
    assert.equal(info.HealthChecker.EnableActiveCheck, true);
    assert.equal(info.HealthChecker.ActiveCheckInterval, 10);
    assert.equal(info.HealthChecker.ActiveCheckHttpPath, '/ping');
    assert.equal((await c.DeleteUpstream({ UpstreamId: id })).UpstreamId, id);
  });

  test('DescribeUpstreams pages and filters', async () => {
    const c = client('alice', { region: 'ap-shanghai' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await c.CreateUpstream({ UpstreamName: `page-${i}`, Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-p' })).UpstreamId);
    const all = await c.DescribeUpstreams({ Limit: 100, Offset: 0 });
    assert.equal(all.Result.TotalCount, 5, 'only this region\'s upstreams');
    const page = await c.DescribeUpstreams({ Limit: 2, Offset: 1 });
    assert.equal(page.Result.TotalCount, 5);
    assert.deepEqual(page.Result.UpstreamSet.map((u: { UpstreamId: string }) => u.UpstreamId), ids.slice(1, 3));
    const byName = await c.DescribeUpstreams({ Limit: 10, Offset: 0, Filters: [{ Name: 'UpstreamName', Values: ['page-3', 'page-4'] }] });
    assert.deepEqual(byName.Result.UpstreamSet.map((u: { UpstreamName: string }) => u.UpstreamName).sort(), ['page-3', 'page-4']);
    const both = await c.DescribeUpstreams({ Limit: 10, Offset: 0, Filters: [{ Name: 'UpstreamName', Values: ['page-3'] }, { Name: 'UpstreamId', Values: [ids[4]!] }] });
    assert.equal(both.Result.TotalCount, 0, 'filters are ANDed');
    // Another region does not see them.
    assert.equal((await client('alice', { region: 'ap-beijing' }).DescribeUpstreams({ Limit: 10, Offset: 0 })).Result.TotalCount, 0);
  });

  test('authentication failures', async () => {
    await fails(client('alice', { secretKey: 'wrong-secret-key-0000000000000000' }).DescribeUpstreams({ Limit: 1, Offset: 0 }), 'AuthFailure.SignatureFailure');
    await fails(client('alice', { secretId: 'AKIDdoesnotexist000000000000000000' }).DescribeUpstreams({ Limit: 1, Offset: 0 }), 'AuthFailure.SecretIdNotFound');
    const getTime = Date.prototype.getTime;
    Date.prototype.getTime = function stale(this: Date) { return getTime.call(this) - 400_000; };
    try {
      await fails(client('alice').DescribeUpstreams({ Limit: 1, Offset: 0 }), 'AuthFailure.SignatureExpire');
    } finally {
      Date.prototype.getTime = getTime;
    }
    const res = await fetch(`${gw.adminUrl}/`, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json', 'x-tc-action': 'DescribeUpstreams' }, body: '{}' });
    assert.equal(res.status, 200, 'errors are HTTP 200');
    assert.equal(((await res.json()) as { Response: { Error: { Code: string } } }).Response.Error.Code, 'AuthFailure.InvalidAuthorization');
  });

  test('bad parameters answer the documented code and name the parameter', async () => {
    const c = client('alice');
    const base = { Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-x' };
    await fails(c.CreateUpstream({ Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-x' }), 'MissingParameter', 'Scheme');
    await fails(c.CreateUpstream({ ...base, Algorithm: 'LEAST-CONN' }), 'InvalidParameterValue.NotInOptions', 'Algorithm');
    await fails(c.CreateUpstream({ ...base, Nodes: [{ Host: '10.0.0.1', Port: 80, Weight: 101 }] }), 'InvalidParameterValue.RangeExceeded', 'Nodes.0.Weight');
    await fails(c.CreateUpstream({ ...base, Nodes: [{ Host: '10.0.0.1', Port: 70000, Weight: 1 }] }), 'InvalidParameterValue.RangeExceeded', 'Nodes.0.Port');
    await fails(c.CreateUpstream({ ...base, Nodes: [{ Host: '10.0.0.1', Port: '80', Weight: 1 }] }), 'InvalidParameter.FormatError', 'Nodes.0.Port');
    await fails(c.CreateUpstream({ ...base, Colour: 'blue' }), 'UnknownParameter', 'Colour');
    await fails(c.DescribeUpstreams({ Limit: 10, Offset: 0, Filters: [{ Name: 'Colour', Values: ['x'] }] }), 'InvalidParameterValue.InvalidFilterNotSupportedName', 'Filters.0.Name');
    await fails(c.DescribeUpstreams({ Offset: 0 }), 'MissingParameter', 'Limit');
    await fails(c.request('CreateWidget', {}), 'InvalidAction', 'CreateWidget');
    const old = client('alice');
    old.apiVersion = '2017-03-12';
    await fails(old.DescribeUpstreams({ Limit: 1, Offset: 0 }), 'NoSuchVersion');
    await fails(c.ModifyUpstream({ UpstreamId: 'f'.repeat(32) }), 'InvalidParameterValue.InvalidUpstream', 'UpstreamId');
  });

  test('API 3.0 dispatches by service: GAAP (2018-05-29) is a service of its own, not an unknown version', async () => {
    const k = keys.alice!;
    const gaap = new GaapClient({
      credential: { secretId: k.secretId, secretKey: k.secretKey }, region: 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqTimeout: 10 } },
    });
    // The GAAP client's own version reaches GAAP: one of its actions answers there, one it lacks is InvalidAction there.
    assert.equal((await gaap.DescribeProxyGroupList({ Limit: 10, Offset: 0, ProjectId: -1 })).TotalCount, 0);
    await fails(gaap.request('DescribeWidgets', {}), 'InvalidAction', 'gaap');
    // An API Gateway action under GAAP's version is not found in GAAP, and the reverse.
    await fails(gaap.request('DescribeUpstreams', { Limit: 1, Offset: 0 }), 'InvalidAction', 'DescribeUpstreams');
    await fails(client('alice').request('DescribeProxyGroupList', { Limit: 1, Offset: 0 }), 'InvalidAction', 'apigateway');
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      await fails(gaap.request(name, {}), 'InvalidAction');
      await fails(client('alice').request(name, {}), 'InvalidAction');
    }
  });

  test('another tenant\'s upstream is not found, and its data never shown', async () => {
    const mine = await client('alice').CreateUpstream({ UpstreamName: 'private', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-secret', Nodes: [node(backends[0]!)] });
    const other = client('mallory');
    await fails(other.DeleteUpstream({ UpstreamId: mine.UpstreamId }), 'ResourceNotFound');
    await fails(other.ModifyUpstream({ UpstreamId: mine.UpstreamId, Retries: 1 }), 'InvalidParameterValue.InvalidUpstream');
    await fails(other.DescribeUpstreamBindApis({ Limit: 10, Offset: 0, UpstreamId: mine.UpstreamId }), 'ResourceNotFound');
    assert.equal((await other.DescribeUpstreams({ Limit: 10, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [mine.UpstreamId] }] })).Result.TotalCount, 0);
  });

  test('Tencent\'s documented health-check defaults (timeout 5 with interval 5), sent or defaulted, are accepted and shown as sent', async () => {
    const c = client('alice');
    const sent = await c.CreateUpstream({
      UpstreamName: 'five-five', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-5',
      HealthChecker: { ...HEALTH, EnableActiveCheck: true, ActiveCheckTimeout: 5, ActiveCheckInterval: 5 },
    });
    const defaulted = await c.CreateUpstream({
      UpstreamName: 'defaults', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-5',
      HealthChecker: { ...HEALTH, EnableActiveCheck: true },
    });
    for (const id of [sent.UpstreamId, defaulted.UpstreamId]) {
      const h = (await c.DescribeUpstreams({ Limit: 1, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [id] }] })).Result.UpstreamSet[0].HealthChecker;
      assert.equal(h.ActiveCheckTimeout, 5, 'as sent, or Tencent\'s default');
      assert.equal(h.ActiveCheckInterval, 5);
    }
    // Modify with the same pair is accepted too, and the probe's own timeout stays below the interval.
    await c.ModifyUpstream({ UpstreamId: sent.UpstreamId, HealthChecker: { ...HEALTH, EnableActiveCheck: true, ActiveCheckTimeout: 5, ActiveCheckInterval: 5 } });
    const native = await op('GET', `/v1/upstreams/${sent.UpstreamId}`);
    assert.ok(native.body.healthCheck.timeout < native.body.healthCheck.interval, JSON.stringify(native.body.healthCheck));
    for (const id of [sent.UpstreamId, defaulted.UpstreamId]) await c.DeleteUpstream({ UpstreamId: id });
  });

  test('a health-check refusal names the Tencent parameter, never an internal field', async () => {
    const c = client('alice');
    const base = { Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-x' };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ ...HEALTH, EnableActiveCheck: true, ActiveCheckInterval: 1 }, 'InvalidParameterValue.RangeExceeded', 'HealthChecker.ActiveCheckInterval'],
      [{ ...HEALTH, UnhealthyHttpStatus: '700' }, 'InvalidParameter.FormatError', 'HealthChecker.UnhealthyHttpStatus'],
      [{ ...HEALTH, ActiveRequestHeader: [{ Key: 'bad name', Value: 'x' }] }, 'InvalidParameter.FormatError', 'HealthChecker.ActiveRequestHeader'],
    ];
    for (const [HealthChecker, code, names] of cases) {
      await assert.rejects(c.CreateUpstream({ ...base, HealthChecker }), (err: { code?: string; message: string }) => {
        assert.ok([code, 'InvalidParameterValue.RangeExceeded', 'InvalidParameter.FormatError'].includes(err.code!), `${err.code}: ${err.message}`);
        assert.ok(err.message.includes(names), `names ${names}: ${err.message}`);
        assert.doesNotMatch(err.message, /healthCheck|unhealthyStatuses|requestHeaders|\binterval\b(?! \()/, err.message);
        return true;
      });
    }
  });

  test('the active checker honours the failure threshold the Tencent caller set', async () => {
    // A port nothing listens on: every probe fails at once.
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    const c = client('alice');
    // A long interval: only the first probe runs within the test, so one failure must be enough.
    const { UpstreamId: id } = await c.CreateUpstream({
      UpstreamName: 'strict', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-h', Nodes: [{ Host: '127.0.0.1', Port: closed, Weight: 10 }],
      HealthChecker: { ...HEALTH, EnableActiveCheck: true, EnablePassiveCheck: false, ActiveCheckInterval: 60, TcpFailureThreshold: 1, TimeoutThreshold: 0, HttpFailureThreshold: 0 },
    });
    let healthy = '';
    for (let i = 0; i < 50 && healthy !== 'UNHEALTHY'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      healthy = (await c.DescribeUpstreams({ Limit: 1, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [id] }] })).Result.UpstreamSet[0].Nodes[0].Healthy;
    }
    assert.equal(healthy, 'UNHEALTHY', 'one failed probe with TcpFailureThreshold 1');
    await c.DeleteUpstream({ UpstreamId: id });
  });

  test('the quota refusal says how many upstreams, in Tencent\'s words', async () => {
    const small = await startTestGateway({ limits: { maxUpstreamsPerInstance: 2, maxMembersPerUpstream: 2 } });
    try {
      const t = await small.api('POST', '/v1/tenants', { name: 'q' });
      const k = await small.api('POST', `/v1/tenants/${t.body.id}/keys`);
      const c = new Client({
        credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
        profile: { httpProfile: { protocol: 'http://', endpoint: small.adminUrl.replace('http://', ''), reqTimeout: 10 } },
      });
      const base = { Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-q' };
      const one = await c.CreateUpstream({ ...base, UpstreamName: 'one' });
      await c.CreateUpstream({ ...base, UpstreamName: 'two' });
      await fails(c.CreateUpstream({ ...base, UpstreamName: 'three' }), 'LimitExceeded', 'at most 2 upstreams');
      const nodes = [1, 2, 3].map((i) => ({ Host: `10.0.0.${i}`, Port: 80, Weight: 1 }));
      const e = await c.ModifyUpstream({ UpstreamId: one.UpstreamId, Nodes: nodes }).catch((err: { code: string; message: string }) => err) as { code: string; message: string };
      assert.equal(e.code, 'LimitExceeded', e.message);
      assert.match(e.message, /at most 2 nodes/);
      assert.doesNotMatch(e.message, /members|UpstreamId per/);
    } finally {
      await small.close();
    }
  });

  test('more than 20 requests per second per action: RequestLimitExceeded', async () => {
    const c = client('burst');
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => c.DescribeUpstreams({ Limit: 1, Offset: 0 })));
    const limited = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'RequestLimitExceeded');
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.ok(limited.length >= 10 && ok.length <= 20, `${ok.length} served, ${limited.length} limited`);
    // Another action has its own budget.
    await c.DescribeUpstreamBindApis({ Limit: 1, Offset: 0, UpstreamId: 'none' }).catch((e: { code: string }) => assert.equal(e.code, 'ResourceNotFound'));
  });
});
