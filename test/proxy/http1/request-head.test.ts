import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  DEFAULT_HEAD_LIMITS, FIELD_FORWARDED, FIELD_HOP, FIELD_HOST, FIELD_XFF, NEED_MORE, newRequestHead, type HeadLimits, type RequestHead,
} from '../../../src/proxy/http1/head.js';
import { KNOWN_METHODS, parseRequestHead, resetHead } from '../../../src/proxy/http1/parse.js';
import { FVCHAR } from '../../../src/proxy/http1/chars.js';

const L = DEFAULT_HEAD_LIMITS;

function parse(s: string, limits: HeadLimits = L): { r: number; h: RequestHead; b: Buffer } {
  const b = Buffer.from(s, 'latin1');
  const h = newRequestHead(limits);
  return { r: parseRequestHead(b, 0, b.length, h, limits), h, b };
}

/** Every prefix says NEED_MORE or already the final answer; the whole says the final answer. */
function everyByte(s: string, limits: HeadLimits = L): number {
  const b = Buffer.from(s, 'latin1');
  const h = newRequestHead(limits);
  const final = parseRequestHead(b, 0, b.length, h, limits);
  for (let k = 0; k < b.length; k++) {
    const r = parseRequestHead(b, 0, k, newRequestHead(limits), limits);
    if (final >= 0) assert.equal(r, NEED_MORE, `prefix ${k} of ${JSON.stringify(s)}`);
    else assert.ok(r === NEED_MORE || r === final, `prefix ${k} of ${JSON.stringify(s)}: ${r}, whole: ${final}`);
  }
  // The engine's way: one head object, the same start, more bytes each time.
  const same = newRequestHead(limits);
  let r = NEED_MORE;
  for (let k = 1; k <= b.length && r === NEED_MORE; k++) r = parseRequestHead(b, 0, k, same, limits);
  assert.equal(r, final, `fed byte by byte to one head: ${JSON.stringify(s)}`);
  return final;
}

function ok(s: string): RequestHead {
  const { r, h } = parse(s);
  assert.equal(r, Buffer.byteLength(s, 'latin1'), `${JSON.stringify(s)}: ${h.error}`);
  assert.equal(everyByte(s), r);
  return h;
}

function refused(s: string, code: number, why?: RegExp): void {
  const { r, h } = parse(s);
  assert.equal(r, code, `${JSON.stringify(s)}: got ${r} (${h.error})`);
  assert.ok(h.error.length > 0, 'a refusal says why');
  if (why) assert.match(h.error, why);
  assert.equal(everyByte(s), code);
}

const H = 'Host: example.com\r\n';
const field = (h: RequestHead, b: Buffer, i: number) => ({
  name: b.toString('latin1', h.fields[i * 4]!, h.fields[i * 4 + 1]!),
  value: b.toString('latin1', h.fields[i * 4 + 2]!, h.fields[i * 4 + 3]!),
  flags: h.flags[i]!,
});

test('request line: origin-form, asterisk-form for OPTIONS, absolute-form (http/https, any case) with its authority as the host', () => {
  let h = ok(`GET /a/b?c=d HTTP/1.1\r\n${H}\r\n`);
  assert.deepEqual([h.method, h.target, h.path, h.host, h.minor, h.keepAlive], ['GET', '/a/b?c=d', '/a/b?c=d', 'example.com', 1, true]);
  h = ok(`OPTIONS * HTTP/1.1\r\n${H}\r\n`);
  assert.deepEqual([h.target, h.path], ['*', '*']);
  h = ok(`GET http://Other.Example:8080/p?q HTTP/1.1\r\n${H}\r\n`);
  assert.deepEqual([h.target, h.path, h.host], ['http://Other.Example:8080/p?q', '/p?q', 'Other.Example:8080']);
  h = ok(`GET HTTPS://h HTTP/1.1\r\n${H}\r\n`);
  assert.deepEqual([h.path, h.host], ['/', 'h']);
  h = ok(`GET http://h?x=1 HTTP/1.1\r\n${H}\r\n`);
  assert.deepEqual([h.path, h.host], ['/?x=1', 'h']);
  h = ok(`GET http://[::1]:80/#f HTTP/1.1\r\n${H}\r\n`);
  assert.deepEqual([h.path, h.host], ['/#f', '[::1]:80']);
  h = ok(`M-SEARCH /%41"<>{}|\\^\` HTTP/1.0\r\n\r\n`);
  assert.deepEqual([h.method, h.minor, h.host, h.keepAlive], ['M-SEARCH', 0, '', false]);
});

test('request line: empty lines before it are skipped (RFC 9112 2.2)', () => {
  const h = ok(`\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`);
  assert.equal(h.target, '/');
  refused(`\n\nGET / HTTP/1.1\r\n${H}\r\n`, -400);
  refused(`\rGET / HTTP/1.1\r\n${H}\r\n`, -400, /bare CR/);
});

test('methods are node:http\'s (llhttp\'s) list, case-sensitive; others and CONNECT get 501', () => {
  assert.deepEqual([...KNOWN_METHODS].sort(), [...http.METHODS].sort());
  for (const m of KNOWN_METHODS.filter((x) => x !== 'CONNECT')) assert.equal(ok(`${m} / HTTP/1.1\r\n${H}\r\n`).method, m);
  refused(`get / HTTP/1.1\r\n${H}\r\n`, -501, /method/);
  refused(`FOO / HTTP/1.1\r\n${H}\r\n`, -501, /method/);
  refused(`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, -501);
  refused(`CONNECT example.com:443 HTTP/1.1\r\n${H}\r\n`, -501, /CONNECT/);
  refused(`G(T / HTTP/1.1\r\n${H}\r\n`, -400, /method/);
  refused(` GET / HTTP/1.1\r\n${H}\r\n`, -400, /method/);
});

test('request line: refused shapes', () => {
  for (const [line, code] of [
    ['GET  / HTTP/1.1', -400], ['GET /  HTTP/1.1', -400], ['GET\t/ HTTP/1.1', -400], ['GET / HTTP/1.1 ', -400],
    ['GET * HTTP/1.1', -400], ['GET example.com:443 HTTP/1.1', -400], ['GET ftp://h/ HTTP/1.1', -400], ['GET http:/h/ HTTP/1.1', -400],
    ['GET http://u@h/ HTTP/1.1', -400], ['GET http:///p HTTP/1.1', -400], ['GET http://h#f HTTP/1.1', -400], ['GET http://h:99999/ HTTP/1.1', -400],
    ['GET http://a b/ HTTP/1.1', -400], ['GET x HTTP/1.1', -400], ['GET /\x80 HTTP/1.1', -400], ['GET /\x7f HTTP/1.1', -400],
    ['GET /\x00 HTTP/1.1', -400], ['GET / HTTP/1.2', -505], ['GET / HTTP/2.0', -505], ['GET / HTTP/9.9', -505], ['GET / HTTP/0.9', -400],
    ['GET /', -400], ['GET / http/1.1', -400], ['GET / HTTP/1', -400], ['GET / HTTP/11', -400], ['GET / HTTP/1.10', -400], ['GET / HTTP /1.1', -400],
  ] as const) {
    refused(`${line}\r\n${H}\r\n`, code);
  }
  // '//x' is an origin-form path that starts with '//', not an authority.
  assert.deepEqual([ok(`GET //x HTTP/1.1\r\n${H}\r\n`).path, ok(`GET //x HTTP/1.1\r\n${H}\r\n`).host], ['//x', 'example.com']);
  refused(`GET / HTTP/1.1\n${H}\r\n`, -400);
  refused(`GET / HTTP/1.1\r${H}\r\n`, -400);
});

test('field lines: OWS trimmed, obs-text and HTAB inside values kept, offsets into the caller\'s buffer', () => {
  const s = `GET / HTTP/1.1\r\n${H}X-A: \t padded \t \r\nX-B:\r\nX-C: a\tb \x80\xff\r\nx!#$%&'*+-.^_\`|~:v\r\n\r\n`;
  const { h, b } = parse(s);
  assert.equal(h.count, 5);
  assert.deepEqual(field(h, b, 1), { name: 'X-A', value: 'padded', flags: 0 });
  assert.deepEqual(field(h, b, 2), { name: 'X-B', value: '', flags: 0 });
  assert.deepEqual(field(h, b, 3), { name: 'X-C', value: 'a\tb \x80\xff', flags: 0 });
  assert.deepEqual(field(h, b, 4), { name: "x!#$%&'*+-.^_`|~", value: 'v', flags: 0 });
  ok(s);
  // The head can start anywhere in the buffer: offsets stay absolute.
  const at = Buffer.concat([Buffer.from('junk'), b]);
  const h2 = newRequestHead();
  assert.equal(parseRequestHead(at, 4, at.length, h2, L), at.length);
  assert.equal(at.toString('latin1', h2.fields[4]!, h2.fields[5]!), 'X-A');
});

test('field lines: refused (400) shapes, each with a message naming the problem', () => {
  for (const [line, why] of [
    ['X-A : v', /before the colon/], ['X-A\t: v', /before the colon/], [' X-A: v', /whitespace/], ['\tX-A: v', /whitespace/],
    ['X-A: v\x00', /control/], ['X-A: a\x00b', /control/], ['X-A: a\x7fb', /control/], ['X-A: a\x01b', /control/], ['X-A: a\rb', /bare CR/],
    ['X-A: v\nX-B: w', /bare LF/], [': v', /field name/], ['X(A): v', /before the colon/], ['X-A', /before the colon/], ['X-A:\x0bv', /control/],
  ] as const) refused(`GET / HTTP/1.1\r\n${H}${line}\r\n\r\n`, -400, why);
  refused(`GET / HTTP/1.1\r\n${H}X-A: v\r\n continued\r\n\r\n`, -400, /obs-fold/);
  refused(`GET / HTTP/1.1\r\n${H}\n`, -400, /bare LF/);
  refused(`GET / HTTP/1.1\r\n${H}\r\r\n`, -400, /bare CR/);
});

test('field values: every byte is taken or refused as chars.ts FVCHAR says, inside a value, at its end and after trailing OWS', () => {
  for (let c = 0; c < 256; c++) {
    if (c === 0x0d || c === 0x0a) continue; // line endings: the refused shapes above
    const ch = String.fromCharCode(c);
    for (const v of [`a${ch}b`, `a${ch}`, `a${ch} \t`]) {
      const s = `GET / HTTP/1.1\r\n${H}X-A: ${v}\r\n\r\n`;
      if (FVCHAR[c] === 1) {
        const { r, h, b } = parse(s);
        assert.equal(r, b.length, `byte 0x${c.toString(16)} in ${JSON.stringify(v)}`);
        // SP and HTAB at a value's end are OWS, trimmed; anything else is kept.
        const kept = v.replace(/[ \t]+$/, '');
        assert.equal(field(h, b, 1).value, kept, `byte 0x${c.toString(16)} in ${JSON.stringify(v)}`);
      } else refused(s, -400, /control byte/);
    }
  }
});

test('Content-Length: digits only (leading zeros fine), one field and one value, at most 15 digits', () => {
  assert.equal(ok(`POST / HTTP/1.1\r\n${H}Content-Length: 005\r\n\r\n`).contentLength, 5);
  assert.equal(ok(`POST / HTTP/1.1\r\n${H}Content-Length:  7 \r\n\r\n`).contentLength, 7);
  assert.equal(ok(`POST / HTTP/1.1\r\n${H}content-length: 999999999999999\r\n\r\n`).contentLength, 999999999999999);
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}\r\n`).contentLength, -1);
  for (const v of ['+5', '-1', '0x5', '5 5', '5, 5', '5,5', '5.0', '', '1e3', '1000000000000000', '5\t', '\t5\t']) {
    refused(`POST / HTTP/1.1\r\n${H}Content-Length: ${v}\r\n\r\n`, -400, /Content-Length/);
  }
  refused(`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`, -400, /repeated/);
  refused(`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\ncontent-length: 6\r\n\r\n`, -400, /repeated/);
});

test('Transfer-Encoding: only a final chunked, once, in HTTP/1.1, never with Content-Length', () => {
  for (const v of ['chunked', 'Chunked', 'CHUNKED', ' chunked', '\tchunked', 'chunked ']) {
    const h = ok(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n`);
    assert.equal(h.chunked, true);
    assert.equal(h.contentLength, -1);
  }
  for (const v of ['xchunked', 'chunkedx', 'gzip', 'identity', 'gzip, chunked', 'chunk']) {
    refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n`, -501, /Transfer-Encoding/);
  }
  for (const v of ['chunked, identity', 'chunked, chunked', 'chunked,', ',chunked',  'chunked;q=1', 'chunked\t', 'gzip,\tchunked', 'chunked , gzip', '', 'chu nked']) {
    refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n`, -400, /Transfer-Encoding/);
  }
  refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, -400, /twice/);
  refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n`, -400, /last/);
  refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n`, -400, /Content-Length together/);
  refused(`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`, -400, /Content-Length together/);
  refused(`POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n`, -400, /HTTP\/1.0/);
});

test('smuggling classics are refused (CL.TE, TE.CL, TE.TE obfuscations)', () => {
  const R = 'POST / HTTP/1.1\r\nHost: a\r\n';
  for (const [fields, code] of [
    ['Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', -400],
    ['Transfer-Encoding: chunked\r\nContent-Length: 6\r\n', -400],
    ['Transfer-Encoding: xchunked\r\n', -501],
    ['Transfer-Encoding : chunked\r\n', -400],
    ['Transfer-Encoding:\x0bchunked\r\n', -400],
    ['Transfer-Encoding\r\n : chunked\r\n', -400],
    ['Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n', -400],
    ['Transfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n', -501],
    ['Transfer-Encoding: chunked\r\n chunked\r\n', -400],
    ['Transfer-Encoding: \x00chunked\r\n', -400],
    ['Transfer_Encoding: chunked\r\nContent-Length: 3\r\n', 0],
    ['Content-Length: +5\r\n', -400],
    ['Content-Length: 0x5\r\n', -400],
    ['Content-Length: 5 5\r\n', -400],
    ['Content-Length: 5\r\n\r\nContent-Length: 6\r\n', 0],
    ['X-A: a\r\n\rContent-Length: 5\r\n', -400],
    ['X-A: a\nContent-Length: 5\r\n', -400],
  ] as const) {
    const s = `${R}${fields}\r\n`;
    if (code === 0) { assert.ok(parse(s).r > 0, `${JSON.stringify(s)} is one plain head`); continue; }
    refused(s, code);
  }
  // A Transfer_Encoding look-alike is only an unknown field: framing stays the Content-Length's.
  const h = parse(`${R}Transfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\n`).h;
  assert.deepEqual([h.chunked, h.contentLength], [false, 3]);
});

test('Host: exactly one in HTTP/1.1, at most one in HTTP/1.0, valid host[:port]', () => {
  refused('GET / HTTP/1.1\r\n\r\n', -400, /Host: missing/);
  refused(`GET / HTTP/1.1\r\n${H}host: b\r\n\r\n`, -400, /Host: repeated/);
  refused(`GET / HTTP/1.0\r\n${H}${H}\r\n`, -400, /Host: repeated/);
  refused(`GET http://h/ HTTP/1.1\r\n\r\n`, -400, /Host: missing/);
  assert.equal(ok('GET / HTTP/1.0\r\n\r\n').host, '');
  for (const v of ['example.com', 'EXAMPLE.com:8080', 'a', 'h:', '[::1]', '[::1]:80', '[v1.x]', 'h:65535', 'h:00080', 'A.B-C_D~E', 'h%41', '127.0.0.1:1', '']) {
    assert.equal(ok(`GET / HTTP/1.1\r\nHost: ${v}\r\n\r\n`).host, v);
  }
  for (const v of ['a b', 'a@b', 'a/b', 'a\\b', 'a?b', 'a#b', 'h:123456', 'h:65536', 'h:8o', ':80', '[]', '[::1', '::1', 'x,y', 'a;b', 'h%4', 'h%zz', 'h\x80', 'h:80:80']) {
    refused(`GET / HTTP/1.1\r\nHost: ${v}\r\n\r\n`, -400, /Host/);
  }
});

test('Connection: close/keep-alive decide keepAlive; other options make the fields they name hop-by-hop; framing fields cannot be named', () => {
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`).keepAlive, false);
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}Connection: Keep-Alive, CLOSE\r\n\r\n`).keepAlive, false);
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}Connection: keep-alive\r\n\r\n`).keepAlive, true);
  // A lone option in any case (the parser's short path), and near misses of the same length.
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}Connection: CLOSE\r\n\r\n`).keepAlive, false);
  assert.equal(ok('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').keepAlive, true);
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}Connection: closf\r\n\r\n`).keepAlive, true);
  assert.equal(ok('GET / HTTP/1.0\r\nConnection: keep-alivf\r\n\r\n').keepAlive, false);
  refused(`GET / HTTP/1.1\r\n${H}Connection: clos\x7f\r\n\r\n`, -400, /control byte/);
  assert.equal(ok('GET / HTTP/1.0\r\n\r\n').keepAlive, false);
  assert.equal(ok('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').keepAlive, true);
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}Connection: , ,close,\r\n\r\n`).keepAlive, false);
  const s = `GET / HTTP/1.1\r\n${H}Connection: x-a, X-B\r\nX-A: 1\r\nx-b: 2\r\nX-C: 3\r\nX-A: 4\r\n\r\n`;
  const { h, b } = parse(s);
  assert.deepEqual([1, 2, 3, 4, 5].map((i) => [field(h, b, i).name, field(h, b, i).flags]),
    [['Connection', FIELD_HOP], ['X-A', FIELD_HOP], ['x-b', FIELD_HOP], ['X-C', 0], ['X-A', FIELD_HOP]]);
  // The options may come before the fields they name: marking waits for the whole head.
  const early = parse(`GET / HTTP/1.1\r\nX-A: 1\r\n${H}Connection: x-a\r\n\r\n`);
  assert.equal(field(early.h, early.b, 0).flags, FIELD_HOP);
  for (const v of ['host', 'Content-Length', 'transfer-encoding', 'close, HOST']) {
    refused(`GET / HTTP/1.1\r\n${H}Connection: ${v}\r\n\r\n`, -400, /Connection: names/);
  }
  for (const v of ['foo bar', 'close;', 'a=b', '"close"']) refused(`GET / HTTP/1.1\r\n${H}Connection: ${v}\r\n\r\n`, -400, /Connection/);
  refused(`GET / HTTP/1.1\r\n${H}Connection: ${Array.from({ length: 33 }, (_, i) => `x${i}`).join(', ')}\r\n\r\n`, -400, /options/);
});

test('flags: the gateway\'s request drop list (hop-by-hop and the fields it sets itself) is FIELD_HOP, Host/X-Forwarded-For/the forwarded ones say why', () => {
  const names = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding',
    'upgrade', 'http2-settings', 'expect', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip'];
  const values: Record<string, string> = { connection: 'keep-alive', 'transfer-encoding': 'chunked', host: 'example.com' };
  const s = `POST / HTTP/1.1\r\n${names.map((n) => `${n.toUpperCase()}: ${values[n] ?? 'v'}\r\n`).join('')}Content-Type: x\r\nX-Forwarded-Port: 1\r\nAuthorization: a\r\n\r\n`;
  const { r, h, b } = parse(s);
  assert.ok(r > 0, h.error);
  const flags = new Map(Array.from({ length: h.count }, (_, i) => [field(h, b, i).name.toLowerCase(), field(h, b, i).flags]));
  for (const n of names) assert.ok((flags.get(n)! & FIELD_HOP) !== 0, n);
  assert.equal(flags.get('host'), FIELD_HOP | FIELD_HOST);
  assert.equal(flags.get('x-forwarded-for'), FIELD_HOP | FIELD_XFF);
  for (const n of ['x-forwarded-proto', 'x-forwarded-host', 'x-real-ip']) assert.equal(flags.get(n), FIELD_HOP | FIELD_FORWARDED, n);
  for (const n of ['content-type', 'x-forwarded-port', 'authorization']) assert.equal(flags.get(n), 0, n);
});

test('Upgrade needs Connection: upgrade and a value; Expect: 100-continue; TE: trailers is remembered', () => {
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`).upgrade, 'websocket');
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\n`).upgrade, null);
  assert.equal(ok(`GET / HTTP/1.1\r\n${H}Connection: upgrade\r\nUpgrade: \r\n\r\n`).upgrade, null);
  refused(`GET / HTTP/1.1\r\n${H}Connection: upgrade\r\nUpgrade: a\r\nUpgrade: b\r\n\r\n`, -400, /Upgrade/);
  assert.equal(ok(`POST / HTTP/1.1\r\n${H}Expect: 100-Continue\r\n\r\n`).expectContinue, true);
  assert.equal(ok(`POST / HTTP/1.1\r\n${H}Expect: foo\r\n\r\n`).expectContinue, false);
  assert.equal(ok(`POST / HTTP/1.1\r\n${H}TE: Trailers\r\n\r\n`).teTrailers, true);
  assert.equal(ok(`POST / HTTP/1.1\r\n${H}TE: trailers, deflate\r\n\r\n`).teTrailers, false);
  assert.equal(ok(`POST / HTTP/1.1\r\n${H}TE: trailers\r\nTE: trailers\r\n\r\n`).teTrailers, false);
  assert.equal(ok(`POST / HTTP/1.1\r\n${H}\r\n`).teTrailers, false);
});

test('bounds: head bytes past maxHeadBytes and fields past maxFields get 431, complete or not', () => {
  const limits = { maxHeadBytes: 100, maxFields: 3 };
  const base = `GET / HTTP/1.1\r\n${H}X: `;
  const exact = base + 'a'.repeat(100 - base.length - 4) + '\r\n\r\n';
  assert.equal(exact.length, 100);
  assert.equal(parse(exact, limits).r, 100);
  assert.equal(everyByte(exact, limits), 100);
  const over = base + 'a'.repeat(100 - base.length - 3) + '\r\n\r\n';
  assert.equal(parse(over, limits).r, -431);
  assert.equal(everyByte(over, limits), -431);
  // No end in sight: refused as soon as the limit is passed, not when the client stops.
  assert.equal(parse(base + 'a'.repeat(200), limits).r, -431);
  assert.equal(parse(base.slice(0, 20), limits).r, NEED_MORE);
  assert.equal(parse(`GET / HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\n\r\n`, limits).r > 0, true);
  const many = parse(`GET / HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\nC: 3\r\n\r\n`, limits);
  assert.equal(many.r, -431);
  assert.match(many.h.error, /more than 3 fields/);
  assert.equal(parse(`GET / HTTP/1.1\r\n${H}X: ${'a'.repeat(17000)}\r\n\r\n`).r, -431);
});

test('pipelined heads back to back: each parse returns where the next one starts; one head object is reused', () => {
  const one = `GET /1 HTTP/1.1\r\n${H}Connection: x-a\r\nX-A: 1\r\n\r\n`;
  const two = `POST /2 HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\n`;
  const three = `GET http://h/3 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`;
  const b = Buffer.from(one + two + 'abc' + three, 'latin1');
  const h = newRequestHead();
  let p = parseRequestHead(b, 0, b.length, h, L);
  assert.deepEqual([p, h.target, h.count, h.flags[2]], [one.length, '/1', 3, FIELD_HOP]);
  p = parseRequestHead(b, p, b.length, h, L);
  assert.deepEqual([p, h.method, h.target, h.contentLength, h.count, h.flags[1]], [one.length + two.length, 'POST', '/2', 3, 2, 0]);
  p = parseRequestHead(b, p + 3, b.length, h, L);
  assert.deepEqual([p, h.path, h.host, h.contentLength, h.keepAlive], [b.length, '/3', 'h', -1, false]);
});

test('one head object across a connection\'s requests: a repeated target and Host are the same, a changed or invalid one is read afresh', () => {
  const h = newRequestHead();
  const next = (s: string): number => { const b = Buffer.from(s, 'latin1'); return parseRequestHead(b, 0, b.length, h, L); };
  assert.ok(next(`GET /a HTTP/1.1\r\nHost: h.example:80\r\n\r\n`) > 0);
  assert.deepEqual([h.target, h.host], ['/a', 'h.example:80']);
  assert.ok(next(`GET /a HTTP/1.1\r\nHost: h.example:80\r\n\r\n`) > 0);
  assert.deepEqual([h.target, h.host], ['/a', 'h.example:80']);
  // Same length, other bytes: a new string, and a Host of the same length that is not valid is refused.
  assert.ok(next(`GET /b HTTP/1.1\r\nHost: h.example:81\r\n\r\n`) > 0);
  assert.deepEqual([h.target, h.host], ['/b', 'h.example:81']);
  assert.equal(next(`GET /b HTTP/1.1\r\nHost: h.examp/e:81\r\n\r\n`), -400);
  assert.match(h.error, /Host/);
  assert.equal(next(`GET /b HTTP/1.1\r\nHost: h.example:99999\r\n\r\n`), -400);
  // An absolute-form target's authority is the host; the Host field after it is read again.
  assert.ok(next(`GET http://abs.example/c HTTP/1.1\r\nHost: h.example:81\r\n\r\n`) > 0);
  assert.deepEqual([h.path, h.host], ['/c', 'abs.example']);
  assert.ok(next(`GET /c HTTP/1.1\r\nHost: abs.example\r\n\r\n`) > 0);
  assert.deepEqual([h.target, h.host], ['/c', 'abs.example']);
  assert.ok(next(`GET /c HTTP/1.0\r\n\r\n`) > 0);
  assert.equal(h.host, '');
});

test('a parse that needs more bytes leaves the head\'s strings alone and allocates nothing it keeps', () => {
  const h = ok(`GET /first HTTP/1.1\r\n${H}\r\n`);
  const b = Buffer.from(`GET /second HTTP/1.1\r\n${H}`, 'latin1');
  assert.equal(parseRequestHead(b, 0, b.length, h, L), NEED_MORE);
  assert.equal(h.target, '/first');
});

test('a head trickled in is parsed again per line, not per read', () => {
  const s = `GET / HTTP/1.1\r\n${H}X-A: ${'a'.repeat(1000)}\r\n\r\n`;
  const b = Buffer.from(s, 'latin1');
  const h = newRequestHead();
  for (let k = 1; k < b.length; k++) {
    assert.equal(parseRequestHead(b, 0, k, h, L), NEED_MORE);
    assert.deepEqual(h.pending, { buffer: b, start: 0, seen: k }, 'the bytes seen so far are remembered');
  }
  assert.equal(parseRequestHead(b, 0, b.length, h, L), b.length);
  assert.deepEqual([h.pending!.buffer, h.target, h.host], [null, '/', 'example.com']);
  // What goes wrong after the first read is answered once its line has ended...
  const bad = Buffer.from(`GET / HTTP/1.1\r\n${H}X-A\x00: 1\r\nX-B: 2\r\n`, 'latin1');
  const h2 = newRequestHead();
  assert.equal(parseRequestHead(bad, 0, 20, h2, L), NEED_MORE);
  assert.equal(parseRequestHead(bad, 0, 38, h2, L), NEED_MORE);
  assert.equal(parseRequestHead(bad, 0, 43, h2, L), NEED_MORE, 'the NUL has come, its line has not ended');
  assert.equal(parseRequestHead(bad, 0, 44, h2, L), -400);
  // ... a bare LF too, though no blank line ever comes (HTTP/0.9-looking lines).
  const lf = Buffer.from('GET /x\n\r\n', 'latin1');
  const h4 = newRequestHead();
  assert.equal(parseRequestHead(lf, 0, 2, h4, L), NEED_MORE);
  assert.equal(parseRequestHead(lf, 0, lf.length, h4, L), -400);
  // ... or once it passes the limit, blank line or not.
  const limits = { maxHeadBytes: 64, maxFields: 8 };
  const long = Buffer.from(`GET / HTTP/1.1\r\n${H}X-A: ${'a'.repeat(100)}`, 'latin1');
  const h3 = newRequestHead(limits);
  assert.equal(parseRequestHead(long, 0, 30, h3, limits), NEED_MORE);
  assert.equal(parseRequestHead(long, 0, 50, h3, limits), NEED_MORE);
  assert.equal(parseRequestHead(long, 0, 64, h3, limits), -431);
});

test('the memory of an unfinished head is tied to its buffer and start: a moved, another or an abandoned head is parsed afresh', () => {
  const s = `POST / HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nab`;
  const b = Buffer.from(s, 'latin1');
  const h = newRequestHead();
  assert.equal(parseRequestHead(b, 0, 30, h, L), NEED_MORE);
  // Moved to another buffer (an engine compacting its reads): parsed again, found whole.
  const moved = Buffer.concat([Buffer.from('xx'), b]);
  assert.equal(parseRequestHead(moved, 2, moved.length, h, L), moved.length - 2);
  // Abandoned mid-head, then the object reused for a whole head (with its body) at the same place.
  assert.equal(parseRequestHead(b, 0, 45, h, L), NEED_MORE);
  const other = Buffer.from(`GET /o HTTP/1.1\r\n${H}\r\nGET /p HTTP/1.1\r\n`, 'latin1');
  other.copy(b, 0, 0, Math.min(other.length, b.length));
  resetHead(h);
  assert.equal(parseRequestHead(b, 0, other.length, h, L), 38);
  assert.equal(h.target, '/o');
});

test('at most 8 empty lines before a request line', () => {
  assert.equal(ok(`${'\r\n'.repeat(8)}GET / HTTP/1.1\r\n${H}\r\n`).target, '/');
  refused(`${'\r\n'.repeat(9)}GET / HTTP/1.1\r\n${H}\r\n`, -400, /empty lines/);
});
