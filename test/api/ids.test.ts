import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import tencentModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/apigateway/v20180808/apigateway_client.js';
import { startBackends, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PG_URL, pgAvailable, pgTestSchema } from '../helpers/pg.js';
import { v1Data, writeV1Postgres, writeV1Sqlite, type V1Data } from '../helpers/v1-store.js';

// Both official SDKs honour http_proxy: traffic in tests stays on loopback.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

const require = createRequire(import.meta.url);
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core') as { BasicCredentials: new () => any };
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder') as { ClientBuilder: new (f: (c: any) => any) => any };

type SdkCall = (req: Record<string, unknown>) => Promise<Record<string, any>>;
interface Tencent { CreateUpstream: SdkCall; DescribeUpstreams: SdkCall; ModifyUpstream: SdkCall; DeleteUpstream: SdkCall; DescribeUpstreamBindApis: SdkCall }
const { Client: TencentClient } = tencentModule as unknown as { Client: new (cfg: unknown) => Tencent };

const TENCENT_ID = /^upstream-[a-z0-9]{8}$/;
const HUAWEI_ID = /^[0-9a-f]{32}$/;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface Key { secretId: string; secretKey: string }

function tencent(gw: TestGateway, key: Key, region: string): Tencent {
  return new TencentClient({
    credential: { secretId: key.secretId, secretKey: key.secretKey }, region,
    profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqMethod: 'POST', reqTimeout: 10 } },
  });
}

/** The Huawei SDK core, signing with AK/SK, on one project and instance. */
function huawei(gw: TestGateway, key: Key, projectId: string, instanceId: string) {
  const cred = new BasicCredentials().withAk(key.secretId).withSk(key.secretKey).withProjectId(projectId);
  const client = new ClientBuilder((c: unknown) => c).withEndpoint(gw.adminUrl).withCredential(cred).build();
  client.httpClient._logger = quiet;
  return (method: string, path: string, data?: unknown): Promise<any> => client.sendRequest({
    method, url: `/v2/{project_id}/apigw/instances/{instance_id}/vpc-channels${path}`, contentType: 'application/json', queryParams: {},
    pathParams: { instance_id: instanceId }, headers: { 'Content-Type': 'application/json' }, ...(data === undefined ? {} : { data }),
  });
}

async function tcFails(p: Promise<unknown>, code: string, names?: string): Promise<void> {
  await assert.rejects(p, (err: { code?: string; message: string }) => {
    assert.equal(err.code, code, err.message);
    if (names) assert.ok(err.message.includes(names), `message names ${names}: ${err.message}`);
    return true;
  });
}

async function hwFails(p: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(p, (err: { httpStatusCode: number; errorCode: string; errorMsg: string }) => {
    assert.equal(err.errorCode, code, err.errorMsg);
    assert.equal(err.httpStatusCode, status);
    return true;
  });
}

const byName = async (tc: Tencent, name: string) =>
  ((await tc.DescribeUpstreams({ Limit: 100, Offset: 0, Filters: [{ Name: 'UpstreamName', Values: [name] }] })).Result.UpstreamSet as Record<string, any>[]);
const byId = async (tc: Tencent, id: string) =>
  ((await tc.DescribeUpstreams({ Limit: 100, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [id] }] })).Result.UpstreamSet as Record<string, any>[]);

describe('ids per face: Tencent upstream-xxxxxxxx, Huawei and the operator 32-hex, for objects made through any face', () => {
  const REGION = 'ap-ids';
  let gw: TestGateway;
  let key: Key;
  let tenantId: string;
  let projectId: string;

  before(async () => {
    gw = await startTestGateway({ huaweiRatePerSecond: 100_000, tencentRatePerSecond: 100_000 });
    tenantId = (await gw.api('POST', '/v1/tenants', { name: 'ids' })).body.id;
    key = (await gw.api('POST', `/v1/tenants/${tenantId}/keys`)).body;
    projectId = (await gw.api('POST', `/v1/tenants/${tenantId}/projects`, { region: REGION })).body.id;
  });
  after(async () => { await gw.close(); });

  test('made through each face, found, modified and deleted through the others by their own id forms', async () => {
    const tc = tencent(gw, key, REGION);
    const nodes = [{ Host: '127.0.0.1', Port: 8081, Weight: 10 }];

    // Made through Tencent.
    const t1 = (await tc.CreateUpstream({ UpstreamName: 'from-tencent', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-1', Nodes: nodes })).UpstreamId as string;
    assert.match(t1, TENCENT_ID);
    const viaOperator = (await gw.api('GET', `/v1/upstreams/${t1}`)).body;
    assert.match(viaOperator.id, HUAWEI_ID, 'the operator API shows the canonical id...');
    assert.equal(viaOperator.tencentId, t1, '...and the Tencent one');
    const h1 = viaOperator.id as string;
    assert.equal((await gw.api('GET', `/v1/upstreams/${h1}`)).body.tencentId, t1);
    const hw = huawei(gw, key, projectId, viaOperator.instanceId);
    const shown = await hw('GET', `/${h1}`);
    assert.equal(shown.id, h1);
    assert.equal(shown.name, 'from-tencent');
    await hwFails(hw('GET', `/${t1}`), 404, 'APIG.3023');

    // Made through Huawei.
    const made = await hw('POST', '', { name: 'from-huawei', port: 80, balance_strategy: 1, member_type: 'ip', members: [{ host: '127.0.0.1', port: 8082, weight: 1 }] });
    const h2 = made.id as string;
    assert.match(h2, HUAWEI_ID);
    const [seen] = await byName(tc, 'from-huawei');
    const t2 = seen!.UpstreamId as string;
    assert.match(t2, TENCENT_ID);
    assert.equal((await byId(tc, t2))[0]!.UpstreamName, 'from-huawei');
    const modified = await tc.ModifyUpstream({ UpstreamId: t2, UpstreamDescription: 'set through Tencent' });
    assert.equal(modified.Result.UpstreamId, t2);
    const afterModify = (await gw.api('GET', `/v1/upstreams/${h2}`)).body;
    assert.deepEqual([afterModify.description, afterModify.tencentId], ['set through Tencent', t2]);

    // Made through the operator API; a route bound by the Tencent id points at the canonical one.
    const op = await gw.api('POST', '/v1/upstreams', { tenantId, region: REGION, name: 'from-operator', members: [{ host: '127.0.0.1', port: 8083 }] });
    assert.equal(op.status, 201);
    const [h3, t3] = [op.body.id as string, op.body.tencentId as string];
    assert.match(h3, HUAWEI_ID);
    assert.match(t3, TENCENT_ID);
    const route = await gw.api('POST', '/v1/routes', { upstreamId: t3, hosts: ['ids.test'], name: 'ids-api' });
    assert.equal(route.status, 201, JSON.stringify(route.body));
    assert.equal(route.body.upstreamId, h3);
    assert.equal((await byId(tc, t3))[0]!.UpstreamName, 'from-operator');
    const binds = await tc.DescribeUpstreamBindApis({ Limit: 10, Offset: 0, UpstreamId: t3 });
    assert.deepEqual(binds.Result.BindApiSet.map((b: { ApiId: string }) => b.ApiId), [route.body.id]);
    assert.equal((await hw('GET', `/${h3}`)).name, 'from-operator');

    // Every answer in each face's own form, whoever made the upstream.
    const all = (await tc.DescribeUpstreams({ Limit: 100, Offset: 0 })).Result.UpstreamSet as { UpstreamId: string }[];
    assert.deepEqual(all.map((u) => u.UpstreamId).sort(), [t1, t2, t3].sort());
    const channels = (await hw('GET', '')).vpc_channels as { id: string }[];
    assert.deepEqual(channels.map((c) => c.id).sort(), [h1, h2, h3].sort());

    // The Tencent-made upstream replaced through Huawei, then read back through Tencent.
    const replaced = await hw('PUT', `/${h1}`, { name: 'from-tencent', port: 80, balance_strategy: 1, member_type: 'ip', members: [{ host: '127.0.0.1', port: 9091, weight: 5 }] });
    assert.equal(replaced.id, h1);
    const back = (await byId(tc, t1))[0]!;
    assert.equal(back.UpstreamId, t1);
    assert.deepEqual(back.Nodes.map((n: { Port: number }) => n.Port), [9091]);
    // Callers of earlier releases named it by the 32-hex id: still found, answered in Tencent's form.
    assert.equal((await byId(tc, h1))[0]!.UpstreamId, t1);
    assert.equal((await tc.ModifyUpstream({ UpstreamId: h1, Retries: 4 })).Result.UpstreamId, t1);

    // Deleted through the others.
    assert.equal((await tc.DeleteUpstream({ UpstreamId: t2 })).UpstreamId, t2, 'the Huawei-made one, through Tencent');
    await hwFails(hw('GET', `/${h2}`), 404, 'APIG.3023');
    const gone = await hw('DELETE', `/${h1}`);
    assert.equal(gone.httpStatusCode, 204, 'the Tencent-made one, through Huawei');
    assert.equal((await byId(tc, t1)).length, 0);
    await tcFails(tc.DeleteUpstream({ UpstreamId: t3 }), 'UnsupportedOperation.UnsupportedDeleteUpstream');
    assert.equal((await gw.api('DELETE', `/v1/routes/${route.body.id}`)).status, 204);
    assert.equal((await tc.DeleteUpstream({ UpstreamId: t3 })).UpstreamId, t3, 'the operator-made one, through Tencent');
    assert.equal((await gw.api('GET', `/v1/upstreams/${h3}`)).status, 404);
  });

  test('an unknown or malformed Tencent id is the action\'s not-found code, naming UpstreamId', async () => {
    const tc = tencent(gw, key, REGION);
    const real = (await tc.CreateUpstream({ UpstreamName: 'real', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-1' })).UpstreamId as string;
    assert.equal((await tc.ModifyUpstream({ UpstreamId: real, Retries: 2 })).Result.UpstreamId, real, 'the real one is found');
    const unknown = real === 'upstream-zzzzzzzz' ? 'upstream-yyyyyyyy' : 'upstream-zzzzzzzz';
    for (const id of [unknown, real.toUpperCase(), `${real}0`, real.slice(0, -1), real.replace('upstream-', 'upstream_'), 'vpc-12345678', 'F'.repeat(32)]) {
      await tcFails(tc.ModifyUpstream({ UpstreamId: id, Retries: 1 }), 'InvalidParameterValue.InvalidUpstream', 'UpstreamId');
      await tcFails(tc.DeleteUpstream({ UpstreamId: id }), 'ResourceNotFound', 'UpstreamId');
      await tcFails(tc.DescribeUpstreamBindApis({ Limit: 10, Offset: 0, UpstreamId: id }), 'ResourceNotFound', 'UpstreamId');
      assert.equal((await byId(tc, id)).length, 0, id);
    }
    assert.equal((await tc.DeleteUpstream({ UpstreamId: real })).UpstreamId, real);
  });
});

/** Where a store written by the previous release lives, for a gateway to open. */
interface OldStore { name: string; available(): Promise<boolean>; open(data: V1Data): Promise<{ extra: Record<string, unknown>; cleanup(): Promise<void> }> }

const OLD_STORES: OldStore[] = [
  {
    name: 'SQLite data directory',
    available: async () => true,
    async open(data) {
      const dir = await mkdtemp(join(tmpdir(), 'sluice-v1-'));
      writeV1Sqlite(join(dir, 'sluice.db'), data);
      return { extra: { dataDir: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL database',
    available: pgAvailable,
    async open(data) {
      const { schema, drop } = await pgTestSchema();
      await writeV1Postgres(schema, data);
      const url = new URL(PG_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return { extra: { storeUrl: url.toString() }, cleanup: drop };
    },
  },
];

for (const old of OLD_STORES) {
  describe(`ids per face after an upgrade: a ${old.name} written by the previous release`, () => {
    let backends: Backend[];
    before(async () => { backends = await startBackends(['old']); });
    after(async () => { await Promise.all(backends.map((b) => b.close())); });

    test('its upstreams show Tencent ids, are reachable through Tencent by them and keep serving', async (t) => {
      if (!(await old.available())) return t.skip('PostgreSQL not reachable');
      const data = v1Data(`ap-old-${randomBytes(3).toString('hex')}`, backends[0]!.port, 2);
      const where = await old.open(data);
      const gw = await startTestGateway(where.extra);
      try {
        const tc = tencent(gw, data, data.region);
        const listed = ((await tc.DescribeUpstreams({ Limit: 10, Offset: 0 })).Result.UpstreamSet as Record<string, any>[])
          .sort((a, b) => a.UpstreamName.localeCompare(b.UpstreamName));
        assert.deepEqual(listed.map((u) => u.UpstreamName), ['old-0', 'old-1']);
        const [t0, t1] = listed.map((u) => u.UpstreamId as string);
        assert.match(t0!, TENCENT_ID);
        assert.match(t1!, TENCENT_ID);
        assert.notEqual(t0, t1);
        assert.equal((await byId(tc, t0!))[0]!.UpstreamName, 'old-0');
        const stored = (await gw.api('GET', `/v1/upstreams/${data.upstreamIds[0]}`)).body;
        assert.equal(stored.tencentId, t0, 'the operator API shows the same id');

        // Bound by the Tencent id, the old upstream still carries traffic; modified through Tencent, it still does.
        const route = await gw.api('POST', '/v1/routes', { upstreamId: t0, hosts: ['old.test'] });
        assert.equal(route.status, 201, JSON.stringify(route.body));
        await gw.settled();
        const served = await request(`${gw.proxyUrl}/`, { headers: { host: 'old.test' } });
        assert.equal(served.statusCode, 200);
        assert.equal(((await served.body.json()) as { name: string }).name, 'old');
        const m = await tc.ModifyUpstream({ UpstreamId: t0, UpstreamDescription: 'upgraded', Nodes: [{ Host: '127.0.0.1', Port: backends[0]!.port, Weight: 20 }] });
        assert.equal(m.Result.UpstreamId, t0);
        assert.equal(m.Result.UpstreamDescription, 'upgraded');
        const binds = await tc.DescribeUpstreamBindApis({ Limit: 10, Offset: 0, UpstreamId: t0 });
        assert.equal(binds.Result.TotalCount, 1);

        // Huawei names the same upstream by its old 32-hex id.
        const hw = huawei(gw, data, data.projectId, data.instanceId);
        assert.equal((await hw('GET', `/${data.upstreamIds[1]}`)).name, 'old-1');
        assert.equal((await tc.DeleteUpstream({ UpstreamId: t1 })).UpstreamId, t1);
        await hwFails(hw('GET', `/${data.upstreamIds[1]}`), 404, 'APIG.3023');
      } finally {
        await gw.close();
        await where.cleanup();
      }
    });
  });
}
