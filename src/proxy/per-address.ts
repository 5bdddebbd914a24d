import type { Socket } from 'node:net';

/**
 * Counts open client connections per remote address and refuses (closes at once) one that
 * would take its address past `max`, so that one client cannot take every connection.
 * Per connection, never per request.
 */
export function perAddressGate(max: number): (s: Socket) => boolean {
  const open = new Map<string, number>();
  return (s) => {
    const ip = s.remoteAddress ?? '';
    const n = open.get(ip) ?? 0;
    if (n >= max) { s.destroy(); return false; }
    open.set(ip, n + 1);
    s.once('close', () => {
      const left = open.get(ip)! - 1;
      if (left === 0) open.delete(ip);
      else open.set(ip, left);
    });
    return true;
  };
}
