/**
 * The store did not answer within its deadline, or could not be reached at all. Faces answer
 * it with their own "unavailable" error; the data plane keeps serving its last snapshot.
 * Whether a write that timed out committed is unknown: callers may retry, never assume.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'store_unavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

// SQLSTATEs that mean "no answer in time" or "no usable connection", not a bad request:
// query_canceled (statement_timeout), lock_not_available (lock_timeout), class 08
// (connection exceptions), admin/crash shutdown, cannot_connect_now, idle-in-transaction timeout.
const PG_UNAVAILABLE = /^(57014|55P03|08...|57P0[1-4]|25P03)$/;

// What pg and node:net say when the connection is gone or never came.
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
const PG_QUERY_TIMEOUT = ['Query read timeout'];
const PG_CONNECT_TIMEOUT = ['timeout exceeded when trying to connect', 'Connection terminated due to connection timeout', 'timeout expired'];
const PG_CONNECTION_LOST = [
  'Connection terminated',
  'Client was closed and is not queryable',
  'Client has encountered a connection error and is not queryable',
];

/** `err` as a StoreUnavailableError when it means the PostgreSQL server did not answer; otherwise `err` itself. */
export function fromPgError(err: unknown, t: { timeoutMs: number; connectTimeoutMs: number }): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return err;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  const starts = (list: string[]) => list.some((m) => message.startsWith(m));
  const fail = (text: string) => new StoreUnavailableError(`the configuration store ${text} (${message || code})`, { cause: err });
  if (PG_UNAVAILABLE.test(code) || starts(PG_QUERY_TIMEOUT)) return fail(`did not answer within ${t.timeoutMs} ms`);
  if (starts(PG_CONNECT_TIMEOUT)) return fail(`did not answer a connection within ${t.connectTimeoutMs} ms`);
  if (NET_UNAVAILABLE.has(code) || starts(PG_CONNECTION_LOST)) return fail('is unreachable');
  return err;
}

/** `err` as a StoreUnavailableError when SQLite stayed locked past busy_timeout; otherwise `err` itself. */
export function fromSqliteError(err: unknown, timeoutMs: number): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
    return new StoreUnavailableError(`the configuration store stayed locked for more than ${timeoutMs} ms (${(err as Error).message})`, { cause: err });
  }
  return err;
}
