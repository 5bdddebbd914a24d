import type { PoolSource } from '../runtime/pools.js';
import { MemberPools } from './lean/member-pool.js';
import { PoolRegistry, type ProxyPool } from './pools.js';

/**
 * Which L7 engine serves the proxy listener: node:http with undici pools (the default), or
 * the lean HTTP/1.1 engine (lean/) while it is proven, chosen with SLUICE_L7_ENGINE=lean.
 * Read once per process; workers inherit the environment, so every process runs the same one.
 */
export const L7_ENGINE: 'node' | 'lean' = process.env.SLUICE_L7_ENGINE === 'lean' ? 'lean' : 'node';

/** The member connection pools of this process's engine. */
export function proxyPools(): PoolSource<ProxyPool> {
  return L7_ENGINE === 'lean' ? new MemberPools() : new PoolRegistry();
}
