import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import gaapModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/gaap/v20180529/gaap_client.js';
import { connect, firstLine, freePort, readN, startL4Gateway, tcpOrigin, type L4Gateway, type TcpOrigin } from '../helpers/l4.js';
import { until } from '../helpers/wait.js';

for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];
type Call = (req: Record<string, unknown>) => Promise<Record<string, any>>;
interface Gaap { [action: string]: Call }
const { Client } = gaapModule as unknown as { Client: new (cfg: unknown) => Gaap };
const call = (c: Gaap, action: string, req: Record<string, unknown> = {}) => c[action]!.call(c, req);

// The whole gateway at GAAP's own pace (DelayLoop 5 s at least): health verdicts steer new
// connections (failover masters, then slaves, then masters again) and read in GAAP's API.
describe('L4 health and failover through the whole gateway and the official SDK', () => {
  let gw: L4Gateway;
  let sdk: Gaap;
  let master: TcpOrigin;
  let slave: TcpOrigin;
  before(async () => {
    gw = await startL4Gateway({ tencentRatePerSecond: 10_000 });
    const k = await gw.api('POST', `/v1/tenants/${gw.tenantId}/keys`);
    sdk = new Client({
      credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqTimeout: 10 } },
    });
    master = await tcpOrigin('master');
    slave = await tcpOrigin('slave', undefined, '127.0.0.2');
  });
  after(async () => { await gw.close(); await master.close(); await slave.close(); });


  test('masters while one is healthy, then slaves, then masters again; open connections stay where they are', async () => {
    const { InstanceId: ProxyId } = await call(sdk, 'CreateProxy', { ProjectId: 0, ProxyName: 'hc', AccessRegion: gw.region, RealServerRegion: gw.region, Bandwidth: 100, Concurrent: 2 });
    await gw.until(ProxyId, 'RUNNING');
    const host = (await gw.api('GET', `/v1/proxies/${ProxyId}`)).body.address as string;
    const port = await freePort(host);
    const { ListenerIds: [ListenerId] } = await call(sdk, 'CreateTCPListeners', {
      ProxyId, ListenerName: 'fo', Ports: [port], Scheduler: 'rr', RealServerType: 'IP', FailoverSwitch: 1,
      HealthCheck: 1, DelayLoop: 5, ConnectTimeout: 2, HealthyThreshold: 1, UnhealthyThreshold: 1,
    });
    const rs: Record<string, string> = {};
    for (const ip of ['127.0.0.1', '127.0.0.2']) rs[ip] = (await call(sdk, 'AddRealServers', { ProjectId: 0, RealServerIP: [ip], RealServerName: 'o' })).RealServerSet[0].RealServerId;
    await call(sdk, 'BindListenerRealServers', {
      ListenerId, RealServerBindSet: [
        { RealServerId: rs['127.0.0.1'], RealServerIP: '127.0.0.1', RealServerPort: master.port, RealServerFailoverRole: 'master' },
        { RealServerId: rs['127.0.0.2'], RealServerIP: '127.0.0.2', RealServerPort: slave.port, RealServerFailoverRole: 'slave' },
      ],
    });
    await gw.applied();
    const statuses = async () => Object.fromEntries((await call(sdk, 'DescribeListenerRealServers', { ListenerId })).BindRealServerSet.map((b: any) => [b.RealServerIP, b.RealServerStatus]));
    for (let i = 0; i < 4; i++) assert.equal(await firstLine(host, port), 'master');
    assert.deepEqual(await statuses(), { '127.0.0.1': 0, '127.0.0.2': 0 });

    // The master goes away: once its check fails, new connections go to the slave.
    await master.close();
    await until('the master reads abnormal', async () => (await statuses())['127.0.0.1'] === 1, 20_000);
    assert.equal((await call(sdk, 'DescribeTCPListeners', { ListenerId })).ListenerSet[0].BindStatus, 0, 'TCP BindStatus 0: an origin is abnormal');
    for (let i = 0; i < 4; i++) assert.equal(await firstLine(host, port), 'slave');
    const onSlave: net.Socket = await connect(host, port);
    assert.equal((await readN(onSlave, 6)).toString(), 'slave\n');

    // It comes back on the same port: new connections return to it; the open one stays.
    master = await tcpOrigin('master', undefined, '127.0.0.1', master.port);
    await until('the master reads normal again', async () => (await statuses())['127.0.0.1'] === 0, 20_000);
    for (let i = 0; i < 4; i++) assert.equal(await firstLine(host, port), 'master');
    onSlave.write('still');
    assert.equal((await readN(onSlave, 5)).toString(), 'still', 'an open connection is never moved');
    onSlave.destroy();
  });
});
