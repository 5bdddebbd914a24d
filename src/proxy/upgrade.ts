import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Outcome } from '../model/health.js';
import type { ProxyRoutePlan as RoutePlan, ProxyTarget as MemberTarget } from './pools.js';
import { classify, noMember, rawProxyError, type ProxyFailure } from './errors.js';
import type { ProxyHooks } from './forward.js';
import { DROP_RESPONSE, upstreamRequestHeaders } from './headers.js';
import { webSocketAccept } from './websocket.js';

type HeaderObject = Record<string, string | string[] | undefined>;

function headerBlock(headers: HeaderObject, skip: ReadonlySet<string> | null): string {
  let out = '';
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || (skip !== null && skip.has(name))) continue;
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
  hooks: ProxyHooks;
}

/** The member's 101 completes the client's WebSocket handshake (RFC 6455 4.2.2), else why not. */
function badSwitch(headers: HeaderObject, accept: string): string | null {
  const upgrade = headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.trim().toLowerCase() !== 'websocket') return 'its 101 does not say Upgrade: websocket';
  if (headers['sec-websocket-accept'] !== accept) return 'its 101 has no Sec-WebSocket-Accept matching the client key';
  return null;
}

/**
 * Passes a WebSocket upgrade (checked by the caller) through: the member's 101, once it
 * answers the client's key, goes back to the client and the two sockets are then piped
 * together. Like a request, it goes to a healthy member (or any, failing open), reports to
 * passive health, and moves on to another member on a connect failure; once the upgrade is
 * answered there is nothing to retry.
 */
export function forwardUpgrade(u: UpgradeRequest): void {
  const plan = u.plan.upstream;
  const upstream = plan.upstream;
  const tried = new Set<MemberTarget>();
  const headers = upstreamRequestHeaders(u.req, { clientIp: u.clientIp, clientHost: u.clientHost, host: upstream.upstreamHost ?? u.clientHost });
  const accept = webSocketAccept(u.req.headers['sec-websocket-key']!);
  const report = (t: MemberTarget, outcome: Outcome, status: number): void => {
    if (upstream.healthCheck?.passive) u.hooks.outcome(t, outcome, status);
  };
  let last: ProxyFailure | null = null;

  const attempt = (): void => {
    const first = tried.size === 0;
    let t = plan.balancer.pick({ clientIp: u.clientIp, path: u.hashPath, eligible: (m) => m.state.healthy && !tried.has(m) });
    if (!t && first && upstream.failMode === 'open') {
      t = plan.balancer.pick({ clientIp: u.clientIp, path: u.hashPath, eligible: () => true });
      if (t) u.hooks.failOpen(upstream);
    }
    if (!t) {
      u.socket.end(rawProxyError(last ?? noMember(plan)));
      return;
    }
    const target = t;
    tried.add(target);
    plan.balancer.onStart(target);
    let answered = false;
    const handler: Dispatcher.DispatchHandler = {
      // undici tells the handler styles apart by this method; it must exist.
      onRequestStart() {},
      onRequestUpgrade(_c, status, resHeaders, member) {
        answered = true;
        report(target, 'ok', status);
        const bad = badSwitch(resHeaders as HeaderObject, accept);
        if (bad !== null) {
          // Relaying it would hand the client a raw channel to the member that is no WebSocket.
          member.destroy();
          plan.balancer.onEnd(target);
          u.socket.end(rawProxyError({ code: 'upstream_bad_upgrade', message: `member ${target.host}:${target.port} refused the WebSocket handshake: ${bad}` }));
          return;
        }
        u.socket.write(`HTTP/1.1 ${status} Switching Protocols\r\n${headerBlock(resHeaders as HeaderObject, null)}\r\n`);
        if (u.head.length) member.write(u.head);
        member.pipe(u.socket).pipe(member);
        const end = (): void => { member.destroy(); u.socket.destroy(); };
        member.once('close', () => { plan.balancer.onEnd(target); end(); });
        u.socket.once('close', end);
        member.on('error', end);
      },
      onResponseStart(_c, status, resHeaders, statusMessage) {
        // The member refused the upgrade: relay its answer, ended by closing the connection
        // (undici hands over the body de-chunked, so the member's framing cannot go along).
        answered = true;
        report(target, 'ok', status);
        u.socket.write(`HTTP/1.1 ${status} ${statusMessage ?? ''}\r\n${headerBlock(resHeaders as HeaderObject, DROP_RESPONSE)}connection: close\r\n\r\n`);
      },
      onResponseData(_c, chunk) { u.socket.write(chunk); },
      onResponseEnd() { plan.balancer.onEnd(target); u.socket.end(); },
      onResponseError(_c, err) {
        plan.balancer.onEnd(target);
        if (answered) { u.socket.destroy(); return; }
        const failure = classify(err);
        report(target, failure.kind, 0);
        last = failure;
        if (tried.size <= upstream.retries && (failure.code === 'upstream_connect_failed' || failure.code === 'upstream_tls_failed')) attempt();
        else u.socket.end(rawProxyError(failure));
      },
    };
    target.pool.dispatch({
      path: u.path, method: 'GET', headers, upgrade: 'websocket',
      headersTimeout: u.plan.route.timeoutMs, servername: target.servername,
    } as Dispatcher.DispatchOptions, handler);
  };
  attempt();
}
