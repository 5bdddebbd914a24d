import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { members, startBackends, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import type { Route, Upstream } from '../../src/model/types.js';

// Invariant 9: one object the data plane cannot build never stops the others. Validation
// refuses such objects now, so they are written straight into the store, as an older
// release or another node could have written them.
describe('a stored object the snapshot builder cannot build is isolated', () => {
  let gw: TestGateway;
  let backends: Backend[];
  const logged: { msg: string; id?: string; revision?: number }[] = [];

  before(async () => {
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) logged.push(JSON.parse(l)); done(); } });
    gw = await startTestGateway({ logger: pino({ level: 'error' }, sink) });
    backends = await startBackends(['bad-tenant', 'good-tenant']);
  });
  after(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  async function send(host: string) {
    const res = await request(`${gw.proxyUrl}/`, { headers: { host } });
    const text = await res.body.text();
    return { status: res.statusCode, code: res.headers['x-sluice-error'], json: text ? JSON.parse(text) : null };
  }

  test('a member host new Pool() refuses empties that upstream only; later config of another tenant is served', async () => {
    const store = gw.sluice.store;
    // Tenant one: an upstream and a route made through the API, then its members overwritten
    // with hosts that cannot be an origin (one good member beside them).
    const bad = await gw.expose({ members: members([backends[0]!]) }, { hosts: ['bad.test'] });
    assert.equal((await send('bad.test')).status, 200, 'served while it is well formed');
    await store.transact(async (tx) => {
      const u = (await tx.get('upstream', bad.id)) as Upstream;
      const m = u.members[0]!;
      await tx.put('upstream', { ...u, members: [m, { ...m, id: 'm-space', host: 'a b' }, { ...m, id: 'm-bracket', host: '[' }] });
    });
    // And a route whose stored hosts are not strings.
    await store.transact(async (tx) => {
      const r = (await tx.list('route')).items[0] as Route;
      await tx.put('route', { ...r, id: 'r-broken', hosts: [5 as unknown as string], createdAt: r.createdAt });
    });
    await gw.settled();
    const brokenRevision = gw.sluice.runtime.snapshot.revision;

    // Tenant two, afterwards, through the API: its route is served.
    const other = await gw.api('POST', '/v1/tenants', { name: 'other-tenant' });
    assert.equal(other.status, 201);
    const good = await gw.api('POST', '/v1/upstreams', { tenantId: other.body.id, name: 'good', members: members([backends[1]!]) });
    assert.equal(good.status, 201, JSON.stringify(good.body));
    const route = await gw.api('POST', '/v1/routes', { upstreamId: good.body.id, hosts: ['good.test'] });
    assert.equal(route.status, 201, JSON.stringify(route.body));
    await gw.settled();
    const served = await send('good.test');
    assert.equal(served.status, 200);
    assert.equal(served.json.name, 'good-tenant');

    // The broken upstream answers 503 with a stable code, not another route's backend.
    const refused = await send('bad.test');
    assert.equal(refused.status, 503);
    assert.equal(refused.code, 'upstream_unavailable');
    assert.equal(refused.json.code, 'upstream_unavailable');

    // The health API says why, for the upstream and each enabled member.
    const health = await gw.api('GET', `/v1/upstreams/${bad.id}/health`);
    assert.equal(health.status, 200);
    assert.match(health.body.error, /not served/);
    assert.equal(health.body.members.length, 3);
    for (const m of health.body.members) {
      assert.equal(m.state, 'unhealthy', JSON.stringify(m));
      assert.match(m.reason, /not served/);
    }
    const fine = await gw.api('GET', `/v1/upstreams/${good.body.id}/health`);
    assert.equal(fine.body.error, null);

    // Logged once per revision and object: one line each for the upstream and the route at
    // the revision that broke them, none for the good upstream.
    const at = (id: string, rev: number) => logged.filter((l) => l.id === id && l.revision === rev).length;
    assert.equal(at(bad.id, brokenRevision), 1, JSON.stringify(logged));
    assert.equal(at('r-broken', brokenRevision), 1, JSON.stringify(logged));
    assert.equal(logged.filter((l) => l.id === good.body.id).length, 0);

    // Repaired through the API, it is served again and the report clears.
    const fixed = await gw.api('PUT', `/v1/upstreams/${bad.id}/members`, { members: members([backends[0]!]) });
    assert.equal(fixed.status, 200, JSON.stringify(fixed.body));
    await gw.settled();
    assert.equal((await send('bad.test')).status, 200);
    assert.equal((await gw.api('GET', `/v1/upstreams/${bad.id}/health`)).body.error, null);
  });

  test('a health check node:http refuses is refused on write, and a stored one fails its probes without a crash', async () => {
    const check = { active: true, protocol: 'http', path: '/health', interval: 2, timeout: 1, healthyThreshold: 1, unhealthyThreshold: 1 };
    for (const [bad, field] of [[{ path: '/a b' }, 'healthCheck.path'], [{ requestHeaders: { 'bad name': 'x' } }, 'healthCheck.requestHeaders'], [{ requestHeaders: { 'x-ok': 'a\r\nb' } }, 'healthCheck.requestHeaders']] as const) {
      const before = await gw.sluice.store.revision();
      const r = await gw.api('POST', '/v1/upstreams', { tenantId: gw.tenantId, name: 'hc-bad', members: members([backends[0]!]), healthCheck: { ...check, ...bad } });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, 'bad_format');
      assert.ok(r.body.message.includes(field), r.body.message);
      assert.equal(await gw.sluice.store.revision(), before);
    }
    // Stored anyway (an older release): the probe is refused by node:http at once. That used
    // to reject outside any handler and take the process down; now it is a failed probe.
    const u = await gw.expose({ members: members([backends[0]!]), healthCheck: check }, { hosts: ['hc-path.test'] });
    await gw.sluice.store.transact(async (tx) => {
      const cur = (await tx.get('upstream', u.id)) as Upstream;
      await tx.put('upstream', { ...cur, healthCheck: { ...cur.healthCheck!, path: '/a b' } });
    });
    await gw.settled();
    let m: { state: string; reason: string } | undefined;
    for (let i = 0; i < 100; i++) {
      m = (await gw.api('GET', `/v1/upstreams/${u.id}/health`)).body.members[0];
      if (m?.state === 'unhealthy') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(m?.state, 'unhealthy', JSON.stringify(m));
    assert.match(m!.reason, /could not be sent/);
    assert.equal((await send('good.test')).status, 200, 'the gateway still serves');
  });
});
