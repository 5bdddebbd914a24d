import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId, nowIso } from '../../src/model/ids.js';
import { followStore } from '../../src/runtime/follow.js';
import { PostgresStore, type StoreLog } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { pgClusterUnavailable, startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { listenerPids, pgQuery as sql, sqliteTestStore } from '../helpers/pg.js';
import { until } from '../helpers/wait.js';

// Generous: a node reconnects within its backoff (at most 10 s); what these catch is one that never does.
const SEEN_WITHIN_MS = 30_000;

const tenant = () => ({ id: newId(), name: `t-${newId()}`, createdAt: nowIso() });

/** What one node's store tells: its log lines and the revisions it delivers, in order. */
function node() {
  const events: string[] = [];
  const revisions: number[] = [];
  const log: StoreLog = {
    warn: (_o, msg) => { events.push(`warn: ${msg}`); },
    info: (_o, msg) => { events.push(`info: ${msg}`); },
  };
  return { events, revisions, log, warns: () => events.filter((e) => e.startsWith('warn')).length, infos: () => events.filter((e) => e.startsWith('info')).length };
}

/** A write through `store` that may meet a pool connection the restart killed: tried again, bounded. */
async function writeEventually(store: PostgresStore): Promise<number> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      await store.transact((tx) => tx.put('tenant', tenant()));
      return await store.revision();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`no write succeeded after the restart: ${String(last)}`);
}

describe('PostgreSQL change feed across outages: two nodes on a private cluster', () => {
  const skip = pgClusterUnavailable();
  let cluster: PgCluster | null = null;
  const stores: PostgresStore[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => { unhandled.push(err); };

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    if (!skip) cluster = await startPgCluster();
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const s of stores) await s.close();
    await cluster?.destroy();
  });

  async function open(n: ReturnType<typeof node>, listenBackoff?: { firstMs: number; maxMs: number }): Promise<PostgresStore> {
    const s = await PostgresStore.open(cluster!.url, { logger: n.log, listenBackoff, timeoutMs: 2000, connectTimeoutMs: 2000 });
    stores.push(s);
    s.subscribe((rev) => { n.revisions.push(rev); });
    return s;
  }

  test('the database stopped and started again: node B sees A\'s next write without writing itself', { skip: skip ?? false, timeout: 120_000 }, async () => {
    const na = node();
    const nb = node();
    const a = await open(na);
    await open(nb);
    await a.transact((tx) => tx.put('tenant', tenant()));
    const r0 = await a.revision();
    await until('B sees A\'s write before the outage', () => nb.revisions.includes(r0), SEEN_WITHIN_MS);

    await cluster!.stop();
    await until('B notices the outage', () => nb.warns() === 1, SEEN_WITHIN_MS);
    // Down long enough for B's reconnects to fail several times (200 ms, 400 ms, 800 ms...).
    await new Promise((r) => setTimeout(r, 3000));
    await cluster!.start();

    const r1 = await writeEventually(a);
    await until(`B sees revision ${r1} written after the restart`, () => nb.revisions.includes(r1), SEEN_WITHIN_MS);
    await until('B tells that the feed is back', () => nb.infos() === 1, SEEN_WITHIN_MS);
    assert.equal(nb.warns(), 1, `one warning for the whole outage: ${nb.events.join(' | ')}`);
    assert.deepEqual(nb.revisions, [...new Set(nb.revisions)].sort((x, y) => x - y), 'in order, once each');
    assert.deepEqual(unhandled, []);
  });

  test('writes made while B\'s listening connection is cut arrive at B after it reconnects, in order, once each', { skip: skip ?? false, timeout: 120_000 }, async () => {
    // The first test's nodes may still be reconnecting after its restart: closed here, so
    // that the only listening connections are this test's.
    for (const s of stores.splice(0)) await s.close();
    await until('no listening connection left', async () => (await listenerPids(cluster!.url)).length === 0, SEEN_WITHIN_MS);
    const na = node();
    const nb = node();
    const a = await open(na);
    const before = new Set(await listenerPids(cluster!.url));
    // A wide first retry: the writes below all land while B is without its feed.
    await open(nb, { firstMs: 4000, maxMs: 4000 });
    const mine = (await listenerPids(cluster!.url)).filter((p) => !before.has(p));
    assert.equal(mine.length, 1, 'B has one listening connection of its own');
    const r0 = await a.revision();

    await sql(cluster!.url, 'SELECT pg_terminate_backend($1)', [mine[0]]);
    await until('B notices its feed is cut', () => nb.warns() === 1, SEEN_WITHIN_MS);
    const written: number[] = [];
    for (let i = 0; i < 5; i++) {
      await a.transact((tx) => tx.put('tenant', tenant()));
      written.push(await a.revision());
    }
    assert.deepEqual(written, [r0 + 1, r0 + 2, r0 + 3, r0 + 4, r0 + 5]);
    const backAt = () => nb.events.findIndex((e) => e.startsWith('info'));
    assert.equal(backAt(), -1, `B was still without its feed when the writes were done: ${nb.events.join(' | ')}`);

    await until('B catches up on the five writes', () => nb.revisions.length >= 5, SEEN_WITHIN_MS);
    assert.notEqual(backAt(), -1, 'B reconnected');
    // One more write, seen live: nothing was delivered twice in between.
    await a.transact((tx) => tx.put('tenant', tenant()));
    const r6 = await a.revision();
    await until('B sees the write after it reconnected', () => nb.revisions.includes(r6), SEEN_WITHIN_MS);
    assert.deepEqual(nb.revisions, [...written, r6], 'every revision in order, once each');
    assert.deepEqual(unhandled, []);
  });
});

describe('followStore resync: a revision that is never announced is applied within the interval', () => {
  let dir: string;
  let mine: SqliteStore;
  let other: SqliteStore;
  let cleanup: () => Promise<void>;
  before(async () => {
    const t = await sqliteTestStore();
    ({ dir, cleanup } = t);
    mine = t.store;
    // A second store on the same file: its writes are announced to its own subscribers only.
    other = SqliteStore.open(`${dir}/sluice.db`);
  });
  after(async () => { await other.close(); await cleanup(); });

  test('another writer\'s revision, unannounced to this store, is loaded by the resync', { timeout: 30_000 }, async () => {
    const announced: number[] = [];
    mine.subscribe((rev) => { announced.push(rev); });
    const applied: number[] = [];
    const errors: unknown[] = [];
    const f = followStore(mine, (c) => { applied.push(c.revision); }, (err) => { errors.push(err); }, { resyncMs: 200 });
    try {
      await f.ready;
      const r0 = await mine.revision();
      assert.deepEqual(applied, [r0]);
      await other.transact((tx) => tx.put('tenant', tenant()));
      const r1 = await other.revision();
      assert.equal(r1, r0 + 1);
      await until(`revision ${r1} applied`, () => applied.includes(r1), 10_000);
      assert.deepEqual(announced, [], 'the store never announced it: the resync found it');
      assert.deepEqual(applied, [r0, r1]);
      assert.deepEqual(errors, []);
    } finally {
      f.stop();
    }
  });
});
