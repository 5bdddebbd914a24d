import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime/runtime.js';
import type { RoutePlan } from '../runtime/snapshot.js';
import type { RouteMatch } from '../runtime/router.js';
import { clientConnectionClosed } from './client-gone.js';
import { rawProxyError, sendProxyError } from './errors.js';
import { forward, NO_HOOKS, type ProxyHooks } from './forward.js';
import { forwardUpgrade } from './upgrade.js';

export interface ProxyOptions {
  host: string;
  port: number;
  runtime: Runtime;
  logger: Logger;
  /** Passive health and fail-open notices. */
  hooks?: ProxyHooks;
  /** Several workers share one port (node:cluster); the primary owns the socket. */
  exclusive?: boolean;
}

export interface ProxyServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

/** Where a request goes, worked out once from its Host, URL and socket. */
interface Resolved { host: string; path: string; hashPath: string; clientIp: string; match: RouteMatch<RoutePlan> | null }

function resolve(runtime: Runtime, req: IncomingMessage): Resolved {
  const rawHost = req.headers.host ?? '';
  const colon = rawHost.startsWith('[') ? rawHost.indexOf(']:') + 1 : rawHost.lastIndexOf(':');
  const host = (colon > 0 ? rawHost.slice(0, colon) : rawHost).toLowerCase();
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const hashPath = q < 0 ? url : url.slice(0, q);
  let clientIp = req.socket.remoteAddress ?? '';
  if (clientIp.startsWith('::ffff:')) clientIp = clientIp.slice(7);
  const match = runtime.snapshot.router.match(host, hashPath, req.method ?? 'GET');
  let path = url;
  if (match?.value.route.stripPrefix && match.prefix !== '/') {
    const rest = url.slice(match.prefix.length);
    path = rest.startsWith('/') ? rest : `/${rest}`;
  }
  return { host: rawHost, path, hashPath, clientIp, match };
}

function notFound(host: string, path: string) {
  return { code: 'route_not_found' as const, message: `no route for ${host}${path}` };
}

export async function startProxy(opts: ProxyOptions): Promise<ProxyServer> {
  const { runtime } = opts;
  const hooks = opts.hooks ?? NO_HOOKS;
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req: IncomingMessage, res: ServerResponse) => {
    const t = resolve(runtime, req);
    if (!t.match) { req.resume(); sendProxyError(res, notFound(t.host, t.hashPath)); return; }
    forward({ req, res, plan: t.match.value, path: t.path, hashPath: t.hashPath, clientIp: t.clientIp, clientHost: t.host, hooks });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const t = resolve(runtime, req);
    if (!t.match) { socket.end(rawProxyError(notFound(t.host, t.hashPath))); return; }
    forwardUpgrade({ req, socket, head, plan: t.match.value, path: t.path, hashPath: t.hashPath, clientIp: t.clientIp, clientHost: t.host });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => {
      sockets.delete(s);
      clientConnectionClosed(s);
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port, exclusive: opts.exclusive ?? true }, () => { server.off('error', reject); resolveListen(); });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    async close(graceMs: number) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const timer = setTimeout(() => { for (const s of sockets) s.destroy(); }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}
