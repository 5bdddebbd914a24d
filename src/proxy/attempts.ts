import { performance } from 'node:perf_hooks';
import type { PickContext } from '../balance/balancer.js';
import type { ExchangeObserver, ExchangeRecord } from '../model/exchange.js';
import type { Outcome } from '../model/health.js';
import type { Upstream } from '../model/types.js';
import { classify, noMember, type ProxyFailure } from './errors.js';
import type { ProxyTarget, ProxyUpstreamPlan } from './pools.js';

/** What the data plane tells the rest of the node. */
export interface ProxyHooks {
  /**
   * Called for every attempt on a member, HTTP and upgrades alike, whatever the upstream's
   * health checks: once when its answer's head arrives (`ok` with the status), or when it
   * fails before one (`status` 0). A body that then breaks off reports that failure too, with
   * 0 (passive health counts it). An attempt the gateway cuts because the client left before
   * any answer reports nothing: it says nothing about the member. `start` is performance.now()
   * when the attempt began. Subscribers (passive health, metrics) filter for themselves.
   */
  onAttempt(target: ProxyTarget, outcome: Outcome, status: number, start: number): void;
  /** No member was healthy and the upstream is fail-open: traffic went to unhealthy members. */
  failOpen(upstream: Upstream): void;
  /** Every client request, begun and ended (metrics, the access log); absent: no record is kept. */
  exchanges?: ExchangeObserver | null;
}

export const NO_HOOKS: ProxyHooks = { onAttempt() {}, failOpen() {}, exchanges: null };

/** What an exchange record reads of its request (the engine keeps one per request: lean/context.ts LeanRequest). */
export interface RequestLike {
  readonly method: string;
  /** The request target as sent. */
  readonly rawTarget: string;
  /** The Host field as sent ('' when none). */
  readonly host: string;
  readonly httpVersion: string;
  readonly userAgent: string | null;
  readonly referer: string | null;
}

/** The request-side fields of an exchange record, read from the request only when asked. */
export abstract class RequestRecord implements ExchangeRecord {
  readonly startMs = performance.now();
  endMs = 0;
  status = 0;
  bytesIn = 0;
  bytesOut = 0;
  upstreamMs: number | null = null;
  errorCode: string | null = null;

  constructor(protected readonly req: RequestLike, readonly clientIp: string) {}

  abstract readonly routeId: string | null;
  abstract readonly upstreamId: string | null;
  abstract readonly memberId: string | null;
  abstract readonly memberAddress: string | null;
  abstract readonly attempts: number;
  abstract readonly upgrade: boolean;
  get method(): string { return this.req.method; }
  get rawTarget(): string { return this.req.rawTarget; }
  get host(): string { return this.req.host; }
  get httpVersion(): string { return this.req.httpVersion; }
  get userAgent(): string | null { return this.req.userAgent; }
  get referer(): string | null { return this.req.referer; }
}

/** An answer the gateway made before any upstream was involved (no route, a bad request). */
export class GatewayAnswer extends RequestRecord {
  readonly routeId = null;
  readonly upstreamId = null;
  readonly memberId = null;
  readonly memberAddress = null;
  readonly attempts = 0;
  constructor(req: RequestLike, clientIp: string, readonly upgrade: boolean) { super(req, clientIp); }
}

/** Tells `observer` of an answer the gateway made at once: `code` with its status and body size. */
export function gatewayAnswered(observer: ExchangeObserver, req: RequestLike, clientIp: string, upgrade: boolean, code: string, status: number, bytes: number): void {
  const r = new GatewayAnswer(req, clientIp, upgrade);
  observer.started();
  r.errorCode = code;
  r.status = status;
  r.bytesOut = bytes;
  r.endMs = performance.now();
  observer.ended(r);
}

const healthy = (t: ProxyTarget): boolean => t.state.healthy;
const anyMember = (): boolean => true;

/**
 * The attempt loop every L7 exchange shares, plain requests and WebSocket upgrades alike:
 * pick a healthy member (failing open on the first attempt when none is and the upstream
 * says so), report each attempt to the hooks, and on a failure move on to a member not tried
 * yet while the retry rules allow, answering with the last failure when none is left.
 *
 * It is the exchange's own pick context, so that an attempt allocates nothing; subclasses
 * dispatch, answer the client, say what the member's answer means, and set `sent` once the
 * attempt is written to a member connection.
 */
export abstract class AttemptLoop extends RequestRecord implements PickContext<ProxyTarget> {
  // PickContext: what the balancer hashes on, and which members it may pick.
  readonly path: string;
  eligible: (t: ProxyTarget) => boolean = healthy;
  attempts = 0;
  /** The member of the last attempt (kept past its end, for the record). */
  private last: ProxyTarget | null = null;
  private readonly observer: ExchangeObserver | null;
  /** The first member tried; later ones go in `retried` (most requests never retry). */
  private firstTry: ProxyTarget | null = null;
  private retried: ProxyTarget[] | null = null;
  /** The member of the attempt in flight, until it ends. */
  protected target: ProxyTarget | null = null;
  /** performance.now() when the current attempt began. */
  protected started = 0;
  /** The current attempt has been written to an upstream socket. */
  protected sent = false;
  protected lastFailure: ProxyFailure | null = null;

  constructor(protected readonly upstream: ProxyUpstreamPlan, protected readonly hooks: ProxyHooks, clientIp: string, hashPath: string, req: RequestLike, readonly routeId: string) {
    super(req, clientIp);
    this.path = hashPath;
    this.observer = hooks.exchanges ?? null;
    this.observer?.started();
  }

  get upstreamId(): string { return this.upstream.upstream.id; }
  get memberId(): string | null { return this.last?.id ?? null; }
  get memberAddress(): string | null { return this.last === null ? null : `${this.last.host}:${this.last.port}`; }

  /** The exchange is over for the client: `status` is what it got (0: nothing). Once; later calls do nothing. */
  protected ended(status: number, errorCode: string | null): void {
    if (this.endMs !== 0) return;
    this.endMs = performance.now();
    this.status = status;
    this.errorCode = errorCode;
    this.observer?.ended(this);
  }

  /** Sends the attempt to `t` (on `t.pool`). */
  protected abstract dispatch(t: ProxyTarget): void;
  /** No (further) member to try: answers the client with `f`. */
  protected abstract giveUp(f: ProxyFailure): void;
  /** Whether this request may go again once it reached a member that then failed it. */
  protected abstract repeatable(): boolean;

  private tried(t: ProxyTarget): boolean {
    return t === this.firstTry || (this.retried !== null && this.retried.includes(t));
  }

  /** Starts the next attempt, or gives up when no member is left to try. */
  start(): void {
    const plan = this.upstream;
    const first = this.attempts === 0;
    // A retry goes to a healthy member not tried yet (a closure made only when retrying).
    if (!first) this.eligible = (t: ProxyTarget) => t.state.healthy && !this.tried(t);
    let t = plan.balancer.pick(this);
    // Fail open: with every member marked unhealthy, trying one beats refusing all.
    if (!t && plan.upstream.failMode === 'open' && first) {
      this.eligible = anyMember;
      t = plan.balancer.pick(this);
      if (t) this.hooks.failOpen(plan.upstream);
    }
    if (!t) {
      this.giveUp(this.lastFailure ?? noMember(plan));
      return;
    }
    this.attempts++;
    if (first) this.firstTry = t;
    else (this.retried ??= []).push(t);
    this.target = t;
    this.last = t;
    this.sent = false;
    // The first attempt begins in the same turn as the request's record: its clock reading serves.
    this.started = first ? this.startMs : performance.now();
    plan.balancer.onStart(t);
    this.dispatch(t);
  }

  /** The member answered the attempt with this status. */
  protected answered(status: number): void {
    this.upstreamMs = performance.now() - this.started;
    this.hooks.onAttempt(this.target!, 'ok', status, this.started);
  }

  /** Ends the current attempt's accounting (once; later calls do nothing). */
  protected attemptOver(): void {
    if (this.target) this.upstream.balancer.onEnd(this.target);
    this.target = null;
  }

  /**
   * The attempt on `target` failed before its answer reached the client: reports it, then
   * retries on another member if the rules allow, else gives up with this failure.
   */
  protected failed(target: ProxyTarget, err: Error): void {
    const failure = classify(err);
    this.hooks.onAttempt(target, failure.kind, 0, this.started);
    this.lastFailure = failure;
    if (this.retryable(failure.kind)) this.start();
    else this.giveUp(failure);
  }

  /** A failure after the answer's head: reported, nothing retried. */
  protected brokeOff(target: ProxyTarget, err: Error): void {
    this.hooks.onAttempt(target, classify(err).kind, 0, this.started);
  }

  /** The retry rules (README, "Retries"). */
  private retryable(kind: Exclude<Outcome, 'ok'>): boolean {
    if (this.attempts > this.upstream.upstream.retries) return false;
    // Never reached the member: it may go again, if the subclass can still send it whole.
    if (!this.sent || kind === 'connect' || kind === 'tls') return this.resendable();
    return this.repeatable();
  }

  /** Whether the request can still be sent whole (its body not consumed). */
  protected resendable(): boolean { return true; }
}
