import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterFixture, listensOn, nodeShown, ok, pgMissing, PROPAGATION_MS, storeRevision, type ClusterNode } from '../helpers/cluster.js';
import { firstLine, freePort, tcpOrigin, type TcpOrigin } from '../helpers/l4.js';
import { until } from '../helpers/wait.js';

// Loopback pools of their own (proxy addresses), apart from the L4 suites' 127.0.40+.0/28.
const REGIONS = { 'r-x': '127.0.171.0/28', 'r-y': '127.0.172.0/28' } as const;

describe('GAAP across nodes of two regions (and a third node of a region without proxies)', () => {
  // One machine: two nodes of one region would both bind the proxy's address and port, so each region has one node.
  const k = clusterFixture([{ name: 'node-x', region: 'r-x' }, { name: 'node-y', region: 'r-y' }, { name: 'node-z', region: 'r-z' }]);
  const origins: TcpOrigin[] = [];
  after(async () => { for (const o of origins) await o.close(); await k.down(); });

  test('a proxy of region X is bound and carries TCP only on the X node, one of region Y only on the Y node; the others never bind it', { timeout: 120_000 }, async (t) => {
    if (await pgMissing(t)) return;
    const [x, y, z] = (await k.up()) as [ClusterNode, ClusterNode, ClusterNode];
    for (const [id, pool] of Object.entries(REGIONS)) {
      await ok(x.api('PUT', `/v1/l4-regions/${id}`, { access: true, origin: true, bandwidths: [10, 100, 1000], concurrencies: [2, 5, 10], pool: [pool] }), 200);
    }
    const tenant = await ok(y.api('POST', '/v1/tenants', { name: 'gaap-cluster' }), 201);
    const ox = await tcpOrigin('origin-x');
    const oy = await tcpOrigin('origin-y');
    origins.push(ox, oy);
    const [origin] = (await ok(z.api('POST', '/v1/origins', { tenantId: tenant.id, name: 'o', addresses: ['127.0.0.1'] }), 201)).items;

    /** A proxy in `region` with one TCP listener bound to `to`, each written through a node that does not serve the region. */
    const build = async (region: keyof typeof REGIONS, via: ClusterNode, to: TcpOrigin) => {
      const p = await ok(via.api('POST', '/v1/proxies', { tenantId: tenant.id, name: `p-${region}`, accessRegion: region, originRegion: region, bandwidth: 1000, concurrent: 10 }), 201);
      await until(`proxy of ${region} RUNNING`, async () => (await ok(via.api('GET', `/v1/proxies/${p.id}`), 200)).status === 'RUNNING', PROPAGATION_MS);
      const port = await freePort(p.address);
      const [l] = (await ok(via.api('POST', '/v1/listeners', { proxyId: p.id, protocol: 'tcp', name: 'l', scheduler: 'rr', ports: [port] }), 201)).items;
      await ok(via.api('PUT', `/v1/listeners/${l.id}/bindings`, { bindings: [{ originId: origin.id, port: to.port }] }), 200);
      return { address: p.address as string, port, listenerId: l.id as string };
    };
    const px = await build('r-x', y, ox);
    const py = await build('r-y', x, oy);
    assert.ok(px.address.startsWith('127.0.171.') && py.address.startsWith('127.0.172.'), 'each proxy has an address of its region');

    const dataPlane = async (n: ClusterNode, listenerId: string) => (await ok(n.api('GET', `/v1/listeners/${listenerId}`), 200)).dataPlane;
    await until('the X node binds the X listener', async () => (await dataPlane(x, px.listenerId))?.bound === true, PROPAGATION_MS);
    await until('the Y node binds the Y listener', async () => (await dataPlane(y, py.listenerId))?.bound === true, PROPAGATION_MS);
    // Every node has applied the latest revision, so a null data plane is its answer, not a lag.
    const rev = await storeRevision(k.c.url);
    for (const n of [x, y, z]) await nodeShown(x, n.name, { status: 'up', revision: rev });
    for (const n of [y, z]) assert.equal(await dataPlane(n, px.listenerId), null, `${n.name} does not serve the X proxy`);
    for (const n of [x, z]) assert.equal(await dataPlane(n, py.listenerId), null, `${n.name} does not serve the Y proxy`);
    assert.deepEqual(await dataPlane(x, px.listenerId), { bound: true, error: null, healthNote: null });
    // And the processes' own sockets say the same.
    assert.deepEqual([x, y, z].map((n) => listensOn(n, px.address, px.port)), [true, false, false], 'who listens on the X proxy');
    assert.deepEqual([x, y, z].map((n) => listensOn(n, py.address, py.port)), [false, true, false], 'who listens on the Y proxy');

    // Real TCP through each proxy's address reaches its origin.
    assert.equal(await firstLine(px.address, px.port), 'origin-x');
    assert.equal(await firstLine(py.address, py.port), 'origin-y');
  });
});
