import pg from 'pg';
import { KINDS, type Kind, type ObjectKinds } from '../model/types.js';
import { collapse, duplicateError, Subscribers, toRow } from './base.js';
import { migratePostgres } from './migrations.js';
import { tenantOf, uniqueKey, type Change, type ListQuery, type ListResult, type Store, type Subscriber, type Tx } from './store.js';

type Q = pg.Pool | pg.PoolClient;
const CHANNEL = 'sluice_changes';

async function readList<K extends Kind>(c: Q, kind: K, q: ListQuery = {}): Promise<ListResult<ObjectKinds[K]>> {
  const where = ['kind = $1'];
  const args: unknown[] = [kind];
  if (q.tenantId !== undefined) { args.push(q.tenantId); where.push(`tenant_id = $${args.length}`); }
  if (q.upstreamId !== undefined) { args.push(q.upstreamId); where.push(`upstream_id = $${args.length}`); }
  const w = where.join(' AND ');
  const total = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM objects WHERE ${w}`, args)).rows[0].n);
  const page = [...args, q.limit ?? null, q.offset ?? 0];
  const rows = (await c.query<{ doc: ObjectKinds[K] }>(
    `SELECT doc FROM objects WHERE ${w} ORDER BY created_at, id LIMIT $${args.length + 1} OFFSET $${args.length + 2}`, page)).rows;
  return { items: rows.map((r) => r.doc), total };
}

async function readOne<K extends Kind>(c: Q, kind: K, id: string): Promise<ObjectKinds[K] | null> {
  const r = await c.query<{ doc: ObjectKinds[K] }>('SELECT doc FROM objects WHERE kind = $1 AND id = $2', [kind, id]);
  return r.rows[0]?.doc ?? null;
}

async function readUnique<K extends Kind>(c: Q, kind: K, key: string): Promise<ObjectKinds[K] | null> {
  const r = await c.query<{ doc: ObjectKinds[K] }>('SELECT doc FROM objects WHERE kind = $1 AND unique_key = $2', [kind, key]);
  return r.rows[0]?.doc ?? null;
}

/**
 * The cluster store. Writers serialise on the meta row (SELECT ... FOR UPDATE), across
 * processes and nodes alike; every commit NOTIFYs its revision so that other nodes' stores
 * deliver the change to their own subscribers.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly subs = new Subscribers();
  private listener: pg.Client | null = null;
  private lastNotified = 0;
  private catchingUp: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly pool: pg.Pool, private readonly connect: () => pg.Client) {}

  static async open(url: string, opts: { schema?: string } = {}): Promise<PostgresStore> {
    const schema = opts.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
    const options = schema ? `-c search_path=${schema}` : undefined;
    const pool = new pg.Pool({ connectionString: url, max: 10, options });
    // An idle client's error (server restart) must not take the process down.
    pool.on('error', () => undefined);
    const client = await pool.connect();
    try {
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await migratePostgres(client);
    } finally {
      client.release();
    }
    const store = new PostgresStore(pool, () => new pg.Client({ connectionString: url, options }));
    store.lastNotified = await store.revision();
    await store.listen();
    return store;
  }

  private async listen(): Promise<void> {
    const client = this.connect();
    client.on('error', () => { if (!this.closed) setTimeout(() => { void this.listen().catch(() => undefined); }, 1000); });
    client.on('notification', () => { this.catchUp(); });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  /** Delivers, in order and once each, every revision this process has not yet announced. */
  private catchUp(): void {
    this.catchingUp = this.catchingUp.then(async () => {
      if (this.closed) return;
      const changes = await this.changesSince(this.lastNotified);
      const byRev = new Map<number, Change[]>();
      for (const c of changes) {
        const list = byRev.get(c.revision) ?? [];
        list.push(c);
        byRev.set(c.revision, list);
      }
      for (const [rev, list] of [...byRev].sort((a, b) => a[0] - b[0])) {
        if (rev <= this.lastNotified) continue;
        this.lastNotified = rev;
        this.subs.notify(rev, list);
      }
    }).catch(() => undefined);
  }

  async revision(): Promise<number> {
    return Number((await this.pool.query<{ revision: string }>('SELECT revision FROM meta')).rows[0].revision);
  }

  get<K extends Kind>(kind: K, id: string) { return readOne(this.pool, kind, id); }
  list<K extends Kind>(kind: K, q?: ListQuery) { return readList(this.pool, kind, q); }
  findUnique<K extends Kind>(kind: K, key: string) { return readUnique(this.pool, kind, key); }

  async loadAll() {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const revision = Number((await c.query<{ revision: string }>('SELECT revision FROM meta')).rows[0].revision);
      const objects = {} as { [K in Kind]: ObjectKinds[K][] };
      for (const k of KINDS) (objects as Record<Kind, unknown[]>)[k] = (await readList(c, k)).items;
      await c.query('COMMIT');
      return { revision, objects };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    const writes = new Map<string, { kind: Kind; id: string; op: 'put' | 'delete' }>();
    const tx: Tx = {
      get: (kind, id) => readOne(c, kind, id),
      list: (kind, q) => readList(c, kind, q),
      findUnique: (kind, key) => readUnique(c, kind, key),
      put: async (kind, obj) => {
        const key = uniqueKey(kind, obj);
        const row = toRow(kind, obj, key, tenantOf(kind, obj));
        if (key !== null) {
          const other = await c.query<{ id: string }>('SELECT id FROM objects WHERE kind = $1 AND unique_key = $2', [kind, key]);
          if (other.rows[0] && other.rows[0].id !== row.id) throw duplicateError(kind);
        }
        try {
          // A savepoint keeps the transaction usable if the insert fails on a constraint.
          await c.query('SAVEPOINT put');
          await c.query(`INSERT INTO objects (kind, id, tenant_id, upstream_id, unique_key, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (kind, id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, upstream_id = EXCLUDED.upstream_id,
            unique_key = EXCLUDED.unique_key, doc = EXCLUDED.doc`,
          [row.kind, row.id, row.tenantId, row.upstreamId, row.uniqueKey, row.createdAt, row.doc]);
          await c.query('RELEASE SAVEPOINT put');
        } catch (err) {
          await c.query('ROLLBACK TO SAVEPOINT put');
          if ((err as { code?: string }).code === '23505') throw duplicateError(kind);
          throw err;
        }
        writes.set(`${kind}/${row.id}`, { kind, id: row.id, op: 'put' });
      },
      delete: async (kind, id) => {
        const n = (await c.query('DELETE FROM objects WHERE kind = $1 AND id = $2', [kind, id])).rowCount ?? 0;
        if (n > 0) writes.set(`${kind}/${id}`, { kind, id, op: 'delete' });
        return n > 0;
      },
    };
    let result: T;
    try {
      await c.query('BEGIN');
      await c.query('SELECT revision FROM meta FOR UPDATE');
      result = await fn(tx);
      if (writes.size > 0) {
        const revision = Number((await c.query<{ revision: string }>('UPDATE meta SET revision = revision + 1 RETURNING revision')).rows[0].revision);
        const changes = collapse(revision, writes);
        for (const [i, ch] of changes.entries()) {
          await c.query('INSERT INTO changes (revision, seq, kind, id, op) VALUES ($1, $2, $3, $4, $5)', [ch.revision, i, ch.kind, ch.id, ch.op]);
        }
        await c.query(`SELECT pg_notify('${CHANNEL}', $1)`, [String(revision)]);
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // Released before waiting for subscribers: catching up needs a pool client too, and
      // writers queued on the meta lock may hold all the others.
      c.release();
    }
    if (writes.size > 0) this.catchUp();
    await this.catchingUp;
    return result;
  }

  async changesSince(revision: number): Promise<Change[]> {
    const r = await this.pool.query<{ revision: string; kind: Kind; id: string; op: 'put' | 'delete' }>(
      'SELECT revision, kind, id, op FROM changes WHERE revision > $1 ORDER BY revision, seq', [revision]);
    return r.rows.map((x) => ({ ...x, revision: Number(x.revision) }));
  }

  subscribe(fn: Subscriber): () => void { return this.subs.add(fn); }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.catchingUp;
    await this.listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}
