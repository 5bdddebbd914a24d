import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { get, type IncomingMessage, type ServerResponse } from 'node:http';
import { request } from 'undici';
import tencentModule from 'tencentcloud-sdk-nodejs/tencentcloud/services/apigateway/v20180808/apigateway_client.js';
import { echo, startBackend, startBackends, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Both official SDKs honour http_proxy: traffic in tests stays on loopback.
for (const v of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[v];

// The Huawei SDK core is CommonJS without type declarations for its deep modules.
const require = createRequire(import.meta.url);
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core') as { BasicCredentials: new () => any };
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder') as { ClientBuilder: new (f: (c: any) => any) => any };
const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner') as { AKSKSigner: { sign(r: object, c: object): Record<string, string> } };
const { Client: TencentClient } = tencentModule as unknown as { Client: new (cfg: unknown) => { CreateUpstream(r: object): Promise<{ UpstreamId: string }> } };

const BASE = '/v2/{project_id}/apigw/instances/{instance_id}';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface Caller { ak: string; sk: string; projectId: string }
interface Call { query?: Record<string, unknown>; body?: unknown; instanceId?: string }
interface HwError { httpStatusCode: number; errorCode: string; errorMsg: string; requestId?: string }

/** The official SDK core, signing with AK/SK, pointed at the gateway. */
function sdk(adminUrl: string, who: Caller, instanceId: string) {
  const cred = new BasicCredentials().withAk(who.ak).withSk(who.sk).withProjectId(who.projectId);
  const client = new ClientBuilder((c: unknown) => c).withEndpoint(adminUrl).withCredential(cred).build();
  client.httpClient._logger = quiet;
  return (method: string, path: string, c: Call = {}): Promise<any> => client.sendRequest({
    method, url: BASE + path, contentType: 'application/json', queryParams: c.query ?? {},
    pathParams: { instance_id: c.instanceId ?? instanceId }, headers: { 'Content-Type': 'application/json' },
    ...(c.body === undefined ? {} : { data: c.body }),
  });
}

async function fails(p: Promise<unknown>, status: number, code: string, names?: string): Promise<HwError> {
  let caught: HwError | null = null;
  await assert.rejects(p, (err: HwError) => {
    caught = err;
    assert.equal(err.errorCode, code, `${err.errorCode}: ${err.errorMsg}`);
    assert.equal(err.httpStatusCode, status, err.errorMsg);
    if (names) assert.ok(err.errorMsg.includes(names), `error_msg names ${names}: ${err.errorMsg}`);
    return true;
  });
  return caught!;
}

describe('Huawei APIG v2 dialect, driven by the Huawei SDK core', () => {
  let gw: TestGateway;
  let backends: Backend[];
  let alice: Caller;
  let instanceId: string;
  let hw: ReturnType<typeof sdk>;
  let token: string;

  const channel = (name: string, extra: Record<string, unknown> = {}) => ({ name, port: 80, balance_strategy: 1, member_type: 'ip', ...extra });
  const member = (b: Backend, extra: Record<string, unknown> = {}) => ({ host: '127.0.0.1', port: b.port, weight: 1, ...extra });

  async function tenantCaller(name: string, region: string): Promise<Caller> {
    const t = await gw.api('POST', '/v1/tenants', { name });
    const k = await gw.api('POST', `/v1/tenants/${t.body.id}/keys`);
    const p = await gw.api('POST', `/v1/tenants/${t.body.id}/projects`, { region });
    assert.equal(p.status, 201);
    return { ak: k.body.secretId, sk: k.body.secretKey, projectId: p.body.id };
  }

  /** A plain request with X-Auth-Token (or none): the other way APIG authenticates. */
  async function withToken(method: string, path: string, tok: string | null, body?: unknown) {
    const res = await fetch(gw.adminUrl + path, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { ...(tok ? { 'x-auth-token': tok } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    const text = await res.text();
    return { status: res.status, requestId: res.headers.get('x-request-id'), body: text ? JSON.parse(text) : null };
  }

  /** One request from a chosen loopback source address (node:http binds it; undici's connect option did not). */
  function getFrom(localAddress: string, host: string): Promise<{ name: string }> {
    const port = Number(new URL(gw.proxyUrl).port);
    return new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/', localAddress, agent: false, headers: { host } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as { name: string }) : reject(new Error(`status ${res.statusCode}: ${body}`))));
      }).on('error', reject);
    });
  }

  /** Who answered `n` requests sent to `host`. */
  async function traffic(host: string, n: number, opts: { path?: (i: number) => string } = {}): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const r = await request(`${gw.proxyUrl}${opts.path?.(i) ?? '/'}`, { headers: { host } });
      assert.equal(r.statusCode, 200);
      const name = ((await r.body.json()) as { name: string }).name;
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    return seen;
  }

  async function route(channelId: string, host: string) {
    const r = await gw.api('POST', '/v1/routes', { upstreamId: channelId, hosts: [host] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await gw.settled();
    return r.body;
  }

  before(async () => {
    // The suite makes more than 100 calls a second; the limit itself has a test of its own.
    gw = await startTestGateway({ huaweiRatePerSecond: 100_000 });
    backends = await startBackends(['b0', 'b1', 'b2', 'b3']);
    alice = await tenantCaller('alice', 'cn-north-4');
    const inst = await gw.api('POST', '/v1/instances', { name: 'apig-1', region: 'cn-north-4' });
    instanceId = inst.body.id;
    hw = sdk(gw.adminUrl, alice, instanceId);
    const tenants = await gw.api('GET', '/v1/tenants');
    const aliceId = tenants.body.items.find((t: { name: string }) => t.name === 'alice').id;
    token = (await gw.api('POST', `/v1/tenants/${aliceId}/tokens`, { name: 'apig' })).body.token;
  });
  after(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  test('a channel through its life: create, show, list, full update, delete', async () => {
    const created = await hw('POST', '/vpc-channels', {
      body: channel('orders', {
        balance_strategy: 2, dict_code: 'dict.01',
        member_groups: [{ member_group_name: 'blue', member_group_weight: 7, member_group_remark: 'blue pool' }],
        members: [member(backends[0]!, { member_group_name: 'blue', weight: undefined }), member(backends[1]!, { weight: 3, is_backup: true })],
        vpc_health_config: { protocol: 'http', path: '/health', threshold_normal: 2, threshold_abnormal: 3, time_interval: 10, timeout: 5, http_code: '200-299' },
      }),
    });
    assert.equal(created.httpStatusCode, 201);
    assert.match(created.id, /^[0-9a-f]{32}$/);
    assert.match(created.create_time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assert.equal(created.balance_strategy, 2);
    assert.equal(created.vpc_channel_type, 'builtin');
    assert.equal(created.type, 2);
    assert.equal(created.dict_code, 'dict.01');
    assert.equal(created.member_groups[0].member_group_weight, 7);
    assert.match(created.member_groups[0].member_group_id, /^[0-9a-f]{32}$/);

    const shown = await hw('GET', `/vpc-channels/${created.id}`);
    assert.equal(shown.httpStatusCode, 200);
    assert.equal(shown.members.length, 2);
    const [m0, m1] = shown.members;
    assert.equal(m0.weight, 7, 'a grouped member without a weight takes the group weight');
    assert.equal(m0.member_group_name, 'blue');
    assert.equal(m0.member_group_id, created.member_groups[0].member_group_id);
    assert.equal(m0.ecs_id, '127.0.0.1');
    assert.equal(m1.is_backup, true);
    assert.equal(m1.member_group_name, '');
    assert.equal(m1.status, 1);
    assert.equal(m1.vpc_channel_id, created.id);
    assert.equal(shown.vpc_health_config.protocol, 'HTTP');
    assert.equal(shown.vpc_health_config.http_code, '200-299');
    assert.equal(shown.vpc_health_config.time_interval, 10);

    // PUT replaces the lists it carries: one member and no groups now.
    const updated = await hw('PUT', `/vpc-channels/${created.id}`, { body: channel('orders', { balance_strategy: 1, members: [member(backends[2]!)] }) });
    assert.equal(updated.httpStatusCode, 200);
    assert.equal(updated.balance_strategy, 1);
    assert.deepEqual(updated.member_groups, []);
    const after = await hw('GET', `/vpc-channels/${created.id}`);
    assert.deepEqual(after.members.map((m: { port: number }) => m.port), [backends[2]!.port]);
    assert.equal(after.vpc_health_config, null, 'a full update without vpc_health_config removes the check');

    const empty = await hw('PUT', `/vpc-channels/${created.id}`, { body: channel('orders', { members: [] }) });
    assert.equal(empty.httpStatusCode, 200);
    assert.equal((await hw('GET', `/vpc-channels/${created.id}`)).members.length, 0, 'an empty members list deletes every member');

    const del = await hw('DELETE', `/vpc-channels/${created.id}`);
    assert.equal(del.httpStatusCode, 204);
    await fails(hw('GET', `/vpc-channels/${created.id}`), 404, 'APIG.3023', created.id);
    await fails(hw('DELETE', `/vpc-channels/${created.id}`), 404, 'APIG.3023');
  });

  test('members: add-or-update by address (first duplicate wins), list filters, full replace, delete', async () => {
    const ch = await hw('POST', '/vpc-channels', { body: channel('members-demo', { member_groups: [{ member_group_name: 'grp1' }, { member_group_name: 'grp2' }] }) });
    const [b0, b1, b2] = backends as [Backend, Backend, Backend];
    const added = await hw('POST', `/vpc-channels/${ch.id}/members`, {
      body: { members: [member(b0, { weight: 5, member_group_name: 'grp1' }), member(b1, { member_group_name: 'grp2' }), member(b0, { weight: 99 })] },
    });
    assert.equal(added.httpStatusCode, 201);
    assert.equal(added.total, 2, 'the repeated address is ignored');
    assert.equal(added.members.find((m: { port: number }) => m.port === b0.port).weight, 5, 'the first definition wins');
    const id0 = added.members.find((m: { port: number }) => m.port === b0.port).id;

    const again = await hw('POST', `/vpc-channels/${ch.id}/members`, { body: { members: [member(b0, { weight: 8, member_group_name: 'grp1' }), member(b2)] } });
    assert.equal(again.total, 3, 'members not mentioned are kept');
    const m0 = again.members.find((m: { port: number }) => m.port === b0.port);
    assert.equal(m0.id, id0, 'an existing address is updated in place');
    assert.equal(m0.weight, 8);

    const list = await hw('GET', `/vpc-channels/${ch.id}/members`, { query: { member_group_name: 'grp', limit: 1, offset: 1 } });
    assert.equal(list.httpStatusCode, 200);
    assert.equal(list.total, 2, 'fuzzy member_group_name matches grp1 and grp2');
    assert.equal(list.size, 1);
    const precise = await hw('GET', `/vpc-channels/${ch.id}/members`, { query: { member_group_name: 'grp', precise_search: 'member_group_name' } });
    assert.equal(precise.total, 0);
    const byGroupId = await hw('GET', `/vpc-channels/${ch.id}/members`, { query: { member_group_id: m0.member_group_id } });
    assert.deepEqual(byGroupId.members.map((m: { id: string }) => m.id), [id0]);
    const byName = await hw('GET', `/vpc-channels/${ch.id}/members`, { query: { name: '127.0.0' } });
    assert.equal(byName.total, 3);

    // PUT with member_group_name replaces that group's members only.
    const g2 = await hw('PUT', `/vpc-channels/${ch.id}/members`, { body: { member_group_name: 'grp2', members: [member(backends[3]!, { member_group_name: 'grp2', weight: 4 })] } });
    assert.equal(g2.httpStatusCode, 200);
    const where = (x: { members: { port: number; member_group_name: string }[] }) => x.members.map((m) => `${m.member_group_name}:${m.port}`).sort();
    assert.deepEqual(where(g2), [`:${b2.port}`, `grp1:${b0.port}`, `grp2:${backends[3]!.port}`].sort(), 'grp1 and ungrouped members stay, grp2 holds only the new member');
    // PUT without a group replaces them all.
    const all = await hw('PUT', `/vpc-channels/${ch.id}/members`, { body: { members: [member(b1)] } });
    assert.equal(all.total, 1);
    assert.equal(all.members[0].port, b1.port);

    const del = await hw('DELETE', `/vpc-channels/${ch.id}/members/${all.members[0].id}`);
    assert.equal(del.httpStatusCode, 204);
    await fails(hw('DELETE', `/vpc-channels/${ch.id}/members/${all.members[0].id}`), 404, 'APIG.3024', all.members[0].id);
    assert.equal((await hw('GET', `/vpc-channels/${ch.id}/members`)).total, 0);
  });

  test('member groups: upsert by name, weight applied to members, show, update, delete', async () => {
    const ch = await hw('POST', '/vpc-channels', { body: channel('groups-demo') });
    const created = await hw('POST', `/vpc-channels/${ch.id}/member-groups`, {
      body: { member_groups: [{ member_group_name: 'alpha', member_group_remark: 'first' }, { member_group_name: 'beta' }, { member_group_name: 'alpha', member_group_remark: 'ignored' }] },
    });
    assert.equal(created.httpStatusCode, 201);
    assert.equal(created.total, 2);
    const alpha = created.member_groups.find((g: { member_group_name: string }) => g.member_group_name === 'alpha');
    assert.equal(alpha.member_group_remark, 'first');
    assert.match(alpha.update_time, /Z$/);

    await hw('POST', `/vpc-channels/${ch.id}/members`, { body: { members: [member(backends[0]!, { member_group_name: 'alpha', weight: 2 }), member(backends[1]!, { member_group_name: 'alpha', weight: 3 })] } });
    const upsert = await hw('POST', `/vpc-channels/${ch.id}/member-groups`, { body: { member_groups: [{ member_group_name: 'alpha', member_group_weight: 9 }] } });
    assert.equal(upsert.total, 2, 'a known name updates the group');
    assert.equal(upsert.member_groups.find((g: { member_group_id: string }) => g.member_group_id === alpha.member_group_id).member_group_weight, 9);
    const weights = (await hw('GET', `/vpc-channels/${ch.id}/members`)).members.map((m: { weight: number }) => m.weight);
    assert.deepEqual(weights, [9, 9], 'the group weight is applied to its members');

    const shown = await hw('GET', `/vpc-channels/${ch.id}/member-groups/${alpha.member_group_id}`);
    assert.equal(shown.httpStatusCode, 200);
    assert.equal(shown.member_group_name, 'alpha');
    const renamed = await hw('PUT', `/vpc-channels/${ch.id}/member-groups/${alpha.member_group_id}`, { body: { member_group_name: 'gamma', member_group_weight: 4 } });
    assert.equal(renamed.httpStatusCode, 200);
    assert.equal(renamed.member_group_name, 'gamma');
    assert.equal(renamed.member_group_id, alpha.member_group_id);
    const members = (await hw('GET', `/vpc-channels/${ch.id}/members`)).members;
    assert.deepEqual(members.map((m: { weight: number; member_group_name: string }) => [m.member_group_name, m.weight]), [['gamma', 4], ['gamma', 4]]);

    const list = await hw('GET', `/vpc-channels/${ch.id}/member-groups`, { query: { member_group_name: 'amm' } });
    assert.deepEqual(list.member_groups.map((g: { member_group_name: string }) => g.member_group_name), ['gamma']);
    const precise = await hw('GET', `/vpc-channels/${ch.id}/member-groups`, { query: { member_group_name: 'amm', precise_search: 'member_group_name' } });
    assert.equal(precise.total, 0);

    const del = await hw('DELETE', `/vpc-channels/${ch.id}/member-groups/${alpha.member_group_id}`);
    assert.equal(del.httpStatusCode, 204);
    await fails(hw('GET', `/vpc-channels/${ch.id}/member-groups/${alpha.member_group_id}`), 404, 'APIG.3023', alpha.member_group_id);
    assert.equal((await hw('GET', `/vpc-channels/${ch.id}/member-groups`)).total, 1);
  });

  test('channel lists: name (fuzzy and precise), member_host, member_port, member_group_name, type and paging', async () => {
    const inst = await gw.api('POST', '/v1/instances', { name: 'lists', region: 'cn-north-4' });
    const call = sdk(gw.adminUrl, alice, inst.body.id);
    const [b0, b1] = backends as [Backend, Backend];
    const a = await call('POST', '/vpc-channels', { body: channel('shop-api', { members: [member(b0)], member_groups: [{ member_group_name: 'canary' }] }) });
    const b = await call('POST', '/vpc-channels', { body: channel('shop-api-v2', { members: [member(b1)] }) });
    const c = await call('POST', '/vpc-channels', { body: channel('billing', { members: [{ host: '10.0.0.7', port: 8080 }] }) });
    const names = (r: { vpc_channels: { name: string }[] }) => r.vpc_channels.map((x) => x.name);

    assert.deepEqual(names(await call('GET', '/vpc-channels', { query: { name: 'shop' } })), ['shop-api', 'shop-api-v2']);
    assert.deepEqual(names(await call('GET', '/vpc-channels', { query: { name: 'shop-api', precise_search: 'name' } })), ['shop-api']);
    assert.deepEqual(names(await call('GET', '/vpc-channels', { query: { member_host: '10.0.0.7' } })), ['billing']);
    assert.deepEqual(names(await call('GET', '/vpc-channels', { query: { member_port: b1.port } })), ['shop-api-v2']);
    assert.deepEqual(names(await call('GET', '/vpc-channels', { query: { member_group_name: 'can' } })), ['shop-api']);
    assert.deepEqual(names(await call('GET', '/vpc-channels', { query: { member_group_name: 'can', precise_search: 'member_group_name' } })), []);
    assert.deepEqual(names(await call('GET', '/vpc-channels', { query: { id: c.id } })), ['billing']);
    assert.deepEqual(names(await call('GET', '/vpc-channels', { query: { vpc_channel_type: 'reference' } })), []);

    const page = await call('GET', '/vpc-channels', { query: { limit: 2, offset: 1 } });
    assert.deepEqual([page.size, page.total], [2, 3]);
    assert.deepEqual(names(page), ['shop-api-v2', 'billing']);
    const normalised = await call('GET', '/vpc-channels', { query: { limit: 0, offset: -5 } });
    assert.deepEqual([normalised.size, normalised.total], [3, 3], 'limit <= 0 means 20, offset < 0 means 0');
    const capped = await call('GET', '/vpc-channels', { query: { limit: 100_000 } });
    assert.equal(capped.size, 3);
    await fails(call('GET', '/vpc-channels', { query: { limit: 'many' } }), 400, 'APIG.2012', 'limit');
    await fails(call('GET', '/vpc-channels', { query: { member_port: 70000 } }), 400, 'APIG.2004', 'member_port');
    for (const x of [a, b, c]) await call('DELETE', `/vpc-channels/${x.id}`);
  });

  test('X-Auth-Token: a tenant token works, a missing or wrong one is refused', async () => {
    const path = `/v2/${alice.projectId}/apigw/instances/${instanceId}/vpc-channels`;
    const made = await withToken('POST', path, token, channel('by-token', { members: [member(backends[0]!)] }));
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.match(made.requestId ?? '', /^[0-9a-f]{32}$/);
    const listed = await withToken('GET', `${path}?name=by-token`, token);
    assert.equal(listed.status, 200);
    assert.equal(listed.body.total, 1);

    const none = await withToken('GET', path, null);
    assert.deepEqual([none.status, none.body.error_code], [401, 'APIG.1000']);
    assert.ok(none.requestId, 'errors carry X-Request-Id');
    const wrong = await withToken('GET', path, 'not-a-token');
    assert.deepEqual([wrong.status, wrong.body.error_code], [401, 'APIG.1002']);
    const del = await withToken('DELETE', `${path}/${made.body.id}`, token);
    assert.equal(del.status, 204);
  });

  test('AK/SK: wrong secret, unknown key, stale X-Sdk-Date, other tenants, unknown instance and paths', async () => {
    await fails(sdk(gw.adminUrl, { ...alice, sk: 'wrong-secret' }, instanceId)('GET', '/vpc-channels'), 401, 'APIG.1002');
    await fails(sdk(gw.adminUrl, { ...alice, ak: 'AKIDunknown' }, instanceId)('GET', '/vpc-channels'), 401, 'APIG.1002', 'AKIDunknown');

    // A signature made 20 minutes ago: the SDK signer honours a given X-Sdk-Date.
    const url = `${gw.adminUrl}/v2/${alice.projectId}/apigw/instances/${instanceId}/vpc-channels`;
    const old = new Date(Date.now() - 20 * 60_000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const headers = AKSKSigner.sign({ method: 'GET', endpoint: url, headers: { 'X-Sdk-Date': old }, queryParams: {} }, { getAk: () => alice.ak, getSk: () => alice.sk });
    const stale = await fetch(url, { headers });
    assert.equal(stale.status, 401);
    assert.equal(((await stale.json()) as { error_code: string }).error_code, 'APIG.1001');
    // The same signer, now: accepted, so the only fault above was the date.
    const fresh = await fetch(url, { headers: AKSKSigner.sign({ method: 'GET', endpoint: url, headers: {}, queryParams: {} }, { getAk: () => alice.ak, getSk: () => alice.sk }) });
    assert.equal(fresh.status, 200);

    // A body left out of the signature (X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD) is accepted as such.
    const body = JSON.stringify({ name: 'unsigned-body', port: 80, balance_strategy: 1, member_type: 'ip' });
    const unsigned = AKSKSigner.sign({ method: 'POST', endpoint: url, headers: { 'Content-Type': 'application/json', 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' }, queryParams: {}, data: body }, { getAk: () => alice.ak, getSk: () => alice.sk });
    const made = await fetch(url, { method: 'POST', headers: unsigned, body });
    assert.equal(made.status, 201);
    assert.equal(((await made.json()) as { name: string }).name, 'unsigned-body');
    // Without that header the body is signed: the same headers with another body fail.
    const signed = AKSKSigner.sign({ method: 'POST', endpoint: url, headers: { 'Content-Type': 'application/json' }, queryParams: {}, data: { name: 'signed-body' } }, { getAk: () => alice.ak, getSk: () => alice.sk });
    const tampered = await fetch(url, { method: 'POST', headers: signed, body: JSON.stringify({ name: 'tampered', port: 80, balance_strategy: 1, member_type: 'ip' }) });
    assert.equal(tampered.status, 401);
    assert.equal(((await tampered.json()) as { error_code: string }).error_code, 'APIG.1002');

    const bob = await tenantCaller('bob', 'cn-north-4');
    const mine = await hw('POST', '/vpc-channels', { body: channel('alice-only') });
    // Bob's own credentials in Alice's project: different tenants.
    await fails(sdk(gw.adminUrl, { ...bob, projectId: alice.projectId }, instanceId)('GET', '/vpc-channels'), 400, 'APIG.1201');
    // In his own project, Alice's channel does not exist for him.
    await fails(sdk(gw.adminUrl, bob, instanceId)('GET', `/vpc-channels/${mine.id}`), 404, 'APIG.3023', mine.id);
    await fails(sdk(gw.adminUrl, { ...alice, projectId: 'f'.repeat(32) }, instanceId)('GET', '/vpc-channels'), 403, 'APIG.1005');
    await fails(hw('GET', '/vpc-channels', { instanceId: 'e'.repeat(32) }), 404, 'APIG.3030', 'e'.repeat(32));
    await fails(hw('GET', '/vpc-channels/x/unknown-thing'), 404, 'APIG.0101');
    await hw('DELETE', `/vpc-channels/${mine.id}`);
  });

  test('bad input: each checklist rule answers its code, status and parameter name, and writes nothing', async () => {
    const before = await gw.sluice.store.revision();
    const bad: [unknown, number, string, string][] = [
      [{ port: 80, balance_strategy: 1, member_type: 'ip' }, 400, 'APIG.2001', 'name'],
      [channel('ab'), 400, 'APIG.2012', 'name'],
      [channel('1abc'), 400, 'APIG.2012', 'name'],
      [channel('a'.repeat(65)), 400, 'APIG.2012', 'name'],
      [channel('okname', { port: 0 }), 400, 'APIG.2004', 'port'],
      [channel('okname', { port: 65536 }), 400, 'APIG.2004', 'port'],
      [channel('okname', { balance_strategy: 5 }), 400, 'APIG.2012', 'balance_strategy'],
      [channel('okname', { member_type: 'vm' }), 400, 'APIG.2012', 'member_type'],
      [channel('okname', { type: 4 }), 400, 'APIG.2012', 'type'],
      [channel('okname', { vpc_channel_type: 'other' }), 400, 'APIG.2012', 'vpc_channel_type'],
      [channel('okname', { port: '80' }), 400, 'APIG.2012', 'port'],
      [channel('okname', { members: [{ port: 80 }] }), 400, 'APIG.2001', 'host'],
      [channel('okname', { members: [{ host: '127.0.0.1', weight: 10_001 }] }), 400, 'APIG.2004', 'weight'],
      [channel('okname', { members: [{ host: '127.0.0.1', port: 65_536 }] }), 400, 'APIG.2004', 'port'],
      [channel('okname', { members: [{ host: '127.0.0.1', status: 3 }] }), 400, 'APIG.2012', 'status'],
      [channel('okname', { members: [{ host: 'a'.repeat(65) }] }), 400, 'APIG.2006', 'host'],
      [channel('okname', { members: [{ host: 'not a host!' }] }), 400, 'APIG.2015', 'host'],
      [channel('okname', { members: [{ host: '127.0.0.1', member_group_name: 'nope' }] }), 400, 'APIG.2012', 'member_group_name'],
      [channel('okname', { member_type: 'ecs', members: [{ host: '127.0.0.1', ecs_name: 'vm1' }] }), 400, 'APIG.2001', 'ecs_id'],
      [channel('okname', { member_type: 'ecs', members: [{ ecs_id: 'i-1', ecs_name: 'vm1' }] }), 404, 'APIG.3092', 'i-1'],
      [channel('okname', { member_groups: [{ member_group_name: 'g' }] }), 400, 'APIG.2012', 'member_group_name'],
      [channel('okname', { member_groups: [{ member_group_name: 'grp', member_group_weight: 101 }] }), 400, 'APIG.2004', 'member_group_weight'],
      [channel('okname', { member_groups: [{ member_group_name: 'grp', member_group_remark: 'r'.repeat(256) }] }), 400, 'APIG.2006', 'member_group_remark'],
      [channel('okname', { vpc_health_config: { protocol: 'UDP', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5 } }), 400, 'APIG.2012', 'protocol'],
      [channel('okname', { vpc_health_config: { protocol: 'TCP', threshold_normal: 0, threshold_abnormal: 1, time_interval: 5 } }), 400, 'APIG.2004', 'threshold_normal'],
      [channel('okname', { vpc_health_config: { protocol: 'TCP', threshold_normal: 1, threshold_abnormal: 11, time_interval: 5 } }), 400, 'APIG.2004', 'threshold_abnormal'],
      [channel('okname', { vpc_health_config: { protocol: 'TCP', threshold_normal: 1, threshold_abnormal: 1, time_interval: 301 } }), 400, 'APIG.2004', 'time_interval'],
      [channel('okname', { vpc_health_config: { protocol: 'TCP', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5, timeout: 31 } }), 400, 'APIG.2004', 'timeout'],
      [channel('okname', { vpc_health_config: { protocol: 'TCP', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5, timeout: 5 } }), 400, 'APIG.2012', 'timeout'],
      [channel('okname', { vpc_health_config: { protocol: 'TCP', threshold_normal: 1, threshold_abnormal: 1 } }), 400, 'APIG.2001', 'time_interval'],
      [channel('okname', { vpc_health_config: { protocol: 'HTTP', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5, http_code: '200' } }), 400, 'APIG.2001', 'path'],
      [channel('okname', { vpc_health_config: { protocol: 'HTTP', path: '/', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5 } }), 400, 'APIG.2001', 'http_code'],
      [channel('okname', { vpc_health_config: { protocol: 'HTTP', path: '/', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5, http_code: '200,2x0' } }), 400, 'APIG.2012', 'http_code'],
      [channel('okname', { vpc_health_config: { protocol: 'HTTP', path: '/', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5, http_code: '299-200' } }), 400, 'APIG.2004', 'http_code'],
      [channel('okname', { vpc_health_config: { protocol: 'HTTP', path: '/', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5, http_code: '200,600' } }), 400, 'APIG.2004', 'http_code'],
      [channel('okname', { vpc_health_config: { protocol: 'TCP', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5, method: 'POST' } }), 400, 'APIG.2012', 'method'],
      [channel('okname', { vpc_health_config: { protocol: 'TCP', threshold_normal: 1, threshold_abnormal: 1, time_interval: 5, port: 70_000 } }), 400, 'APIG.2004', 'port'],
      [channel('okname', { vpc_channel_type: 'microservice' }), 400, 'APIG.2012', 'vpc_channel_type'],
      [channel('okname', { type: 3, microservice_info: { service_type: 'CSE' } }), 400, 'APIG.2012', 'type'],
      [channel('okname', { microservice_info: { service_type: 'CCE', cce_info: { cluster_id: 'c1' } } }), 400, 'APIG.2012', 'microservice_info'],
      [channel('okname', { type: 3, vpc_channel_type: 'builtin', microservice_info: { service_type: 'CSE' } }), 400, 'APIG.2012', 'type'],
      [channel('okname', { type: 2, vpc_channel_type: 'microservice' }), 400, 'APIG.2012', 'type'],
      [channel('okname', { type: 1 }), 400, 'APIG.2012', 'type'],
      [channel('okname', { member_type: 'ecs', members: [{ host: '127.0.0.1', ecs_id: 'i 1', ecs_name: 'vm1' }] }), 400, 'APIG.2012', 'ecs_id'],
      [channel('okname', { member_type: 'ecs', members: [{ host: '127.0.0.1', ecs_id: 'i'.repeat(65), ecs_name: 'vm1' }] }), 400, 'APIG.2012', 'ecs_id'],
      [channel('okname', { member_type: 'ecs', members: [{ host: '127.0.0.1', ecs_id: 'i-1', ecs_name: 'vm/1' }] }), 400, 'APIG.2012', 'ecs_name'],
      [channel('okname', { member_type: 'ecs', members: [{ host: '127.0.0.1', ecs_id: 'i-1', ecs_name: 'vm 1' }] }), 400, 'APIG.2012', 'ecs_name'],
      [channel('okname', { members: [{ host: '999.1.1.1' }] }), 400, 'APIG.2015', 'host'],
      [channel('okname', { members: [{ host: '10.0.0.256' }] }), 400, 'APIG.2015', 'host'],
      [channel('okname', { vpc_channel_type: 'reference', member_groups: [{ member_group_name: 'ref', reference_vpc_channel_id: 'a'.repeat(32) }] }), 404, 'APIG.3023', 'a'.repeat(32)],
      [channel('okname', { member_groups: [{ member_group_name: 'ref', reference_vpc_channel_id: 'a'.repeat(32) }] }), 400, 'APIG.2012', 'reference_vpc_channel_id'],
      [[1, 2], 400, 'APIG.2012', 'body'],
    ];
    for (const [body, status, code, name] of bad) {
      await fails(hw('POST', '/vpc-channels', { body }), status, code, `parameterName:${name}`).catch(async () => {
        // Messages that name the parameter differently ("parameter name:x", "id:x") still must name it.
        await fails(hw('POST', '/vpc-channels', { body }), status, code, name);
      });
    }
    // Malformed JSON, sent as it is (the SDK would serialise any object).
    const path = `/v2/${alice.projectId}/apigw/instances/${instanceId}/vpc-channels`;
    const res = await fetch(gw.adminUrl + path, { method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: '{"name":' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error_code: string }).error_code, 'APIG.2012');
    assert.equal(await gw.sluice.store.revision(), before, 'no refused request wrote anything');

    const ch = await hw('POST', '/vpc-channels', { body: channel('dupe-name') });
    await fails(hw('POST', '/vpc-channels', { body: channel('dupe-name') }), 400, 'APIG.3208');
    await fails(hw('POST', `/vpc-channels/${ch.id}/members`, { body: {} }), 400, 'APIG.2001', 'parameter name:members');
    await fails(hw('POST', `/vpc-channels/${ch.id}/members`, { body: { members: [{ host: '127.0.0.1', weight: -1 }] } }), 400, 'APIG.2004', 'parameterName:weight');
    await fails(hw('POST', `/vpc-channels/${ch.id}/members/batch-enable`, { body: { member_ids: ['0'.repeat(32)] } }), 404, 'APIG.3024', '0'.repeat(32));
    await fails(hw('POST', `/vpc-channels/${ch.id}/members/batch-disable`, { body: {} }), 400, 'APIG.2001', 'member_ids');
    await fails(hw('PUT', `/vpc-channels/${ch.id}/members`, { body: { member_group_name: 'ghost', members: [] } }), 400, 'APIG.2012', 'member_group_name');
    await fails(hw('PUT', `/vpc-channels/${ch.id}`, { body: channel('dupe-name', { vpc_channel_type: 'reference' }) }), 400, 'APIG.2012', 'vpc_channel_type');
    await fails(hw('PUT', `/vpc-channels/${ch.id}/health-config`, { body: { protocol: 'TCP', threshold_normal: 1, threshold_abnormal: 1, time_interval: 2, timeout: 3 } }), 400, 'APIG.2012', 'timeout');
    await fails(hw('PUT', `/vpc-channels/${ch.id}/member-groups/${'0'.repeat(32)}`, { body: { member_group_name: 'whatever' } }), 404, 'APIG.3023');
    await fails(hw('DELETE', `/vpc-channels/${ch.id}/member-groups/${'0'.repeat(32)}`), 404, 'APIG.3023');
    await fails(hw('POST', `/vpc-channels/${ch.id}/member-groups`, { body: { member_groups: [{ member_group_name: 'grp', member_group_weight: 101 }] } }), 400, 'APIG.2004', 'member_group_weight');
    await hw('DELETE', `/vpc-channels/${ch.id}`);
  });

  test('type and vpc_channel_type as APIG words them: type 0 or empty defers, type 3 without microservice_info is a server channel', async () => {
    const byZero = await hw('POST', '/vpc-channels', { body: channel('type-zero', { type: 0 }) });
    assert.equal(byZero.vpc_channel_type, 'builtin');
    const zeroRef = await hw('POST', '/vpc-channels', { body: channel('type-zero-ref', { type: 0, vpc_channel_type: 'reference', member_groups: [{ member_group_name: 'ref', reference_vpc_channel_id: byZero.id }] }) });
    assert.equal(zeroRef.vpc_channel_type, 'reference', 'type 0 defers to vpc_channel_type');
    const three = await hw('POST', '/vpc-channels', { body: channel('type-three', { type: 3, members: [{ host: '10.0.0.9' }] }) });
    assert.equal(three.vpc_channel_type, 'builtin');
    const threeNamed = await hw('POST', '/vpc-channels', { body: channel('type-three-named', { type: 3, vpc_channel_type: 'builtin' }) });
    assert.equal(threeNamed.vpc_channel_type, 'builtin');
    // A full update may send the legacy type too; the channel stays what it is.
    const updated = await hw('PUT', `/vpc-channels/${three.id}`, { body: channel('type-three', { type: 3, members: [{ host: '10.0.0.9' }] }) });
    assert.equal(updated.vpc_channel_type, 'builtin');
    for (const id of [zeroRef.id, byZero.id, three.id, threeNamed.id]) await hw('DELETE', `/vpc-channels/${id}`);
  });

  test('MemberGroupInfo always carries member_group_weight (null when unset), and null sent back keeps it unset', async () => {
    const ch = await hw('POST', '/vpc-channels', { body: channel('weightless', { member_groups: [{ member_group_name: 'plain' }], members: [{ host: '10.0.0.1', weight: 4, member_group_name: 'plain' }] }) });
    const g = ch.member_groups[0];
    assert.ok(Object.hasOwn(g, 'member_group_weight'), 'present in the create answer');
    assert.equal(g.member_group_weight, null);
    const listed = await hw('GET', `/vpc-channels/${ch.id}/member-groups`);
    assert.equal(listed.member_groups[0].member_group_weight, null);
    const shown = await hw('GET', `/vpc-channels/${ch.id}/member-groups/${g.member_group_id}`);
    assert.ok(Object.hasOwn(shown, 'member_group_weight'));
    // Read-modify-write: the group as shown, sent back, changes no member's weight.
    const { member_group_name, member_group_remark, member_group_weight } = shown;
    const back = await hw('PUT', `/vpc-channels/${ch.id}/member-groups/${g.member_group_id}`, { body: { member_group_name, member_group_remark, member_group_weight } });
    assert.equal(back.member_group_weight, null);
    assert.equal((await hw('GET', `/vpc-channels/${ch.id}/members`)).members[0].weight, 4);
    await hw('DELETE', `/vpc-channels/${ch.id}`);
  });

  test('an unknown path sent as JSON with no body gets APIG\'s 404, not the operator API\'s malformed_json', async () => {
    const path = `/v2/${alice.projectId}/apigw/instances/${instanceId}/no-such-thing`;
    for (const method of ['POST', 'PUT', 'DELETE', 'GET']) {
      const res = await fetch(gw.adminUrl + path, { method, headers: { 'x-auth-token': token, 'content-type': 'application/json' } });
      assert.equal(res.status, 404, method);
      assert.ok(res.headers.get('x-request-id'), 'APIG answers carry X-Request-Id');
      const body = (await res.json()) as { error_code: string; error_msg: string };
      assert.equal(body.error_code, 'APIG.0101', `${method}: ${JSON.stringify(body)}`);
    }
    // Through the SDK too: it sends Content-Type: application/json on every request.
    await fails(hw('DELETE', '/no-such-thing'), 404, 'APIG.0101');
  });

  test('quotas: 30 channels per instance by default (APIG.3109), members per channel (APIG.3110), operator-configurable', async () => {
    const inst = await gw.api('POST', '/v1/instances', { name: 'quota', region: 'cn-north-4' });
    const call = sdk(gw.adminUrl, alice, inst.body.id);
    for (let i = 0; i < 30; i++) await call('POST', '/vpc-channels', { body: channel(`quota-${i}`) });
    const e = await fails(call('POST', '/vpc-channels', { body: channel('quota-30') }), 403, 'APIG.3109');
    assert.match(e.errorMsg, /30/);
    assert.equal((await call('GET', '/vpc-channels', { query: { limit: 500 } })).total, 30);

    const small = await startTestGateway({ limits: { maxUpstreamsPerInstance: 2, maxMembersPerUpstream: 2 } });
    try {
      const t = await small.api('POST', '/v1/tenants', { name: 'q' });
      const k = await small.api('POST', `/v1/tenants/${t.body.id}/keys`);
      const p = await small.api('POST', `/v1/tenants/${t.body.id}/projects`, { region: 'r1' });
      const i = await small.api('POST', '/v1/instances', { name: 'q', region: 'r1' });
      const c = sdk(small.adminUrl, { ak: k.body.secretId, sk: k.body.secretKey, projectId: p.body.id }, i.body.id);
      await c('POST', '/vpc-channels', { body: channel('one') });
      await c('POST', '/vpc-channels', { body: channel('two') });
      await fails(c('POST', '/vpc-channels', { body: channel('three') }), 403, 'APIG.3109');
      // Members: at the limit on create, then one more by add-or-update, by full replace, by PUT channel.
      const list = await c('GET', '/vpc-channels');
      const one = list.vpc_channels[0].id;
      await c('PUT', `/vpc-channels/${one}/members`, { body: { members: [{ host: '10.0.0.1' }, { host: '10.0.0.2' }] } });
      const third = { host: '10.0.0.3' };
      await fails(c('POST', `/vpc-channels/${one}/members`, { body: { members: [third] } }), 403, 'APIG.3110');
      await fails(c('PUT', `/vpc-channels/${one}/members`, { body: { members: [{ host: '10.0.0.1' }, { host: '10.0.0.2' }, third] } }), 403, 'APIG.3110');
      await fails(c('PUT', `/vpc-channels/${one}`, { body: channel('one', { members: [{ host: '10.0.0.1' }, { host: '10.0.0.2' }, third] }) }), 403, 'APIG.3110');
      assert.equal((await c('GET', `/vpc-channels/${one}/members`)).total, 2, 'a refused change writes nothing');
      // Updating a known address is not an addition.
      await c('POST', `/vpc-channels/${one}/members`, { body: { members: [{ host: '10.0.0.1', weight: 5 }] } });
    } finally {
      await small.close();
    }
  });

  test('more calls per second than the operator allows answer APIG.9008 with HTTP 500', async () => {
    const slow = await startTestGateway({ huaweiRatePerSecond: 3 });
    try {
      const t = await slow.api('POST', '/v1/tenants', { name: 'r' });
      const k = await slow.api('POST', `/v1/tenants/${t.body.id}/keys`);
      const p = await slow.api('POST', `/v1/tenants/${t.body.id}/projects`, { region: 'r1' });
      const i = await slow.api('POST', '/v1/instances', { name: 'r', region: 'r1' });
      const c = sdk(slow.adminUrl, { ak: k.body.secretId, sk: k.body.secretKey, projectId: p.body.id }, i.body.id);
      const answers = await Promise.allSettled(Array.from({ length: 6 }, () => c('GET', '/vpc-channels')));
      const limited = answers.filter((a): a is PromiseRejectedResult => a.status === 'rejected').map((a) => a.reason as HwError);
      assert.equal(answers.length - limited.length, 3, 'three calls pass in the second');
      for (const e of limited) assert.deepEqual([e.httpStatusCode, e.errorCode], [500, 'APIG.9008']);
    } finally {
      await slow.close();
    }
  });

  test('real traffic: weighted least connections (strategy 2) sends new requests away from a busy member', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => { release = r; });
    const holding = (req: IncomingMessage, res: ServerResponse, name: string) => {
      if (req.url === '/hold') void held.then(() => echo(req, res, name));
      else echo(req, res, name);
    };
    const pair = await Promise.all([startBackend('w0', holding), startBackend('w1', holding)]);
    try {
      const ch = await hw('POST', '/vpc-channels', { body: channel('wlc', { balance_strategy: 2, members: pair.map((b) => member(b)) }) });
      await route(ch.id, 'wlc.test');
      const busy = request(`${gw.proxyUrl}/hold`, { headers: { host: 'wlc.test' } });
      for (let i = 0; i < 100 && pair.every((b) => b.hits === 0); i++) await new Promise((r) => setTimeout(r, 10));
      const holder = pair.find((b) => b.hits === 1)!;
      assert.ok(holder, 'the held request reached a member');
      const seen = await traffic('wlc.test', 10);
      assert.equal(seen.get(holder.name), undefined, `no new request went to the busy member: ${JSON.stringify([...seen])}`);
      release();
      const r = await busy;
      assert.equal(r.statusCode, 200);
      await r.body.dump();
      // Ties go by weighted round robin, whose turns ran on while one member was busy: over
      // the whole run the two equal members end up with equal shares.
      await traffic('wlc.test', 21);
      assert.ok(Math.abs(pair[0]!.hits - pair[1]!.hits) <= 1, `equal weights, equal shares over the run: ${pair.map((b) => b.hits)}`);
    } finally {
      release();
      await Promise.all(pair.map((b) => b.close()));
    }
  });

  test('real traffic: source-IP hash (strategy 3) keeps each client on one member and spreads clients', async () => {
    const ch = await hw('POST', '/vpc-channels', { body: channel('iphash', { balance_strategy: 3, members: backends.slice(0, 3).map((b) => member(b)) }) });
    await route(ch.id, 'iphash.test');
    const used = new Set<string>();
    for (let ip = 1; ip <= 12; ip++) {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) seen.add((await getFrom(`127.0.0.${ip}`, 'iphash.test')).name);
      assert.equal(seen.size, 1, `127.0.0.${ip} stays on one member: ${[...seen]}`);
      used.add([...seen][0]!);
    }
    assert.ok(used.size >= 2, `12 clients spread over more than one member: ${[...used]}`);
  });

  test('real traffic: URI hash (strategy 4) keeps each path on one member and spreads paths', async () => {
    const ch = await hw('POST', '/vpc-channels', { body: channel('urihash', { balance_strategy: 4, members: backends.slice(0, 3).map((b) => member(b)) }) });
    await route(ch.id, 'urihash.test');
    const owner = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let p = 0; p < 12; p++) {
        const seen = await traffic('urihash.test', 1, { path: () => `/item/${p}?round=${round}` });
        const who = [...seen.keys()][0]!;
        if (owner.has(`/item/${p}`)) assert.equal(who, owner.get(`/item/${p}`), `/item/${p} always lands on one member`);
        owner.set(`/item/${p}`, who);
      }
    }
    assert.ok(new Set(owner.values()).size >= 2, `12 paths spread over more than one member: ${[...owner.values()]}`);
  });

  test('real traffic: batch-disable takes a member out at once, batch-enable brings it back, a backup steps in', async () => {
    const [b0, b1, b2] = backends as [Backend, Backend, Backend];
    const ch = await hw('POST', '/vpc-channels', { body: channel('switch', { members: [member(b0), member(b1), member(b2, { is_backup: true })] }) });
    await route(ch.id, 'switch.test');
    const ids = new Map<string, string>((await hw('GET', `/vpc-channels/${ch.id}/members`)).members.map((m: { port: number; id: string }) => [backends.find((b) => b.port === m.port)!.name, m.id]));

    assert.deepEqual([...(await traffic('switch.test', 20)).entries()].sort(), [['b0', 10], ['b1', 10]], 'the backup waits');

    const off = await hw('POST', `/vpc-channels/${ch.id}/members/batch-disable`, { body: { member_ids: [ids.get('b0')] } });
    assert.equal(off.httpStatusCode, 204);
    await gw.settled();
    assert.deepEqual([...(await traffic('switch.test', 10)).entries()], [['b1', 10]], 'a disabled member gets nothing');
    const listed = await hw('GET', `/vpc-channels/${ch.id}/members`);
    assert.equal(listed.members.find((m: { id: string }) => m.id === ids.get('b0')).status, 2);

    await hw('POST', `/vpc-channels/${ch.id}/members/batch-disable`, { body: { member_ids: [ids.get('b1')] } });
    await gw.settled();
    assert.deepEqual([...(await traffic('switch.test', 10)).entries()], [['b2', 10]], 'with every primary disabled the backup serves');

    const on = await hw('POST', `/vpc-channels/${ch.id}/members/batch-enable`, { body: { member_ids: [ids.get('b0'), ids.get('b1')] } });
    assert.equal(on.httpStatusCode, 204);
    await gw.settled();
    assert.deepEqual([...(await traffic('switch.test', 20)).entries()].sort(), [['b0', 10], ['b1', 10]], 'enabled again, the primaries take over');
  });

  test('a channel a route uses cannot be deleted (APIG.3414), nor one a reference channel uses (APIG.3719)', async () => {
    const target = await hw('POST', '/vpc-channels', { body: channel('referenced', { members: [member(backends[3]!)] }) });
    const ref = await hw('POST', '/vpc-channels', {
      body: channel('reference', { vpc_channel_type: 'reference', member_groups: [{ member_group_name: 'to-referenced', reference_vpc_channel_id: target.id }] }),
    });
    assert.equal(ref.vpc_channel_type, 'reference');
    const r = await route(ref.id, 'reference.test');
    // The data plane serves a reference channel with the referenced channel's members.
    assert.deepEqual([...(await traffic('reference.test', 5)).entries()], [['b3', 5]]);
    await fails(hw('POST', `/vpc-channels/${ref.id}/members`, { body: { members: [member(backends[0]!)] } }), 403, 'APIG.3471');
    await fails(hw('POST', `/vpc-channels/${ref.id}/members/batch-disable`, { body: { member_ids: [] } }), 403, 'APIG.3471');

    await fails(hw('DELETE', `/vpc-channels/${target.id}`), 409, 'APIG.3719');
    await fails(hw('DELETE', `/vpc-channels/${ref.id}`), 403, 'APIG.3414');
    assert.equal((await gw.api('DELETE', `/v1/routes/${r.id}`)).status, 204);
    assert.equal((await hw('DELETE', `/vpc-channels/${ref.id}`)).httpStatusCode, 204);
    assert.equal((await hw('DELETE', `/vpc-channels/${target.id}`)).httpStatusCode, 204);
  });

  test('health: member health_status and channel status come from the health checker', async () => {
    const dead = await startBackend('dead');
    await dead.kill();
    const live = backends[0]!;
    const ch = await hw('POST', '/vpc-channels', { body: channel('checked', { members: [member(live), member(dead)] }) });
    const fresh = await hw('GET', `/vpc-channels/${ch.id}`);
    assert.deepEqual(fresh.members.map((m: { health_status: string }) => m.health_status), ['unknown', 'unknown'], 'not checked yet');

    const cfg = await hw('PUT', `/vpc-channels/${ch.id}/health-config`, { body: { protocol: 'tcp', threshold_normal: 1, threshold_abnormal: 1, time_interval: 2, timeout: 1 } });
    assert.equal(cfg.httpStatusCode, 200);
    assert.equal(cfg.vpc_channel_id, ch.id);
    assert.equal(cfg.protocol, 'TCP');
    const statusOf = async () => {
      const s = await hw('GET', `/vpc-channels/${ch.id}`);
      return { channel: s.status as number, members: s.members.map((m: { port: number; health_status: string }) => `${m.port === live.port ? 'live' : 'dead'}:${m.health_status}`) };
    };
    let s = await statusOf();
    for (let i = 0; i < 50 && (s.members.includes('live:unknown') || s.members.includes('dead:unknown')); i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await statusOf();
    }
    assert.deepEqual(s, { channel: 1, members: ['live:healthy', 'dead:unhealthy'] });

    // Every enabled member unhealthy: the channel is abnormal.
    const liveId = (await hw('GET', `/vpc-channels/${ch.id}/members`)).members.find((m: { port: number }) => m.port === live.port).id;
    await hw('POST', `/vpc-channels/${ch.id}/members/batch-disable`, { body: { member_ids: [liveId] } });
    assert.equal((await statusOf()).channel, 2);
    await hw('DELETE', `/vpc-channels/${ch.id}`);
  });

  test('a channel made here and an upstream made through the Tencent dialect share a project and are both listed', async () => {
    const inst = await gw.api('POST', '/v1/instances', { name: 'shared', region: 'ap-shared' });
    const carol = await tenantCaller('carol', 'ap-shared');
    const keys = await gw.api('GET', '/v1/tenants');
    const carolId = keys.body.items.find((t: { name: string }) => t.name === 'carol').id;
    const tencent = new TencentClient({
      credential: { secretId: carol.ak, secretKey: carol.sk }, region: 'ap-shared',
      profile: { httpProfile: { protocol: 'http://', endpoint: gw.adminUrl.replace('http://', ''), reqTimeout: 10 } },
    });
    const tc = await tencent.CreateUpstream({ UpstreamName: 'from-tencent', Scheme: 'HTTP', Algorithm: 'ROUND-ROBIN', UniqVpcId: 'vpc-1', Nodes: [{ Host: '127.0.0.1', Port: backends[0]!.port, Weight: 10 }] });
    const call = sdk(gw.adminUrl, carol, inst.body.id);
    const hc = await call('POST', '/vpc-channels', { body: channel('from-huawei', { members: [member(backends[1]!)] }) });

    const listed = await gw.api('GET', `/v1/upstreams?tenantId=${carolId}`);
    // Keyed by both ids: the Tencent face answers with its own form, the operator API shows both.
    const byId = new Map(listed.body.items.flatMap((u: { id: string; tencentId: string; projectId: string; instanceId: string }) => [[u.id, u], [u.tencentId, u]]));
    assert.ok(byId.has(tc.UpstreamId) && byId.has(hc.id), 'the operator API lists both');
    const [a, b] = [byId.get(tc.UpstreamId) as { projectId: string; instanceId: string }, byId.get(hc.id) as { projectId: string; instanceId: string }];
    assert.equal(a.projectId, carol.projectId);
    assert.equal(b.projectId, carol.projectId);
    assert.equal(a.instanceId, b.instanceId, 'the Tencent upstream lands in the region\'s default instance');
    // And the Huawei face sees the Tencent-made upstream as a channel of its project.
    const seen = await call('GET', '/vpc-channels');
    assert.deepEqual(seen.vpc_channels.map((x: { name: string }) => x.name).sort(), ['from-huawei', 'from-tencent']);
  });
});

describe('Huawei APIG v2 dialect: internal failures', () => {
  test('a store failure answers APIG.9999 with HTTP 500 and the gateway keeps answering', async () => {
    const gw = await startTestGateway();
    const t = await gw.api('POST', '/v1/tenants', { name: 'x' });
    const k = await gw.api('POST', `/v1/tenants/${t.body.id}/keys`);
    const p = await gw.api('POST', `/v1/tenants/${t.body.id}/projects`, { region: 'r1' });
    const i = await gw.api('POST', '/v1/instances', { name: 'x', region: 'r1' });
    const call = sdk(gw.adminUrl, { ak: k.body.secretId, sk: k.body.secretKey, projectId: p.body.id }, i.body.id);
    assert.equal((await call('GET', '/vpc-channels')).httpStatusCode, 200);
    // A real fault: the database goes away under a running gateway.
    await gw.sluice.store.close();
    await fails(call('GET', '/vpc-channels'), 500, 'APIG.9999');
    await fails(call('POST', '/vpc-channels', { body: { name: 'after', port: 80, balance_strategy: 1, member_type: 'ip' } }), 500, 'APIG.9999');
    const proxied = await request(gw.proxyUrl + '/');
    assert.equal(proxied.statusCode, 404, 'the data plane still serves its last snapshot');
    await proxied.body.dump();
    await gw.close();
  });
});
