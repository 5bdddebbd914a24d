import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ModelError } from '../../src/model/errors.js';
import { derivedTencentUpstreamId } from '../../src/model/ids.js';
import type { Upstream } from '../../src/model/types.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { PG_URL, pgAvailable } from '../helpers/pg.js';
import { v1Data, writeV1Postgres, writeV1Sqlite, type V1Data } from '../helpers/v1-store.js';

const TENCENT_ID = /^upstream-[a-z0-9]{8}$/;

/** A backend that writes a schema-1 store and opens it with today's code. */
interface Backend {
  name: string;
  available(): Promise<boolean>;
  /** Writes `data` as the previous release would have, then opens it with the current store. */
  upgrade(data: V1Data): Promise<{ store: Store; reopen(): Promise<Store> }>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dirs: string[] = [];
  return {
    name: 'SQLite',
    available: async () => true,
    async upgrade(data) {
      const dir = await mkdtemp(join(tmpdir(), 'sluice-v1-'));
      dirs.push(dir);
      const file = join(dir, 'sluice.db');
      writeV1Sqlite(file, data);
      return { store: SqliteStore.open(file), reopen: async () => SqliteStore.open(file) };
    },
    async cleanup() { for (const d of dirs) await rm(d, { recursive: true, force: true }); },
  };
}

function postgresBackend(): Backend {
  const schemas: string[] = [];
  return {
    name: 'PostgreSQL',
    available: pgAvailable,
    async upgrade(data) {
      const schema = `sluice_test_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      await writeV1Postgres(schema, data);
      return { store: await PostgresStore.open(PG_URL, { schema }), reopen: () => PostgresStore.open(PG_URL, { schema }) };
    },
    async cleanup() {
      if (schemas.length === 0) return;
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await c.end();
    },
  };
}

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe(`Tencent ids in the store: ${backend.name}`, () => {
    after(() => backend.cleanup());

    test('upstreams stored by the previous release get distinct Tencent ids on upgrade, found by alias; the rest is untouched', async (t) => {
      if (!(await backend.available())) return t.skip('PostgreSQL not reachable');
      const data = v1Data('ap-old', 8080, 3);
      const { store, reopen } = await backend.upgrade(data);
      let ids: string[];
      try {
        assert.equal(await store.revision(), 1, 'the upgrade is no write of its own');
        const ups = await Promise.all(data.upstreamIds.map(async (id) => (await store.get('upstream', id))!));
        ids = ups.map((u) => u.tencentId);
        for (const id of ids) assert.match(id, TENCENT_ID);
        assert.equal(new Set(ids).size, ids.length, 'distinct');
        for (const u of ups) {
          assert.equal((await store.findAlias('upstream', u.tencentId))?.id, u.id);
          assert.equal(u.description, 'written by the previous release', 'the document is otherwise as it was');
        }
        assert.equal((await store.findUnique('keypair', data.secretId))?.tenantId, data.tenantId);
        assert.equal((await store.findUnique('upstream', `${data.tenantId}/${data.instanceId}/old-1`))?.id, data.upstreamIds[1]);
        assert.equal(await store.findAlias('upstream', 'upstream-zzzzzzzz'), null);
      } finally {
        await store.close();
      }
      const again = await reopen();
      try {
        const after = await Promise.all(data.upstreamIds.map(async (id) => (await again.get('upstream', id))!.tencentId));
        assert.deepEqual(after, ids, 'reopening keeps them');
      } finally {
        await again.close();
      }
    });

    test('a Tencent id already in a document is kept, and a derived one steps past it', async (t) => {
      if (!(await backend.available())) return t.skip('PostgreSQL not reachable');
      const data = v1Data('ap-clash', 8080, 2);
      const [first, second] = data.objects.filter((o) => o.kind === 'upstream').map((o) => o.obj as Upstream);
      // The first already carries the id the second would be derived.
      first!.tencentId = derivedTencentUpstreamId(second!.id);
      const { store } = await backend.upgrade(data);
      try {
        assert.equal((await store.get('upstream', first!.id))!.tencentId, first!.tencentId);
        const other = (await store.get('upstream', second!.id))!.tencentId;
        assert.match(other, TENCENT_ID);
        assert.notEqual(other, first!.tencentId);
        assert.equal((await store.findAlias('upstream', other))?.id, second!.id);
      } finally {
        await store.close();
      }
    });

    test('a Tencent id is unique across the store: another upstream cannot take it, its own may keep it', async (t) => {
      if (!(await backend.available())) return t.skip('PostgreSQL not reachable');
      const data = v1Data('ap-unique', 8080, 2);
      const { store } = await backend.upgrade(data);
      try {
        const [a, b] = await Promise.all(data.upstreamIds.map(async (id) => (await store.get('upstream', id))!));
        const r0 = await store.revision();
        await assert.rejects(store.transact((tx) => tx.put('upstream', { ...b!, tencentId: a!.tencentId })), (err: ModelError) => {
          assert.ok(err instanceof ModelError);
          assert.equal(err.code, 'duplicate');
          assert.equal(err.field, 'tencentId');
          return true;
        });
        assert.equal(await store.revision(), r0, 'nothing written');
        await store.transact((tx) => tx.put('upstream', { ...a!, description: 'changed' }));
        assert.equal((await store.findAlias('upstream', a!.tencentId))?.description, 'changed');
        // Inside a transaction too, a deleted upstream's alias is gone with it.
        await store.transact(async (tx) => {
          assert.equal((await tx.findAlias('upstream', b!.tencentId))?.id, b!.id);
          await tx.delete('upstream', b!.id);
          assert.equal(await tx.findAlias('upstream', b!.tencentId), null);
        });
      } finally {
        await store.close();
      }
    });
  });
}
