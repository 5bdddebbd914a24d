import type { Logger } from 'pino';
import type { ProxyHooks } from './attempts.js';
import type { ListenerLimits } from './limits.js';
import type { ProxyRuntime } from './pools.js';

export interface ProxyOptions {
  host: string;
  port: number;
  runtime: ProxyRuntime;
  logger: Logger;
  /** Passive health and fail-open notices. */
  hooks?: ProxyHooks;
  /** Several workers share one port (node:cluster); the primary owns the socket. */
  exclusive?: boolean;
  /** Timeouts and connection caps of this listener (this worker's share with --workers). */
  limits?: Partial<ListenerLimits>;
}

export interface ProxyServer {
  port: number;
  /**
   * Stops accepting and drains: idle connections close at once, every answer from then on
   * says `Connection: close` and closes its connection, and it resolves when the last
   * request in flight is done; after `graceMs` whatever is left is cut.
   */
  close(graceMs: number): Promise<void>;
}
