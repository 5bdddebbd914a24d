import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { newId, nowIso } from '../../src/model/ids.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { PG_URL, pgAvailable, pgTarget, pgTestSchema, pgUrlVia } from '../helpers/pg.js';
import { startRelay, type Relay } from '../helpers/relay.js';

const TIMEOUT_MS = 300;
// Generous: the deadline is 300 ms; a call that hangs is what this bound catches.
const ANSWER_WITHIN_MS = 5000;

const tenant = () => ({ id: newId(), name: `t-${newId()}`, createdAt: nowIso() });
const node = () => ({ id: newId(), name: 'n', labels: {}, version: '0', appliedRevision: 0, startedAt: nowIso(), heartbeatMs: 5000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or a failure naming `what` if it has not settled within the bound. */
async function within<T>(what: string, p: Promise<T>, ms = ANSWER_WITHIN_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); });
  try { return await Promise.race([p, late]); } finally { clearTimeout(timer); }
}

async function unavailable(what: string, p: Promise<unknown>): Promise<void> {
  await within(what, assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreUnavailableError, `${what}: ${String(err)}`);
    assert.equal(err.code, 'store_unavailable');
    return true;
  }));
}

/** Polls `fn` until it succeeds: a bounded number of tries. */
async function eventually<T>(what: string, fn: () => Promise<T>, tries = 50): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try { return await within(what, fn()); } catch (err) { last = err; await sleep(200); }
  }
  throw new Error(`${what} never succeeded: ${String(last)}`);
}

interface Locker { hold(): Promise<void>; release(): Promise<void>; close(): Promise<void> }

/** Both stores: a writer that waits on another connection's lock gives up at the deadline. */
function lockWait(name: string, open: () => Promise<{ store: Store; locker: Locker; cleanup: () => Promise<void> } | null>) {
  describe(`store deadline: ${name}`, () => {
    let s: { store: Store; locker: Locker; cleanup: () => Promise<void> } | null = null;
    before(async () => { s = await open(); });
    after(async () => { if (s) await s.cleanup(); });

    test('a write blocked by another writer past the deadline is StoreUnavailableError, and the store writes again after', { timeout: 30_000 }, async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store, locker } = s;
      const r0 = await store.revision();
      await locker.hold();
      try {
        await unavailable('a blocked transact', store.transact((tx) => tx.put('tenant', tenant())));
      } finally {
        await locker.release();
      }
      assert.equal(await store.revision(), r0, 'the blocked write changed nothing');
      const later = tenant();
      await within('a write after the lock is gone', store.transact((tx) => tx.put('tenant', later)));
      assert.deepEqual(await store.get('tenant', later.id), later);
      assert.equal(await store.revision(), r0 + 1);
    });

    test(name === 'sqlite'
      ? 'a heartbeat or health verdicts blocked by another process\'s lock on the file are StoreUnavailableError; the registry and verdicts are still readable'
      : 'a heartbeat and health verdicts do not wait on another node\'s write (no meta lock): they land while the writer holds it', { timeout: 30_000 }, async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store, locker } = s;
      const n = node();
      await locker.hold();
      try {
        const v = { key: 'u/m/10.0.0.1:80', subject: 'u', state: 'healthy' as const, reason: 'ok', sinceMs: 1, downIps: [] };
        if (name === 'sqlite') {
          await unavailable('a blocked heartbeat', store.heartbeat(n));
          await unavailable('blocked health verdicts', store.putHealth(n.id, [v], []));
        } else {
          await within('a heartbeat beside a writer', store.heartbeat(n));
          await within('health verdicts beside a writer', store.putHealth(n.id, [v], []));
        }
        await within('nodes() beside a writer', store.nodes());
        await within('healthRows() beside a writer', store.healthRows());
      } finally {
        await locker.release();
      }
      await within('a heartbeat after the lock is gone', store.heartbeat(n));
      assert.deepEqual((await store.nodes()).map((r) => r.id), [n.id]);
      assert.equal(await store.forgetNode(n.id), true);
    });
  });
}

lockWait('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-deadline-'));
  const store = SqliteStore.open(join(dir, 'sluice.db'), { timeoutMs: TIMEOUT_MS });
  // Another process on the same file (a second sluice, a backup tool) holding the write lock.
  const other = new Database(join(dir, 'sluice.db'));
  return {
    store,
    locker: { hold: async () => { other.exec('BEGIN IMMEDIATE'); }, release: async () => { other.exec('ROLLBACK'); }, close: async () => { other.close(); } },
    cleanup: async () => { other.close(); await store.close(); await rm(dir, { recursive: true, force: true }); },
  };
});

lockWait('postgres', async () => {
  if (!(await pgAvailable())) return null;
  const { schema, drop } = await pgTestSchema();
  const store = await PostgresStore.open(PG_URL, { schema, timeoutMs: TIMEOUT_MS });
  // Another node in the middle of a write: it holds the meta row.
  const other = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await other.connect();
  return {
    store,
    locker: {
      hold: async () => { await other.query('BEGIN'); await other.query('SELECT revision FROM meta FOR UPDATE'); },
      release: async () => { await other.query('ROLLBACK'); },
      close: async () => { await other.end(); },
    },
    cleanup: async () => { await other.end(); await store.close(); await drop(); },
  };
});

describe('PostgreSQL that stops answering (a frozen relay in front of it)', () => {
  let relay: Relay;
  let store: PostgresStore;
  let direct: PostgresStore;
  let drop: () => Promise<void>;
  let skip = false;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => { unhandled.push(err); };

  before(async () => {
    if (!(await pgAvailable())) { skip = true; return; }
    process.on('unhandledRejection', onUnhandled);
    const target = pgTarget();
    relay = await startRelay(target.port, target.host);
    let schema: string;
    ({ schema, drop } = await pgTestSchema());
    store = await PostgresStore.open(pgUrlVia(relay.port, schema), { timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS });
    // Another node on the same database, not behind the relay.
    direct = await PostgresStore.open(PG_URL, { schema });
  });
  after(async () => {
    if (skip) return;
    process.off('unhandledRejection', onUnhandled);
    relay.thaw();
    await direct.close();
    await store.close();
    await relay.close();
    await drop();
  });

  test('every kind of call answers StoreUnavailableError at the deadline; more calls than the pool holds do not queue for ever; after the thaw calls succeed', { timeout: 60_000 }, async (t) => {
    if (skip) return t.skip('PostgreSQL not reachable');
    // Warm pool clients: the freeze catches them idle, as in production.
    await Promise.all(Array.from({ length: 4 }, () => store.list('tenant')));
    relay.freeze();
    await Promise.all([
      unavailable('revision', store.revision()),
      unavailable('get', store.get('tenant', 'x')),
      unavailable('list', store.list('tenant')),
      unavailable('findUnique', store.findUnique('tenant', 'x')),
      unavailable('loadAll', store.loadAll()),
      unavailable('changesSince', store.changesSince(0)),
      unavailable('transact', store.transact((tx) => tx.put('tenant', tenant()))),
      unavailable('heartbeat', store.heartbeat(node())),
      unavailable('nodes', store.nodes()),
      unavailable('forgetNode', store.forgetNode('x')),
      unavailable('putHealth', store.putHealth('x', [{ key: 'k', subject: 's', state: 'healthy', reason: 'ok', sinceMs: 1, downIps: [] }], [])),
      unavailable('healthRows', store.healthRows()),
    ]);
    // Twice the pool's size at once: each gets its answer, none waits behind a wedged client.
    await Promise.all(Array.from({ length: 20 }, (_, i) => unavailable(`get #${i}`, store.get('tenant', 'x'))));
    relay.thaw();
    const later = tenant();
    await eventually('a write after the thaw', () => store.transact((tx) => tx.put('tenant', later)));
    assert.deepEqual(await store.get('tenant', later.id), later);
    assert.deepEqual(await direct.get('tenant', later.id), later, 'the other node reads it');
    // All of the pool usable again, not only one client.
    await within('a pool-wide burst', Promise.all(Array.from({ length: 20 }, () => store.list('tenant'))));
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });

  test('the change feed resumes after an outage: what another node committed meanwhile is delivered', { timeout: 60_000 }, async (t) => {
    if (skip) return t.skip('PostgreSQL not reachable');
    const seen: number[] = [];
    const unsubscribe = store.subscribe((rev) => seen.push(rev));
    try {
      relay.freeze();
      const missed = tenant();
      await direct.transact((tx) => tx.put('tenant', missed));
      const rev = await direct.revision();
      // Long enough for the listener's heartbeat to go unanswered at least once.
      await sleep(2 * Math.max(1000, TIMEOUT_MS) + TIMEOUT_MS);
      // The relay comes back having lost every connection (and the notification on its way).
      relay.thaw({ reset: true });
      for (let i = 0; i < 100 && !seen.includes(rev); i++) await sleep(100);
      assert.ok(seen.includes(rev), `revision ${rev} delivered after the outage (seen ${JSON.stringify(seen)})`);
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
    } finally {
      unsubscribe();
    }
  });
});
