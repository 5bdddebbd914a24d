import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { AttemptLoop, type ProxyHooks } from './attempts.js';
import { sendProxyError, statusOf, type ProxyFailure } from './errors.js';
import { enter, leave, type ClientBound } from './client-gone.js';
import type { ProxyRoutePlan as RoutePlan, ProxyTarget as MemberTarget, ProxyUpstreamPlan } from './pools.js';
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

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  plan: RoutePlan;
  /** The route's upstream, from the snapshot the route was found in. */
  upstream: ProxyUpstreamPlan;
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
 * One client request through to a response: the shared attempt loop (attempts.ts) picks
 * members and retries; this dispatches on the member's pool and streams the answer back
 * with backpressure.
 *
 * It speaks undici's raw handler interface (onConnect/onHeaders/onData/onComplete/onError),
 * which undici marks deprecated: the newer one wraps every request in a controller and
 * parses the response headers into an object that would only be turned back into a list.
 * Measured on the bench, the raw interface is the fastest way through undici 7.
 */
class Exchange extends AttemptLoop implements ClientBound, Dispatcher.DispatchHandler {
  /** Resumes reading the upstream body after the client drained. */
  private resume: (() => void) | null = null;
  private responded = false;
  /** Nothing more goes to the client: the exchange is over, or the client left. */
  private finished = false;
  /** The client left; what still comes from the member is discarded (see LINGER_MS). */
  private left = false;
  private discarded = 0;
  private linger: NodeJS.Timeout | null = null;
  private readonly headers: string[];
  private readonly socket: Socket;
  readonly upgrade = false;

  constructor(private readonly f: ForwardRequest, private readonly body: Body) {
    super(f.upstream, f.hooks, f.clientIp, f.hashPath, f.req, f.plan.route.id);
    // A buffered body is sent whole by every attempt; a streamed one is counted as it goes.
    if (Buffer.isBuffer(body)) this.bytesIn = body.length;
    const host = f.upstream.upstream.upstreamHost ?? f.clientHost;
    this.headers = upstreamRequestHeaders(f.req, { clientIp: f.clientIp, clientHost: f.clientHost, host });
    // Kept: Node lets go of req.socket once a streamed request body has been read.
    this.socket = f.req.socket;
    enter(this.socket, this);
  }

  clientGone(): void {
    if (this.finished) return;
    this.finished = true;
    this.left = true;
    this.ended(this.responded ? this.f.res.statusCode : 0, null);
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

  /** The exchange is over, one way or another: the connection no longer needs to tell it. */
  private finish(): void {
    this.finished = true;
    leave(this.socket, this);
  }

  protected dispatch(t: MemberTarget): void {
    const timeout = this.f.plan.route.timeoutMs;
    const req = this.f.req;
    (t.pool as Dispatcher).dispatch({
      path: this.f.path,
      method: req.method as Dispatcher.HttpMethod,
      headers: this.headers,
      body: this.body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      servername: t.servername,
    } as Dispatcher.DispatchOptions, this);
  }

  protected giveUp(f: ProxyFailure): void {
    this.finish();
    this.bytesOut = sendProxyError(this.f.res, f);
    this.ended(statusOf(f.code), f.code);
  }

  override onConnect(abort: (err?: Error) => void): void {
    super.onConnect(abort);
    if (this.finished) abort(new Error('client went away'));
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true;
    this.answered(status);
    if (this.left) return true;
    this.responded = true;
    this.resume = resume;
    this.f.res.writeHead(status, statusText || undefined, clientResponseHeaders(raw));
    return true;
  }

  /** undici 7 hands over each chunk written (its types say a size). */
  onBodySent(chunk: Buffer | number): void {
    if (!Buffer.isBuffer(this.body)) this.bytesIn += typeof chunk === 'number' ? chunk : chunk.length;
  }

  onData(chunk: Buffer): boolean {
    if (this.left) {
      this.discarded += chunk.length;
      if (this.discarded > LINGER_BYTES) this.cut();
      return true;
    }
    this.bytesOut += chunk.length;
    if (this.f.res.write(chunk)) return true;
    this.f.res.once('drain', this.resume!);
    return false;
  }

  onComplete(trailers: string[] | null): void {
    this.attemptOver();
    if (this.left) { this.stopLinger(); return; }
    this.finish();
    const res = this.f.res;
    if (trailers && trailers.length > 0 && res.chunkedEncoding) res.addTrailers(rawTrailers(trailers));
    res.end();
    this.ended(res.statusCode, null);
  }

  onError(err: Error): void {
    const target = this.target!;
    this.attemptOver();
    if (this.left) this.stopLinger();
    if (this.finished) return;
    if (this.responded) {
      // Part of the answer is already with the client: all we can do is cut it short.
      this.brokeOff(target, err);
      this.finish();
      this.f.res.destroy(err);
      // The client got a head and part of the body, then a cut connection.
      this.ended(this.f.res.statusCode, null);
      return;
    }
    this.failed(target, err);
  }

  protected override resendable(): boolean {
    const body = this.body;
    return body === null || Buffer.isBuffer(body) || !body.readableDidRead;
  }

  protected repeatable(): boolean {
    // It reached the member; only a request that may safely run twice goes again.
    const body = this.body;
    return IDEMPOTENT.has(this.f.req.method!) && (body === null || Buffer.isBuffer(body));
  }

  private stopLinger(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
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
