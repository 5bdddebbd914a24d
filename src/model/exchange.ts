/**
 * One client request through the L7 data plane, as it ended: what the metrics count and what
 * an access-log line says (nginx's combined format plus the gateway's own fields). Every
 * client request gives exactly one, HTTP and upgrades alike, answers the gateway made itself
 * (no route, no member, a failed attempt) included.
 *
 * The engine hands over an object it already has for the exchange (its fields read from the
 * request when asked): read what is needed during the call, and keep nothing of it.
 */
export interface ExchangeRecord {
  /** performance.now() when the request reached the gateway, and when its exchange ended (wall clock: performance.timeOrigin + startMs). */
  readonly startMs: number;
  readonly endMs: number;
  readonly clientIp: string;
  readonly method: string;
  /** The request target as the client sent it (path and query). Never a metric label. */
  readonly rawTarget: string;
  /** The Host header as sent ('' when none). */
  readonly host: string;
  /** '1.1', '1.0', ... */
  readonly httpVersion: string;
  readonly userAgent: string | null;
  readonly referer: string | null;
  /** The status the client got (101 for a WebSocket switched); 0 when it got none (it left first, or the answer broke off before its head). */
  readonly status: number;
  /** Body bytes: of the request as sent to the member (or read, for a gateway answer), and of the answer sent to the client. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** The matched route and its upstream; null when no route matched. */
  readonly routeId: string | null;
  readonly upstreamId: string | null;
  /** The member of the last attempt and its host:port; null when none was tried. */
  readonly memberId: string | null;
  readonly memberAddress: string | null;
  readonly attempts: number;
  /** ms from the answering attempt's start to its answer's head; null when no member answered. */
  readonly upstreamMs: number | null;
  /** The gateway's error code when the gateway made the answer (route_not_found, upstream_timeout, ...), else null. */
  readonly errorCode: string | null;
  /** A WebSocket upgrade (ended when its tunnel closed). */
  readonly upgrade: boolean;
}

/** Hears every L7 exchange: `started` when one begins (in-flight counts), `ended` once when it is over. */
export interface ExchangeObserver {
  started(): void;
  ended(r: ExchangeRecord): void;
}
