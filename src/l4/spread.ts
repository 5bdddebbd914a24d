/**
 * Which of `count` worker processes serves a proxy: a stable hash of its id, so a proxy's
 * budget is one object and its UDP sessions stay in one process, and a replaced worker
 * takes over exactly the proxies of the one it replaces.
 */
export function workerOf(proxyId: string, count: number): number {
  // FNV-1a, 32 bits: cheap, stable across processes and releases.
  let h = 0x811c9dc5;
  for (let i = 0; i < proxyId.length; i++) {
    h ^= proxyId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}
