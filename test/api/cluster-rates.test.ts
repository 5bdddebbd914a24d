import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import tencentModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/apigateway/v20180808/apigateway_client.js';
import { startSluice, type Sluice } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { openPgRateLimits, type PgRateLimits } from '../../src/store/pg-rate-limit.js';
import { OPERATOR_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { pgAvailable, pgTarget, pgTestSchema, pgUrlVia } from '../helpers/pg.js';
import { startRelay, type Relay } from '../helpers/relay.js';

// Both official SDKs honour http_proxy: traffic in tests stays on loopback.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

const require = createRequire(import.meta.url);
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core') as { BasicCredentials: new () => any };
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder') as { ClientBuilder: new (f: (c: any) => any) => any };
type Tencent = { DescribeUpstreams(r: object): Promise<unknown> };
const { Client: TencentClient } = tencentModule as unknown as { Client: new (cfg: unknown) => Tencent };

const RATE = 5;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many of the calls were served and how many refused with `code`; any other outcome fails. */
async function tally(calls: Promise<unknown>[], code: (err: any) => string): Promise<{ ok: number; limited: number; codes: string[] }> {
  const results = await Promise.allSettled(calls);
  const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : code(r.reason)));
  return { ok: codes.filter((c) => c === 'ok').length, limited: codes.filter((c) => c !== 'ok').length, codes };
}

describe('PostgreSQL: the dialects\' per-tenant rates hold across two gateways on one database', () => {
  let skip = false;
  let drop: () => Promise<void>;
  let a: TestGateway;
  let b: Sluice;
  let bDir: string;
  let keys: { secretId: string; secretKey: string }[];
  let project: string;
  let instance: string;

  const tencent = (port: number, k: { secretId: string; secretKey: string }) => new TencentClient({
    credential: k, region: 'ap-guangzhou',
    profile: { httpProfile: { protocol: 'http://', endpoint: `127.0.0.1:${port}`, reqMethod: 'POST', reqTimeout: 10 } },
  });
  const huawei = (port: number, k: { secretId: string; secretKey: string }) => {
    const cred = new BasicCredentials().withAk(k.secretId).withSk(k.secretKey).withProjectId(project);
    const client = new ClientBuilder((c: unknown) => c).withEndpoint(`http://127.0.0.1:${port}`).withCredential(cred).build();
    client.httpClient._logger = quiet;
    return () => client.sendRequest({
      method: 'GET', url: '/v2/{project_id}/apigw/instances/{instance_id}/vpc-channels', contentType: 'application/json', queryParams: {},
      pathParams: { instance_id: instance }, headers: { 'Content-Type': 'application/json' },
    });
  };

  before(async () => {
    if (!(await pgAvailable())) { skip = true; return; }
    let schema: string;
    ({ schema, drop } = await pgTestSchema());
    const storeUrl = pgUrlVia(pgTarget().port, schema);
    const rates = { tencentRatePerSecond: RATE, huaweiRatePerSecond: RATE };
    a = await startTestGateway({ storeUrl, ...rates });
    bDir = await mkdtemp(join(tmpdir(), 'sluice-gw-'));
    b = await startSluice({
      dataDir: bDir, storeUrl, admin: { host: '127.0.0.1', port: 0 }, proxy: { host: '127.0.0.1', port: 0 },
      logger: createLogger('silent'), adminToken: OPERATOR_TOKEN, shutdownGraceMs: 1000, ...rates,
    });
    const other = await a.api('POST', '/v1/tenants', { name: 'other-tenant' });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    keys = [];
    for (const tenant of [a.tenantId, other.body.id]) {
      const key = await a.api('POST', `/v1/tenants/${tenant}/keys`);
      assert.equal(key.status, 201);
      keys.push(key.body);
    }
    const p = await a.api('POST', `/v1/tenants/${a.tenantId}/projects`, { region: 'cn-north-4' });
    assert.equal(p.status, 201);
    project = p.body.id;
    const i = await a.api('POST', '/v1/instances', { name: 'apig-rates', region: 'cn-north-4' });
    assert.equal(i.status, 201);
    instance = i.body.id;
  });

  after(async () => {
    if (skip) return;
    await a.close();
    await b.close();
    await rm(bDir, { recursive: true, force: true });
    await drop();
  });

  test(`Tencent: ${2 * RATE} calls spread over both nodes in one burst: ${RATE} served, the rest RequestLimitExceeded; another tenant is served meanwhile; allowed again after the window`, { timeout: 60_000 }, async (t) => {
    if (skip) return t.skip('PostgreSQL not reachable');
    const [onA, onB] = [tencent(a.sluice.adminPort, keys[0]), tencent(b.adminPort, keys[0])];
    const burst = Array.from({ length: 2 * RATE }, (_, n) => (n % 2 ? onB : onA).DescribeUpstreams({ Limit: 1, Offset: 0 }));
    const r = await tally(burst, (e) => e.code);
    assert.equal(r.ok, RATE, r.codes.join(' '));
    assert.deepEqual(r.codes.filter((c) => c !== 'ok'), Array(RATE).fill('RequestLimitExceeded'));
    // Within the same window: the tenant is refused on either node, another tenant is not.
    await assert.rejects(onB.DescribeUpstreams({ Limit: 1, Offset: 0 }), (e: { code: string; message: string }) => {
      assert.equal(e.code, 'RequestLimitExceeded');
      assert.match(e.message, new RegExp(`more than ${RATE} DescribeUpstreams requests per second`));
      return true;
    });
    await tencent(a.sluice.adminPort, keys[1]).DescribeUpstreams({ Limit: 1, Offset: 0 });
    await tencent(b.adminPort, keys[1]).DescribeUpstreams({ Limit: 1, Offset: 0 });
    await sleep(1200);
    await onA.DescribeUpstreams({ Limit: 1, Offset: 0 });
    await onB.DescribeUpstreams({ Limit: 1, Offset: 0 });
  });

  test(`Huawei: ${2 * RATE} calls spread over both nodes: ${RATE} served, the rest APIG.9008 (HTTP 500, as the face answers it)`, { timeout: 60_000 }, async (t) => {
    if (skip) return t.skip('PostgreSQL not reachable');
    const [onA, onB] = [huawei(a.sluice.adminPort, keys[0]), huawei(b.adminPort, keys[0])];
    const r = await tally(Array.from({ length: 2 * RATE }, (_, n) => (n % 2 ? onB : onA)()), (e) => `${e.httpStatusCode} ${e.errorCode}`);
    assert.equal(r.ok, RATE, r.codes.join(' '));
    assert.deepEqual(r.codes.filter((c) => c !== 'ok'), Array(RATE).fill('500 APIG.9008'));
    await sleep(1200);
    await onB();
  });
});

describe('PostgreSQL rate limits on a database that stops answering (frozen relay)', () => {
  let skip = false;
  let relay: Relay;
  let drop: () => Promise<void>;
  let rates: PgRateLimits;
  const TIMEOUT_MS = 300;
  const RETRY_MS = 500;

  before(async () => {
    if (!(await pgAvailable())) { skip = true; return; }
    const target = pgTarget();
    relay = await startRelay(target.port, target.host);
    let schema: string;
    ({ schema, drop } = await pgTestSchema());
    rates = await openPgRateLimits(pgUrlVia(relay.port, schema), { timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS, retryMs: RETRY_MS });
  });

  after(async () => {
    if (skip) return;
    relay.thaw();
    await rates.close();
    await relay.close();
    await drop();
  });

  test('frozen: a call answers within its deadline, counted on this node with the same budget; thawed: counted by the database again', { timeout: 60_000 }, async (t) => {
    if (skip) return t.skip('PostgreSQL not reachable');
    const limiter = rates.limiter('test', 2);
    const other = rates.limiter('test', 2);
    assert.deepEqual([await limiter.take('t1', 'op'), await limiter.take('t1', 'op'), await limiter.take('t1', 'op')], [true, true, false]);
    // Another limiter on the same table and prefix (another node) sees the same count.
    assert.equal(await other.take('t1', 'op'), false);

    relay.freeze();
    try {
      const t0 = Date.now();
      assert.equal(await limiter.take('t2', 'op'), true, 'served (fail open) when the database does not answer');
      const ms = Date.now() - t0;
      // Generous next to the 330 ms deadline; what it catches is a call that waits as long as the database is frozen.
      assert.ok(ms < 3000, `answered after ${ms} ms`);
      // Still bounded, on this node alone, and without waiting for the database again.
      const t1 = Date.now();
      assert.equal(await limiter.take('t2', 'op'), true);
      assert.equal(await limiter.take('t2', 'op'), false, 'the node-local budget still holds');
      assert.ok(Date.now() - t1 < 3000);
    } finally {
      relay.thaw();
    }
    // Thawed: past the retry pause the database counts again (a fresh key, as another node would see it).
    let shared = false;
    for (let i = 0; i < 20 && !shared; i++) {
      await sleep(RETRY_MS);
      const key = `t3-${i}`;
      await limiter.take(key, 'op');
      await limiter.take(key, 'op');
      shared = !(await other.take(key, 'op'));
    }
    assert.ok(shared, 'the database counts for every limiter again after the thaw');
  });
});

test('PostgreSQL: nodes starting together all open the shared rate table (their CREATE TABLE IF NOT EXISTS race)', async (t) => {
  if (!(await pgAvailable())) return t.skip('PostgreSQL not reachable');
  const schemas = await Promise.all(Array.from({ length: 6 }, () => pgTestSchema()));
  const opened: PgRateLimits[] = [];
  try {
    for (const { schema } of schemas) {
      const url = pgUrlVia(pgTarget().port, schema);
      const all = await Promise.allSettled(Array.from({ length: 6 }, () => openPgRateLimits(url)));
      for (const r of all) if (r.status === 'fulfilled') opened.push(r.value);
      assert.ok(all.every((r) => r.status === 'fulfilled'), JSON.stringify(all.map((r) => r.status === 'rejected' ? String(r.reason) : 'ok')));
    }
  } finally {
    for (const r of opened) await r.close();
    for (const s of schemas) await s.drop();
  }
});
