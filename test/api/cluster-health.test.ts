import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import apigwModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/apigateway/v20180808/apigateway_client.js';
import gaapModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/gaap/v20180529/gaap_client.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startSluiceProcess, type SluiceProcess } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/l4.js';
import { pgAvailable, pgTarget, pgTestSchema, pgUrlVia } from '../helpers/pg.js';
import { until } from '../helpers/wait.js';

// Health across nodes: two gateways on one PostgreSQL schema, node A in this process and node B
// a real `sluice start` (so it can be killed with SIGKILL, leaving its rows behind). Their
// verdicts differ honestly: probes name their node in the User-Agent, and the backend's health
// path fails the probes of the nodes the test says, as a member behind a path only some nodes
// reach would. Everything is read through the faces: the operator API, Tencent DescribeUpstreams
// and Huawei's member list (official SDKs), GAAP DescribeListenerRealServers and DescribeProxies.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

const require = createRequire(import.meta.url);
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core') as { BasicCredentials: new () => any };
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder') as { ClientBuilder: new (f: (c: any) => any) => any };
type SdkCall = (req: Record<string, unknown>) => Promise<Record<string, any>>;
const { Client: ApigwClient } = apigwModule as unknown as { Client: new (cfg: unknown) => { DescribeUpstreams: SdkCall } };
interface Gaap { [action: string]: SdkCall }
const { Client: GaapClient } = gaapModule as unknown as { Client: new (cfg: unknown) => Gaap };
const gaapCall = (c: Gaap, action: string, req: Record<string, unknown> = {}) => c[action]!.call(c, req);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const REGION = 'ap-guangzhou';
const BEAT_MS = 200;
const WAIT_MS = 20_000;

const available = await pgAvailable();

describe('health across nodes on one PostgreSQL', { skip: available ? false : 'PostgreSQL not reachable' }, () => {
  let a: TestGateway;
  let storeUrl: string;
  let drop: () => Promise<void>;
  const started: SluiceProcess[] = [];
  let tenantId: string;
  let keys: { secretId: string; secretKey: string };

  /** Node B (or B again): a real process on the same schema, beating every BEAT_MS. */
  const startNode = (name: string, region = REGION) => startSluiceProcess(['--store', storeUrl, '--node-name', name, '--region', region], { SLUICE_HEARTBEAT_MS: String(BEAT_MS) })
    .then((p) => { started.push(p); return p; });
  /** Every node this test started is gone (SIGKILL), so that the next test starts with node A alone. */
  const killAll = () => { for (const p of started) p.child.kill('SIGKILL'); };
  const apiOf = (p: SluiceProcess) => async (method: string, path: string) => {
    const res = await fetch(p.adminUrl + path, { method, headers: { authorization: `Bearer ${p.token}` } });
    return { status: res.status, body: await res.json() as any };
  };
  const tencentOpts = () => ({
    credential: keys, region: REGION,
    profile: { httpProfile: { protocol: 'http://', endpoint: a.adminUrl.replace('http://', ''), reqMethod: 'POST', reqTimeout: 10 } },
  });

  before(async () => {
    const s = await pgTestSchema();
    drop = s.drop;
    storeUrl = pgUrlVia(pgTarget().port, s.schema);
    // Node A answers the APIs and serves no GAAP region: what it says of L4 comes from others.
    a = await startTestGateway({ storeUrl, nodeName: 'node-a', heartbeatMs: BEAT_MS, defaultRegion: REGION, nodeRegion: null, tencentRatePerSecond: 10_000 });
    tenantId = a.tenantId;
    keys = (await a.api('POST', `/v1/tenants/${tenantId}/keys`)).body;
  });
  after(async () => {
    for (const p of started) await p.cleanup();
    await a.close();
    await drop();
  });

  test('a member failing on node A only: healthy, with each node\'s verdict; failing on both: unhealthy; a killed node stops counting', { timeout: 120_000 }, async () => {
    const failing = new Set<string>(['node-a']);
    const probedBy = new Set<string>();
    const backend: Backend = await startBackend('m', (req, res) => {
      const node = /\(node ([^)]+)\)/.exec(String(req.headers['user-agent']))?.[1] ?? '';
      probedBy.add(node);
      res.statusCode = req.url === '/health' && failing.has(node) ? 503 : 200;
      res.end('ok');
    });
    try {
      const b = await startNode('node-b');
      const bApi = apiOf(b);
      const project = (await a.api('POST', `/v1/tenants/${tenantId}/projects`, { region: REGION })).body;
      const u = (await a.api('POST', '/v1/upstreams', {
        tenantId, name: 'orders', region: REGION, members: [{ host: '127.0.0.1', port: backend.port }],
        healthCheck: { active: true, protocol: 'http', path: '/health', interval: 2, timeout: 1, healthyThreshold: 1, unhealthyThreshold: 1 },
      })).body;
      assert.ok(u.id, JSON.stringify(u));
      const memberId = u.members[0].id as string;

      const tencent = new ApigwClient(tencentOpts());
      const tencentHealthy = async () => (await tencent.DescribeUpstreams({ Limit: 10, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [u.tencentId] }] })).Result.UpstreamSet[0].Nodes[0].Healthy;
      const cred = new BasicCredentials().withAk(keys.secretId).withSk(keys.secretKey).withProjectId(project.id);
      const hw = new ClientBuilder((c: unknown) => c).withEndpoint(a.adminUrl).withCredential(cred).build();
      hw.httpClient._logger = quiet;
      const huaweiStatus = async () => (await hw.sendRequest({
        method: 'GET', url: `/v2/{project_id}/apigw/instances/{instance_id}/vpc-channels/${u.id}/members`, contentType: 'application/json',
        queryParams: {}, pathParams: { instance_id: u.instanceId }, headers: { 'Content-Type': 'application/json' },
      })).members.find((m: any) => m.id === memberId)?.health_status;
      const health = async (api: (m: string, p: string) => Promise<{ body: any }>) => (await api('GET', `/v1/upstreams/${u.id}/health`)).body.members[0];
      const verdicts = (m: any) => m.nodes.map((n: any) => [n.nodeName, n.state]);

      // A fails it, B reaches it: the member takes B's traffic, so it reads healthy.
      const split = await until('both nodes\' verdicts on node A', async () => {
        const m = await health(a.api);
        return JSON.stringify(verdicts(m)) === JSON.stringify([['node-a', 'unhealthy'], ['node-b', 'healthy']]) && m;
      }, WAIT_MS);
      assert.equal(split.state, 'healthy');
      assert.match(split.reason, /^healthy on 1 of 2 nodes; unhealthy on node-a \(.*503/);
      assert.ok(split.nodes.every((n: any) => n.nodeId && !Number.isNaN(Date.parse(n.since))));
      assert.ok(probedBy.has('node-a') && probedBy.has('node-b'), 'each node probes with its name');
      // Node A's own checker, alone, says unhealthy: the answer is the cluster's, not A's.
      assert.equal(a.sluice.health.report(u).find((r) => r.memberId === memberId)?.state, 'unhealthy');
      const fromB = await until('the same on node B', async () => {
        const m = await health(bApi);
        return m.state === 'healthy' && m.nodes.length === 2 && m;
      }, WAIT_MS);
      assert.deepEqual(verdicts(fromB), verdicts(split));
      assert.equal(await tencentHealthy(), 'HEALTHY');
      assert.equal(await huaweiStatus(), 'healthy');

      // Both fail it: unhealthy everywhere.
      failing.add('node-b');
      const down = await until('unhealthy on every node', async () => {
        const m = await health(a.api);
        return m.state === 'unhealthy' && m;
      }, WAIT_MS);
      assert.deepEqual(verdicts(down), [['node-a', 'unhealthy'], ['node-b', 'unhealthy']]);
      assert.match(down.reason, /^unhealthy on all 2 nodes; last on node-b: /);
      assert.equal(await tencentHealthy(), 'UNHEALTHY');
      assert.equal(await huaweiStatus(), 'unhealthy');

      // B reaches it again, then dies without a goodbye: its rows stay, but a down node does not count.
      failing.delete('node-b');
      await until('healthy again through B', async () => (await health(a.api)).state === 'healthy', WAIT_MS);
      b.child.kill('SIGKILL');
      const alone = await until('only node A counts', async () => {
        const m = await health(a.api);
        return m.nodes.length === 1 && m;
      }, WAIT_MS);
      assert.deepEqual(verdicts(alone), [['node-a', 'unhealthy']]);
      assert.equal(alone.state, 'unhealthy');
      const own = a.sluice.health.report(u).find((r) => r.memberId === memberId)!;
      assert.deepEqual([alone.reason, alone.since], [own.reason, own.since], 'alone, the answer is A\'s own verdict as it is');
      assert.equal(await tencentHealthy(), 'UNHEALTHY');
      const rows = await a.sluice.store.healthRows(u.id);
      assert.equal(new Set(rows.map((r) => r.nodeId)).size, 2, 'the killed node\'s row is still in the table');

      const doc = (await a.api('GET', '/v1/openapi.json')).body;
      const schema = JSON.stringify(doc.paths['/v1/upstreams/{id}/health'].get.responses['200'].content['application/json'].schema);
      for (const f of ['nodes', 'nodeId', 'nodeName', 'since']) assert.ok(schema.includes(`"${f}"`), `the health schema documents ${f}`);
    } finally {
      await backend.close();
      killAll();
    }
  });

  test('a clean stop takes the node\'s verdicts with its registry row', { timeout: 60_000 }, async () => {
    const b = await startNode('node-c');
    const bApi = apiOf(b);
    const id = await until('node C registered', async () => (await bApi('GET', '/v1/nodes')).body.items.find((n: any) => n.name === 'node-c')?.id as string | undefined, WAIT_MS);
    const u = (await a.api('POST', '/v1/upstreams', {
      tenantId, name: 'stop', region: REGION, members: [{ host: '127.0.0.1', port: await freePort('127.0.0.1') }],
      healthCheck: { active: true, protocol: 'tcp', interval: 2, timeout: 1, healthyThreshold: 1, unhealthyThreshold: 1 },
    })).body;
    await until('node C published its verdict', async () => (await a.sluice.store.healthRows(u.id)).some((r) => r.nodeId === id), WAIT_MS);
    b.child.kill('SIGTERM');
    await new Promise((r) => b.child.once('exit', r));
    assert.deepEqual((await a.sluice.store.healthRows(u.id)).filter((r) => r.nodeId === id), []);
  });

  test('GAAP: a binding failing on the region\'s node reads abnormal on a node that serves no region; the proxy reads RECOVERING while no node serves its region, RUNNING once one does', { timeout: 120_000 }, async () => {
    const sdk = new GaapClient(tencentOpts());
    const b = await startNode('node-b2');
    const { InstanceId: ProxyId } = await gaapCall(sdk, 'CreateProxy', { ProjectId: 0, ProxyName: 'p', AccessRegion: REGION, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 });
    const status = async () => (await gaapCall(sdk, 'DescribeProxies', { ProxyIds: [ProxyId] })).ProxySet[0].Status;
    await until('node B applied the proxy', async () => (await status()) === 'RUNNING', WAIT_MS);
    const address = (await a.api('GET', `/v1/proxies/${ProxyId}`)).body.address as string;
    const { ListenerIds: [ListenerId] } = await gaapCall(sdk, 'CreateTCPListeners', {
      ProxyId, ListenerName: 'l', Ports: [await freePort(address)], Scheduler: 'rr', RealServerType: 'IP',
      HealthCheck: 1, DelayLoop: 5, ConnectTimeout: 2, HealthyThreshold: 1, UnhealthyThreshold: 1,
    });
    const rs = (await gaapCall(sdk, 'AddRealServers', { ProjectId: 0, RealServerIP: ['127.0.0.1'], RealServerName: 'o' })).RealServerSet[0].RealServerId;
    // Nothing listens there: node B's checks fail it.
    await gaapCall(sdk, 'BindListenerRealServers', { ListenerId, RealServerBindSet: [{ RealServerId: rs, RealServerIP: '127.0.0.1', RealServerPort: await freePort('127.0.0.1') }] });
    const realStatus = async () => (await gaapCall(sdk, 'DescribeListenerRealServers', { ListenerId })).BindRealServerSet[0].RealServerStatus;
    await until('abnormal, from node B\'s verdict', async () => (await realStatus()) === 1, WAIT_MS);
    assert.equal((await gaapCall(sdk, 'DescribeTCPListeners', { ListenerId })).ListenerSet[0].BindStatus, 0, 'TCP BindStatus 0: abnormal');
    assert.deepEqual((await a.api('GET', `/v1/listeners/${ListenerId}/bindings`)).body.items[0].health, { healthy: false, downIps: ['127.0.0.1'] });

    b.child.kill('SIGKILL');
    await until('not running once the region\'s node is down', async () => (await status()) === 'RECOVERING', WAIT_MS);
    assert.equal((await a.api('GET', `/v1/proxies/${ProxyId}`)).body.status, 'RECOVERING', 'the operator API reads the same');
    assert.equal((await gaapCall(sdk, 'DescribeProxiesStatus', { ProxyIds: [ProxyId] })).InstanceStatusSet[0].Status, 'RECOVERING');
    assert.equal((await gaapCall(sdk, 'DescribeProxyDetail', { ProxyId })).ProxyDetail.Status, 'RECOVERING');
    assert.equal(await realStatus(), 0, 'the dead node\'s verdict no longer counts: no verdict reads normal');
    assert.equal((await a.sluice.store.get('proxy', ProxyId))?.status, 'RUNNING', 'a view: the stored status is unchanged');

    await startNode('node-b3');
    await until('RUNNING again once a node of the region is up', async () => (await status()) === 'RUNNING', WAIT_MS);
    await until('and its checks count', async () => (await realStatus()) === 1, WAIT_MS);
  });
});
