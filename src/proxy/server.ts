/**
 * The proxy listener: sluice's own HTTP/1.1 engine (lean/), a `net` server with a strict head
 * parser (http1/) forwarding raw bytes over keep-alive member pools (lean/member-pool.ts).
 */
export { startLeanProxy as startProxy } from './lean/server.js';
export type { ProxyOptions, ProxyServer } from './proxy-server.js';
