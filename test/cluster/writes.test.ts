import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { members, type Backend } from '../helpers/backends.js';
import { allServe, clusterFixture, expose, moveTo, nodeShown, ok, pgMissing, storeRevision, type ClusterNode } from '../helpers/cluster.js';

/** Three nodes on a schema of their own and three backends (b1, b2, b3). */
const cluster = () => clusterFixture(['node-a', 'node-b', 'node-c'].map((name) => ({ name })), ['b1', 'b2', 'b3']);

describe('three gateway processes on one PostgreSQL schema', () => {
  describe('a write through any node', () => {
    const k = cluster();
    after(k.down);

    test('reaches the data plane of every node: members moved and routes added through A, B and C in turn', { timeout: 120_000 }, async (t) => {
      if (await pgMissing(t)) return;
      const nodes = await k.up();
      const [b1, b2, b3] = k.c.backends as [Backend, Backend, Backend];
      const { tenantId, upstreamId: id } = await expose(nodes[0]!, b1);
      await allServe(nodes, 'b1');
      // Each node in turn moves the upstream to the next backend; every node's proxy follows.
      const order = [b2, b3, b1, b3, b2, b1];
      for (const [i, target] of order.entries()) {
        const via = nodes[i % 3]!;
        await moveTo(via, id, target);
        await allServe(nodes, target.name);
      }
      // A route added through each node: every node routes it (to an upstream made by another).
      for (const [i, via] of nodes.entries()) {
        const other = await ok(nodes[(i + 1) % 3]!.api('POST', '/v1/upstreams', { tenantId, name: `only-${i}`, members: members([b3]) }), 201);
        await ok(via.api('POST', '/v1/routes', { upstreamId: other.id, paths: [`/only-${i}`] }), 201);
        await allServe(nodes, 'b3', `/only-${i}/x`);
      }
      await allServe(nodes, 'b1', '/');
      // And each node reports the cluster's revision as applied.
      const rev = await storeRevision(k.c.url);
      for (const observer of nodes) for (const n of nodes) await nodeShown(observer, n.name, { status: 'up', revision: rev });
    });
  });

  describe('a node killed with SIGKILL', () => {
    const k = cluster();
    after(k.down);

    test('is shown down by the survivors, which keep serving and accepting writes that reach each other', { timeout: 120_000 }, async (t) => {
      if (await pgMissing(t)) return;
      const [a, b, c] = (await k.up()) as [ClusterNode, ClusterNode, ClusterNode];
      const [b1, b2, b3] = k.c.backends as [Backend, Backend, Backend];
      const { upstreamId: id } = await expose(a, b1);
      await allServe([a, b, c], 'b1');

      c.child.kill('SIGKILL');
      await once(c.child, 'exit');
      for (const observer of [a, b]) {
        await nodeShown(observer, 'node-c', { status: 'down' });
        for (const n of [a, b]) await nodeShown(observer, n.name, { status: 'up' });
      }
      // Traffic carries on through the survivors...
      for (const n of [a, b]) assert.equal(await n.served(), 'b1', `${n.name} serves after C died`);
      // ...and a write through either reaches the other.
      await moveTo(b, id, b2);
      await allServe([a, b], 'b2');
      await moveTo(a, id, b3);
      await allServe([a, b], 'b3');
      const rev = await storeRevision(k.c.url);
      for (const n of [a, b]) await nodeShown(a, n.name, { status: 'up', revision: rev });
      assert.equal((await nodeShown(b, 'node-c', { status: 'down' })).appliedRevision < rev, true, 'the dead node stays at the revision it had');
    });
  });
});
