import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Every content type parsed as raw bytes: the dialects' signatures cover the body exactly as
 * sent, so nothing may reshape it (or refuse it) before the dialect has read it.
 */
export function keepRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
}

/** The request's body bytes (empty when it had none). */
export function rawBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}
