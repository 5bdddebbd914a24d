import type { Logger } from 'pino';
import type { Upstream } from '../model/types.js';

/** A fail-open hook that logs at most once per upstream per `everyMs`: the hot path may call it per request. */
export function failOpenLogger(log: Logger, everyMs = 10_000): (u: Upstream) => void {
  const last = new Map<string, number>();
  return (u) => {
    const now = Date.now();
    if (now - (last.get(u.id) ?? 0) < everyMs) return;
    last.set(u.id, now);
    log.warn({ upstream: u.id, name: u.name }, 'no healthy member: failing open, spreading traffic over all enabled members');
  };
}
