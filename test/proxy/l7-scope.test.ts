import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { members, startBackends, type Backend } from '../helpers/backends.js';
import { startSluiceProcess } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { until } from '../helpers/wait.js';

// --l7-regions: a node labelled with some regions serves only the routes whose upstream's
// instance is in one of them; the others answer 404 there, as a path no route names.
describe('L7 routes per node region (--l7-regions)', () => {
  let gw: TestGateway;
  let backends: Backend[];

  before(async () => {
    gw = await startTestGateway({ l7Regions: new Set(['r-one', 'r-three']) });
    backends = await startBackends(['one', 'two']);
  });
  after(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  const get = async (path: string) => {
    const res = await request(gw.proxyUrl + path);
    return { status: res.statusCode, body: await res.body.text() };
  };

  test('routes of a served region are served; those of another region answer 404 and never reach their members', async () => {
    const [one, two] = backends.map((b) => members([b]));
    const u1 = await gw.expose({ members: one, region: 'r-one' }, { paths: ['/one'] });
    await gw.expose({ members: two, region: 'r-two' }, { paths: ['/two'] });
    assert.equal((await get('/one')).status, 200);
    assert.equal(backends[0]!.hits, 1);
    const two404 = await get('/two');
    assert.equal(two404.status, 404);
    assert.equal(backends[1]!.hits, 0, 'a route of a region this node does not serve never reaches its members');
    // The second region this node serves.
    await gw.expose({ members: two, region: 'r-three' }, { paths: ['/three'] });
    assert.equal((await get('/three')).status, 200);
    assert.equal(backends[1]!.hits, 1);
    // Members of a served upstream still change as usual.
    const put = await gw.api('PUT', `/v1/upstreams/${u1.id}/members`, { members: two });
    assert.ok(put.status === 200 || put.status === 201, JSON.stringify(put.body));
    await gw.settled();
    assert.equal((await get('/one')).status, 200);
    assert.equal(backends[1]!.hits, 2);
  });

  test('the registry labels the node with its L7 regions', async () => {
    const res = await gw.api('GET', '/v1/nodes');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((n: { labels: Record<string, string> }) => n.labels), [{ region: 'default', l7Regions: 'r-one,r-three' }]);
  });
});

test('with --workers every worker serves only the labelled regions', { timeout: 60_000 }, async () => {
  const backends = await startBackends(['w-one', 'w-two']);
  const p = await startSluiceProcess(['--workers', '2', '--l7-regions', 'r-one']);
  try {
    const api = async (path: string, body: unknown) => {
      const res = await fetch(p.adminUrl + path, { method: 'POST', headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      assert.equal(res.status, 201, text);
      return JSON.parse(text) as { id: string };
    };
    const tenant = await api('/v1/tenants', { name: 'scoped-workers' });
    for (const [i, region] of ['r-one', 'r-two'].entries()) {
      const u = await api('/v1/upstreams', { tenantId: tenant.id, name: `w${i}`, region, members: members([backends[i]!]) });
      await api('/v1/routes', { upstreamId: u.id, paths: [`/${region}`] });
    }
    // Fresh connections, so that both workers answer some of them.
    const status = async (path: string) => {
      const res = await request(p.proxyUrl + path, { reset: true });
      await res.body.dump();
      return res.statusCode;
    };
    await until('the served route answers', async () => (await status('/r-one')) === 200, 10_000);
    for (let i = 0; i < 20; i++) {
      assert.equal(await status('/r-one'), 200);
      assert.equal(await status('/r-two'), 404);
    }
    assert.equal(backends[1]!.hits, 0);
    assert.ok(backends[0]!.hits >= 20);
  } finally {
    await p.cleanup();
    await Promise.all(backends.map((b) => b.close()));
  }
});
