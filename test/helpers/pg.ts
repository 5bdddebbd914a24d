import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { KindRegistry } from '../../src/model/kinds.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';

export const PG_URL = process.env.SLUICE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PG_REQUIRED = process.env.SLUICE_TEST_PG === '1';

export interface TestStore<S> { store: S; cleanup: () => Promise<void> }

/** `kinds`: a store holding other kinds than the model's (a test-only kind). */
export async function sqliteTestStore(opts: { kinds?: KindRegistry } = {}): Promise<TestStore<SqliteStore> & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-store-'));
  const store = SqliteStore.open(join(dir, 'sluice.db'), opts);
  return { store, dir, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
}

let reachable: Promise<boolean> | null = null;

/** Whether the test PostgreSQL answers; a clear notice (or a failure when required) if not. */
export function pgAvailable(): Promise<boolean> {
  reachable ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch (err) {
      if (PG_REQUIRED) throw new Error(`PostgreSQL is required (SLUICE_TEST_PG=1) but ${PG_URL} is not reachable: ${(err as Error).message}`, { cause: err });
      console.warn(`PostgreSQL not reachable at ${PG_URL}: skipping the PostgreSQL suite (set SLUICE_TEST_PG=1 to require it)`);
      return false;
    }
  })();
  return reachable;
}

/** A PostgresStore on a fresh schema of its own; cleanup drops the schema. */
export async function pgTestStore(schema = `sluice_test_${randomBytes(6).toString('hex')}`, opts: { kinds?: KindRegistry } = {}): Promise<TestStore<PostgresStore> & { schema: string }> {
  const store = await PostgresStore.open(PG_URL, { schema, ...opts });
  return {
    store, schema,
    cleanup: async () => {
      await store.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** A fresh empty schema on the test server, for a store that is opened by URL (through a relay, say). */
export async function pgTestSchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `sluice_test_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    await c.connect();
    try { await c.query(sql); } finally { await c.end(); }
  };
  await run(`CREATE SCHEMA ${schema}`);
  return { schema, drop: () => run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}

/** The test server's host and port. */
export function pgTarget(): { host: string; port: number } {
  const u = new URL(PG_URL);
  return { host: u.hostname, port: Number(u.port || 5432) };
}

/** PG_URL pointed at 127.0.0.1:`port` (a relay), its search_path set to `schema` in the URL itself. */
export function pgUrlVia(port: number, schema: string): string {
  const u = new URL(PG_URL);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/** The stores a suite runs against: SQLite always, PostgreSQL when it answers (null: skip it). */
export const BOTH_STORES: [string, () => Promise<TestStore<SqliteStore | PostgresStore> | null>][] = [
  ['sqlite', () => sqliteTestStore()],
  ['postgres', async () => ((await pgAvailable()) ? pgTestStore() : null)],
];

/** One query on a connection of its own, closed after: its rows. */
export async function pgQuery<T extends pg.QueryResultRow>(url: string, text: string, args: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await c.connect();
  try { return (await c.query<T>(text, args)).rows; } finally { await c.end(); }
}

/** The backends of every node's change-feed connection (application_name 'sluice listener'). */
export const listenerPids = async (url: string): Promise<number[]> =>
  (await pgQuery<{ pid: number }>(url, "SELECT pid FROM pg_stat_activity WHERE application_name = 'sluice listener'")).map((r) => r.pid);
