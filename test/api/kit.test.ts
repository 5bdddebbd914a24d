import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tc3Headers } from '../helpers/tc3.js';

// The dialect kit (src/api/kit/) through real requests to both faces: each piece answers in
// the face's own error vocabulary.

/** Longer than the limiter's one-second window: the next calls start with a fresh budget. */
const pause = () => new Promise((r) => setTimeout(r, 1100));

interface Who { id: string; secretId: string; secretKey: string; token: string; projectId: string }

describe('dialect kit, through both faces', () => {
  let gw: TestGateway;
  let host: string;
  let instanceId: string;
  let alice: Who;
  let bob: Who;

  async function tenant(name: string): Promise<Who> {
    const t = await gw.api('POST', '/v1/tenants', { name });
    const k = await gw.api('POST', `/v1/tenants/${t.body.id}/keys`);
    const tok = await gw.api('POST', `/v1/tenants/${t.body.id}/tokens`, { name: 'apig' });
    const p = await gw.api('POST', `/v1/tenants/${t.body.id}/projects`, { region: 'cn-north-4' });
    return { id: t.body.id, secretId: k.body.secretId, secretKey: k.body.secretKey, token: tok.body.token, projectId: p.body.id };
  }

  async function tencent(who: Who, action: string, body: string) {
    const headers = tc3Headers({ method: 'POST', action, host, secretId: who.secretId, secretKey: who.secretKey, body, region: 'ap-guangzhou' });
    const res = await fetch(`${gw.adminUrl}/`, { method: 'POST', headers, body });
    assert.equal(res.status, 200, 'Tencent answers every error with HTTP 200');
    return ((await res.json()) as { Response: Record<string, any> }).Response;
  }

  async function huawei(who: Who, method: string, path: string, body?: string) {
    const res = await fetch(`${gw.adminUrl}/v2/${who.projectId}/apigw/instances/${instanceId}${path}`, {
      method, body, headers: { 'x-auth-token': who.token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    const text = await res.text();
    return { status: res.status, requestId: res.headers.get('x-request-id'), body: text ? JSON.parse(text) : null };
  }

  before(async () => {
    gw = await startTestGateway({ tencentRatePerSecond: 3, huaweiRatePerSecond: 3 });
    host = new URL(gw.adminUrl).host;
    instanceId = (await gw.api('POST', '/v1/instances', { name: 'kit', region: 'cn-north-4' })).body.id;
    alice = await tenant('kit-alice');
    bob = await tenant('kit-bob');
  });
  after(async () => { await gw.close(); });

  test('a body over the admin limit is each face\'s size error, not a crash or the operator API\'s', async () => {
    const big = ' '.repeat(9 * 1024 * 1024);
    const t = await tencent(alice, 'DescribeUpstreams', big);
    assert.equal(t.Error?.Code, 'RequestSizeLimitExceeded', JSON.stringify(t));
    const h = await huawei(alice, 'POST', '/vpc-channels', big);
    assert.equal(h.status, 400);
    assert.equal(h.body.error_code, 'APIG.2012');
    assert.match(h.body.error_msg, /parameterName:body/);
    assert.ok(h.requestId, 'an APIG answer carries X-Request-Id');
  });

  test('a body that is not one JSON object, or holds a prototype key, is each face\'s parameter error', async () => {
    for (const body of ['[1,2]', '"text"', '{"Limit":']) {
      const t = await tencent(alice, 'DescribeUpstreams', body);
      assert.equal(t.Error?.Code, 'InvalidParameter.FormatError', `${body}: ${JSON.stringify(t)}`);
      const h = await huawei(alice, 'POST', '/vpc-channels', body);
      assert.equal(h.status, 400, body);
      assert.equal(h.body.error_code, 'APIG.2012', body);
      assert.match(h.body.error_msg, /parameterName:body/, body);
    }
    const t = await tencent(alice, 'CreateUpstream', '{"Scheme":"HTTP","Algorithm":"ROUND-ROBIN","UniqVpcId":"v","Tags":[{"Key":"a","Value":"b","__proto__":{"x":1}}]}');
    assert.equal(t.Error?.Code, 'UnknownParameter', JSON.stringify(t));
    assert.match(t.Error.Message, /Tags\.0\.__proto__/);
    await pause(); // a fresh rate budget
    const h = await huawei(alice, 'POST', '/vpc-channels', '{"name":"kitproto","port":80,"balance_strategy":1,"member_type":"ip","members":[{"host":"10.0.0.1","constructor":{"prototype":{"x":1}}}]}');
    assert.equal(h.status, 400);
    assert.equal(h.body.error_code, 'APIG.2012');
    assert.match(h.body.error_msg, /parameterName:constructor/);
    assert.equal(({} as Record<string, unknown>).x, undefined, 'no prototype was touched');
  });

  test('the rate limiter counts per tenant and operation: one tenant over its budget does not slow another', async () => {
    await pause();
    const tencentCodes = async (who: Who, n: number) => Promise.all(Array.from({ length: n }, async () => (await tencent(who, 'DescribeUpstreams', '{"Limit":1,"Offset":0}')).Error?.Code ?? 'ok'));
    const a = await tencentCodes(alice, 6);
    assert.ok(a.filter((c) => c === 'RequestLimitExceeded').length >= 3, a.join(','));
    const b = await tencentCodes(bob, 3);
    assert.ok(b.filter((c) => c === 'ok').length >= 1, `bob has his own budget: ${b.join(',')}`);

    const hwCodes = async (who: Who, n: number) => Promise.all(Array.from({ length: n }, async () => {
      const r = await huawei(who, 'GET', '/vpc-channels');
      return r.status === 200 ? 'ok' : `${r.status} ${r.body.error_code}`;
    }));
    const ha = await hwCodes(alice, 6);
    assert.ok(ha.filter((c) => c === '500 APIG.9008').length >= 3, ha.join(','));
    const hb = await hwCodes(bob, 3);
    assert.ok(hb.filter((c) => c === 'ok').length >= 1, `bob has his own budget: ${hb.join(',')}`);
  });

  test('one key pair signs for its tenant on both faces; an unknown one is each face\'s auth error', async () => {
    await pause();
    const unknown = { ...alice, secretId: 'AKIDkitdoesnotexist000000000000000' };
    assert.equal((await tencent(unknown, 'DescribeUpstreams', '{"Limit":1,"Offset":0}')).Error?.Code, 'AuthFailure.SecretIdNotFound');
    const ok = await tencent(alice, 'DescribeUpstreams', '{"Limit":1,"Offset":0}');
    assert.equal(ok.Error, undefined, JSON.stringify(ok));
  });
});
