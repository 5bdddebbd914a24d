import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { clientFor, gaapTime, tcpTraffic, type Gaap } from '../helpers/gaap-stats.js';
import { freePort, startL4Gateway, tcpOrigin, type L4Gateway, type TcpOrigin } from '../helpers/l4.js';
import { until } from '../helpers/wait.js';

// Test knob: the data plane hands on its counters every 100 ms instead of once a minute.
process.env.SLUICE_STATS_FLUSH_MS = '100';

const range = () => ({ StartTime: gaapTime(Date.now() - 10 * 60_000), EndTime: gaapTime(Date.now() + 60_000) });

/** Bytes a bandwidth series stands for: each point is a minute's average Mbps, rounded to 3 decimals. */
const bytesOf = (points: { Data: number | null }[]) => points.reduce((n, p) => n + ((p.Data ?? 0) * 1e6 * 60) / 8, 0);
const series = (r: Record<string, any>, name: string) => (r.StatisticsData as { MetricName: string; MetricData: { Time: number; Data: number | null }[] }[]).find((s) => s.MetricName === name)!.MetricData;
const maxOf = (points: { Data: number | null }[]) => Math.max(...points.map((p) => p.Data ?? 0));
/** A 3-decimal Mbps point holds its minute's bytes to within 0.0005 Mbps: 3,750 bytes. */
const SLACK_PER_POINT = 3750;

async function fails(p: Promise<unknown>, code: string, names?: string) {
  await assert.rejects(p, (err: { code?: string; message: string }) => {
    assert.equal(err.code, code, err.message);
    if (names) assert.ok(err.message.includes(`\`${names}\``), `message names ${names}: ${err.message}`);
    return true;
  });
}

describe('GAAP statistics after real L4 traffic, through tencentcloud-sdk-nodejs', () => {
  let gw: L4Gateway;
  let alice: Gaap;
  let mallory: Gaap;
  let origin: TcpOrigin;
  let echo: dgram.Socket;

  before(async () => {
    gw = await startL4Gateway({ tencentRatePerSecond: 10_000 });
    alice = await clientFor(gw, gw.tenantId);
    const other = await gw.api('POST', '/v1/tenants', { name: 'mallory' });
    mallory = await clientFor(gw, other.body.id);
    origin = await tcpOrigin('a');
    echo = dgram.createSocket('udp4');
    echo.on('message', (m, from) => echo.send(m, from.port, from.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  });
  after(async () => {
    await gw.close();
    await origin.close();
    echo.close();
  });

  test('bytes each way and the connections held show as bandwidth and Concurrent, per proxy and per listener', async () => {
    const p = await gw.proxy();
    const port = await freePort(p.address);
    const l = await gw.listener(p.id, { ports: [port] });
    const [originId] = await gw.origins(['127.0.0.1']);
    await gw.bind(l.id, [{ originId, port: origin.port }]);

    const N = 3;
    const SIZE = 1024 * 1024;
    const socks = await tcpTraffic(p.address, port, N, SIZE, 'a\n'.length);
    const q = { ProxyId: p.id, ...range(), MetricNames: ['InBandwidth', 'OutBandwidth', 'Concurrent', 'InPackets', 'PacketLoss', 'Latency'], Granularity: 60 };
    // All N held open at once within the minute(s) the traffic touched.
    const r = await until('the proxy statistics to show the traffic', async () => {
      const x = await alice.DescribeProxyStatistics!(q);
      return maxOf(series(x, 'Concurrent')) === N && bytesOf(series(x, 'InBandwidth')) >= N * SIZE - 2 * SLACK_PER_POINT
        && bytesOf(series(x, 'OutBandwidth')) >= N * SIZE - 2 * SLACK_PER_POINT && x;
    });
    for (const s of socks) s.destroy();
    const inPoints = series(r, 'InBandwidth');
    const outPoints = series(r, 'OutBandwidth');
    const busy = inPoints.filter((x) => (x.Data ?? 0) > 0).length;
    assert.ok(busy >= 1 && busy <= 2, `the traffic lies in one or two minutes: ${busy}`);
    assert.ok(Math.abs(bytesOf(inPoints) - N * SIZE) <= busy * SLACK_PER_POINT, `in: ${bytesOf(inPoints)} vs ${N * SIZE}`);
    assert.ok(Math.abs(bytesOf(outPoints) - N * (SIZE + 2)) <= busy * SLACK_PER_POINT, `out: ${bytesOf(outPoints)} vs ${N * (SIZE + 2)}`);
    // One point per minute up to now, each on the minute.
    for (const x of inPoints) assert.equal(x.Time % 60, 0);
    assert.ok(inPoints.length >= 10 && inPoints.length <= 12, `points: ${inPoints.length}`);
    // TCP packets are not seen from user space (0: this proxy carries no UDP); loss and latency are not measured.
    assert.equal(maxOf(series(r, 'InPackets')), 0);
    assert.ok(series(r, 'PacketLoss').every((x) => x.Data === null));
    assert.ok(series(r, 'Latency').every((x) => x.Data === null));

    // The listener, its only one: the same minutes, in 5-minute buckets (the max of their minutes).
    const lr = await alice.DescribeListenerStatistics!({ ListenerId: l.id, ...range(), MetricNames: ['InBandwidth', 'Concurrent'], Granularity: 300 });
    assert.equal(maxOf(series(lr, 'Concurrent')), N);
    assert.equal(maxOf(series(lr, 'InBandwidth')), maxOf(inPoints));
    for (const x of series(lr, 'InBandwidth')) assert.equal((x.Time + 8 * 3600) % 300, 0);

    // The operator API gives the same numbers.
    const from = new Date(Date.now() - 10 * 60_000).toISOString();
    const native = await gw.api('GET', `/v1/proxies/${p.id}/stats?from=${from}&granularity=60&metrics=InBandwidth,Concurrent`);
    assert.equal(native.status, 200, JSON.stringify(native.body));
    assert.equal(Math.max(...native.body.metrics.Concurrent.map((x: { value: number }) => x.value)), N);
    assert.equal(Math.max(...native.body.metrics.InBandwidth.map((x: { value: number }) => x.value)), maxOf(inPoints));
    const bad = await gw.api('GET', `/v1/proxies/${p.id}/stats?granularity=7`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /granularity/);
    const badTime = await gw.api('GET', `/v1/proxies/${p.id}/stats?from=yesterday`);
    assert.equal(badTime.status, 400);
    assert.match(badTime.body.message, /query\.from/);
    assert.equal((await gw.api('GET', '/v1/proxies/link-nothere/stats')).status, 404);
    const doc = (await gw.api('GET', '/v1/openapi.json')).body.paths['/v1/proxies/{id}/stats'].get;
    assert.deepEqual(doc.parameters.filter((x: { in: string }) => x.in === 'query').map((x: { name: string }) => x.name).sort(), ['from', 'granularity', 'metrics', 'to']);
    assert.ok(JSON.stringify(doc.responses['200']).includes('granularity'), 'the answer is described');

    // The group-less proxy is its tenant's alone.
    await fails(mallory.DescribeProxyStatistics!(q), 'ResourceNotFound', 'ProxyId');
    await fails(mallory.DescribeListenerStatistics!({ ListenerId: l.id, ...range(), MetricNames: ['Concurrent'], Granularity: 300 }), 'ResourceNotFound', 'ListenerId');
  });

  test('UDP datagrams show as packets per second, and a session as Concurrent', async () => {
    const p = await gw.proxy();
    const port = await freePort(p.address);
    const l = await gw.listener(p.id, { protocol: 'udp', ports: [port] });
    const [originId] = await gw.origins(['127.0.0.1']);
    await gw.bind(l.id, [{ originId, port: (echo.address()).port }]);
    const client = dgram.createSocket('udp4');
    let got = 0;
    client.on('message', () => got++);
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    try {
      const D = 30;
      for (let i = 0; i < D; i++) client.send(Buffer.alloc(100, i), port, p.address);
      await until('the echoes', () => got === D);
      const q = { ListenerId: l.id, ...range(), MetricNames: ['InPackets', 'OutPackets', 'Concurrent'], Granularity: 300 };
      const r = await until('the listener statistics to show the datagrams', async () => {
        const x = await alice.DescribeProxyStatistics!({ ...q, ListenerId: undefined, ProxyId: p.id, Granularity: 60 });
        const count = (name: string) => series(x, name).reduce((n, y) => n + (y.Data ?? 0) * 60, 0);
        return count('InPackets') >= D - 0.2 && count('OutPackets') >= D - 0.2 && x;
      });
      const inPkts = series(r, 'InPackets').reduce((n, y) => n + (y.Data ?? 0) * 60, 0);
      const outPkts = series(r, 'OutPackets').reduce((n, y) => n + (y.Data ?? 0) * 60, 0);
      // Packets per second rounded to 3 decimals: 0.06 datagrams per minute point at most.
      assert.ok(Math.abs(inPkts - D) < 0.2 && Math.abs(outPkts - D) < 0.2, `${inPkts} / ${outPkts}`);
      assert.equal(maxOf(series(r, 'Concurrent')), 1);
      const lr = await alice.DescribeListenerStatistics!(q);
      assert.equal(maxOf(series(lr, 'Concurrent')), 1);
    } finally {
      client.close();
    }
  });

  test('DescribeRealServerStatistics shows 0 for a minute the origin was down, 1 while it is up', async () => {
    const p = await gw.proxy();
    const port = await freePort(p.address);
    const l = await gw.listener(p.id, { ports: [port], healthCheck: true, delayLoop: 5, connectTimeout: 2, healthyThreshold: 1, unhealthyThreshold: 1 });
    const [originId] = await gw.origins(['127.0.0.1']);
    // Nothing listens there: the first probe (within a second) finds it down.
    await gw.bind(l.id, [{ originId, port: await freePort('127.0.0.1') }]);
    const r = await until('a minute marked abnormal', async () => {
      const x = await alice.DescribeRealServerStatistics!({ RealServerId: originId, ListenerId: l.id, WithinTime: 1, Granularity: 60 });
      return x.StatisticsData.some((y: { Data: number | null }) => y.Data === 0) && x;
    });
    assert.ok(r.StatisticsData.every((y: { Time: number }) => y.Time % 60 === 0));
    assert.deepEqual(r.RsStatisticsData, []);

    // A bound origin that answers is normal.
    const p2 = await gw.proxy();
    const port2 = await freePort(p2.address);
    const l2 = await gw.listener(p2.id, { ports: [port2], healthCheck: true, delayLoop: 5, connectTimeout: 2, healthyThreshold: 1, unhealthyThreshold: 1 });
    await gw.bind(l2.id, [{ originId, port: origin.port }]);
    await until('a minute marked normal', async () => {
      const x = await alice.DescribeRealServerStatistics!({ RealServerId: originId, ListenerId: l2.id, ...range(), Granularity: 60 });
      return x.StatisticsData.some((y: { Data: number | null }) => y.Data === 1) && !x.StatisticsData.some((y: { Data: number | null }) => y.Data === 0);
    });
    await fails(mallory.DescribeRealServerStatistics!({ RealServerId: originId, ListenerId: l.id, WithinTime: 1 }), 'ResourceNotFound', 'RealServerId');
  });

  test('bad parameters answer GAAP\'s codes naming the field', async () => {
    const p = await gw.proxy();
    const base = { ProxyId: p.id, ...range(), MetricNames: ['InBandwidth'], Granularity: 60 };
    await fails(alice.DescribeProxyStatistics!({ ...base, Granularity: 120 }), 'InvalidParameterValue.NotInOptions', 'Granularity');
    await fails(alice.DescribeProxyStatistics!({ ...base, MetricNames: ['InBandwidth', 'Nonsense'] }), 'InvalidParameterValue.NotInOptions', 'MetricNames.1');
    await fails(alice.DescribeProxyStatistics!({ ...base, StartTime: '2026-13-01 00:00:00' }), 'InvalidParameter.FormatError', 'StartTime');
    await fails(alice.DescribeProxyStatistics!({ ...base, StartTime: 'yesterday' }), 'InvalidParameter.FormatError', 'StartTime');
    await fails(alice.DescribeProxyStatistics!({ ...base, EndTime: base.StartTime }), 'InvalidParameterValue.RangeExceeded', 'EndTime');
    // Four days: 60 s is too fine (300 s at least), and past 30 days nothing is kept.
    const far = { StartTime: gaapTime(Date.now() - 4 * 86_400_000), EndTime: gaapTime(Date.now()) };
    await fails(alice.DescribeProxyStatistics!({ ...base, ...far }), 'InvalidParameterValue.NotInOptions', 'Granularity');
    assert.ok((await alice.DescribeProxyStatistics!({ ...base, ...far, Granularity: 300 })).StatisticsData);
    await fails(alice.DescribeProxyStatistics!({ ...base, StartTime: gaapTime(Date.now() - 31 * 86_400_000), Granularity: 86400 }), 'InvalidParameterValue.RangeExceeded', 'EndTime');
    await fails(alice.DescribeProxyStatistics!({ ...base, ProxyId: 'link-nothere' }), 'ResourceNotFound', 'ProxyId');
    await fails(alice.DescribeProxyStatistics!({ ProxyId: p.id, ...range(), Granularity: 60 }), 'MissingParameter', 'MetricNames');
    // The listener action takes 300 s at the finest, and only the traffic metrics.
    await fails(alice.DescribeListenerStatistics!({ ListenerId: 'listener-nothere', ...range(), MetricNames: ['Concurrent'], Granularity: 60 }), 'InvalidParameterValue.NotInOptions', 'Granularity');
    await fails(alice.DescribeListenerStatistics!({ ListenerId: 'listener-nothere', ...range(), MetricNames: ['Latency'], Granularity: 300 }), 'InvalidParameterValue.NotInOptions', 'MetricNames.0');
    await fails(alice.DescribeRealServerStatistics!({ RealServerId: 'rs-nothere', ListenerId: 'listener-nothere', WithinTime: 2 }), 'InvalidParameterValue.NotInOptions', 'WithinTime');
    await fails(alice.DescribeRealServerStatistics!({ RealServerId: 'rs-nothere', WithinTime: 1 }), 'MissingParameter', 'ListenerId');
    await fails(alice.DescribeProxyGroupStatistics!({ GroupId: 'lg-nothere', ...range(), MetricNames: ['Concurrent'], Granularity: 60 }), 'ResourceNotFound', 'GroupId');
  });
});
