import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { gatewayAnswered } from '../attempts.js';
import { rawProxyAnswer, statusOf, type ProxyFailure } from '../errors.js';
import { REPLAY_BUFFER_LIMIT } from '../exchange-limits.js';
import { NEED_MORE, newRequestHead, newResponseHead, type RequestHead, type ResponseHead } from '../http1/head.js';
import { ChunkedFraming, parseRequestHead } from '../http1/parse.js';
import { upgradeBodyProblemOf } from '../plain-upgrade.js';
import type { ProxyRoutePlan, ProxyUpstreamPlan } from '../pools.js';
import { notFound, resolveTarget, routeHost, type Resolved } from '../resolve.js';
import { webSocketProblemOf } from '../websocket.js';
import { KEEP_ALIVE_MS, LeanRequest, TIMEOUT_CHECK_MS, type LeanContext } from './context.js';
import { LeanExchange } from './exchange.js';
import { addressFields, RequestFields, type AddressFields } from './heads.js';
import { OutBuffer } from './out-buffer.js';
import { flushNow } from '../../net/turn-cork.js';

// What the connection is reading.
const S_HEAD = 0;
const S_BODY = 1;
/** The request is read; its answer is on its way (later bytes wait: pipelined requests are answered in order). */
const S_WAIT = 2;
const S_TUNNEL = 3;
const S_CLOSED = 4;

// Where a request body goes.
const B_BUFFER = 0;
const B_STREAM = 1;
const B_DISCARD = 2;

// What the connection's deadline is for.
const D_NONE = 0;
const D_HEAD = 1;
const D_REQUEST = 2;
const D_IDLE = 3;

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';
/** A client's response head is built here (and the first body bytes with it). */
const OUT_SIZE = 16 * 1024;

/** An answer to a head the parser refused (`status`: 400, 431, 501, 505), naming what is wrong. */
function refusal(status: number, message: string): string {
  const body = JSON.stringify({ code: 'bad_request', message });
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`
    + `x-sluice-error: bad_request\r\nconnection: close\r\n\r\n${body}`;
}

/**
 * One client connection of the lean engine: parses request heads in place, routes each, and
 * runs one exchange at a time (pipelined requests wait, paused, and are answered in order).
 * A body up to the replay limit is read whole first (an attempt can be replayed); a larger or
 * chunked one is streamed to the member as raw bytes in its own framing, with back-pressure.
 */
export class ClientConn {
  state = S_HEAD;
  readonly head: RequestHead;
  readonly fields: RequestFields;
  readonly resHead: ResponseHead;
  readonly reqChunks = new ChunkedFraming();
  readonly resChunks = new ChunkedFraming();
  readonly out = new OutBuffer(OUT_SIZE);
  /** Where the current request's head is (its bytes stay as they came: Node never reuses a read's buffer). */
  headBuf: Buffer = CONTINUE;
  headStart = 0;
  headEnd = 0;
  minor = 1;
  isHead = false;
  /** The connection persists after the current answer. */
  keepAlive = true;
  /** The current request has been read whole. */
  requestComplete = true;
  /** The client closed its sending side. */
  ended = false;
  /** ms (Date.now) past which `deadlineKind` applies; 0: none. */
  deadline = 0;
  private deadlineKind = D_NONE;
  /** ms past which a client that has not taken what was written to it is cut (--send-timeout); 0: not waiting on it. */
  private sendDeadline = 0;
  private acc: Buffer | null = null;
  private pending: Buffer | null = null;
  private paused = false;
  private x: LeanExchange | null = null;
  private bodyMode = B_BUFFER;
  private chunkedBody = false;
  private remaining = 0;
  private bodyBuf: Buffer | null = null;
  private bodyLen = 0;
  /** A streamed body waits for the member connection (or for its buffer to drain). */
  private bodyBlocked = false;
  private processing = false;
  private request: LeanRequest | null = null;
  private plan: ProxyRoutePlan | null = null;
  private upstream: ProxyUpstreamPlan | null = null;
  private path = '';
  private hashPath = '';
  readonly address: AddressFields;
  private rawHost = '';
  private routeHost = '';
  /** The last request's routing, and the snapshot, target and method it was worked out for. */
  private resolved: Resolved | null = null;
  private resolvedIn: object | null = null;
  private resolvedPath = '';
  private resolvedMethod = '';
  /** The exchange waiting for the client to take what was written (one flush callback per connection, not per request). */
  private flushOwner: LeanExchange | null = null;
  private readonly onFlushed = (): void => {
    const x = this.flushOwner;
    this.flushOwner = null;
    this.sendDeadline = 0;
    x?.flushed();
  };

  constructor(readonly sock: Socket, readonly ctx: LeanContext, readonly clientIp: string, private readonly forget: (c: ClientConn) => void) {
    this.address = addressFields(clientIp);
    this.head = newRequestHead(ctx.headLimits);
    this.resHead = newResponseHead(ctx.headLimits);
    this.fields = new RequestFields(ctx.headLimits.maxFields);
    this.deadline = ctx.now + ctx.limits.headerTimeoutMs + TIMEOUT_CHECK_MS;
    this.deadlineKind = D_HEAD;
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('end', () => this.onEnd());
    sock.on('error', () => {});
    sock.on('close', () => this.onClose());
  }

  private onData(d: Buffer): void {
    const st = this.state;
    if (st === S_CLOSED) return;
    if (st === S_TUNNEL) {
      if (this.x !== null && !this.x.forwardBody(d, 0, d.length, 0)) this.pauseIn();
      return;
    }
    if (this.pending !== null) { this.pending = Buffer.concat([this.pending, d]); return; }
    if (this.acc !== null) {
      d = Buffer.concat([this.acc, d]);
      this.acc = null;
    }
    this.run(d, 0, d.length);
  }

  private run(b: Buffer, off: number, end: number): void {
    this.processing = true;
    try { this.process(b, off, end); } finally { this.processing = false; }
  }

  private process(b: Buffer, off: number, end: number): void {
    while (off < end) {
      switch (this.state) {
        case S_HEAD: {
          // Empty lines before a request line are ignored (RFC 9112 2.2).
          while (off < end && (b[off] === CR || b[off] === LF)) off++;
          if (off >= end) return;
          if (this.sock.writableNeedDrain) { this.waitForClient(b, off, end); return; }
          const r = parseRequestHead(b, off, end, this.head, this.ctx.headLimits);
          if (r === NEED_MORE) {
            if (end - off > this.ctx.headLimits.maxHeadBytes) { this.refuseHead(431); return; }
            this.acc = off === 0 && end === b.length ? b : b.subarray(off, end);
            if (this.deadlineKind === D_IDLE) this.setDeadline(D_HEAD, this.ctx.limits.headerTimeoutMs);
            return;
          }
          if (r < 0) { this.refuseHead(-r); return; }
          off = this.startRequest(b, off, r);
          if (off < 0) return;
          break;
        }
        case S_BODY:
          off = this.body(b, off, end);
          if (off < 0) return;
          break;
        case S_WAIT:
          this.holdIn(b, off, end);
          return;
        case S_TUNNEL:
          if (this.x !== null && !this.x.forwardBody(b, off, end, 0)) this.pauseIn();
          return;
        default:
          return;
      }
    }
  }

  /**
   * The client has not taken what was written to it: a pipelined request waits (S_WAIT keeps
   * its bytes, paused) until it has. Else a client that sends requests and reads nothing has
   * the gateway hold every answer: 3,000 pipelined GETs of a 60 KB answer held 180 MB.
   */
  private waitForClient(b: Buffer, off: number, end: number): void {
    this.state = S_WAIT;
    this.setDeadline(D_NONE, 0);
    this.holdIn(b, off, end);
    this.waitOnClient();
    this.sock.once('drain', this.onClientTook);
  }

  private readonly onClientTook = (): void => {
    this.sendDeadline = 0;
    if (this.state !== S_WAIT || this.x !== null) return;
    if (!this.keepAlive || this.ctx.draining) { this.close(); return; }
    this.state = S_HEAD;
    this.readOn();
  };

  /** The gateway waits for the client to take what was written: the send timeout runs. */
  private waitOnClient(): void {
    const ms = this.ctx.limits.sendTimeoutMs;
    if (ms > 0 && this.sendDeadline === 0) this.sendDeadline = this.ctx.now + ms + TIMEOUT_CHECK_MS;
  }

  private setDeadline(kind: number, ms: number): void {
    this.deadlineKind = kind;
    // The listener's clock moves once a check (a second): one check more of slack, never early.
    this.deadline = ms > 0 ? this.ctx.now + ms + TIMEOUT_CHECK_MS : 0;
  }

  /** A parsed head at b[hs..he): routes it and starts its exchange (or answers it). The offset to read on from, or -1. */
  private startRequest(b: Buffer, hs: number, he: number): number {
    const h = this.head;
    const ctx = this.ctx;
    this.headBuf = b;
    this.headStart = hs;
    this.headEnd = he;
    const f = this.fields;
    f.scan(b, h);
    this.minor = h.minor;
    this.isHead = h.method === 'HEAD';
    this.keepAlive = h.keepAlive && !ctx.draining && !this.ended;
    const hasBody = h.chunked || h.contentLength > 0;
    this.requestComplete = !hasBody;
    const fl = h.fields;
    const ua = f.userAgent;
    const ref = f.referer;
    const req = new LeanRequest(h.method, h.target, h.minor === 0 ? '1.0' : '1.1', h.host, b,
      ua < 0 ? -1 : fl[(ua << 2) + 2]!, ua < 0 ? -1 : fl[(ua << 2) + 3]!, ref < 0 ? -1 : fl[(ref << 2) + 2]!, ref < 0 ? -1 : fl[(ref << 2) + 3]!);
    this.request = req;
    if (hasBody) this.setDeadline(D_REQUEST, ctx.limits.requestTimeoutMs);
    else this.setDeadline(D_NONE, 0);

    let websocket = false;
    if (h.upgrade !== null) {
      if (h.method === 'GET' && h.upgrade.trim().toLowerCase() === 'websocket') {
        const problem = webSocketProblemOf(f.value(b, h, f.wsKey) ?? undefined, f.value(b, h, f.wsVersion) ?? undefined);
        if (problem !== null) { this.refuse(req, true, { code: 'bad_request', message: problem }); return -1; }
        websocket = true;
      } else {
        // Not a WebSocket: served as the plain request it also is, then closed (plain-upgrade.ts).
        const problem = upgradeBodyProblemOf(h.chunked, h.contentLength >= 0 ? String(h.contentLength) : undefined, REPLAY_BUFFER_LIMIT);
        if (problem !== null) { this.refuse(req, true, { code: 'bad_request', message: problem }); return -1; }
      }
      this.keepAlive = false;
    }

    // A keep-alive client mostly repeats its last request's route: kept while the snapshot,
    // Host, target and method are the same (the parser keeps their strings when they repeat).
    const snapshot = ctx.runtime.snapshot;
    let t = this.resolved;
    if (t === null || snapshot !== this.resolvedIn || h.path !== this.resolvedPath || h.method !== this.resolvedMethod || h.host !== t.host) {
      // A connection usually sends one Host: its routing form is kept across other targets too.
      if (h.host !== this.rawHost) { this.rawHost = h.host; this.routeHost = routeHost(h.host); }
      t = resolveTarget(ctx.runtime, h.host, h.path, h.method, this.clientIp, this.routeHost);
      this.resolved = t;
      this.resolvedIn = snapshot;
      this.resolvedPath = h.path;
      this.resolvedMethod = h.method;
    }
    if (t.match === null) {
      if (!this.refuse(req, websocket, notFound(t.host, t.hashPath))) return -1;
      if (hasBody) { this.startBody(h, B_DISCARD); return he; }
      this.state = S_HEAD;
      this.setDeadline(D_IDLE, KEEP_ALIVE_MS);
      return he;
    }
    this.plan = t.match.value;
    this.upstream = t.upstream;
    this.path = t.path;
    this.hashPath = t.hashPath;
    if (h.expectContinue && hasBody && h.minor >= 1) this.sock.write(CONTINUE);
    if (websocket || !hasBody) {
      this.state = S_WAIT;
      this.begin(null, false, websocket);
      return this.state === S_CLOSED ? -1 : he;
    }
    if (!h.chunked && h.contentLength <= REPLAY_BUFFER_LIMIT) { this.startBody(h, B_BUFFER); return he; }
    this.startBody(h, B_STREAM);
    this.bodyBlocked = true;
    this.begin(null, true, false);
    return this.state === S_CLOSED ? -1 : he;
  }

  private startBody(h: RequestHead, mode: number): void {
    this.state = S_BODY;
    this.bodyMode = mode;
    this.chunkedBody = h.chunked;
    if (h.chunked) this.reqChunks.reset();
    else this.remaining = h.contentLength;
    this.bodyBuf = null;
    this.bodyLen = 0;
  }

  private begin(body: Buffer | null, streaming: boolean, websocket: boolean): void {
    const x = new LeanExchange(this, this.request!, this.plan!, this.upstream!, this.path, this.hashPath, this.head.host, body, streaming, websocket);
    this.x = x;
    x.start();
  }

  /** Body bytes at b[off..end): the offset read to, or -1 when reading stops here. */
  private body(b: Buffer, off: number, end: number): number {
    const mode = this.bodyMode;
    if (mode === B_STREAM && this.bodyBlocked) {
      this.holdIn(b, off, end);
      return -1;
    }
    let q: number;
    let complete: boolean;
    // Body data in these bytes: a chunked body's framing is forwarded but not counted.
    let data: number;
    if (this.chunkedBody) {
      const before = this.reqChunks.dataBytes;
      q = this.reqChunks.scan(b, off, end);
      if (q < 0) { this.badBody(this.reqChunks.error); return -1; }
      complete = this.reqChunks.done;
      data = this.reqChunks.dataBytes - before;
    } else {
      const n = Math.min(this.remaining, end - off);
      data = n;
      q = off + n;
      this.remaining -= n;
      complete = this.remaining === 0;
    }
    if (mode === B_BUFFER) {
      let body: Buffer | null = null;
      if (this.bodyBuf === null && complete && this.bodyLen === 0) body = b.subarray(off, q);
      else {
        this.bodyBuf ??= Buffer.allocUnsafe(this.head.contentLength);
        b.copy(this.bodyBuf, this.bodyLen, off, q);
        this.bodyLen += q - off;
        if (complete) body = this.bodyBuf;
      }
      if (!complete) return q;
      this.bodyBuf = null;
      this.requestComplete = true;
      this.state = S_WAIT;
      this.setDeadline(D_NONE, 0);
      this.begin(body, false, false);
      return this.state === S_CLOSED ? -1 : q;
    }
    let ok = true;
    if (mode === B_STREAM && this.x !== null && q > off) ok = this.x.forwardBody(b, off, q, data);
    if (complete) {
      this.requestComplete = true;
      this.setDeadline(D_NONE, 0);
      if (mode === B_DISCARD || this.x === null) {
        // Answered already (no route, or the member answered before the body was in).
        if (!this.keepAlive) { this.close(); return -1; }
        this.state = S_HEAD;
        this.setDeadline(D_IDLE, KEEP_ALIVE_MS);
      } else this.state = S_WAIT;
    }
    if (!ok) {
      this.bodyBlocked = true;
      if (q < end) this.pending = b.subarray(q, end);
      this.pauseIn();
      return -1;
    }
    return q;
  }

  /** A malformed chunked request body. */
  private badBody(why: string): void {
    const x = this.x;
    if (x !== null && x.hasResponded) { this.x = null; x.clientGone(); this.cut(); return; }
    if (x !== null) { this.x = null; x.clientGone(); }
    this.sock.write(refusal(400, `invalid chunked body: ${why}`), 'latin1');
    this.close();
  }

  /** The member connection is up (or drained): a streamed body or a tunnel reads on. */
  bodyReady(): void {
    if (this.state === S_WAIT && this.x?.upgrade) return;
    this.bodyDrained();
  }

  bodyDrained(): void {
    if (!this.bodyBlocked) return;
    this.bodyBlocked = false;
    this.readOn();
  }

  /** The 101 went to the client: from now on its bytes go to the member as they come. */
  tunnel(): void {
    this.state = S_TUNNEL;
    this.setDeadline(D_NONE, 0);
    this.readOn();
  }

  /** Processes what waited, then reads again if nothing holds it. */
  private readOn(): void {
    if (this.processing) return;
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      this.run(p, 0, p.length);
    }
    if (this.pending === null && this.state !== S_CLOSED && !this.bodyBlocked) this.resumeIn();
  }

  /** Keeps b[off..end) to be read later and stops reading until then. */
  private holdIn(b: Buffer, off: number, end: number): void {
    this.pending = off === 0 && end === b.length ? b : b.subarray(off, end);
    this.pauseIn();
  }

  private pauseIn(): void {
    if (this.paused) return;
    this.paused = true;
    this.sock.pause();
  }

  private resumeIn(): void {
    if (!this.paused) return;
    this.paused = false;
    this.sock.resume();
  }

  /** Calls x.flushed() once everything written so far has been taken by the kernel. */
  waitFlush(x: LeanExchange): void {
    this.flushOwner = x;
    this.waitOnClient();
    this.sock.write(EMPTY, this.onFlushed);
  }

  /** The exchange answered the client whole. */
  exchangeDone(x: LeanExchange): void {
    if (this.x !== x) return;
    this.x = null;
    if (!this.keepAlive || this.ctx.draining) { this.close(); return; }
    if (this.state === S_WAIT) {
      this.state = S_HEAD;
      this.setDeadline(D_IDLE, KEEP_ALIVE_MS);
    }
    if (this.ended && this.pending === null) { this.close(); return; }
    this.readOn();
  }

  /** The answer broke off (or a tunnel ended): the client gets a cut connection. */
  cutAfter(x: LeanExchange, graceful = false): void {
    if (this.x === x) this.x = null;
    this.state = S_CLOSED;
    if (graceful) this.sock.destroySoon();
    else this.cut();
  }

  /** Closes at once, after what the turn holds for the client (turn-cork.ts): the bytes before a cut still go. */
  private cut(): void {
    this.state = S_CLOSED;
    flushNow(this.sock);
    this.sock.destroy();
  }

  /** Writes what is queued, then closes. */
  close(): void {
    this.state = S_CLOSED;
    this.pending = null;
    this.sock.destroySoon();
  }

  /**
   * An answer the gateway makes itself, told to the observer; the connection closes after it
   * when `closing` or not kept alive. Returns whether it stays open.
   */
  private refuse(req: LeanRequest, closing: boolean, f: ProxyFailure): boolean {
    const keep = this.keepAlive && !closing;
    const a = rawProxyAnswer(f, keep);
    this.sock.write(a.text, 'latin1');
    const o = this.ctx.observer;
    if (o !== null) gatewayAnswered(o, req, this.clientIp, closing && this.head.upgrade !== null, f.code, statusOf(f.code), a.bytes);
    if (!keep) { this.close(); return false; }
    return true;
  }

  private refuseHead(status: number): void {
    const message = this.head.error || (status === 431 ? 'the request head is too large' : 'malformed request head');
    this.sock.write(refusal(status, message), 'latin1');
    this.close();
  }

  /**
   * The client shut its sending side: as node:http does (without httpAllowHalfOpen), it is
   * taken as gone: an exchange in flight is dropped (see clientGone), and the connection
   * closes once what was written is out.
   */
  private onEnd(): void {
    this.ended = true;
    const x = this.x;
    this.x = null;
    x?.clientGone();
    this.close();
  }

  private onClose(): void {
    this.state = S_CLOSED;
    this.pending = null;
    this.forget(this);
    const x = this.x;
    this.x = null;
    x?.clientGone();
  }

  /** Called about once a second with the time: acts on a deadline passed. */
  check(now: number): void {
    if (this.sendDeadline !== 0 && now >= this.sendDeadline && this.state !== S_CLOSED) {
      // It has read nothing of what waits for it for --send-timeout: cut, as nginx's
      // send_timeout does, with a reset, which also frees what the kernel holds for it.
      const x = this.x;
      this.x = null;
      x?.clientGone();
      this.sock.resetAndDestroy();
      this.state = S_CLOSED;
      return;
    }
    // An idle connection would otherwise hold a superseded snapshot (its router, its plans)
    // until it closes: dropped here, a config change frees the old one within a check.
    if (this.resolvedIn !== null && this.resolvedIn !== this.ctx.runtime.snapshot && this.state === S_HEAD && this.x === null) this.forgetRoute();
    if (this.deadline === 0 || now < this.deadline || this.state === S_CLOSED) return;
    this.deadline = 0;
    if (this.deadlineKind === D_IDLE) { this.sock.destroy(); return; }
    const x = this.x;
    this.x = null;
    const answered = x !== null && x.hasResponded;
    x?.clientGone();
    if (answered) { this.cut(); return; }
    this.sock.write(REQUEST_TIMEOUT, 'latin1');
    this.close();
  }

  private forgetRoute(): void {
    this.resolved = null;
    this.resolvedIn = null;
    this.plan = null;
    this.upstream = null;
  }

  /** close(grace) began: an idle connection closes now, a busy one after its answer. */
  drain(): void {
    this.keepAlive = false;
    if (this.x === null && this.state === S_HEAD && this.pending === null && this.acc === null) { this.sock.destroy(); this.state = S_CLOSED; }
  }
}
