import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../helpers/backends.js';
import { allServe, CATCH_UP_MS, clusterFixture, expose, listenerBackendOf, moveTo, nodeShown, pgMissing, PROPAGATION_MS, storeRevision, type ClusterNode } from '../helpers/cluster.js';
import { pgQuery } from '../helpers/pg.js';
import { until } from '../helpers/wait.js';

const LOST = 'lost the configuration store change feed; reconnecting with backoff (writes of other nodes are not seen until it is back)';
const BACK = 'configuration store change feed is back; catching up on the revisions missed';

describe('a node whose change-feed connection is cut while writes go on through another', () => {
  const k = clusterFixture([{ name: 'node-a' }, { name: 'node-b' }, { name: 'node-c' }], ['b1', 'b2', 'b3', 'b4'], { SLUICE_HEARTBEAT_MS: '2000' });
  after(k.down);

  test('catches up without a restart: its traffic shows the latest write and its applied revision reaches the latest', { timeout: 120_000 }, async (t) => {
    if (await pgMissing(t)) return;
    const [a, b, c] = (await k.up()) as [ClusterNode, ClusterNode, ClusterNode];
    const [b1, b2, b3, b4] = k.c.backends as [Backend, Backend, Backend, Backend];
    const { upstreamId } = await expose(a, b1);
    await allServe([a, b, c], 'b1');
    const cut = await listenerBackendOf(c, k.c.url);
    assert.ok(cut, 'C has one listening connection of its own');

    // C is held (SIGSTOP) from the cut until the writes are committed, so that they all land
    // while it has no feed whatever its backoff: only its catch-up on reconnecting can bring
    // them, or its resync. Long beats: it stays up meanwhile, and nothing is pruned past it.
    let latest: number;
    c.child.kill('SIGSTOP');
    try {
      await pgQuery(k.c.url, 'SELECT pg_terminate_backend($1)', [cut]);
      for (const to of [b2, b3, b4]) await moveTo(a, upstreamId, to);
      latest = await storeRevision(k.c.url);
    } finally {
      c.child.kill('SIGCONT');
    }

    await allServe([c], 'b4', '/', CATCH_UP_MS);
    await allServe([b], 'b4');
    await nodeShown(a, 'node-c', { status: 'up', revision: latest });
    assert.equal(c.child.exitCode, null, 'C was not restarted');
    assert.ok(c.logs.some((l) => l.msg === LOST), 'C noticed that its feed was cut');
    await until('C tells that its feed is back', () => c.logs.some((l) => l.msg === BACK), PROPAGATION_MS);
    const again = await until('C listening again', () => listenerBackendOf(c, k.c.url), PROPAGATION_MS);
    assert.notEqual(again, cut, 'on a new connection');

    // And it follows live writes again on that connection.
    await moveTo(b, upstreamId, b1);
    await allServe([c, a], 'b1');
    await nodeShown(b, 'node-c', { status: 'up', revision: await storeRevision(k.c.url) });
  });
});
