import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startHealthPublisher, type VerdictSource } from '../../src/health/publish.js';
import { aggregateDownIps, aggregateVerdicts, type HealthVerdict } from '../../src/model/health.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { until } from '../helpers/wait.js';

describe('the aggregate rule (model/health.ts)', () => {
  const v = (nodeName: string, state: 'healthy' | 'unhealthy', sinceMs: number, reason = `${state} on ${nodeName}`) => ({ nodeName, state, reason, sinceMs });

  test('one verdict is returned as it is; none is no verdict', () => {
    assert.equal(aggregateVerdicts([]), null);
    assert.deepEqual(aggregateVerdicts([v('a', 'unhealthy', 5, 'tcp connect failed: ECONNREFUSED (3 in a row)')]),
      { state: 'unhealthy', reason: 'tcp connect failed: ECONNREFUSED (3 in a row)', sinceMs: 5 });
  });

  test('healthy when any node says so (since its earliest healthy verdict); unhealthy only when every one does (since the last)', () => {
    assert.deepEqual(aggregateVerdicts([v('a', 'unhealthy', 9), v('b', 'healthy', 7), v('c', 'healthy', 3)]),
      { state: 'healthy', reason: 'healthy on 2 of 3 nodes; unhealthy on a (unhealthy on a)', sinceMs: 3 });
    assert.deepEqual(aggregateVerdicts([v('a', 'healthy', 4), v('b', 'healthy', 2)]), { state: 'healthy', reason: 'healthy on all 2 nodes: healthy on b', sinceMs: 2 });
    assert.deepEqual(aggregateVerdicts([v('a', 'unhealthy', 4), v('b', 'unhealthy', 8)]),
      { state: 'unhealthy', reason: 'unhealthy on all 2 nodes; last on b: unhealthy on b', sinceMs: 8 });
  });

  test('DownIPList: while usable, the addresses every node fails; once down everywhere, every address any node saw fail', () => {
    assert.deepEqual(aggregateDownIps('healthy', [['10.0.0.1', '10.0.0.2'], ['10.0.0.2']]), ['10.0.0.2']);
    assert.deepEqual(aggregateDownIps('healthy', [['10.0.0.1'], []]), []);
    assert.deepEqual(aggregateDownIps('unhealthy', [['10.0.0.1'], [], ['10.0.0.2', '10.0.0.1']]), ['10.0.0.1', '10.0.0.2']);
  });
});

describe('the health publisher on a real SQLite file', () => {
  test('coalesces changes by key, drops keys with no verdict, retries with the latest state after a failure, and tells an outage once and its end once', { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-publish-'));
    const store = SqliteStore.open(join(dir, 'sluice.db'), { timeoutMs: 100 });
    const other = new Database(join(dir, 'sluice.db'));
    const logged: string[] = [];
    const log = { warn: (_o: object, m: string) => { logged.push(`warn ${m}`); }, info: (_o: object, m: string) => { logged.push(`info ${m}`); } };
    // What a checker holds now (the publisher reads it when a batch goes out).
    const held = new Map<string, HealthVerdict>();
    let reads = 0;
    const source: VerdictSource = { verdictOf: (key) => { reads++; return held.get(key) ?? null; } };
    const set = (key: string, state: HealthVerdict['state'], reason: string) => {
      held.set(key, { key, subject: 'u1', state, reason, sinceMs: Date.now(), downIps: [] });
      pub.mark(key, source);
    };
    const rows = async () => (await store.healthRows('u1')).map((r) => [r.key, r.state, r.reason]);
    const pub = startHealthPublisher(store, log, { batchMs: 50, retryMs: 100 });
    try {
      set('u1/m1', 'unhealthy', 'first');
      set('u1/m1', 'unhealthy', 'second');
      set('u1/m1', 'unhealthy', 'third');
      set('u1/m2', 'unknown', 'no verdict yet');
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(await rows(), [], 'nothing goes out before the node is registered');
      pub.start('node-1');
      await until('the first batch', async () => (await rows()).length === 1);
      assert.deepEqual(await rows(), [['u1/m1', 'unhealthy', 'third']], 'one row, the latest state; unknown is no row');
      assert.equal(reads, 2, 'each changed key read once for the batch');

      // Another process holds the file's write lock: batches fail, and are retried.
      other.exec('BEGIN IMMEDIATE');
      set('u1/m1', 'healthy', 'during the outage');
      set('u1/m3', 'unhealthy', 'new during the outage');
      await until('the outage told', () => logged.length > 0);
      set('u1/m1', 'unhealthy', 'latest');
      held.delete('u1/m3');
      pub.mark('u1/m3', source);
      await new Promise((r) => setTimeout(r, 400));
      other.exec('ROLLBACK');
      await until('the retry landed', async () => JSON.stringify(await rows()) === JSON.stringify([['u1/m1', 'unhealthy', 'latest']]));
      await until('the recovery told', () => logged.some((l) => l.startsWith('info')));
      assert.deepEqual(logged.map((l) => l.split(' ')[0]), ['warn', 'info'], `once each: ${JSON.stringify(logged)}`);

      held.delete('u1/m1');
      pub.mark('u1/m1', source);
      await until('a key no longer watched is deleted', async () => (await rows()).length === 0);
      await pub.stop();
      set('u1/m9', 'unhealthy', 'after stop');
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(await rows(), [], 'nothing after stop');
    } finally {
      await pub.stop();
      other.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
