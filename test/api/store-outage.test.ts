import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { request } from 'undici';
import tencentModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/apigateway/v20180808/apigateway_client.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { OPERATOR_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { pgAvailable, pgTarget, pgTestSchema, pgUrlVia } from '../helpers/pg.js';
import { startRelay, type Relay } from '../helpers/relay.js';

// Both official SDKs honour http_proxy: traffic in tests stays on loopback.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

const require = createRequire(import.meta.url);
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core') as { BasicCredentials: new () => any };
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder') as { ClientBuilder: new (f: (c: any) => any) => any };
const { Client: TencentClient } = tencentModule as unknown as { Client: new (cfg: unknown) => { DescribeUpstreams(r: object): Promise<{ Result: { TotalCount: number } }> } };

const STORE_TIMEOUT_MS = 500;
// Generous next to the 500 ms deadline; what it catches is a call that waits as long as the store is frozen.
const ANSWER_WITHIN_MS = 5000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long `p` took; fails if it took longer than the bound. */
async function timed<T>(what: string, p: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await p();
  const ms = Date.now() - t0;
  assert.ok(ms < ANSWER_WITHIN_MS, `${what} answered after ${ms} ms`);
  return out;
}

describe('a PostgreSQL store that stops answering (frozen relay): the faces answer "unavailable" in time, traffic keeps flowing', () => {
  let skip = false;
  let relay: Relay;
  let drop: () => Promise<void>;
  let gw: TestGateway;
  let backend: Backend;
  let tencent: InstanceType<typeof TencentClient>;
  let huawei: (method: string, path: string) => Promise<any>;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => { unhandled.push(err); };

  /** The operator API with a bound: a call that hangs fails the test instead of the suite's timeout. */
  async function op(method: string, path: string, body?: unknown) {
    const res = await fetch(gw.adminUrl + path, {
      method, signal: AbortSignal.timeout(ANSWER_WITHIN_MS * 2),
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function proxied(host: string): Promise<string> {
    const r = await request(`${gw.proxyUrl}/`, { headers: { host }, headersTimeout: ANSWER_WITHIN_MS, bodyTimeout: ANSWER_WITHIN_MS });
    const text = await r.body.text();
    assert.equal(r.statusCode, 200, text);
    return (JSON.parse(text) as { name: string }).name;
  }

  before(async () => {
    if (!(await pgAvailable())) { skip = true; return; }
    process.on('unhandledRejection', onUnhandled);
    const target = pgTarget();
    relay = await startRelay(target.port, target.host);
    let schema: string;
    ({ schema, drop } = await pgTestSchema());
    gw = await startTestGateway({
      storeUrl: pgUrlVia(relay.port, schema),
      storeTimeouts: { timeoutMs: STORE_TIMEOUT_MS, connectTimeoutMs: STORE_TIMEOUT_MS },
    });
    backend = await startBackend('kept');
    await gw.expose({ members: [{ host: '127.0.0.1', port: backend.port }] }, { hosts: ['kept.test'] });

    const key = await gw.api('POST', `/v1/tenants/${gw.tenantId}/keys`);
    assert.equal(key.status, 201);
    tencent = new TencentClient({
      credential: { secretId: key.body.secretId, secretKey: key.body.secretKey },
      region: 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqMethod: 'POST', reqTimeout: 10 } },
    });
    const project = await gw.api('POST', `/v1/tenants/${gw.tenantId}/projects`, { region: 'cn-north-4' });
    assert.equal(project.status, 201);
    const instance = await gw.api('POST', '/v1/instances', { name: 'apig-outage', region: 'cn-north-4' });
    assert.equal(instance.status, 201);
    const cred = new BasicCredentials().withAk(key.body.secretId).withSk(key.body.secretKey).withProjectId(project.body.id);
    const client = new ClientBuilder((c: unknown) => c).withEndpoint(gw.adminUrl).withCredential(cred).build();
    client.httpClient._logger = quiet;
    huawei = (method, path) => client.sendRequest({
      method, url: `/v2/{project_id}/apigw/instances/{instance_id}${path}`, contentType: 'application/json', queryParams: {},
      pathParams: { instance_id: instance.body.id }, headers: { 'Content-Type': 'application/json' },
    });
  });

  after(async () => {
    if (skip) return;
    process.off('unhandledRejection', onUnhandled);
    relay.thaw();
    await gw.close();
    await backend.close();
    await relay.close();
    await drop();
  });

  test('frozen: each face answers its own unavailable error within the bound; the proxy serves; thawed: all works again and a new write reaches the data plane', { timeout: 120_000 }, async (t) => {
    if (skip) return t.skip('PostgreSQL not reachable');
    // Every face works before the freeze.
    assert.equal((await op('GET', '/v1/upstreams')).status, 200);
    const tencentCount = (await tencent.DescribeUpstreams({ Limit: 20, Offset: 0 })).Result.TotalCount;
    assert.equal(typeof tencentCount, 'number');
    const channelsBefore = await huawei('GET', '/vpc-channels');
    assert.equal(channelsBefore.httpStatusCode, 200);
    assert.equal(await proxied('kept.test'), 'kept');

    relay.freeze();
    try {
      const get = await timed('operator GET', () => op('GET', '/v1/upstreams'));
      assert.equal(get.status, 503, JSON.stringify(get.body));
      assert.equal(get.body.code, 'store_unavailable');
      assert.match(get.body.message, /store/);

      const post = await timed('operator POST', () => op('POST', '/v1/upstreams', { tenantId: gw.tenantId, name: 'while-frozen', members: [{ host: '127.0.0.1', port: backend.port }] }));
      assert.equal(post.status, 503, JSON.stringify(post.body));
      assert.equal(post.body.code, 'store_unavailable');

      await timed('Tencent DescribeUpstreams', () => assert.rejects(tencent.DescribeUpstreams({ Limit: 20, Offset: 0 }), (err: { code?: string; message: string }) => {
        assert.equal(err.code, 'ServiceUnavailable', err.message);
        assert.match(err.message, /store/);
        return true;
      }));

      await timed('Huawei list VPC channels', () => assert.rejects(huawei('GET', '/vpc-channels'), (err: { httpStatusCode: number; errorCode: string; errorMsg: string }) => {
        assert.equal(err.errorCode, 'APIG.9999', err.errorMsg);
        assert.equal(err.httpStatusCode, 500);
        assert.match(err.errorMsg, /^System error \(the configuration store did not answer/);
        return true;
      }));

      // The data plane runs on its snapshot and never asks the store.
      for (let i = 0; i < 5; i++) assert.equal(await timed('proxied request', () => proxied('kept.test')), 'kept');
    } finally {
      relay.thaw();
    }

    // Thawed: the first calls may still meet a connection dropped during the freeze; soon all answer.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await op('GET', '/v1/upstreams')).status;
      if (status !== 200) await sleep(200);
    }
    assert.equal(status, 200, 'the operator API answers again after the thaw');
    const fresh = await startBackend('fresh');
    try {
      await gw.expose({ members: [{ host: '127.0.0.1', port: fresh.port }] }, { hosts: ['fresh.test'] });
      assert.equal(await proxied('fresh.test'), 'fresh', 'a write after the thaw reaches the data plane');
      assert.equal((await tencent.DescribeUpstreams({ Limit: 20, Offset: 0 })).Result.TotalCount, tencentCount, 'Tencent answers again');
      const channels = await huawei('GET', '/vpc-channels');
      assert.equal(channels.httpStatusCode, 200, 'Huawei answers again');
      assert.equal(channels.total, channelsBefore.total);
    } finally {
      await fresh.close();
    }
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });
});
