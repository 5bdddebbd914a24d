import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Limits } from '../../control/upstreams.js';
import type { Store } from '../../store/store.js';
import type { HealthReporter } from '../health-reporter.js';
import { TencentError, toTencentError } from './errors.js';
import { checkFields, unflatten, type Params } from './params.js';
import { parseAuthorization, verifyTc3 } from './signature.js';
import { actionOf, serviceFor } from './services.js';
import { isRegionName } from '../../model/region.js';

export interface TencentOptions {
  store: Store;
  limits: Limits;
  health: HealthReporter;
  defaultRegion: string;
  /** Requests per second per action per tenant (Tencent documents 20). */
  ratePerSecond?: number;
  /** Clock, in Unix seconds (tests move it). */
  now?: () => number;
}

/** The request's region: X-TC-Region in the form every face accepts, else the gateway's default. */
function regionOf(header: string | string[] | undefined, fallback: string): string {
  if (header === undefined || header === '') return fallback;
  if (typeof header !== 'string' || !isRegionName(header)) throw new TencentError('UnsupportedRegion', `the region \`X-TC-Region\` "${String(header).slice(0, 64)}" is not a region name`);
  return header;
}

/**
 * Tencent Cloud API 3.0 on `POST /` and `GET /` of the admin listener: TC3 authentication,
 * the `Response` envelope, and dispatch to a service by API version (services.ts). Every
 * answer is HTTP 200, errors included: the SDK reads only `Response.Error`.
 */
export function tencentDialect(opts: TencentOptions): FastifyPluginAsync {
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const limiter = new RateLimiterMemory({ points: opts.ratePerSecond ?? 20, duration: 1 });

  async function handle(req: FastifyRequest): Promise<Params> {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const q = req.url.indexOf('?');
    const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
    const cred = parseAuthorization(req.headers.authorization);
    const key = await opts.store.findUnique('keypair', cred.secretId);
    if (!key) throw new TencentError('AuthFailure.SecretIdNotFound', `the SecretId ${cred.secretId} does not exist`);
    verifyTc3({ method: req.method, query: rawQuery, headers: req.headers, body }, cred, key.secretKey, now());

    const actionName = req.headers['x-tc-action'];
    if (typeof actionName !== 'string' || actionName === '') throw new TencentError('MissingParameter', 'the parameter `X-TC-Action` is required');
    const service = serviceFor(cred.service, req.headers['x-tc-version']);
    const action = actionOf(service, actionName);
    const region = regionOf(req.headers['x-tc-region'], opts.defaultRegion);

    try {
      await limiter.consume(`${key.tenantId}:${service.name}:${actionName}`);
    } catch {
      throw new TencentError('RequestLimitExceeded', `more than ${opts.ratePerSecond ?? 20} ${actionName} requests per second`);
    }

    let raw: unknown;
    if (req.method === 'GET') raw = unflatten(new URLSearchParams(rawQuery));
    else {
      try { raw = body.length ? JSON.parse(body.toString('utf8')) : {}; } catch {
        throw new TencentError('InvalidParameter.FormatError', 'the request body is not valid JSON');
      }
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TencentError('InvalidParameter.FormatError', 'the request body must be a JSON object');
    const params = checkFields(action.params, raw as Params, req.method === 'GET');
    return action.run({ store: opts.store, limits: opts.limits, health: opts.health, tenantId: key.tenantId, region }, params);
  }

  return async (app) => {
    // The signature covers the bytes as sent: keep them raw.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const answer = async (req: FastifyRequest, reply: FastifyReply) => {
      const requestId = randomUUID();
      const trace = req.headers['x-tc-traceid'];
      if (typeof trace === 'string') void reply.header('X-TC-TraceId', trace);
      try {
        const out = await handle(req);
        return { Response: { ...out, RequestId: requestId } };
      } catch (err) {
        let te = toTencentError(err);
        if (!te) {
          req.log.error({ err }, 'tencent dialect: internal error');
          te = new TencentError('InternalError', 'an internal error occurred');
        }
        return { Response: { Error: { Code: te.code, Message: te.message }, RequestId: requestId } };
      }
    };
    app.post('/', { schema: { hide: true } }, answer);
    app.get('/', { schema: { hide: true } }, answer);
    app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
      const code = err.statusCode === 413 ? 'RequestSizeLimitExceeded' : 'InvalidRequest';
      void reply.status(200).send({ Response: { Error: { Code: code, Message: err.message }, RequestId: randomUUID() } });
    });
  };
}
