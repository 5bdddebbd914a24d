import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminApi, startSluiceProcess } from '../helpers/cli.js';
import { clientFor } from '../helpers/gaap-stats.js';
import { connect, firstLine, freePort, readAll, readN, tcpOrigin } from '../helpers/l4.js';
import { until } from '../helpers/wait.js';

type Line = Record<string, any>;

async function linesOf(file: string): Promise<Line[]> {
  let text: string;
  try { text = await readFile(file, 'utf8'); } catch { return []; }
  if (text === '') return [];
  assert.ok(text.endsWith('\n'));
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Line);
}

test('L4 access lines: a TCP connection at its close with its bytes, one refused at the cap, a UDP session when it expires, one cut by the stop', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-access-l4-'));
  const file = join(dir, 'l4.log');
  const origin = await tcpOrigin('o');
  const echo = dgram.createSocket('udp4');
  echo.on('message', (m, from) => echo.send(m, from.port, from.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  const p = await startSluiceProcess(['--access-log', file, '--tencent-api-rate', '10000', '--shutdown-grace', '1']);
  const sockets: (Socket | dgram.Socket)[] = [];
  try {
    const api = adminApi(p);
    assert.equal((await api('PUT', '/v1/l4-regions/default', { access: true, origin: true, bandwidths: [10], concurrencies: [2], pool: ['127.0.95.0/28'] })).status, 200);
    const tenant = (await api('POST', '/v1/tenants', { name: 'l4log' })).body.id as string;
    const gaap = await clientFor({ api, adminUrl: p.adminUrl }, tenant);

    const { InstanceId: proxyId } = await gaap.CreateProxy!({ ProjectId: 0, ProxyName: 'p', AccessRegion: 'default', RealServerRegion: 'default', Bandwidth: 10, Concurrent: 2 });
    await until('the proxy runs', async () => (await gaap.DescribeProxiesStatus!({ ProxyIds: [proxyId] })).InstanceStatusSet[0].Status === 'RUNNING');
    // The operator's exact cap (GAAP sells units of 10,000): one connection or session at a time.
    assert.equal((await api('PATCH', `/v1/proxies/${proxyId}`, { connectionCap: 1 })).status, 200);
    const address = (await api('GET', `/v1/proxies/${proxyId}`)).body.address as string;
    const tcpPort = await freePort(address);
    const udpPort = await freePort(address);
    const [tcpId] = (await gaap.CreateTCPListeners!({ ProxyId: proxyId, ListenerName: 't', Ports: [tcpPort], Scheduler: 'rr', RealServerType: 'IP', HealthCheck: 0 })).ListenerIds;
    const [udpId] = (await gaap.CreateUDPListeners!({ ProxyId: proxyId, ListenerName: 'u', Ports: [udpPort], Scheduler: 'rr', RealServerType: 'IP' })).ListenerIds;
    const rs = (await gaap.AddRealServers!({ ProjectId: 0, RealServerIP: ['127.0.0.1'], RealServerName: 'o' })).RealServerSet[0].RealServerId;
    await gaap.BindListenerRealServers!({ ListenerId: tcpId, RealServerBindSet: [{ RealServerId: rs, RealServerIP: '127.0.0.1', RealServerPort: origin.port }] });
    await gaap.BindListenerRealServers!({ ListenerId: udpId, RealServerBindSet: [{ RealServerId: rs, RealServerIP: '127.0.0.1', RealServerPort: echo.address().port }] });
    assert.equal((await api('PATCH', `/v1/listeners/${udpId}`, { idleTimeout: 1 })).status, 200);

    // The bindings reach the plane a moment after the listeners: until then, no_origin.
    await until('the TCP listener relays', async () => (await firstLine(address, tcpPort).catch(() => '')) === 'o', 20_000);
    const held = await until('the one connection the cap allows', async () => {
      const c = await connect(address, tcpPort).catch(() => null);
      if (!c) return null;
      c.on('error', () => undefined);
      const greeting = await readN(c, 2, 2000).catch(() => null);
      if (greeting?.toString() === 'o\n') return c;
      c.destroy();
      return null;
    });
    sockets.push(held);
    // The reset may come before node reports the connect: the client's port is chosen here.
    const refusedPort = await freePort('127.0.0.1');
    const refused = netConnect({ host: address, port: tcpPort, localAddress: '127.0.0.1', localPort: refusedPort });
    assert.equal((await readAll(refused, 5000)).error, 'ECONNRESET');
    const got = readN(held, 1000);
    held.write(Buffer.alloc(1000, 7));
    await got;
    const heldPort = held.localPort!;
    held.end();
    await readAll(held, 5000);

    const probe = dgram.createSocket('udp4');
    sockets.push(probe);
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    let echoed = 0;
    probe.on('message', () => echoed++);
    await until('the UDP listener relays', () => { probe.send('ping', udpPort, address); return echoed > 0; }, 20_000);
    const probeAddr = `127.0.0.1:${probe.address().port}`;
    probe.close();
    sockets.pop();
    // The probe's session holds the one slot until it idles out (1 s).
    await until('the probe session expired', async () => (await linesOf(file)).some((l) => l.client_addr === probeAddr && l.end === 'idle_timeout'), 20_000);
    const client = dgram.createSocket('udp4');
    sockets.push(client);
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    let back = 0;
    client.on('message', () => back++);
    for (let i = 0; i < 3; i++) client.send(Buffer.alloc(100, i), udpPort, address);
    await until('the three echoes', () => back === 3);
    const clientAddr = `127.0.0.1:${client.address().port}`;
    const session = await until('the session\'s line when it expires', async () => (await linesOf(file)).find((l) => l.protocol === 'udp' && l.client_addr === clientAddr), 20_000);

    // A connection still open at the stop is cut once the grace is over: its line says so.
    const last = await until('a connection held to the stop', async () => {
      const c = await connect(address, tcpPort).catch(() => null);
      if (!c) return null;
      c.on('error', () => undefined);
      if ((await readN(c, 2, 2000).catch(() => null))?.toString() === 'o\n') return c;
      c.destroy();
      return null;
    });
    sockets.push(last);
    const lastPort = last.localPort!;
    p.child.kill('SIGTERM');
    assert.equal((await once(p.child, 'exit'))[0], 0);

    const lines = (await linesOf(file)).filter((l) => l.type === 'l4_access');
    for (const l of lines) {
      assert.equal(l.proxy, proxyId);
      assert.equal(typeof l.time, 'number');
      assert.equal(typeof l.start, 'number');
      assert.ok(l.duration_ms >= 0);
    }
    const tcp = lines.find((l) => l.client_addr === `127.0.0.1:${heldPort}`);
    assert.ok(tcp, 'the connection has its line');
    assert.deepEqual(
      [tcp.listener, tcp.protocol, tcp.origin_addr, tcp.bytes_in, tcp.bytes_out, tcp.datagrams_in, tcp.datagrams_out, tcp.end],
      [tcpId, 'tcp', `127.0.0.1:${origin.port}`, 1000, 1002, null, null, 'closed'],
    );
    const refusal = lines.find((l) => l.client_addr === `127.0.0.1:${refusedPort}`);
    assert.ok(refusal, 'the refused connection has its line');
    assert.deepEqual([refusal.listener, refusal.end, refusal.origin_addr, refusal.bytes_in, refusal.bytes_out], [tcpId, 'refused', null, 0, 0]);
    assert.deepEqual(
      [session.listener, session.origin_addr, session.datagrams_in, session.datagrams_out, session.bytes_in, session.bytes_out, session.end],
      [udpId, `127.0.0.1:${echo.address().port}`, 3, 3, 300, 300, 'idle_timeout'],
    );
    assert.ok(session.duration_ms >= 1000, `the session lasted its idle timeout at least: ${session.duration_ms} ms`);
    const cut = lines.find((l) => l.client_addr === `127.0.0.1:${lastPort}`);
    assert.ok(cut, 'the connection open at the stop has its line, written before the exit');
    assert.equal(cut.end, 'drained');
    assert.equal(cut.bytes_out, 2);
  } finally {
    for (const s of sockets) { try { if ('destroy' in s) s.destroy(); else s.close(); } catch { /* closed */ } }
    await p.cleanup();
    await origin.close();
    echo.close();
    await rm(dir, { recursive: true, force: true });
  }
});
