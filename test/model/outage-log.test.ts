import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { outageLog } from '../../src/model/outage-log.js';

/** A real pino logger whose lines are kept, parsed. */
function recorded() {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { lines, log: pino({ level: 'debug' }, stream) };
}

const MESSAGES = { failed: 'could not reach the store; trying again', back: 'the store answers again' };

test('the first failure of an outage logs at warn with the reason, repeats do not, the recovery logs once at info', async () => {
  const { lines, log } = recorded();
  let node: string | null = null;
  const o = outageLog(log, MESSAGES, () => ({ node }));
  o.ok();
  assert.equal(o.failing, false);
  node = 'n1';
  o.failed(new Error('connection refused'));
  o.failed(new Error('timeout'));
  o.failed(new Error('still down'));
  assert.equal(o.failing, true);
  o.ok();
  o.ok();
  assert.equal(o.failing, false);
  // A second outage is told again.
  o.failed(Object.assign(new Error('x'), { code: 'ECONNRESET' }));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [[40, MESSAGES.failed], [30, MESSAGES.back], [40, MESSAGES.failed]]);
  assert.equal(lines[0]!.reason, 'connection refused', 'the first error, not a later one');
  assert.equal(lines[0]!.node, 'n1', 'context read at the line: known only after start');
  assert.equal(lines[1]!.node, 'n1');
  assert.equal(lines[1]!.reason, undefined);
  assert.equal(typeof lines[2]!.reason, 'string');
});

test('no context: the reason alone; a thrown non-Error is told as text', async () => {
  const { lines, log } = recorded();
  const o = outageLog(log, MESSAGES);
  o.failed('plain words');
  o.ok();
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.reason, 'plain words');
  assert.equal(lines[1]!.msg, MESSAGES.back);
});
