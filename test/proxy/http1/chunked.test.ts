import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedFraming, MAX_CHUNK_EXTENSIONS, MAX_CHUNK_LINE } from '../../../src/proxy/http1/parse.js';

/** Scans the whole body at once, then byte by byte and in two pieces at every split: all must agree. */
function scanAll(s: string): { end: number; done: boolean; error: string; data: number } {
  const b = Buffer.from(s, 'latin1');
  const f = new ChunkedFraming();
  const end = f.scan(b, 0, b.length);
  const whole = { end, done: f.done, error: f.error, data: f.dataBytes };
  const g = new ChunkedFraming();
  let p = 0;
  for (let i = 1; i <= b.length && p >= 0 && !g.done; i++) p = g.scan(b, p, i);
  assert.deepEqual({ end: p, done: g.done }, { end: whole.end, done: whole.done }, `byte by byte: ${JSON.stringify(s)}`);
  for (let k = 1; k < b.length; k++) {
    g.reset();
    let q = g.scan(b, 0, k);
    if (q >= 0 && !g.done) q = g.scan(b, q, b.length);
    assert.deepEqual({ end: q, done: g.done }, { end: whole.end, done: whole.done }, `split at ${k}: ${JSON.stringify(s)}`);
  }
  return whole;
}

function accepted(s: string, data: number): void {
  const r = scanAll(s);
  assert.deepEqual(r, { end: Buffer.byteLength(s, 'latin1'), done: true, error: '', data }, JSON.stringify(s));
}

function refused(s: string, why: RegExp): void {
  const r = scanAll(s);
  assert.equal(r.end, -1, JSON.stringify(s));
  assert.match(r.error, why);
}

test('chunk sizes (any case, leading zeros), data, the last chunk and the final CRLF', () => {
  accepted('5\r\nhello\r\n0\r\n\r\n', 5);
  accepted('A\r\n0123456789\r\na\r\n0123456789\r\n000\r\n\r\n', 20);
  accepted('00000000000000000001\r\nx\r\n0\r\n\r\n', 1);
  accepted('1\r\n\r\r\n2\r\n\r\n\r\n0\r\n\r\n', 3);
  accepted('0\r\n\r\n', 0);
});

test('extensions: token names, token or quoted values, escapes; no whitespace (as llhttp), bounded', () => {
  accepted('5;a\r\nhello\r\n0;b=c\r\n\r\n', 5);
  accepted('5;a="q s;\\"x"\r\nhello\r\n0\r\n\r\n', 5);
  accepted(`5;a=b;c;!#$%&'*+-.^_\`|~=1;d=""\r\nhello\r\n0\r\n\r\n`, 5);
  for (const ext of ['; a', ' ;a', ';a =b', ';a= b', ';a=b c', ';', ';=b', ';a=', ';a="x', ';a="x"y', ';a=b\t', ';a=\x01', ';a="\x00"', ';a=b,c']) {
    refused(`5${ext}\r\nhello\r\n0\r\n\r\n`, /chunk (extension|size)/);
  }
  refused(`5;${'e'.repeat(MAX_CHUNK_LINE)}\r\nhello\r\n0\r\n\r\n`, /chunk line longer/);
  const chunk = `1;${'e'.repeat(MAX_CHUNK_LINE - 10)}\r\nx\r\n`;
  const many = chunk.repeat(Math.ceil(MAX_CHUNK_EXTENSIONS / (MAX_CHUNK_LINE - 10)) + 1);
  refused(`${many}0\r\n\r\n`, /extensions longer/);
});

test('chunk size: hex digits only, no overflow past 2^53, CRLF only', () => {
  const f = new ChunkedFraming();
  const top = Buffer.from('1fffffffffffff\r\nabc', 'latin1'); // 2^53 - 1: the largest size taken
  assert.deepEqual([f.scan(top, 0, top.length), f.done, f.error, f.dataBytes], [top.length, false, '', 3]);
  refused('20000000000000\r\n', /too large/);
  refused('fffffffffffffffff\r\n', /too large/);
  for (const s of ['x\r\n', '\r\n', ' 5\r\nhello\r\n', '5 \r\nhello\r\n', '+5\r\n', '0x5\r\n', '-1\r\n']) refused(s, /chunk size/);
  refused('5\nhello\r\n0\r\n\r\n', /chunk size/);
  refused('5\r\rhello\r\n', /bare CR/);
  refused('5\r\nhelloX\r\n', /not followed by CRLF/);
  refused('5\r\nhello\n0\r\n\r\n', /not followed by CRLF/);
  refused('5\r\nhello\r0\r\n\r\n', /not followed by CRLF/);
});

test('trailers: validated like fields, bounded; framing and routing fields refused', () => {
  accepted('5\r\nhello\r\n0\r\nX-T: v\r\nExpires:\r\nx:  a b \x80 \r\n\r\n', 5);
  refused('0\r\n X-T: v\r\n\r\n', /obs-fold/);
  refused('0\r\nX-T : v\r\n\r\n', /trailer/);
  refused('0\r\nX-T: a\x00\r\n\r\n', /control/);
  refused('0\r\nX-T: a\nb\r\n\r\n', /control/);
  refused('0\r\nX-T: a\rb\r\n\r\n', /bare CR/);
  refused('0\r\n\rX\r\n', /bare CR/);
  for (const name of ['Content-Length', 'transfer-encoding', 'HOST']) refused(`0\r\n${name}: 5\r\n\r\n`, /in trailers/);
  accepted('0\r\nHosts: x\r\nHos: y\r\nContent-Lengths: 1\r\n\r\n', 0);
  const f = new ChunkedFraming({ maxHeadBytes: 32, maxFields: 2 });
  const big = Buffer.from(`0\r\nX: ${'a'.repeat(40)}\r\n\r\n`);
  assert.equal(f.scan(big, 0, big.length), -1);
  assert.match(f.error, /trailer section larger/);
  f.reset();
  const many = Buffer.from('0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n');
  assert.equal(f.scan(many, 0, many.length), -1);
  assert.match(f.error, /more than 2 trailer fields/);
});

test('the message end is returned when bytes of the next message follow; reset serves the next body', () => {
  const b = Buffer.from('3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n3\r\nxyz\r\n0\r\n\r\n', 'latin1');
  const f = new ChunkedFraming();
  const end = f.scan(b, 0, b.length);
  assert.deepEqual([end, f.done, f.dataBytes], [13, true, 3]);
  assert.equal(f.scan(b, end, b.length), end, 'a done framing scans nothing more');
  f.reset();
  assert.deepEqual([f.done, f.dataBytes], [false, 0]);
  assert.equal(f.scan(b, 29, b.length), b.length);
  assert.equal(f.done, true);
});
