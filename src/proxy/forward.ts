import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Outcome } from '../health/checker.js';
import type { Upstream } from '../model/types.js';
import type { MemberTarget, RoutePlan } from '../runtime/snapshot.js';
import { classify, sendProxyError, type ProxyFailure } from './errors.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';

/** Bodies up to this size are buffered so that a failed attempt can be replayed. */
export const REPLAY_BUFFER_LIMIT = 64 * 1024;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** What the forwarder tells the rest of the node. */
export interface ProxyHooks {
  /**
   * Every attempt's outcome on an upstream with passive checks on; `status` is 0 when
   * there was no response.
   */
  outcome(target: MemberTarget, outcome: Outcome, status: number): void;
  /** No member was healthy and the upstream is fail-open: traffic went to unhealthy members. */
  failOpen(upstream: Upstream): void;
}

export const NO_HOOKS: ProxyHooks = { outcome() {}, failOpen() {} };

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  plan: RoutePlan;
  /** Path and query to send upstream. */
  path: string;
  /** Request path without query, for URI hashing. */
  hashPath: string;
  clientIp: string;
  clientHost: string;
  hooks: ProxyHooks;
}

/** The request body as it will be sent: none, buffered (replayable), or the live stream. */
type Body = null | Buffer | IncomingMessage;

/**
 * One client request through to a response: picks a member, dispatches on its pool,
 * streams the answer back with backpressure, and retries on another member when the rules
 * allow (see README, "Retries").
 */
class Exchange implements Dispatcher.DispatchHandler {
  private readonly tried = new Set<MemberTarget>();
  private attempts = 0;
  private target: MemberTarget | null = null;
  private controller: Dispatcher.DispatchController | null = null;
  /** The current attempt has been written to an upstream socket. */
  private sent = false;
  private responded = false;
  private finished = false;
  private lastFailure: ProxyFailure | null = null;
  private readonly headers: string[];
  private readonly eligible = (t: MemberTarget): boolean => t.state.healthy && !this.tried.has(t);
  private readonly untried = (t: MemberTarget): boolean => !this.tried.has(t);

  constructor(private readonly f: ForwardRequest, private readonly body: Body) {
    const host = f.plan.upstream.upstream.upstreamHost ?? f.clientHost;
    this.headers = upstreamRequestHeaders(f.req, { clientIp: f.clientIp, clientHost: f.clientHost, host });
    f.res.once('close', () => {
      if (this.finished) return;
      this.finished = true;
      this.controller?.abort(new Error('client went away'));
    });
  }

  start(): void {
    const plan = this.f.plan.upstream;
    const ctx = { clientIp: this.f.clientIp, path: this.f.hashPath, eligible: this.eligible };
    let t = plan.balancer.pick(ctx);
    // Fail open: with every member marked unhealthy, trying one beats refusing all.
    if (!t && plan.upstream.failMode === 'open' && this.attempts === 0) {
      t = plan.balancer.pick({ ...ctx, eligible: this.untried });
      if (t) this.f.hooks.failOpen(plan.upstream);
    }
    if (!t) {
      this.finished = true;
      sendProxyError(this.f.res, this.lastFailure ?? { code: 'no_healthy_upstream', message: `no eligible member in upstream ${plan.upstream.id}` });
      return;
    }
    this.attempts++;
    this.tried.add(t);
    this.target = t;
    this.sent = false;
    this.controller = null;
    plan.balancer.onStart(t);
    const timeout = this.f.plan.route.timeoutMs;
    const req = this.f.req;
    t.pool.dispatch({
      path: this.f.path,
      method: req.method as Dispatcher.HttpMethod,
      headers: this.headers,
      body: this.body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      servername: t.servername,
    } as Dispatcher.DispatchOptions, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.sent = true;
    if (this.finished) controller.abort(new Error('client went away'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (status < 200) return;
    this.controller = controller;
    this.responded = true;
    const res = this.f.res;
    res.writeHead(status, statusMessage || undefined, clientResponseHeaders(headers));
    this.report(this.target!, 'ok', status);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.f.res.write(chunk)) {
      controller.pause();
      this.f.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.done();
    this.finished = true;
    const res = this.f.res;
    let hasTrailers = false;
    for (const _ in trailers) { hasTrailers = true; break; }
    if (hasTrailers && res.chunkedEncoding) res.addTrailers(trailers as Record<string, string>);
    res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const target = this.target!;
    this.done();
    if (this.finished) return;
    const failure = classify(err);
    this.report(target, failure.kind, 0);
    if (this.responded) {
      // Part of the answer is already with the client: all we can do is cut it short.
      this.finished = true;
      this.f.res.destroy(err);
      return;
    }
    this.lastFailure = failure;
    if (this.retryable(failure.kind)) { this.start(); return; }
    this.finished = true;
    sendProxyError(this.f.res, failure);
  }

  private retryable(kind: Exclude<Outcome, 'ok'>): boolean {
    if (this.attempts > this.f.plan.upstream.upstream.retries) return false;
    const body = this.body;
    if (!this.sent || kind === 'connect' || kind === 'tls') {
      // Never left the gateway: any method may go again, if its body is still whole.
      return body === null || Buffer.isBuffer(body) || !body.readableDidRead;
    }
    // It reached the member; only a request that may safely run twice goes again.
    return IDEMPOTENT.has(this.f.req.method!) && (body === null || Buffer.isBuffer(body));
  }

  private done(): void {
    if (this.target) this.f.plan.upstream.balancer.onEnd(this.target);
    this.target = null;
  }

  private report(target: MemberTarget, outcome: Outcome, status: number): void {
    if (this.f.plan.upstream.upstream.healthCheck?.passive) this.f.hooks.outcome(target, outcome, status);
  }
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Forwards one request; buffers small bodies first so that they can be replayed. */
export function forward(f: ForwardRequest): void {
  const req = f.req;
  if (!hasBody(req)) { new Exchange(f, null).start(); return; }
  const len = Number(req.headers['content-length']);
  if (!(len <= REPLAY_BUFFER_LIMIT)) { new Exchange(f, req).start(); return; }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= REPLAY_BUFFER_LIMIT) chunks.push(c);
  });
  req.once('end', () => new Exchange(f, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).start());
  req.once('error', () => f.res.destroy());
}
