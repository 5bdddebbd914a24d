import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId, nowIso } from '../../src/model/ids.js';
import type { Store } from '../../src/store/store.js';
import { BOTH_STORES, type TestStore } from '../helpers/pg.js';

const tenant = () => ({ id: newId(), name: `t-${newId()}`, createdAt: nowIso() });
const instance = () => ({ id: newId(), name: `i-${newId()}`, region: 'r', isDefault: false, createdAt: nowIso() });

for (const [name, open] of BOTH_STORES) {
  describe(`change feed reads and pruning: ${name}`, () => {
    let s: TestStore<Store> | null = null;
    before(async () => { s = await open(); });
    after(async () => { await s?.cleanup(); });

    test('readSince returns the rows after a revision and the current documents of the kinds asked for', async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store } = s;
      const r0 = await store.revision();
      const i1 = instance();
      const i2 = instance();
      await store.transact(async (tx) => { await tx.put('instance', i1); await tx.put('instance', i2); });
      await store.transact(async (tx) => { await tx.put('instance', { ...i1, name: 'renamed' }); await tx.delete('instance', i2.id); });
      await store.transact((tx) => tx.put('tenant', tenant()));
      const read = await store.readSince(r0, ['instance']);
      assert.equal(read.complete, true);
      assert.equal(read.revision, r0 + 3);
      assert.deepEqual(read.changes.map((c) => [c.revision - r0, c.kind, c.op]), [
        [1, 'instance', 'put'], [1, 'instance', 'put'], [2, 'instance', 'put'], [2, 'instance', 'delete'], [3, 'tenant', 'put'],
      ]);
      const docs = new Map(read.objects.map((o) => [o.id, o]));
      assert.equal(read.objects.length, 2, 'each changed object once; the tenant not asked for');
      assert.equal((docs.get(i1.id)!.doc as { name: string }).name, 'renamed', 'as it is now');
      assert.equal(docs.get(i2.id)!.doc, null, 'deleted');
      const none = await store.readSince(r0 + 3, ['instance']);
      assert.deepEqual({ ...none, prunedThrough: 0 }, { revision: r0 + 3, prunedThrough: 0, complete: true, changes: [], objects: [] });
    });

    test('prune raises the floor (never lowers it, never past the revision), drops the rows at or below it, keeps the rest, bumps no revision', async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store } = s;
      const r0 = await store.revision();
      for (let i = 0; i < 4; i++) await store.transact((tx) => tx.put('tenant', tenant()));
      assert.equal(await store.prune(r0 + 2), r0 + 2);
      assert.equal(await store.revision(), r0 + 4, 'no revision');
      assert.deepEqual((await store.changesSince(0)).map((c) => c.revision), [r0 + 3, r0 + 4], 'rows above the floor kept');
      assert.equal(await store.prune(r0 + 1), r0 + 2, 'never lowered');
      assert.equal((await store.changesSince(0)).length, 2);

      const behind = await store.readSince(r0 + 1, ['tenant']);
      assert.deepEqual({ complete: behind.complete, prunedThrough: behind.prunedThrough, changes: behind.changes }, { complete: false, prunedThrough: r0 + 2, changes: [] }, 'a reader behind the floor is told to reload');
      const at = await store.readSince(r0 + 2, ['tenant']);
      assert.equal(at.complete, true);
      assert.deepEqual(at.changes.map((c) => c.revision), [r0 + 3, r0 + 4]);

      assert.equal(await store.prune(r0 + 1000), r0 + 4, 'capped at the current revision');
      assert.deepEqual(await store.changesSince(0), []);
      await store.transact((tx) => tx.put('tenant', tenant()));
      const next = await store.readSince(r0 + 4, ['tenant']);
      assert.equal(next.complete, true, 'a reader at the floor goes on from the feed');
      assert.deepEqual(next.changes.map((c) => c.revision), [r0 + 5]);
    });
  });
}
