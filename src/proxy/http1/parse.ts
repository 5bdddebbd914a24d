import * as head from './head.js';
import type { Fields, HeadLimits, RequestHead, ResponseHead } from './head.js';
import * as chars from './chars.js';
import { validAuthority } from './authority.js';

// V8 reads an imported binding through its module cell, with a hole check, at every use, even
// in optimized code (a byte loop paid ~40 instructions a byte for it); this module's own
// consts fold into constants. So the loops read these copies.
const { FIELD_FORWARDED, FIELD_HOP, FIELD_HOST, FIELD_XFF, NEED_MORE } = head;
const { COLON, COMMA, CR, FVCHAR, HT, LF, LOWER, SLASH, SP, TARGET, TCHAR } = chars;

// The contract names the chunked framing here; it lives in its own module.
export { ChunkedFraming, MAX_CHUNK_EXTENSIONS, MAX_CHUNK_LINE } from './chunked.js';

/*
 * Strict HTTP/1.1 head parsing (RFC 9112). Where the RFC lets a recipient choose, the choice is
 * the stricter one, so that whatever llhttp (node:http, non-lenient) refuses is refused here too
 * (test/proxy/http1/differential.test.ts holds it to that). The choices:
 * - line endings are CRLF only; a bare CR or LF anywhere in a head is refused (llhttp's strict mode);
 * - up to 8 empty lines (CRLF) before a request line are skipped (RFC 9112 2.2), as llhttp does;
 * - methods are llhttp's list (node:http's `http.METHODS`), case-sensitive; any other token is
 *   refused with 501, CONNECT too (the gateway does not tunnel);
 * - exactly one SP between the parts of a start line (llhttp lets runs of SP through);
 * - versions HTTP/1.0 and HTTP/1.1 only: HTTP/1.2+ and 2-9.x get 505, HTTP/0.x 400;
 * - absolute-form targets accept the http and https schemes only and refuse userinfo
 *   (`http://u@h/`): it has no meaning to a gateway and hides the host from log readers;
 * - Host values are uri-host [":" port] with reg-name narrowed to unreserved and pct-encoded
 *   (no sub-delims), a port up to 65535; an empty Host is allowed (RFC 9112 3.2);
 * - Connection lists tokens only; naming Host, Content-Length or Transfer-Encoding is refused;
 * - Transfer-Encoding: a list of tokens (no parameters, no empty elements) whose last is chunked,
 *   applied once; in requests any other coding is 501 and TE in HTTP/1.0 is 400; in responses other
 *   codings before the final chunked pass through, and a response TE not ending in chunked or in
 *   HTTP/1.0 is 502 (RFC 9112 6.3 would let us read to close: refusing is the safe side);
 * - responses: status 100-599 (RFC 9110 15), a missing reason accepted with or without its SP; a
 *   1xx head that closes the connection (HTTP/1.0 without keep-alive, Connection: close) is 502.
 * A parse starts at `start` every time (heads nearly always come in one read); a head that needs
 * more is parsed again only once one of its lines has ended (see `stillOpen`), so that a head
 * trickled in costs a parse per line, not per read. Nothing is allocated until the head is known
 * to be whole and valid, so a head fed byte by byte costs no garbage.
 */

const E400 = -400, E431 = -431, E501 = -501, E502 = -502, E505 = -505;
const DOT = 0x2e, STAR = 0x2a;

const K = (s: string): Buffer => Buffer.from(s, 'latin1');

/**
 * A constant eqLc compares with: lower-case letters, digits and '-', as bytes and as its whole
 * 4-byte words (little-endian int32), so that a compare costs one test per 4 bytes.
 */
interface Lc { readonly bytes: Buffer; readonly words: Int32Array }

function lc(s: string): Lc {
  const bytes = K(s);
  const words = new Int32Array(bytes.length >> 2);
  for (let j = 0; j < words.length; j++) words[j] = bytes.readInt32LE(j << 2);
  return { bytes, words };
}

/**
 * Compares b[p..p+k.bytes.length) with `k` (the caller has checked the length). `| 0x20`
 * lower-cases a letter (bytewise, four at once in a word); over the bytes that reach here
 * (tchar or field-vchar, no CTLs) it can turn nothing else into one of the constant's bytes.
 */
function eqLc(b: Buffer, p: number, k: Lc): boolean {
  const w = k.words;
  for (let j = 0; j < w.length; j++) {
    const q = p + (j << 2);
    if ((b[q]! | b[q + 1]! << 8 | b[q + 2]! << 16 | b[q + 3]! << 24 | 0x20202020) !== w[j]) return false;
  }
  const t = k.bytes;
  for (let i = w.length << 2; i < t.length; i++) if ((b[p + i]! | 0x20) !== t[i]) return false;
  return true;
}

// llhttp's HTTP methods (the same as node:http's http.METHODS; a test checks they agree), interned
// so that a request's method costs no string.
const METHODS: string[][] = [];
for (const m of [
  'GET', 'PUT', 'ACL', 'POST', 'HEAD', 'COPY', 'LOCK', 'MOVE', 'BIND', 'LINK', 'PATCH', 'TRACE', 'MKCOL', 'MERGE', 'PURGE', 'QUERY',
  'DELETE', 'UNLOCK', 'SEARCH', 'REPORT', 'NOTIFY', 'REBIND', 'UNBIND', 'UNLINK', 'SOURCE', 'OPTIONS', 'CONNECT', 'PROPFIND',
  'M-SEARCH', 'CHECKOUT', 'PROPPATCH', 'SUBSCRIBE', 'MKACTIVITY', 'MKCALENDAR', 'UNSUBSCRIBE',
]) (METHODS[m.length] ??= []).push(m);
/** The methods the parser knows, for the test that holds them to node's. */
export const KNOWN_METHODS: readonly string[] = METHODS.flat();

function method(b: Buffer, s: number, e: number): string | null {
  const group = METHODS[e - s];
  if (group === undefined) return null;
  for (let g = 0; g < group.length; g++) {
    const m = group[g]!;
    let i = 0;
    while (i < m.length && b[s + i] === m.charCodeAt(i)) i++;
    if (i === m.length) return m;
  }
  return null;
}

const K_HOST = lc('host'), K_CL = lc('content-length'), K_TE = lc('transfer-encoding'), K_CONNECTION = lc('connection');
const K_KEEPALIVE = lc('keep-alive'), K_PROXYCONN = lc('proxy-connection'), K_TEH = lc('te'), K_TRAILER = lc('trailer');
const K_UPGRADE = lc('upgrade'), K_XFF = lc('x-forwarded-for'), K_XFP = lc('x-forwarded-proto'), K_XFH = lc('x-forwarded-host');
const K_XRI = lc('x-real-ip'), K_PROXYAUTHZ = lc('proxy-authorization'), K_PROXYAUTHN = lc('proxy-authenticate');
const K_H2S = lc('http2-settings'), K_EXPECT = lc('expect'), K_CHUNKED = lc('chunked'), K_CLOSE = lc('close');
const K_TRAILERS = lc('trailers'), K_CONTINUE = lc('100-continue'), K_HTTP = lc('http'), K_HTTP_SLASH = K('HTTP/');

// What the field lines said, for the whole-message checks after the last one. Module state is
// safe: a parse runs to its end without yielding.
let hosts = 0, hostS = 0, hostE = 0, cl = -1;
let te = false, teLastChunked = false, teChunkedNotLast = false, teOther = false, teFields = 0, teTrailers = false;
let connClose = false, connKeepAlive = false, connUpgrade = false;
let upgrades = 0, upgradeS = 0, upgradeE = 0, expectContinue = false;
/** Connection options other than close/keep-alive/upgrade: start, end pairs. */
const MAX_CONN_TOKENS = 32;
const connTokens = new Int32Array(MAX_CONN_TOKENS * 2);
let connTokenCount = 0;

function fail(h: Fields, code: number, why: string): number {
  h.error = why;
  return code;
}

/** Out of bytes before the head ended: wait for more, unless the head is already past its limit. */
function outOfBytes(h: Fields, start: number, end: number, limits: HeadLimits, req: boolean): number {
  if (end - start < limits.maxHeadBytes) return NEED_MORE;
  return fail(h, req ? E431 : E502, `head larger than ${limits.maxHeadBytes} bytes`);
}

const V_MORE = -1, V_BAD = -2, V_UNSUPPORTED = -3;
/** `HTTP/` DIGIT `.` DIGIT at p: the minor version (0 or 1), or V_*. */
function version(b: Buffer, p: number, lim: number): number {
  for (let i = 0; i < 8; i++) {
    if (p + i >= lim) return V_MORE;
    const c = b[p + i]!;
    if (i < 5) { if (c !== K_HTTP_SLASH[i]) return V_BAD; }
    else if (i === 6) { if (c !== DOT) return V_BAD; }
    else if (c < 0x30 || c > 0x39) return V_BAD;
  }
  const major = b[p + 5]! - 0x30, minor = b[p + 7]! - 0x30;
  if (major === 0) return V_BAD;
  if (major !== 1 || minor > 1) return V_UNSUPPORTED;
  return minor;
}

/** Connection: #connection-option (RFC 9110 7.6.1); empty list elements are allowed and skipped. */
function connectionList(b: Buffer, p: number, e: number): string {
  // Nearly every Connection field is a lone keep-alive or close.
  if (e - p === 10 && eqLc(b, p, K_KEEPALIVE)) { connKeepAlive = true; return ''; }
  if (e - p === 5 && eqLc(b, p, K_CLOSE)) { connClose = true; return ''; }
  for (;;) {
    let c = 0;
    while (p < e && ((c = b[p]!) === SP || c === HT || c === COMMA)) p++;
    if (p >= e) return '';
    const s = p;
    while (p < e && TCHAR[b[p]!] === 1) p++;
    if (p === s) return 'Connection: not a list of tokens';
    const n = p - s;
    if (n === 5 && eqLc(b, s, K_CLOSE)) connClose = true;
    else if (n === 10 && eqLc(b, s, K_KEEPALIVE)) connKeepAlive = true;
    else if (n === 7 && eqLc(b, s, K_UPGRADE)) connUpgrade = true;
    else {
      // Framing and routing must not be removable by the client.
      if ((n === 4 && eqLc(b, s, K_HOST)) || (n === 14 && eqLc(b, s, K_CL)) || (n === 17 && eqLc(b, s, K_TE))) {
        return 'Connection: names Host, Content-Length or Transfer-Encoding';
      }
      if (connTokenCount === MAX_CONN_TOKENS) return `Connection: more than ${MAX_CONN_TOKENS} options`;
      connTokens[connTokenCount * 2] = s;
      connTokens[connTokenCount * 2 + 1] = p;
      connTokenCount++;
    }
    while (p < e && ((c = b[p]!) === SP || c === HT)) p++;
    if (p >= e) return '';
    if (c !== COMMA) return 'Connection: not a list of tokens';
  }
}

/** Transfer-Encoding: 1#transfer-coding, codings as plain tokens, across repeated fields. */
function transferCodings(b: Buffer, p: number, e: number): string {
  te = true;
  for (;;) {
    const s = p;
    while (p < e && TCHAR[b[p]!] === 1) p++;
    if (p === s) return 'Transfer-Encoding: not a list of codings';
    if (teLastChunked) teChunkedNotLast = true;
    teLastChunked = p - s === 7 && eqLc(b, s, K_CHUNKED);
    if (!teLastChunked) teOther = true;
    let c = 0;
    while (p < e && ((c = b[p]!) === SP || c === HT)) p++;
    if (p >= e) return '';
    if (c !== COMMA) return 'Transfer-Encoding: not a list of codings';
    p++;
    while (p < e && ((c = b[p]!) === SP || c === HT)) p++;
  }
}

/** Content-Length: digits only, one value, at most 15 of them (below 2^53). */
function contentLength(b: Buffer, s: number, e: number): string {
  if (cl !== -1) return 'Content-Length: repeated';
  if (s === e || e - s > 15) return 'Content-Length: not 1 to 15 digits';
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return 'Content-Length: not 1 to 15 digits';
    v = v * 10 + d;
  }
  cl = v;
  return '';
}

/**
 * llhttp takes only SP after a Content-Length or Transfer-Encoding value (a trailing HTAB makes
 * `chunked\t` another coding to it), so HTAB inside or after these two values is refused.
 */
function hasTab(b: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] === HT) return true;
  return false;
}

function resetFieldState(): void {
  hosts = 0; cl = -1;
  te = false; teLastChunked = false; teChunkedNotLast = false; teOther = false; teFields = 0; teTrailers = false;
  connClose = false; connKeepAlive = false; connUpgrade = false;
  upgrades = 0; expectContinue = false; connTokenCount = 0;
}

/** The flags of one field, and what it says about the message; a negative status when it is refused. */
function classify(b: Buffer, ns: number, ne: number, vs: number, ve: number, le: number, h: Fields, req: boolean): number {
  let why = '';
  let f = 0;
  switch (ne - ns) {
    case 2:
      if (eqLc(b, ns, K_TEH)) { f = FIELD_HOP; teFields++; teTrailers = ve - vs === 8 && eqLc(b, vs, K_TRAILERS); }
      break;
    case 4:
      if (req && eqLc(b, ns, K_HOST)) { f = FIELD_HOP | FIELD_HOST; hosts++; hostS = vs; hostE = ve; }
      break;
    case 6:
      if (req && eqLc(b, ns, K_EXPECT)) { f = FIELD_HOP; if (ve - vs === 12 && eqLc(b, vs, K_CONTINUE)) expectContinue = true; }
      break;
    case 7:
      if (eqLc(b, ns, K_UPGRADE)) { f = FIELD_HOP; upgrades++; upgradeS = vs; upgradeE = ve; }
      else if (eqLc(b, ns, K_TRAILER)) f = FIELD_HOP;
      break;
    case 9:
      if (req && eqLc(b, ns, K_XRI)) f = FIELD_HOP | FIELD_FORWARDED;
      break;
    case 10:
      if (eqLc(b, ns, K_CONNECTION)) { f = FIELD_HOP; why = connectionList(b, vs, ve); }
      else if (eqLc(b, ns, K_KEEPALIVE)) f = FIELD_HOP;
      break;
    case 14:
      if (eqLc(b, ns, K_CL)) why = hasTab(b, vs, le) ? 'Content-Length: HTAB in the value' : contentLength(b, vs, ve);
      else if (req && eqLc(b, ns, K_H2S)) f = FIELD_HOP;
      break;
    case 15:
      if (req && eqLc(b, ns, K_XFF)) f = FIELD_HOP | FIELD_XFF;
      break;
    case 16:
      if (eqLc(b, ns, K_PROXYCONN)) f = FIELD_HOP;
      else if (req && eqLc(b, ns, K_XFH)) f = FIELD_HOP | FIELD_FORWARDED;
      break;
    case 17:
      if (eqLc(b, ns, K_TE)) { f = FIELD_HOP; why = hasTab(b, vs, le) ? 'Transfer-Encoding: HTAB in the value' : transferCodings(b, vs, ve); }
      else if (req && eqLc(b, ns, K_XFP)) f = FIELD_HOP | FIELD_FORWARDED;
      break;
    case 18:
      if (!req && eqLc(b, ns, K_PROXYAUTHN)) f = FIELD_HOP;
      break;
    case 19:
      if (req && eqLc(b, ns, K_PROXYAUTHZ)) f = FIELD_HOP;
      break;
  }
  if (why !== '') return fail(h, req ? E400 : E502, why);
  return f;
}

/**
 * Field lines from p up to and including the empty line: the offset past it, NEED_MORE or a
 * negative status. Fills h.fields/flags/count and the module's field state.
 */
function fieldLines(b: Buffer, p: number, start: number, end: number, lim: number, h: Fields, limits: HeadLimits, req: boolean): number {
  const fields = h.fields, flags = h.flags, bad = req ? E400 : E502;
  let n = 0;
  for (;;) {
    if (p >= lim) return outOfBytes(h, start, end, limits, req);
    let c = b[p]!;
    if (c === CR) {
      if (p + 1 >= lim) return outOfBytes(h, start, end, limits, req);
      if (b[p + 1] !== LF) return fail(h, bad, 'bare CR in the head');
      h.count = n;
      if (connTokenCount > 0) markNamedInConnection(b, h);
      return p + 2;
    }
    const ns = p;
    while (p < lim && TCHAR[b[p]!] === 1) p++;
    if (p >= lim) return outOfBytes(h, start, end, limits, req);
    if (p === ns) {
      return fail(h, bad, c === SP || c === HT ? 'a field line starts with whitespace (obs-fold)' : c === LF ? 'bare LF in the head' : 'invalid byte at the start of a field name');
    }
    if (b[p] !== COLON) {
      return fail(h, bad, `field ${b.toString('latin1', ns, p)}: whitespace or an invalid byte before the colon`);
    }
    const ne = p++;
    while (p < lim && ((c = b[p]!) === SP || c === HT)) p++;
    const vs = p;
    // field-vchar, SP and HTAB (chars.ts FVCHAR) by comparison: cheaper per byte than the table here.
    while (p < lim && ((c = b[p]!) >= 0x20 ? c !== 0x7f : c === HT)) p++;
    if (p >= lim) return outOfBytes(h, start, end, limits, req);
    let ve = p;
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HT)) ve--;
    if (c !== CR) return fail(h, bad, `field ${b.toString('latin1', ns, ne)}: ${c === LF ? 'bare LF' : 'control byte'} in the value`);
    if (p + 1 >= lim) return outOfBytes(h, start, end, limits, req);
    if (b[p + 1] !== LF) return fail(h, bad, `field ${b.toString('latin1', ns, ne)}: bare CR in the value`);
    p += 2;
    if (n === limits.maxFields) return fail(h, req ? E431 : E502, `more than ${limits.maxFields} fields`);
    const f = classify(b, ns, ne, vs, ve, p - 2, h, req);
    if (f < 0) return f;
    const k = n << 2;
    fields[k] = ns; fields[k + 1] = ne; fields[k + 2] = vs; fields[k + 3] = ve;
    flags[n] = f;
    n++;
  }
}

/** Fields that a Connection option names are hop-by-hop too (RFC 9110 7.6.1). */
function markNamedInConnection(b: Buffer, h: Fields): void {
  const fields = h.fields, flags = h.flags;
  for (let i = 0; i < h.count; i++) {
    const ns = fields[i << 2]!, len = fields[(i << 2) + 1]! - ns;
    for (let t = 0; t < connTokenCount; t++) {
      const ts = connTokens[t * 2]!;
      if (connTokens[t * 2 + 1]! - ts !== len) continue;
      let j = 0;
      while (j < len && LOWER[b[ns + j]!] === LOWER[b[ts + j]!]) j++;
      if (j === len) { flags[i] |= FIELD_HOP; break; }
    }
  }
}

/** Absolute-form authority end (RFC 9112 3.2.2), or a negative number when the target is not one we take. */
let absAuthorityStart = 0;
function absoluteForm(b: Buffer, s: number, e: number): number {
  let p = s;
  if (e - p < 7 || !eqLc(b, p, K_HTTP)) return -1;
  p += 4;
  if ((b[p]! | 0x20) === 0x73) p++; // https
  if (e - p < 3 || b[p] !== COLON || b[p + 1] !== SLASH || b[p + 2] !== SLASH) return -1;
  p += 3;
  absAuthorityStart = p;
  for (; p < e; p++) {
    const c = b[p]!;
    if (c === SLASH || c === 0x3f) break; // '/', '?' end the authority ('#' straight after it is refused, as llhttp does)
    if (c === 0x40) return -2; // '@': userinfo
  }
  if (p === absAuthorityStart || !validAuthority(b, absAuthorityStart, p)) return -3;
  return p;
}

/** The path to send upstream for an absolute-form target: its path and query, '/' when it has no path. */
function absolutePath(b: Buffer, authorityEnd: number, e: number, target: string, ts: number): string {
  if (authorityEnd === e) return '/';
  const rest = target.slice(authorityEnd - ts);
  return b[authorityEnd] === SLASH ? rest : '/' + rest;
}

/**
 * Parses a request head at b[start..end). Returns the offset just past the head's final CRLF
 * (the body, or the next pipelined request, starts there), NEED_MORE, or a negative status to
 * answer with and close: -400 (malformed; `h.error` says what), -431 (head or field count past
 * `limits`), -501 (a method or framing the gateway does not carry, e.g. CONNECT, a
 * Transfer-Encoding other than a final chunked), -505 (HTTP major version not 1).
 * Whole-message rules are checked here too: Content-Length with Transfer-Encoding, a repeated
 * or non-digit Content-Length, Host missing or repeated in HTTP/1.1.
 */
export function parseRequestHead(b: Buffer, start: number, end: number, h: RequestHead, limits: HeadLimits): number {
  if (stillOpen(b, start, end, h, limits)) return NEED_MORE;
  const r = requestHead(b, start, end, h, limits);
  remember(b, start, end, h, r);
  return r;
}

/**
 * True when the unfinished head seen before (same buffer, same start) has no new line end (LF)
 * in the bytes added since: nothing a parse would decide differently, so no need to parse it
 * again. Parsing again at each LF bounds the parses per head by its lines (at most maxFields
 * field lines and a few empty ones before a 431), and answers a bad line as soon as it ends.
 */
function stillOpen(b: Buffer, start: number, end: number, h: Fields, limits: HeadLimits): boolean {
  const m = h.pending;
  if (m === undefined || m.buffer !== b || m.start !== start) return false;
  const seen = m.seen;
  if (end - start <= seen || end - start >= limits.maxHeadBytes) return false;
  for (let i = start + seen; i < end; i++) if (b[i] === LF) return false;
  m.seen = end - start;
  return true;
}

function remember(b: Buffer, start: number, end: number, h: Fields, r: number): void {
  const m = h.pending;
  if (m === undefined) return;
  if (r === NEED_MORE) { m.buffer = b; m.start = start; m.seen = end - start; } else if (m.buffer !== null) { m.buffer = null; m.seen = 0; }
}

/** Forgets an unfinished head, for a head object reused after its stream was abandoned mid-head. */
export function resetHead(h: Fields): void {
  const m = h.pending;
  if (m !== undefined) { m.buffer = null; m.start = 0; m.seen = 0; }
}

/** b[s..e) read as latin1 is `str`. */
function sameLatin1(b: Buffer, s: number, e: number, str: string): boolean {
  if (str.length !== e - s) return false;
  for (let i = 0; i < str.length; i++) if (b[s + i] !== str.charCodeAt(i)) return false;
  return true;
}

/** Empty lines skipped before a request line: RFC 9112 2.2 asks for at least one. */
const MAX_EMPTY_LINES = 8;

function requestHead(b: Buffer, start: number, end: number, h: RequestHead, limits: HeadLimits): number {
  h.error = '';
  const lim = end - start > limits.maxHeadBytes ? start + limits.maxHeadBytes : end;
  let p = start;
  while (p < lim && b[p] === CR) {
    if (p + 1 >= lim) return outOfBytes(h, start, end, limits, true);
    if (b[p + 1] !== LF) return fail(h, E400, 'bare CR before the request line');
    if (p - start === MAX_EMPTY_LINES * 2) return fail(h, E400, `more than ${MAX_EMPTY_LINES} empty lines before the request line`);
    p += 2;
  }
  const ms = p;
  while (p < lim && TCHAR[b[p]!] === 1) p++;
  if (p >= lim) return outOfBytes(h, start, end, limits, true);
  if (p === ms || b[p] !== SP) return fail(h, E400, 'request line: malformed method');
  const m = method(b, ms, p);
  if (m === null) return fail(h, E501, 'request line: method not implemented');
  if (m === 'CONNECT') return fail(h, E501, 'request line: CONNECT is not carried (the gateway does not tunnel)');
  const ts = ++p;
  while (p < lim && TARGET[b[p]!] === 1) p++;
  if (p >= lim) return outOfBytes(h, start, end, limits, true);
  if (p === ts || b[p] !== SP) return fail(h, E400, 'request line: malformed request-target');
  const te_ = p;
  // Target form: 0 origin, 1 asterisk, else the absolute-form authority's end.
  let authorityEnd = 0;
  const c0 = b[ts];
  if (c0 === STAR && te_ - ts === 1) {
    if (m !== 'OPTIONS') return fail(h, E400, 'request line: asterisk-form target other than with OPTIONS');
    authorityEnd = 1;
  } else if (c0 !== SLASH) {
    authorityEnd = absoluteForm(b, ts, te_);
    if (authorityEnd < 0) {
      return fail(h, E400, authorityEnd === -2 ? 'request line: userinfo in an absolute-form target'
        : authorityEnd === -3 ? 'request line: invalid authority in an absolute-form target'
          : 'request line: request-target neither origin-form nor an http(s) absolute-form');
    }
  }
  const vs = p + 1;
  const minor = version(b, vs, lim);
  if (minor === V_MORE) return outOfBytes(h, start, end, limits, true);
  if (minor === V_UNSUPPORTED) return fail(h, E505, 'request line: HTTP version other than 1.0 or 1.1');
  if (minor < 0) return fail(h, E400, 'request line: malformed HTTP version');
  p = vs + 8;
  if (p + 1 >= lim) return outOfBytes(h, start, end, limits, true);
  if (b[p] !== CR || b[p + 1] !== LF) return fail(h, E400, 'request line: not ended by CRLF after the version');
  p += 2;

  resetFieldState();
  p = fieldLines(b, p, start, end, lim, h, limits, true);
  if (p < 0) return p;

  if (te) {
    if (cl !== -1) return fail(h, E400, 'Content-Length together with Transfer-Encoding');
    if (minor === 0) return fail(h, E400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (teChunkedNotLast) return fail(h, E400, 'Transfer-Encoding: chunked is not the last coding, or is applied twice');
    if (teOther) return fail(h, E501, 'Transfer-Encoding: a coding other than chunked');
  }
  if (minor === 1 ? hosts !== 1 : hosts > 1) return fail(h, E400, hosts === 0 ? 'Host: missing' : 'Host: repeated');
  // The Host of the connection's last request (kept below) was valid: the same bytes still are.
  const lastHost = hosts === 1 && sameLatin1(b, hostS, hostE, h.host);
  if (hosts === 1 && !lastHost && !validAuthority(b, hostS, hostE)) return fail(h, E400, 'Host: not a valid host[:port]');
  if (connUpgrade && upgrades > 1) return fail(h, E400, 'Upgrade: repeated');

  h.minor = minor;
  h.contentLength = cl;
  h.chunked = te;
  h.keepAlive = minor === 1 ? !connClose : connKeepAlive && !connClose;
  h.method = m;
  // A connection's requests mostly repeat the last one's target and Host: the head object is
  // the connection's, so its strings are kept when the bytes are the same (a byte compare costs
  // a tenth of making the string).
  const target = sameLatin1(b, ts, te_, h.target) ? h.target : b.toString('latin1', ts, te_);
  h.target = target;
  if (authorityEnd === 0 || authorityEnd === 1) {
    h.path = target;
    h.host = hosts !== 1 ? '' : lastHost ? h.host : b.toString('latin1', hostS, hostE);
  } else {
    h.path = absolutePath(b, authorityEnd, te_, target, ts);
    h.host = target.slice(absAuthorityStart - ts, authorityEnd - ts);
  }
  // An empty Upgrade asks for nothing: node:http does not take it as an upgrade either.
  h.upgrade = connUpgrade && upgrades === 1 && upgradeE > upgradeS ? b.toString('latin1', upgradeS, upgradeE) : null;
  h.expectContinue = expectContinue;
  h.teTrailers = teFields === 1 && teTrailers;
  return p;
}

/**
 * Parses a response head at b[start..end): the offset past it, NEED_MORE, or -502 (malformed
 * or too large; `h.error` says what). 1xx heads are returned like any other: the caller reads
 * `h.status` and parses again after them.
 */
export function parseResponseHead(b: Buffer, start: number, end: number, h: ResponseHead, limits: HeadLimits): number {
  if (stillOpen(b, start, end, h, limits)) return NEED_MORE;
  const r = responseHead(b, start, end, h, limits);
  remember(b, start, end, h, r);
  return r;
}

function responseHead(b: Buffer, start: number, end: number, h: ResponseHead, limits: HeadLimits): number {
  h.error = '';
  const lim = end - start > limits.maxHeadBytes ? start + limits.maxHeadBytes : end;
  const minor = version(b, start, lim);
  if (minor === V_MORE) return outOfBytes(h, start, end, limits, false);
  if (minor < 0) return fail(h, E502, 'status line: HTTP version other than 1.0 or 1.1');
  let p = start + 8;
  for (let i = 0; i < 4; i++) {
    if (p + i >= lim) return outOfBytes(h, start, end, limits, false);
    const c = b[p + i]!;
    if (i === 0 ? c !== SP : c < 0x30 || c > 0x39) return fail(h, E502, 'status line: malformed status code');
  }
  const status = (b[p + 1]! - 0x30) * 100 + (b[p + 2]! - 0x30) * 10 + (b[p + 3]! - 0x30);
  if (status < 100 || status > 599) return fail(h, E502, 'status line: status code outside 100-599');
  p += 4;
  if (p >= lim) return outOfBytes(h, start, end, limits, false);
  let rs = p;
  if (b[p] === SP) {
    rs = ++p;
    while (p < lim && FVCHAR[b[p]!] === 1) p++;
    if (p >= lim) return outOfBytes(h, start, end, limits, false);
  }
  const re = p;
  if (b[p] !== CR) return fail(h, E502, b[p] === LF ? 'status line: bare LF' : 'status line: control byte in the reason phrase');
  if (p + 1 >= lim) return outOfBytes(h, start, end, limits, false);
  if (b[p + 1] !== LF) return fail(h, E502, 'status line: bare CR');
  p += 2;

  resetFieldState();
  p = fieldLines(b, p, start, end, lim, h, limits, false);
  if (p < 0) return p;

  if (te) {
    if (cl !== -1) return fail(h, E502, 'Content-Length together with Transfer-Encoding');
    if (minor === 0) return fail(h, E502, 'Transfer-Encoding in an HTTP/1.0 response');
    if (teChunkedNotLast || !teLastChunked) return fail(h, E502, 'Transfer-Encoding: chunked is not the last coding, or is applied twice');
  }

  const keepAlive = minor === 1 ? !connClose : connKeepAlive && !connClose;
  // An interim answer that ends the connection leaves the final one nowhere to come (llhttp
  // takes the bytes after it as data after close, too).
  if (status < 200 && !keepAlive) return fail(h, E502, 'a 1xx response that closes the connection (Connection: close, or HTTP/1.0)');
  h.minor = minor;
  h.contentLength = cl;
  h.chunked = te;
  h.keepAlive = keepAlive;
  h.status = status;
  h.reason = re === rs ? '' : re - rs === 2 && b[rs] === 0x4f && b[rs + 1] === 0x4b ? 'OK' : b.toString('latin1', rs, re);
  return p;
}
