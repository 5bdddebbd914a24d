import Database from 'better-sqlite3';
import { KINDS, type Kind, type ObjectKinds } from '../model/types.js';
import { ALIAS_FIELD, collapse, duplicateError, Mutex, Subscribers, toRow } from './base.js';
import { fromSqliteError } from './errors.js';
import { migrateSqlite } from './migrations.js';
import { aliasOf, DEFAULT_STORE_TIMEOUTS, tenantOf, uniqueKey, type Change, type ListQuery, type ListResult, type Store, type Subscriber, type Tx } from './store.js';

type Db = Database.Database;

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' || (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function readList<K extends Kind>(db: Db, kind: K, q: ListQuery = {}): ListResult<ObjectKinds[K]> {
  const where = ['kind = ?'];
  const args: unknown[] = [kind];
  if (q.tenantId !== undefined) { where.push('tenant_id = ?'); args.push(q.tenantId); }
  if (q.upstreamId !== undefined) { where.push('upstream_id = ?'); args.push(q.upstreamId); }
  const w = where.join(' AND ');
  const total = (db.prepare(`SELECT count(*) AS n FROM objects WHERE ${w}`).get(...args) as { n: number }).n;
  const limit = q.limit ?? -1;
  const rows = db.prepare(`SELECT doc FROM objects WHERE ${w} ORDER BY created_at, id LIMIT ? OFFSET ?`).all(...args, limit, q.offset ?? 0) as { doc: string }[];
  return { items: rows.map((r) => JSON.parse(r.doc) as ObjectKinds[K]), total };
}

function readOne<K extends Kind>(db: Db, kind: K, id: string): ObjectKinds[K] | null {
  const r = db.prepare('SELECT doc FROM objects WHERE kind = ? AND id = ?').get(kind, id) as { doc: string } | undefined;
  return r ? (JSON.parse(r.doc) as ObjectKinds[K]) : null;
}

function readUnique<K extends Kind>(db: Db, kind: K, key: string): ObjectKinds[K] | null {
  const r = db.prepare('SELECT doc FROM objects WHERE kind = ? AND unique_key = ?').get(kind, key) as { doc: string } | undefined;
  return r ? (JSON.parse(r.doc) as ObjectKinds[K]) : null;
}

function readAlias<K extends Kind>(db: Db, kind: K, alias: string): ObjectKinds[K] | null {
  const r = db.prepare('SELECT doc FROM objects WHERE kind = ? AND alias = ?').get(kind, alias) as { doc: string } | undefined;
  return r ? (JSON.parse(r.doc) as ObjectKinds[K]) : null;
}

/**
 * The embedded default: one SQLite file in WAL mode; writers are serialised in-process.
 * Its calls are synchronous, so its only wait is on another process's lock on the file:
 * busy_timeout is its deadline, and a store still locked past it is StoreUnavailableError.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly mutex = new Mutex();
  private readonly subs = new Subscribers();
  private closed = false;

  private constructor(private readonly db: Db, private readonly timeoutMs: number) {}

  static open(path: string, opts: { timeoutMs?: number } = {}): SqliteStore {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_STORE_TIMEOUTS.timeoutMs;
    // Set first: even opening (WAL recovery, migrations) may wait on another process.
    const db = new Database(path, { timeout: timeoutMs });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrateSqlite(db);
    } catch (err) {
      db.close();
      throw fromSqliteError(err, timeoutMs);
    }
    return new SqliteStore(db, timeoutMs);
  }

  /** Runs one synchronous step, a busy database told as StoreUnavailableError. */
  private guard<T>(fn: () => T): T {
    try { return fn(); } catch (err) { throw fromSqliteError(err, this.timeoutMs); }
  }

  async revision(): Promise<number> {
    return this.guard(() => (this.db.prepare('SELECT revision FROM meta').get() as { revision: number }).revision);
  }

  async get<K extends Kind>(kind: K, id: string) { return this.guard(() => readOne(this.db, kind, id)); }
  async list<K extends Kind>(kind: K, q?: ListQuery) { return this.guard(() => readList(this.db, kind, q)); }
  async findUnique<K extends Kind>(kind: K, key: string) { return this.guard(() => readUnique(this.db, kind, key)); }
  async findAlias<K extends Kind>(kind: K, alias: string) { return this.guard(() => readAlias(this.db, kind, alias)); }

  async loadAll() {
    // One read transaction: every kind as of the same revision.
    const read = this.db.transaction(() => {
      const objects = {} as { [K in Kind]: ObjectKinds[K][] };
      for (const k of KINDS) (objects as Record<Kind, unknown[]>)[k] = readList(this.db, k).items;
      return { revision: (this.db.prepare('SELECT revision FROM meta').get() as { revision: number }).revision, objects };
    });
    return this.guard(() => read.deferred());
  }

  transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      const db = this.db;
      const writes = new Map<string, { kind: Kind; id: string; op: 'put' | 'delete' }>();
      const tx: Tx = {
        get: async (kind, id) => readOne(db, kind, id),
        list: async (kind, q) => readList(db, kind, q),
        findUnique: async (kind, key) => readUnique(db, kind, key),
        findAlias: async (kind, alias) => readAlias(db, kind, alias),
        put: async (kind, obj) => {
          const key = uniqueKey(kind, obj);
          const row = toRow(kind, obj, key, tenantOf(kind, obj), aliasOf(kind, obj));
          if (key !== null) {
            const other = db.prepare('SELECT id FROM objects WHERE kind = ? AND unique_key = ?').get(kind, key) as { id: string } | undefined;
            if (other && other.id !== row.id) throw duplicateError(kind);
          }
          if (row.alias !== null) {
            const other = db.prepare('SELECT id FROM objects WHERE kind = ? AND alias = ?').get(kind, row.alias) as { id: string } | undefined;
            if (other && other.id !== row.id) throw duplicateError(kind, ALIAS_FIELD);
          }
          try {
            db.prepare(`INSERT INTO objects (kind, id, tenant_id, upstream_id, unique_key, alias, created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (kind, id) DO UPDATE SET tenant_id = excluded.tenant_id, upstream_id = excluded.upstream_id,
              unique_key = excluded.unique_key, alias = excluded.alias, doc = excluded.doc`)
              .run(row.kind, row.id, row.tenantId, row.upstreamId, row.uniqueKey, row.alias, row.createdAt, row.doc);
          } catch (err) {
            if (isUniqueViolation(err)) throw duplicateError(kind);
            throw err;
          }
          writes.set(`${kind}/${row.id}`, { kind, id: row.id, op: 'put' });
        },
        delete: async (kind, id) => {
          const n = db.prepare('DELETE FROM objects WHERE kind = ? AND id = ?').run(kind, id).changes;
          if (n > 0) writes.set(`${kind}/${id}`, { kind, id, op: 'delete' });
          return n > 0;
        },
      };
      this.guard(() => db.exec('BEGIN IMMEDIATE'));
      let result: T;
      let changes: Change[] = [];
      let revision = 0;
      try {
        result = await fn(tx);
        if (writes.size > 0) {
          revision = (db.prepare('UPDATE meta SET revision = revision + 1 RETURNING revision').get() as { revision: number }).revision;
          changes = collapse(revision, writes);
          const ins = db.prepare('INSERT INTO changes (revision, seq, kind, id, op) VALUES (?, ?, ?, ?, ?)');
          changes.forEach((c, i) => ins.run(c.revision, i, c.kind, c.id, c.op));
        }
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw fromSqliteError(err, this.timeoutMs);
      }
      if (changes.length > 0) this.subs.notify(revision, changes);
      return result;
    });
  }

  async changesSince(revision: number): Promise<Change[]> {
    return this.guard(() => this.db.prepare('SELECT revision, kind, id, op FROM changes WHERE revision > ? ORDER BY revision, seq').all(revision) as Change[]);
  }

  subscribe(fn: Subscriber): () => void { return this.subs.add(fn); }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.mutex.run(async () => undefined);
    this.db.close();
  }
}
