import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { MemberTarget, RoutePlan } from '../runtime/snapshot.js';
import { classify, noMember, rawProxyError, type ProxyFailure } from './errors.js';
import { upstreamRequestHeaders } from './headers.js';

function headerBlock(headers: Record<string, string | string[] | undefined>): string {
  let out = '';
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out += `${name}: ${one}\r\n`;
  }
  return out;
}

export interface UpgradeRequest {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  plan: RoutePlan;
  path: string;
  hashPath: string;
  clientIp: string;
  clientHost: string;
}

/**
 * Passes an HTTP upgrade (WebSocket) through: the member's 101 goes back to the client and
 * the two sockets are then piped together. Connect failures move on to another member
 * like any request; once the upgrade is answered there is nothing to retry.
 */
export function forwardUpgrade(u: UpgradeRequest): void {
  const plan = u.plan.upstream;
  const tried = new Set<MemberTarget>();
  const headers = upstreamRequestHeaders(u.req, { clientIp: u.clientIp, clientHost: u.clientHost, host: plan.upstream.upstreamHost ?? u.clientHost });
  let last: ProxyFailure | null = null;
  u.socket.on('error', () => u.socket.destroy());

  const attempt = (): void => {
    const t = plan.balancer.pick({ clientIp: u.clientIp, path: u.hashPath, eligible: (m) => m.state.healthy && !tried.has(m) });
    if (!t) {
      u.socket.end(rawProxyError(last ?? noMember(plan)));
      return;
    }
    tried.add(t);
    plan.balancer.onStart(t);
    let answered = false;
    const handler: Dispatcher.DispatchHandler = {
      // undici tells the handler styles apart by this method; it must exist.
      onRequestStart() {},
      onRequestUpgrade(_c, status, resHeaders, upstream) {
        answered = true;
        u.socket.write(`HTTP/1.1 ${status} Switching Protocols\r\n${headerBlock(resHeaders as Record<string, string>)}\r\n`);
        if (u.head.length) upstream.write(u.head);
        upstream.pipe(u.socket).pipe(upstream);
        const end = (): void => { upstream.destroy(); u.socket.destroy(); };
        upstream.once('close', () => { plan.balancer.onEnd(t); end(); });
        u.socket.once('close', end);
        upstream.on('error', end);
      },
      onResponseStart(_c, status, resHeaders, statusMessage) {
        // The member refused the upgrade: relay its answer as is.
        answered = true;
        u.socket.write(`HTTP/1.1 ${status} ${statusMessage ?? ''}\r\n${headerBlock({ ...resHeaders, connection: 'close' } as Record<string, string>)}\r\n`);
      },
      onResponseData(_c, chunk) { u.socket.write(chunk); },
      onResponseEnd() { plan.balancer.onEnd(t); u.socket.end(); },
      onResponseError(_c, err) {
        plan.balancer.onEnd(t);
        if (answered) { u.socket.destroy(); return; }
        last = classify(err);
        if (tried.size <= plan.upstream.retries && (last.code === 'upstream_connect_failed' || last.code === 'upstream_tls_failed')) attempt();
        else u.socket.end(rawProxyError(last));
      },
    };
    t.pool.dispatch({
      path: u.path, method: 'GET', headers, upgrade: u.req.headers.upgrade ?? 'websocket',
      headersTimeout: u.plan.route.timeoutMs, servername: t.servername,
    } as Dispatcher.DispatchOptions, handler);
  };
  attempt();
}
