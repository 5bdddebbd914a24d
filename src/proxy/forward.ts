import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Outcome } from '../model/health.js';
import type { PickContext } from '../balance/balancer.js';
import type { Upstream } from '../model/types.js';
import type { ProxyRoutePlan as RoutePlan, ProxyTarget as MemberTarget } from './pools.js';
import { classify, noMember, sendProxyError, type ProxyFailure } from './errors.js';
import { enter, leave, type ClientBound } from './client-gone.js';
import { clientResponseHeaders, rawTrailers, upstreamRequestHeaders } from './headers.js';

/**
 * A client that leaves while its request is with a member: the exchange lingers this long,
 * discarding the answer, so that a response about to arrive keeps its keep-alive connection
 * (for HTTPS, a TLS handshake saved); one still running then is cut, and its connection too.
 */
export const LINGER_MS = 1000;
/** ...and discards at most this much of the answer before cutting it. */
export const LINGER_BYTES = 256 * 1024;

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

const healthy = (t: MemberTarget): boolean => t.state.healthy;
const anyMember = (): boolean => true;

/** The request body as it will be sent: none, buffered (replayable), or the live stream. */
type Body = null | Buffer | IncomingMessage;

/**
 * One client request through to a response: picks a member, dispatches on its pool,
 * streams the answer back with backpressure, and retries on another member when the rules
 * allow (see README, "Retries").
 *
 * It speaks undici's raw handler interface (onConnect/onHeaders/onData/onComplete/onError),
 * which undici marks deprecated: the newer one wraps every request in a controller and
 * parses the response headers into an object that would only be turned back into a list.
 * Measured on the bench, the raw interface is the fastest way through undici 7.
 */
class Exchange implements Dispatcher.DispatchHandler, ClientBound, PickContext<MemberTarget> {
  // PickContext: what the balancer hashes on, and which members it may pick.
  readonly clientIp: string;
  readonly path: string;
  eligible: (t: MemberTarget) => boolean = healthy;
  private attempts = 0;
  /** The first member tried; later ones go in `retried` (most requests never retry). */
  private firstTry: MemberTarget | null = null;
  private retried: MemberTarget[] | null = null;
  private target: MemberTarget | null = null;
  /** Aborts the current attempt once it is on a connection. */
  private abort: ((err: Error) => void) | null = null;
  /** Resumes reading the upstream body after the client drained. */
  private resume: (() => void) | null = null;
  /** The current attempt has been written to an upstream socket. */
  private sent = false;
  private responded = false;
  /** Nothing more goes to the client: the exchange is over, or the client left. */
  private finished = false;
  /** The client left; what still comes from the member is discarded (see LINGER_MS). */
  private left = false;
  private discarded = 0;
  private linger: NodeJS.Timeout | null = null;
  private lastFailure: ProxyFailure | null = null;
  private readonly headers: string[];
  private readonly socket: Socket;

  constructor(private readonly f: ForwardRequest, private readonly body: Body) {
    this.clientIp = f.clientIp;
    this.path = f.hashPath;
    const host = f.plan.upstream.upstream.upstreamHost ?? f.clientHost;
    this.headers = upstreamRequestHeaders(f.req, { clientIp: f.clientIp, clientHost: f.clientHost, host });
    // Kept: Node lets go of req.socket once a streamed request body has been read.
    this.socket = f.req.socket;
    enter(this.socket, this);
  }

  clientGone(): void {
    if (this.finished) return;
    this.finished = true;
    this.left = true;
    // Not on a connection yet: onConnect aborts it. On one: give the answer a moment, reading
    // on if it was waiting for the client to drain.
    if (!this.sent) return;
    this.linger = setTimeout(() => this.cut(), LINGER_MS).unref();
    this.resume?.();
  }

  private cut(): void {
    this.linger = null;
    this.abort?.(new Error('client went away'));
  }

  private tried(t: MemberTarget): boolean {
    return t === this.firstTry || (this.retried !== null && this.retried.includes(t));
  }

  /** The exchange is over, one way or another: the connection no longer needs to tell it. */
  private finish(): void {
    this.finished = true;
    leave(this.socket, this);
  }

  start(): void {
    const plan = this.f.plan.upstream;
    const first = this.attempts === 0;
    // A retry goes to a healthy member not tried yet (a closure made only when retrying).
    if (!first) this.eligible = (t: MemberTarget) => t.state.healthy && !this.tried(t);
    // The exchange is its own pick context: nothing allocated per attempt.
    let t = plan.balancer.pick(this);
    // Fail open: with every member marked unhealthy, trying one beats refusing all.
    if (!t && plan.upstream.failMode === 'open' && first) {
      this.eligible = anyMember;
      t = plan.balancer.pick(this);
      if (t) this.f.hooks.failOpen(plan.upstream);
    }
    if (!t) {
      this.finish();
      sendProxyError(this.f.res, this.lastFailure ?? noMember(plan));
      return;
    }
    this.attempts++;
    if (first) this.firstTry = t;
    else (this.retried ??= []).push(t);
    this.target = t;
    this.sent = false;
    this.abort = null;
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

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    this.sent = true;
    if (this.finished) abort(new Error('client went away'));
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true;
    this.report(this.target!, 'ok', status);
    if (this.left) return true;
    this.responded = true;
    this.resume = resume;
    this.f.res.writeHead(status, statusText || undefined, clientResponseHeaders(raw));
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.left) {
      this.discarded += chunk.length;
      if (this.discarded > LINGER_BYTES) this.cut();
      return true;
    }
    if (this.f.res.write(chunk)) return true;
    this.f.res.once('drain', this.resume!);
    return false;
  }

  onComplete(trailers: string[] | null): void {
    this.done();
    if (this.left) { this.stopLinger(); return; }
    this.finish();
    const res = this.f.res;
    if (trailers && trailers.length > 0 && res.chunkedEncoding) res.addTrailers(rawTrailers(trailers));
    res.end();
  }

  onError(err: Error): void {
    const target = this.target!;
    this.done();
    if (this.left) this.stopLinger();
    if (this.finished) return;
    const failure = classify(err);
    this.report(target, failure.kind, 0);
    if (this.responded) {
      // Part of the answer is already with the client: all we can do is cut it short.
      this.finish();
      this.f.res.destroy(err);
      return;
    }
    this.lastFailure = failure;
    if (this.retryable(failure.kind)) { this.start(); return; }
    this.finish();
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

  private stopLinger(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
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

/**
 * Forwards one request; buffers small bodies first so that they can be replayed. `body` is
 * one read already (a plain request that came in as an upgrade, see plain-upgrade.ts).
 */
export function forward(f: ForwardRequest, body?: Buffer): void {
  const req = f.req;
  if (body !== undefined) { new Exchange(f, body).start(); return; }
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
