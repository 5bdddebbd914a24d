import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { messageOf } from '../model/errors.js';
import type { RateLimiterFactory, TenantRateLimiter } from '../model/rate-limit.js';
import type { StoreLog } from './postgres.js';
import { DEFAULT_STORE_TIMEOUTS, type StoreTimeouts } from './store.js';

/** The table every node counts in; each face's keys carry its own prefix. */
const TABLE = 'rate_limits';
/** After a call that failed or ran out of time, the node counts alone this long before asking the database again. */
const DEFAULT_RETRY_MS = 1000;
/** How often rows whose window ended long ago are deleted (the library's own sweep is off: it outlives close). */
const SWEEP_MS = 5 * 60_000;

/**
 * What a CREATE TABLE IF NOT EXISTS that lost the race gets: duplicate_table, duplicate_object
 * (the table's row type), or the unique violation on the catalogue that says the same.
 */
function createdMeanwhile(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '42P07' || code === '42710' || (code === '23505' && /pg_type_typname_nsp_index|pg_class_relname_nsp_index|already exists/.test(messageOf(err)));
}

export interface PgRateLimitOptions extends Partial<StoreTimeouts> {
  /** Told once when the database stops answering the limiter, and when it answers again. */
  logger?: StoreLog;
  retryMs?: number;
}

export interface PgRateLimits {
  /** One face's limiter, counted across every node on the database. */
  limiter: RateLimiterFactory;
  close(): Promise<void>;
}

const ignore = (): void => undefined;

/**
 * Per-tenant API rates counted in PostgreSQL, so that a budget holds across the nodes of
 * a cluster. A small pool of its own (the store's pool stays for the store's calls), with
 * the store's deadlines on the server and the client, and one more over each whole call.
 *
 * When the database does not answer in time, the request is counted by a limiter in this
 * process with the same budget (fail open, bounded per node): refusing with the face's
 * rate code would tell clients to slow down when the fault is ours, and the store calls
 * the request goes on to make have deadlines of their own and answer with the face's
 * unavailable code. For `retryMs` after a failure the database is not asked, so that an
 * outage does not add a deadline's wait to every request.
 */
export async function openPgRateLimits(url: string, opts: PgRateLimitOptions = {}): Promise<PgRateLimits> {
  const timeouts: StoreTimeouts = {
    timeoutMs: opts.timeoutMs ?? DEFAULT_STORE_TIMEOUTS.timeoutMs,
    connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_STORE_TIMEOUTS.connectTimeoutMs,
  };
  const t = timeouts.timeoutMs;
  // The client gives up a little after the server would have cancelled the statement.
  const callDeadline = t + Math.max(100, Math.round(t / 10));
  const retryMs = opts.retryMs ?? DEFAULT_RETRY_MS;
  const pool = new pg.Pool({
    connectionString: url,
    statement_timeout: t,
    lock_timeout: t,
    query_timeout: callDeadline,
    connectionTimeoutMillis: timeouts.connectTimeoutMs,
    keepAlive: true,
    max: 4,
  });
  pool.on('error', ignore);

  // The table is made once, at start, and the faces' limiters are told it exists. Nodes that
  // start together race on CREATE TABLE IF NOT EXISTS, which PostgreSQL does not serialise:
  // the loser's "already exists" means the table is there.
  try {
    await withDeadline(new Promise<void>((resolve, reject) => {
      void new RateLimiterPostgres({ storeClient: pool, storeType: 'pool', tableName: TABLE, keyPrefix: 'sluice', points: 1, duration: 1, clearExpiredByTimeout: false },
        (err?: unknown) => (!err || createdMeanwhile(err) ? resolve() : reject(err instanceof Error ? err : new Error(String(err)))));
    }), callDeadline + timeouts.connectTimeoutMs, 'creating the rate limit table');
  } catch (err) {
    await pool.end().catch(ignore);
    throw err;
  }

  const sweep = setInterval(() => {
    pool.query(`DELETE FROM ${TABLE} WHERE expire < $1`, [Date.now() - 60_000]).catch(ignore);
  }, SWEEP_MS);
  sweep.unref();

  let downUntil = 0;
  let down = false;
  const log = opts.logger;

  const limiter: RateLimiterFactory = (face: string, perSecond: number): TenantRateLimiter => {
    const shared = new RateLimiterPostgres({
      storeClient: pool, storeType: 'pool', tableName: TABLE, tableCreated: true, clearExpiredByTimeout: false,
      keyPrefix: face, points: perSecond, duration: 1,
      // A key over its budget is refused here until its window ends, without asking the database.
      inMemoryBlockOnConsumed: perSecond,
    });
    const local = new RateLimiterMemory({ keyPrefix: face, points: perSecond, duration: 1 });
    const counted = async (l: RateLimiterMemory | RateLimiterPostgres, key: string): Promise<boolean> => {
      try {
        await l.consume(key);
        return true;
      } catch (err) {
        if (err instanceof RateLimiterRes) return false;
        throw err;
      }
    };
    return {
      perSecond,
      async take(tenantId, operation) {
        const key = `${tenantId}:${operation}`;
        if (Date.now() >= downUntil) {
          try {
            const ok = await withDeadline(counted(shared, key), callDeadline, 'counting the request');
            if (down) { down = false; log?.info({}, 'the database counts API rates again'); }
            return ok;
          } catch (err) {
            downUntil = Date.now() + retryMs;
            if (!down) { down = true; log?.warn({ err }, 'the database does not count API rates; counting on this node alone'); }
          }
        }
        return counted(local, key);
      },
    };
  };

  return {
    limiter,
    async close() {
      clearInterval(sweep);
      // A frozen server must not hold shutdown: the pool's end is bounded like the store's.
      await withDeadline(pool.end(), timeouts.connectTimeoutMs, 'closing the rate limit pool').catch(ignore);
    },
  };
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the database did not answer within ${ms} ms (${what})`)), ms);
  });
  // A late answer (or failure) after the deadline must not surface as an unhandled rejection.
  p.catch(ignore);
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
