import pg from 'pg';
import { messageOf } from '../model/errors.js';
import type { KindRegistry } from '../model/kinds.js';
import type { Kind } from '../model/types.js';
import { Subscribers } from './base.js';
import * as core from './core.js';
import { DEFAULT_KINDS, type SqlReader, type SqlWriter } from './core.js';
import { fromPgError, StoreUnavailableError } from './errors.js';
import { migratePostgres, type PgQueryable } from './migrations.js';
import { DEFAULT_STORE_TIMEOUTS, type Change, type FeedObject, type FeedRead, type HealthRow, type HealthVerdict, type ListQuery, type NodeBeat, type NodeRow, type Store, type StoreTimeouts, type Subscriber, type Tx } from './store.js';
import { healthRowOf, type HealthSqlRow } from './health-rows.js';

/** What the readers need: the pool, or one checked-out client behind a deadline. */
type Q = PgQueryable;
const CHANNEL = 'sluice_changes';
const ignore = (): void => undefined;
/** How the LISTEN connection is retried after it fails: doubling from `firstMs` to `maxMs`, jittered. */
const DEFAULT_LISTEN_BACKOFF = { firstMs: 200, maxMs: 10_000 };
/** A failed catch-up (the pool did not answer) is tried again this long after. */
const CATCH_UP_RETRY_MS = 1000;

/** Where the store tells of its change feed going away and coming back (a pino logger fits). */
export interface StoreLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Between half and all of `ms`: nodes that lost the server together do not come back in step. */
function jittered(ms: number): number {
  return Math.round(ms * (0.5 + Math.random() * 0.5));
}

/** PostgreSQL's SQL for the transaction core, on the pool or on one client. */
function sqlOf(c: Q): SqlWriter {
  return {
    async select(f, page) {
      const where = ['kind = $1'];
      const args: unknown[] = [f.kind];
      if (f.tenantId !== undefined) { args.push(f.tenantId); where.push(`tenant_id = $${args.length}`); }
      if (f.parentId !== undefined) { args.push(f.parentId); where.push(`parent_id = $${args.length}`); }
      const w = where.join(' AND ');
      const total = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM objects WHERE ${w}`, args)).rows[0].n);
      const rows = (await c.query<{ doc: unknown }>(
        `SELECT doc FROM objects WHERE ${w} ORDER BY created_at, id LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
        [...args, page.limit, page.offset])).rows;
      return { docs: rows.map((r) => r.doc), total };
    },
    async byId(kind, id) {
      const r = await c.query<{ doc: unknown }>('SELECT doc FROM objects WHERE kind = $1 AND id = $2', [kind, id]);
      return r.rows[0]?.doc ?? null;
    },
    async byUnique(kind, key) {
      const r = await c.query<{ id: string; doc: unknown }>('SELECT id, doc FROM objects WHERE kind = $1 AND unique_key = $2', [kind, key]);
      return r.rows[0] ?? null;
    },
    async byAlias(kind, alias) {
      const r = await c.query<{ id: string; doc: unknown }>('SELECT id, doc FROM objects WHERE kind = $1 AND alias = $2', [kind, alias]);
      return r.rows[0] ?? null;
    },
    async byIds(kind, ids) {
      return (await c.query<{ id: string; doc: unknown }>('SELECT id, doc FROM objects WHERE kind = $1 AND id = ANY($2)', [kind, ids])).rows;
    },
    async upsert(row) {
      try {
        // A savepoint keeps the transaction usable if the insert fails on a constraint.
        await c.query('SAVEPOINT put');
        await c.query(`INSERT INTO objects (kind, id, tenant_id, parent_id, unique_key, alias, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
          ON CONFLICT (kind, id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, parent_id = EXCLUDED.parent_id,
          unique_key = EXCLUDED.unique_key, alias = EXCLUDED.alias, doc = EXCLUDED.doc`,
        [row.kind, row.id, row.tenantId, row.parentId, row.uniqueKey, row.alias, row.createdAt, row.doc]);
        await c.query('RELEASE SAVEPOINT put');
        return 'ok';
      } catch (err) {
        // On a connection that does not answer, the whole transaction is given up instead.
        if (!(err instanceof pg.DatabaseError)) throw err;
        await c.query('ROLLBACK TO SAVEPOINT put');
        if (err.code === '23505') return 'duplicate';
        throw err;
      }
    },
    async remove(kind, id) {
      return ((await c.query('DELETE FROM objects WHERE kind = $1 AND id = $2', [kind, id])).rowCount ?? 0) > 0;
    },
    async bumpRevision() {
      return Number((await c.query<{ revision: string }>('UPDATE meta SET revision = revision + 1 RETURNING revision')).rows[0].revision);
    },
    async appendChanges(changes) {
      for (const [i, ch] of changes.entries()) {
        await c.query('INSERT INTO changes (revision, seq, kind, id, op) VALUES ($1, $2, $3, $4, $5)', [ch.revision, i, ch.kind, ch.id, ch.op]);
      }
    },
  };
}

type RawChange = { revision: string | number; kind: Kind; id: string; op: 'put' | 'delete' };

function feedOf(c: Q): core.FeedReader {
  return {
    async revision() { return Number((await c.query<{ revision: string }>('SELECT revision FROM meta')).rows[0].revision); },
    async prunedThrough() { return Number((await c.query<{ p: string }>('SELECT pruned_through AS p FROM feed')).rows[0].p); },
    async changesAfter(revision) {
      const r = await c.query<{ revision: string; kind: Kind; id: string; op: 'put' | 'delete' }>(
        'SELECT revision, kind, id, op FROM changes WHERE revision > $1 ORDER BY revision, seq', [revision]);
      return r.rows.map((x) => ({ ...x, revision: Number(x.revision) }));
    },
  };
}

/**
 * The client-side deadline of one query. A little later than the server's statement_timeout,
 * so that a live but slow server cancels the statement itself (the connection stays usable);
 * this one fires only when the server, or the network to it, has stopped answering.
 */
function clientDeadline(timeoutMs: number): number {
  return timeoutMs + Math.max(100, Math.round(timeoutMs / 10));
}

/** Resolves when `p` settles or after `ms`, whichever comes first: for shutdown steps that may hang on a frozen peer. */
function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    p.then(() => { clearTimeout(t); resolve(); }, () => { clearTimeout(t); resolve(); });
  });
}

export interface PostgresOptions extends Partial<StoreTimeouts> {
  /** A private schema (created if absent): tests. Production names it in the URL's options, if at all. */
  schema?: string;
  /** The kinds it holds (default: every model kind); tests add their own. */
  kinds?: KindRegistry;
  /** Told once when the change feed's connection is lost, and when it is back. */
  logger?: StoreLog;
  /** How the lost change feed is retried (default 200 ms doubling to 10 s); tests widen it. */
  listenBackoff?: { firstMs: number; maxMs: number };
}

/**
 * The cluster store. Writers serialise on the meta row (SELECT ... FOR UPDATE), across
 * processes and nodes alike; every commit NOTIFYs its revision so that other nodes' stores
 * deliver the change to their own subscribers.
 *
 * Every call has a deadline (StoreTimeouts): the server cancels a statement or lock wait
 * past it, the client gives up on a server that does not answer at all, and a client that
 * gave up is destroyed rather than returned to the pool, so a frozen server wedges nothing.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly subs = new Subscribers();
  private listener: pg.Client | null = null;
  private dropListener: (() => Promise<void>) | null = null;
  private reconnect: NodeJS.Timeout | null = null;
  private lastNotified = 0;
  private catchingUp: Promise<void> = Promise.resolve();
  private catchUpRetry: NodeJS.Timeout | null = null;
  private closed = false;
  /** The next reconnect's delay before jitter; back to the first once LISTEN succeeds. */
  private listenRetryMs: number;
  /** Whether the change feed is lost (told once per outage). */
  private feedLost = false;

  private readonly reader: SqlReader;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
    private readonly timeouts: StoreTimeouts,
    private readonly kinds: KindRegistry,
    private readonly log: StoreLog | null,
    private readonly backoff: { firstMs: number; maxMs: number },
  ) {
    this.reader = sqlOf(pool);
    this.listenRetryMs = backoff.firstMs;
  }

  static async open(url: string, opts: PostgresOptions = {}): Promise<PostgresStore> {
    const schema = opts.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
    const kinds = core.checkKinds(opts.kinds ?? DEFAULT_KINDS);
    const timeouts: StoreTimeouts = { ...DEFAULT_STORE_TIMEOUTS, ...stripUndefined(opts) };
    const t = timeouts.timeoutMs;
    const clientConfig: pg.ClientConfig = {
      connectionString: url,
      options: schema ? `-c search_path=${schema}` : undefined,
      // Server side: a statement, a wait for another node's meta lock, and a transaction
      // whose client vanished mid-way (its lock released) all end at the deadline.
      statement_timeout: t,
      lock_timeout: t,
      idle_in_transaction_session_timeout: t,
      query_timeout: clientDeadline(t),
      connectionTimeoutMillis: timeouts.connectTimeoutMs,
      // Notices a dead peer host or a cut network on idle connections; a frozen server
      // process is caught by the deadlines and the listener's heartbeat instead.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    };
    const pool = new pg.Pool({ ...clientConfig, max: 10 });
    // An idle client's error (server restart) must not take the process down.
    pool.on('error', ignore);
    const store = new PostgresStore(pool, clientConfig, timeouts, kinds, opts.logger ?? null, opts.listenBackoff ?? DEFAULT_LISTEN_BACKOFF);
    try {
      await store.withClient(async (c) => {
        if (schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await migratePostgres(c);
      }, false);
      store.lastNotified = await store.revision();
      await store.listen(true);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  private unavailable(err: unknown): unknown {
    return fromPgError(err, this.timeouts);
  }

  /** One pool query, its failure to answer told as StoreUnavailableError. */
  private async read<T>(fn: () => Promise<T>): Promise<T> {
    try { return await fn(); } catch (err) { throw this.unavailable(err); }
  }

  /**
   * Runs `work` on one checked-out client, the whole of it within the deadline (each query
   * is bounded too). A client that failed to answer, or outlived the deadline, is destroyed
   * on release; one that failed on a healthy connection (a constraint, a ModelError) is
   * rolled back and reused. `deadline` false: no overall bound (migrations at start).
   */
  private async withClient<T>(work: (c: Q) => Promise<T>, deadline = true): Promise<T> {
    const t = this.timeouts.timeoutMs;
    let c: pg.PoolClient;
    try { c = await this.pool.connect(); } catch (err) { throw this.unavailable(err); }
    // A socket error on a checked-out client is emitted as 'error'; unheard, it would crash the process.
    c.on('error', ignore);
    let expired = false;
    const late = () => new StoreUnavailableError(`the configuration store did not finish the transaction within ${t} ms`);
    const q: Q = {
      query: (text, values) => (expired ? Promise.reject(late()) : c.query(text, values)),
    };
    const run = (async () => {
      let broken = false;
      try {
        return await work(q);
      } catch (err) {
        const mapped = this.unavailable(err);
        // Rolling back on a connection that does not answer would only wait out another
        // deadline; a server that answered (even "lock timeout") left a usable connection.
        if (expired || (mapped instanceof StoreUnavailableError && !(err instanceof pg.DatabaseError))) broken = true;
        else await c.query('ROLLBACK').catch(() => { broken = true; });
        throw mapped;
      } finally {
        c.removeListener('error', ignore);
        c.release(broken || expired);
      }
    })();
    if (!deadline) return run;
    let timer: NodeJS.Timeout | undefined;
    const overall = new Promise<never>((_, reject) => {
      timer = setTimeout(() => { expired = true; reject(late()); }, clientDeadline(t));
    });
    try {
      return await Promise.race([run, overall]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The LISTEN connection. It has no query of its own to time out, so a heartbeat asks the
   * server every so often. A heartbeat without answer, an error, an end or a connect that
   * fails (pg tells that to the connect promise, not to 'error') replaces the connection,
   * with backoff, for as long as the store is open; each new connection catches up on what
   * was committed meanwhile, since notifications sent while it was away are lost.
   * `first`: the one at open, whose failure to connect fails open instead.
   */
  private async listen(first: boolean): Promise<void> {
    // Named, so that operators (and tests) can tell it from the pool's connections.
    const client = new pg.Client({ ...this.clientConfig, application_name: 'sluice listener' });
    let gone = false;
    let established = false;
    let beat: NodeJS.Timeout | undefined = undefined;
    let ended: Promise<void> = Promise.resolve();
    const lost = (err?: unknown): Promise<void> => {
      if (gone) return ended;
      gone = true;
      clearInterval(beat);
      if (this.listener === client) { this.listener = null; this.dropListener = null; }
      // With a query in flight end() destroys the socket; it never waits on a frozen peer for long.
      try { ended = bounded(client.end(), this.timeouts.connectTimeoutMs); } catch { /* never connected */ }
      if (!this.closed && (established || !first)) this.relisten(err);
      return ended;
    };
    client.on('error', (err) => { void lost(err); });
    client.on('end', () => { void lost(new Error('the connection ended')); });
    client.on('notification', () => { this.catchUp(); });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      void lost(err);
      if (first) throw this.unavailable(err);
      return;
    }
    if (this.closed || gone) { void lost(); return; }
    established = true;
    this.listener = client;
    this.dropListener = lost;
    this.listenRetryMs = this.backoff.firstMs;
    beat = setInterval(() => { client.query('SELECT 1').catch((err: unknown) => lost(err)); }, Math.max(1000, this.timeouts.timeoutMs));
    beat.unref();
    if (this.feedLost) {
      this.feedLost = false;
      this.log?.info({}, 'configuration store change feed is back; catching up on the revisions missed');
    }
    if (!first) this.catchUp();
  }

  /** Schedules the next LISTEN connection; the first failure of an outage is logged. */
  private relisten(err: unknown): void {
    if (!this.feedLost) {
      this.feedLost = true;
      this.log?.warn({ reason: err === undefined ? 'unknown' : messageOf(err) },
        'lost the configuration store change feed; reconnecting with backoff (writes of other nodes are not seen until it is back)');
    }
    const delay = jittered(this.listenRetryMs);
    this.listenRetryMs = Math.min(this.listenRetryMs * 2, this.backoff.maxMs);
    this.reconnect = setTimeout(() => { this.reconnect = null; void this.listen(false).catch(ignore); }, delay);
    this.reconnect.unref();
  }

  /**
   * Delivers, in order and once each, every revision this process has not yet announced.
   * One that fails (the pool did not answer) is tried again, so that a notification that
   * came during a blip is not lost with it.
   */
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
      // The feed may have been pruned past revisions this process never announced (it was
      // paused, or cut off): their rows are gone, but the revision still moved, and the
      // subscriber reads what changed (or reloads) by itself.
      if (byRev.size === 0) {
        const rev = await this.revision();
        if (rev > this.lastNotified) { this.lastNotified = rev; this.subs.notify(rev, []); }
      }
    }).catch(() => {
      if (this.closed || this.catchUpRetry) return;
      this.catchUpRetry = setTimeout(() => { this.catchUpRetry = null; this.catchUp(); }, CATCH_UP_RETRY_MS);
      this.catchUpRetry.unref();
    });
  }

  revision(): Promise<number> {
    return this.read(async () => Number((await this.pool.query<{ revision: string }>('SELECT revision FROM meta')).rows[0].revision));
  }

  get<K extends Kind>(kind: K, id: string) { return this.read(() => core.get(this.reader, this.kinds, kind, id)); }
  list<K extends Kind>(kind: K, q?: ListQuery) { return this.read(() => core.list(this.reader, this.kinds, kind, q)); }
  findUnique<K extends Kind>(kind: K, key: string) { return this.read(() => core.findUnique(this.reader, this.kinds, kind, key)); }
  findAlias<K extends Kind>(kind: K, alias: string) { return this.read(() => core.findAlias(this.reader, this.kinds, kind, alias)); }

  /** One read transaction, as of one revision, within the deadline. */
  private readTx<T>(read: (c: Q) => Promise<T>): Promise<T> {
    return this.withClient(async (c) => {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const out = await read(c);
      await c.query('COMMIT');
      return out;
    });
  }

  loadAll() {
    return this.readTx(async (c) => ({ revision: await feedOf(c).revision(), objects: await core.loadAll(sqlOf(c), this.kinds) }));
  }

  // One statement, so one snapshot of the database (as a REPEATABLE READ transaction would
  // give) in one round trip: the follower's read is most of what applying a revision costs.
  readSince(revision: number, docKinds: readonly Kind[]): Promise<FeedRead> {
    return this.read(async () => {
      for (const k of docKinds) if (!Object.hasOwn(this.kinds, k)) throw new Error(`store: unknown kind "${k}"`);
      const r = (await this.pool.query<{ revision: string; pruned: string; changes: RawChange[] | null; objects: FeedObject[] | null }>(
        `WITH f AS (SELECT pruned_through AS pruned FROM feed),
         c AS (SELECT revision, seq, kind, id, op FROM changes WHERE revision > $1 AND $1 >= (SELECT pruned FROM f)),
         o AS (SELECT DISTINCT kind, id FROM c WHERE kind = ANY($2))
         SELECT (SELECT revision FROM meta) AS revision, (SELECT pruned FROM f) AS pruned,
           (SELECT json_agg(json_build_object('revision', revision, 'kind', kind, 'id', id, 'op', op) ORDER BY revision, seq) FROM c) AS changes,
           (SELECT json_agg(json_build_object('kind', o.kind, 'id', o.id, 'doc', x.doc)) FROM o LEFT JOIN objects x ON x.kind = o.kind AND x.id = o.id) AS objects`,
        [revision, docKinds])).rows[0];
      const prunedThrough = Number(r.pruned);
      if (prunedThrough > revision) return { revision: Number(r.revision), prunedThrough, complete: false, changes: [], objects: [] };
      return {
        revision: Number(r.revision), prunedThrough, complete: true,
        changes: (r.changes ?? []).map((x) => ({ ...x, revision: Number(x.revision) })), objects: r.objects ?? [],
      };
    });
  }

  // Its own short transaction on the feed row, not the meta lock: writers never wait on it,
  // and two nodes pruning at once take turns on the row.
  prune(through: number): Promise<number> {
    return this.withClient(async (c) => {
      await c.query('BEGIN');
      const floor = Number((await c.query<{ p: string }>(
        'UPDATE feed SET pruned_through = GREATEST(pruned_through, LEAST($1::bigint, (SELECT revision FROM meta))) RETURNING pruned_through AS p', [through])).rows[0].p);
      await c.query('DELETE FROM changes WHERE revision <= $1', [floor]);
      await c.query('COMMIT');
      return floor;
    });
  }

  async transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    // Released before waiting for subscribers: catching up needs a pool client too, and
    // writers queued on the meta lock may hold all the others.
    const done = await this.withClient(async (c) => {
      await c.query('BEGIN');
      await c.query('SELECT revision FROM meta FOR UPDATE');
      const out = await core.runTransaction(sqlOf(c), this.kinds, fn);
      // Other nodes learn of the commit from this; this node delivers it through catchUp.
      if (out.changes.length > 0) await c.query(`SELECT pg_notify('${CHANNEL}', $1)`, [String(out.revision)]);
      await c.query('COMMIT');
      return out;
    });
    if (done.changes.length > 0) this.catchUp();
    await this.catchingUp;
    return done.result;
  }

  changesSince(revision: number): Promise<Change[]> {
    return this.read(() => feedOf(this.pool).changesAfter(revision));
  }

  // Not a transaction: no meta lock, so a beat never waits on the cluster's writers, and it
  // bumps no revision. The store's clock stamps it, so nodes with skewed clocks agree on ages.
  heartbeat(node: NodeBeat): Promise<void> {
    return this.read(async () => {
      await this.pool.query(`INSERT INTO nodes (id, name, labels, version, applied_revision, started_at, heartbeat_ms, last_seen_ms)
        VALUES ($1, $2, $3, $4, $5, $6, $7, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, labels = EXCLUDED.labels, version = EXCLUDED.version,
        applied_revision = EXCLUDED.applied_revision, started_at = EXCLUDED.started_at,
        heartbeat_ms = EXCLUDED.heartbeat_ms, last_seen_ms = EXCLUDED.last_seen_ms`,
      [node.id, node.name, JSON.stringify(node.labels), node.version, node.appliedRevision, node.startedAt, node.heartbeatMs]);
    });
  }

  nodes(): Promise<NodeRow[]> {
    return this.read(async () => {
      const r = await this.pool.query<{ id: string; name: string; labels: Record<string, string>; version: string; applied_revision: string;
        started_at: string; heartbeat_ms: number; last_seen_ms: string; now_ms: string }>(
        `SELECT *, (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms FROM nodes ORDER BY name, id`);
      return r.rows.map((x) => {
        const seen = Number(x.last_seen_ms);
        return {
          id: x.id, name: x.name, labels: x.labels, version: x.version, appliedRevision: Number(x.applied_revision),
          startedAt: x.started_at, heartbeatMs: Number(x.heartbeat_ms),
          lastSeenAt: new Date(seen).toISOString(), silentMs: Math.max(0, Number(x.now_ms) - seen),
        };
      });
    });
  }

  forgetNode(id: string): Promise<boolean> {
    // One statement: the registry row and the node's verdicts go together.
    return this.read(async () => ((await this.pool.query(
      'WITH h AS (DELETE FROM health WHERE node_id = $1) DELETE FROM nodes WHERE id = $1', [id])).rowCount ?? 0) > 0);
  }

  // One statement (so all or nothing), no meta lock and no revision, like a heartbeat: a node
  // publishing its verdicts never waits on the cluster's writers.
  putHealth(nodeId: string, put: readonly HealthVerdict[], drop: readonly string[]): Promise<void> {
    if (put.length === 0 && drop.length === 0) return Promise.resolve();
    return this.read(async () => {
      await this.pool.query(`WITH d AS (DELETE FROM health WHERE node_id = $1 AND key = ANY($2::text[]))
        INSERT INTO health (node_id, key, subject, state, reason, since_ms, down_ips)
        SELECT $1, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
        ON CONFLICT (node_id, key) DO UPDATE SET subject = EXCLUDED.subject, state = EXCLUDED.state, reason = EXCLUDED.reason,
        since_ms = EXCLUDED.since_ms, down_ips = EXCLUDED.down_ips`,
      [nodeId, drop, put.map((v) => v.key), put.map((v) => v.subject), put.map((v) => v.state), put.map((v) => v.reason),
        put.map((v) => v.sinceMs), put.map((v) => JSON.stringify(v.downIps))]);
    });
  }

  healthRows(subject?: string): Promise<HealthRow[]> {
    return this.read(async () => {
      const r = subject === undefined
        ? await this.pool.query<HealthSqlRow>('SELECT * FROM health ORDER BY node_id, key')
        : await this.pool.query<HealthSqlRow>('SELECT * FROM health WHERE subject = $1 ORDER BY node_id, key', [subject]);
      return r.rows.map(healthRowOf);
    });
  }

  subscribe(fn: Subscriber): () => void { return this.subs.add(fn); }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnect) clearTimeout(this.reconnect);
    if (this.catchUpRetry) clearTimeout(this.catchUpRetry);
    await this.catchingUp;
    await this.dropListener?.();
    // A graceful goodbye to a frozen server would wait for ever: bounded.
    await bounded(this.pool.end(), this.timeouts.connectTimeoutMs);
  }
}

function stripUndefined(o: Partial<StoreTimeouts>): Partial<StoreTimeouts> {
  const out: Partial<StoreTimeouts> = {};
  if (o.timeoutMs !== undefined) out.timeoutMs = o.timeoutMs;
  if (o.connectTimeoutMs !== undefined) out.connectTimeoutMs = o.connectTimeoutMs;
  return out;
}
