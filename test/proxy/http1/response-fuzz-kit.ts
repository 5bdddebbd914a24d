/**
 * The response side of the differential harness: generated and mutated response streams (1xx
 * heads, bodies by Content-Length, chunked or to the close), node's client parser (llhttp through
 * http.request, its socket a public-API Duplex handed in by `createConnection`) as the oracle,
 * and ours driven as the engine reads a member's answer to a GET.
 */
import http from 'node:http';
import { Duplex } from 'node:stream';
import { DEFAULT_HEAD_LIMITS, NEED_MORE, newResponseHead } from '../../../src/proxy/http1/head.js';
import { ChunkedFraming, parseResponseHead, resetHead } from '../../../src/proxy/http1/parse.js';
import { mutate, type Case, type Rng } from './fuzz-kit.js';

const REASONS = ['OK', 'Not Found', '', 'Multiple  Spaces', 'tab\there', 'obs \x80\xff'];
const BAD_STATUS = ['HTTP/1.1 99 x', 'HTTP/1.1 600 x', 'HTTP/1.1 2000 OK', 'HTTP/1.1 20 OK', 'HTTP/2 200 OK', 'HTTP/1.2 200 OK', 'HTTP/1.1  200 OK',
  'HTTP/1.1 200 O\x01K', 'http/1.1 200 OK', 'HTTP/1.1 200OK', 'ICY 200 OK'];

function chunkedBody(rng: Rng, data: string): string {
  let s = '';
  for (let i = 0; i < data.length;) {
    const n = Math.min(data.length - i, 1 + rng.int(9));
    s += (rng.chance(0.3) ? n.toString(16).toUpperCase() : n.toString(16)) + (rng.chance(0.1) ? rng.pick([';a=b', ';a="x y"', '; a', ';a=b c']) : '') + '\r\n' + data.slice(i, i + n) + '\r\n';
    i += n;
  }
  s += '0\r\n';
  if (rng.chance(0.15)) s += rng.pick(['X-T: v\r\n', 'Grpc-Status: 0\r\n', 'Content-Length: 1\r\n', 'X-T : v\r\n']);
  return s + '\r\n';
}

export function generateResponse(rng: Rng): Case {
  let s = '';
  const informational = rng.chance(0.15) ? 1 + rng.int(2) : 0;
  for (let i = 0; i < informational; i++) s += `HTTP/1.1 ${rng.pick(['100 Continue', '103 Early Hints', '102 Processing'])}\r\n${rng.chance(0.5) ? 'Link: </a>\r\n' : ''}\r\n`;
  const minor = rng.chance(0.85) ? 1 : 0;
  const status = rng.chance(0.9) ? rng.pick([200, 200, 200, 201, 204, 301, 304, 404, 500, 503]) : rng.pick([199, 299, 418, 599]);
  s += rng.chance(0.96) ? `HTTP/1.${minor} ${status}${rng.chance(0.9) ? ' ' + rng.pick(REASONS) : rng.pick(['', ' '])}\r\n` : `${rng.pick(BAD_STATUS)}\r\n`;
  const data = 'x'.repeat(rng.int(3)) + Array.from({ length: rng.int(25) }, () => String.fromCharCode(0x61 + rng.int(26))).join('');
  const lines: string[] = [];
  const framing = rng.next();
  let payload = data;
  if (framing < 0.4) lines.push(`Content-Length: ${rng.chance(0.9) ? data.length : rng.pick(['+1', '1, 1', '0x1', String(data.length + 1), ''])}`);
  else if (framing < 0.75) {
    lines.push(`Transfer-Encoding: ${rng.chance(0.85) ? rng.pick(['chunked', 'Chunked', 'gzip, chunked']) : rng.pick(['gzip', 'chunked, gzip', 'xchunked', 'chunked\t', 'identity'])}`);
    payload = chunkedBody(rng, data);
  } else if (framing < 0.8) {
    lines.push(`Content-Length: ${data.length}`, 'Transfer-Encoding: chunked');
    payload = rng.chance(0.5) ? chunkedBody(rng, data) : data;
  } else if (framing < 0.85) lines.push(`Content-Length: ${data.length}`, `Content-Length: ${rng.chance(0.5) ? data.length : data.length + 1}`);
  // else: no framing: read to the close
  const extras = rng.int(4);
  for (let i = 0; i < extras; i++) {
    lines.push(rng.pick(['Content-Type: text/plain', 'Connection: close', 'Connection: keep-alive', 'Set-Cookie: a=b; Path=/', 'Server: x',
      'Connection: x-a', 'X-A: 1', 'Keep-Alive: timeout=5', 'Date: Wed, 21 Oct 2015 07:28:00 GMT', 'Vary: \x80']));
  }
  for (let i = lines.length - 1; i > 0; i--) { const j = rng.int(i + 1); [lines[i], lines[j]] = [lines[j]!, lines[i]!]; }
  s += lines.map((l) => l + '\r\n').join('') + '\r\n' + payload;
  if (rng.chance(0.5)) s = mutate(rng, s);
  const bytes = Buffer.from(s, 'latin1');
  const splits = [...new Set(Array.from({ length: rng.int(3) }, () => 1 + rng.int(Math.max(1, bytes.length - 1))))].filter((x) => x < bytes.length).sort((a, b) => a - b);
  return { bytes, splits };
}

export interface ResponseOutcome {
  /** The final (non-1xx) response's status, -1 when none was accepted whole. */
  status: number;
  informational: number[];
  body: string;
  /** complete: the final response and its body were accepted; else why not. */
  end: 'complete' | 'refused' | 'incomplete';
  why: string;
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function runNodeResponse(c: Case): Promise<ResponseOutcome> {
  const out: ResponseOutcome = { status: -1, informational: [], body: '', end: 'incomplete', why: '' };
  const socket = new Duplex({ read() {}, write(_chunk, _enc, cb) { cb(); } });
  socket.on('error', () => {});
  const body: Buffer[] = [];
  let response: http.IncomingMessage | null = null;
  const req = http.request({ host: 'member.test', path: '/', method: 'GET', createConnection: () => socket as never });
  req.on('information', (info) => out.informational.push(info.statusCode));
  req.on('response', (res) => {
    response = res;
    res.on('data', (d: Buffer) => body.push(d));
    res.on('error', () => {});
  });
  req.on('upgrade', (_res, s: Duplex) => { out.why = 'upgrade'; s.destroy(); });
  req.on('error', (err: NodeJS.ErrnoException) => { if (!out.why) out.why = err.code ?? err.message; });
  req.end();
  await settle();
  for (const p of pieces(c)) socket.push(p);
  await settle();
  socket.push(null);
  await settle();
  await settle();
  socket.destroy();
  // `complete` is set as llhttp finishes the message, before errors about bytes after it.
  const res = response as http.IncomingMessage | null;
  if (res !== null && res.complete) {
    out.end = 'complete';
    out.status = res.statusCode ?? -1;
  } else if (out.why) out.end = 'refused';
  out.body = Buffer.concat(body).toString('latin1');
  return out;
}

function pieces(c: Case): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const s of [...c.splits, c.bytes.length]) { if (s > at) out.push(c.bytes.subarray(at, s)); at = s; }
  return out;
}

const head = newResponseHead();
const framing = new ChunkedFraming();

/** Ours, as the engine reads a member's answer to a GET: 1xx heads skipped, then the final head and its body. */
export function runOursResponse(c: Case): ResponseOutcome {
  const b = c.bytes;
  const cuts = [...c.splits, b.length];
  let cut = 0;
  let avail = cuts[0]!;
  const more = (): boolean => { if (cut + 1 >= cuts.length) return false; avail = cuts[++cut]!; return true; };
  const out: ResponseOutcome = { status: -1, informational: [], body: '', end: 'incomplete', why: '' };
  resetHead(head);
  let p = 0;
  for (;;) {
    const r = parseResponseHead(b, p, avail, head, DEFAULT_HEAD_LIMITS);
    if (r === NEED_MORE) { if (more()) continue; out.why = 'head'; return out; }
    if (r < 0) return { ...out, end: 'refused', why: `${r} ${head.error}` };
    p = r;
    if (head.status >= 200) break;
    if (head.status === 101) return { ...out, why: 'upgrade' };
    out.informational.push(head.status);
  }
  const st = head.status;
  if (st === 204 || st === 304) return { ...out, status: st, end: 'complete' };
  if (head.chunked) {
    framing.reset();
    const start = p;
    for (;;) {
      const q = framing.scan(b, p, avail);
      if (q < 0) return { ...out, end: 'refused', why: `chunked: ${framing.error}` };
      p = q;
      if (framing.done) break;
      if (!more()) return { ...out, why: 'chunked body' };
    }
    return { ...out, status: st, end: 'complete', body: dechunk(b, start) };
  }
  if (head.contentLength >= 0) {
    while (avail < p + head.contentLength) if (!more()) return { ...out, why: 'body' };
    return { ...out, status: st, end: 'complete', body: b.toString('latin1', p, p + head.contentLength) };
  }
  return { ...out, status: st, end: 'complete', body: b.toString('latin1', p) };
}

function dechunk(b: Buffer, p: number): string {
  let out = '';
  for (;;) {
    const lineEnd = b.indexOf('\r\n', p);
    const size = parseInt(b.toString('latin1', p, lineEnd).split(';')[0]!, 16);
    p = lineEnd + 2;
    if (size === 0) return out;
    out += b.toString('latin1', p, p + size);
    p += size + 2;
  }
}

/** Null when ours refuses whatever node refuses and, where both accept, reads the same answer. */
export function compareResponse(node: ResponseOutcome, ours: ResponseOutcome): string | null {
  if (node.why === 'upgrade' || ours.why === 'upgrade') return null;
  if (ours.end === 'complete' && node.end !== 'complete') return `node ${node.end} (${node.why}), ours accepted status ${ours.status}`;
  if (ours.end !== 'complete' || node.end !== 'complete') return null;
  if (node.status !== ours.status) return `status: node ${node.status}, ours ${ours.status}`;
  if (node.body !== ours.body) return `body: node ${JSON.stringify(node.body)}, ours ${JSON.stringify(ours.body)}`;
  if (node.informational.join() !== ours.informational.join()) return `1xx heads: node ${node.informational.join()}, ours ${ours.informational.join()}`;
  return null;
}
