import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { PickContext } from '../balance/balancer.js';
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
}

export const NO_HOOKS: ProxyHooks = { onAttempt() {}, failOpen() {} };

const healthy = (t: ProxyTarget): boolean => t.state.healthy;
const anyMember = (): boolean => true;

/**
 * The attempt loop every L7 exchange shares, plain requests and WebSocket upgrades alike:
 * pick a healthy member (failing open on the first attempt when none is and the upstream
 * says so), report each attempt to the hooks, and on a failure move on to a member not tried
 * yet while the retry rules allow, answering with the last failure when none is left.
 *
 * It is the exchange's undici handler and its own pick context, so that an attempt allocates
 * nothing; subclasses dispatch, answer the client, and say what the member's answer means.
 */
export abstract class AttemptLoop implements Dispatcher.DispatchHandler, PickContext<ProxyTarget> {
  // PickContext: what the balancer hashes on, and which members it may pick.
  readonly clientIp: string;
  readonly path: string;
  eligible: (t: ProxyTarget) => boolean = healthy;
  protected attempts = 0;
  /** The first member tried; later ones go in `retried` (most requests never retry). */
  private firstTry: ProxyTarget | null = null;
  private retried: ProxyTarget[] | null = null;
  /** The member of the attempt in flight, until it ends. */
  protected target: ProxyTarget | null = null;
  /** performance.now() when the current attempt began. */
  protected started = 0;
  /** Aborts the current attempt once it is on a connection. */
  protected abort: ((err: Error) => void) | null = null;
  /** The current attempt has been written to an upstream socket. */
  protected sent = false;
  protected lastFailure: ProxyFailure | null = null;

  constructor(protected readonly upstream: ProxyUpstreamPlan, protected readonly hooks: ProxyHooks, clientIp: string, hashPath: string) {
    this.clientIp = clientIp;
    this.path = hashPath;
  }

  /** Sends the attempt to `t` (on `t.pool`, with this as the handler). */
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
    this.sent = false;
    this.abort = null;
    this.started = performance.now();
    plan.balancer.onStart(t);
    this.dispatch(t);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    this.sent = true;
  }

  /** The member answered the attempt with this status. */
  protected answered(status: number): void {
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
