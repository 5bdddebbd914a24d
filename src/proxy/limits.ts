/** What one proxy listener allows a client (operator flags; see `sluice --help`). */
export interface ListenerLimits {
  /** A whole request head must arrive within this, on a new or a kept-alive connection: else 408. */
  headerTimeoutMs: number;
  /** The whole request, body included; 0 = no limit. */
  requestTimeoutMs: number;
  /**
   * A client that has not taken what was written to it (the socket's buffer past its
   * high-water mark, not drained) within this is cut, its member connection with it; 0 = no
   * limit. Else a client that reads nothing holds a member connection for as long as it likes.
   */
  sendTimeoutMs: number;
  /** Open client connections; one more is closed at accept. 0 = no limit. */
  maxConnections: number;
  /** Open client connections per client address; one more is closed at accept. 0 = no limit. */
  maxConnectionsPerIp: number;
}

/**
 * nginx's client_header_timeout (60 s), Node's request timeout (300 s) and nginx's
 * send_timeout (60 s). 10,000 connections
 * keep file descriptors (a client connection can hold an upstream one too) and memory well
 * inside what a stock host allows while being far more than one node serves in usual use.
 */
export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  headerTimeoutMs: 60_000,
  requestTimeoutMs: 300_000,
  sendTimeoutMs: 60_000,
  maxConnections: 10_000,
  maxConnectionsPerIp: 0,
};

/**
 * One worker's share when `workers` processes share the listener: the connection caps are
 * split (rounded up) so that the node as a whole stays within them, as each worker can only
 * count its own connections.
 */
export function perWorker(l: ListenerLimits, workers: number): ListenerLimits {
  const split = (n: number): number => (n === 0 ? 0 : Math.ceil(n / workers));
  return { ...l, maxConnections: split(l.maxConnections), maxConnectionsPerIp: split(l.maxConnectionsPerIp) };
}
