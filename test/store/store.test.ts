import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from '../../src/model/errors.js';
import { newId, newTencentUpstreamId, nowIso } from '../../src/model/ids.js';
import { KIND_DESCRIPTORS, type KindDescriptor, type KindRegistry } from '../../src/model/kinds.js';
import { KINDS, type Kind, type ObjectKinds } from '../../src/model/types.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Change, Store, Tx } from '../../src/store/store.js';
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
    l4Region: { id, name: 'r', access: true, origin: true, bandwidths: [10], concurrencies: [2], pool: ['127.0.0.1'], ext: {}, createdAt, updatedAt: createdAt },
    connectionGroup: {
      id, tenantId: TENANT, cloudProjectId: 0, name: 'g', originRegion: 'r', ipVersion: 'IPv4', packageType: 'Thunder', tags: [], lifecycle: 'active',
      ext: {}, createdAt, updatedAt: createdAt,
    },
    proxy: {
      id, tenantId: TENANT, cloudProjectId: 0, name: 'p', groupId: null, accessRegion: 'r', originRegion: 'r', bandwidth: 10, concurrent: 2, status: 'RUNNING',
      address: '127.0.0.1', ipVersion: 'IPv4', networkType: 'normal', packageType: 'Thunder', billingType: 0, tags: [], clientToken: `ct-${id}`, clonedFrom: null,
      configChangedAt: null, ext: {}, createdAt, updatedAt: createdAt,
    },
    streamListener: {
      id, tenantId: TENANT, proxyId: 'link-1', groupId: null, holderId: 'link-1', name: 'l', protocol: 'tcp', port: 80, scheduler: 'rr', originType: 'ip',
      healthCheck: false, delayLoop: 5, connectTimeout: 2, healthyThreshold: 1, unhealthyThreshold: 1, clientIp: 'toa', failover: false, udpCheck: null,
      sessionPersist: 0, status: 'running', ext: {}, createdAt, updatedAt: createdAt,
    },
    origin: { id, tenantId: TENANT, cloudProjectId: 0, address: `o-${id}.example`, type: 'domain', name: 'o', tags: [], ext: {}, createdAt, updatedAt: createdAt },
    originBinding: { id, tenantId: TENANT, listenerId: 'listener-1', originId: 'rs-1', port: 80, weight: 1, role: null, createdAt },
  };
  return { ...base[kind], ...over } as ObjectKinds[K];
}

/**
 * A kind the model does not have, known to the store only through its descriptor: what a new
 * kind (a proxy under a connection group, a listener under a proxy) amounts to for store/.
 */
interface Widget { id: string; tenantId: string; routeId: string; label: string; createdAt: string }
const WIDGET = 'widget' as Kind;
const widgetDescriptor: KindDescriptor<Widget> = {
  unique: { field: 'label', key: (w) => `${w.tenantId}/${w.label}` },
  owner: (w) => w.tenantId,
  parent: { kind: 'route', field: 'routeId' },
};
const TEST_KINDS: KindRegistry = { ...KIND_DESCRIPTORS, widget: widgetDescriptor };
const widget = (over: Partial<Widget> = {}): Widget => ({ id: newId(), tenantId: TENANT, routeId: 'r-1', label: `w-${newId()}`, createdAt: nowIso(), ...over });
const putWidget = (tx: Tx, w: Widget) => tx.put(WIDGET, w as never);

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
      assert.deepEqual((await store.list('route', { parentId: ups[0].id })).items.map((r) => r.id), [route.id]);
      assert.equal((await store.findUnique('upstream', `${TENANT}/i/${ups[1].name}`))?.id, ups[1].id);
      assert.equal(await store.findUnique('upstream', 'nope'), null);
      const all = await store.loadAll();
      assert.equal(all.revision, await store.revision());
      assert.ok(all.objects.upstream.length >= 3);
      assert.ok(all.objects.route.some((r) => r.id === route.id));
    });

    test('parent queries: the children of one parent, with owner and paging; a re-parented child moves', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const [a, b] = [sample('upstream'), sample('upstream')];
      // Lists are in creation order: distinct instants make it the order written here.
      const at = (i: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString();
      const ra = [
        sample('route', { upstreamId: a.id, createdAt: at(1) }), sample('route', { upstreamId: a.id, createdAt: at(2) }),
        sample('route', { upstreamId: a.id, tenantId: newId(), createdAt: at(3) }),
      ];
      const rb = sample('route', { upstreamId: b.id, createdAt: at(4) });
      await store.transact(async (tx) => {
        for (const u of [a, b]) await tx.put('upstream', u);
        for (const r of [...ra, rb]) await tx.put('route', r);
      });
      const ids = async (q: Parameters<Store['list']>[1]) => (await store.list('route', q)).items.map((r) => r.id);
      assert.deepEqual(await ids({ parentId: a.id }), ra.map((r) => r.id));
      assert.deepEqual(await ids({ parentId: b.id }), [rb.id]);
      assert.deepEqual(await ids({ parentId: a.id, tenantId: TENANT }), [ra[0].id, ra[1].id], 'parent and owner together');
      const page = await store.list('route', { parentId: a.id, limit: 1, offset: 2 });
      assert.deepEqual([page.items.map((r) => r.id), page.total], [[ra[2].id], 3]);
      assert.equal((await store.list('upstream', { parentId: a.id })).total, 0, 'a kind without a parent has no children');
      await store.transact(async (tx) => {
        await tx.put('route', { ...ra[0], upstreamId: b.id });
        assert.deepEqual((await tx.list('route', { parentId: b.id })).items.map((r) => r.id), [ra[0].id, rb.id], 'seen inside the transaction');
      });
      assert.deepEqual(await ids({ parentId: a.id }), [ra[1].id, ra[2].id]);
      assert.deepEqual(await ids({ parentId: b.id }), [ra[0].id, rb.id]);
    });

    test('a kind known only through its descriptor: stored, indexed by owner, parent and unique key, in the feed', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const r0 = await store.revision();
      const at = (i: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString();
      const w1 = widget({ routeId: 'route-a', createdAt: at(1) });
      const w2 = widget({ routeId: 'route-a', tenantId: newId(), createdAt: at(2) });
      const w3 = widget({ routeId: 'route-b', createdAt: at(3) });
      await store.transact(async (tx) => { for (const w of [w1, w2, w3]) await putWidget(tx, w); });
      assert.deepEqual(await store.get(WIDGET, w1.id), w1);
      const ids = async (q: Parameters<Store['list']>[1]) => (await store.list(WIDGET, q)).items.map((w) => w.id);
      assert.deepEqual(await ids({ parentId: 'route-a' }), [w1.id, w2.id]);
      assert.deepEqual(await ids({ parentId: 'route-a', tenantId: TENANT }), [w1.id]);
      assert.deepEqual(await ids({ tenantId: TENANT }), [w1.id, w3.id]);
      assert.equal((await store.findUnique(WIDGET, `${TENANT}/${w3.label}`))?.id, w3.id);
      await assert.rejects(store.transact((tx) => putWidget(tx, widget({ label: w1.label }))),
        (err: unknown) => err instanceof ModelError && err.code === 'duplicate' && err.field === 'label');
      const elsewhere = widget({ label: w1.label, tenantId: newId() });
      await store.transact((tx) => putWidget(tx, elsewhere));
      assert.equal((await store.findUnique(WIDGET, `${elsewhere.tenantId}/${w1.label}`))?.id, elsewhere.id, 'the same label under another owner');
      assert.equal(await store.transact((tx) => tx.delete(WIDGET, w3.id)), true);
      assert.deepEqual((await store.changesSince(r0)).map((c) => [c.revision - r0, c.kind, c.op]), [
        [1, 'widget', 'put'], [1, 'widget', 'put'], [1, 'widget', 'put'], [2, 'widget', 'put'], [3, 'widget', 'delete'],
      ]);
      const all = (await store.loadAll()).objects as unknown as Record<string, Widget[]>;
      assert.ok(all.widget.some((w) => w.id === w1.id) && !all.widget.some((w) => w.id === w3.id), 'loadAll holds every kind the descriptors name');
    });

    test('a kind with no descriptor is refused and changes nothing', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const r0 = await store.revision();
      const tenant = sample('tenant');
      await assert.rejects(store.transact(async (tx) => {
        await tx.put('tenant', tenant);
        await tx.put('gadget' as Kind, widget() as never);
      }), /unknown kind "gadget"/);
      assert.equal(await store.get('tenant', tenant.id), null);
      assert.equal(await store.revision(), r0);
      await assert.rejects(store.list('toString' as Kind), /unknown kind "toString"/, 'no lookup on Object.prototype');
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

behaviour('sqlite', () => sqliteTestStore({ kinds: TEST_KINDS }));
behaviour('postgres', async () => ((await pgAvailable()) ? pgTestStore(undefined, { kinds: TEST_KINDS }) : null));

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

test('a registry whose parent names no kind is refused when the store opens', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-kinds-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const orphan: KindDescriptor<Widget> = { ...widgetDescriptor, parent: { kind: 'gadget' as Kind, field: 'routeId' } };
  assert.throws(() => SqliteStore.open(join(dir, 'sluice.db'), { kinds: { ...KIND_DESCRIPTORS, widget: orphan } }), /kind "widget" hangs under "gadget", which is not a kind/);
  if (!(await pgAvailable())) return;
  const { PostgresStore } = await import('../../src/store/postgres.js');
  const { PG_URL } = await import('../helpers/pg.js');
  await assert.rejects(PostgresStore.open(PG_URL, { schema: 'sluice_never_made', kinds: { ...KIND_DESCRIPTORS, widget: orphan } }), /hangs under "gadget"/);
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
