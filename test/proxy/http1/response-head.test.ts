import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HEAD_LIMITS, FIELD_HOP, NEED_MORE, newResponseHead, type HeadLimits, type ResponseHead } from '../../../src/proxy/http1/head.js';
import { parseResponseHead } from '../../../src/proxy/http1/parse.js';

/** Response fields never passed to the client: hop-by-hop (RFC 9110 7.6.1) and the framing the gateway redoes. */
const DROP_RESPONSE: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const L = DEFAULT_HEAD_LIMITS;

function parse(s: string, limits: HeadLimits = L): { r: number; h: ResponseHead; b: Buffer } {
  const b = Buffer.from(s, 'latin1');
  const h = newResponseHead(limits);
  return { r: parseResponseHead(b, 0, b.length, h, limits), h, b };
}

function everyByte(s: string, limits: HeadLimits = L): number {
  const b = Buffer.from(s, 'latin1');
  const final = parseResponseHead(b, 0, b.length, newResponseHead(limits), limits);
  for (let k = 0; k < b.length; k++) {
    const r = parseResponseHead(b, 0, k, newResponseHead(limits), limits);
    if (final >= 0) assert.equal(r, NEED_MORE, `prefix ${k} of ${JSON.stringify(s)}`);
    else assert.ok(r === NEED_MORE || r === final, `prefix ${k} of ${JSON.stringify(s)}: ${r}`);
  }
  // The engine's way: one head object, the same start, more bytes each time.
  const same = newResponseHead(limits);
  let r = NEED_MORE;
  for (let k = 1; k <= b.length && r === NEED_MORE; k++) r = parseResponseHead(b, 0, k, same, limits);
  assert.equal(r, final, `fed byte by byte to one head: ${JSON.stringify(s)}`);
  return final;
}

function ok(s: string): ResponseHead {
  const { r, h } = parse(s);
  assert.equal(r, s.length, `${JSON.stringify(s)}: ${h.error}`);
  assert.equal(everyByte(s), r);
  return h;
}

function refused(s: string, why?: RegExp): void {
  const { r, h } = parse(s);
  assert.equal(r, -502, `${JSON.stringify(s)}: got ${r}`);
  assert.ok(h.error.length > 0);
  if (why) assert.match(h.error, why);
  assert.equal(everyByte(s), -502);
}

test('status line: version, 3-digit status 100-599, reason as sent (missing, with or without its SP)', () => {
  let h = ok('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
  assert.deepEqual([h.minor, h.status, h.reason, h.contentLength, h.chunked, h.keepAlive], [1, 200, 'OK', 5, false, true]);
  h = ok('HTTP/1.0 404 Not \tFound \x80\r\n\r\n');
  assert.deepEqual([h.minor, h.status, h.reason, h.keepAlive, h.contentLength], [0, 404, 'Not \tFound \x80', false, -1]);
  assert.equal(ok('HTTP/1.1 204\r\n\r\n').reason, '');
  assert.equal(ok('HTTP/1.1 204 \r\n\r\n').reason, '');
  assert.equal(ok('HTTP/1.1 100 Continue\r\n\r\n').status, 100);
  assert.equal(ok('HTTP/1.1 599 x\r\n\r\n').status, 599);
  for (const line of ['HTTP/1.1 099 x', 'HTTP/1.1 600 x', 'HTTP/1.1 20 OK', 'HTTP/1.1 2000 OK', 'HTTP/1.1 20x OK', 'HTTP/1.1  200 OK',
    'HTTP/1.2 200 OK', 'HTTP/2.0 200 OK', 'HTTP/0.9 200 OK', 'http/1.1 200 OK', 'HTTP/1.1 200 O\x00K', 'HTTP/1.1 200 OK\x7f', 'HTTP/1.1\t200 OK', ' HTTP/1.1 200 OK']) {
    refused(`${line}\r\n\r\n`);
  }
  refused('HTTP/1.1 200 OK\n\r\n', /bare/);
  refused('HTTP/1.1 200 OK\r\r\n', /bare CR/);
});

test('fields: the same strictness as requests, refused with 502', () => {
  for (const line of ['X-A : v', ' X-A: v', 'X-A: a\x00b', 'X-A: a\rb', 'X-A: v\nX-B: w', ': v', 'Content-Length: 5, 5', 'Content-Length: +5']) {
    refused(`HTTP/1.1 200 OK\r\n${line}\r\n\r\n`);
  }
  refused('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n', /repeated/);
  refused('HTTP/1.1 200 OK\r\nConnection: content-length\r\n\r\n', /Connection/);
});

test('Transfer-Encoding in responses: codings before a final chunked pass; not chunked-final, with Content-Length or in HTTP/1.0: 502', () => {
  assert.equal(ok('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n').chunked, true);
  assert.equal(ok('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n').chunked, true);
  assert.equal(ok('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n').chunked, true);
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', /chunked/);
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', /chunked/);
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', /chunked/);
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', /Content-Length together/);
  refused('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', /HTTP\/1.0/);
});

test('keep-alive and hop-by-hop fields: DROP_RESPONSE and the Connection options are FIELD_HOP; request-only names are not', () => {
  assert.equal(ok('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n').keepAlive, false);
  assert.equal(ok('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n').keepAlive, true);
  const names = [...DROP_RESPONSE];
  const values: Record<string, string> = { connection: 'x-a', 'transfer-encoding': 'chunked' };
  const s = `HTTP/1.1 200 OK\r\n${names.map((n) => `${n}: ${values[n] ?? 'v'}\r\n`).join('')}X-A: 1\r\nHost: h\r\nExpect: e\r\nX-Forwarded-For: f\r\nProxy-Authorization: p\r\nSet-Cookie: c\r\n\r\n`;
  const { r, h, b } = parse(s);
  assert.ok(r > 0, h.error);
  for (let i = 0; i < h.count; i++) {
    const name = b.toString('latin1', h.fields[i * 4]!, h.fields[i * 4 + 1]!).toLowerCase();
    assert.equal(h.flags[i], DROP_RESPONSE.has(name) || name === 'x-a' ? FIELD_HOP : 0, name);
  }
});

test('bounds: past maxHeadBytes or maxFields is 502', () => {
  const limits = { maxHeadBytes: 64, maxFields: 2 };
  assert.equal(parse('HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n', limits).r > 0, true);
  assert.equal(parse('HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', limits).r, -502);
  assert.equal(parse(`HTTP/1.1 200 OK\r\nA: ${'a'.repeat(60)}`, limits).r, -502);
  assert.equal(everyByte(`HTTP/1.1 200 OK\r\nA: ${'a'.repeat(60)}\r\n\r\n`, limits), -502);
});

test('1xx heads come back one at a time, and the final head parses after them', () => {
  const s = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n';
  const b = Buffer.from(s, 'latin1');
  const h = newResponseHead();
  let p = parseResponseHead(b, 0, b.length, h, L);
  assert.deepEqual([p, h.status, h.count], [25, 100, 0]);
  p = parseResponseHead(b, p, b.length, h, L);
  assert.deepEqual([h.status, h.reason, h.count], [103, 'Early Hints', 1]);
  p = parseResponseHead(b, p, b.length, h, L);
  assert.deepEqual([p, h.status, h.contentLength], [b.length, 201, 0]);
});

test('a 1xx head that would end the connection is refused: the final answer could not follow', () => {
  refused('HTTP/1.0 100 Continue\r\n\r\n', /1xx/);
  refused('HTTP/1.1 103 Early Hints\r\nConnection: close\r\n\r\n', /1xx/);
  assert.equal(ok('HTTP/1.0 100 Continue\r\nConnection: keep-alive\r\n\r\n').status, 100);
});
