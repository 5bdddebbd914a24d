import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId, nowIso } from '../../src/model/ids.js';
import type { HealthVerdict } from '../../src/model/health.js';
import type { NodeBeat } from '../../src/model/node.js';
import type { Store } from '../../src/store/store.js';
import { BOTH_STORES, type TestStore } from '../helpers/pg.js';

const beat = (name: string): NodeBeat => ({
  id: newId(), name, labels: { region: 'r1' }, version: '1.2.3', appliedRevision: 0, startedAt: nowIso(), heartbeatMs: 5000,
});
const verdict = (key: string, subject: string, over: Partial<HealthVerdict> = {}): HealthVerdict => ({
  key, subject, state: 'healthy', reason: 'HTTP 200 (2 in a row)', sinceMs: 1_700_000_000_123, downIps: [], ...over,
});

for (const [name, open] of BOTH_STORES) {
  describe(`health verdicts per node: ${name}`, () => {
    let s: TestStore<Store> | null = null;
    before(async () => { s = await open(); });
    after(async () => { await s?.cleanup(); });

    test('a batch upserts and drops a node\'s rows, by node; rows read whole or by subject; no revision, no change row', async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store } = s;
      await store.transact((tx) => tx.put('tenant', { id: newId(), name: `t-${newId()}`, createdAt: nowIso() }));
      const r0 = await store.revision();
      const feed0 = await store.changesSince(0);
      const a = beat('node-a');
      const b = beat('node-b');
      await store.putHealth(a.id, [verdict('u1/m1/10.0.0.1:80', 'u1'), verdict('u1/m2/10.0.0.2:80', 'u1', { state: 'unhealthy', reason: 'connect ECONNREFUSED' }),
        verdict('l4:l1/b1/example.test:53', 'l1', { state: 'unhealthy', downIps: ['10.1.0.1', '10.1.0.2'] })], []);
      await store.putHealth(b.id, [verdict('u1/m1/10.0.0.1:80', 'u1', { state: 'unhealthy', reason: 'timeout', sinceMs: 5 })], []);

      const all = await store.healthRows();
      assert.deepEqual(all.map((r) => [r.nodeId === a.id ? 'a' : 'b', r.key]).sort(), [
        ['a', 'l4:l1/b1/example.test:53'], ['a', 'u1/m1/10.0.0.1:80'], ['a', 'u1/m2/10.0.0.2:80'], ['b', 'u1/m1/10.0.0.1:80'],
      ]);
      assert.deepEqual((await store.healthRows('l1')), [{ nodeId: a.id, ...verdict('l4:l1/b1/example.test:53', 'l1', { state: 'unhealthy', downIps: ['10.1.0.1', '10.1.0.2'] }) }],
        'every field comes back as written (the since, a BIGINT, as a number)');
      assert.equal((await store.healthRows('u1')).length, 3);
      assert.deepEqual(await store.healthRows('nothing'), []);

      // The next batch of a: one verdict changes, one is no longer held, one is new.
      await store.putHealth(a.id, [verdict('u1/m2/10.0.0.2:80', 'u1', { reason: 'HTTP 200 (1 in a row)', sinceMs: 9 }), verdict('u2/m9/10.0.0.9:80', 'u2')], ['u1/m1/10.0.0.1:80', 'not-there']);
      const u1 = await store.healthRows('u1');
      assert.deepEqual(u1.map((r) => [r.nodeId === a.id ? 'a' : 'b', r.key, r.state, r.sinceMs]).sort(), [
        ['a', 'u1/m2/10.0.0.2:80', 'healthy', 9], ['b', 'u1/m1/10.0.0.1:80', 'unhealthy', 5],
      ], 'a\'s dropped key is gone, b\'s row of the same key stays');
      assert.equal((await store.healthRows('u2')).length, 1);
      await store.putHealth(a.id, [], []);

      assert.equal(await store.revision(), r0, 'verdicts bump no revision');
      assert.deepEqual(await store.changesSince(0), feed0, 'and write no change row');
    });

    test('forgetNode drops the node\'s verdicts with its registry row, and only its own', async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store } = s;
      const a = beat('node-a');
      const b = beat('node-b');
      await store.heartbeat(a);
      await store.heartbeat(b);
      await store.putHealth(a.id, [verdict('u3/m1/10.0.0.1:80', 'u3')], []);
      await store.putHealth(b.id, [verdict('u3/m1/10.0.0.1:80', 'u3')], []);
      assert.equal(await store.forgetNode(a.id), true);
      assert.deepEqual((await store.healthRows('u3')).map((r) => r.nodeId), [b.id]);
      // A node that left without a registry row (never beat) still loses its verdicts.
      const ghost = newId();
      await store.putHealth(ghost, [verdict('u3/m2/10.0.0.2:80', 'u3')], []);
      assert.equal(await store.forgetNode(ghost), false);
      assert.deepEqual((await store.healthRows('u3')).map((r) => r.nodeId), [b.id]);
      await store.forgetNode(b.id);
      assert.deepEqual(await store.healthRows('u3'), []);
    });

    test('a batch is all or nothing: a bad row leaves the node\'s earlier rows as they were', async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store } = s;
      const a = newId();
      await store.putHealth(a, [verdict('u4/m1/10.0.0.1:80', 'u4')], []);
      // since_ms NOT NULL: a verdict without one is refused by the database, with the rest of its batch.
      const bad = { ...verdict('u4/m2/10.0.0.2:80', 'u4'), sinceMs: null as unknown as number };
      await assert.rejects(store.putHealth(a, [verdict('u4/m3/10.0.0.3:80', 'u4'), bad], ['u4/m1/10.0.0.1:80']));
      assert.deepEqual((await store.healthRows('u4')).map((r) => r.key), ['u4/m1/10.0.0.1:80']);
      await store.forgetNode(a);
    });
  });
}
