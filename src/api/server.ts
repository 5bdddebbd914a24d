import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import swagger from '@fastify/swagger';
import type { Duplex } from 'node:stream';
import { Ajv } from 'ajv';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { lookupToken } from '../control/tenants.js';
import { newId } from '../model/ids.js';
import { DEFAULT_LIMITS, type Limits } from '../control/upstreams.js';
import { gaapSettings, type GaapSettings } from '../control/gaap.js';
import { NO_L4, type L4Reporter } from '../model/l4-report.js';
import { ApiError, errorHandler } from './native/errors.js';
import { registerNativeRoutes } from './native/routes.js';
import { noHealth, type HealthReporter } from './health-reporter.js';
import { apig } from './huawei/errors.js';
import { keepRawBodies } from './kit/raw-body.js';
import { NO_STATS, type AdminObserver, type StatsReader } from '../model/stats.js';

export interface AdminServerOptions {
  store: Store;
  logger: Logger;
  defaultRegion?: string;
  limits?: Limits;
  health?: HealthReporter;
  /** The L4 catalogue default and limits (default: one region named after defaultRegion). */
  gaap?: GaapSettings;
  /** The node's L4 data plane and its checks, read by the listener and binding views (default: nothing served here). */
  l4?: L4Reporter;
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP. */
  tls?: { cert: string; key: string };
  /** Further API faces (the cloud dialects) mounted on the same listener. */
  dialects?: FastifyPluginAsync[];
  /** GET /metrics (operator token): the node's metrics in the Prometheus text format. */
  metrics?: { contentType: string; text(): Promise<string> };
  /** This node's numbers per upstream (GET /v1/upstreams/{id}/stats). */
  stats?: StatsReader;
  /** Counts the operator API's requests (the dialects count theirs). */
  observer?: AdminObserver;
}

/** The operator API's error code in an answer body, or 'ok'. */
function nativeCode(status: number, payload: unknown): string {
  if (status < 400) return 'ok';
  try {
    const code = typeof payload === 'string' ? (JSON.parse(payload) as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? code : 'unknown';
  } catch {
    return 'unknown';
  }
}

// Bodies are validated strictly (a string is not a number, an unknown field is an error);
// query strings and path parameters arrive as text and are coerced.
function compilers() {
  const base = { allErrors: false, strict: false } as const;
  const body = new Ajv({ ...base, coerceTypes: false, useDefaults: true, removeAdditional: false });
  const text = new Ajv({ ...base, coerceTypes: 'array', useDefaults: true, removeAdditional: false });
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === 'body' ? body : text).compile(schema);
}

/** `/` followed by anything, but not `//` (which some parsers read as a scheme-relative authority). */
function isOriginForm(target: string): boolean {
  return target.charCodeAt(0) === 0x2f && target.charCodeAt(1) !== 0x2f;
}

export async function buildAdminServer(opts: AdminServerOptions): Promise<FastifyInstance> {
  // Fastify's types split on `https`; the instance is the same either way.
  const app = Fastify({
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' as const } } : {}),
    loggerInstance: opts.logger.child({ component: 'admin' }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(compilers());
  app.setErrorHandler(errorHandler);
  const observer = opts.observer;
  app.setNotFoundHandler((req, reply) => {
    observer?.request('native', 'unmatched', 'not_found');
    void reply.status(404).send({ code: 'not_found', message: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` });
  });
  // Huawei's clients read APIG error bodies: an unknown path under /v2 is answered their way,
  // from a scope of its own that keeps bodies raw like the dialect does, so that no body
  // (an empty one sent as JSON, say) is parsed, and refused, before the path is found unknown.
  await app.register(async (v2) => {
    keepRawBodies(v2);
    v2.setNotFoundHandler((req, reply) => {
      const e = apig('notPublished', { detail: ` (${req.method} ${req.url.split('?')[0]})` });
      observer?.request('huawei', 'unmatched', e.code);
      void reply.status(e.status).header('X-Request-Id', newId()).send({ error_code: e.code, error_msg: e.message });
    });
  }, { prefix: '/v2' });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'sluice operator API', version: '1' },
      components: { securitySchemes: { operatorToken: { type: 'http', scheme: 'bearer' } } },
      security: [{ operatorToken: [] }],
    },
  });

  // The admin listener is no proxy: only origin-form targets (`/path?query`). Absolute-form
  // (`http://host/v1/...`), authority-form and `*` are refused before any routing, so no face
  // sees a target in a form its authentication was not written for.
  app.addHook('onRequest', async (req, reply) => {
    if (!isOriginForm(req.raw.url ?? '')) {
      return reply.status(400).header('connection', 'close').send({ code: 'bad_request_target', message: 'the request target must be a path (origin-form): the admin listener is not a proxy' });
    }
  });

  // CONNECT (authority-form) never reaches a route: Node hands it to 'connect' listeners only.
  app.server.on('connect', (_req: unknown, socket: Duplex) => {
    const body = JSON.stringify({ code: 'bad_request_target', message: 'the admin listener is not a proxy: no CONNECT' });
    socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  });

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The operator token is a hook of the scope the operator routes live in, not a test on the
  // raw URL: whatever spelling of a path the router resolved to one of them (percent-encoded
  // segments, a trailing slash), the request went through this check first.
  await app.register(async (operator) => {
    // Counted by the route pattern the router matched (bounded by the API), never the raw path.
    if (observer) {
      operator.addHook('onSend', async (req, reply, payload) => {
        const code = nativeCode(reply.statusCode, payload);
        if (code === 'store_unavailable') observer.storeError();
        observer.request('native', `${req.method} ${req.routeOptions.url ?? 'unmatched'}`, code);
        return payload;
      });
    }
    operator.addHook('onRequest', async (req) => {
      const h = req.headers.authorization;
      const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
      if (!m) throw new ApiError(401, 'unauthorized', 'Authorization: Bearer <operator token> is required');
      const token = await lookupToken(opts.store, m[1]!);
      if (!token || token.tenantId !== null) throw new ApiError(401, 'unauthorized', 'the operator token is not valid');
    });
    await registerNativeRoutes(operator, {
      store: opts.store,
      limits: opts.limits ?? DEFAULT_LIMITS,
      defaultRegion: opts.defaultRegion ?? 'default',
      health: opts.health ?? noHealth,
      gaap: opts.gaap ?? gaapSettings({ defaultRegion: opts.defaultRegion ?? 'default' }),
      l4: opts.l4 ?? NO_L4,
      stats: opts.stats ?? NO_STATS,
    });
    const metrics = opts.metrics;
    if (metrics) {
      operator.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.header('content-type', metrics.contentType).send(await metrics.text()));
    }
  });
  // Each dialect is an encapsulated plugin: its own body parsers (raw bytes for signing)
  // and error handler stay inside it.
  for (const d of opts.dialects ?? []) await app.register(d);
  return app;
}
