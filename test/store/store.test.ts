import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelError } from '../../src/model/errors.js';
import { newId, newTencentUpstreamId, nowIso } from '../../src/model/ids.js';
import { KINDS, type Kind, type ObjectKinds } from '../../src/model/types.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Change, Store } from '../../src/store/store.js';
import { pgAvailable, pgTestStore, sqliteTestStore } from '../helpers/pg.js';

const TENANT = newId();

function sample<K extends Kind>(kind: K, over: Partial<ObjectKinds[K]> = {}): ObjectKinds[K] {
  const id = newId();
  const createdAt = nowIso();
  const base: { [P in Kind]: ObjectKinds[P] } = {
    tenant: { id, name: `t-${id}`, createdAt },
    project: { id, tenantId: TENANT, region: `r-${id}`, createdAt },
    instance: { id, name: 'i', region: 'r', isDefault: false, createdAt },
    keypair: { id, tenantId: TENANT, secretId: `AKID${id}`, secretKey: 'k', createdAt },
    token: { id, tenantId: TENANT, name: 'n', hash: id, createdAt, expiresAt: null },
    upstream: {
      id, tencentId: newTencentUpstreamId(), tenantId: TENANT, projectId: 'p', instanceId: 'i', name: `u-${id}`, description: '', scheme: 'http', strategy: 'wrr',
      port: 80, retries: 3, upstreamHost: null, tlsVerify: true, failMode: 'open', memberType: 'ip', channelType: 'builtin',
      tags: [], networkId: '', healthCheck: null, memberGroups: [], members: [], ext: {}, createdAt, updatedAt: createdAt,
    },
    route: { id, tenantId: TENANT, upstreamId: 'up-1', name: '', hosts: [], paths: ['/'], methods: [], stripPrefix: false, timeoutMs: 1000, ext: {}, createdAt, updatedAt: createdAt },
  };
  return { ...base[kind], ...over } as ObjectKinds[K];
}

function behaviour(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> } | null>) {
  describe(`store behaviour: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let skip = false;
    before(async () => {
      const s = await open();
      if (!s) { skip = true; return; }
      ({ store, cleanup } = s);
    });
    after(async () => { if (!skip) await cleanup(); });

    test('create, read, update, delete every kind, one revision per write', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      for (const kind of KINDS) {
        const r0 = await store.revision();
        const obj = sample(kind);
        await store.transact((tx) => tx.put(kind, obj));
        assert.equal(await store.revision(), r0 + 1, `${kind}: create bumps the revision once`);
        assert.deepEqual(await store.get(kind, obj.id), obj);
        const changed = { ...obj, createdAt: obj.createdAt } as ObjectKinds[typeof kind];
        (changed as { name?: string }).name = 'renamed';
        await store.transact((tx) => tx.put(kind, changed));
        assert.equal(((await store.get(kind, obj.id)) as { name?: string }).name, (changed as { name?: string }).name);
        assert.equal(await store.revision(), r0 + 2);
        assert.equal(await store.transact((tx) => tx.delete(kind, obj.id)), true);
        assert.equal(await store.get(kind, obj.id), null);
        assert.equal(await store.revision(), r0 + 3);
        assert.equal(await store.transact((tx) => tx.delete(kind, obj.id)), false, 'deleting nothing');
        assert.equal(await store.revision(), r0 + 3, 'a transaction that writes nothing does not bump');
      }
    });

    test('list filters, paging, unique lookups', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const other = newId();
      const ups = [sample('upstream'), sample('upstream'), sample('upstream', { tenantId: other })];
      const route = sample('route', { upstreamId: ups[0].id });
      await store.transact(async (tx) => { for (const u of ups) await tx.put('upstream', u); await tx.put('route', route); });
      const mine = await store.list('upstream', { tenantId: TENANT });
      assert.equal(mine.total, 2);
      const page = await store.list('upstream', { tenantId: TENANT, limit: 1, offset: 1 });
      assert.equal(page.items.length, 1);
      assert.equal(page.total, 2);
      assert.equal(page.items[0].id, mine.items[1].id);
      assert.deepEqual((await store.list('route', { upstreamId: ups[0].id })).items.map((r) => r.id), [route.id]);
      assert.equal((await store.findUnique('upstream', `${TENANT}/i/${ups[1].name}`))?.id, ups[1].id);
      assert.equal(await store.findUnique('upstream', 'nope'), null);
      const all = await store.loadAll();
      assert.equal(all.revision, await store.revision());
      assert.ok(all.objects.upstream.length >= 3);
      assert.ok(all.objects.route.some((r) => r.id === route.id));
    });

    test('changesSince and subscribers after commit', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const seen: [number, Change[]][] = [];
      const unsubscribe = store.subscribe((rev, ch) => seen.push([rev, ch]));
      const r0 = await store.revision();
      const a = sample('tenant');
      const b = sample('tenant');
      await store.transact(async (tx) => { await tx.put('tenant', a); await tx.put('tenant', b); await tx.put('tenant', { ...a, name: `${a.name}-2` }); });
      await store.transact((tx) => tx.delete('tenant', b.id));
      await assert.rejects(store.transact(async (tx) => { await tx.put('tenant', sample('tenant')); throw new Error('boom'); }), /boom/);
      const changes = await store.changesSince(r0);
      assert.deepEqual(changes.map((c) => [c.revision - r0, c.kind, c.id, c.op]), [
        [1, 'tenant', a.id, 'put'], [1, 'tenant', b.id, 'put'], [2, 'tenant', b.id, 'delete'],
      ]);
      assert.deepEqual(seen.map(([rev]) => rev - r0), [1, 2], 'told once per commit, not for the rolled-back one');
      assert.equal(seen[0][1].length, 2);
      unsubscribe();
    });

    test('a failed write changes nothing', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const taken = sample('tenant');
      await store.transact((tx) => tx.put('tenant', taken));
      const r0 = await store.revision();
      const fresh = sample('tenant');
      await assert.rejects(store.transact(async (tx) => {
        await tx.put('tenant', fresh);
        await tx.put('tenant', sample('tenant', { name: taken.name }));
      }), (err: unknown) => err instanceof ModelError && err.code === 'duplicate' && err.field === 'name');
      assert.equal(await store.get('tenant', fresh.id), null, 'the earlier put in the same transaction is gone');
      assert.equal(await store.revision(), r0);
      assert.deepEqual(await store.changesSince(r0), []);
    });

    test('concurrent writers do not lose updates', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const u = sample('upstream');
      await store.transact((tx) => tx.put('upstream', u));
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.transact(async (tx) => {
        const cur = (await tx.get('upstream', u.id))!;
        cur.members.push({ id: newId(), host: `10.0.0.${i}`, port: 80, weight: 1, backup: false, enabled: true, groupId: null, ecsId: '', ecsName: '', tags: [], ext: {}, createdAt: nowIso() });
        await tx.put('upstream', cur);
      })));
      assert.equal((await store.get('upstream', u.id))!.members.length, 20);
    });
  });
}

behaviour('sqlite', sqliteTestStore);
behaviour('postgres', async () => ((await pgAvailable()) ? pgTestStore() : null));

test('a reopened SQLite file keeps its objects and revision', async () => {
  const { store, dir, cleanup } = await sqliteTestStore();
  const t = sample('tenant');
  await store.transact((tx) => tx.put('tenant', t));
  const rev = await store.revision();
  await store.close();
  const again = SqliteStore.open(join(dir, 'sluice.db'));
  try {
    assert.equal(await again.revision(), rev);
    assert.deepEqual(await again.get('tenant', t.id), t);
  } finally {
    await again.close();
    await cleanup();
  }
});

test('PostgreSQL: a write through one node reaches the subscribers of another', async (t) => {
  if (!(await pgAvailable())) return t.skip('PostgreSQL not reachable');
  const a = await pgTestStore();
  const { PostgresStore } = await import('../../src/store/postgres.js');
  const { PG_URL } = await import('../helpers/pg.js');
  const b = await PostgresStore.open(PG_URL, { schema: a.schema });
  try {
    const got = new Promise<number>((resolve) => b.subscribe((rev) => resolve(rev)));
    await a.store.transact((tx) => tx.put('tenant', sample('tenant')));
    const rev = await Promise.race([got, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('no notification within 5 s')), 5000).unref())]);
    assert.equal(rev, await a.store.revision());
  } finally {
    await b.close();
    await a.cleanup();
  }
});
