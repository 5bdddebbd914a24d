import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyFigures, MINUTE_MS, StatsBook, type MinuteFigures } from '../../src/model/l4-stats.js';
import type { Store } from '../../src/store/store.js';
import { BOTH_STORES, type TestStore } from '../helpers/pg.js';

const fig = (over: Partial<MinuteFigures>): MinuteFigures => ({ ...emptyFigures(), ...over });
const M0 = 1_700_000_040_000 - (1_700_000_040_000 % MINUTE_MS);

describe('the statistics book of one node', () => {
  test('deltas of one minute add up, the concurrent peak is the larger, health the worse; another minute stands apart', () => {
    const book = new StatsBook(24 * 60 * MINUTE_MS, () => M0 + MINUTE_MS);
    book.add([{ subject: 'proxy:p', minuteMs: M0, figures: fig({ bytesIn: 100, concurrent: 3, opened: 2 }) }]);
    book.add([{ subject: 'proxy:p', minuteMs: M0, figures: fig({ bytesIn: 50, bytesOut: 7, concurrent: 1, opened: 1 }) }]);
    book.add([{ subject: 'proxy:p', minuteMs: M0 + MINUTE_MS, figures: fig({ bytesIn: 1 }) }]);
    book.add([{ subject: 'rs:l:o', minuteMs: M0, figures: fig({ up: 1 }) }, { subject: 'rs:l:o', minuteMs: M0, figures: fig({ up: 0 }) }, { subject: 'rs:l:o', minuteMs: M0, figures: fig({ up: 1 }) }]);
    const [first, second] = book.range(['proxy:p'], M0, M0 + 2 * MINUTE_MS).sort((a, b) => a.minuteMs - b.minuteMs);
    assert.deepEqual(first!.figures, fig({ bytesIn: 150, bytesOut: 7, concurrent: 3, opened: 3 }));
    assert.deepEqual(second!.figures, fig({ bytesIn: 1 }));
    assert.equal(book.range(['rs:l:o'], M0, M0 + MINUTE_MS)[0]!.figures.up, 0);
    assert.deepEqual(book.range(['proxy:p'], M0 + MINUTE_MS, M0 + 2 * MINUTE_MS).length, 1, 'the end is exclusive, the start inclusive');
  });

  test('takeChanged hands each changed minute once, with its figures so far; prune drops minutes past the window', () => {
    let now = M0;
    const book = new StatsBook(10 * MINUTE_MS, () => now);
    book.add([{ subject: 'listener:l', minuteMs: M0, figures: fig({ bytesIn: 1 }) }, { subject: 'listener:l', minuteMs: M0, figures: fig({ bytesIn: 2 }) }]);
    assert.deepEqual(book.takeChanged().map((r) => r.figures.bytesIn), [3]);
    assert.deepEqual(book.takeChanged(), []);
    book.add([{ subject: 'listener:l', minuteMs: M0, figures: fig({ bytesIn: 4 }) }]);
    assert.deepEqual(book.takeChanged().map((r) => r.figures.bytesIn), [7], 'the whole minute, not the delta: the store replaces its row');
    now = M0 + 11 * MINUTE_MS;
    book.prune();
    assert.deepEqual(book.range(['listener:l'], 0, Infinity), []);
  });
});

for (const [name, open] of BOTH_STORES) {
  describe(`statistics rows: ${name}`, () => {
    let s: TestStore<Store> | null = null;
    before(async () => { s = await open(); });
    after(async () => { await s?.cleanup(); });

    test('each node\'s minute is its own row, replaced by the next put; reads by subject and range; pruning by age; no revision', async (t) => {
      if (!s) return t.skip('PostgreSQL not reachable');
      const { store } = s;
      const rev = await store.revision();
      await store.putStats('n1', [{ subject: 'proxy:p', minuteMs: M0, figures: fig({ bytesIn: 1 }) }, { subject: 'proxy:q', minuteMs: M0, figures: fig({ bytesIn: 9 }) }]);
      await store.putStats('n1', [{ subject: 'proxy:p', minuteMs: M0, figures: fig({ bytesIn: 5, concurrent: 2 }) }]);
      await store.putStats('n2', [{ subject: 'proxy:p', minuteMs: M0, figures: fig({ bytesIn: 3 }) }, { subject: 'proxy:p', minuteMs: M0 - 10 * MINUTE_MS, figures: fig({ bytesIn: 4 }) }]);
      const rows = (await store.stats(['proxy:p'], M0 - MINUTE_MS, M0 + MINUTE_MS)).sort((a, b) => a.nodeId.localeCompare(b.nodeId));
      assert.deepEqual(rows.map((r) => [r.nodeId, r.minuteMs, r.figures.bytesIn, r.figures.concurrent]), [['n1', M0, 5, 2], ['n2', M0, 3, 0]]);
      assert.equal((await store.stats(['proxy:p', 'proxy:q'], 0, M0 + MINUTE_MS)).length, 4);
      assert.deepEqual(await store.stats([], 0, Infinity), []);
      await store.pruneStats(M0);
      assert.deepEqual((await store.stats(['proxy:p'], 0, M0 + MINUTE_MS)).map((r) => r.minuteMs), [M0, M0]);
      assert.equal(await store.revision(), rev, 'statistics are outside the revisioned feed');
    });
  });
}
