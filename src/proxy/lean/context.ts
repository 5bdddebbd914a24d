import type { ExchangeObserver } from '../../model/exchange.js';
import type { ProxyHooks, RequestLike } from '../attempts.js';
import type { HeadLimits } from '../http1/head.js';
import type { ListenerLimits } from '../limits.js';
import type { ProxyRuntime } from '../pools.js';

/** What every client connection of one lean listener shares. */
export interface LeanContext {
  readonly runtime: ProxyRuntime;
  readonly hooks: ProxyHooks;
  readonly observer: ExchangeObserver | null;
  readonly limits: ListenerLimits;
  readonly headLimits: HeadLimits;
  /** close() has begun: answers say Connection: close and connections close after them. */
  draining: boolean;
  /** Date.now() as of the last deadline check (deadlines are as coarse as the check). */
  now: number;
  /** The Date field for answers without one (date.ts), as of `now`. */
  date: Buffer;
}

/** How often deadlines (header, request, idle keep-alive) are looked at: a slow client outlives its deadline by at most this. */
export const TIMEOUT_CHECK_MS = 1000;

/** Idle keep-alive connections are closed after this long (what `keep-alive: timeout=65` tells clients). */
export const KEEP_ALIVE_MS = 65_000;

/**
 * What an exchange record reads of a request (attempts.ts RequestLike), kept per request:
 * the strings the parser made anyway, and the positions of the two fields only the access log
 * reads, turned into strings only when asked (the head's bytes stay as they came).
 */
export class LeanRequest implements RequestLike {
  constructor(
    readonly method: string, readonly rawTarget: string, readonly httpVersion: string, readonly host: string,
    private readonly b: Buffer, private readonly ua0: number, private readonly ua1: number,
    private readonly ref0: number, private readonly ref1: number,
  ) {}

  get userAgent(): string | null { return this.ua0 < 0 ? null : this.b.toString('latin1', this.ua0, this.ua1); }
  get referer(): string | null { return this.ref0 < 0 ? null : this.b.toString('latin1', this.ref0, this.ref1); }
}
