import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import tencentModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/apigateway/v20180808/apigateway_client.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Both official SDKs honour http_proxy: traffic in tests stays on loopback.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

const require = createRequire(import.meta.url);
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core') as { BasicCredentials: new () => any };
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder') as { ClientBuilder: new (f: (c: any) => any) => any };
type SdkCall = (req: Record<string, unknown>) => Promise<Record<string, any>>;
const { Client: TencentClient } = tencentModule as unknown as { Client: new (cfg: unknown) => { CreateUpstream: SdkCall; ModifyUpstream: SdkCall } };

const BASE = '/v2/{project_id}/apigw/instances/{instance_id}';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
interface HwError { httpStatusCode: number; errorCode: string; errorMsg: string }

// Hosts the validators used to accept but the data plane cannot turn into an origin (or
// that would name another address than the one written).
const BAD_HOSTS: [string, string][] = [
  ['NUL', 'a\u0000b'], ['space', 'a b'], ['tab', 'a\tb'], ['percent escape', '%ZZ'], ['slash', 'a/b'],
  ['unclosed bracket', '[::1'], ['lone bracket', '['], ['userinfo', 'user@h'], ['five octets', '1.2.3.4.5'],
  ['octet over 255', '256.1.1.1'], ['999 octet', '999.1.1.1'], ['leading zero octet', '01.2.3.4'], ['three octets', '1.2.3'],
  ['leading hyphen', '-a.com'], ['trailing hyphen', 'a-.com'], ['empty label', 'a..b'], ['64-char label', `${'a'.repeat(64)}.com`],
  ['254-char name', `${'a'.repeat(62)}.`.repeat(4) + 'ab'], ['unicode', 'bücher.de'], ['CR/LF', 'a\r\nb'],
  ['not IPv6', 'a:b'], ['zone id', 'fe80::1%eth0'], ['two trailing dots', 'a.com..'],
];
const GOOD_HOSTS = ['1.2.3.4', '::1', '2001:db8::1', 'example.com', 'a-b.c', 'localhost', 'example.com.', 'my_service'];

const BAD_UPSTREAM_HOSTS = ['a b', 'a/b', 'a\r\nb', 'a.com:99999', 'a.com:x', '::1', 'a:b:c', '[::1', 'user@a.com'];
const GOOD_UPSTREAM_HOSTS = ['orders.internal', 'a.com:8080', '[::1]:8080', '10.0.0.1:80'];

describe('member hosts: one rule, refused by every face with its own code', () => {
  let gw: TestGateway;
  let tenantId: string;
  let tencent: InstanceType<typeof TencentClient>;
  let hw: (method: string, path: string, body?: unknown) => Promise<any>;

  before(async () => {
    gw = await startTestGateway({ huaweiRatePerSecond: 100_000 });
    const t = await gw.api('POST', '/v1/tenants', { name: 'hosts' });
    tenantId = t.body.id;
    const k = await gw.api('POST', `/v1/tenants/${tenantId}/keys`);
    const p = await gw.api('POST', `/v1/tenants/${tenantId}/projects`, { region: 'cn-north-4' });
    const inst = await gw.api('POST', '/v1/instances', { name: 'apig-hosts', region: 'cn-north-4' });
    tencent = new TencentClient({
      credential: { secretId: k.body.secretId, secretKey: k.body.secretKey }, region: 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqTimeout: 10 } },
    });
    const cred = new BasicCredentials().withAk(k.body.secretId).withSk(k.body.secretKey).withProjectId(p.body.id);
    const client = new ClientBuilder((c: unknown) => c).withEndpoint(gw.adminUrl).withCredential(cred).build();
    client.httpClient._logger = quiet;
    hw = (method, path, body) => client.sendRequest({
      method, url: BASE + path, contentType: 'application/json', queryParams: {}, pathParams: { instance_id: inst.body.id },
      headers: { 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { data: body }),
    });
  });
  after(async () => { await gw.close(); });

  /** Tencent allows 20 calls of an action a second; a refusal for that is waited out (bounded). */
  async function tc(call: () => Promise<Record<string, any>>): Promise<Record<string, any>> {
    for (let i = 0; ; i++) {
      try { return await call(); } catch (err) {
        if ((err as { code?: string }).code !== 'RequestLimitExceeded' || i >= 3) throw err;
        await new Promise((r) => setTimeout(r, 1100));
      }
    }
  }

  /** `write` is refused as `check` says, and the store's revision does not move. */
  async function refusedUnchanged(label: string, write: () => Promise<unknown>, check: (err: any) => void): Promise<void> {
    const before = await gw.sluice.store.revision();
    let caught: unknown = null;
    try { await write(); } catch (err) { caught = err; }
    assert.ok(caught, `${label}: accepted`);
    check(caught);
    assert.equal(await gw.sluice.store.revision(), before, `${label}: nothing written`);
  }

  async function native(method: string, path: string, body: unknown) {
    const r = await gw.api(method, path, body);
    if (r.status >= 400) throw Object.assign(new Error(r.body.message), r);
    return r;
  }

  test('the operator API: 400 bad_format (too_long past 253) naming members[i].host; create, replace and add', async () => {
    const base = await gw.api('POST', '/v1/upstreams', { tenantId, name: 'native-base', members: [{ host: '127.0.0.1', port: 80 }] });
    assert.equal(base.status, 201, JSON.stringify(base.body));
    for (const [label, host] of BAD_HOSTS) {
      const check = (err: any) => {
        assert.equal(err.status, 400, `${label}: ${JSON.stringify(err.body)}`);
        assert.equal(err.body.code, host.length > 253 ? 'too_long' : 'bad_format', `${label}: ${err.body.message}`);
        assert.match(err.body.message, /members\[\d+\]\.host/, label);
      };
      await refusedUnchanged(`${label} create`, () => native('POST', '/v1/upstreams', { tenantId, name: 'n', members: [{ host, port: 80 }] }), check);
      await refusedUnchanged(`${label} patch`, () => native('PATCH', `/v1/upstreams/${base.body.id}`, { members: [{ host, port: 80 }] }), check);
      await refusedUnchanged(`${label} add`, () => native('POST', `/v1/upstreams/${base.body.id}/members`, { members: [{ host, port: 81 }] }), check);
    }
    const ok = await gw.api('POST', '/v1/upstreams', { tenantId, name: 'native-good', members: [...GOOD_HOSTS, '[2001:db8::2]'].map((host) => ({ host, port: 80 })) });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.members.map((m: { host: string }) => m.host), [...GOOD_HOSTS, '2001:db8::2'], 'brackets are stored bare');
  });

  test('the operator API: upstreamHost is host[:port]', async () => {
    for (const h of BAD_UPSTREAM_HOSTS) {
      await refusedUnchanged(JSON.stringify(h), () => native('POST', '/v1/upstreams', { tenantId, name: 'uh', upstreamHost: h }), (err: any) => {
        assert.equal(err.status, 400);
        assert.equal(err.body.code, 'bad_format', err.body.message);
        assert.match(err.body.message, /upstreamHost/);
      });
    }
    for (const h of GOOD_UPSTREAM_HOSTS) {
      const r = await gw.api('POST', '/v1/upstreams', { tenantId, name: `uh-${h}`, upstreamHost: h });
      assert.equal(r.status, 201, `${h}: ${JSON.stringify(r.body)}`);
    }
  });

  test('Tencent CreateUpstream / ModifyUpstream: InvalidParameter.FormatError (RangeExceeded past 253) naming Nodes.N.Host', async () => {
    const base = await tc(() => tencent.CreateUpstream({ UpstreamName: 'tc-base', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-1', Nodes: [{ Host: '127.0.0.1', Port: 80, Weight: 10 }] }));
    for (const [label, host] of BAD_HOSTS) {
      const nodes = [{ Host: '127.0.0.1', Port: 80, Weight: 10 }, { Host: host, Port: 80, Weight: 10 }];
      const check = (err: any) => {
        assert.equal(err.code, host.length > 253 ? 'InvalidParameterValue.RangeExceeded' : 'InvalidParameter.FormatError', `${label}: ${err.message}`);
        assert.ok(err.message.includes('Nodes.1.Host'), `${label}: ${err.message}`);
      };
      await refusedUnchanged(`${label} create`, () => tc(() => tencent.CreateUpstream({ UpstreamName: 'tc', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-1', Nodes: nodes })), check);
      await refusedUnchanged(`${label} modify`, () => tc(() => tencent.ModifyUpstream({ UpstreamId: base.UpstreamId, Nodes: nodes })), check);
    }
    for (const h of BAD_UPSTREAM_HOSTS) {
      await refusedUnchanged(`UpstreamHost ${JSON.stringify(h)}`, () => tc(() => tencent.ModifyUpstream({ UpstreamId: base.UpstreamId, UpstreamHost: h })), (err: any) => {
        assert.equal(err.code, 'InvalidParameter.FormatError', err.message);
        assert.ok(err.message.includes('UpstreamHost'), err.message);
      });
    }
    const ok = await tc(() => tencent.CreateUpstream({
      UpstreamName: 'tc-good', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-1', UpstreamHost: '[::1]:8080',
      Nodes: GOOD_HOSTS.map((Host) => ({ Host, Port: 80, Weight: 10 })),
    }));
    const stored = await gw.api('GET', `/v1/upstreams/${ok.UpstreamId}`);
    assert.deepEqual(stored.body.members.map((m: { host: string }) => m.host), GOOD_HOSTS);
  });

  test('Huawei create / update / add members: APIG.2015 (APIG.2006 past 64 characters) naming host', async () => {
    const channel = (name: string, members: unknown[]) => ({ name, port: 80, balance_strategy: 1, member_type: 'ip', members });
    const base = await hw('POST', '/vpc-channels', channel('hw_base', [{ host: '127.0.0.1' }]));
    for (const [label, host] of BAD_HOSTS) {
      const check = (err: HwError) => {
        assert.equal(err.httpStatusCode, 400, `${label}: ${err.errorMsg}`);
        assert.equal(err.errorCode, host.length > 64 ? 'APIG.2006' : 'APIG.2015', `${label}: ${err.errorMsg}`);
        assert.ok(err.errorMsg.includes('parameterName:host'), `${label}: ${err.errorMsg}`);
      };
      await refusedUnchanged(`${label} create`, () => hw('POST', '/vpc-channels', channel('hw_new', [{ host }])), check);
      await refusedUnchanged(`${label} update`, () => hw('PUT', `/vpc-channels/${base.id}`, channel('hw_base', [{ host }])), check);
      await refusedUnchanged(`${label} add`, () => hw('POST', `/vpc-channels/${base.id}/members`, { members: [{ host }] }), check);
    }
    // A bad host under an ECS member is refused the same way.
    await refusedUnchanged('ecs', () => hw('POST', '/vpc-channels', { ...channel('hw_ecs', [{ host: 'a b', ecs_id: 'i-1', ecs_name: 'vm1' }]), member_type: 'ecs' }), (err: HwError) => {
      assert.equal(err.errorCode, 'APIG.2015', err.errorMsg);
    });
    const ok = await hw('POST', '/vpc-channels', channel('hw_good', [...GOOD_HOSTS, '[2001:db8::2]'].map((host) => ({ host }))));
    const stored = await gw.api('GET', `/v1/upstreams/${ok.id}`);
    assert.deepEqual(stored.body.members.map((m: { host: string }) => m.host), [...GOOD_HOSTS, '2001:db8::2']);
  });
});
