/**
 * How an L4 connection or UDP session ended (or why it never started):
 * - closed: both legs ended cleanly (FIN both ways);
 * - client_reset / origin_reset: that leg failed or was reset, and the other was reset with it;
 * - idle_timeout: nothing went either way for the listener's idle timeout;
 * - drained: its listener or proxy went away (DeleteListeners, DestroyProxies, shutdown) and
 *   the drain's deadline ended it;
 * - refused: the proxy was at its concurrency cap;
 * - not_accepting: the listener takes no new connections (its proxy is closed, or draining);
 * - no_origin: no binding to pick (none bound, or a session's origin left with none to move to);
 * - origin_unreachable: TCP: every binding was tried and none connected; UDP: the origin
 *   socket did not connect in time;
 * - origin_error: UDP: the origin's name did not resolve or its socket failed;
 * - client_gone: the client left before an origin connected;
 * - budget: UDP: the session's first datagram did not fit the proxy's bandwidth budget.
 */
export type L4End =
  | 'closed' | 'client_reset' | 'origin_reset' | 'idle_timeout' | 'drained'
  | 'refused' | 'not_accepting' | 'no_origin' | 'origin_unreachable' | 'origin_error' | 'client_gone' | 'budget';

/**
 * One TCP connection through a GAAP listener, or one UDP session, as it ended: what an
 * access-log line says. Refusals (at the cap, no origin...) are records too, with no bytes.
 * The relay may hand over an object it already holds: read it during the call, keep nothing.
 */
export interface L4SessionRecord {
  readonly proxyId: string;
  readonly listenerId: string;
  readonly protocol: 'tcp' | 'udp';
  readonly clientAddress: string;
  readonly clientPort: number;
  /** The origin of the last pick as bound (an IP or a domain) and its port; null when none was picked. */
  readonly originHost: string | null;
  readonly originPort: number | null;
  /** Wall clock (epoch ms) when it began and ended. */
  readonly startMs: number;
  readonly endMs: number;
  /** Payload bytes client to origin (in) and origin to client (out). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** UDP datagrams each way (TCP: 0, a byte stream has no packets the relay sees). */
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  readonly end: L4End;
}

/** Hears every L4 connection and session once, when it is over (the access log). */
export interface L4SessionObserver {
  ended(r: L4SessionRecord): void;
}
