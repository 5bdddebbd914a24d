import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ProxyOptions, ProxyServer } from './proxy-server.js';
import { L7_ENGINE } from './engine.js';
import { startLeanProxy } from './lean/server.js';
import type { ProxyRuntime as Runtime } from './pools.js';
import { clientConnectionClosed } from './client-gone.js';
import { rawProxyAnswer, sendProxyError, statusOf, type ProxyFailure } from './errors.js';
import { gatewayAnswered, NO_HOOKS } from './attempts.js';
import { forward, REPLAY_BUFFER_LIMIT } from './forward.js';
import { hasDuplicateHost } from './host-header.js';
import { DEFAULT_LISTENER_LIMITS } from './limits.js';
import { perAddressGate } from './per-address.js';
import { plainResponse, readUpgradeBody, upgradeBodyProblem } from './plain-upgrade.js';
import { forwardUpgrade } from './upgrade.js';
import { isWebSocketUpgrade, webSocketRequestProblem } from './websocket.js';
import { unmappedIp } from '../model/host.js';
import { notFound, resolveTarget, type Resolved } from './resolve.js';

export type { ProxyOptions, ProxyServer } from './proxy-server.js';

function resolve(runtime: Runtime, req: IncomingMessage): Resolved {
  return resolveTarget(runtime, req.headers.host ?? '', req.url ?? '/', req.method ?? 'GET', unmappedIp(req.socket.remoteAddress ?? ''));
}

const DUPLICATE_HOST: ProxyFailure = { code: 'bad_request', message: 'Host must be sent once' };

/**
 * The response being written on a client connection. Node links a socket to it only through
 * `_httpMessage` (what its own closeIdleConnections reads); tracking it ourselves would cost
 * work on every request, and this is needed only at shutdown and on client errors.
 */
function currentResponse(s: Socket): ServerResponse | null {
  return (s as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
}

const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';

/** How often Node looks for connections past their header or request deadline. */
const TIMEOUT_CHECK_MS = 1000;

export async function startProxy(opts: ProxyOptions): Promise<ProxyServer> {
  if (L7_ENGINE === 'lean') return startLeanProxy(opts);
  const { runtime } = opts;
  const hooks = opts.hooks ?? NO_HOOKS;
  const limits = { ...DEFAULT_LISTENER_LIMITS, ...opts.limits };
  const observer = hooks.exchanges ?? null;
  /** An answer the gateway makes before any upstream is involved, told to the observer. */
  const refuse = (req: IncomingMessage, res: ServerResponse, f: ProxyFailure): void => {
    const bytes = sendProxyError(res, f);
    if (observer) gatewayAnswered(observer, req, false, f.code, statusOf(f.code), bytes);
  };
  const refuseRaw = (req: IncomingMessage, socket: Socket, f: ProxyFailure): void => {
    const a = rawProxyAnswer(f);
    socket.end(a.text);
    if (observer) gatewayAnswered(observer, req, true, f.code, statusOf(f.code), a.bytes);
  };
  // Set once close() starts; the one thing the request path checks for shutdown.
  let draining = false;

  const onRequest = (req: IncomingMessage, res: ServerResponse, body?: Buffer): void => {
    if (draining) res.shouldKeepAlive = false;
    if (hasDuplicateHost(req.rawHeaders)) {
      res.shouldKeepAlive = false;
      req.resume();
      refuse(req, res, DUPLICATE_HOST);
      return;
    }
    const t = resolve(runtime, req);
    if (!t.match || !t.upstream) { req.resume(); refuse(req, res, notFound(t.host, t.hashPath)); return; }
    forward({ req, res, plan: t.match.value, upstream: t.upstream, path: t.path, hashPath: t.hashPath, clientIp: t.clientIp, clientHost: t.host, hooks }, body);
  };

  const server = createServer({
    keepAliveTimeout: 65_000,
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node's default (30 s) would let a slow client outlive its header timeout by that much.
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  }, onRequest);

  // Node emits this for any `Connection: upgrade` request once the listener exists.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!isWebSocketUpgrade(req)) {
      const problem = upgradeBodyProblem(req, REPLAY_BUFFER_LIMIT);
      if (problem !== null) { refuseRaw(req, socket, { code: 'bad_request', message: problem }); return; }
      const length = Number(req.headers['content-length'] ?? 0);
      if (length === 0) { onRequest(req, plainResponse(req, socket)); return; }
      readUpgradeBody(socket, head, length, limits.requestTimeoutMs || limits.headerTimeoutMs, (body) => {
        if (body === null) { socket.end(REQUEST_TIMEOUT); return; }
        onRequest(req, plainResponse(req, socket), body);
      });
      return;
    }
    const problem = hasDuplicateHost(req.rawHeaders) ? DUPLICATE_HOST.message : webSocketRequestProblem(req);
    if (problem !== null) { refuseRaw(req, socket, { code: 'bad_request', message: problem }); return; }
    const t = resolve(runtime, req);
    if (!t.match || !t.upstream) { refuseRaw(req, socket, notFound(t.host, t.hashPath)); return; }
    forwardUpgrade({ req, socket, head, plan: t.match.value, upstream: t.upstream, path: t.path, hashPath: t.hashPath, clientIp: t.clientIp, clientHost: t.host, hooks });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Nothing can be written once an answer has started on this connection.
    const started = currentResponse(socket)?.headersSent === true;
    if (!socket.writable || err.code === 'ECONNRESET' || started) { socket.destroy(); return; }
    socket.end(err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? REQUEST_TIMEOUT : 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  const admit = limits.maxConnectionsPerIp > 0 ? perAddressGate(limits.maxConnectionsPerIp) : null;
  const sockets = new Set<Socket>();
  // Counted here rather than with server.maxConnections: under node:cluster a worker at that
  // cap hands the connection back to the primary, which offers it to the next worker, round
  // and round while every worker is full. Closed here, it is closed at once.
  const max = limits.maxConnections;
  server.on('connection', (s: Socket) => {
    if (max > 0 && sockets.size >= max) { s.destroy(); return; }
    if (admit !== null && !admit(s)) return;
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
      draining = true;
      // Stops accepting and closes idle connections; resolves when the last one is gone.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      for (const s of sockets) {
        const res = currentResponse(s);
        // Node counts a connection that has not sent a byte yet as busy, not idle; it is
        // idle all the same (nginx closes those too).
        if (res === null && s.bytesRead === 0) { s.destroy(); continue; }
        if (res === null || res.writableFinished) continue;
        // Not answered yet: the answer says `Connection: close` and Node closes after it.
        if (!res.headersSent) res.shouldKeepAlive = false;
        // Already said keep-alive: close once it is written.
        else res.once('finish', () => s.destroySoon());
      }
      const timer = setTimeout(() => { for (const s of sockets) s.destroy(); }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}
