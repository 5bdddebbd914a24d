import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { gaapSettings, type GaapSettings } from '../../control/gaap.js';
import type { Limits } from '../../control/upstreams.js';
import { NO_L4, type L4Reporter } from '../../model/l4-report.js';
import type { Store } from '../../store/store.js';
import type { HealthReporter } from '../health-reporter.js';
import { TencentError, toTencentError } from './errors.js';
import { checkFields, unflatten, type Params } from './params.js';
import { parseAuthorization, verifyTc3 } from './signature.js';
import { actionOf, serviceFor, SERVICES } from './services.js';
import type { AdminObserver } from '../../model/stats.js';
import { isRegionName } from '../../model/region.js';
import { errorGuard } from '../kit/guard.js';
import { parseJsonObject } from '../kit/json-body.js';
import { resolveKeyPair } from '../kit/key-pair.js';
import { tenantRateLimiter, type TenantRateLimiter } from '../kit/rate-limit.js';
import { keepRawBodies, rawBody } from '../kit/raw-body.js';

/** Tencent's documented limit: 20 requests per second per tenant and action. */
export const TENCENT_DEFAULT_RATE = 20;

export interface TencentOptions {
  store: Store;
  limits: Limits;
  health: HealthReporter;
  defaultRegion: string;
  /** GAAP's catalogue defaults and quotas (default: one region named defaultRegion). */
  gaap?: GaapSettings;
  /** The node's L4 data plane and checks, read by GAAP's describes (default: nothing served here, every origin normal). */
  l4?: L4Reporter;
  /** Requests per second per action per tenant (Tencent documents 20). */
  ratePerSecond?: number;
  /** Where those requests are counted (default: in this process, at ratePerSecond). */
  rateLimiter?: TenantRateLimiter;
  /** Clock, in Unix seconds (tests move it). */
  now?: () => number;
  /** Counts each request by action and answer code (metrics). */
  observer?: AdminObserver;
}

/** The action a request names when it is one of ours; anything else counts as `unknown` (a label never carries a client's string). */
function knownAction(name: unknown): string {
  return typeof name === 'string' && SERVICES.some((s) => s.actions.has(name)) ? name : 'unknown';
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
  const gaap = opts.gaap ?? gaapSettings({ defaultRegion: opts.defaultRegion });
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const l4 = opts.l4 ?? NO_L4;
  const limiter = opts.rateLimiter ?? tenantRateLimiter(opts.ratePerSecond ?? TENCENT_DEFAULT_RATE);
  const guard = errorGuard<TencentError>({
    known: (err) => toTencentError(err),
    internal: () => new TencentError('InternalError', 'an internal error occurred'),
    tooLarge: (message) => new TencentError('RequestSizeLimitExceeded', message),
    badRequest: (_status, message) => new TencentError('InvalidRequest', message),
    what: 'tencent dialect: internal error',
  });
  const bodyErrors = {
    notJson: () => new TencentError('InvalidParameter.FormatError', 'the request body is not valid JSON'),
    notObject: () => new TencentError('InvalidParameter.FormatError', 'the request body must be a JSON object'),
    prototypeKey: (path: readonly (string | number)[]) => new TencentError('UnknownParameter', `the parameter \`${path.join('.')}\` is not recognized`),
  };

  async function handle(req: FastifyRequest): Promise<Params> {
    const body = rawBody(req);
    const q = req.url.indexOf('?');
    const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
    const cred = parseAuthorization(req.headers.authorization);
    const key = await resolveKeyPair(opts.store, cred.secretId);
    if (!key) throw new TencentError('AuthFailure.SecretIdNotFound', `the SecretId ${cred.secretId} does not exist`);
    verifyTc3({ method: req.method, query: rawQuery, headers: req.headers, body }, cred, key.secretKey, now());

    const actionName = req.headers['x-tc-action'];
    if (typeof actionName !== 'string' || actionName === '') throw new TencentError('MissingParameter', 'the parameter `X-TC-Action` is required');
    const service = serviceFor(cred.service, req.headers['x-tc-version']);
    const action = actionOf(service, actionName);
    const region = regionOf(req.headers['x-tc-region'], opts.defaultRegion);

    if (!(await limiter.take(key.tenantId, `${service.name}:${actionName}`))) {
      throw new TencentError('RequestLimitExceeded', `more than ${limiter.perSecond} ${actionName} requests per second`);
    }

    const raw = req.method === 'GET' ? unflatten(new URLSearchParams(rawQuery)) : parseJsonObject(body, bodyErrors);
    const params = checkFields(action.params, raw, req.method === 'GET', action.open);
    return action.run({ store: opts.store, limits: opts.limits, health: opts.health, tenantId: key.tenantId, region, gaap, l4 }, params);
  }

  const counted = (req: FastifyRequest, code: string): void => {
    if (code === 'ServiceUnavailable') opts.observer?.storeError();
    opts.observer?.request('tencent', knownAction(req.headers['x-tc-action']), code);
  };

  return async (app) => {
    // The signature covers the bytes as sent: keep them raw.
    keepRawBodies(app);
    const answer = async (req: FastifyRequest, reply: FastifyReply) => {
      const requestId = randomUUID();
      const trace = req.headers['x-tc-traceid'];
      if (typeof trace === 'string') void reply.header('X-TC-TraceId', trace);
      try {
        const out = await handle(req);
        opts.observer?.request('tencent', knownAction(req.headers['x-tc-action']), 'ok');
        return { Response: { ...out, RequestId: requestId } };
      } catch (err) {
        const te = guard.fromHandler(err, req.log);
        counted(req, te.code);
        return { Response: { Error: { Code: te.code, Message: te.message }, RequestId: requestId } };
      }
    };
    app.post('/', { schema: { hide: true } }, answer);
    app.get('/', { schema: { hide: true } }, answer);
    app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
      const te = guard.fromFramework(err, req.log);
      counted(req, te.code);
      void reply.status(200).send({ Response: { Error: { Code: te.code, Message: te.message }, RequestId: randomUUID() } });
    });
  };
}
