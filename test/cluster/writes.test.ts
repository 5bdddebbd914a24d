import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { members, startBackends, type Backend } from '../helpers/backends.js';
import { allServe, clusterStore, nodeShown, startNode, storeRevision, type ClusterNode } from '../helpers/cluster.js';
import { pgAvailable } from '../helpers/pg.js';

// Short beats: a killed node is shown down within a second or so.
const BEAT = { SLUICE_HEARTBEAT_MS: '200' };

/** Three nodes on a schema of their own, three backends, and what to clean up after. */
function cluster() {
  const c = { nodes: [] as ClusterNode[], backends: [] as Backend[], url: '', drop: null as (() => Promise<void>) | null };
  const up = async () => {
    const s = await clusterStore();
    c.url = s.url;
    c.drop = s.drop;
    c.backends = await startBackends(['b1', 'b2', 'b3']);
    // The first alone: it migrates the empty schema and registers the operator token.
    c.nodes = [await startNode(s.url, 'node-a', { env: BEAT })];
    c.nodes.push(...await Promise.all(['node-b', 'node-c'].map((n) => startNode(s.url, n, { env: BEAT }))));
    return c.nodes;
  };
  const down = async () => {
    for (const n of c.nodes) await n.cleanup();
    for (const b of c.backends) await b.close();
    await c.drop?.();
  };
  return { c, up, down };
}

async function ok(r: Promise<{ status: number; body: any }>, status: number): Promise<any> {
  const res = await r;
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body;
}

/** A tenant, an upstream of `first` and a route of every path to it, written through `via`. */
async function exposed(via: ClusterNode, first: Backend): Promise<string> {
  const tenant = await ok(via.api('POST', '/v1/tenants', { name: 'cluster' }), 201);
  const up = await ok(via.api('POST', '/v1/upstreams', { tenantId: tenant.id, name: 'web', members: members([first]) }), 201);
  await ok(via.api('POST', '/v1/routes', { upstreamId: up.id, paths: ['/'] }), 201);
  return up.id as string;
}

describe('three gateway processes on one PostgreSQL schema', () => {
  const skip = async (t: { skip(m: string): void }) => { if (!(await pgAvailable())) { t.skip('PostgreSQL not reachable'); return true; } return false; };

  describe('a write through any node', () => {
    const k = cluster();
    after(k.down);

    test('reaches the data plane of every node: members moved and routes added through A, B and C in turn', { timeout: 120_000 }, async (t) => {
      if (await skip(t)) return;
      const nodes = await k.up();
      const [b1, b2, b3] = k.c.backends as [Backend, Backend, Backend];
      const id = await exposed(nodes[0]!, b1);
      await allServe(nodes, 'b1');
      // Each node in turn moves the upstream to the next backend; every node's proxy follows.
      const order = [b2, b3, b1, b3, b2, b1];
      for (const [i, target] of order.entries()) {
        const via = nodes[i % 3]!;
        await ok(via.api('PUT', `/v1/upstreams/${id}/members`, { members: members([target]) }), 200);
        await allServe(nodes, target.name);
      }
      // A route added through each node: every node routes it (to an upstream made by another).
      for (const [i, via] of nodes.entries()) {
        const tenantId = (await ok(nodes[(i + 1) % 3]!.api('GET', `/v1/upstreams/${id}`), 200)).tenantId;
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
      if (await skip(t)) return;
      const [a, b, c] = (await k.up()) as [ClusterNode, ClusterNode, ClusterNode];
      const [b1, b2, b3] = k.c.backends as [Backend, Backend, Backend];
      const id = await exposed(a, b1);
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
      await ok(b.api('PUT', `/v1/upstreams/${id}/members`, { members: members([b2]) }), 200);
      await allServe([a, b], 'b2');
      await ok(a.api('PUT', `/v1/upstreams/${id}/members`, { members: members([b3]) }), 200);
      await allServe([a, b], 'b3');
      const rev = await storeRevision(k.c.url);
      for (const n of [a, b]) await nodeShown(a, n.name, { status: 'up', revision: rev });
      assert.equal((await nodeShown(b, 'node-c', { status: 'down' })).appliedRevision < rev, true, 'the dead node stays at the revision it had');
    });
  });
});
