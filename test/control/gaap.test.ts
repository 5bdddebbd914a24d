import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addOrigins, bindOrigins, createGroup, createListeners, createProxy, deleteGroup, deleteListeners, destroyProxies, gaapSettings,
  getProxy, listBindings, listListeners, listRegions, markApplied, modifyListener, modifyProxyConfiguration, putRegion, removeOrigins,
  setProxiesOpen, type GaapSettings,
} from '../../src/control/gaap.js';
import { OPERATOR, tenantScope, type Scope } from '../../src/control/scope.js';
import { createTenant } from '../../src/control/tenants.js';
import { ModelError } from '../../src/model/errors.js';
import type { Proxy } from '../../src/model/gaap.js';
import type { Store } from '../../src/store/store.js';
import { BOTH_STORES } from '../helpers/pg.js';
import { refusedUnchanged } from '../helpers/store-asserts.js';

// Each L4 control rule once, against real stores: SQLite always, PostgreSQL when it answers.

const model = (code: string, field?: string, extra: (e: ModelError) => boolean = () => true) => (err: unknown) =>
  err instanceof ModelError && err.code === code && (field === undefined || err.field === field) && extra(err);

for (const [name, open] of BOTH_STORES) {
  describe(`gaap control: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let skip = false;
    let alice: Scope;
    let bob: Scope;
    // Region "solo" has one address (so its second proxy shares it); "dry" has none.
    const s: GaapSettings = gaapSettings({ defaultRegion: 'home', defaultPool: ['127.0.0.2', '127.0.0.3'], limits: { proxiesPerTenant: 12, listenersPerProxy: 4 } });

    /** A RUNNING standalone proxy. */
    async function running(scope: Scope, accessRegion = 'home'): Promise<Proxy> {
      const p = await createProxy(store, scope, s, { name: 'p', accessRegion, originRegion: 'home', bandwidth: 10, concurrent: 2 });
      assert.equal(await markApplied(store, OPERATOR, p.id, 'CREATING'), 'RUNNING');
      return getProxy(store, scope, p.id);
    }
    const refused = (write: () => Promise<unknown>, check: (e: unknown) => boolean) => refusedUnchanged(store, write, check);

    before(async () => {
      const st = await open();
      if (!st) { skip = true; return; }
      ({ store, cleanup } = st);
      alice = tenantScope((await createTenant(store, OPERATOR, `alice-${name}`)).id);
      bob = tenantScope((await createTenant(store, OPERATOR, `bob-${name}`)).id);
    });
    after(async () => { if (!skip) await cleanup(); });

    test('default catalogue from the node settings; the operator adds regions', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const [home] = await listRegions(store, alice, s);
      assert.deepEqual({ id: home!.id, access: home!.access, origin: home!.origin, pool: home!.pool }, { id: 'home', access: true, origin: true, pool: ['127.0.0.2', '127.0.0.3'] });
      assert.ok(home!.bandwidths.includes(10) && home!.concurrencies.includes(2));
      await refused(() => putRegion(store, alice, s, { id: 'x', access: true, origin: false, bandwidths: [10], concurrencies: [2], pool: [] }), model('not_found', 'scope'));
      await refused(() => putRegion(store, OPERATOR, s, { id: 'bad', access: true, origin: false, bandwidths: [10], concurrencies: [2], pool: ['10.0.0.0/33'] }), model('bad_format', 'region.pool[0]'));
      await putRegion(store, OPERATOR, s, { id: 'solo', access: true, origin: false, bandwidths: [10, 20], concurrencies: [2], pool: ['127.0.1.0/32'] });
      await putRegion(store, OPERATOR, s, { id: 'dry', access: true, origin: false, bandwidths: [10], concurrencies: [2], pool: [] });
      assert.deepEqual((await listRegions(store, bob, s)).map((r) => r.id).sort(), ['dry', 'home', 'solo'], 'the default region was carried into the store');
    });

    test('proxy lifecycle: CREATING until applied, busy writes refused, close/open/adjust/destroy', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const p = await createProxy(store, alice, s, { name: 'life', accessRegion: 'home', originRegion: 'home', bandwidth: 10, concurrent: 2, tags: [{ key: 'k', value: 'v' }], networkType: 'cn2', ext: { Version: '2.0' } });
      assert.equal(p.status, 'CREATING');
      assert.deepEqual([p.networkType, p.tags, p.ext], ['cn2', [{ key: 'k', value: 'v' }], { Version: '2.0' }], 'cloud-only fields stored as given');
      await refused(() => modifyProxyConfiguration(store, alice, s, p.id, { bandwidth: 20 }), model('conflict', 'proxyId', (e) => e.details.state === 'busy'));
      await refused(() => createListeners(store, alice, s, { proxyId: p.id }, 'tcp', [80], { name: 'l', scheduler: 'rr', originType: 'ip' }), model('conflict', 'proxyId', (e) => e.details.state === 'busy'));
      assert.equal(await markApplied(store, OPERATOR, p.id, 'CLOSING'), null, 'a report for another state changes nothing');
      await assert.rejects(markApplied(store, alice, p.id, 'CREATING'), model('not_found', 'scope'), 'only the operator (data plane) reports');
      assert.equal(await markApplied(store, OPERATOR, p.id, 'CREATING'), 'RUNNING');

      await refused(() => modifyProxyConfiguration(store, alice, s, p.id, { bandwidth: 15 }), model('not_in_options', 'bandwidth'));
      assert.equal((await modifyProxyConfiguration(store, alice, s, p.id, { bandwidth: 20 })).status, 'ADJUSTING');
      await markApplied(store, OPERATOR, p.id, 'ADJUSTING');
      assert.deepEqual(await setProxiesOpen(store, alice, [p.id], true), { changed: [], invalidStatus: [p.id] }, 'open acts on CLOSED only');
      assert.deepEqual(await setProxiesOpen(store, alice, [p.id], false), { changed: [p.id], invalidStatus: [] });
      await markApplied(store, OPERATOR, p.id, 'CLOSING');
      const closed = await getProxy(store, alice, p.id);
      assert.deepEqual([closed.status, closed.bandwidth], ['CLOSED', 20]);
      await refused(() => createListeners(store, alice, s, { proxyId: p.id }, 'tcp', [80], { name: 'l', scheduler: 'rr', originType: 'ip' }), model('conflict', 'proxyId', (e) => e.details.state === 'not_running'));
      await setProxiesOpen(store, alice, [p.id], true);
      await markApplied(store, OPERATOR, p.id, 'OPENING');
      assert.deepEqual(await destroyProxies(store, alice, [p.id], false), { changed: [p.id], invalidStatus: [] });
      assert.equal(await markApplied(store, OPERATOR, p.id, 'DESTROYING'), 'gone');
      await assert.rejects(getProxy(store, alice, p.id), model('not_found', 'proxyId'));
    });

    test('create refusals: region, size, origin region, client token', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const base = { name: 'p', accessRegion: 'home', originRegion: 'home', bandwidth: 10, concurrent: 2 };
      await refused(() => createProxy(store, alice, s, { ...base, accessRegion: 'nowhere' }), model('not_found', 'accessRegion'));
      await refused(() => createProxy(store, alice, s, { ...base, originRegion: 'solo' }), model('not_found', 'originRegion'));
      await refused(() => createProxy(store, alice, s, { ...base, originRegion: undefined }), model('missing', 'originRegion'));
      await refused(() => createProxy(store, alice, s, { ...base, concurrent: 3 }), model('not_in_options', 'concurrent'));
      await refused(() => createProxy(store, alice, s, { ...base, name: 'x'.repeat(33) }), model('too_long', 'name'));
      const p = await createProxy(store, alice, s, { ...base, clientToken: 'tok-1' });
      await refused(() => createProxy(store, alice, s, { ...base, clientToken: 'tok-1' }), model('duplicate', 'clientToken', (e) => e.details.value === p.id));
      await createProxy(store, bob, s, { ...base, clientToken: 'tok-1' }); // tokens are per tenant
    });

    test('addresses: own while the pool has one, then shared with unique ports; an empty pool sells out', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      await refused(() => createProxy(store, alice, s, { name: 'p', accessRegion: 'dry', originRegion: 'home', bandwidth: 10, concurrent: 2 }), model('limit_exceeded', 'accessRegion', (e) => e.details.entity === 'address'));
      const a = await running(alice, 'solo');
      const b = await running(bob, 'solo');
      assert.equal(a.address, '127.0.1.0');
      assert.equal(b.address, a.address, 'the one address is shared');
      await createListeners(store, alice, s, { proxyId: a.id }, 'tcp', [8080], { name: 'l', scheduler: 'rr', originType: 'ip' });
      await refused(() => createListeners(store, bob, s, { proxyId: b.id }, 'tcp', [9000, 8080], { name: 'l', scheduler: 'rr', originType: 'ip' }), model('duplicate', 'ports[1]', (e) => e.details.entity === 'listenerPort'));
      await createListeners(store, bob, s, { proxyId: b.id }, 'udp', [8080], { name: 'l', scheduler: 'rr', originType: 'ip' }); // UDP is its own port space
      const homeA = await running(alice);
      const homeB = await running(alice);
      assert.notEqual(homeA.address, homeB.address, 'free pool addresses are not shared');
    });

    test('listener rules: ports, ranges, immutables, limits', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const p = await running(alice);
      const l = { name: 'l', scheduler: 'rr' as const, originType: 'ip' as const };
      const h = { proxyId: p.id };
      await refused(() => createListeners(store, alice, s, h, 'tcp', [21], l), model('not_in_options', 'ports[0]'));
      await refused(() => createListeners(store, alice, s, h, 'tcp', [65000], l), model('out_of_range', 'ports[0]'));
      await refused(() => createListeners(store, alice, s, h, 'tcp', [81, 81], l), model('duplicate', 'ports[1]'));
      await refused(() => createListeners(store, alice, s, h, 'tcp', Array.from({ length: 21 }, (_, i) => 1000 + i), l), model('limit_exceeded', 'ports', (e) => e.details.limit === 20));
      await refused(() => createListeners(store, alice, s, h, 'tcp', [81], { ...l, delayLoop: 4 }), model('out_of_range', 'delayLoop'));
      await refused(() => createListeners(store, alice, s, h, 'tcp', [81], { ...l, delayLoop: 10, connectTimeout: 10 }), model('out_of_range', 'connectTimeout'));
      await refused(() => createListeners(store, alice, s, h, 'tcp', [81], { ...l, healthyThreshold: 11 }), model('out_of_range', 'healthyThreshold'));
      await refused(() => createListeners(store, alice, s, h, 'tcp', [81], { ...l, originType: 'domain', scheduler: 'wrr' }), model('conflict', 'scheduler'));
      await refused(() => createListeners(store, alice, s, h, 'udp', [81], { ...l, clientIp: 'proxy_protocol' }), model('conflict', 'clientIp'));
      await refused(() => createListeners(store, alice, s, {} as never, 'tcp', [81], l), model('conflict', 'proxyId'));
      const [tcp] = await createListeners(store, alice, s, h, 'tcp', [81], { ...l, clientIp: 'proxy_protocol' });
      const [udp] = await createListeners(store, alice, s, h, 'udp', [81], { ...l, udpCheck: { type: 'port', send: 'ping', receive: 'pong' } });
      assert.equal(udp!.udpCheck!.send, 'ping');
      await refused(() => modifyListener(store, alice, tcp!.id, { clientIp: 'toa' }), model('conflict', 'clientIp'));
      assert.equal((await modifyListener(store, alice, tcp!.id, { scheduler: 'wrr', delayLoop: 30, connectTimeout: 20 })).connectTimeout, 20);
      await refused(() => createListeners(store, alice, s, h, 'tcp', [82, 83, 84], l), model('limit_exceeded', 'ports', (e) => e.details.entity === 'listener'));
    });

    test('group: one proxy per access region, listeners carried by proxies added later, delete rules', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      await refused(() => createGroup(store, alice, gaapSettings({ ...s, limits: { proxiesPerGroup: 1 } }), { name: 'g', originRegion: 'home', accessRegions: [{ accessRegion: 'home', bandwidth: 10, concurrent: 2 }, { accessRegion: 'home', bandwidth: 10, concurrent: 2 }] }), model('limit_exceeded', 'accessRegions'));
      const { group, proxies } = await createGroup(store, alice, s, { name: 'g', originRegion: 'home', tags: [{ key: 'a', value: 'b' }], accessRegions: [{ accessRegion: 'home', bandwidth: 10, concurrent: 2 }] });
      assert.equal(proxies.length, 1);
      assert.equal(proxies[0]!.groupId, group.id);
      await markApplied(store, OPERATOR, proxies[0]!.id, 'CREATING');
      const [gl] = await createListeners(store, alice, s, { groupId: group.id }, 'tcp', [7000], { name: 'gl', scheduler: 'rr', originType: 'ip' });
      const later = await createProxy(store, alice, s, { name: 'later', groupId: group.id, accessRegion: 'home', bandwidth: 10, concurrent: 2 });
      assert.equal(later.originRegion, 'home', 'a group proxy serves the group origin region');
      assert.ok((await listListeners(store, alice, { proxyId: later.id })).some((x) => x.id === gl!.id), 'the template reaches a proxy added later');
      await refused(() => createListeners(store, bob, s, { groupId: group.id }, 'tcp', [7001], { name: 'x', scheduler: 'rr', originType: 'ip' }), model('not_found', 'groupId'));
      await refused(() => deleteGroup(store, alice, group.id, false), model('in_use', 'groupId', (e) => e.details.entity === 'proxy'));
    });

    test('origins and bindings: replace semantics, weights, roles, remove while bound, isolation', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const p = await running(alice);
      const [l] = await createListeners(store, alice, s, { proxyId: p.id }, 'tcp', [6000], { name: 'l', scheduler: 'wrr', originType: 'ip' });
      const [a, b, c] = await addOrigins(store, alice, { addresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], name: 'o' });
      await refused(() => addOrigins(store, alice, { addresses: ['10.0.0.9', '10.0.0.1'], name: 'o' }), model('duplicate', 'addresses[1]'));
      await refused(() => addOrigins(store, alice, { addresses: ['not an address'], name: 'o' }), model('bad_format', 'addresses[0]'));
      await bindOrigins(store, alice, s, l!.id, [{ originId: a!.id, port: 80 }, { originId: b!.id, port: 80, weight: 5 }]);
      const bound = await bindOrigins(store, alice, s, l!.id, [{ originId: b!.id, port: 80, weight: 7 }, { originId: c!.id, port: 81 }]);
      assert.deepEqual((await listBindings(store, alice, l!.id)).map((x) => [x.originId, x.port, x.weight]).sort(), [[b!.id, 80, 7], [c!.id, 81, 1]].sort(), 'the set given is the whole set, weights default 1');
      assert.equal(bound.every((x) => x.role === null), true);
      await refused(() => bindOrigins(store, alice, s, l!.id, [{ originId: a!.id, port: 80, role: 'slave' }]), model('conflict', 'bindings[0].role'));
      await refused(() => bindOrigins(store, alice, s, l!.id, [{ originId: a!.id, port: 80, weight: 101 }]), model('out_of_range', 'bindings[0].weight'));
      await refused(() => bindOrigins(store, alice, gaapSettings({ ...s, limits: { originsPerListener: 1 } }), l!.id, [{ originId: a!.id, port: 80 }, { originId: b!.id, port: 80 }]), model('limit_exceeded', 'bindings'));
      const [bobs] = await addOrigins(store, bob, { addresses: ['10.0.0.1'], name: 'o' });
      await refused(() => bindOrigins(store, alice, s, l!.id, [{ originId: bobs!.id, port: 80 }]), model('not_found', 'bindings[0].originId'));
      await refused(() => bindOrigins(store, bob, s, l!.id, []), model('not_found', 'listenerId'));
      await refused(() => removeOrigins(store, alice, [a!.id, b!.id]), model('in_use', 'originIds[1]'));
      await refused(() => removeOrigins(store, bob, [a!.id]), model('not_found', 'originIds[0]'));
      await refused(() => destroyProxies(store, alice, [p.id], false), model('in_use', 'proxyIds'));
      await refused(() => deleteListeners(store, alice, { proxyId: p.id }, [l!.id], false), model('in_use', 'listenerIds'));
      await removeOrigins(store, alice, [a!.id]);
      await bindOrigins(store, alice, s, l!.id, []);
      await removeOrigins(store, alice, [b!.id, c!.id]);
      assert.deepEqual(await deleteListeners(store, alice, { proxyId: p.id }, [l!.id, 'listener-nothere'], false), { deleted: [l!.id], invalid: ['listener-nothere'] });
    });

    test('tenant limit', async (t) => {
      if (skip) return t.skip('PostgreSQL not reachable');
      const tight = gaapSettings({ ...s, limits: { proxiesPerTenant: 1 } });
      const carol = tenantScope((await createTenant(store, OPERATOR, `carol-${name}`)).id);
      await createProxy(store, carol, tight, { name: 'p', accessRegion: 'home', originRegion: 'home', bandwidth: 10, concurrent: 2 });
      await refused(() => createProxy(store, carol, tight, { name: 'p', accessRegion: 'home', originRegion: 'home', bandwidth: 10, concurrent: 2 }), model('limit_exceeded', 'proxies'));
    });
  });
}
