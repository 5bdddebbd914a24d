import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newId, nowIso } from '../../src/model/ids.js';
import { nodeView, type NodeBeat } from '../../src/model/node.js';
import { pruneFeed, startHeartbeat } from '../../src/store/nodes.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { BOTH_STORES, type TestStore } from '../helpers/pg.js';

const beat = (over: Partial<NodeBeat> = {}): NodeBeat => ({
  id: newId(), name: 'node-a', labels: { region: 'r1' }, version: '1.2.3', appliedRevision: 0, startedAt: nowIso(), heartbeatMs: 5000, ...over,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const [name, open] of BOTH_STORES) {
  describe(`node registry: ${name}`, () => {
    let s: TestStore<Store> | null = null;
    before(async () => { s = await open(); });
    after(async () => { await s?.cleanup(); });

    test('a heartbeat inserts, the next one replaces; nodes() lists every row by name; neither bumps the revision nor writes the feed', async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store } = s;
      await store.transact((tx) => tx.put('tenant', { id: newId(), name: `t-${newId()}`, createdAt: nowIso() }));
      const r0 = await store.revision();
      const feed0 = await store.changesSince(0);
      const b = beat({ name: 'node-b', appliedRevision: r0 });
      const a = beat({ name: 'node-a', labels: { region: 'r2' } });
      await store.heartbeat(b);
      await store.heartbeat(a);
      let rows = await store.nodes();
      assert.deepEqual(rows.map((r) => r.name), ['node-a', 'node-b']);
      const first = rows.find((r) => r.id === b.id)!;
      assert.deepEqual({ ...first, lastSeenAt: undefined, silentMs: undefined }, { ...b, lastSeenAt: undefined, silentMs: undefined });
      assert.ok(first.silentMs >= 0 && first.silentMs < 5000, `silentMs ${first.silentMs}`);
      assert.ok(!Number.isNaN(Date.parse(first.lastSeenAt)));

      await sleep(30);
      await store.heartbeat({ ...b, appliedRevision: r0 + 7, version: '1.2.4' });
      rows = await store.nodes();
      assert.equal(rows.length, 2, 'replaced, not added');
      const again = rows.find((r) => r.id === b.id)!;
      assert.equal(again.appliedRevision, r0 + 7);
      assert.equal(again.version, '1.2.4');
      assert.ok(Date.parse(again.lastSeenAt) > Date.parse(first.lastSeenAt), 'last seen moved');
      assert.deepEqual(rows.find((r) => r.id === a.id)!.labels, { region: 'r2' });

      assert.equal(await store.revision(), r0, 'heartbeats bump no revision');
      assert.deepEqual(await store.changesSince(0), feed0, 'and write no change row');

      assert.equal(await store.forgetNode(a.id), true);
      assert.equal(await store.forgetNode(a.id), false);
      assert.deepEqual((await store.nodes()).map((r) => r.id), [b.id]);
      assert.equal(await store.revision(), r0);
      await store.forgetNode(b.id);
    });

    test('a node silent for more than 3 of its intervals is down, by the store\'s measure', async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store } = s;
      const quick = beat({ heartbeatMs: 50 });
      const slow = beat({ heartbeatMs: 60_000 });
      await store.heartbeat(quick);
      await store.heartbeat(slow);
      const fresh = (await store.nodes()).map(nodeView);
      assert.equal(fresh.find((n) => n.id === quick.id)!.status, 'up');
      await sleep(300);
      const later = (await store.nodes()).map(nodeView);
      assert.equal(later.find((n) => n.id === quick.id)!.status, 'down');
      assert.equal(later.find((n) => n.id === slow.id)!.status, 'up');
      await store.heartbeat(quick);
      assert.equal((await store.nodes()).map(nodeView).find((n) => n.id === quick.id)!.status, 'up', 'a beat brings it back');
      await store.forgetNode(quick.id);
      await store.forgetNode(slow.id);
    });

    test('the periodic prune forgets a node silent for longer than the limit, with its verdicts, and keeps a node down for less and every live one', async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store } = s;
      const gone = beat({ name: 'gone', heartbeatMs: 20 });
      await store.heartbeat(gone);
      await store.putHealth(gone.id, [{ key: 'u1/m1/10.0.0.1:80', subject: 'u1', state: 'unhealthy', reason: 'timeout', sinceMs: 1, downIps: [] }], []);
      await sleep(400);
      // Down for a moment only: silent past 3 beats, not past the limit.
      const recent = beat({ name: 'recent', heartbeatMs: 20 });
      const live = beat({ name: 'live', heartbeatMs: 60_000 });
      await store.heartbeat(recent);
      await store.heartbeat(live);
      await sleep(100);
      await pruneFeed(store, 300);
      const left = (await store.nodes()).map(nodeView);
      assert.deepEqual(left.map((n) => [n.name, n.status]), [['live', 'up'], ['recent', 'down']]);
      assert.deepEqual((await store.healthRows()).filter((r) => r.nodeId === gone.id), [], 'its verdicts went with it');
      await store.forgetNode(recent.id);
      await store.forgetNode(live.id);
    });
  });
}

describe('the heartbeat loop (startHeartbeat) on a real SQLite file', () => {
  test('beats at once and then on its interval with the applied revision, tells an outage once and its end once, and removes its row on stop', { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-beat-'));
    const store = SqliteStore.open(join(dir, 'sluice.db'), { timeoutMs: 100 });
    const other = new Database(join(dir, 'sluice.db'));
    const logged: string[] = [];
    const log = { warn: (_o: object, m: string) => { logged.push(`warn ${m}`); }, info: (_o: object, m: string) => { logged.push(`info ${m}`); } };
    let applied = 4;
    try {
      const hb = await startHeartbeat(store, { name: 'solo', labels: { region: 'r' }, version: '9.9.9' }, 50, () => applied, log);
      let rows = await store.nodes();
      assert.deepEqual(rows.map((r) => [r.id, r.name, r.appliedRevision, r.heartbeatMs]), [[hb.id, 'solo', 4, 50]], 'the first beat is in before start returns');
      applied = 5;
      hb.poke();
      for (let i = 0; i < 50 && (await store.nodes())[0]!.appliedRevision !== 5; i++) await sleep(20);
      assert.equal((await store.nodes())[0]!.appliedRevision, 5);

      // Another process holds the write lock past the deadline: several beats fail.
      other.exec('BEGIN IMMEDIATE');
      await sleep(600);
      other.exec('ROLLBACK');
      for (let i = 0; i < 50 && !logged.some((l) => l.startsWith('info')); i++) await sleep(20);
      assert.deepEqual(logged.map((l) => l.split(' ')[0]), ['warn', 'info'], `once each: ${JSON.stringify(logged)}`);
      rows = await store.nodes();
      assert.equal(nodeView(rows[0]!).status, 'up', 'beating again');

      await hb.stop();
      assert.deepEqual(await store.nodes(), [], 'a clean stop removes the row');
      const r = await store.revision();
      await sleep(150);
      assert.deepEqual(await store.nodes(), [], 'and no beat comes after it');
      assert.equal(await store.revision(), r);
    } finally {
      other.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
