import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { AttemptLoop, type ProxyHooks } from './attempts.js';
import { rawProxyAnswer, statusOf, type ProxyFailure } from './errors.js';
import type { ProxyRoutePlan as RoutePlan, ProxyTarget as MemberTarget, ProxyUpstreamPlan } from './pools.js';
import { DROP_RESPONSE, upstreamRequestHeaders } from './headers.js';
import { webSocketAccept } from './websocket.js';

export interface UpgradeRequest {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  plan: RoutePlan;
  /** The route's upstream, from the snapshot the route was found in. */
  upstream: ProxyUpstreamPlan;
  path: string;
  hashPath: string;
  clientIp: string;
  clientHost: string;
  hooks: ProxyHooks;
}

/** undici's raw [name, value, ...] response headers as header lines, `skip` (lower-case) left out. */
function headerLines(flat: readonly (Buffer | string)[], skip: ReadonlySet<string> | null): string {
  let out = '';
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toString('latin1');
    if (skip !== null && skip.has(name.toLowerCase())) continue;
    out += `${name}: ${flat[i + 1]!.toString('latin1')}\r\n`;
  }
  return out;
}

/** The only value of header `name` (lower-case) in a raw list; null when absent or repeated. */
function single(raw: readonly Buffer[], name: string): string | null {
  let found: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== name.length || raw[i]!.toString('latin1').toLowerCase() !== name) continue;
    if (found !== null) return null;
    found = raw[i + 1]!.toString('latin1');
  }
  return found;
}

/** The member's 101 completes the client's WebSocket handshake (RFC 6455 4.2.2), else why not. */
function badSwitch(raw: readonly Buffer[], accept: string): string | null {
  const upgrade = single(raw, 'upgrade');
  if (upgrade === null || upgrade.trim().toLowerCase() !== 'websocket') return 'its 101 does not say Upgrade: websocket';
  if (single(raw, 'sec-websocket-accept') !== accept) return 'its 101 has no Sec-WebSocket-Accept matching the client key';
  return null;
}

/**
 * A WebSocket upgrade (checked by the caller) on the shared attempt loop (attempts.ts): a
 * healthy member or, failing open, any; every attempt reported; a connect or TLS failure
 * moves on to another member. What is upgrade-specific is here: the member's 101 must answer
 * the client's key before it goes back to the client and the two sockets are piped together;
 * a refusal is relayed as it is. An upgrade that reached a member is never sent again (the
 * member may have opened a session for it).
 */
class UpgradeExchange extends AttemptLoop implements Dispatcher.DispatchHandler {
  private readonly headers: string[];
  private readonly accept: string;
  /** The member's answer head reached the client: nothing more to retry or answer. */
  private answeredClient = false;
  readonly upgrade = true;
  /** The status of a member's refusal relayed to the client. */
  private refusedWith = 0;

  constructor(private readonly u: UpgradeRequest) {
    super(u.upstream, u.hooks, u.clientIp, u.hashPath, u.req, u.plan.route.id);
    const host = u.upstream.upstream.upstreamHost ?? u.clientHost;
    this.headers = upstreamRequestHeaders(u.req, { clientIp: u.clientIp, clientHost: u.clientHost, host });
    this.accept = webSocketAccept(u.req.headers['sec-websocket-key']!);
  }

  protected dispatch(t: MemberTarget): void {
    (t.pool as Dispatcher).dispatch({
      path: this.u.path, method: 'GET', headers: this.headers, upgrade: 'websocket',
      headersTimeout: this.u.plan.route.timeoutMs, servername: t.servername,
    } as Dispatcher.DispatchOptions, this);
  }

  protected giveUp(f: ProxyFailure): void {
    const a = rawProxyAnswer(f);
    this.u.socket.end(a.text);
    this.bytesOut = a.bytes;
    this.ended(statusOf(f.code), f.code);
  }

  protected repeatable(): boolean { return false; }

  onUpgrade(status: number, raw: Buffer[] | string[] | null, member: Duplex): void {
    const target = this.target!;
    this.answeredClient = true;
    this.answered(status);
    const client = this.u.socket;
    const headers = (raw ?? []) as Buffer[];
    const bad = badSwitch(headers, this.accept);
    if (bad !== null) {
      // Relaying it would hand the client a raw channel to the member that is no WebSocket.
      member.destroy();
      this.attemptOver();
      this.giveUp({ code: 'upstream_bad_upgrade', message: `member ${target.host}:${target.port} refused the WebSocket handshake: ${bad}` });
      return;
    }
    client.write(`HTTP/1.1 ${status} Switching Protocols\r\n${headerLines(headers, null)}\r\n`);
    if (this.u.head.length) member.write(this.u.head);
    member.pipe(client).pipe(member);
    // The tunnel's bytes are not body bytes: the record counts none; it ends with the tunnel.
    const end = (): void => { member.destroy(); client.destroy(); this.ended(status, null); };
    member.once('close', () => { this.attemptOver(); end(); });
    client.once('close', end);
    member.on('error', end);
  }

  onHeaders(status: number, raw: Buffer[], _resume: () => void, statusText: string): boolean {
    if (status < 200) return true;
    // The member refused the upgrade: relay its answer, ended by closing the connection
    // (undici hands over the body de-chunked, so the member's framing cannot go along).
    this.answeredClient = true;
    this.answered(status);
    this.refusedWith = status;
    this.u.socket.write(`HTTP/1.1 ${status} ${statusText ?? ''}\r\n${headerLines(raw, DROP_RESPONSE)}connection: close\r\n\r\n`);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytesOut += chunk.length;
    this.u.socket.write(chunk);
    return true;
  }

  onComplete(): void {
    this.attemptOver();
    this.u.socket.end();
    this.ended(this.refusedWith, null);
  }

  onError(err: Error): void {
    const target = this.target;
    this.attemptOver();
    if (target === null) return;
    if (this.answeredClient) { this.brokeOff(target, err); this.u.socket.destroy(); this.ended(this.refusedWith, null); return; }
    this.failed(target, err);
  }
}

/** Passes a checked WebSocket upgrade through to a member (see UpgradeExchange). */
export function forwardUpgrade(u: UpgradeRequest): void {
  new UpgradeExchange(u).start();
}
