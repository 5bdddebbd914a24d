import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../helpers/backends.js';
import {
  allServe, CATCH_UP_MS, clusterFixture, expose, moveTo, nodeShown, pgMissing, SHORT_BEATS, startNode, storeRevision, type ClusterNode,
} from '../helpers/cluster.js';
import { pgQuery } from '../helpers/pg.js';
import { until } from '../helpers/wait.js';

// The contract of the incremental follower: a node whose applied revision the feed was pruned past reloads in full, saying so once.
const FULL_RELOAD = 'reloading the config in full: the change feed was pruned past this node\'s revision';
const WRITES = 20;
// Pruning runs about every 12th beat: with 200 ms beats, every 2.4 s or so.
const PRUNED_WITHIN_MS = 30_000;

/** `n` writes through the given nodes in turn, moving the upstream between b2 and b3; the last moves it to `last`. */
async function writeMany(via: ClusterNode[], upstreamId: string, [b2, b3]: Backend[], last: Backend, n = WRITES): Promise<void> {
  for (let i = 0; i < n - 1; i++) await moveTo(via[i % via.length]!, upstreamId, i % 2 ? b3! : b2!);
  await moveTo(via[0]!, upstreamId, last);
}

const prunedThrough = async (url: string) => Number((await pgQuery<{ p: string }>(url, 'SELECT pruned_through AS p FROM feed'))[0]!.p);

/** Waits until the cluster has pruned its feed past `revision`; checks that the rows at or below the floor are gone. */
async function prunedPast(url: string, revision: number): Promise<number> {
  const floor = await until(`the feed pruned past revision ${revision}`, async () => { const p = await prunedThrough(url); return p > revision && p; }, PRUNED_WITHIN_MS);
  const left = await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM changes WHERE revision <= $1', [floor]);
  assert.equal(Number(left[0]!.n), 0, `no change row at or below the floor ${floor}`);
  return floor;
}

describe('nodes that were away catch up', () => {
  const k = clusterFixture([{ name: 'node-a' }, { name: 'node-b' }], ['b1', 'b2', 'b3', 'b4']);
  const late: ClusterNode[] = [];
  after(async () => { for (const n of late) await n.cleanup(); await k.down(); });

  test(`a node started after ${WRITES} writes serves the latest and reports it applied; one stopped (SIGTERM) through ${WRITES} more does too when started again`, { timeout: 120_000 }, async (t) => {
    if (await pgMissing(t)) return;
    const [a, b] = (await k.up()) as [ClusterNode, ClusterNode];
    const [b1, b2, b3, b4] = k.c.backends as [Backend, Backend, Backend, Backend];
    const { upstreamId } = await expose(a, b1);
    await writeMany([a, b], upstreamId, [b2, b3], b4);
    const c = await startNode(k.c.url, 'node-c', { env: SHORT_BEATS });
    late.push(c);
    await allServe([c], 'b4');
    await nodeShown(a, 'node-c', { status: 'up', revision: await storeRevision(k.c.url) });

    await c.stop();
    await writeMany([b, a], upstreamId, [b2, b3], b1);
    const again = await startNode(k.c.url, 'node-c', { env: SHORT_BEATS });
    late.push(again);
    await allServe([again, a, b], 'b1');
    await nodeShown(b, 'node-c', { status: 'up', revision: await storeRevision(k.c.url) });
  });
});

describe('a node paused for less than it takes to be shown down (long beats: the feed is not pruned past it)', () => {
  const k = clusterFixture([{ name: 'node-a' }, { name: 'node-b' }, { name: 'node-c' }], ['b1', 'b2', 'b3', 'b4'], { SLUICE_HEARTBEAT_MS: '2000' });
  after(k.down);

  test(`catches up on the ${WRITES} writes made meanwhile from the feed, without a full reload`, { timeout: 120_000 }, async (t) => {
    if (await pgMissing(t)) return;
    const [a, b, c] = (await k.up()) as [ClusterNode, ClusterNode, ClusterNode];
    const [b1, b2, b3, b4] = k.c.backends as [Backend, Backend, Backend, Backend];
    const { upstreamId } = await expose(a, b1);
    await allServe([c], 'b1');
    c.child.kill('SIGSTOP');
    try {
      await writeMany([a, b], upstreamId, [b2, b3], b4);
      assert.equal((await nodeShown(a, 'node-c', { status: 'up' })).status, 'up', 'C is paused, not down');
    } finally {
      c.child.kill('SIGCONT');
    }
    await allServe([c], 'b4', '/', CATCH_UP_MS);
    await nodeShown(a, 'node-c', { status: 'up', revision: await storeRevision(k.c.url) });
    assert.equal(c.logs.filter((l) => l.msg === FULL_RELOAD).length, 0, 'caught up from the feed');
  });
});

describe('pruning past a node that was away (short beats)', () => {
  const k = clusterFixture([{ name: 'node-a' }, { name: 'node-b' }, { name: 'node-c' }], ['b1', 'b2', 'b3', 'b4']);
  const late: ClusterNode[] = [];
  let upstreamId = '';
  after(async () => { for (const n of late) await n.cleanup(); await k.down(); });

  test('a node paused until it is shown down and the feed is pruned past its revision reloads in full when it resumes, saying so once, and serves the latest', { timeout: 120_000 }, async (t) => {
    if (await pgMissing(t)) return;
    const [a, b, c] = (await k.up()) as [ClusterNode, ClusterNode, ClusterNode];
    const [b1, b2, b3, b4] = k.c.backends as [Backend, Backend, Backend, Backend];
    ({ upstreamId } = await expose(a, b1));
    await allServe([c], 'b1');
    const cAt = (await nodeShown(a, 'node-c', { status: 'up', revision: await storeRevision(k.c.url) })).appliedRevision;
    c.child.kill('SIGSTOP');
    let floor: number;
    try {
      await nodeShown(a, 'node-c', { status: 'down' });
      await writeMany([a, b], upstreamId, [b2, b3], b4);
      // Through the latest revision: no change row is left past C's, as in a cluster that
      // went quiet, so nothing in the feed itself tells C that it is behind.
      floor = await prunedPast(k.c.url, (await storeRevision(k.c.url)) - 1);
    } finally {
      c.child.kill('SIGCONT');
    }
    await allServe([c], 'b4', '/', CATCH_UP_MS);
    await nodeShown(a, 'node-c', { status: 'up', revision: await storeRevision(k.c.url) });
    const lines = c.logs.filter((l) => l.msg === FULL_RELOAD);
    assert.equal(lines.length, 1, 'one full reload, told once');
    assert.equal(lines[0]!.level, 30, 'at info');
    assert.equal(lines[0]!.applied, cAt);
    assert.ok((lines[0]!.prunedThrough as number) >= floor, `pruned through ${String(lines[0]!.prunedThrough)}`);
    // The other nodes were never behind the floor.
    for (const n of [a, b]) assert.equal(n.logs.filter((l) => l.msg === FULL_RELOAD).length, 0, `${n.name} never reloaded in full`);
  });

  test('a node stopped (SIGTERM) while the feed is pruned past its revision serves the latest when started again', { timeout: 120_000 }, async (t) => {
    if (await pgMissing(t)) return;
    const [a, b, c] = k.c.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const [b1, b2, b3] = k.c.backends as [Backend, Backend, Backend, Backend];
    await moveTo(b, upstreamId, b1);
    await allServe([c], 'b1');
    const cAt = await storeRevision(k.c.url);
    await nodeShown(a, 'node-c', { status: 'up', revision: cAt });
    await c.stop();
    await writeMany([b, a], upstreamId, [b3, b2], b1);
    await prunedPast(k.c.url, cAt);
    const again = await startNode(k.c.url, 'node-c', { env: SHORT_BEATS });
    late.push(again);
    await allServe([again], 'b1');
    await nodeShown(a, 'node-c', { status: 'up', revision: await storeRevision(k.c.url) });
  });
});
