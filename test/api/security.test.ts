import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { request } from 'undici';
import { startBackends, type Backend, type Echo } from '../helpers/backends.js';
import { OPERATOR_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tc3Headers } from '../helpers/tc3.js';

// Attack classes against the admin listener's three faces: targets in forms the router takes
// but an auth check could miss, parsed keys that could reach a prototype, repeated and nested
// keys, numbers beyond any range. Each test tries several variants of its class.

interface RawAnswer { status: number; head: string; body: string }

/** One request as raw bytes on a fresh connection: the exact target and headers are ours. */
function raw(port: number, text: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(text));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => { out += d; });
    s.on('error', reject);
    s.on('close', () => {
      const [head = '', ...rest] = out.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: rest.join('\r\n\r\n') });
    });
    s.setTimeout(5000, () => s.destroy());
  });
}

describe('admin listener under attack', () => {
  let gw: TestGateway;
  let backends: Backend[];
  let host: string;
  let alice: { id: string; secretId: string; secretKey: string; token: string; projectId: string };
  let bob: { id: string; secretId: string; secretKey: string; token: string; projectId: string };
  let instanceId: string;

  async function tenant(name: string) {
    const t = await gw.api('POST', '/v1/tenants', { name });
    const k = await gw.api('POST', `/v1/tenants/${t.body.id}/keys`);
    const tok = await gw.api('POST', `/v1/tenants/${t.body.id}/tokens`, { name: 'apig' });
    const p = await gw.api('POST', `/v1/tenants/${t.body.id}/projects`, { region: 'cn-north-4' });
    return { id: t.body.id, secretId: k.body.secretId, secretKey: k.body.secretKey, token: tok.body.token, projectId: p.body.id };
  }

  /** A signed Tencent call with a raw query (GET) or raw body (POST). */
  async function tencent(who: typeof alice, method: 'GET' | 'POST', action: string, payload: string, extra: { region?: string; version?: string; service?: string } = {}) {
    const headers = tc3Headers({ method, action, host, secretId: who.secretId, secretKey: who.secretKey, query: method === 'GET' ? payload : undefined, body: method === 'POST' ? payload : undefined, region: extra.region ?? 'ap-guangzhou', version: extra.version, service: extra.service });
    const res = await fetch(`${gw.adminUrl}/${method === 'GET' && payload ? `?${payload}` : ''}`, { method, headers, body: method === 'POST' ? payload : undefined });
    assert.equal(res.status, 200, 'Tencent answers every error with HTTP 200');
    return ((await res.json()) as { Response: Record<string, any> }).Response;
  }

  async function huawei(who: typeof alice, method: string, path: string, body?: string) {
    const res = await fetch(`${gw.adminUrl}/v2/${who.projectId}/apigw/instances/${instanceId}${path}`, {
      method, body, headers: { 'x-auth-token': who.token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  /** What another tenant's proxied request carries, and that every credential still works. */
  async function nothingLeaked() {
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
    assert.equal(Object.getOwnPropertyNames(Object.prototype).some((n) => /polluted|injected/i.test(n)), false);
    const r = await request(`${gw.proxyUrl}/`, { headers: { host: 'bob.example' } });
    assert.equal(r.statusCode, 200);
    const seen = (await r.body.json()) as Echo;
    assert.equal(Object.keys(seen.headers).some((h) => /polluted|injected/i.test(h)), false, `no injected header: ${Object.keys(seen.headers).join(',')}`);
    assert.equal((await gw.api('GET', '/v1/tenants')).status, 200, 'the operator still gets in');
    const d = await tencent(bob, 'POST', 'DescribeUpstreams', JSON.stringify({ Limit: 10, Offset: 0 }));
    assert.equal(d.Error, undefined, JSON.stringify(d.Error));
    const h = await huawei(bob, 'GET', '/vpc-channels');
    assert.equal(h.status, 200, JSON.stringify(h.body));
  }

  before(async () => {
    gw = await startTestGateway({ huaweiRatePerSecond: 100_000, tencentRatePerSecond: 100_000 });
    host = new URL(gw.adminUrl).host;
    backends = await startBackends(['b0']);
    alice = await tenant('alice');
    bob = await tenant('bob');
    instanceId = (await gw.api('POST', '/v1/instances', { name: 'apig', region: 'cn-north-4' })).body.id;
    const u = await gw.api('POST', '/v1/upstreams', { tenantId: bob.id, name: 'bob-up', members: [{ host: '127.0.0.1', port: backends[0]!.port }] });
    assert.equal(u.status, 201, JSON.stringify(u.body));
    assert.equal((await gw.api('POST', '/v1/routes', { upstreamId: u.body.id, hosts: ['bob.example'] })).status, 201);
    await gw.settled();
  });
  after(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  test('the operator token is checked on the route dispatched, whatever form the target takes', async () => {
    const port = gw.sluice.adminPort;
    const before = await gw.sluice.store.revision();
    const paths = ['/v1/tenants', `/v1/tenants/${alice.id}/keys`, `/v1/tenants/${alice.id}/tokens`, '/v1/upstreams'];
    const spellings = (p: string): string[] => [
      p, `http://${host}${p}`, `http://evil.example${p}`, `https://${host}${p}`, `HTTP://${host}${p}`,
      p.replace('/v1/', '/%761/'), p.replace('/v1/', '/%76%31/'), p.replace('/v1/', '/v%31/'), `${p}/`, `${p}?x=1`,
      `/${p}`, p.replace('/v1/', '/v1/./'), p.replace(/\/v1\/(\w)/, (_m, c: string) => `/v1/%${c.charCodeAt(0).toString(16)}`),
    ];
    for (const p of paths) {
      for (const target of spellings(p)) {
        for (const method of ['GET', 'POST']) {
          const body = method === 'POST' ? '{"name":"intruder"}' : '';
          const req = `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
          const a = await raw(port, req);
          assert.ok([400, 401, 404].includes(a.status), `${method} ${target}: ${a.status} ${a.body.slice(0, 200)}`);
          assert.ok(!/"items"|secretKey|"token"|"secretId"/.test(a.body), `${method} ${target} leaked: ${a.body.slice(0, 200)}`);
        }
      }
    }
    // Forms that name no path at all.
    for (const req of [`OPTIONS * HTTP/1.1\r\nHost: ${host}\r\n\r\n`, `CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, `GET ${host}/v1/tenants HTTP/1.1\r\nHost: ${host}\r\n\r\n`]) {
      const a = await raw(port, req);
      assert.ok([400, 404].includes(a.status), `${req.split('\r\n')[0]}: ${a.status}`);
    }
    assert.equal(await gw.sluice.store.revision(), before, 'nothing was written');
    // The same spellings with the token: the percent-encoded one reaches the route, the
    // absolute form is refused, as no face is written for it.
    const withToken = (target: string) => raw(port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${OPERATOR_TOKEN}\r\nConnection: close\r\n\r\n`);
    assert.equal((await withToken('/v1/tenants')).status, 200);
    assert.equal((await withToken('/%761/tenants')).status, 200);
    assert.equal((await withToken(`http://${host}/v1/tenants`)).status, 400);
  });

  test('the cloud faces refuse targets that are not a path, signed or not', async () => {
    const signed = tc3Headers({ method: 'POST', action: 'DescribeUpstreams', host, secretId: alice.secretId, secretKey: alice.secretKey, body: '{"Limit":10,"Offset":0}' });
    const head = Object.entries(signed).map(([k, v]) => `${k}: ${v}`).join('\r\n');
    for (const target of [`http://${host}/`, '*', `//${host}/`]) {
      const a = await raw(gw.sluice.adminPort, `POST ${target} HTTP/1.1\r\n${head}\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{"Limit":10,"Offset":0}`);
      assert.equal(a.status, 400, `Tencent ${target}: ${a.status}`);
    }
    for (const target of [`http://${host}/v2/${alice.projectId}/apigw/instances/${instanceId}/vpc-channels`, `//x/v2/${alice.projectId}/apigw/instances/${instanceId}/vpc-channels`]) {
      const a = await raw(gw.sluice.adminPort, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nX-Auth-Token: ${alice.token}\r\nConnection: close\r\n\r\n`);
      assert.equal(a.status, 400, `Huawei ${target}: ${a.status}`);
    }
  });

  test('no parsed key reaches a prototype: Tencent flattened parameters and JSON bodies', async () => {
    const before = await gw.sluice.store.revision();
    const queries = [
      '__proto__.polluted=1&Limit=10&Offset=0',
      'constructor.prototype.polluted=1&Limit=10&Offset=0',
      'Limit=10&Offset=0&Filters.0.__proto__.polluted=1',
      'Limit=10&Offset=0&Filters.0.Name=UpstreamName&Filters.0.Values.0=x&Filters.0.constructor.prototype.polluted=1',
      'Limit=10&Offset=0&Filters.__proto__.polluted=1',
      '__proto__.injected-header=evil&Limit=10&Offset=0',
      'prototype.polluted=1&Limit=10&Offset=0',
    ];
    for (const q of queries) {
      const r = await tencent(alice, 'GET', 'DescribeUpstreams', q);
      assert.ok(r.Error, `${q} was accepted`);
      assert.ok(['UnknownParameter', 'InvalidParameter.FormatError'].includes(r.Error.Code), `${q}: ${JSON.stringify(r.Error)}`);
      assert.match(r.Error.Message, /__proto__|constructor|prototype/, q);
    }
    const bodies = [
      '{"__proto__":{"polluted":1},"Limit":10,"Offset":0}',
      '{"constructor":{"prototype":{"polluted":1}},"Limit":10,"Offset":0}',
      '{"UpstreamName":"p","Scheme":"HTTP","Algorithm":"ROUND-ROBIN","UniqVpcId":"vpc-1","Nodes":[{"Host":"127.0.0.1","Port":80,"Weight":1,"__proto__":{"polluted":1}}]}',
      '{"UpstreamName":"p","Scheme":"HTTP","Algorithm":"ROUND-ROBIN","UniqVpcId":"vpc-1","HealthChecker":{"EnableActiveCheck":true,"EnablePassiveCheck":false,"HealthyHttpStatus":"200","UnhealthyHttpStatus":"500","TcpFailureThreshold":1,"TimeoutThreshold":1,"HttpFailureThreshold":1,"ActiveRequestHeader":[{"Key":"x","Value":"y","__proto__":{"polluted":1}}]}}',
      '{"UpstreamName":"p","Scheme":"HTTP","Algorithm":"ROUND-ROBIN","UniqVpcId":"vpc-1","HealthChecker":{"EnableActiveCheck":true,"EnablePassiveCheck":false,"HealthyHttpStatus":"200","UnhealthyHttpStatus":"500","TcpFailureThreshold":1,"TimeoutThreshold":1,"HttpFailureThreshold":1,"ActiveRequestHeader":[{"Key":"__proto__","Value":"y"}]}}',
    ];
    for (const b of bodies) {
      const action = b.includes('UpstreamName') ? 'CreateUpstream' : 'DescribeUpstreams';
      const r = await tencent(alice, 'POST', action, b);
      assert.ok(r.Error, `${b} was accepted`);
      assert.notEqual(r.Error.Code, 'InternalError', b);
      assert.match(r.Error.Message, /__proto__|constructor|prototype|Key/, `${b}: ${r.Error.Message}`);
    }
    // Actions named after Object.prototype members are no actions.
    for (const action of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf']) {
      const r = await tencent(alice, 'POST', action, '{}');
      assert.equal(r.Error?.Code, 'InvalidAction', `${action}: ${JSON.stringify(r.Error)}`);
    }
    // The GAAP service goes through the same core: the same keys are refused there.
    const gaap = { version: '2018-05-29', service: 'gaap' };
    for (const q of ['__proto__.polluted=1&Limit=10', 'constructor.prototype.polluted=1', 'Filters.0.__proto__.polluted=1', 'ProxyIds.0=link-aaaaaaaa&ProxyIds.0=link-bbbbbbbb', 'Limit=99999999999999999999']) {
      const r = await tencent(alice, 'GET', 'DescribeProxies', q, gaap);
      assert.ok(r.Error && r.Error.Code !== 'InternalError', `GAAP ${q}: ${JSON.stringify(r.Error)}`);
    }
    for (const b of ['{"__proto__":{"polluted":1},"ProjectId":0,"GroupName":"g","RealServerRegion":"default"}', '{"ProjectId":0,"GroupName":"g","RealServerRegion":"default","AccessRegionSet":[{"AccessRegion":"default","Bandwidth":10,"Concurrent":2,"constructor":{"prototype":{"polluted":1}}}]}']) {
      const r = await tencent(alice, 'POST', 'CreateProxyGroup', b, gaap);
      assert.equal(r.Error?.Code, 'UnknownParameter', `GAAP ${b}: ${JSON.stringify(r.Error)}`);
    }
    for (const action of ['toString', '__proto__', 'constructor']) {
      assert.equal((await tencent(alice, 'POST', action, '{}', gaap)).Error?.Code, 'InvalidAction', `GAAP ${action}`);
    }
    assert.equal(await gw.sluice.store.revision(), before, 'nothing was written');
    await nothingLeaked();
  });

  test('no parsed key reaches a prototype: Huawei query and body, operator query and body', async () => {
    const before = await gw.sluice.store.revision();
    for (const q of ['__proto__[polluted]=1', '__proto__.polluted=1', '__proto__=x', 'constructor[prototype][polluted]=1', 'constructor=x', 'prototype=1', '__proto__=a&__proto__=b']) {
      const r = await huawei(alice, 'GET', `/vpc-channels?${q}`);
      assert.ok(r.status === 200 || r.status === 400, `${q}: ${r.status}`);
      if (r.status === 400) assert.match(r.body.error_code, /^APIG\.20\d\d$/, q);
    }
    for (const q of ['__proto__', 'constructor', 'prototype']) {
      const r = await huawei(alice, 'GET', `/vpc-channels?${q}=1`);
      assert.equal(r.status, 400, `${q} is refused by name`);
      assert.match(r.body.error_msg, new RegExp(q.replace(/_/g, '_')), q);
    }
    const channel = (extra: string) => `{"name":"hw-evil","port":80,"balance_strategy":1,"member_type":"ip"${extra}}`;
    for (const extra of [
      ',"__proto__":{"polluted":1}', ',"constructor":{"prototype":{"polluted":1}}',
      ',"members":[{"host":"127.0.0.1","weight":1,"__proto__":{"polluted":1}}]',
      ',"member_groups":[{"member_group_name":"g","constructor":{"prototype":{"polluted":1}}}]',
      ',"vpc_health_config":{"protocol":"tcp","threshold_normal":2,"threshold_abnormal":2,"time_interval":10,"timeout":5,"__proto__":{"polluted":1}}',
      ',"prototype":{"x":1}',
    ]) {
      const r = await huawei(alice, 'POST', '/vpc-channels', channel(extra));
      assert.equal(r.status, 400, `${extra}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(r.body.error_code, /^APIG\.20\d\d$/);
    }
    // The operator API: fastify's JSON parser refuses prototype keys; query keys are inert.
    for (const body of ['{"name":"x","__proto__":{"polluted":1}}', '{"name":"x","constructor":{"prototype":{"polluted":1}}}']) {
      const res = await fetch(`${gw.adminUrl}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' }, body });
      assert.equal(res.status, 400, body);
      assert.notEqual(res.status, 500);
    }
    for (const q of ['__proto__[polluted]=1', 'constructor[prototype][polluted]=1', '__proto__.polluted=1', 'limit=5&__proto__=x']) {
      const r = await gw.api('GET', `/v1/upstreams?${q}`);
      assert.ok(r.status === 200 || r.status === 400, `${q}: ${r.status}`);
    }
    assert.equal(await gw.sluice.store.revision(), before, 'nothing was written');
    await nothingLeaked();
  });

  test('repeated and nested keys and out-of-range numbers get the face\'s own error, never a crash', async () => {
    const before = await gw.sluice.store.revision();
    const tencentCases: [string, RegExp][] = [
      ['Limit=10&Limit.0=x&Offset=0', /Limit/],
      ['Limit=10&Limit=20&Offset=0', /Limit/],
      ['Limit.0=1&Limit=10&Offset=0', /Limit/],
      ['Limit=10&Offset=0&Filters.0.Name=UpstreamName&Filters.0=x', /Filters\.0/],
      ['Limit=10&Offset=0&Filters.1.Name=UpstreamName', /Filters\.1/],
      ['Limit=10&Offset=0&Filters.01.Name=UpstreamName', /Filters\.01/],
      ['Limit=10&Offset=0&Filters.-1.Name=UpstreamName', /Filters/],
      ['Limit=10&Offset=0&Filters.99999999.Name=UpstreamName', /Filters/],
      ['Limit=10&Offset=0&Filters.0.Values.0=a&Filters.0.Values.x=b', /Filters\.0\.Values/],
      ['Limit=10&Offset=0&Filters.0.Name=UpstreamName&Filters.x.Name=UpstreamName', /Filters/],
      ['Limit=10&Offset=99999999999999999999', /Offset/],
      ['Limit=10&Offset=-99999999999999999999', /Offset/],
      ['Limit=10&Offset=9007199254740993', /Offset/],
      ['Limit=1e3&Offset=0', /Limit/],
      ['Limit=10&Offset=0&a..b=1', /a\.\.b/],
      ['Limit=10&Offset=0&.=1', /\./],
      [`Limit=10&Offset=0&${Array.from({ length: 12 }, (_, i) => `k${i}`).join('.')}=1`, /k0/],
    ];
    for (const [q, names] of tencentCases) {
      const r = await tencent(alice, 'GET', 'DescribeUpstreams', q);
      assert.ok(r.Error, `${q} was accepted`);
      assert.notEqual(r.Error.Code, 'InternalError', `${q}: ${r.Error.Message}`);
      assert.match(r.Error.Code, /^(InvalidParameter|InvalidParameterValue|UnknownParameter|MissingParameter)/, q);
      assert.match(r.Error.Message, names, `${q}: ${r.Error.Message}`);
    }
    for (const body of ['{"Limit":10,"Offset":1e20}', '{"Limit":10,"Offset":1e400}', '{"Limit":10,"Offset":-1e20}', '{"Limit":10.5,"Offset":0}']) {
      const r = await tencent(alice, 'POST', 'DescribeUpstreams', body);
      assert.ok(r.Error && r.Error.Code !== 'InternalError', `${body}: ${JSON.stringify(r.Error)}`);
      assert.match(r.Error.Message, /Limit|Offset/);
    }
    for (const region of ['../x', 'AP-GUANGZHOU', 'ap guangzhou', 'a'.repeat(65), 'ap-guangzhou, other']) {
      const r = await tencent(alice, 'POST', 'CreateUpstream', JSON.stringify({ UpstreamName: 'r', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-1' }), { region });
      assert.equal(r.Error?.Code, 'UnsupportedRegion', `${region}: ${JSON.stringify(r.Error)}`);
    }
    for (const q of ['offset=99999999999999999999', 'limit=99999999999999999999', 'offset=-99999999999999999999', 'offset=1&offset=2', 'limit=abc', 'offset=1e3', 'member_port=99999999999999999999']) {
      const r = await huawei(alice, 'GET', `/vpc-channels?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(r.body.error_code, /^APIG\.20\d\d$/);
      assert.match(r.body.error_msg, /offset|limit|member_port/, q);
    }
    for (const q of ['offset=99999999999999999999', 'limit=99999999999999999999', 'offset=-1', 'offset=1&offset=2', 'limit=abc', 'offset=9007199254740993']) {
      for (const path of ['/v1/upstreams', '/v1/tenants', '/v1/routes', '/v1/instances']) {
        const r = await gw.api('GET', `${path}?${q}`);
        assert.equal(r.status, 400, `${path}?${q}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.match(r.body.message, /offset|limit/, `${path}?${q}`);
      }
    }
    assert.equal(await gw.sluice.store.revision(), before, 'nothing was written');
  });
});
