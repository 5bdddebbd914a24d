import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildAdminServer } from '../../src/api/server.js';
import { bootstrapOperatorToken } from '../../src/control/operator.js';
import { createLogger } from '../../src/logger.js';
import type { Store } from '../../src/store/store.js';
import { sqliteTestStore } from '../helpers/pg.js';

const TOKEN = 'operator-token-for-tests-0123456789';

describe('operator API over HTTP', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let app: FastifyInstance;
  let base: string;

  async function call(method: string, path: string, body?: unknown, opts: { token?: string | null; raw?: string; type?: string } = {}) {
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? TOKEN : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (opts.raw !== undefined) payload = opts.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = opts.type ?? 'application/json';
    const res = await fetch(base + path, { method, headers, body: payload });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function expectError(p: Promise<{ status: number; body: { code: string; message: string } }>, status: number, code: string, field?: string) {
    const r = await p;
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.code, code, JSON.stringify(r.body));
    if (field) assert.match(r.body.message, new RegExp(field.replace(/[.[\]]/g, '\\$&')), `message names ${field}: ${r.body.message}`);
  }

  before(async () => {
    ({ store, cleanup } = await sqliteTestStore());
    const logger = createLogger('silent');
    await bootstrapOperatorToken(store, TOKEN, logger);
    app = await buildAdminServer({ store, logger, bodyLimit: 64 * 1024 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    await store.close();
    await cleanup();
  });

  test('refuses calls without a valid operator token', async () => {
    await expectError(call('GET', '/v1/tenants', undefined, { token: null }), 401, 'unauthorized');
    await expectError(call('GET', '/v1/tenants', undefined, { token: 'wrong-token-xxxxxxxxxxxx' }), 401, 'unauthorized');
  });

  test('a tenant token is not an operator token', async () => {
    const t = await call('POST', '/v1/tenants', { name: 'tok-tenant' });
    const tok = await call('POST', `/v1/tenants/${t.body.id}/tokens`, { name: 'x' });
    assert.equal(tok.status, 201);
    await expectError(call('GET', '/v1/tenants', undefined, { token: tok.body.token }), 401, 'unauthorized');
  });

  test('serves an OpenAPI 3 document describing the routes', async () => {
    const r = await call('GET', '/v1/openapi.json', undefined, { token: null });
    assert.equal(r.status, 200);
    assert.match(r.body.openapi, /^3\./);
    for (const p of ['/v1/tenants', '/v1/upstreams', '/v1/upstreams/{id}/members', '/v1/upstreams/{id}/stats', '/v1/routes', '/v1/instances']) {
      assert.ok(r.body.paths[p], `documents ${p}`);
    }
    assert.ok(r.body.paths['/v1/upstreams'].post.requestBody, 'request body schema documented');
    const nodes = r.body.paths['/v1/nodes']?.get?.responses?.['200']?.content?.['application/json']?.schema;
    assert.ok(nodes, 'documents GET /v1/nodes with its answer');
    assert.deepEqual(Object.keys(nodes.properties.items.items.properties).sort(),
      ['appliedRevision', 'heartbeatMs', 'id', 'labels', 'lastSeenAt', 'name', 'silentMs', 'startedAt', 'status', 'version']);
  });

  test('tenants, keys and tokens', async () => {
    const t = await call('POST', '/v1/tenants', { name: 'acme' });
    assert.equal(t.status, 201);
    assert.match(t.body.id, /^[0-9a-f]{32}$/);
    assert.equal((await call('GET', `/v1/tenants/${t.body.id}`)).body.name, 'acme');
    const list = await call('GET', '/v1/tenants?limit=500');
    assert.ok(list.body.items.some((x: { id: string }) => x.id === t.body.id));
    await expectError(call('POST', '/v1/tenants', { name: 'acme' }), 409, 'duplicate', 'name');

    const k = await call('POST', `/v1/tenants/${t.body.id}/keys`);
    assert.equal(k.status, 201);
    assert.ok(k.body.secretKey.length >= 24, 'secret key shown at creation');
    const keys = await call('GET', `/v1/tenants/${t.body.id}/keys`);
    assert.equal(keys.body.total, 1);
    assert.equal(keys.body.items[0].secretId, k.body.secretId);
    assert.equal(keys.body.items[0].secretKey, undefined, 'secret key never listed');

    const tok = await call('POST', `/v1/tenants/${t.body.id}/tokens`, { name: 'ci', ttlSeconds: 3600 });
    assert.equal(tok.status, 201);
    assert.ok(tok.body.token);
    const toks = await call('GET', `/v1/tenants/${t.body.id}/tokens`);
    assert.equal(toks.body.total, 1);
    assert.equal(toks.body.items[0].token, undefined);
    assert.equal(toks.body.items[0].hash, undefined, 'hash not exposed');

    assert.equal((await call('DELETE', `/v1/tenants/${t.body.id}/keys/${k.body.id}`)).status, 204);
    assert.equal((await call('DELETE', `/v1/tenants/${t.body.id}/tokens/${tok.body.id}`)).status, 204);
    await expectError(call('DELETE', `/v1/tenants/${t.body.id}/keys/${k.body.id}`), 404, 'not_found');
    assert.equal((await call('DELETE', `/v1/tenants/${t.body.id}`)).status, 204);
    await expectError(call('GET', `/v1/tenants/${t.body.id}`), 404, 'not_found', 'tenant');
  });

  test('instances', async () => {
    const i = await call('POST', '/v1/instances', { name: 'edge', region: 'ap-test' });
    assert.equal(i.status, 201);
    assert.match(i.body.id, /^[0-9a-f]{32}$/);
    assert.equal(i.body.isDefault, true, 'first instance of a region is its default');
    const j = await call('POST', '/v1/instances', { name: 'edge2', region: 'ap-test' });
    assert.equal(j.body.isDefault, false);
    assert.equal((await call('GET', `/v1/instances/${i.body.id}`)).body.region, 'ap-test');
    assert.ok((await call('GET', '/v1/instances')).body.total >= 2);
    assert.equal((await call('DELETE', `/v1/instances/${j.body.id}`)).status, 204);
    await expectError(call('POST', '/v1/instances', { name: 'x', region: 'Bad Region' }), 400, 'bad_format', 'region');
  });

  describe('upstreams, members, groups, routes', () => {
    let tenantId: string;
    before(async () => { tenantId = (await call('POST', '/v1/tenants', { name: 'ups-tenant' })).body.id; });

    test('lifecycle', async () => {
      const c = await call('POST', '/v1/upstreams', {
        tenantId, name: 'web', scheme: 'http', strategy: 'wrr', port: 8080,
        memberGroups: [{ name: 'blue', weight: 5 }],
        members: [{ host: '10.0.0.1' }, { host: '10.0.0.2', port: 9090, weight: 3, group: 'blue' }],
        healthCheck: { protocol: 'http', path: '/healthz', interval: 5, timeout: 2 },
        tags: [{ key: 'env', value: 'prod' }], networkId: 'vpc-123', ext: { k8sServices: [] },
      });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      const u = c.body;
      assert.equal(u.retries, 3, 'default retries');
      assert.equal(u.members.length, 2);
      assert.equal(u.members[1].groupId, u.memberGroups[0].id);
      assert.equal(u.healthCheck.unhealthyThreshold, 3, 'health defaults filled in');
      assert.equal(u.networkId, 'vpc-123');
      assert.deepEqual(u.ext, { k8sServices: [] });

      assert.equal((await call('GET', `/v1/upstreams/${u.id}`)).body.name, 'web');
      const list = await call('GET', `/v1/upstreams?tenantId=${tenantId}&limit=1&offset=0`);
      assert.equal(list.body.items.length, 1);
      assert.equal(list.body.total, 1);

      // partial update leaves lists alone
      const p = await call('PATCH', `/v1/upstreams/${u.id}`, { description: 'front', retries: 5 });
      assert.equal(p.status, 200);
      assert.equal(p.body.description, 'front');
      assert.equal(p.body.members.length, 2);
      assert.equal(p.body.members[0].id, u.members[0].id);

      // full update replaces lists, keeps ids of members still there
      const put = await call('PUT', `/v1/upstreams/${u.id}`, { name: 'web', port: 8080, members: [{ host: '10.0.0.1' }, { host: '10.0.0.3' }] });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.retries, 3, 'full update resets omitted fields');
      assert.equal(put.body.members.length, 2);
      assert.equal(put.body.members[0].id, u.members[0].id, 'member id survives an update');
      assert.equal(put.body.memberGroups.length, 0);

      // members: add-or-update, first duplicate wins
      const up = await call('POST', `/v1/upstreams/${u.id}/members`, { members: [{ host: '10.0.0.3', weight: 7 }, { host: '10.0.0.4' }, { host: '10.0.0.4', weight: 9 }] });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      assert.equal(up.body.total, 3);
      assert.equal(up.body.items.find((m: { host: string }) => m.host === '10.0.0.3').weight, 7);
      assert.equal(up.body.items.find((m: { host: string }) => m.host === '10.0.0.4').weight, null);
      const m4 = up.body.items.find((m: { host: string }) => m.host === '10.0.0.4');

      const pm = await call('PATCH', `/v1/upstreams/${u.id}/members/${m4.id}`, { weight: 2, backup: true });
      assert.equal(pm.status, 200, JSON.stringify(pm.body));
      assert.equal(pm.body.weight, 2);
      assert.equal(pm.body.backup, true);
      assert.equal(pm.body.host, '10.0.0.4');

      assert.equal((await call('POST', `/v1/upstreams/${u.id}/members/disable`, { memberIds: [m4.id] })).status, 204);
      assert.equal((await call('GET', `/v1/upstreams/${u.id}/members`)).body.items.find((m: { id: string }) => m.id === m4.id).enabled, false);
      assert.equal((await call('POST', `/v1/upstreams/${u.id}/members/enable`, { memberIds: [m4.id] })).status, 204);
      assert.equal((await call('GET', `/v1/upstreams/${u.id}/members`)).body.items.find((m: { id: string }) => m.id === m4.id).enabled, true);
      await expectError(call('POST', `/v1/upstreams/${u.id}/members/enable`, { memberIds: ['nope'] }), 404, 'not_found', 'member');

      assert.equal((await call('DELETE', `/v1/upstreams/${u.id}/members/${m4.id}`)).status, 204);
      assert.equal((await call('GET', `/v1/upstreams/${u.id}/members`)).body.total, 2);

      // groups
      const g = await call('POST', `/v1/upstreams/${u.id}/member-groups`, { memberGroups: [{ name: 'green', weight: 10, remark: 'r' }, { name: 'green', weight: 1 }] });
      assert.equal(g.status, 200);
      assert.equal(g.body.total, 1);
      assert.equal(g.body.items[0].weight, 10, 'first duplicate wins');
      const gid = g.body.items[0].id;
      const rep = await call('PUT', `/v1/upstreams/${u.id}/members`, { group: 'green', members: [{ host: '10.0.1.1' }, { host: '10.0.1.2' }] });
      assert.equal(rep.status, 200, JSON.stringify(rep.body));
      assert.equal(rep.body.total, 4, 'group members replaced, others kept');
      const gu = await call('PUT', `/v1/upstreams/${u.id}/member-groups/${gid}`, { name: 'green', weight: 20 });
      assert.equal(gu.body.weight, 20);
      assert.equal((await call('GET', `/v1/upstreams/${u.id}/member-groups`)).body.total, 1);
      assert.equal((await call('DELETE', `/v1/upstreams/${u.id}/member-groups/${gid}`)).status, 204);
      assert.equal((await call('GET', `/v1/upstreams/${u.id}/members`)).body.total, 2, 'group members leave with the group');

      const h = await call('GET', `/v1/upstreams/${u.id}/health`);
      assert.equal(h.status, 200);
      assert.equal(h.body.members.length, 2);

      // routes; upstream in use cannot be deleted
      const r = await call('POST', '/v1/routes', { upstreamId: u.id, hosts: ['api.example.com', '*.example.org'], paths: ['/v1'], methods: ['get'], stripPrefix: true });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.body.methods, ['GET']);
      assert.equal((await call('GET', `/v1/routes/${r.body.id}`)).body.upstreamId, u.id);
      assert.ok((await call('GET', '/v1/routes')).body.total >= 1);
      const r2 = await call('PUT', `/v1/routes/${r.body.id}`, { upstreamId: u.id, paths: ['/v2'] });
      assert.deepEqual(r2.body.paths, ['/v2']);
      await expectError(call('DELETE', `/v1/upstreams/${u.id}`), 409, 'in_use', 'route');
      assert.equal((await call('DELETE', `/v1/routes/${r.body.id}`)).status, 204);
      assert.equal((await call('DELETE', `/v1/upstreams/${u.id}`)).status, 204);
      await expectError(call('GET', `/v1/upstreams/${u.id}`), 404, 'not_found', 'upstream');
    });

    test('bad input names the field', async () => {
      const ok = { tenantId, name: 'bad' };
      await expectError(call('POST', '/v1/upstreams', { ...ok, port: 'eighty' }), 400, 'invalid_type', 'body.port');
      await expectError(call('POST', '/v1/upstreams', { ...ok, port: 70000 }), 400, 'out_of_range', 'body.port');
      await expectError(call('POST', '/v1/upstreams', { ...ok, members: [{ host: 'a', weight: 10001 }] }), 400, 'out_of_range', 'body.members[0].weight');
      await expectError(call('POST', '/v1/upstreams', { ...ok, description: 'x'.repeat(1025) }), 400, 'too_long', 'body.description');
      await expectError(call('POST', '/v1/upstreams', { ...ok, strategy: 'random' }), 400, 'not_in_options', 'body.strategy');
      await expectError(call('POST', '/v1/upstreams', { tenantId }), 400, 'missing', 'body.name');
      await expectError(call('POST', '/v1/upstreams', { ...ok, colour: 'red' }), 400, 'unknown_field', 'body.colour');
      await expectError(call('POST', '/v1/upstreams', { ...ok, members: [{ host: 'a', group: 'nope' }] }), 404, 'not_found', 'members[0].group');
      await expectError(call('POST', '/v1/upstreams', { ...ok, members: [{ host: 'a' }, { host: 'A' }] }), 409, 'duplicate', 'members[1].host');
      await expectError(call('POST', '/v1/upstreams', { ...ok, healthCheck: { interval: 5, timeout: 5 } }), 400, 'out_of_range', 'healthCheck.timeout');
      await expectError(call('POST', '/v1/upstreams', { ...ok, healthCheck: { healthyStatuses: '200,abc' } }), 400, 'bad_format', 'healthCheck.healthyStatuses');
      await expectError(call('POST', '/v1/upstreams', { ...ok, tenantId: 'nobody' }), 404, 'not_found', 'tenantId');
      await expectError(call('POST', '/v1/upstreams', undefined, { raw: '{"name": ' }), 400, 'malformed_json');
      await expectError(call('POST', '/v1/upstreams', undefined, { raw: JSON.stringify({ ...ok, description: 'x'.repeat(70 * 1024) }) }), 413, 'body_too_large');
      await expectError(call('POST', '/v1/routes', { upstreamId: 'nope' }), 404, 'not_found', 'upstreamId');
      await expectError(call('GET', '/v1/upstreams?limit=0'), 400, 'out_of_range', 'limit');
      await expectError(call('GET', '/v1/nothing-here'), 404, 'not_found');
      const u = await call('POST', '/v1/upstreams', { ...ok, name: 'forroutes' });
      await expectError(call('POST', '/v1/routes', { upstreamId: u.body.id, methods: ['FETCH'] }), 400, 'not_in_options', 'methods[0]');
      await expectError(call('POST', '/v1/routes', { upstreamId: u.body.id, hosts: ['bad host'] }), 400, 'bad_format', 'hosts[0]');
      await expectError(call('POST', '/v1/routes', { upstreamId: u.body.id, paths: ['nope'] }), 400, 'bad_format', 'paths[0]');
      // nothing half-written: the failed creates left only the one good upstream
      const list = await call('GET', `/v1/upstreams?tenantId=${tenantId}`);
      assert.deepEqual(list.body.items.map((x: { name: string }) => x.name), ['forroutes']);
      assert.equal((await call('DELETE', `/v1/upstreams/${u.body.id}`)).status, 204);
    });

    test('quota of upstreams per instance', async () => {
      const t = (await call('POST', '/v1/tenants', { name: 'quota-tenant' })).body.id;
      const region = 'quota-region';
      const made: string[] = [];
      for (let i = 0; i < 30; i++) {
        const r = await call('POST', '/v1/upstreams', { tenantId: t, region, name: `u${i}` });
        assert.equal(r.status, 201);
        made.push(r.body.id);
      }
      await expectError(call('POST', '/v1/upstreams', { tenantId: t, region, name: 'u31' }), 403, 'limit_exceeded', 'upstreams');
      for (const id of made) await call('DELETE', `/v1/upstreams/${id}`);
    });
  });
});
