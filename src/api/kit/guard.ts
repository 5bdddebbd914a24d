import type { FastifyBaseLogger } from 'fastify';

/** What a dialect answers for errors it did not raise itself. */
export interface GuardOptions<E> {
  /** The dialect's own error for `err`, or null when it is not one the dialect knows. */
  known(err: unknown): E | null;
  /** The dialect's internal error, for anything else. */
  internal(): E;
  /** The dialect's body-too-large error (fastify's 413, before any handler ran). */
  tooLarge(limitMessage: string): E;
  /** The dialect's error for another request fastify refused before routing (bad content, etc.). */
  badRequest(status: number, message: string): E;
  /** What the log line says, e.g. `tencent dialect: internal error`. */
  what: string;
}

export interface ErrorGuard<E> {
  /** A handler's error in the dialect's terms; an unknown one is logged once, here. */
  fromHandler(err: unknown, log: FastifyBaseLogger, context?: Record<string, unknown>): E;
  /** An error fastify raised outside the handler (body limit, parser), in the dialect's terms. */
  fromFramework(err: { statusCode?: number; message: string }, log: FastifyBaseLogger): E;
}

/** One place where a dialect turns every error into an answer it documents. */
export function errorGuard<E>(o: GuardOptions<E>): ErrorGuard<E> {
  const fromHandler = (err: unknown, log: FastifyBaseLogger, context: Record<string, unknown> = {}): E => {
    const mine = o.known(err);
    if (mine) return mine;
    log.error({ err, ...context }, o.what);
    return o.internal();
  };
  return {
    fromHandler,
    fromFramework(err, log) {
      if (err.statusCode === 413) return o.tooLarge(err.message);
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return o.badRequest(err.statusCode, err.message);
      return fromHandler(err, log);
    },
  };
}
