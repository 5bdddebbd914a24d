import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { request, type Dispatcher } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tc3Headers } from '../helpers/tc3.js';

// A bounded, seeded fuzz of the three admin faces. Each request is a valid one mutated
// (a field dropped, retyped, made huge, nested, given a prototype key...) or plain garbage,
// with valid credentials, so that what it exercises is parsing and validation, not auth.
// Whatever comes: no 5xx, no Tencent InternalError, no error in the gateway's log, and a
// refused request leaves the store's revision where it was. SLUICE_FUZZ_SEED and
// SLUICE_FUZZ_COUNT reproduce or lengthen a run; a failure names the seed and the request.

const SEED = Number(process.env.SLUICE_FUZZ_SEED ?? 20261201);
const COUNT = Number(process.env.SLUICE_FUZZ_COUNT ?? 1200);

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Init { method: string; headers: Record<string, string>; body?: string }

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number { return Math.floor(this.rnd() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  chance(p: number): boolean { return this.rnd() < p; }

  static readonly KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', 'a.b', '0', '-1', '01', 'x'.repeat(300), 'name', 'Limit', 'Offset', 'limit', 'offset', 'host', 'port', 'weight', 'Nodes', 'members', '\u0000', 'ü', '$ref'];
  static readonly STRINGS = ['', ' ', 'a', 'x'.repeat(70), 'x'.repeat(5000), '\u0000', 'a\u0000b', '%ZZ', '../../etc', '[', '[::1', '::1', '1.2.3.4', '256.1.1.1', '127.0.0.1', 'host name', 'a/b', 'user@host', '\r\nX-Injected: 1', '<script>', '😀', '\ud800', 'null', 'true', '1e400', '-0', '0x10', 'NaN', 'ROUND-ROBIN', 'HTTP', 'wrr', 'http', 'tcp', '200,201,210-299', '999-100', '/', '/health'];
  static readonly NUMBERS = [0, 1, -1, 2, 80, 65535, 65536, 100, 101, 254, 255, 10000, 10001, 2147483647, 2147483648, -2147483649, 2 ** 53, 1e20, -1e20, 0.5, -0.0, 1e308];

  scalar(): Json {
    switch (this.int(4)) {
      case 0: return this.pick(Gen.STRINGS);
      case 1: return this.pick(Gen.NUMBERS);
      case 2: return this.chance(0.5);
      default: return null;
    }
  }

  value(depth = 0): Json {
    const r = this.int(10);
    if (depth > 3 || r < 6) return this.scalar();
    if (r < 8) return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
    const o: Record<string, Json> = {};
    for (let i = this.int(4); i > 0; i--) o[this.pick(Gen.KEYS)] = this.value(depth + 1);
    return o;
  }

  /** A copy of `v` with one to three mutations somewhere inside it. */
  mutate(v: Json, times = 1 + this.int(3)): Json {
    let out = structuredClone(v);
    for (let i = 0; i < times; i++) out = this.mutateOnce(out);
    return out;
  }

  private mutateOnce(v: Json): Json {
    if (v === null || typeof v !== 'object' || this.chance(0.15)) {
      if (this.chance(0.2)) return this.value();
      if (this.chance(0.3) && typeof v === 'number') return this.pick(Gen.NUMBERS);
      if (this.chance(0.3) && typeof v === 'string') return this.pick(Gen.STRINGS);
      return this.scalar();
    }
    if (Array.isArray(v)) {
      if (v.length === 0 || this.chance(0.2)) { v.push(this.value()); return v; }
      if (this.chance(0.1)) return Array.from({ length: 10 + this.int(20) }, () => structuredClone(v[0]!));
      const i = this.int(v.length);
      if (this.chance(0.2)) v.splice(i, 1); else v[i] = this.mutateOnce(v[i]!);
      return v;
    }
    const keys = Object.keys(v);
    const r = this.int(10);
    if (keys.length === 0 || r < 2) {
      // A defined own key even for `__proto__`: JSON.parse makes one of the text we send.
      Object.defineProperty(v, this.pick(Gen.KEYS), { value: this.value(), enumerable: true, configurable: true, writable: true });
      return v;
    }
    const k = this.pick(keys);
    if (r < 4) delete v[k];
    else v[k] = this.mutateOnce(v[k]!);
    return v;
  }

  /** Bodies that are not JSON objects at all. */
  garbage(): string {
    return this.pick(['', '{', '}', '[]', 'null', '"x"', '1', '{"a":}', '{"a":1,}', '\u0000', '{"a":"\\ud800"}', '{'.repeat(2000), `[${'['.repeat(100)}`, '{"a":1}{"b":2}', 'name=x', '\xff\xfe', '{"__proto__":1}', `{"x":"${'y'.repeat(20000)}"}`]);
  }

  /** A query string: key=value pairs mixing real names, repeats, indices and prototype keys. */
  query(real: readonly string[]): string {
    const parts: string[] = [];
    for (let i = this.int(5); i > 0; i--) {
      const base = this.chance(0.6) ? this.pick(real) : this.pick(Gen.KEYS);
      const key = this.chance(0.3) ? `${base}.${this.pick(['0', '1', '01', '-1', '99999', 'x', '__proto__', 'Name', ''])}` : this.chance(0.1) ? `${base}[${this.pick(Gen.KEYS)}]` : base;
      const value = String(this.scalar());
      parts.push(`${enc(key)}=${enc(value)}`);
    }
    return parts.join('&');
  }
}

describe(`malformed-input fuzz of the admin faces (seed ${SEED}, ${COUNT} requests per face)`, () => {
  let gw: TestGateway;
  const errors: string[] = [];
  let ids: { tenantId: string; secretId: string; secretKey: string; token: string; projectId: string; instanceId: string; tencentUp: string; huaweiUp: string; nativeUp: string; routeId: string; memberId: string; groupId: string };

  before(async () => {
    // Every error-level line is a finding: the faces log internal errors before answering 500.
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { errors.push(chunk.toString()); done(); } });
    gw = await startTestGateway({ logger: pino({ level: 'error' }, sink), huaweiRatePerSecond: 1e6, tencentRatePerSecond: 1e6, limits: { maxUpstreamsPerInstance: 100_000, maxMembersPerUpstream: 1000 } });
    const tenantId = gw.tenantId;
    const k = await gw.api('POST', `/v1/tenants/${tenantId}/keys`);
    const token = (await gw.api('POST', `/v1/tenants/${tenantId}/tokens`, { name: 'fuzz' })).body.token as string;
    const projectId = (await gw.api('POST', `/v1/tenants/${tenantId}/projects`, { region: 'cn-north-4' })).body.id as string;
    const instanceId = (await gw.api('POST', '/v1/instances', { name: 'apig', region: 'cn-north-4' })).body.id as string;
    const nativeUp = await gw.api('POST', '/v1/upstreams', { tenantId, name: 'native', memberGroups: [{ name: 'g' }], members: [{ host: '127.0.0.1', port: 8080, group: 'g' }] });
    const routeId = (await gw.api('POST', '/v1/routes', { upstreamId: nativeUp.body.id })).body.id as string;
    const host = new URL(gw.adminUrl).host;
    const tc = await fetch(gw.adminUrl + '/', { method: 'POST', headers: tc3Headers({ method: 'POST', action: 'CreateUpstream', host, secretId: k.body.secretId, secretKey: k.body.secretKey, region: 'ap-guangzhou', body: JSON.stringify(TENCENT_CREATE) }), body: JSON.stringify(TENCENT_CREATE) });
    const tcBody = (await tc.json()) as { Response: { UpstreamId: string } };
    const tencentUp = tcBody.Response.UpstreamId;
    const hw = await fetch(`${gw.adminUrl}/v2/${projectId}/apigw/instances/${instanceId}/vpc-channels`, { method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: JSON.stringify(HUAWEI_CHANNEL) });
    const hwBody = (await hw.json()) as { id: string };
    const huaweiUp = hwBody.id;
    assert.ok(tencentUp && huaweiUp, `the seed objects exist: ${JSON.stringify([tcBody, hwBody])}`);
    ids = {
      tenantId, secretId: k.body.secretId, secretKey: k.body.secretKey, token, projectId, instanceId, tencentUp, huaweiUp,
      nativeUp: nativeUp.body.id, routeId, memberId: nativeUp.body.members[0].id, groupId: nativeUp.body.memberGroups[0].id,
    };
  });
  after(async () => { await gw.close(); });

  /** Sends one request and checks the answer against the invariants; `refused` says how the face refuses. */
  async function exchange(label: string, url: string, init: Init, refused: (status: number, body: string) => boolean, tencent = false) {
    const before = await gw.sluice.store.revision();
    const where = `seed ${SEED}, ${label}: ${init.method} ${url.slice(gw.adminUrl.length, gw.adminUrl.length + 200)} ${String(init.body ?? '').slice(0, 300)}`;
    let status: number;
    let text: string;
    try {
      const res = await request(url, { method: init.method as Dispatcher.HttpMethod, headers: init.headers, body: init.body });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) { assert.fail(`${where}: the request failed outright (${String(err)})`); }
    assert.ok(status < 500, `${where} -> ${status} ${text.slice(0, 300)}`);
    if (tencent) {
      assert.equal(status, 200, where);
      assert.doesNotMatch(text, /"Code":"InternalError"/, `${where} -> ${text.slice(0, 300)}`);
    }
    if (refused(status, text)) assert.equal(await gw.sluice.store.revision(), before, `${where} was refused but the store changed: ${text.slice(0, 300)}`);
    assert.deepEqual(errors, [], `${where} logged an error`);
  }

  const json = (g: Gen, valid: Json): string => (g.chance(0.1) ? g.garbage() : JSON.stringify(g.chance(0.1) ? valid : g.mutate(valid)));

  test('operator API', async () => {
    const g = new Gen(prng(SEED));
    const paths = () => {
      const id = g.pick([ids.nativeUp, ids.tencentUp, ids.huaweiUp, 'nope', '%00', '..', 'x'.repeat(80), '__proto__', 'constructor']);
      const sub = g.pick([ids.memberId, ids.groupId, 'nope', '__proto__']);
      return g.pick([
        ['POST', '/v1/upstreams', { tenantId: ids.tenantId, name: `n${g.int(1e6)}`, members: [{ host: '127.0.0.1', port: 81 }], healthCheck: { protocol: 'http', path: '/h' } }],
        ['PUT', `/v1/upstreams/${id}`, { name: 'native', members: [{ host: 'example.com', port: 80, weight: 5 }] }],
        ['PATCH', `/v1/upstreams/${id}`, { retries: 2, healthCheck: { interval: 10, timeout: 2, requestHeaders: { 'x-a': 'b' } } }],
        ['POST', `/v1/upstreams/${id}/members`, { members: [{ host: '10.0.0.1', port: 80 }] }],
        ['PUT', `/v1/upstreams/${id}/members`, { members: [{ host: '10.0.0.2' }], group: 'g' }],
        ['PATCH', `/v1/upstreams/${id}/members/${sub}`, { weight: 3 }],
        ['POST', `/v1/upstreams/${id}/members/disable`, { memberIds: [sub] }],
        ['POST', `/v1/upstreams/${id}/member-groups`, { memberGroups: [{ name: 'g2', weight: 5 }] }],
        ['PUT', `/v1/upstreams/${id}/member-groups/${sub}`, { name: 'g3', weight: 1 }],
        ['POST', '/v1/routes', { upstreamId: id, hosts: ['a.example'], paths: ['/x'], methods: ['GET'] }],
        ['PUT', `/v1/routes/${g.pick([ids.routeId, 'nope'])}`, { upstreamId: ids.nativeUp, hosts: ['*.example'] }],
        ['POST', '/v1/tenants', { name: `t${g.int(1e6)}` }],
        ['POST', `/v1/tenants/${g.pick([ids.tenantId, 'nope'])}/tokens`, { name: 'x', ttlSeconds: 3600 }],
        ['POST', `/v1/tenants/${g.pick([ids.tenantId, 'nope'])}/projects`, { region: 'ap-shanghai' }],
        ['POST', '/v1/instances', { name: 'i', region: 'ap-beijing' }],
        ['GET', g.pick(['/v1/upstreams', '/v1/tenants', '/v1/routes', '/v1/instances', `/v1/upstreams/${id}`, `/v1/upstreams/${id}/health`, `/v1/tenants/${ids.tenantId}/keys`]), null],
        ['DELETE', g.pick([`/v1/upstreams/${id}/members/${sub}`, `/v1/upstreams/${id}/member-groups/${sub}`, `/v1/routes/${id}`, `/v1/instances/${id}`]), null],
      ] as [string, string, Json][]);
    };
    for (let i = 0; i < COUNT; i++) {
      const [method, path, valid] = paths();
      const q = g.chance(0.3) ? `?${g.query(['limit', 'offset', 'tenantId'])}` : '';
      const body = valid === null ? (g.chance(0.1) ? g.garbage() : undefined) : json(g, valid);
      const headers: Record<string, string> = { authorization: `Bearer ${'operator-token-for-tests-0123456789'}` };
      if (body !== undefined) headers['content-type'] = g.chance(0.95) ? 'application/json' : g.pick(['text/plain', 'application/x-www-form-urlencoded', '']);
      await exchange(`operator #${i}`, gw.adminUrl + path + q, { method, headers, body }, (s) => s >= 400);
    }
  });

  test('Tencent API 3.0', async () => {
    const g = new Gen(prng(SEED + 1));
    const host = new URL(gw.adminUrl).host;
    const valid = (): [string, Json] => g.pick([
      ['CreateUpstream', { ...TENCENT_CREATE, UpstreamName: `t${g.int(1e6)}` }],
      ['DescribeUpstreams', { Limit: 10, Offset: 0, Filters: [{ Name: 'UpstreamId', Values: [ids.tencentUp] }] }],
      ['ModifyUpstream', { ...TENCENT_CREATE, UpstreamId: g.pick([ids.tencentUp, ids.nativeUp, 'upstream-nope']) }],
      ['DeleteUpstream', { UpstreamId: g.pick(['upstream-nope', ids.huaweiUp]) }],
      ['DescribeUpstreamBindApis', { UpstreamId: ids.tencentUp, Limit: 10, Offset: 0 }],
      [g.pick(['toString', '__proto__', 'Nope', '', 'describeupstreams', 'CreateProxyGroup']), {}],
    ] as [string, Json][]);
    for (let i = 0; i < COUNT; i++) {
      const [action, params] = valid();
      const method = g.chance(0.6) ? 'POST' : 'GET';
      let query = '';
      let body = '';
      if (method === 'POST') body = json(g, params);
      else query = g.chance(0.7) ? flatten(g.mutate(params)) : g.query(['Limit', 'Offset', 'Filters', 'UpstreamId', 'Nodes', 'UpstreamName', 'HealthChecker']);
      const region = g.chance(0.9) ? 'ap-guangzhou' : g.pick(['', 'AP', '../x', 'ap-shanghai', 'x'.repeat(70)]);
      const headers = tc3Headers({ method, action, host, secretId: ids.secretId, secretKey: ids.secretKey, query, body, region, version: g.chance(0.95) ? '2018-08-08' : g.pick(['2018-05-29', '', 'x']) });
      await exchange(`tencent #${i} ${action}`, `${gw.adminUrl}/${query ? `?${query}` : ''}`, { method, headers, body: method === 'POST' ? body : undefined }, (_s, text) => text.includes('"Error"'), true);
    }
  });

  test('Tencent GAAP (2018-05-29)', async () => {
    const g = new Gen(prng(SEED + 3));
    const host = new URL(gw.adminUrl).host;
    const send = async (action: string, body: string) => {
      const headers = tc3Headers({ method: 'POST', action, host, secretId: ids.secretId, secretKey: ids.secretKey, body, region: 'ap-guangzhou', version: '2018-05-29', service: 'gaap' });
      return ((await (await fetch(`${gw.adminUrl}/`, { method: 'POST', headers, body })).json()) as { Response: Record<string, any> }).Response;
    };
    const R = 'default';
    const group = await send('CreateProxyGroup', JSON.stringify({ ProjectId: 0, GroupName: 'fuzz', RealServerRegion: R, AccessRegionSet: [{ AccessRegion: R, Bandwidth: 10, Concurrent: 2 }] }));
    const listener = await send('CreateTCPListeners', JSON.stringify({ GroupId: group.GroupId, ListenerName: 'l', Ports: [7100], Scheduler: 'rr', HealthCheck: 0, RealServerType: 'IP' }));
    const rs = await send('AddRealServers', JSON.stringify({ ProjectId: 0, RealServerIP: ['127.0.0.1'], RealServerName: 'o' }));
    assert.ok(group.GroupId && listener.ListenerIds?.[0] && rs.RealServerSet?.[0], `the GAAP seed objects exist: ${JSON.stringify([group, listener, rs])}`);
    const gid = group.GroupId as string;
    const lid = listener.ListenerIds[0] as string;
    const rid = rs.RealServerSet[0].RealServerId as string;
    const proxy = (await send('DescribeProxies', JSON.stringify({ Filters: [{ Name: 'GroupId', Values: [gid] }] }))).ProxySet[0].ProxyId as string;
    const valid = (): [string, Json] => g.pick([
      ['CreateProxyGroup', { ProjectId: 0, GroupName: `g${g.int(1e6)}`, RealServerRegion: R, AccessRegionSet: [{ AccessRegion: R, Bandwidth: 10, Concurrent: 2 }] }],
      ['CreateProxy', { ProjectId: 0, ProxyName: 'p', AccessRegion: R, RealServerRegion: R, Bandwidth: 10, Concurrent: 2, GroupId: g.pick([gid, 'lg-nope']) }],
      ['DescribeProxies', { ProxyIds: [proxy], Limit: 10, Offset: 0 }],
      ['DescribeProxyGroupDetails', { GroupId: gid }],
      ['ModifyProxyConfiguration', { ProxyId: proxy, Bandwidth: 20, Concurrent: 5 }],
      ['ModifyProxyGroupAttribute', { GroupId: gid, GroupName: 'renamed' }],
      ['CreateTCPListeners', { GroupId: gid, ListenerName: 'l', Ports: [7000 + g.int(999)], Scheduler: 'wrr', HealthCheck: 1, DelayLoop: 5, ConnectTimeout: 2, RealServerType: 'IP' }],
      ['CreateUDPListeners', { GroupId: gid, ListenerName: 'u', Ports: [7000 + g.int(999)], Scheduler: 'rr', RealServerType: 'IP' }],
      ['DescribeTCPListeners', { GroupId: gid, Limit: 10, Offset: 0 }],
      ['ModifyTCPListenerAttribute', { GroupId: gid, ListenerId: lid, Scheduler: 'lc', DelayLoop: 10, ConnectTimeout: 3 }],
      ['AddRealServers', { ProjectId: 0, RealServerIP: ['10.9.9.9'], RealServerName: 'o' }],
      ['BindListenerRealServers', { ListenerId: lid, RealServerBindSet: [{ RealServerId: rid, RealServerIP: '127.0.0.1', RealServerPort: 8001, RealServerWeight: 5 }] }],
      ['DescribeListenerRealServers', { ListenerId: lid }],
      ['RemoveRealServers', { RealServerIds: [g.pick([rid, 'rs-nope'])] }],
      ['DeleteListeners', { GroupId: gid, ListenerIds: ['listener-nope'], Force: 0 }],
      [g.pick(['CreateHTTPListener', 'toString', 'Nope', '__proto__']), {}],
    ] as [string, Json][]);
    for (let i = 0; i < COUNT; i++) {
      const [action, params] = valid();
      const body = json(g, params);
      const headers = tc3Headers({ method: 'POST', action, host, secretId: ids.secretId, secretKey: ids.secretKey, body, region: 'ap-guangzhou', version: '2018-05-29', service: 'gaap' });
      await exchange(`gaap #${i} ${action}`, `${gw.adminUrl}/`, { method: 'POST', headers, body }, (_s, text) => text.includes('"Error"'), true);
    }
  });

  test('Huawei APIG v2', async () => {
    const g = new Gen(prng(SEED + 2));
    const base = `/v2/${ids.projectId}/apigw/instances/${ids.instanceId}`;
    const valid = (): [string, string, Json] => {
      const ch = g.pick([ids.huaweiUp, ids.tencentUp, ids.nativeUp, 'nope', '__proto__']);
      return g.pick([
        ['POST', '/vpc-channels', { ...HUAWEI_CHANNEL, name: `hw-${g.int(1e6)}` }],
        ['GET', `/vpc-channels`, null],
        ['GET', `/vpc-channels/${ch}`, null],
        ['PUT', `/vpc-channels/${ch}`, HUAWEI_CHANNEL],
        ['DELETE', `/vpc-channels/${g.pick(['nope', ids.nativeUp])}`, null],
        ['POST', `/vpc-channels/${ch}/members`, { members: [{ host: '10.1.1.1', port: 80, weight: 2 }] }],
        ['PUT', `/vpc-channels/${ch}/members`, { members: [{ host: '10.1.1.2', weight: 2 }] }],
        ['GET', `/vpc-channels/${ch}/members`, null],
        ['POST', `/vpc-channels/${ch}/members/batch-disable`, { member_ids: ['nope'] }],
        ['PUT', `/vpc-channels/${ch}/health-config`, HUAWEI_CHANNEL.vpc_health_config],
        ['POST', `/vpc-channels/${ch}/member-groups`, { member_groups: [{ member_group_name: 'mg', member_group_weight: 3 }] }],
        ['GET', `/vpc-channels/${ch}/member-groups`, null],
        ['PUT', `/vpc-channels/${ch}/member-groups/nope`, { member_group_name: 'x' }],
      ] as [string, string, Json][]);
    };
    for (let i = 0; i < COUNT; i++) {
      const [method, path, params] = valid();
      const q = method === 'GET' && g.chance(0.6) ? `?${g.query(['offset', 'limit', 'name', 'id', 'member_host', 'member_port', 'precise_search', 'vpc_channel_type', 'member_group_name'])}` : '';
      const body = params === null ? (g.chance(0.1) ? g.garbage() : undefined) : json(g, params);
      const headers: Record<string, string> = { 'x-auth-token': ids.token };
      if (body !== undefined) headers['content-type'] = 'application/json';
      await exchange(`huawei #${i}`, gw.adminUrl + base + path + q, { method, headers, body }, (s) => s >= 400);
    }
  });
});

const TENCENT_CREATE = {
  UpstreamName: 'fuzz', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-12345678', Retries: 2, UpstreamHost: 'orders.internal',
  Nodes: [{ Host: '127.0.0.1', Port: 8080, Weight: 10, Tags: ['a'] }],
  HealthChecker: { EnableActiveCheck: true, EnablePassiveCheck: true, HealthyHttpStatus: '200', UnhealthyHttpStatus: '500,502-504', TcpFailureThreshold: 3, TimeoutThreshold: 3, HttpFailureThreshold: 3, ActiveCheckHttpPath: '/h', ActiveCheckTimeout: 3, ActiveCheckInterval: 10, ActiveRequestHeader: [{ Key: 'x-a', Value: 'b' }], UnhealthyTimeout: 30 },
};

const HUAWEI_CHANNEL = {
  name: 'hw-channel', port: 80, balance_strategy: 1, member_type: 'ip',
  member_groups: [{ member_group_name: 'blue', member_group_weight: 7 }],
  members: [{ host: '127.0.0.1', port: 8081, weight: 1, member_group_name: 'blue' }],
  vpc_health_config: { protocol: 'http', path: '/health', threshold_normal: 2, threshold_abnormal: 3, time_interval: 10, timeout: 5, http_code: '200-299' },
};

/** encodeURIComponent, but a lone surrogate goes out as the bytes a careless client would send. */
function enc(s: string): string {
  try { return encodeURIComponent(s); } catch { return s.replace(/[\ud800-\udfff]/g, '%ED%A0%80').replace(/[^\w%.-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`); }
}

/** The SDK's GET form: `a.0.b=x`, 0-based, URL-encoded. */
function flatten(v: Json, prefix = ''): string {
  if (v === null || typeof v !== 'object') return prefix ? `${enc(prefix)}=${enc(String(v))}` : '';
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
  return entries.map(([k, x]) => flatten(x, prefix ? `${prefix}.${k}` : k)).filter(Boolean).join('&');
}
