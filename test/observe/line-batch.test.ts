import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitPipe } from '../../src/observe/access-log.js';
import { LineBatch } from '../../src/observe/line-batch.js';

test('a pipe\'s batches are whole lines of at most 4096 bytes, in order, nothing lost', () => {
  const writes: string[] = [];
  const b = new LineBatch({ write: (s) => { writes.push(s); return true; } }, 4096, true);
  const lines: string[] = [];
  // Multi-byte characters: a batch counted in characters would pass the bound in bytes.
  for (let i = 0; i < 300; i++) lines.push(`${JSON.stringify({ i, s: 'é€'.repeat(i % 97) })}\n`);
  lines.push(`${JSON.stringify({ big: 'x'.repeat(4000) })}\n`);
  for (const l of lines) b.write(l);
  b.flush();
  assert.equal(writes.join(''), lines.join(''));
  for (const w of writes) {
    assert.ok(Buffer.byteLength(w) <= 4096, `a write of ${Buffer.byteLength(w)} bytes`);
    assert.ok(w.endsWith('\n'));
    for (const l of w.slice(0, -1).split('\n')) JSON.parse(l);
  }
  assert.ok(writes.length < lines.length / 3, `lines are gathered: ${writes.length} writes for ${lines.length} lines`);
});

test('fitPipe leaves ordinary lines alone and shortens the client\'s fields of one that would not fit', () => {
  const small = `${JSON.stringify({ type: 'access', target: '/a', status: 200 })}\n`;
  assert.equal(fitPipe(small), small);
  const big = `${JSON.stringify({ type: 'access', target: `/${'ü'.repeat(3000)}`, user_agent: 'u'.repeat(3000), host: 'h.test', status: 200 })}\n`;
  const out = fitPipe(big);
  assert.ok(Buffer.byteLength(out) <= 4096);
  assert.ok(out.endsWith('\n'));
  const rec = JSON.parse(out);
  assert.equal(rec.truncated, true);
  assert.equal(rec.status, 200);
  assert.equal(rec.host, 'h.test');
  assert.ok(rec.target.startsWith('/ü') && rec.target.length >= 256);
});
