import type Database from 'better-sqlite3';
import type pg from 'pg';
import { derivedTencentUpstreamId } from '../model/ids.js';

// Versioned, forward-only migrations; each runs in its own transaction with its version row.
// Objects are JSON documents with the columns needed to find them; an upstream is one
// aggregate (members and groups inside), written and read as a whole.

/** A step is SQL, or code for what SQL cannot say alone (rewriting documents). */
type SqliteStep = string | ((db: Database.Database) => void);
type PgStep = string | ((c: PgQueryable) => Promise<void>);

/**
 * Tencent ids for the upstreams stored before they had one: derived from the canonical id
 * (stepping past a taken one), written into the document and the alias column.
 */
function assignTencentIds(existing: string[], missing: string[]): Map<string, string> {
  const taken = new Set(existing);
  const out = new Map<string, string>();
  for (const id of missing) {
    let attempt = 0;
    let alias = derivedTencentUpstreamId(id, attempt);
    while (taken.has(alias)) alias = derivedTencentUpstreamId(id, ++attempt);
    taken.add(alias);
    out.set(id, alias);
  }
  return out;
}

// 3: a second unique lookup per kind (model/kinds.ts `alias`: an upstream's Tencent id);
// upstreams stored without one get theirs.
const ALIAS_DDL = `ALTER TABLE objects ADD COLUMN alias TEXT;
   CREATE UNIQUE INDEX objects_alias ON objects (kind, alias) WHERE alias IS NOT NULL;`;

function sqliteAliases(db: Database.Database): void {
  db.exec(ALIAS_DDL);
  const rows = db.prepare(`SELECT id, json_extract(doc, '$.tencentId') AS alias FROM objects WHERE kind = 'upstream' ORDER BY created_at, id`).all() as { id: string; alias: string | null }[];
  const assigned = assignTencentIds(rows.flatMap((r) => (r.alias ? [r.alias] : [])), rows.filter((r) => !r.alias).map((r) => r.id));
  const keep = db.prepare(`UPDATE objects SET alias = ? WHERE kind = 'upstream' AND id = ?`);
  for (const r of rows) if (r.alias) keep.run(r.alias, r.id);
  const set = db.prepare(`UPDATE objects SET alias = ?, doc = json_set(doc, '$.tencentId', ?) WHERE kind = 'upstream' AND id = ?`);
  for (const [id, alias] of assigned) set.run(alias, alias, id);
}

async function postgresAliases(c: PgQueryable): Promise<void> {
  await c.query(ALIAS_DDL);
  const rows = (await c.query<{ id: string; alias: string | null }>(`SELECT id, doc->>'tencentId' AS alias FROM objects WHERE kind = 'upstream' ORDER BY created_at, id`)).rows;
  const assigned = assignTencentIds(rows.flatMap((r) => (r.alias ? [r.alias] : [])), rows.filter((r) => !r.alias).map((r) => r.id));
  for (const r of rows) if (r.alias) await c.query(`UPDATE objects SET alias = $1 WHERE kind = 'upstream' AND id = $2`, [r.alias, r.id]);
  for (const [id, alias] of assigned) {
    await c.query(`UPDATE objects SET alias = $1, doc = jsonb_set(doc, '{tencentId}', to_jsonb($1::text)) WHERE kind = 'upstream' AND id = $2`, [alias, id]);
  }
}

// 4: the node registry. A new table no older node reads or writes, so it is safe to add while
// they run; last_seen_ms is the store's clock (PostgreSQL's now()), not the node's.
const NODES_DDL = (json: string) => `CREATE TABLE nodes (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, labels ${json} NOT NULL, version TEXT NOT NULL,
     applied_revision BIGINT NOT NULL, started_at TEXT NOT NULL, heartbeat_ms INTEGER NOT NULL,
     last_seen_ms BIGINT NOT NULL)`;

// 5: how far the change feed has been pruned. Rows at or below pruned_through are gone; a node
// that applied less than that reloads in full. Older nodes reload in full on every revision and
// never read the feed's history, so pruning is safe while they run.
const FEED_DDL = `CREATE TABLE feed (pruned_through BIGINT NOT NULL);
   INSERT INTO feed (pruned_through) VALUES (0);`;

// 6: health verdicts per node (outside the revisioned feed, as the registry is): one row per
// node and member state key, written when the verdict changes. `subject` is the object the
// key belongs to (an upstream's id, a GAAP listener's id) so that one object's rows are read
// together; since_ms is when the node's verdict last changed (the node's clock); down_ips a
// JSON array (an L4 domain origin's failing addresses, GAAP's DownIPList).
const HEALTH_DDL = `CREATE TABLE health (
     node_id TEXT NOT NULL, key TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL,
     reason TEXT NOT NULL, since_ms BIGINT NOT NULL, down_ips TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (node_id, key));
   CREATE INDEX health_subject ON health (subject);`;

const SQLITE: SqliteStep[] = [
  `CREATE TABLE objects (
     kind TEXT NOT NULL, id TEXT NOT NULL, tenant_id TEXT, upstream_id TEXT, unique_key TEXT,
     created_at TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id));
   CREATE UNIQUE INDEX objects_unique ON objects (kind, unique_key) WHERE unique_key IS NOT NULL;
   CREATE INDEX objects_tenant ON objects (kind, tenant_id);
   CREATE INDEX objects_upstream ON objects (kind, upstream_id);
   CREATE TABLE meta (revision INTEGER NOT NULL);
   INSERT INTO meta (revision) VALUES (0);
   CREATE TABLE changes (revision INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, op TEXT NOT NULL, PRIMARY KEY (revision, seq));`,
  // 2: the parent column is generic (model/kinds.ts names each kind's parent); only routes
  // had one, their upstream, so the values stay as they are.
  `ALTER TABLE objects RENAME COLUMN upstream_id TO parent_id;
   DROP INDEX objects_upstream;
   CREATE INDEX objects_parent ON objects (kind, parent_id);`,
  sqliteAliases,
  NODES_DDL('TEXT'),
  FEED_DDL,
  HEALTH_DDL,
];

const POSTGRES: PgStep[] = [
  `CREATE TABLE objects (
     kind TEXT NOT NULL, id TEXT NOT NULL, tenant_id TEXT, upstream_id TEXT, unique_key TEXT,
     created_at TEXT NOT NULL, doc JSONB NOT NULL, PRIMARY KEY (kind, id));
   CREATE UNIQUE INDEX objects_unique ON objects (kind, unique_key) WHERE unique_key IS NOT NULL;
   CREATE INDEX objects_tenant ON objects (kind, tenant_id);
   CREATE INDEX objects_upstream ON objects (kind, upstream_id);
   CREATE TABLE meta (revision BIGINT NOT NULL);
   INSERT INTO meta (revision) VALUES (0);
   CREATE TABLE changes (revision BIGINT NOT NULL, seq INT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, op TEXT NOT NULL, PRIMARY KEY (revision, seq));`,
  // 2: as SQLITE[1].
  `ALTER TABLE objects RENAME COLUMN upstream_id TO parent_id;
   ALTER INDEX objects_upstream RENAME TO objects_parent;`,
  postgresAliases,
  NODES_DDL('JSONB'),
  FEED_DDL,
  HEALTH_DDL,
];

/** `upTo`: stop after that version (tests build a data directory as an older release left it). */
export function migrateSqlite(db: Database.Database, upTo = SQLITE.length): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  SQLITE.slice(0, upTo).forEach((step, i) => {
    if (done.has(i + 1)) return;
    db.transaction(() => {
      if (typeof step === 'string') db.exec(step); else step(db);
      db.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(i + 1);
    }).immediate();
  });
}

/** A pool or one client: what a migration (and the store's readers) send queries to. */
export interface PgQueryable { query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> }

export async function migratePostgres(client: PgQueryable, upTo = POSTGRES.length): Promise<void> {
  // An advisory lock: several nodes starting together must not migrate twice.
  await client.query('SELECT pg_advisory_lock(7243001)');
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY)');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const [i, step] of POSTGRES.slice(0, upTo).entries()) {
      if (done.has(i + 1)) continue;
      await client.query('BEGIN');
      try {
        if (typeof step === 'string') await client.query(step); else await step(client);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(7243001)');
  }
}
