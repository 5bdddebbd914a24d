import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { request } from 'undici';
import { newId, nowIso } from '../../src/model/ids.js';
import { KINDS, type Route, type Upstream } from '../../src/model/types.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { migratePostgres, migrateSqlite } from '../../src/store/migrations.js';
import type { Store } from '../../src/store/store.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startTestGateway } from '../helpers/gateway.js';
import { PG_URL, pgAvailable, pgTestSchema } from '../helpers/pg.js';

// Data written by the release before generic parent columns (schema version 1, an
// `upstream_id` column): test/fixtures/make-store-v1.ts made these files with that code.
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'store-v1');

interface Made {
  revision: number;
  ids: Record<string, string[]>;
  named: { tenant: string; keypair: string; secretId: string; token: string; project: string; instance: string; web: string; api: string; route: string };
  route: { host: string; path: string };
  upstreamWeb: Upstream;
}

const manifest = async (): Promise<{ sqlite: Made; postgres: Made }> => JSON.parse(await readFile(join(FIXTURES, 'manifest.json'), 'utf8'));

/** Every object the old release wrote is there, found by id, by owner, by parent and by unique key. */
async function findsEverything(store: Store, m: Made): Promise<void> {
  assert.equal(await store.revision(), m.revision, 'the revision survives');
  const all = await store.loadAll();
  for (const kind of KINDS) {
    // Kinds added after the fixture was made hold nothing yet.
    assert.deepEqual(all.objects[kind].map((o) => o.id).sort(), m.ids[kind] ?? [], `every ${kind}`);
    for (const id of m.ids[kind] ?? []) assert.equal((await store.get(kind, id))?.id, id, `${kind} ${id} by id`);
  }
  // The upgrade gives every upstream a Tencent id (migration 3); the rest is as it was.
  const { tencentId, ...web } = (await store.get('upstream', m.named.web))!;
  assert.match(tencentId ?? '', /^upstream-[a-z0-9]{8}$/, 'a Tencent id was assigned');
  assert.equal((await store.findAlias('upstream', tencentId!))?.id, m.named.web, 'found by it');
  assert.deepEqual(web, m.upstreamWeb, 'members, group and health check intact');
  assert.deepEqual((await store.list('route', { parentId: m.named.web })).items.map((r) => r.id), [m.named.route], 'the route under its upstream');
  assert.equal((await store.list('route', { parentId: m.named.api })).total, 0);
  assert.equal((await store.list('upstream', { tenantId: m.named.tenant })).total, 2);
  assert.equal((await store.findUnique('keypair', m.named.secretId))?.id, m.named.keypair);
  assert.equal((await store.findUnique('upstream', `${m.named.tenant}/${m.named.instance}/fixture-web`))?.id, m.named.web);
  assert.equal((await store.changesSince(0)).at(-1)?.revision, m.revision, 'the change feed survives');

  // And it takes new writes under the new columns.
  const at = nowIso();
  const route: Route = {
    id: newId(), tenantId: m.named.tenant, upstreamId: m.named.api, name: 'after-migration', hosts: [], paths: ['/after'],
    methods: [], stripPrefix: false, timeoutMs: 1000, ext: {}, createdAt: at, updatedAt: at,
  };
  await store.transact((tx) => tx.put('route', route));
  assert.equal(await store.revision(), m.revision + 1);
  assert.deepEqual((await store.list('route', { parentId: m.named.api })).items, [route]);
}

/** Through a whole gateway on the migrated store: the fixture's route is served. */
async function servesTheRoute(opts: { dataDir: string; storeUrl?: string }, m: Made, backend: Backend): Promise<void> {
  const gw = await startTestGateway(opts);
  try {
    assert.equal((await gw.api('GET', `/v1/routes/${m.named.route}`)).body.upstreamId, m.named.web);
    const send = async (host: string) => {
      const res = await request(gw.proxyUrl + m.route.path, { headers: { host } });
      await res.body.text();
      return res.statusCode;
    };
    assert.equal(await send('elsewhere.example'), 404, 'another host matches no route');
    // The fixture's members listen nowhere: the route is matched, its upstream found, the member refuses.
    assert.equal(await send(m.route.host), 502);
    const put = await gw.api('PUT', `/v1/upstreams/${m.named.web}/members`, { members: [{ host: '127.0.0.1', port: backend.port }] });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await gw.settled();
    assert.equal(await send(m.route.host), 200);
    assert.ok(backend.hits > 0, 'the backend got the request');
  } finally {
    await gw.close();
  }
}

async function sqliteColumns(file: string): Promise<string[]> {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('PRAGMA table_info(objects)').all() as { name: string }[]).map((c) => c.name);
  } finally {
    db.close();
  }
}

async function pgColumns(schema: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const r = await c.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'objects'", [schema]);
    return r.rows.map((x) => x.column_name);
  } finally {
    await c.end();
  }
}

function assertMigrated(columns: string[]): void {
  assert.ok(columns.includes('parent_id') && !columns.includes('upstream_id'), `columns: ${columns.join(', ')}`);
}

describe('a SQLite data directory written by the previous release', () => {
  let backend: Backend;
  let m: Made;
  const dirs: string[] = [];
  /** A fresh copy of the fixture for each test: each migrates it itself. */
  const copy = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-migrate-'));
    dirs.push(dir);
    await copyFile(join(FIXTURES, 'sluice.db'), join(dir, 'sluice.db'));
    return dir;
  };
  before(async () => {
    m = (await manifest()).sqlite;
    backend = await startBackend('migrated');
  });
  after(async () => {
    await backend.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('opens with the new store, migrated to parent_id, and keeps every object', async () => {
    const dir = await copy();
    const store = SqliteStore.open(join(dir, 'sluice.db'));
    try {
      await findsEverything(store, m);
    } finally {
      await store.close();
    }
    assertMigrated(await sqliteColumns(join(dir, 'sluice.db')));
  });

  test('a gateway on that data directory migrates it and serves the route', async () => {
    const dir = await copy();
    await servesTheRoute({ dataDir: dir }, m, backend);
    assertMigrated(await sqliteColumns(join(dir, 'sluice.db')));
  });
});

describe('a PostgreSQL schema written by the previous release', () => {
  let skip = false;
  let backend: Backend;
  let m: Made;
  const drops: (() => Promise<void>)[] = [];
  /** A private schema holding the fixture's dump, for each test. */
  const load = async () => {
    const { schema, drop } = await pgTestSchema();
    drops.push(drop);
    // The dump creates its own schema: make room for it under the private name.
    await drop();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await c.query((await readFile(join(FIXTURES, 'postgres.sql'), 'utf8')).replaceAll('__SCHEMA__', schema));
    } finally {
      await c.end();
    }
    return schema;
  };
  before(async () => {
    if (!(await pgAvailable())) { skip = true; return; }
    m = (await manifest()).postgres;
    backend = await startBackend('migrated-pg');
  });
  after(async () => {
    if (skip) return;
    await backend.close();
    for (const d of drops) await d();
  });

  test('opens with the new store, migrated to parent_id, and keeps every object', async (t) => {
    if (skip) return t.skip('PostgreSQL not reachable');
    const schema = await load();
    const store = await PostgresStore.open(PG_URL, { schema });
    try {
      await findsEverything(store, m);
    } finally {
      await store.close();
    }
    assertMigrated(await pgColumns(schema));
  });

  test('a gateway on that schema migrates it and serves the route', async (t) => {
    if (skip) return t.skip('PostgreSQL not reachable');
    const schema = await load();
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const dataDir = await mkdtemp(join(tmpdir(), 'sluice-migrate-pg-'));
    try {
      await servesTheRoute({ dataDir, storeUrl: url.toString() }, m, backend);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    assertMigrated(await pgColumns(schema));
  });
});

// Rolling upgrades: while nodes of the previous release still run, a newer node has migrated
// the schema. Every step is additive (new tables and columns, nothing renamed or dropped while
// an older release may read it), and an older release's runner skips versions it does not know.
describe('an older release on a schema a newer one migrated', () => {
  const OLDER = 4;

  test('SQLite: the older runner changes nothing and the store still reads and writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-rolling-'));
    try {
      const file = join(dir, 'sluice.db');
      const store = SqliteStore.open(file);
      await store.close();
      const db = new Database(file);
      const before = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
      migrateSqlite(db, OLDER);
      assert.deepEqual(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all(), before);
      assert.ok(before.length > OLDER, 'the current release has steps the older one does not know');
      db.close();
      const again = SqliteStore.open(file);
      try {
        await again.transact((tx) => tx.put('tenant', { id: newId(), name: 'after-rolling', createdAt: nowIso() }));
        assert.equal(await again.revision(), 1);
      } finally {
        await again.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL: the older runner changes nothing', async (t) => {
    if (!(await pgAvailable())) return t.skip('PostgreSQL not reachable');
    const { schema, drop } = await pgTestSchema();
    try {
      const store = await PostgresStore.open(PG_URL, { schema });
      await store.close();
      const url = new URL(PG_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        const versions = async () => (await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
        const before = await versions();
        await migratePostgres(c, OLDER);
        assert.deepEqual(await versions(), before);
        assert.ok(before.length > OLDER);
      } finally {
        await c.end();
      }
    } finally {
      await drop();
    }
  });
});
