import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSluice, type Sluice } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { startSluiceProcess, type SluiceProcess } from '../helpers/cli.js';
import { OPERATOR_TOKEN } from '../helpers/gateway.js';
import { freePort, startL4Gateway, tcpOrigin, type L4Gateway, type TcpOrigin } from '../helpers/l4.js';
import { pgAvailable, pgTarget, pgTestSchema, pgUrlVia, PG_REQUIRED } from '../helpers/pg.js';
import { until } from '../helpers/wait.js';
import { clientFor, gaapTime, tcpTraffic } from '../helpers/gaap-stats.js';

// The statistics of proxies served elsewhere: by a worker (sent to the primary), and by
// another node of the cluster (published to the store). Counters are handed on every 100 ms.
process.env.SLUICE_STATS_FLUSH_MS = '100';

const range = () => ({ StartTime: gaapTime(Date.now() - 10 * 60_000), EndTime: gaapTime(Date.now() + 60_000) });
type Points = { Time: number; Data: number | null }[];
const series = (r: Record<string, any>, name: string): Points => r.StatisticsData.find((s: { MetricName: string }) => s.MetricName === name).MetricData;
const bytesOf = (points: Points) => points.reduce((n, p) => n + ((p.Data ?? 0) * 1e6 * 60) / 8, 0);
const maxOf = (points: Points) => Math.max(...points.map((p) => p.Data ?? 0));
const SLACK_PER_POINT = 3750;
const near = (got: number, want: number, points: Points) => Math.abs(got - want) <= SLACK_PER_POINT * Math.max(1, points.filter((p) => (p.Data ?? 0) > 0).length);

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;
function apiOf(adminUrl: string, token: string): Api {
  return async (method, path, body) => {
    const res = await fetch(adminUrl + path, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

async function running(api: Api, id: string): Promise<any> {
  return until(`proxy ${id} RUNNING`, async () => { const r = await api('GET', `/v1/proxies/${id}`); return r.body.status === 'RUNNING' && r.body; });
}

describe('GAAP statistics under --workers 2: each worker hands its proxies\' minutes to the primary', () => {
  let gw: SluiceProcess;
  let origin: TcpOrigin;
  before(async () => {
    gw = await startSluiceProcess(['--workers', '2', '--tencent-api-rate', '10000'], { SLUICE_STATS_FLUSH_MS: '100' });
    origin = await tcpOrigin('o');
  });
  after(async () => { await gw.cleanup(); await origin.close(); });

  test('bytes and connections through proxies on both workers show through the SDK', async () => {
    const api = apiOf(gw.adminUrl, gw.token);
    assert.equal((await api('PUT', '/v1/l4-regions/default', { access: true, origin: true, bandwidths: [1000], concurrencies: [10], pool: ['127.0.91.0/28'] })).status, 200);
    const tenant = (await api('POST', '/v1/tenants', { name: 'w' })).body.id;
    const sdk = await clientFor({ api, adminUrl: gw.adminUrl }, tenant);
    const [o] = (await api('POST', '/v1/origins', { tenantId: tenant, name: 'o', addresses: ['127.0.0.1'] })).body.items;
    // Four proxies: the stable spread puts some on each worker.
    const served: { id: string; host: string; port: number; listener: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const made = await api('POST', '/v1/proxies', { tenantId: tenant, name: `p${i}`, accessRegion: 'default', originRegion: 'default', bandwidth: 1000, concurrent: 10 });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const p = await running(api, made.body.id);
      const port = await freePort(p.address);
      const l = (await api('POST', '/v1/listeners', { proxyId: p.id, protocol: 'tcp', name: 'l', scheduler: 'rr', ports: [port] })).body.items[0];
      assert.equal((await api('PUT', `/v1/listeners/${l.id}/bindings`, { bindings: [{ originId: o.id, port: origin.port }] })).status, 200);
      served.push({ id: p.id, host: p.address, port, listener: l.id });
    }
    for (const [i, s] of served.entries()) {
      await until('the listener bound in its worker', async () => (await api('GET', `/v1/listeners/${s.listener}`)).body.dataPlane?.bound === true);
      const size = (i + 1) * 200_000;
      // The bindings reach the worker a moment after the listener: until then it resets.
      const socks = await until('traffic through the worker', () => tcpTraffic(s.host, s.port, 2, size, 2).catch(() => null));
      for (const c of socks) c.destroy();
      const r = await until(`proxy ${i}'s minutes at the primary`, async () => {
        const x = await sdk.DescribeProxyStatistics!({ ProxyId: s.id, ...range(), MetricNames: ['InBandwidth', 'OutBandwidth', 'Concurrent'], Granularity: 60 });
        // The echo may be counted a flush after the bytes that asked for it: both directions in.
        return bytesOf(series(x, 'InBandwidth')) >= 2 * size - 2 * SLACK_PER_POINT && bytesOf(series(x, 'OutBandwidth')) >= 2 * size - 2 * SLACK_PER_POINT && x;
      });
      const inP = series(r, 'InBandwidth');
      assert.ok(near(bytesOf(inP), 2 * size, inP), `proxy ${i} in: ${bytesOf(inP)} vs ${2 * size}`);
      const outP = series(r, 'OutBandwidth');
      assert.ok(near(bytesOf(outP), 2 * (size + 2), outP), `proxy ${i} out: ${bytesOf(outP)}`);
      // Failed attempts before the bindings arrived were reset at once; the two held together count.
      assert.ok(maxOf(series(r, 'Concurrent')) >= 2);
    }
  });
});

describe('GAAP statistics in a cluster: any node answers with the sum over nodes', { skip: !PG_REQUIRED && !(await pgAvailable()) }, () => {
  let a: L4Gateway;
  let b: Sluice;
  let bDir: string;
  let drop: () => Promise<void>;
  let origin: TcpOrigin;

  before(async () => {
    let schema: string;
    ({ schema, drop } = await pgTestSchema());
    const storeUrl = pgUrlVia(pgTarget().port, schema);
    a = await startL4Gateway({ storeUrl, defaultRegion: 'ra', tencentRatePerSecond: 10_000 });
    bDir = await mkdtemp(join(tmpdir(), 'sluice-gw-'));
    b = await startSluice({
      dataDir: bDir, storeUrl, admin: { host: '127.0.0.1', port: 0 }, proxy: { host: '127.0.0.1', port: 0 }, defaultRegion: 'rb', nodeRegion: 'rb',
      logger: createLogger('silent'), adminToken: OPERATOR_TOKEN, shutdownGraceMs: 1000,
    });
    origin = await tcpOrigin('o');
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await rm(bDir, { recursive: true, force: true });
    await origin?.close();
    await drop?.();
  });

  test('a group with a proxy on each node: its figures, and the other node\'s proxy, from either node', async () => {
    const put = await a.api('PUT', '/v1/l4-regions/rb', { access: true, origin: true, bandwidths: [10, 20, 50, 100, 200, 500, 1000], concurrencies: [2, 5, 10], pool: ['127.0.97.0/28'] });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const g = await a.api('POST', '/v1/connection-groups', {
      tenantId: a.tenantId, name: 'g', originRegion: 'ra',
      accessRegions: [{ accessRegion: 'ra', bandwidth: 1000, concurrent: 10 }, { accessRegion: 'rb', bandwidth: 1000, concurrent: 10 }],
    });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    const proxies = (await a.api('GET', `/v1/proxies?groupId=${g.body.id}`)).body.items;
    assert.equal(proxies.length, 2);
    const pa = await running(a.api, proxies.find((p: { accessRegion: string }) => p.accessRegion === 'ra').id);
    const pb = await running(a.api, proxies.find((p: { accessRegion: string }) => p.accessRegion === 'rb').id);
    const port = await freePort(pa.address);
    const l = await a.api('POST', '/v1/listeners', { groupId: g.body.id, protocol: 'tcp', name: 'l', scheduler: 'rr', ports: [port] });
    assert.equal(l.status, 201, JSON.stringify(l.body));
    const [originId] = await a.origins(['127.0.0.1']);
    assert.equal((await a.api('PUT', `/v1/listeners/${l.body.items[0].id}/bindings`, { bindings: [{ originId, port: origin.port }] })).status, 200);

    const SA = 300_000;
    const SB = 700_000;
    for (const [host, size] of [[pa.address, SA], [pb.address, SB]] as const) {
      const socks = await until(`traffic through ${host}`, () => tcpTraffic(host, port, 1, size, 2).catch(() => null));
      for (const c of socks) c.destroy();
    }
    const sdkA = await clientFor(a, a.tenantId);
    const bApi = apiOf(`http://127.0.0.1:${b.adminPort}`, OPERATOR_TOKEN);
    const sdkB = await clientFor({ api: bApi, adminUrl: `http://127.0.0.1:${b.adminPort}` }, a.tenantId);
    for (const [node, sdk] of [['a', sdkA], ['b', sdkB]] as const) {
      // B's proxy is carried by node B only: node A reads it from the store, and the other way round.
      for (const [p, size] of [[pa, SA], [pb, SB]] as const) {
        const r = await until(`node ${node}: proxy ${p.accessRegion}`, async () => {
          const x = await sdk.DescribeProxyStatistics!({ ProxyId: p.id, ...range(), MetricNames: ['InBandwidth'], Granularity: 60 });
          return bytesOf(series(x, 'InBandwidth')) >= size - 2 * SLACK_PER_POINT && x;
        });
        const pts = series(r, 'InBandwidth');
        assert.ok(near(bytesOf(pts), size, pts), `node ${node}, proxy ${p.accessRegion}: ${bytesOf(pts)} vs ${size}`);
      }
      const r = await sdk.DescribeProxyGroupStatistics!({ GroupId: g.body.id, ...range(), MetricNames: ['InBandwidth', 'Concurrent'], Granularity: 60 });
      const pts = series(r, 'InBandwidth');
      assert.ok(near(bytesOf(pts), SA + SB, pts), `node ${node}, group: ${bytesOf(pts)} vs ${SA + SB}`);
    }
  });
});
