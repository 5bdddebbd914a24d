/**
 * What a listener has carried since it was created in this process: cumulative, read by the
 * statistics sampler and by metrics collectors, never reset. The relays keep them as plain
 * number fields on objects they already hold (no lookup or allocation per chunk).
 */
export interface ListenerTotals {
  /** Payload bytes client to origin (in) and origin to client (out). */
  bytesIn: number;
  bytesOut: number;
  /**
   * UDP datagrams each way. A TCP relay sees a byte stream, not the packets that carried it
   * (the kernel coalesces and splits them): TCP listeners count none and say so (`packets`).
   */
  packetsIn: number;
  packetsOut: number;
  /** false: a TCP listener, whose packets are not measured. */
  packets: boolean;
  /** Connections accepted (TCP) or sessions opened (UDP). */
  opened: number;
  /** Refused at the proxy's concurrency cap (TCP connections; UDP: datagrams that would have opened a session). */
  refused: number;
  /** UDP datagrams the proxy's bandwidth budget dropped, both ways (TCP is shaped, never dropped). */
  dropped: number;
}

/** One direction of a TCP relay's bytes: the field the hot path adds to. */
export interface Tally { bytes: number }

export function zeroTotals(packets: boolean): ListenerTotals {
  return { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, packets, opened: 0, refused: 0, dropped: 0 };
}

/** A listener's (or a proxy's) counters as collectors read them: totals plus what is open now. */
export interface CounterView {
  proxyId: string;
  /** null: the proxy's own (the sum over its listeners, including those since deleted). */
  listenerId: string | null;
  protocol: 'tcp' | 'udp' | null;
  totals: ListenerTotals;
  /** Connections plus sessions open now. */
  open: number;
  /** The proxy's budget, bytes per second each way (proxy rows; 0 on listener rows). */
  byteRate: number;
  /** The proxy's cap on open connections plus sessions (proxy rows; 0 on listener rows). */
  connectionCap: number;
}
