import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { members, startBackends, type Backend } from '../helpers/backends.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { pgAvailable, pgTarget, pgTestSchema, pgUrlVia } from '../helpers/pg.js';
import { derivedTencentUpstreamId, newId, nowIso } from '../../src/model/ids.js';
import type { Upstream } from '../../src/model/types.js';

// The follower applies each revision as a delta: what changed is re-planned, the rest of
// the snapshot is the same objects. Through a whole gateway on each store.
const STORES: [string, () => Promise<{ extra: { storeUrl?: string }; drop(): Promise<void> } | null>][] = [
  ['sqlite', async () => ({ extra: {}, drop: async () => {} })],
  ['postgres', async () => {
    if (!(await pgAvailable())) return null;
    const { schema, drop } = await pgTestSchema();
    return { extra: { storeUrl: pgUrlVia(pgTarget().port, schema) }, drop };
  }],
];

for (const [name, open] of STORES) {
  describe(`incremental follower: ${name}`, () => {
    let gw: TestGateway | null = null;
    let drop = async () => {};
    let backends: Backend[] = [];

    before(async () => {
      const o = await open();
      if (!o) return;
      drop = o.drop;
      gw = await startTestGateway(o.extra);
      backends = await startBackends(['a', 'b', 'c']);
    });
    after(async () => {
      await gw?.close();
      await drop();
      await Promise.all(backends.map((b) => b.close()));
    });

    async function send(host: string): Promise<{ status: number; name: string | null }> {
      const res = await request(`${gw!.proxyUrl}/`, { headers: { host } });
      const text = await res.body.text();
      return { status: res.statusCode, name: res.statusCode === 200 ? (JSON.parse(text) as { name: string }).name : null };
    }

    test('creates, updates and deletes of upstreams and routes reach traffic; only what changed is re-planned', async (t) => {
      if (!gw) return t.skip('PostgreSQL not reachable');
      const [a, b, c] = backends as [Backend, Backend, Backend];
      const one = await gw.expose({ members: members([a]) }, { hosts: ['one.test'] });
      const two = await gw.expose({ members: members([b]) }, { hosts: ['two.test'] });
      assert.deepEqual(await send('one.test'), { status: 200, name: 'a' });
      assert.deepEqual(await send('two.test'), { status: 200, name: 'b' });

      const before = gw.sluice.runtime.snapshot;
      const planOne = before.upstreams.get(one.id)!;
      const planTwo = before.upstreams.get(two.id)!;
      const put = await gw.api('PUT', `/v1/upstreams/${one.id}/members`, { members: members([c]) });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      await gw.settled();
      const after1 = gw.sluice.runtime.snapshot;
      assert.notEqual(after1, before, 'a new snapshot');
      assert.deepEqual([...after1.changed!], [one.id], 'only the changed upstream re-planned');
      assert.equal(after1.router, before.router, 'no route changed: the router is kept');
      assert.equal(after1.upstreams.get(two.id), planTwo, 'the unchanged upstream keeps its plan');
      assert.equal(after1.upstreams.get(two.id)!.balancer, planTwo.balancer, '...and its balancer');
      assert.notEqual(after1.upstreams.get(one.id), planOne, 'the changed one has a new plan');
      assert.notEqual(after1.upstreams.get(one.id)!.balancer, planOne.balancer);
      // Its route, compiled before, serves the re-planned members.
      for (let i = 0; i < 4; i++) assert.deepEqual(await send('one.test'), { status: 200, name: 'c' });
      // No other traffic moved.
      assert.deepEqual(await send('two.test'), { status: 200, name: 'b' });

      // A new route on an existing upstream rebuilds the router; deleting it, again.
      const extra = await gw.api('POST', '/v1/routes', { upstreamId: two.id, hosts: ['three.test'] });
      assert.equal(extra.status, 201);
      await gw.settled();
      assert.notEqual(gw.sluice.runtime.snapshot.router, after1.router);
      assert.deepEqual(await send('three.test'), { status: 200, name: 'b' });
      assert.equal((await gw.api('DELETE', `/v1/routes/${extra.body.id}`)).status, 204);
      await gw.settled();
      assert.equal((await send('three.test')).status, 404);
      assert.deepEqual(await send('two.test'), { status: 200, name: 'b' });

      // Deleting an upstream (its routes first, as the API asks) removes its plan.
      const routes = await gw.sluice.store.list('route', { parentId: two.id });
      for (const r of routes.items) assert.equal((await gw.api('DELETE', `/v1/routes/${r.id}`)).status, 204);
      assert.equal((await gw.api('DELETE', `/v1/upstreams/${two.id}`)).status, 204);
      await gw.settled();
      assert.equal(gw.sluice.runtime.snapshot.upstreams.has(two.id), false);
      assert.equal((await send('two.test')).status, 404);
      assert.deepEqual(await send('one.test'), { status: 200, name: 'c' });
    });

    test('a reference channel follows a change of the channel it references', async (t) => {
      if (!gw) return t.skip('PostgreSQL not reachable');
      const [a, b] = backends as [Backend, Backend];
      const target = await gw.expose({ members: members([a]) }, { hosts: ['target.test'] });
      // Written straight into the store: the operator API makes no reference channels.
      const stored = (await gw.sluice.store.get('upstream', target.id))!;
      const refId = newId();
      const now = nowIso();
      const ref: Upstream = {
        ...stored, id: refId, name: `ref-${refId}`, tencentId: derivedTencentUpstreamId(refId, 0), channelType: 'reference', members: [], createdAt: now, updatedAt: now,
        memberGroups: [{ id: 'g1', name: 'g1', weight: null, remark: '', referenceUpstreamId: target.id, microserviceVersion: '', microservicePort: 0, microserviceLabels: [], ext: {}, createdAt: now, updatedAt: now }],
      };
      await gw.sluice.store.transact(async (tx) => {
        await tx.put('upstream', ref);
        await tx.put('route', { ...(await tx.list('route', { parentId: target.id })).items[0]!, id: newId(), upstreamId: refId, hosts: ['ref.test'], createdAt: now });
      });
      await gw.settled();
      assert.deepEqual(await send('ref.test'), { status: 200, name: 'a' });
      const refPlan = gw.sluice.runtime.snapshot.upstreams.get(refId)!;

      assert.equal((await gw.api('PUT', `/v1/upstreams/${target.id}/members`, { members: members([b]) })).status, 200);
      await gw.settled();
      const s = gw.sluice.runtime.snapshot;
      assert.deepEqual([...s.changed!].sort(), [target.id, refId].sort(), 'the referencing channel is re-planned with it');
      assert.notEqual(s.upstreams.get(refId), refPlan);
      for (let i = 0; i < 3; i++) assert.deepEqual(await send('ref.test'), { status: 200, name: 'b' });
    });

    test('a write of another kind (a key pair) moves the revision and re-plans nothing', async (t) => {
      if (!gw) return t.skip('PostgreSQL not reachable');
      const before = gw.sluice.runtime.snapshot;
      const key = await gw.api('POST', `/v1/tenants/${gw.tenantId}/keys`, {});
      assert.equal(key.status, 201, JSON.stringify(key.body));
      await gw.settled();
      const s = gw.sluice.runtime.snapshot;
      assert.ok(s.revision > before.revision, 'the revision advanced');
      assert.equal(s.changed!.size, 0);
      assert.equal(s.upstreams, before.upstreams, 'the very same upstream plans');
      assert.equal(s.router, before.router, 'and router');
    });
  });
}
