import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type net from 'node:net';
import { workerOf } from '../../src/l4/spread.js';
import { adminApi, startSluiceProcess, type SluiceProcess } from '../helpers/cli.js';
import { clientFor, tcpTraffic, type Gaap } from '../helpers/gaap-stats.js';
import { connect, firstLine, freePort, readAll, tcpOrigin, type TcpOrigin } from '../helpers/l4.js';
import { scrape, type Scrape } from '../helpers/metrics.js';
import { until } from '../helpers/wait.js';

/**
 * The L4 series of /metrics after real TCP bytes, a UDP exchange and a refusal at the cap,
 * through a real `sluice start`, the GAAP objects made through the official SDK.
 */

const BANDWIDTH_MBPS = 10;
const CAP = 2;
/** Bytes each held TCP connection sends (the origin echoes them after its 2-byte greeting). */
const SIZE = 100_000;
const DATAGRAMS = 20;
const DATAGRAM = 300;

const call = (c: Gaap, action: string, req: Record<string, unknown>) => c[action]!.call(c, req);

interface Served { proxy: string; address: string; tcpPort: number; udpPort: number; tcp: string; udp: string }

/** A proxy with a TCP listener on the echoing origin and a UDP listener on the echo socket, its cap lowered by the operator to CAP. */
async function serve(p: SluiceProcess, sdk: Gaap, rs: string, origin: TcpOrigin, udpEcho: number): Promise<Served> {
  const api = adminApi(p);
  const { InstanceId: proxy } = await call(sdk, 'CreateProxy', { ProjectId: 0, ProxyName: 'm', AccessRegion: 'default', RealServerRegion: 'default', Bandwidth: BANDWIDTH_MBPS, Concurrent: 2 });
  const status = async () => (await call(sdk, 'DescribeProxies', { ProxyIds: [proxy] })).ProxySet[0].Status;
  await until(`proxy ${proxy} RUNNING`, async () => (await status()) === 'RUNNING');
  // The cap is an operator override (GAAP's Concurrent counts in units of 10,000).
  const capped = await api('PATCH', `/v1/proxies/${proxy}`, { connectionCap: CAP });
  assert.equal(capped.status, 200, JSON.stringify(capped.body));
  await until(`proxy ${proxy} retuned`, async () => (await status()) === 'RUNNING');
  const address = (await api('GET', `/v1/proxies/${proxy}`)).body.address as string;
  const tcpPort = await freePort(address);
  const udpPort = await freePort(address);
  const { ListenerIds: [tcp] } = await call(sdk, 'CreateTCPListeners', { ProxyId: proxy, ListenerName: 't', Ports: [tcpPort], Scheduler: 'rr', RealServerType: 'IP', HealthCheck: 0 });
  const { ListenerIds: [udp] } = await call(sdk, 'CreateUDPListeners', { ProxyId: proxy, ListenerName: 'u', Ports: [udpPort], Scheduler: 'rr', RealServerType: 'IP' });
  await call(sdk, 'BindListenerRealServers', { ListenerId: tcp, RealServerBindSet: [{ RealServerId: rs, RealServerIP: '127.0.0.1', RealServerPort: origin.port }] });
  await call(sdk, 'BindListenerRealServers', { ListenerId: udp, RealServerBindSet: [{ RealServerId: rs, RealServerIP: '127.0.0.1', RealServerPort: udpEcho }] });
  // The bindings reach the plane a moment after the listener: until then connections are reset.
  await until(`TCP through ${proxy}`, () => firstLine(address, tcpPort).then((l) => l === origin.name, () => false));
  return { proxy, address, tcpPort, udpPort, tcp, udp };
}

/** Sends DATAGRAMS datagrams from one client socket and waits for every echo. */
async function udpExchange(address: string, port: number): Promise<string> {
  const client = dgram.createSocket('udp4');
  let got = 0;
  client.on('message', () => got++);
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
  try {
    for (let i = 0; i < DATAGRAMS; i++) client.send(Buffer.alloc(DATAGRAM, i), port, address);
    await until('the echoes', () => got === DATAGRAMS);
    return String(client.address().port);
  } finally {
    client.close();
  }
}

/** Every L4 series of the scrape keeps config ids and fixed words as label values. */
function labelsBounded(m: Scrape, clientPorts: string[]): void {
  for (const [name, f] of m.families) {
    if (!name.startsWith('sluice_l4_')) continue;
    for (const s of f.metrics) {
      for (const [k, v] of Object.entries(s.labels ?? {})) {
        assert.ok(['proxy', 'listener', 'protocol', 'direction'].includes(k), `${name}: label ${k}`);
        assert.doesNotMatch(v, /^127\.|:/, `${name}: no address in ${k}`);
        assert.ok(!clientPorts.includes(v), `${name}: no client port in ${k}`);
      }
    }
  }
}

async function exercise(p: SluiceProcess, served: Served, origin: TcpOrigin): Promise<void> {
  const metrics = p.metricsUrl!;
  const { proxy, tcp, udp } = served;
  const t = { proxy, listener: tcp, protocol: 'tcp' };
  const u = { proxy, listener: udp, protocol: 'udp' };
  // The probe connections that waited for the bindings are gone before the counts are read.
  const before = await until('no connection open', async () => {
    const m = await scrape(metrics);
    return m.value('sluice_l4_connections_open', t) === 0 ? m : null;
  });
  const delta = (m: Scrape, name: string, labels: Record<string, string>) => m.value(name, labels) - before.value(name, labels);

  // Two connections held (the cap), each SIZE bytes echoed after the origin's greeting.
  const held: net.Socket[] = await tcpTraffic(served.address, served.tcpPort, CAP, SIZE, `${origin.name}\n`.length);
  const clientPorts = held.map((s) => String(s.localPort));
  try {
    const m = await scrape(metrics);
    assert.equal(delta(m, 'sluice_l4_connections_opened_total', t), CAP);
    assert.equal(m.value('sluice_l4_connections_open', t), CAP);
    assert.equal(delta(m, 'sluice_l4_bytes_total', { ...t, direction: 'in' }), CAP * SIZE);
    assert.equal(delta(m, 'sluice_l4_bytes_total', { ...t, direction: 'out' }), CAP * (SIZE + `${origin.name}\n`.length));
    assert.equal(m.samples('sluice_l4_packets_total', t).length, 0, 'TCP packets are not measured, so not exported');
    assert.equal(m.samples('sluice_l4_datagrams_dropped_total', t).length, 0, 'TCP is shaped, never dropped');

    // A third at the cap: reset at once, counted once, not opened.
    const third = await connect(served.address, served.tcpPort).then((s) => readAll(s), (err: NodeJS.ErrnoException) => ({ error: err.code ?? 'failed' }));
    assert.notEqual(third.error, 'timeout', 'the refused connection is closed at once');
    const r = await until('the refusal counted', async () => {
      const x = await scrape(metrics);
      return delta(x, 'sluice_l4_connections_refused_total', t) >= 1 ? x : null;
    });
    assert.equal(delta(r, 'sluice_l4_connections_refused_total', t), 1);
    assert.equal(delta(r, 'sluice_l4_connections_opened_total', t), CAP);
    assert.equal(r.value('sluice_l4_connections_open', t), CAP);
    assert.equal(r.value('sluice_l4_connections_refused_total', u), 0);
    labelsBounded(r, clientPorts);
  } finally {
    for (const s of held) s.destroy();
  }
  await until('the held connections closed', async () => (await scrape(metrics)).value('sluice_l4_connections_open', t) === 0);

  // UDP: one session, every datagram each way, its bytes, nothing dropped.
  const clientPort = await udpExchange(served.address, served.udpPort);
  const m = await scrape(metrics);
  assert.equal(delta(m, 'sluice_l4_connections_opened_total', u), 1);
  assert.equal(m.value('sluice_l4_connections_open', u), 1, 'the session lives until its idle timeout');
  assert.equal(delta(m, 'sluice_l4_packets_total', { ...u, direction: 'in' }), DATAGRAMS);
  assert.equal(delta(m, 'sluice_l4_packets_total', { ...u, direction: 'out' }), DATAGRAMS);
  assert.equal(delta(m, 'sluice_l4_bytes_total', { ...u, direction: 'in' }), DATAGRAMS * DATAGRAM);
  assert.equal(delta(m, 'sluice_l4_bytes_total', { ...u, direction: 'out' }), DATAGRAMS * DATAGRAM);
  assert.equal(m.value('sluice_l4_datagrams_dropped_total', u), 0);
  assert.equal(m.samples('sluice_l4_datagrams_dropped_total', u).length, 1, 'measured, and 0');

  // The proxy's budget and cap, once each: as configured, never one per process.
  const bw = m.samples('sluice_l4_proxy_bandwidth_bytes', { proxy });
  assert.equal(bw.length, 1);
  assert.equal(Number(bw[0]!.value), BANDWIDTH_MBPS * 125_000);
  assert.equal(m.samples('sluice_l4_proxy_connection_cap', { proxy }).length, 1);
  assert.equal(m.value('sluice_l4_proxy_connection_cap', { proxy }), CAP);
  assert.equal(m.family('sluice_l4_bytes_total').type, 'COUNTER');
  assert.equal(m.family('sluice_l4_connections_open').type, 'GAUGE');
  labelsBounded(m, [clientPort]);
}

async function scenario(args: string[], proxies: (ids: string[]) => boolean, pool: string): Promise<void> {
  const origin = await tcpOrigin('o');
  const echo = dgram.createSocket('udp4');
  echo.on('message', (msg, from) => echo.send(msg, from.port, from.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  const p = await startSluiceProcess(['--metrics-listen', '127.0.0.1:0', '--tencent-api-rate', '10000', ...args]);
  try {
    const api = adminApi(p);
    const region = await api('PUT', '/v1/l4-regions/default', { access: true, origin: true, bandwidths: [BANDWIDTH_MBPS, 100], concurrencies: [2, 5], pool: [pool] });
    assert.equal(region.status, 200, JSON.stringify(region.body));
    const tenant = (await api('POST', '/v1/tenants', { name: 'l4m' })).body.id as string;
    const sdk = await clientFor({ api, adminUrl: p.adminUrl }, tenant);
    const rs = (await call(sdk, 'AddRealServers', { ProjectId: 0, RealServerIP: ['127.0.0.1'], RealServerName: 'o' })).RealServerSet[0].RealServerId as string;
    const all: Served[] = [];
    while (!proxies(all.map((s) => s.proxy))) {
      assert.ok(all.length < 8, 'enough proxies');
      all.push(await serve(p, sdk, rs, origin, (echo.address()).port));
    }
    for (const s of all) await exercise(p, s, origin);
  } finally {
    await p.cleanup();
    await origin.close();
    echo.close();
  }
}

test('one process: TCP bytes, a refusal at the cap, a UDP exchange, the budget', { timeout: 90_000 }, async () => {
  await scenario([], (ids) => ids.length === 1, '127.0.120.0/28');
});

test('--workers 2: proxies on both workers, each counted once in the merged scrape', { timeout: 120_000 }, async () => {
  // The spread is a stable hash of the proxy id: make proxies until both workers serve one.
  await scenario(['--workers', '2'], (ids) => new Set(ids.map((id) => workerOf(id, 2))).size === 2, '127.0.121.0/28');
});
