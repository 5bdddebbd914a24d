import { createServer, type AddressInfo, type Socket } from 'node:net';
import { unmappedIp } from '../../model/host.js';
import { NO_HOOKS } from '../attempts.js';
import { DEFAULT_HEAD_LIMITS } from '../http1/head.js';
import { DEFAULT_LISTENER_LIMITS } from '../limits.js';
import { perAddressGate } from '../per-address.js';
import type { ProxyOptions, ProxyServer } from '../proxy-server.js';
import { ClientConn } from './client.js';
import { TIMEOUT_CHECK_MS, type LeanContext } from './context.js';
import { dateField } from './date.js';

/**
 * The proxy listener (what server.ts exports as startProxy): connection caps, drain and a
 * socket shared by workers, on a `net` server whose connections are ClientConns. Deadlines are
 * fields checked once a second rather than a timer per request.
 */
export async function startLeanProxy(opts: ProxyOptions): Promise<ProxyServer> {
  const hooks = opts.hooks ?? NO_HOOKS;
  const limits = { ...DEFAULT_LISTENER_LIMITS, ...opts.limits };
  const ctx: LeanContext = { runtime: opts.runtime, hooks, observer: hooks.exchanges ?? null, limits, headLimits: DEFAULT_HEAD_LIMITS, draining: false, now: Date.now(), date: dateField(Date.now()) };
  const conns = new Set<ClientConn>();
  const forget = (c: ClientConn): void => { conns.delete(c); };
  const admit = limits.maxConnectionsPerIp > 0 ? perAddressGate(limits.maxConnectionsPerIp) : null;
  // Counted here rather than with server.maxConnections: under node:cluster a worker at that
  // cap hands the connection back to the primary, which offers it to the next worker, round
  // and round while every worker is full. Closed here, it is closed at once.
  const max = limits.maxConnections;

  // Half-open allowed: a client that shuts its sending side after a request still gets the answer.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (s: Socket) => {
    if (ctx.draining || (max > 0 && conns.size >= max)) { s.destroy(); return; }
    if (admit !== null && !admit(s)) return;
    conns.add(new ClientConn(s, ctx, unmappedIp(s.remoteAddress ?? ''), forget));
  });
  const ticker = setInterval(() => {
    const now = Date.now();
    ctx.now = now;
    ctx.date = dateField(now);
    for (const c of conns) c.check(now);
  }, TIMEOUT_CHECK_MS);
  ticker.unref();

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port, exclusive: opts.exclusive ?? true }, () => { server.off('error', reject); resolveListen(); });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    async close(graceMs: number) {
      ctx.draining = true;
      // Stops accepting; resolves when the last connection is gone.
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const c of [...conns]) c.drain();
      const timer = setTimeout(() => { for (const c of conns) c.sock.destroy(); }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
      clearInterval(ticker);
    },
  };
}
