import Database from 'better-sqlite3';
import type { KindRegistry } from '../model/kinds.js';
import type { Kind } from '../model/types.js';
import { Mutex, Subscribers } from './base.js';
import * as core from './core.js';
import { DEFAULT_KINDS, type SqlReader, type SqlWriter } from './core.js';
import { fromSqliteError } from './errors.js';
import { migrateSqlite } from './migrations.js';
import { DEFAULT_STORE_TIMEOUTS, type Change, type HealthRow, type HealthVerdict, type ListQuery, type NodeBeat, type NodeRow, type Store, type Subscriber, type Tx } from './store.js';
import { healthRowOf, type HealthSqlRow } from './health-rows.js';

type Db = Database.Database;

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** SQLite's SQL for the transaction core: synchronous calls behind the core's promises. */
function sqlOf(db: Db): SqlWriter {
  return {
    async select(f, page) {
      const where = ['kind = ?'];
      const args: unknown[] = [f.kind];
      if (f.tenantId !== undefined) { where.push('tenant_id = ?'); args.push(f.tenantId); }
      if (f.parentId !== undefined) { where.push('parent_id = ?'); args.push(f.parentId); }
      const w = where.join(' AND ');
      const total = (db.prepare(`SELECT count(*) AS n FROM objects WHERE ${w}`).get(...args) as { n: number }).n;
      const rows = db.prepare(`SELECT doc FROM objects WHERE ${w} ORDER BY created_at, id LIMIT ? OFFSET ?`)
        .all(...args, page.limit ?? -1, page.offset) as { doc: string }[];
      return { docs: rows.map((r) => JSON.parse(r.doc) as unknown), total };
    },
    async byId(kind, id) {
      const r = db.prepare('SELECT doc FROM objects WHERE kind = ? AND id = ?').get(kind, id) as { doc: string } | undefined;
      return r ? (JSON.parse(r.doc) as unknown) : null;
    },
    async byUnique(kind, key) {
      const r = db.prepare('SELECT id, doc FROM objects WHERE kind = ? AND unique_key = ?').get(kind, key) as { id: string; doc: string } | undefined;
      return r ? { id: r.id, doc: JSON.parse(r.doc) as unknown } : null;
    },
    async byAlias(kind, alias) {
      const r = db.prepare('SELECT id, doc FROM objects WHERE kind = ? AND alias = ?').get(kind, alias) as { id: string; doc: string } | undefined;
      return r ? { id: r.id, doc: JSON.parse(r.doc) as unknown } : null;
    },
    async byIds(kind, ids) {
      const rows = db.prepare('SELECT id, doc FROM objects WHERE kind = ? AND id IN (SELECT value FROM json_each(?))').all(kind, JSON.stringify(ids)) as { id: string; doc: string }[];
      return rows.map((r) => ({ id: r.id, doc: JSON.parse(r.doc) as unknown }));
    },
    async upsert(row) {
      try {
        db.prepare(`INSERT INTO objects (kind, id, tenant_id, parent_id, unique_key, alias, created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (kind, id) DO UPDATE SET tenant_id = excluded.tenant_id, parent_id = excluded.parent_id,
          unique_key = excluded.unique_key, alias = excluded.alias, doc = excluded.doc`)
          .run(row.kind, row.id, row.tenantId, row.parentId, row.uniqueKey, row.alias, row.createdAt, row.doc);
        return 'ok';
      } catch (err) {
        if (isUniqueViolation(err)) return 'duplicate';
        throw err;
      }
    },
    async remove(kind, id) {
      return db.prepare('DELETE FROM objects WHERE kind = ? AND id = ?').run(kind, id).changes > 0;
    },
    async bumpRevision() {
      return (db.prepare('UPDATE meta SET revision = revision + 1 RETURNING revision').get() as { revision: number }).revision;
    },
    async appendChanges(changes) {
      const ins = db.prepare('INSERT INTO changes (revision, seq, kind, id, op) VALUES (?, ?, ?, ?, ?)');
      changes.forEach((c, i) => ins.run(c.revision, i, c.kind, c.id, c.op));
    },
  };
}

function feedOf(db: Db): core.FeedReader {
  return {
    async revision() { return (db.prepare('SELECT revision FROM meta').get() as { revision: number }).revision; },
    async prunedThrough() { return (db.prepare('SELECT pruned_through AS p FROM feed').get() as { p: number }).p; },
    async changesAfter(revision) {
      return db.prepare('SELECT revision, kind, id, op FROM changes WHERE revision > ? ORDER BY revision, seq').all(revision) as Change[];
    },
  };
}

interface SqliteNodeRow {
  id: string; name: string; labels: string; version: string; applied_revision: number;
  started_at: string; heartbeat_ms: number; last_seen_ms: number;
}

function nodeRow(r: Omit<SqliteNodeRow, 'labels'>, labels: Record<string, string>, now: number): NodeRow {
  return {
    id: r.id, name: r.name, labels, version: r.version, appliedRevision: Number(r.applied_revision),
    startedAt: r.started_at, heartbeatMs: Number(r.heartbeat_ms),
    lastSeenAt: new Date(Number(r.last_seen_ms)).toISOString(), silentMs: Math.max(0, now - Number(r.last_seen_ms)),
  };
}

/** Reads outside a transaction: each SQL call of the readers told as StoreUnavailableError when the file stays locked. */
function guarded(sql: SqlReader, timeoutMs: number): SqlReader {
  const guard = async <T>(p: () => Promise<T>): Promise<T> => {
    try { return await p(); } catch (err) { throw fromSqliteError(err, timeoutMs); }
  };
  return {
    select: (f, page) => guard(() => sql.select(f, page)),
    byId: (kind, id) => guard(() => sql.byId(kind, id)),
    byUnique: (kind, key) => guard(() => sql.byUnique(kind, key)),
    byAlias: (kind, alias) => guard(() => sql.byAlias(kind, alias)),
    byIds: (kind, ids) => guard(() => sql.byIds(kind, ids)),
  };
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

  private readonly sql: SqlWriter;
  private readonly reader: SqlReader;
  private readonly feed: core.FeedReader;

  private constructor(private readonly db: Db, private readonly timeoutMs: number, private readonly kinds: KindRegistry) {
    this.sql = sqlOf(db);
    this.feed = feedOf(db);
    this.reader = guarded(this.sql, timeoutMs);
  }

  /** `kinds`: the kinds it holds (default: every model kind); tests add their own. */
  static open(path: string, opts: { timeoutMs?: number; kinds?: KindRegistry } = {}): SqliteStore {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_STORE_TIMEOUTS.timeoutMs;
    const kinds = core.checkKinds(opts.kinds ?? DEFAULT_KINDS);
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
    return new SqliteStore(db, timeoutMs, kinds);
  }

  /** Runs one synchronous step, a busy database told as StoreUnavailableError. */
  private guard<T>(fn: () => T): T {
    try { return fn(); } catch (err) { throw fromSqliteError(err, this.timeoutMs); }
  }

  async revision(): Promise<number> {
    return this.guard(() => (this.db.prepare('SELECT revision FROM meta').get() as { revision: number }).revision);
  }

  get<K extends Kind>(kind: K, id: string) { return core.get(this.reader, this.kinds, kind, id); }
  list<K extends Kind>(kind: K, q?: ListQuery) { return core.list(this.reader, this.kinds, kind, q); }
  findUnique<K extends Kind>(kind: K, key: string) { return core.findUnique(this.reader, this.kinds, kind, key); }
  findAlias<K extends Kind>(kind: K, alias: string) { return core.findAlias(this.reader, this.kinds, kind, alias); }

  /**
   * One read transaction, as of one revision. In the writers' queue, so that no transaction of
   * this process begins on the connection meanwhile.
   */
  private readTx<T>(read: () => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      const db = this.db;
      this.guard(() => db.exec('BEGIN DEFERRED'));
      try {
        const out = await read();
        db.exec('COMMIT');
        return out;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw fromSqliteError(err, this.timeoutMs);
      }
    });
  }

  loadAll() {
    return this.readTx(async () => {
      const revision = await this.feed.revision();
      return { revision, objects: await core.loadAll(this.sql, this.kinds) };
    });
  }

  readSince(revision: number, docKinds: readonly Kind[]) {
    return this.readTx(() => core.readSince({ ...this.sql, ...this.feed }, this.kinds, revision, docKinds));
  }

  prune(through: number): Promise<number> {
    return this.mutex.run(async () => this.guard(() => this.db.transaction(() => {
      this.db.prepare('UPDATE feed SET pruned_through = max(pruned_through, min(?, (SELECT revision FROM meta)))').run(through);
      const floor = (this.db.prepare('SELECT pruned_through AS p FROM feed').get() as { p: number }).p;
      this.db.prepare('DELETE FROM changes WHERE revision <= ?').run(floor);
      return floor;
    }).immediate()));
  }

  transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      const db = this.db;
      this.guard(() => db.exec('BEGIN IMMEDIATE'));
      let done: { result: T; revision: number; changes: Change[] };
      try {
        done = await core.runTransaction(this.sql, this.kinds, fn);
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw fromSqliteError(err, this.timeoutMs);
      }
      if (done.changes.length > 0) this.subs.notify(done.revision, done.changes);
      return done.result;
    });
  }

  async changesSince(revision: number): Promise<Change[]> {
    return this.guard(() => this.db.prepare('SELECT revision, kind, id, op FROM changes WHERE revision > ? ORDER BY revision, seq').all(revision) as Change[]);
  }

  // In the writers' queue: the connection is shared, and a beat run between the awaits of an
  // open transaction would commit or roll back with it. No revision, no change row.
  heartbeat(node: NodeBeat): Promise<void> {
    return this.mutex.run(async () => this.guard(() => {
      this.db.prepare(`INSERT INTO nodes (id, name, labels, version, applied_revision, started_at, heartbeat_ms, last_seen_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, labels = excluded.labels,
        version = excluded.version, applied_revision = excluded.applied_revision, started_at = excluded.started_at,
        heartbeat_ms = excluded.heartbeat_ms, last_seen_ms = excluded.last_seen_ms`)
        .run(node.id, node.name, JSON.stringify(node.labels), node.version, node.appliedRevision, node.startedAt, node.heartbeatMs, Date.now());
    }));
  }

  async nodes(): Promise<NodeRow[]> {
    const rows = this.guard(() => this.db.prepare('SELECT * FROM nodes ORDER BY name, id').all() as SqliteNodeRow[]);
    const now = Date.now();
    return rows.map((r) => nodeRow(r, JSON.parse(r.labels) as Record<string, string>, now));
  }

  forgetNode(id: string): Promise<boolean> {
    return this.mutex.run(async () => this.guard(() => this.db.transaction(() => {
      this.db.prepare('DELETE FROM health WHERE node_id = ?').run(id);
      return this.db.prepare('DELETE FROM nodes WHERE id = ?').run(id).changes > 0;
    })()));
  }

  // In the writers' queue for the same reason as heartbeat; one SQLite transaction of its own.
  putHealth(nodeId: string, put: readonly HealthVerdict[], drop: readonly string[]): Promise<void> {
    return this.mutex.run(async () => this.guard(() => {
      const up = this.db.prepare(`INSERT INTO health (node_id, key, subject, state, reason, since_ms, down_ips) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (node_id, key) DO UPDATE SET subject = excluded.subject, state = excluded.state, reason = excluded.reason,
        since_ms = excluded.since_ms, down_ips = excluded.down_ips`);
      const del = this.db.prepare('DELETE FROM health WHERE node_id = ? AND key = ?');
      this.db.transaction(() => {
        for (const v of put) up.run(nodeId, v.key, v.subject, v.state, v.reason, v.sinceMs, JSON.stringify(v.downIps));
        for (const k of drop) del.run(nodeId, k);
      }).immediate();
    }));
  }

  async healthRows(subject?: string): Promise<HealthRow[]> {
    const rows = this.guard(() => (subject === undefined
      ? this.db.prepare('SELECT * FROM health ORDER BY node_id, key').all()
      : this.db.prepare('SELECT * FROM health WHERE subject = ? ORDER BY node_id, key').all(subject)) as HealthSqlRow[]);
    return rows.map(healthRowOf);
  }

  subscribe(fn: Subscriber): () => void { return this.subs.add(fn); }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.mutex.run(async () => undefined);
    this.db.close();
  }
}
