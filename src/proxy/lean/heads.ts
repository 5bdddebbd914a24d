import { FIELD_HOP, FIELD_HOST, FIELD_XFF, type Fields, type RequestHead, type ResponseHead } from '../http1/head.js';
import { KEEP, REFERER, requestFieldKind, SEC_WS_KEY, SEC_WS_VERSION, USER_AGENT, XFF, equalsLower } from './fields.js';

const CR = 13;
const LF = 10;
const K = (s: string): Buffer => Buffer.from(s, 'latin1');
const EMPTY = Buffer.alloc(0);
const HTTP11 = K('HTTP/1.1');
const REQ_VERSION_HOST = K(' HTTP/1.1\r\nhost: ');
const TE_TRAILERS = K('te: trailers\r\n');
const XFF_NAME = K('x-forwarded-for: ');
const COMMA_SP = K(', ');

/**
 * The fields a client connection's address fixes, made once per connection: what follows the
 * X-Forwarded-For values (the address, X-Forwarded-Proto, X-Forwarded-Host's name) and
 * X-Real-IP, written after X-Forwarded-Host's value. `tail` is the whole end of a head whose
 * client sent no X-Forwarded-For (see writeRequestHead), for the Host `tailHost`: a connection
 * nearly always sends one Host, so its requests end with one copy.
 */
export interface AddressFields { readonly xffTail: Buffer; readonly xriTail: Buffer; tailHost: string | null; tail: Buffer }

export function addressFields(ip: string): AddressFields {
  return { xffTail: K(`${ip}\r\nx-forwarded-proto: http\r\nx-forwarded-host: `), xriTail: K(`\r\nx-real-ip: ${ip}\r\n`), tailHost: null, tail: EMPTY };
}

/** `a.tail` for `host`, made when the Host changes. */
function plainTail(a: AddressFields, host: string): Buffer {
  if (a.tailHost !== host) {
    a.tail = K(`${XFF_NAME.toString('latin1')}${a.xffTail.toString('latin1')}${host}${a.xriTail.toString('latin1')}\r\n`);
    a.tailHost = host;
  }
  return a.tail;
}
const TE_CHUNKED_REQ = K('transfer-encoding: chunked\r\n');
const WS_UPGRADE = K('connection: upgrade\r\nupgrade: websocket\r\n');
const TE_CHUNKED_RES = K('Transfer-Encoding: chunked\r\n');

/*
 * Copying, as measured under callgrind (Node 20): a byte loop costs V8 about 25 instructions a
 * byte; a TypedArray set about 250 for a whole array, and the view a part needs as much again,
 * whatever the length. So short runs go by hand. V8 compiles a typed array's method and
 * accessor reads (`buf.set`, `buf.buffer`, `buf.byteOffset`, and Buffer#subarray's reads of
 * them) to a generic property lookup at every call, ~200 instructions each, even with
 * monomorphic feedback; calling the functions held here costs none.
 */
const SHORT_RUN = 24;
const SHORT_WHOLE = 8;
const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype) as object;
const U8_SET = Uint8Array.prototype.set;
const BUFFER_OF = Object.getOwnPropertyDescriptor(TYPED_ARRAY, 'buffer')!.get as (this: Uint8Array) => ArrayBuffer;
const OFFSET_OF = Object.getOwnPropertyDescriptor(TYPED_ARRAY, 'byteOffset')!.get as (this: Uint8Array) => number;

/** Copies src[s..e) to dst at d. */
export function put(dst: Buffer, d: number, src: Buffer, s: number, e: number): number {
  const n = e - s;
  if (n > SHORT_RUN) { U8_SET.call(dst, new Uint8Array(BUFFER_OF.call(src), OFFSET_OF.call(src) + s, n), d); return d + n; }
  for (let i = 0; i < n; i++) dst[d + i] = src[s + i]!;
  return d + n;
}

/** Copies all of src to dst at d. */
function putAll(dst: Buffer, d: number, src: Buffer): number {
  const n = src.length;
  if (n > SHORT_WHOLE) { U8_SET.call(dst, src, d); return d + n; }
  for (let i = 0; i < n; i++) dst[d + i] = src[i]!;
  return d + n;
}

/** The end of the start line (the first field's start, or the blank line's). */
function startLineEnd(h: Fields, headEnd: number): number { return h.count > 0 ? h.fields[0]! : headEnd - 2; }

/** Field i's whole line, up to and including its CRLF: it runs to the next field's start. */
function lineEnd(h: Fields, i: number, headEnd: number): number { return i + 1 < h.count ? h.fields[(i + 1) << 2]! : headEnd - 2; }

/**
 * What the engine reads of one request's fields, found in one pass when its head is parsed:
 * which fields go upstream and the few it needs the value of. One per client connection.
 */
export class RequestFields {
  /** Per field: KEEP... (fields.ts); forwarded[i] = 1 when it goes upstream as sent. */
  readonly kinds: Uint8Array;
  readonly forwarded: Uint8Array;
  /** Index of the field, or -1. */
  userAgent = -1;
  referer = -1;
  wsKey = -1;
  wsVersion = -1;
  /** TE: trailers was asked for (gRPC needs it end to end). */
  teTrailers = false;
  /** X-Forwarded-For fields (their values are joined, as node:http does). */
  xff = 0;
  /** Bytes the upstream head may add beyond the client's: X-Forwarded-For values repeated. */
  private xffBytes = 0;
  /** The Host field's index (its value is copied when it is the Host sent), or -1. */
  hostField = -1;

  constructor(maxFields: number) {
    this.kinds = new Uint8Array(maxFields);
    this.forwarded = new Uint8Array(maxFields);
  }

  scan(b: Buffer, h: RequestHead): void {
    this.userAgent = -1; this.referer = -1; this.wsKey = -1; this.wsVersion = -1;
    this.teTrailers = h.teTrailers === true; this.xff = 0; this.xffBytes = 0; this.hostField = -1;
    const f = h.fields;
    const flags = h.flags;
    // The parser's flags say what is not forwarded (hop-by-hop, set by the gateway); names are
    // looked at only for the lengths of the few fields read here.
    for (let i = 0; i < h.count; i++) {
      const k = i << 2;
      const fl = flags[i]!;
      this.forwarded[i] = (fl & FIELD_HOP) === 0 ? 1 : 0;
      let kind = KEEP;
      if ((fl & FIELD_XFF) !== 0) {
        kind = XFF;
        this.xff++;
        this.xffBytes += f[k + 3]! - f[k + 2]! + 2;
      } else if ((fl & FIELD_HOST) !== 0) this.hostField = i;
      else {
        const n = f[k + 1]! - f[k]!;
        if (n === 10 || n === 7 || n === 17 || n === 21) {
          kind = requestFieldKind(b, f[k]!, f[k + 1]!);
          if (kind === USER_AGENT) this.userAgent = i;
          else if (kind === REFERER) this.referer = i;
          else if (kind === SEC_WS_KEY) this.wsKey = this.wsKey === -1 ? i : -2;
          else if (kind === SEC_WS_VERSION) this.wsVersion = this.wsVersion === -1 ? i : -2;
        }
      }
      this.kinds[i] = kind;
    }
  }

  /** A value as a string (rare paths and the record), null when absent. */
  value(b: Buffer, h: Fields, i: number): string | null {
    if (i < 0) return null;
    return b.toString('latin1', h.fields[(i << 2) + 2]!, h.fields[(i << 2) + 3]!);
  }

  /** An upper bound of the upstream head's size (see writeRequestHead). */
  bound(headStart: number, headEnd: number, path: string, host: string, clientHost: string, a: AddressFields): number {
    return headEnd - headStart + path.length + host.length + clientHost.length + a.xffTail.length + a.xriTail.length + this.xffBytes + 96;
  }
}

/**
 * The upstream request head:
 * `METHOD path HTTP/1.1`, host first, the client's fields that are not hop-by-hop nor set by
 * the gateway (as sent: raw lines, names in their case), te: trailers when asked, then
 * X-Forwarded-For (appended to), X-Forwarded-Proto/Host and X-Real-IP; `chunked` for a chunked
 * body forwarded as it came; the WebSocket upgrade fields for one. Returns the end offset.
 */
export function writeRequestHead(out: Buffer, b: Buffer, h: RequestHead, r: RequestFields, headStart: number, headEnd: number,
  path: string, host: string, clientHost: string, a: AddressFields, websocket: boolean): number {
  const m = h.method.length;
  let o = put(out, 0, b, headStart, headStart + m + 1);
  // The target and Host as they came are copied from the head's bytes; a rewritten one is written.
  if (path === h.target) o = put(out, o, b, headStart + m + 1, headStart + m + 1 + path.length);
  else o += out.write(path, o, 'latin1');
  o = putAll(out, o, REQ_VERSION_HOST);
  const hf = r.hostField;
  const f = h.fields;
  // The Host field's bytes serve only when they are what is sent: not for an absolute-form
  // target (its path differs from the target), whose authority replaced the field (RFC 9112 3.2.2).
  const sameHost = hf >= 0 && host === h.host && host === clientHost && h.path === h.target;
  if (sameHost) o = put(out, o, b, f[(hf << 2) + 2]!, f[(hf << 2) + 3]!);
  else o += out.write(host, o, 'latin1');
  out[o++] = CR; out[o++] = LF;
  // Contiguous runs of forwarded lines go in one copy.
  let runStart = -1;
  for (let i = 0; i < h.count; i++) {
    if (r.forwarded[i] === 1) { if (runStart < 0) runStart = f[i << 2]!; continue; }
    if (runStart >= 0) { o = put(out, o, b, runStart, f[i << 2]!); runStart = -1; }
  }
  if (runStart >= 0) o = put(out, o, b, runStart, headEnd - 2);
  if (r.xff === 0 && !r.teTrailers && !h.chunked && !websocket) return putAll(out, o, plainTail(a, clientHost));
  if (r.teTrailers) o = putAll(out, o, TE_TRAILERS);
  o = putAll(out, o, XFF_NAME);
  if (r.xff > 0) {
    for (let i = 0; i < h.count; i++) {
      if (r.kinds[i] !== XFF) continue;
      o = put(out, o, b, f[(i << 2) + 2]!, f[(i << 2) + 3]!);
      o = putAll(out, o, COMMA_SP);
    }
  }
  o = putAll(out, o, a.xffTail);
  if (sameHost) o = put(out, o, b, f[(hf << 2) + 2]!, f[(hf << 2) + 3]!);
  else o += out.write(clientHost, o, 'latin1');
  o = putAll(out, o, a.xriTail);
  if (h.chunked) o = putAll(out, o, TE_CHUNKED_REQ);
  if (websocket) o = putAll(out, o, WS_UPGRADE);
  out[o++] = CR; out[o++] = LF;
  return o;
}

/** Response fields passed to the client: not hop-by-hop (the parser flags RFC 9110's hop-by-hop fields and those named in Connection). */
export function forwardedResponseField(h: ResponseHead, i: number): boolean { return (h.flags[i]! & FIELD_HOP) === 0; }

/** An upper bound of the client head's size (see writeResponseHead). */
export function responseHeadBound(headStart: number, headEnd: number): number { return headEnd - headStart + 160; }

/**
 * The client's response head: the member's status line as HTTP/1.1, its end-to-end fields as
 * sent, `date` (the Date field, date.ts) when the member sent none, `Transfer-Encoding:
 * chunked` when the body is forwarded chunked, then `conn` (the Connection field for the
 * client). All fields and nothing added when `all` (a WebSocket 101 goes as it came).
 */
export function writeResponseHead(out: Buffer, o: number, b: Buffer, h: ResponseHead, headStart: number, headEnd: number,
  chunked: boolean, conn: Buffer | null, date: Buffer | null, all = false): number {
  const f = h.fields;
  let runStart = -1;
  // An HTTP/1.1 status line goes as it came, in one copy with the fields after it.
  if (h.minor === 1) runStart = headStart;
  else {
    o = putAll(out, o, HTTP11);
    o = put(out, o, b, headStart + 8, startLineEnd(h, headEnd));
  }
  for (let i = 0; i < h.count; i++) {
    const k = i << 2;
    // Date is not hop-by-hop: the parser's flags leave it alone, so its name is looked at here.
    if (date !== null && f[k + 1]! - f[k]! === 4 && equalsLower(b, f[k]!, f[k + 1]!, 'date')) date = null;
    if (all || forwardedResponseField(h, i)) { if (runStart < 0) runStart = f[k]!; continue; }
    if (runStart >= 0) { o = put(out, o, b, runStart, f[k]!); runStart = -1; }
  }
  if (runStart >= 0) o = put(out, o, b, runStart, lineEnd(h, h.count - 1, headEnd));
  if (date !== null) o = putAll(out, o, date);
  if (chunked) o = putAll(out, o, TE_CHUNKED_RES);
  if (conn !== null) o = putAll(out, o, conn);
  out[o++] = CR; out[o++] = LF;
  return o;
}

/** The only value of a response field named `lower`; null when absent or repeated. */
export function singleResponseValue(b: Buffer, h: ResponseHead, lower: string): string | null {
  let found: string | null = null;
  const f = h.fields;
  for (let i = 0; i < h.count; i++) {
    const k = i << 2;
    if (!equalsLower(b, f[k]!, f[k + 1]!, lower)) continue;
    if (found !== null) return null;
    found = b.toString('latin1', f[k + 2]!, f[k + 3]!);
  }
  return found;
}

export const CONNECTION_KEEP_ALIVE = K('Connection: keep-alive\r\nKeep-Alive: timeout=65\r\n');
export const CONNECTION_CLOSE = K('Connection: close\r\n');
