import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { FastifyInstance } from 'fastify';
import gaapModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/gaap/v20180529/gaap_client.js';
import { noHealth } from '../../src/api/health-reporter.js';
import { buildAdminServer } from '../../src/api/server.js';
import { tencentDialect } from '../../src/api/tencent/plugin.js';
import { gaapSettings, markApplied } from '../../src/control/gaap.js';
import { bootstrapOperatorToken } from '../../src/control/operator.js';
import { OPERATOR } from '../../src/control/scope.js';
import { DEFAULT_LIMITS } from '../../src/control/upstreams.js';
import { L4HealthChecker, PING_NOTE } from '../../src/health/l4-checker.js';
import type { L4Snapshot } from '../../src/l4/plan.js';
import { L4Plane } from '../../src/l4/plane.js';
import { l4Reporter } from '../../src/l4/node.js';
import { createLogger } from '../../src/logger.js';
import { followStore } from '../../src/runtime/follow.js';
import type { Store } from '../../src/store/store.js';
import { sqliteTestStore } from '../helpers/pg.js';
import { until } from '../helpers/wait.js';

// Health verdicts of real probes through GAAP's encodings (RealServerStatus, DownIPList,
// BindStatus the TCP way and the UDP way) and the operator API. The parts are assembled as
// src/l4/node.ts does (a real plane binding the listeners, the checker following its
// snapshots), so that the checks can be sped up below GAAP's 5 s minimum DelayLoop and a
// test resolver can stand for DNS; test/l4/health.test.ts runs the whole gateway at GAAP's pace.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

type Call = (req: Record<string, unknown>) => Promise<Record<string, any>>;
interface Gaap { [action: string]: Call }
const { Client } = gaapModule as unknown as { Client: new (cfg: unknown) => Gaap };
const call = (c: Gaap, action: string, req: Record<string, unknown> = {}) => c[action]!.call(c, req);

const TOKEN = 'operator-token-for-tests-0123456789';
const REGION = 'hk-test';
const TWO = 'two.example.test';
const NOWHERE = 'no-such-origin.invalid';

const PING_WORKS = await new Promise<boolean>((resolve) => {
  try {
    execFile('ping', ['-c', '1', '-W', '2', '-n', '127.0.0.1'], { timeout: 5000 }, (err) => resolve(!err));
  } catch { resolve(false); }
});


describe('L4 health through the GAAP face and the operator API', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let app: FastifyInstance;
  let base: string;
  let checker: L4HealthChecker;
  let plane: L4Plane;
  let follower: { ready: Promise<void>; stop(): void };
  let applyConfig: Parameters<typeof followStore>[1];
  let snapshot: L4Snapshot | null = null;
  let client: Gaap;
  let live: Server;
  let deadPort: number;
  let udpGood: UdpSocket;
  let udpClosed: number;
  const ids: Record<string, string> = {};
  const rs: Record<string, string> = {};

  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(base + path, {
      method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() as any };
  }

  before(async () => {
    live = createServer((s) => { s.on('error', () => {}); s.destroy(); });
    await new Promise<void>((r) => live.listen(0, '127.0.0.1', () => r()));
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.2', () => r()));
    deadPort = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    udpGood = createSocket('udp4');
    udpGood.on('message', (m, from) => { if (m.toString() === 'ping') udpGood.send('pong', from.port, from.address); });
    await new Promise<void>((r) => udpGood.bind(0, '127.0.0.1', () => r()));
    const gone = createSocket('udp4');
    await new Promise<void>((r) => gone.bind(0, '127.0.0.3', () => r()));
    udpClosed = gone.address().port;
    await new Promise<void>((r) => gone.close(() => r()));

    ({ store, cleanup } = await sqliteTestStore());
    const logger = createLogger('silent');
    await bootstrapOperatorToken(store, TOKEN, logger);

    // A name with two loopback addresses, one of them without a server; the rest as the system resolves them.
    checker = new L4HealthChecker(logger, (u) => plane.setHealth(u), {
      lookup: async (host) => (host === TWO ? [{ address: '127.0.0.1' }, { address: '127.0.0.2' }] : lookup(host, { all: true })),
    });
    plane = new L4Plane({ region: REGION, logger, drainMs: 500, onApplied: (id, st) => markApplied(store, OPERATOR, id, st).then(() => true) });
    plane.onSnapshot((s) => {
      // GAAP's DelayLoop is 5 s at least; the built checks are sped up.
      for (const p of s.proxies.values()) for (const l of p.listeners) if (l.check) { l.check.intervalMs = 200; l.check.timeoutMs = 150; }
      snapshot = s;
      checker.sync(s);
    });
    applyConfig = (c) => plane.apply(c);
    follower = followStore(store, applyConfig, (err) => { throw err; });
    await follower.ready;

    const l4 = l4Reporter((id) => plane.listenerReport(id), checker);
    const gaap = gaapSettings({ defaultRegion: REGION, defaultPool: ['127.0.0.41'] });
    app = await buildAdminServer({
      store, logger, defaultRegion: REGION, gaap, l4,
      dialects: [tencentDialect({ store, limits: DEFAULT_LIMITS, health: noHealth, defaultRegion: REGION, gaap, l4, ratePerSecond: 10_000 })],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    const t = await api('POST', '/v1/tenants', { name: 'alice' });
    const k = await api('POST', `/v1/tenants/${t.body.id}/keys`);
    client = new Client({
      credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://', endpoint: base.replace('http://', ''), reqTimeout: 10 } },
    });
    const { InstanceId } = await call(client, 'CreateProxy', { ProjectId: 0, ProxyName: 'p', AccessRegion: REGION, RealServerRegion: REGION, Bandwidth: 10, Concurrent: 2 });
    const ProxyId = InstanceId as string;
    // The plane applies it and reports it: RUNNING.
    for (let i = 0; i < 200 && (await call(client, 'DescribeProxiesStatus', { ProxyIds: [ProxyId] })).InstanceStatusSet[0].Status !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 10));

    const fast = { HealthCheck: 1, DelayLoop: 5, ConnectTimeout: 2, HealthyThreshold: 1, UnhealthyThreshold: 1 };
    const tcp = async (name: string, port: number, extra: Record<string, unknown>) =>
      (ids[name] = (await call(client, 'CreateTCPListeners', { ListenerName: name, Ports: [port], Scheduler: 'rr', RealServerType: 'IP', ProxyId, ...fast, ...extra })).ListenerIds[0]);
    const udp = async (name: string, port: number, extra: Record<string, unknown>) =>
      (ids[name] = (await call(client, 'CreateUDPListeners', { ListenerName: name, Ports: [port], Scheduler: 'rr', RealServerType: 'IP', ProxyId, ...fast, ...extra })).ListenerIds[0]);
    await tcp('tcpMixed', 8001, {});
    await tcp('tcpUp', 8002, {});
    await tcp('tcpDomain', 8003, { RealServerType: 'DOMAIN' });
    await tcp('tcpOff', 8004, { HealthCheck: 0 });
    const port = { CheckType: 'PORT', ContextType: 'TEXT', SendContext: 'ping', RecvContext: 'pong' };
    await udp('udpUp', 8001, port);
    await udp('udpDown', 8002, port);
    await udp('udpUnresolved', 8003, { ...port, RealServerType: 'DOMAIN' });
    await udp('udpPing', 8004, { CheckType: 'PING' });

    for (const ip of ['127.0.0.1', '127.0.0.2', '127.0.0.3', TWO, NOWHERE]) {
      rs[ip] = (await call(client, 'AddRealServers', { ProjectId: 0, RealServerIP: [ip], RealServerName: 'o' })).RealServerSet[0].RealServerId;
    }
    const bind = (name: string, set: [string, number][]) => call(client, 'BindListenerRealServers', {
      ListenerId: ids[name], RealServerBindSet: set.map(([ip, p]) => ({ RealServerId: rs[ip], RealServerIP: ip, RealServerPort: p })),
    });
    const livePort = (live.address() as AddressInfo).port;
    const udpPort = udpGood.address().port;
    await bind('tcpMixed', [['127.0.0.1', livePort], ['127.0.0.2', deadPort]]);
    await bind('tcpUp', [['127.0.0.1', livePort]]);
    await bind('tcpDomain', [[TWO, livePort], [NOWHERE, livePort]]);
    await bind('tcpOff', [['127.0.0.2', deadPort]]);
    await bind('udpUp', [['127.0.0.1', udpPort]]);
    await bind('udpDown', [['127.0.0.3', udpClosed]]);
    await bind('udpUnresolved', [[NOWHERE, 53]]);
    await bind('udpPing', [['127.0.0.1', 53]]);

    // Every checked binding has a verdict (the PING one only where this node can send ICMP).
    await until('verdicts', () => snapshot !== null && [...snapshot.proxies.values()].every((p) => p.listeners.every((l) => l.check === null
      || (l.check.kind === 'udp-ping' && !PING_WORKS) || l.targets.every((t) => {
        const b = checker.binding(l.id, t.id);
        // The domain with two addresses is judged once its down one is known.
        return b !== null && (t.host !== TWO || b.downIps.length > 0);
      }))) && (PING_WORKS || checker.healthNote(ids.udpPing!) !== null));
  });

  after(async () => {
    follower?.stop();
    await plane?.close(100);
    checker?.close();
    await app?.close();
    await cleanup?.();
    live?.close();
    udpGood?.close();
  });

  const statusOf = (set: any[]) => set.map((b) => [b.RealServerIP, b.RealServerStatus, b.DownIPList]).sort((a, b) => (a[0] < b[0] ? -1 : 1));

  test('DescribeListenerRealServers: RealServerStatus 0 normal, 1 abnormal; DownIPList the failed addresses of a domain, empty when it does not resolve', async () => {
    const of = async (name: string) => statusOf((await call(client, 'DescribeListenerRealServers', { ListenerId: ids[name] })).BindRealServerSet);
    // An IP origin's own address is not a DownIPList entry: the list is for what a domain resolved to.
    assert.deepEqual(await of('tcpMixed'), [['127.0.0.1', 0, []], ['127.0.0.2', 1, []]]);
    assert.deepEqual(await of('tcpDomain'), [[NOWHERE, 1, []], [TWO, 0, ['127.0.0.2']]]);
    assert.deepEqual(await of('udpUp'), [['127.0.0.1', 0, []]]);
    assert.deepEqual(await of('udpDown'), [['127.0.0.3', 1, []]]);
    // HealthCheck 0: normal, and never probed.
    assert.deepEqual(await of('tcpOff'), [['127.0.0.2', 0, []]]);
    assert.equal(checker.binding(ids.tcpOff!, (await api('GET', `/v1/listeners/${ids.tcpOff}/bindings`)).body.items[0].id), null);
    // PING: normal either way here (up where ping works; no verdict, and a note, where it cannot).
    assert.deepEqual(await of('udpPing'), [['127.0.0.1', 0, []]]);
  });

  test('DescribeTCPListeners / DescribeUDPListeners: BindStatus TCP 1 normal 0 abnormal, UDP 0 normal 1 IP abnormal 2 domain unresolved', async () => {
    const tl = (await call(client, 'DescribeTCPListeners', await proxyOf())).ListenerSet;
    const tcp = Object.fromEntries(tl.map((l: any) => [l.ListenerName, l.BindStatus]));
    assert.deepEqual(tcp, { tcpMixed: 0, tcpUp: 1, tcpDomain: 0, tcpOff: 1 });
    const mixed = tl.find((l: any) => l.ListenerName === 'tcpMixed');
    assert.deepEqual(statusOf(mixed.RealServerSet), [['127.0.0.1', 0, []], ['127.0.0.2', 1, []]]);
    const ul = (await call(client, 'DescribeUDPListeners', await proxyOf())).ListenerSet;
    const udp = Object.fromEntries(ul.map((l: any) => [l.ListenerName, l.BindStatus]));
    assert.deepEqual(udp, { udpUp: 0, udpDown: 1, udpUnresolved: 2, udpPing: 0 });
  });

  test('the operator API: health per binding, dataPlane per listener (with the PING note where ICMP cannot be sent)', async () => {
    const b = (await api('GET', `/v1/listeners/${ids.tcpDomain}/bindings`)).body;
    assert.equal(b.total, 2);
    const byOrigin = Object.fromEntries(b.items.map((x: any) => [x.originId, x.health]));
    assert.deepEqual(byOrigin[rs[TWO]!], { healthy: true, downIps: ['127.0.0.2'] });
    assert.deepEqual(byOrigin[rs[NOWHERE]!], { healthy: false, downIps: [] });
    assert.deepEqual((await api('GET', `/v1/listeners/${ids.tcpMixed}/bindings`)).body.items.map((x: any) => x.health).sort((x: any, y: any) => Number(y.healthy) - Number(x.healthy)),
      [{ healthy: true, downIps: [] }, { healthy: false, downIps: ['127.0.0.2'] }]);
    assert.equal((await api('GET', `/v1/listeners/${ids.tcpOff}/bindings`)).body.items[0].health, null);

    const l = (await api('GET', `/v1/listeners/${ids.udpPing}`)).body;
    assert.equal(l.id, ids.udpPing);
    assert.equal(l.protocol, 'udp', 'the stored fields are all still there');
    assert.deepEqual(l.udpCheck, { type: 'ping', port: 0, contextType: 'TEXT', send: '', receive: '' });
    assert.equal(l.dataPlane.bound, true);
    assert.equal(l.dataPlane.error, null);
    if (PING_WORKS) assert.equal(l.dataPlane.healthNote, null);
    else assert.ok(String(l.dataPlane.healthNote).startsWith(PING_NOTE), l.dataPlane.healthNote);
    assert.equal((await api('GET', `/v1/listeners/${ids.tcpUp}`)).body.dataPlane.healthNote, null);

    const doc = (await api('GET', '/v1/openapi.json')).body;
    const props = (p: string, m = 'get') => doc.paths[p][m].responses['200'].content['application/json'].schema;
    assert.ok(JSON.stringify(props('/v1/listeners/{id}')).includes('healthNote'), 'the listener schema documents dataPlane');
    assert.ok(JSON.stringify(props('/v1/listeners/{id}/bindings')).includes('downIps'), 'the bindings schema documents health');
  });

  test('checks turned off through GAAP: every origin normal at once, even while this node still holds the old verdicts', async () => {
    const plan = () => [...snapshot!.proxies.values()][0]!.listeners.find((x) => x.id === ids.tcpMixed)!;
    const downTarget = plan().targets.find((t) => t.host === '127.0.0.2')!;
    // The node stops following the store for a while: its checker keeps the old check and verdict.
    follower.stop();
    await call(client, 'ModifyTCPListenerAttribute', { ListenerId: ids.tcpMixed, HealthCheck: 0 });
    assert.deepEqual(checker.binding(ids.tcpMixed!, downTarget.id), { healthy: false, downIps: ['127.0.0.2'] });
    const set = (await call(client, 'DescribeListenerRealServers', { ListenerId: ids.tcpMixed })).BindRealServerSet;
    assert.deepEqual(statusOf(set), [['127.0.0.1', 0, []], ['127.0.0.2', 0, []]]);
    assert.equal((await call(client, 'DescribeTCPListeners', { ListenerId: ids.tcpMixed })).ListenerSet[0].BindStatus, 1);
    assert.equal((await api('GET', `/v1/listeners/${ids.tcpMixed}/bindings`)).body.items.every((x: any) => x.health === null), true);

    follower = followStore(store, applyConfig, (err) => { throw err; });
    await follower.ready;
    assert.equal(plan().check, null);
    assert.equal(checker.binding(ids.tcpMixed!, downTarget.id), null, 'once applied, the checker holds no verdict either');
  });

  async function proxyOf(): Promise<{ ProxyId: string }> {
    const l = (await api('GET', `/v1/listeners/${ids.tcpUp}`)).body;
    return { ProxyId: l.proxyId };
  }
});
