import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { IncomingHttpHeaders } from 'node:http';
import tencentModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/apigateway/v20180808/apigateway_client.js';
import { echo, startBackend, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue 13's "done when": every field set through Tencent survives a full replace through
// Huawei (UpdateVpcChannel and UpdateHealthCheck), and the probe still sends Tencent's headers.

for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

const require = createRequire(import.meta.url);
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core') as { BasicCredentials: new () => any };
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder') as { ClientBuilder: new (f: (c: any) => any) => any };
type SdkCall = (req: Record<string, unknown>) => Promise<Record<string, any>>;
const { Client: TencentClient } = tencentModule as unknown as { Client: new (cfg: unknown) => { CreateUpstream: SdkCall; DescribeUpstreams: SdkCall } };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe('one upstream, two faces: nothing set through Tencent is lost through Huawei', () => {
  let gw: TestGateway;
  let backend: Backend;
  const probes: { url: string; headers: IncomingHttpHeaders }[] = [];

  before(async () => {
    gw = await startTestGateway();
    backend = await startBackend('b0', (req, res, name) => {
      if (probes.length < 1000) probes.push({ url: req.url ?? '', headers: req.headers });
      echo(req, res, name);
    });
  });
  after(async () => {
    await gw.close();
    await backend.close();
  });

  test('Tencent sets every field, Huawei replaces the channel and its health config, Tencent reads it all back', async () => {
    const t = await gw.api('POST', '/v1/tenants', { name: 'crossface' });
    const k = await gw.api('POST', `/v1/tenants/${t.body.id}/keys`);
    const tc = new TencentClient({
      credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqMethod: 'POST', reqTimeout: 10 } },
    });
    const health = {
      EnableActiveCheck: true, EnablePassiveCheck: true, HealthyHttpStatus: '200', UnhealthyHttpStatus: '500,502-504',
      TcpFailureThreshold: 3, TimeoutThreshold: 4, HttpFailureThreshold: 5, ActiveCheckHttpPath: '/health',
      ActiveCheckTimeout: 2, ActiveCheckInterval: 3, ActiveRequestHeader: [{ Key: 'x-probe', Value: 'tencent' }], UnhealthyTimeout: 40,
    };
    const k8s = [{ Weight: 10, ClusterId: 'cls-1', Namespace: 'default', ServiceName: 'orders', Port: 80, ExtraLabels: [{ Key: 'app', Value: 'orders' }], Name: 'orders-svc' }];
    const { UpstreamId: id } = await tc.CreateUpstream({
      UpstreamName: 'orders', UpstreamDescription: 'order service', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-12345678',
      Retries: 2, UpstreamHost: 'orders.internal', UpstreamType: 'IP_PORT', Tags: [{ Key: 'team', Value: 'shop' }], K8sService: k8s,
      Nodes: [{ Host: '127.0.0.1', Port: backend.port, Weight: 10, VmInstanceId: 'ins-1', Tags: ['blue'] }], HealthChecker: health,
    });
    const describe = async () => (await tc.DescribeUpstreams({ Limit: 10, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [id] }] })).Result.UpstreamSet[0];
    const before = await describe();

    // The same upstream through Huawei: the tenant's project for that region, the region's default instance.
    const p = await gw.api('POST', `/v1/tenants/${t.body.id}/projects`, { region: 'ap-guangzhou' });
    assert.equal(p.status, 200, 'Tencent made the project');
    // Huawei names the upstream by its canonical id, which the operator API shows beside the Tencent one.
    const { instanceId, id: channelId } = (await gw.api('GET', `/v1/upstreams/${id}`)).body;
    const cred = new BasicCredentials().withAk(k.body.secretId).withSk(k.body.secretKey).withProjectId(p.body.id);
    const client = new ClientBuilder((c: unknown) => c).withEndpoint(gw.adminUrl).withCredential(cred).build();
    client.httpClient._logger = quiet;
    const hw = (method: string, path: string, data: unknown) => client.sendRequest({
      method, url: `/v2/{project_id}/apigw/instances/{instance_id}/vpc-channels/${channelId}${path}`, contentType: 'application/json',
      queryParams: {}, pathParams: { instance_id: instanceId }, headers: { 'Content-Type': 'application/json' }, data,
    });
    const check = { protocol: 'HTTP', path: '/ready', threshold_normal: 2, threshold_abnormal: 3, time_interval: 2, timeout: 1, http_code: '200' };
    const updated = await hw('PUT', '', {
      name: 'orders', port: 80, balance_strategy: 1, member_type: 'ip',
      members: [{ host: '127.0.0.1', port: backend.port, weight: 10 }], vpc_health_config: check,
    });
    assert.equal(updated.httpStatusCode, 200);
    assert.equal((await hw('PUT', '/health-config', check)).httpStatusCode, 200);

    const back = await describe();
    // What Huawei described changed as asked...
    assert.equal(back.HealthChecker.ActiveCheckHttpPath, '/ready');
    assert.equal(back.HealthChecker.ActiveCheckInterval, 2);
    assert.equal(back.HealthChecker.ActiveCheckTimeout, 1);
    // ...and everything else is what Tencent set.
    const keep = (u: Record<string, any>) => ({
      ...u, Nodes: u.Nodes.map((n: Record<string, unknown>) => ({ ...n, Healthy: undefined })),
      HealthChecker: { ...u.HealthChecker, ActiveCheckHttpPath: undefined, ActiveCheckInterval: undefined, ActiveCheckTimeout: undefined },
    });
    assert.deepEqual(keep(back), keep(before));
    assert.deepEqual(back.HealthChecker.ActiveRequestHeader, [{ Key: 'x-probe', Value: 'tencent' }]);
    assert.equal(back.HealthChecker.EnablePassiveCheck, true);
    assert.equal(back.HealthChecker.UnhealthyHttpStatus, '500,502-504');
    assert.deepEqual([back.HealthChecker.TcpFailureThreshold, back.HealthChecker.TimeoutThreshold, back.HealthChecker.HttpFailureThreshold], [3, 4, 5]);
    assert.deepEqual([back.Nodes[0].VmInstanceId, back.Nodes[0].Tags], ['ins-1', ['blue']]);
    assert.deepEqual(back.K8sServices, k8s);

    // The probe really sends the headers Describe shows.
    await gw.settled();
    const deadline = Date.now() + 15_000;
    let seen: { url: string; headers: IncomingHttpHeaders } | undefined;
    while (!seen && Date.now() < deadline) {
      seen = probes.find((r) => r.url === '/ready');
      if (!seen) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(seen, 'a probe reached /ready within 15 s');
    assert.equal(seen.headers['x-probe'], 'tencent');
  });
});
