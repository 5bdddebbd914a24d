import type Database from 'better-sqlite3';
import type pg from 'pg';

// Versioned, forward-only migrations; each runs in its own transaction with its version row.
// Objects are JSON documents with the columns needed to find them; an upstream is one
// aggregate (members and groups inside), written and read as a whole.

const SQLITE: string[] = [
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
];

const POSTGRES: string[] = [
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
];

export function migrateSqlite(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  SQLITE.forEach((sql, i) => {
    if (done.has(i + 1)) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(i + 1);
    }).immediate();
  });
}

/** A pool or one client: what a migration (and the store's readers) send queries to. */
export interface PgQueryable { query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> }

export async function migratePostgres(client: PgQueryable): Promise<void> {
  // An advisory lock: several nodes starting together must not migrate twice.
  await client.query('SELECT pg_advisory_lock(7243001)');
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY)');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const [i, sql] of POSTGRES.entries()) {
      if (done.has(i + 1)) continue;
      await client.query('BEGIN');
      try {
        await client.query(sql);
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
