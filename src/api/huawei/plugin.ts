import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { lookupToken } from '../../control/tenants.js';
import type { Limits } from '../../control/upstreams.js';
import { newId } from '../../model/ids.js';
import type { Store } from '../../store/store.js';
import type { HealthReporter } from '../health-reporter.js';
import { errorGuard } from '../kit/guard.js';
import { parseJsonObject } from '../kit/json-body.js';
import { resolveKeyPair } from '../kit/key-pair.js';
import { tenantRateLimiter, type TenantRateLimiter } from '../kit/rate-limit.js';
import { keepRawBodies, rawBody } from '../kit/raw-body.js';
import { checkFields, type Params } from '../params.js';
import { apig, HuaweiError, instanceNotFound, invalid, report, toHuaweiError } from './errors.js';
import { OPERATIONS, type Operation, type OperationContext } from './operations.js';
import type { AdminObserver } from '../../model/stats.js';
import { StoreUnavailableError } from '../../store/errors.js';
import { badSignature, parseAkSk, verifyAkSk } from './signature.js';

/** Requests per second per tenant and operation before APIG.9008. */
export const HUAWEI_DEFAULT_RATE = 100;

export interface HuaweiOptions {
  store: Store;
  limits: Limits;
  health: HealthReporter;
  /** Requests per second per tenant and operation before APIG.9008. */
  ratePerSecond?: number;
  /** Where those requests are counted (default: in this process, at ratePerSecond). */
  rateLimiter?: TenantRateLimiter;
  /** Clock in epoch milliseconds (tests move it). */
  now?: () => number;
  /** Counts each request by operation and answer code (metrics). */
  observer?: AdminObserver;
}

export const HUAWEI_PREFIX = '/v2/:project_id/apigw/instances/:instance_id';

const OPERATION_BY_ROUTE = new Map(OPERATIONS.map((op) => [`${op.method} ${HUAWEI_PREFIX}${op.path}`, op.name]));

/** The tenant a request speaks for: from an AK/SK signature or an X-Auth-Token. */
async function authenticate(opts: HuaweiOptions, req: FastifyRequest, body: Buffer, now: number): Promise<string | null> {
  const auth = req.headers.authorization;
  if (auth !== undefined && auth !== '') {
    const cred = parseAkSk(auth);
    if (!cred) throw badSignature('the Authorization header is not an SDK-HMAC-SHA256 signature');
    const key = await resolveKeyPair(opts.store, cred.accessKey);
    if (!key) throw badSignature(`the access key ${cred.accessKey} does not exist`);
    verifyAkSk({ method: req.method, url: req.url, headers: req.headers, body }, cred, key.secretKey, now);
    return key.tenantId;
  }
  const token = req.headers['x-auth-token'];
  if (typeof token !== 'string' || token === '') {
    throw new HuaweiError(401, 'APIG.1000', 'The token must be specified: send X-Auth-Token or sign the request with AK/SK (SDK-HMAC-SHA256)');
  }
  const t = await lookupToken(opts.store, token);
  if (!t) throw new HuaweiError(401, 'APIG.1002', 'Incorrect token or token resolution failed');
  // An operator token may act in any project; a tenant token only in its tenant's.
  return t.tenantId;
}

async function scope(opts: HuaweiOptions, req: FastifyRequest, tenantId: string | null): Promise<Omit<OperationContext, 'store' | 'limits' | 'health'>> {
  const { project_id: projectId, instance_id: instanceId } = req.params as { project_id: string; instance_id: string };
  const project = await opts.store.get('project', projectId);
  if (!project) throw new HuaweiError(403, 'APIG.1005', `No permissions to request this method (project ${projectId} is not one of the caller's projects)`);
  if (tenantId !== null && project.tenantId !== tenantId) {
    throw new HuaweiError(400, 'APIG.1201', `The resources belong to different tenants (project ${projectId} is another tenant's)`);
  }
  const header = req.headers['x-project-id'];
  if (typeof header === 'string' && header !== '' && header !== projectId) {
    throw new HuaweiError(400, 'APIG.1201', `The resources belong to different tenants (X-Project-Id ${header} is not the project ${projectId} in the path)`);
  }
  const instance = await opts.store.get('instance', instanceId);
  if (!instance) throw instanceNotFound(instanceId);
  return { tenantId: project.tenantId, project, instance };
}

const BODY_ERRORS = {
  notJson: () => invalid('body', ' (the request body is not valid JSON)'),
  notObject: () => invalid('body', ' (the request body must be a JSON object)'),
  prototypeKey: (path: readonly (string | number)[]) => report({ kind: 'unknown', path }),
};

/**
 * Huawei Cloud APIG v2 VPC channels (spec D) under /v2/{project_id}/apigw/instances/{instance_id}
 * of the admin listener: real HTTP statuses, `{error_code, error_msg}` errors and an
 * X-Request-Id on every answer.
 */
export function huaweiDialect(opts: HuaweiOptions): FastifyPluginAsync {
  const now = opts.now ?? Date.now;
  const limiter = opts.rateLimiter ?? tenantRateLimiter(opts.ratePerSecond ?? HUAWEI_DEFAULT_RATE);
  const rate = limiter.perSecond;
  const guard = errorGuard<HuaweiError>({
    known: toHuaweiError,
    internal: () => apig('internal'),
    tooLarge: (message) => invalid('body', ` (${message})`),
    badRequest: (status, message) => new HuaweiError(status, 'APIG.2000', message),
    what: 'huawei dialect: internal error',
  });

  async function run(op: Operation, req: FastifyRequest): Promise<Params | null> {
    const raw = rawBody(req);
    const tenantId = await authenticate(opts, req, raw, now());
    const where = await scope(opts, req, tenantId);
    if (!(await limiter.take(where.tenantId, op.name))) {
      throw apig('tooManyRequests', { detail: ` (more than ${rate} ${op.name} requests per second)` });
    }
    const body = op.body ? checkFields(op.body, parseJsonObject(raw, BODY_ERRORS), [], { report }, true) : {};
    const query = op.query ? checkFields(op.query, req.query as Params, [], { report, fromText: true }, true) : {};
    const { project_id: _p, instance_id: _i, ...ids } = req.params as Record<string, string>;
    return op.run({ ...where, store: opts.store, limits: opts.limits, health: opts.health }, { ids, query, body });
  }

  function fail(reply: FastifyReply, e: HuaweiError) {
    return reply.status(e.status).header('content-type', 'application/json').send({ error_code: e.code, error_msg: e.message });
  }

  return async (app) => {
    // The signature covers the bytes as sent: keep them raw.
    keepRawBodies(app);
    app.addHook('onRequest', async (_req, reply) => { void reply.header('X-Request-Id', newId()); });

    for (const op of OPERATIONS) {
      app.route({
        method: op.method,
        url: HUAWEI_PREFIX + op.path,
        // APIG's own reference documents these; the operator API's description stays its own.
        schema: { hide: true },
        handler: async (req, reply) => {
          try {
            const out = await run(op, req);
            opts.observer?.request('huawei', op.name, 'ok');
            return op.status === 204 ? reply.status(204).send() : reply.status(op.status).send(out);
          } catch (err) {
            if (err instanceof StoreUnavailableError) opts.observer?.storeError();
            const e = guard.fromHandler(err, req.log, { operation: op.name });
            opts.observer?.request('huawei', op.name, e.code);
            return fail(reply, e);
          }
        },
      });
    }
    app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
      const e = guard.fromFramework(err, req.log);
      // Refused before the handler (body too large, say): the route tells the operation.
      opts.observer?.request('huawei', OPERATION_BY_ROUTE.get(`${req.method} ${req.routeOptions.url}`) ?? 'unknown', e.code);
      return fail(reply, e);
    });
  };
}
