import { isIP } from 'node:net';
import { AttemptLoop } from '../attempts.js';
import { rawProxyAnswer, statusOf, type ProxyFailure } from '../errors.js';
import { LINGER_BYTES, LINGER_MS } from '../exchange-limits.js';
import { NEED_MORE } from '../http1/head.js';
import { parseResponseHead } from '../http1/parse.js';
import type { ProxyRoutePlan, ProxyTarget, ProxyUpstreamPlan } from '../pools.js';
import { webSocketAccept } from '../websocket.js';
import type { ClientConn } from './client.js';
import type { LeanRequest } from './context.js';
import { CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE, put, responseHeadBound, singleResponseValue, writeRequestHead, writeResponseHead } from './heads.js';
import { memberError, type MemberConn, type MemberOwner } from './member-pool.js';
import { chunkSizeLine, CRLF, LAST_CHUNK } from './rechunk.js';
import { batched, flushNow } from '../../net/turn-cork.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

// Where the member's answer is.
const R_HEAD = 0;
const R_CL = 1;
const R_CHUNKED = 2;
/** Chunked from the member, de-chunked for an HTTP/1.0 client (which cannot take chunked). */
const R_DECHUNK = 3;
/** Close-delimited: the body ends when the member closes. */
const R_EOF = 4;
/** A WebSocket tunnel: raw bytes both ways. */
const R_TUNNEL = 5;
const R_DONE = 6;
/** Close-delimited from the member, sent chunked to an HTTP/1.1 client (rechunk.ts). */
const R_RECHUNK = 7;

/** The TLS server name for a member with none of its own: the Host sent, as undici takes it (none for an IP). */
function sniOf(host: string): string | null {
  const colon = host.startsWith('[') ? host.indexOf(']:') + 1 : host.lastIndexOf(':');
  const name = colon > 0 ? host.slice(0, colon) : host;
  return name === '' || isIP(name.startsWith('[') ? name.slice(1, -1) : name) !== 0 ? null : name;
}

/**
 * One client request through to its answer on the lean engine: the shared attempt loop
 * (attempts.ts) picks members and retries; this writes the rewritten head (and a buffered body)
 * on a pooled member connection, takes a streamed body from the client connection, parses
 * the answer's head and streams its body back in its own framing, pausing the member while
 * the client has not taken what was written. A WebSocket upgrade is one too (`websocket`):
 * after a 101 that answers the client's key, bytes are relayed both ways.
 */
export class LeanExchange extends AttemptLoop implements MemberOwner {
  readonly upgrade: boolean;
  private conn: MemberConn | null = null;
  private rs = R_HEAD;
  private remaining = 0;
  /** The answer's head went to the client: nothing can be retried or answered any more. */
  private responded = false;
  private statusCode = 0;
  /** Nothing more goes to the client: the exchange is over, or the client left. */
  private finished = false;
  private left = false;
  private discarded = 0;
  private linger: NodeJS.Timeout | null = null;
  /** The member's read buffer is referenced by a client write not yet taken: reading waits. */
  private flushWait = false;
  private releaseOnFlush = false;
  private reusable = false;
  /** A partial answer head (copied out of the member's read buffer). */
  private acc: Buffer | null = null;
  /** The client head being built in `out`, sent with the first body bytes that fit. */
  private out: Buffer | null = null;
  private outLen = 0;
  /** Streamed request body bytes forwarded so far (the attempt cannot be resent once any went). */
  private streamed = 0;
  private gotBytes = false;
  /** The answer's head (or a gateway answer) went to the client. */
  get hasResponded(): boolean { return this.responded; }
  private readonly sentHost: string;

  constructor(
    private readonly client: ClientConn,
    private readonly request: LeanRequest,
    private readonly plan: ProxyRoutePlan,
    upstream: ProxyUpstreamPlan,
    private readonly targetPath: string,
    hashPath: string,
    private readonly clientHost: string,
    /** A buffered (replayable) body, or null: none, or streamed from the client (`streaming`). */
    private readonly body: Buffer | null,
    private readonly streaming: boolean,
    private readonly websocket: boolean,
  ) {
    super(upstream, client.ctx.hooks, client.clientIp, hashPath, request, plan.route.id);
    this.upgrade = websocket;
    if (body !== null) this.bytesIn = body.length;
    this.sentHost = upstream.upstream.upstreamHost ?? clientHost;
  }

  protected dispatch(t: ProxyTarget): void { this.connectTo(t, false); }

  private connectTo(t: ProxyTarget, fresh: boolean): void {
    const pool = t.pool;
    this.rs = R_HEAD;
    this.gotBytes = false;
    const c = pool.acquire(this, pool.tls ? (t.servername ?? sniOf(this.sentHost)) : null, fresh);
    this.conn = c;
    if (c.connected) this.send(c);
  }

  memberReady(c: MemberConn): void {
    if (this.finished) {
      // The client left while this connected: keep the fresh connection for another request.
      this.conn = null;
      this.attemptOver();
      c.pool.release(c);
      return;
    }
    this.send(c);
  }

  /** Writes the request head, and a buffered body with it, in one write where it fits. */
  private send(c: MemberConn): void {
    this.sent = true;
    c.arm(this.plan.route.timeoutMs);
    const cl = this.client;
    const h = cl.head;
    const body = this.body;
    const bodyLen = body === null ? 0 : body.length;
    const bound = cl.fields.bound(cl.headStart, cl.headEnd, this.targetPath, this.sentHost, this.clientHost, cl.address);
    const own = c.out;
    const out = own.take(c.sock.writableLength, bound, bound + (bound + bodyLen <= 65536 ? bodyLen : 0));
    let o = writeRequestHead(out, cl.headBuf, h, cl.fields, cl.headStart, cl.headEnd, this.targetPath, this.sentHost, this.clientHost, cl.address, this.websocket);
    // A buffered body goes in the same write when it fits after the head.
    const apart = body !== null && o + bodyLen > out.length;
    if (body !== null && !apart) o = put(out, o, body, 0, bodyLen);
    // The socket is corked for the turn (turn-cork.ts): a body apart joins the head in one writev.
    batched(c.sock).write(own.slice(out, o));
    if (apart) c.sock.write(body);
    if (this.streaming || this.websocket) cl.bodyReady();
  }

  /**
   * A piece of a streamed request body (or tunnel bytes), of which `data` bytes are body data
   * (the rest chunk framing); false when the member's buffer is full (wait for bodyDrained).
   */
  forwardBody(b: Buffer, s: number, e: number, data: number): boolean {
    const c = this.conn;
    if (c === null || this.rs === R_DONE) return true;
    if (this.rs !== R_TUNNEL) { this.streamed += e - s; this.bytesIn += data; }
    c.active = true;
    return c.sock.write(s === 0 && e === b.length ? b : b.subarray(s, e));
  }

  memberDrain(): void { this.client.bodyDrained(); }

  memberData(b: Buffer, s: number, e: number): boolean {
    this.gotBytes = true;
    let shared = this.conn !== null && this.conn.reusesReadBuffer;
    let p = s;
    if (this.acc !== null) {
      b = Buffer.concat([this.acc, b.subarray(s, e)]);
      this.acc = null;
      p = 0;
      e = b.length;
      shared = false;
    }
    while (p < e) {
      switch (this.rs) {
        case R_HEAD: {
          const r = this.head(b, p, e);
          if (r < 0) return false;
          if (r === e && this.rs === R_HEAD) return true;
          p = r;
          break;
        }
        case R_CL: {
          const take = Math.min(this.remaining, e - p);
          this.remaining -= take;
          this.toClient(b, p, p + take, shared);
          p += take;
          if (this.remaining === 0) { this.done(p < e); return !this.flushWait; }
          break;
        }
        case R_CHUNKED: {
          const framing = this.client.resChunks;
          const data = framing.dataBytes;
          const q = framing.scan(b, p, e);
          if (q < 0) { this.brokeOffWith(memberError('HPE_INVALID_CHUNK_SIZE', `invalid chunked answer: ${framing.error}`)); return false; }
          this.toClient(b, p, q, shared, framing.dataBytes - data);
          p = q;
          if (framing.done) { this.done(p < e); return !this.flushWait; }
          break;
        }
        case R_DECHUNK: {
          const framing = this.client.resChunks;
          const q = framing.scan(b, p, e, this);
          if (q < 0) { this.brokeOffWith(memberError('HPE_INVALID_CHUNK_SIZE', `invalid chunked answer: ${framing.error}`)); return false; }
          p = q;
          if (framing.done) { this.done(p < e); return !this.flushWait; }
          break;
        }
        case R_RECHUNK: {
          const line = chunkSizeLine(e - p);
          this.toClient(line, 0, line.length, false, 0);
          this.toClient(b, p, e, shared);
          this.toClient(CRLF, 0, 2, false, 0);
          p = e;
          break;
        }
        case R_EOF:
        case R_TUNNEL:
          this.toClient(b, p, e, shared);
          p = e;
          break;
        default:
          // Bytes past the answer's end: the connection cannot be reused.
          this.reusable = false;
          return false;
      }
    }
    this.flushOut();
    return !this.flushWait;
  }

  /** De-chunked data for an HTTP/1.0 client (the framing's ChunkSink). */
  chunkData(b: Buffer, s: number, e: number): void { this.toClient(b, s, e, this.conn !== null && this.conn.reusesReadBuffer); }

  /** Parses the answer's head at b[p..e): the offset past it, or -1 when the exchange moved on (failed, retried). */
  private head(b: Buffer, p: number, e: number): number {
    const cl = this.client;
    const rh = cl.resHead;
    const r = parseResponseHead(b, p, e, rh, cl.ctx.headLimits);
    if (r === NEED_MORE) {
      this.acc = Buffer.from(b.subarray(p, e));
      return e;
    }
    if (r < 0) { this.failedWith(memberError('HPE_INVALID_RESPONSE', `invalid answer head: ${rh.error}`)); return -1; }
    const status = rh.status;
    if (status < 200) {
      if (status === 101) {
        if (this.websocket) return this.switched(b, p, r, e);
        this.failedWith(memberError('HPE_UNEXPECTED_101', 'a 101 answer to a request that did not ask to upgrade'));
        return -1;
      }
      // Interim answers (103 Early Hints...) go to HTTP/1.1 clients as they came.
      if (cl.minor >= 1 && !this.left) this.writeClient(Buffer.from(b.subarray(p, r)));
      return r;
    }
    this.answered(status);
    this.statusCode = status;
    let framing = R_DONE;
    if (cl.isHead || status === 204 || status === 304) framing = R_DONE;
    else if (rh.chunked) framing = cl.minor === 0 ? R_DECHUNK : R_CHUNKED;
    else if (rh.contentLength > 0) framing = R_CL;
    else if (rh.contentLength < 0) framing = cl.minor === 0 ? R_EOF : R_RECHUNK;
    this.reusable = rh.keepAlive && framing !== R_EOF && framing !== R_RECHUNK;
    const keep = !this.websocket && cl.keepAlive && cl.requestComplete && !cl.ctx.draining && framing !== R_EOF && framing !== R_DECHUNK && !cl.ended;
    cl.keepAlive = keep;
    if (!this.left) {
      this.responded = true;
      const bound = responseHeadBound(p, r);
      const out = cl.out.take(cl.sock.writableLength, bound, Math.max(bound, 4096));
      this.out = out;
      this.outLen = writeResponseHead(out, 0, b, rh, p, r, framing === R_CHUNKED || framing === R_RECHUNK, keep ? CONNECTION_KEEP_ALIVE : CONNECTION_CLOSE, cl.ctx.date);
    }
    this.rs = framing;
    if (framing === R_CL) this.remaining = rh.contentLength;
    else if (framing === R_CHUNKED || framing === R_DECHUNK) cl.resChunks.reset();
    else if (framing === R_DONE) { this.done(r < e); return -1; }
    return r;
  }

  /** A 101 to a WebSocket upgrade: checked against the client's key, then the tunnel. */
  private switched(b: Buffer, p: number, r: number, e: number): number {
    const cl = this.client;
    const rh = cl.resHead;
    this.answered(101);
    const target = this.target!;
    const upgrade = singleResponseValue(b, rh, 'upgrade');
    let bad: string | null = null;
    if (upgrade === null || upgrade.trim().toLowerCase() !== 'websocket') bad = 'its 101 does not say Upgrade: websocket';
    else if (singleResponseValue(b, rh, 'sec-websocket-accept') !== webSocketAccept(cl.fields.value(cl.headBuf, cl.head, cl.fields.wsKey)!)) bad = 'its 101 has no Sec-WebSocket-Accept matching the client key';
    if (bad !== null) {
      // Relaying it would hand the client a raw channel to the member that is no WebSocket.
      this.dropConn();
      this.attemptOver();
      this.giveUp({ code: 'upstream_bad_upgrade', message: `member ${target.host}:${target.port} refused the WebSocket handshake: ${bad}` });
      return -1;
    }
    this.responded = true;
    this.statusCode = 101;
    this.reusable = false;
    const out = Buffer.allocUnsafe(responseHeadBound(p, r));
    this.out = out;
    this.outLen = writeResponseHead(out, 0, b, rh, p, r, false, null, null, true);
    this.rs = R_TUNNEL;
    this.conn!.arm(0);
    this.flushOut();
    cl.tunnel();
    return r === e ? e : r;
  }

  /**
   * Body bytes to the client: after the head in `out` when they fit there, else written as they
   * are. `payload`: how many of them are body data (the record counts no chunk framing).
   */
  private toClient(b: Buffer, s: number, e: number, shared: boolean, payload = e - s): void {
    const n = e - s;
    if (n === 0) return;
    if (this.left) {
      this.discarded += n;
      if (this.discarded > LINGER_BYTES) this.cut();
      return;
    }
    if (this.rs !== R_TUNNEL) this.bytesOut += payload;
    const out = this.out;
    if (out !== null) {
      if (this.outLen + n <= out.length) { this.outLen = put(out, this.outLen, b, s, e); return; }
      this.flushOut();
    }
    const sock = this.client.sock;
    const ok = sock.write(b.subarray(s, e));
    // With the head still held for the turn's end, both leave now in one write.
    if (shared) flushNow(sock);
    // A write Node did not hand to the kernel whole keeps a reference to the member's read
    // buffer (or, unshared, is past the high-water mark): read on once the client took it.
    if (shared ? sock.writableLength > 0 : !ok) this.waitFlush();
  }

  private writeClient(b: Buffer): void {
    this.flushOut();
    if (!this.client.sock.write(b)) this.waitFlush();
  }

  private flushOut(): void {
    const out = this.out;
    if (out === null) return;
    this.out = null;
    const n = this.outLen;
    this.outLen = 0;
    if (n > 0 && !batched(this.client.sock).write(this.client.out.slice(out, n))) this.waitFlush();
  }

  private waitFlush(): void {
    if (this.flushWait) return;
    this.flushWait = true;
    this.conn?.pause();
    this.client.waitFlush(this);
  }

  /** Everything written to the client so far was taken (see waitFlush). */
  flushed(): void {
    if (!this.flushWait) return;
    this.flushWait = false;
    if (this.releaseOnFlush) { this.releaseOnFlush = false; this.releaseConn(); return; }
    const c = this.conn;
    if (c !== null && !c.dead) { c.resume(); c.rearm(); }
  }

  /** The answer is complete; `extra`: the member sent bytes past it. */
  private done(extra: boolean): void {
    this.flushOut();
    this.rs = R_DONE;
    const cl = this.client;
    if (extra || !cl.requestComplete) this.reusable = false;
    this.attemptOver();
    if (this.flushWait) this.releaseOnFlush = true;
    else this.releaseConn();
    if (this.left) { this.stopLinger(); return; }
    this.finished = true;
    this.ended(this.statusCode, null);
    cl.exchangeDone(this);
  }

  private releaseConn(): void {
    const c = this.conn;
    if (c === null) return;
    this.conn = null;
    if (this.reusable) c.pool.release(c);
    else { c.owner = null; c.destroy(); }
  }

  /** Lets go of the member connection without hearing from it again. */
  private dropConn(): void {
    const c = this.conn;
    if (c === null) return;
    this.conn = null;
    c.owner = null;
    c.destroy();
  }

  memberTimeout(): void {
    if (this.flushWait || this.rs === R_TUNNEL) return;
    const code = this.rs === R_HEAD ? 'UND_ERR_HEADERS_TIMEOUT' : 'UND_ERR_BODY_TIMEOUT';
    if (this.rs === R_HEAD) this.failedWith(memberError(code, 'member answer timeout'));
    else this.brokeOffWith(memberError(code, 'member body timeout'));
  }

  memberClosed(err: Error | null): void {
    const c = this.conn;
    this.conn = null;
    if (this.rs === R_EOF) {
      // A close-delimited answer ends here (a reset cuts it short all the same: nothing tells them apart).
      this.reusable = false;
      this.done(false);
      return;
    }
    if (this.rs === R_RECHUNK && err === null) { this.toClient(LAST_CHUNK, 0, LAST_CHUNK.length, false, 0); this.done(false); return; }
    if (this.rs === R_TUNNEL) { this.tunnelClosed(); return; }
    if (this.rs === R_DONE) return;
    if (this.rs !== R_HEAD) { this.brokeOffWith(err ?? memberError('UND_ERR_SOCKET', 'other side closed')); return; }
    // A reused keep-alive connection the member closed as the request went out: it never saw it.
    if (c !== null && c.uses > 1 && this.sent && !this.gotBytes && !this.finished && this.staleRetry()) return;
    this.failedWith(err ?? memberError('UND_ERR_SOCKET', 'other side closed'), c);
  }

  /**
   * Resends on a new connection to the same member, as one attempt, where the retry rules
   * would let the request go again after reaching a member (it is repeatable, or its body was
   * not consumed); a POST that reached it is never sent twice.
   */
  private staleRetry(): boolean {
    if (!this.repeatable()) return false;
    this.connectTo(this.target!, true);
    return true;
  }

  /** The attempt failed before its answer: accounted, then retried or answered (attempts.ts). */
  private failedWith(err: Error, c: MemberConn | null = this.conn): void {
    if (c === this.conn) this.dropConn();
    else if (c !== null) { c.owner = null; c.destroy(); }
    const target = this.target;
    this.attemptOver();
    if (this.left) { this.stopLinger(); return; }
    if (this.finished || target === null) return;
    this.failed(target, err);
  }

  /** The answer broke off after its head went to the client: all that is left is to cut the client. */
  private brokeOffWith(err: Error): void {
    this.dropConn();
    const target = this.target;
    this.attemptOver();
    if (this.left) { this.stopLinger(); return; }
    if (this.finished) return;
    if (target !== null) this.brokeOff(target, err);
    this.finished = true;
    this.flushOut();
    this.ended(this.statusCode, null);
    this.client.cutAfter(this);
  }

  private tunnelClosed(): void {
    this.dropConn();
    this.attemptOver();
    if (this.finished) return;
    this.finished = true;
    this.ended(101, null);
    this.client.cutAfter(this, true);
  }

  /** The client's side of a tunnel closed. */
  tunnelClientClosed(): void {
    this.dropConn();
    this.attemptOver();
    if (this.finished) return;
    this.finished = true;
    this.ended(101, null);
  }

  protected giveUp(f: ProxyFailure): void {
    this.finished = true;
    const cl = this.client;
    if (this.responded) { this.ended(this.statusCode, null); cl.cutAfter(this); return; }
    const keep = !this.websocket && cl.keepAlive && cl.requestComplete && !cl.ctx.draining && !cl.ended;
    const a = rawProxyAnswer(f, keep);
    cl.keepAlive = keep;
    cl.sock.write(a.text, 'latin1');
    this.bytesOut = a.bytes;
    this.ended(statusOf(f.code), f.code);
    cl.exchangeDone(this);
  }

  protected override resendable(): boolean { return this.streamed === 0; }

  protected repeatable(): boolean {
    // It reached the member; only a request that may safely run twice goes again.
    return !this.websocket && IDEMPOTENT.has(this.request.method) && !this.streaming;
  }

  /** The client went away. */
  clientGone(): void {
    if (this.rs === R_TUNNEL) { this.tunnelClientClosed(); return; }
    if (this.finished) return;
    this.finished = true;
    this.left = true;
    this.out = null;
    this.ended(this.responded ? this.statusCode : 0, null);
    // Not on a connection yet: memberReady keeps it for the pool. On one: give the answer a
    // moment, reading on if it was waiting for the client to take bytes.
    if (!this.sent) return;
    if (!this.client.requestComplete) { this.cut(); return; }
    this.linger = setTimeout(() => this.cut(), LINGER_MS).unref();
    if (this.flushWait) { this.flushWait = false; this.conn?.resume(); }
  }

  private cut(): void {
    this.linger = null;
    this.rs = R_DONE;
    if (this.conn === null) return;
    this.dropConn();
    this.attemptOver();
  }

  private stopLinger(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
  }
}
