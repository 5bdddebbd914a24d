/**
 * The differential fuzz harness for the lean engine's parser: a grammar-based generator of
 * request streams (pipelined, bodies by Content-Length and chunked), byte-level mutations, node's
 * own parser (llhttp, through a real http.Server fed by a public-API Duplex) as the oracle, our
 * parser driven the way the engine drives it, and the comparison. Shared by
 * differential.test.ts (fixed seed, bounded) and scripts/fuzz-http1.ts (long runs).
 */
import http from 'node:http';
import { Duplex } from 'node:stream';
import { DEFAULT_HEAD_LIMITS, NEED_MORE, newRequestHead } from '../../../src/proxy/http1/head.js';
import { ChunkedFraming, parseRequestHead, resetHead } from '../../../src/proxy/http1/parse.js';

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]!; }
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'M-SEARCH', 'QUERY', 'PROPFIND'];
const BAD_METHODS = ['CONNECT', 'get', 'FOO', 'PRI', 'GETT', 'POS', 'GET\x00', '', 'G T'];
const ORIGIN = ['/', '/', '/a/b?c=d', '/%41?x', '/p#frag', '/x?y=/z&w=%20', '/a;b=c', "/!$&'()*+,;=:@", '/a//b', '/?', '/~user', '/"<>\\^`{|}'];
const ABSOLUTE = ['http://example.com/x', 'HTTP://Example.COM:8080', 'https://h/?q', 'http://u@h/', 'http://[::1]:80/', 'http://h:99999/',
  'ftp://h/', 'http://h', 'http:/h/', 'http://h?x', 'http://h#f', 'http://:80/', 'http://a%41b/', 'http://a b/', 'hTtPs://x.y:443/p?q#f'];
const WEIRD_TARGETS = ['*', '*', 'example.com:443', '//x', 'x', '', '/a b', '/\t', 'h:80', '?', '#'];
const BAD_VERSIONS = ['HTTP/1.2', 'HTTP/2.0',
  'HTTP/0.9', 'http/1.1', 'HTTP/1.10', 'HTTP/1', 'HTTP/11', 'HTTP/1.1 ', 'HTTP /1.1', ''];
const BAD_HOSTS = ['example.com', 'example.com', 'a:80', '[::1]', '[::1]:8080', 'a b', 'a@b', 'a/b', '', 'h:', 'h:123456', 'A.B-C_D~E',
  'h%41', 'h%4', 'x,y', 'h\\x', 'h:8o', ':80', '[]', '[::1', 'h\x80'];
const CLS = ['+5', '0x5', '5 5', '5, 5', ' 5', '05', '99999999999999999999', '-1', '5.0', '', '1e1', '٥'];
const TES = ['Chunked', 'CHUNKED', 'gzip, chunked', 'chunked, identity', 'xchunked', ' chunked', 'chunked ',
  'identity', 'chunked;q=1', '\tchunked', 'chunked,', ',chunked', 'chunked, chunked', 'chunk', 'chunked\t', 'gzip', 'chu\x00nked'];
const CONNECTIONS = ['close', 'keep-alive', 'Keep-Alive', 'Upgrade', 'close, foo', 'foo', 'content-length', 'host', 'keep-alive, Upgrade',
  'x-custom', 'transfer-encoding', 'Close', ', close,', 'close;', 'foo bar', 'upgrade, close', 'te', 'keep-alive, close'];
const OTHER_NAMES = ['Accept', 'User-Agent', 'X-Custom', 'Cookie', 'Keep-Alive', 'Proxy-Connection', 'Trailer', 'X-Forwarded-For',
  'X-Real-IP', 'x-forwarded-proto', 'Via', 'a', 'X_Under', 'X.Dot', "x!#$%&'*+-.^_`|~"];
const OTHER_VALUES = ['text/html', 'a=b; c=d', '', '  padded  ', 'tab\tinside', 'q="x,y"', '\x80\xff obs', 'v:with:colons', '1.2.3.4, 5.6.7.8'];
const DANGEROUS = ['\r\n', '\n', '\r', '\x00', ' ', '\t', ':', ',', ';', '"', '\x7f', '\x80', '\xff', '\r\n ', '\r\n\t', ' :', '\r\n\r\n',
  'Transfer-Encoding: chunked\r\n', 'Content-Length: 0\r\n', 'Host: x\r\n', '0\r\n\r\n', 'chunked', 'xchunked', 'identity', '+', '0x',
  'Content-Length', 'Transfer-Encoding', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', '\\', '@', '%', '=', 'HTTP/1.1'];
const BODY_BYTES = 'abcdefghijklmnopqrstuvwxyz0123456789 \r\n\x00\xff';

function body(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += rng.chance(0.9) ? String.fromCharCode(0x61 + rng.int(26)) : rng.pick([...BODY_BYTES]);
  return s;
}

function hex(rng: Rng, n: number): string {
  let h = n.toString(16);
  if (rng.chance(0.3)) h = h.toUpperCase();
  if (rng.chance(0.1)) h = '0'.repeat(1 + rng.int(15)) + h;
  return h;
}

function chunkExt(rng: Rng): string {
  if (rng.chance(0.85)) return '';
  if (rng.chance(0.7)) return rng.pick([';a', ';a=b', ';a="q s"', ';a="\\"x"', ';a=b;c', ";!#$%&'*+-.^_`|~=1", ';a=""']);
  return rng.pick(['; a', ';a = b', ';a=b c', ';a=b;c', ';=b', ';a=', ';a="unterminated', ';a=b\t', ';' + 'e'.repeat(5000)]);
}

function chunked(rng: Rng, data: string): string {
  let s = '';
  let i = 0;
  while (i < data.length) {
    const n = Math.min(data.length - i, 1 + rng.int(8));
    s += hex(rng, n) + chunkExt(rng) + '\r\n' + data.slice(i, i + n) + '\r\n';
    i += n;
  }
  s += (rng.chance(0.1) ? '000' : '0') + chunkExt(rng) + '\r\n';
  const trailers = rng.chance(0.85) ? 0 : 1 + rng.int(2);
  for (let t = 0; t < trailers; t++) {
    s += (rng.chance(0.8) ? rng.pick(['X-T: v', 'Expires: never', 'x-t:', 'X-T:  a b  ']) : rng.pick(['Content-Length: 5', 'Host: h', 'X-T :v', ' X-T: v', 'X-T: v\x01', 'X-T v'])) + '\r\n';
  }
  return s + '\r\n';
}

/** One request, valid more often than not. */
function request(rng: Rng): string {
  const method = rng.chance(0.95) ? rng.pick(METHODS) : rng.pick(BAD_METHODS);
  const r = rng.next();
  const target = r < 0.8 ? rng.pick(ORIGIN) : r < 0.95 ? rng.pick(ABSOLUTE) : rng.pick(WEIRD_TARGETS);
  const version = rng.chance(0.96) ? rng.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0']) : rng.pick(BAD_VERSIONS);
  const lines: string[] = [];
  const hostCount = rng.chance(0.95) ? 1 : rng.pick([0, 2]);
  const goodHost = ['example.com', 'example.com', 'a:80', '[::1]', '[::1]:8080', 'A.B-C_D~E', 'h%41', 'h:', ''];
  for (let i = 0; i < hostCount; i++) lines.push(`${rng.pick(['Host', 'host', 'HOST'])}: ${rng.chance(0.95) ? rng.pick(goodHost) : rng.pick(BAD_HOSTS)}`);
  const data = body(rng, rng.chance(0.3) ? 0 : 1 + rng.int(20));
  const framing = rng.next();
  let payload = '';
  if (framing < 0.3) {
    /* no body */
  } else if (framing < 0.6) {
    lines.push(`Content-Length: ${rng.chance(0.93) ? rng.pick(['', '0', '00']) + data.length : rng.chance(0.5) ? data.length + rng.pick([-1, 1]) : rng.pick(CLS)}`);
    payload = data;
  } else if (framing < 0.9) {
    lines.push(`Transfer-Encoding: ${rng.chance(0.9) ? rng.pick(['chunked', 'chunked', 'Chunked', 'CHUNKED', 'chunked ']) : rng.pick(TES)}`);
    payload = chunked(rng, data);
  } else if (framing < 0.95) {
    lines.push(`Content-Length: ${data.length}`, `Transfer-Encoding: ${rng.pick(TES)}`);
    payload = rng.chance(0.5) ? data : chunked(rng, data);
  } else {
    const twice = rng.chance(0.5) ? `Content-Length: ${data.length}` : `Transfer-Encoding: ${rng.pick(TES)}`;
    lines.push(twice, rng.chance(0.5) ? twice : `Content-Length: ${rng.pick(CLS)}`);
    payload = twice.startsWith('T') ? chunked(rng, data) : data;
  }
  if (version === 'HTTP/1.0' && rng.chance(0.6)) lines.push(`Connection: ${rng.pick(['keep-alive', 'Keep-Alive', 'keep-alive, x-custom'])}`);
  const extras = rng.int(4);
  for (let i = 0; i < extras; i++) {
    const k = rng.next();
    if (k < 0.15) lines.push(`Connection: ${rng.chance(0.7) ? rng.pick(['keep-alive', 'Keep-Alive', 'x-custom', 'Upgrade', 'te, x-custom']) : rng.pick(CONNECTIONS)}`);
    else if (k < 0.22) lines.push(`Upgrade: ${rng.pick(['websocket', 'h2c', ''])}`);
    else if (k < 0.28) lines.push(`Expect: ${rng.pick(['100-continue', 'foo', '100-Continue'])}`);
    else if (k < 0.33) lines.push(`TE: ${rng.pick(['trailers', 'gzip', 'Trailers'])}`);
    else lines.push(`${rng.pick(OTHER_NAMES)}: ${rng.pick(OTHER_VALUES)}`);
  }
  for (let i = lines.length - 1; i > 0; i--) { const j = rng.int(i + 1); [lines[i], lines[j]] = [lines[j]!, lines[i]!]; }
  const sp = rng.chance(0.97) ? ' ' : rng.pick(['  ', '\t', '']);
  return `${rng.chance(0.03) ? '\r\n' : ''}${method}${sp}${target} ${version}\r\n${lines.map((l) => l + '\r\n').join('')}\r\n${payload}`;
}

function occurrences(s: string, sub: string): number[] {
  const at: number[] = [];
  for (let i = s.indexOf(sub); i !== -1 && at.length < 64; i = s.indexOf(sub, i + 1)) at.push(i);
  return at;
}

/** One to three byte-level mutations aimed at the places a parser decides things. */
export function mutate(rng: Rng, s: string): string {
  const n = 1 + rng.int(3);
  for (let m = 0; m < n && s.length > 0; m++) {
    const at = rng.int(s.length + 1);
    switch (rng.int(11)) {
      case 0: s = s.slice(0, at) + rng.pick(DANGEROUS) + s.slice(at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + rng.int(3)); break;
      case 2: { const i = Math.min(at, s.length - 1); s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << rng.int(8))) + s.slice(i + 1); break; }
      case 3: { const len = 1 + rng.int(12); s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at); break; }
      case 4: case 5: { // a line ending changed, or turned into an obs-fold
        const crlf = occurrences(s, '\r\n');
        if (crlf.length === 0) break;
        const i = rng.pick(crlf);
        s = s.slice(0, i) + rng.pick(['\n', '\r', '\r\n ', '\r\n\t', '\r\r\n', '\n\r', '\r\n\r\n', ' \r\n', '\x00\r\n']) + s.slice(i + 2);
        break;
      }
      case 6: { // whitespace before a colon, or around a value
        const colons = occurrences(s, ':');
        if (colons.length === 0) break;
        const i = rng.pick(colons);
        s = s.slice(0, i) + rng.pick([' :', '\t:', ': ', ':\t', '::', '']) + s.slice(i + 1);
        break;
      }
      case 7: { // case change over a range
        const len = 1 + rng.int(20);
        const part = s.slice(at, at + len);
        s = s.slice(0, at) + (rng.chance(0.5) ? part.toUpperCase() : part.toLowerCase()) + s.slice(at + len);
        break;
      }
      case 8: { // a known token swapped for a dangerous look-alike
        const token = rng.pick(['chunked', 'Content-Length', 'Transfer-Encoding', 'Host', 'HTTP/1.1', 'close', 'keep-alive', '\r\n0\r\n']);
        const where = occurrences(s, token);
        if (where.length === 0) break;
        const i = rng.pick(where);
        const swap = rng.pick([token.toUpperCase(), ' ' + token, token + ' ', 'x' + token, token + 'x', token + ', identity', token.slice(1), `${token}\x00`,
          token.replace('-', '_'), token.replace('-', ' '), `${token}, ${token}`, '\t' + token]);
        s = s.slice(0, i) + swap + s.slice(i + token.length);
        break;
      }
      case 9: s = s.slice(0, at); break;
      default: { // a digit changed (lengths, chunk sizes, versions, status)
        const digits: number[] = [];
        for (let i = 0; i < s.length && digits.length < 64; i++) if (s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) digits.push(i);
        if (digits.length === 0) break;
        const i = rng.pick(digits);
        s = s.slice(0, i) + rng.pick(['0', '1', '9', 'a', 'f', '00', '-', '+', ' ', '99999999999999999']) + s.slice(i + 1);
        break;
      }
    }
  }
  return s;
}

export interface Case {
  bytes: Buffer;
  /** Offsets where the stream is cut into separate reads (ascending, inside the stream). */
  splits: number[];
}

export function generate(rng: Rng): Case {
  const count = 1 + rng.int(3);
  let s = '';
  for (let i = 0; i < count; i++) s += request(rng);
  if (rng.chance(0.5)) s = mutate(rng, s);
  const bytes = Buffer.from(s, 'latin1');
  const splits: number[] = [];
  const cuts = rng.int(4);
  for (let i = 0; i < cuts && bytes.length > 1; i++) splits.push(1 + rng.int(bytes.length - 1));
  splits.sort((a, b) => a - b);
  return { bytes, splits: [...new Set(splits)] };
}

function pieces(c: Case): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const s of [...c.splits, c.bytes.length]) { if (s > at) out.push(c.bytes.subarray(at, s)); at = s; }
  return out;
}

/** One message as a parser saw it. */
export interface Message { method: string; target: string; host: string; body: string; upgrade: boolean }

export interface Outcome {
  messages: Message[];
  /** clean: every byte made whole messages; stopped: the connection ends after the last message (close, upgrade); refused; incomplete. */
  end: 'clean' | 'stopped' | 'refused' | 'incomplete';
  /** The head or body of the message after the last one in `messages` is where it refused / ran out. */
  why: string;
}

// ---- node's parser (llhttp) through a real http.Server ----

interface NodeMessage { req: http.IncomingMessage | null; method: string; target: string; host: string; body: Buffer[]; upgrade: boolean }
let current: { messages: NodeMessage[]; error: string } = { messages: [], error: '' };
let server: http.Server | null = null;

function oracle(): http.Server {
  if (server) return server;
  const s = http.createServer();
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const m: NodeMessage = { req, method: req.method ?? '', target: req.url ?? '', host: req.headers.host ?? '', body: [], upgrade: false };
    current.messages.push(m);
    req.on('data', (d: Buffer) => m.body.push(d));
    req.on('end', () => res.end());
    req.on('error', () => {});
    res.on('error', () => {});
  };
  s.on('request', onRequest);
  // Unknown expectations are the application's call (node answers 417 by default); the gateway forwards them.
  s.on('checkExpectation', onRequest);
  const tunnel = (upgrade: boolean) => (req: http.IncomingMessage, socket: Duplex) => {
    current.messages.push({ req: null, method: req.method ?? '', target: req.url ?? '', host: req.headers.host ?? '', body: [], upgrade });
    socket.destroy();
  };
  s.on('upgrade', tunnel(true));
  s.on('connect', tunnel(true));
  s.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!current.error) current.error = err.code ?? err.message;
    socket.destroy();
  });
  server = s;
  return s;
}

export function closeOracle(): void { server?.close(); server = null; }

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The authority to compare with ours: an absolute-form target's, else the Host field. */
function nodeHost(target: string, host: string): string {
  const i = target.indexOf('://');
  if (target[0] === '/' || target[0] === '*' || i < 0) return host;
  const rest = target.slice(i + 3);
  const e = rest.search(/[/?#]/);
  return e < 0 ? rest : rest.slice(0, e);
}

export async function runNode(c: Case): Promise<Outcome> {
  const s = oracle();
  current = { messages: [], error: '' };
  const state = current;
  const socket = new Duplex({ read() {}, write(_chunk, _enc, cb) { cb(); } });
  socket.on('error', () => {});
  s.emit('connection', socket);
  for (const p of pieces(c)) socket.push(p);
  await settle();
  if (!socket.destroyed) socket.push(null);
  await settle();
  await settle();
  socket.destroy();
  const messages: Message[] = [];
  let end: Outcome['end'] = state.error ? 'refused' : 'clean';
  for (const m of state.messages) {
    // A message whose body did not end is where node stopped.
    if (m.req !== null && !m.req.complete) { end = 'refused'; break; }
    messages.push({ method: m.method, target: m.target, host: nodeHost(m.target, m.host), body: Buffer.concat(m.body).toString('latin1'), upgrade: m.upgrade });
    if (m.upgrade) { end = 'stopped'; break; }
  }
  return { messages, end, why: state.error };
}

// ---- ours, driven as the engine drives it: a head parsed from where it starts, as bytes arrive ----

/** Decodes a chunked body the framing has accepted (so its shape is known good). */
function dechunk(b: Buffer, p: number, e: number): string {
  let out = '';
  for (;;) {
    let size = 0;
    let c = b[p]!;
    for (; ; c = b[++p]!) {
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
      if (d < 0) break;
      size = size * 16 + d;
    }
    while (b[p] !== 0x0a) p++;
    p++;
    if (size === 0) return out;
    out += b.toString('latin1', p, p + size);
    p += size + 2;
    if (p > e) return out;
  }
}

const head = newRequestHead();
const framing = new ChunkedFraming();

export function runOurs(c: Case): Outcome {
  const b = c.bytes;
  const cuts = [...c.splits, b.length];
  let cut = 0;
  let avail = cuts[0]!;
  const more = (): boolean => { if (cut + 1 >= cuts.length) return false; avail = cuts[++cut]!; return true; };
  const messages: Message[] = [];
  // One head object serves every case, as a pooled connection object would: a case may end mid-head.
  resetHead(head);
  let p = 0;
  for (;;) {
    if (p === avail && !more()) return { messages, end: 'clean', why: '' };
    const r = parseRequestHead(b, p, avail, head, DEFAULT_HEAD_LIMITS);
    if (r === NEED_MORE) { if (more()) continue; return { messages, end: 'incomplete', why: 'head' }; }
    if (r < 0) return { messages, end: 'refused', why: `${r} ${head.error}` };
    const m: Message = { method: head.method, target: head.target, host: head.host, body: '', upgrade: head.upgrade !== null };
    p = r;
    if (m.upgrade) { messages.push(m); return { messages, end: 'stopped', why: 'upgrade' }; }
    if (head.chunked) {
      framing.reset();
      const bodyStart = p;
      for (;;) {
        const q = framing.scan(b, p, avail);
        if (q < 0) return { messages, end: 'refused', why: `chunked: ${framing.error}` };
        p = q;
        if (framing.done) break;
        if (!more()) return { messages, end: 'incomplete', why: 'chunked body' };
      }
      m.body = dechunk(b, bodyStart, p);
    } else if (head.contentLength > 0) {
      const bodyEnd = p + head.contentLength;
      while (avail < bodyEnd) if (!more()) return { messages, end: 'incomplete', why: 'body' };
      m.body = b.toString('latin1', p, bodyEnd);
      p = bodyEnd;
    }
    messages.push(m);
    if (!head.keepAlive) return { messages, end: 'stopped', why: 'close' };
  }
}

/**
 * Null when ours is as strict as node's and agrees with it, else what differs. Ours may refuse
 * more (a stricter parser): then the messages before its refusal must agree.
 */
export function compare(node: Outcome, ours: Outcome): string | null {
  const shared = Math.min(node.messages.length, ours.messages.length);
  for (let i = 0; i < shared; i++) {
    const a = node.messages[i]!, o = ours.messages[i]!;
    for (const k of ['method', 'target', 'host', 'body', 'upgrade'] as const) {
      if (a[k] !== o[k]) return `message ${i}: ${k} differs: node ${JSON.stringify(a[k])}, ours ${JSON.stringify(o[k])}`;
    }
  }
  if (ours.messages.length > node.messages.length) {
    return `ours accepted ${ours.messages.length} messages, node ${node.messages.length} (node: ${node.end} ${node.why})`;
  }
  if (ours.messages.length < node.messages.length) {
    // Refusing more is allowed; waiting for bytes node did not need means the boundaries differ.
    if (ours.end === 'incomplete') return `ours wants more bytes in message ${ours.messages.length} (${ours.why}), which node completed`;
    if (ours.end === 'clean') return `ours saw ${ours.messages.length} messages, node ${node.messages.length}`;
    return null;
  }
  if (node.end === 'refused' && ours.end === 'clean') return `node refused message ${node.messages.length} (${node.why}), ours accepted every byte`;
  if (node.end === 'stopped' && ours.end !== 'stopped') return `node stopped after message ${node.messages.length - 1} (upgrade), ours did not`;
  return null;
}

/** The input as a JS string literal, to paste into a unit test. */
export function escape(b: Buffer): string {
  return JSON.stringify(b.toString('latin1')).replace(/[\x7f-\xff]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16)}`);
}
